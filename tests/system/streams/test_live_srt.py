"""``ffmotion live`` as OBS uses it: an SRT listener on 127.0.0.1 read back by an ffmpeg
client (the bundled one, as a caller), steered while the client reads; and a listener that no
client ever joined, stopped."""
from __future__ import annotations

import subprocess
import sys
import threading
import time

import numpy as np
import pytest

from ffmotion.pipeline import control

from helpers import bundled_ffmpeg, free_port, stop_job

# a ramp that moves 2 px a frame: every frame of the motion picture stands 8 levels off
# mid-gray (16 levels of change, halved by the blend); gain 4 makes it 32
CAMERA = r"nullsrc=s=64x48:r=30,geq=lum='mod(X+2*N\,64)*4':cb=128:cr=128,format=yuv420p"
WIDTH, HEIGHT = 64, 48
LIMIT = 60
TOTAL = 240




def has_srt() -> bool:
    done = subprocess.run([bundled_ffmpeg(), "-hide_banner", "-protocols"], capture_output=True,
                          text=True, timeout=LIMIT)
    return "srt" in done.stdout.split()


pytestmark = pytest.mark.skipif(not has_srt(), reason="this ffmpeg has no SRT protocol")




def test_srt_listener_read_back_and_steered() -> None:
    """The client gets the motion picture over SRT; a gain sent while it reads shows in what
    it reads within a second (the motion's spread around mid-gray grows); SIGTERM ends the
    job cleanly."""
    srt, port = free_port(), free_port()
    url = f"srt://127.0.0.1:{srt}?mode=listener"
    live = subprocess.Popen([sys.executable, "-m", "ffmotion", "live", f"lavfi:{CAMERA}", url,
                             "-k", "2", "--control", f"127.0.0.1:{port}"],
                            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE)
    client = None
    try:
        deadline = time.monotonic() + 20
        while not control.token_path(port).exists():
            assert live.poll() is None and time.monotonic() < deadline, "no control listener"
            time.sleep(0.05)
        # a low-latency reader, as OBS is set up (ffmpeg's default probing alone holds
        # seconds of stream before the first frame comes out)
        client = subprocess.Popen([bundled_ffmpeg(), "-v", "error", "-fflags", "nobuffer",
                                   "-probesize", "32", "-analyzeduration", "0", "-i",
                                   f"srt://127.0.0.1:{srt}?mode=caller", "-fps_mode",
                                   "passthrough", "-f", "rawvideo",
                                   "-pix_fmt", "gray", "-"], stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE)
        frames: list[np.ndarray] = []
        sent_at: list[int] = []

        def read() -> None:
            assert client is not None and client.stdout is not None
            while len(frames) < TOTAL:
                data = client.stdout.read(WIDTH * HEIGHT)
                if len(data) < WIDTH * HEIGHT:
                    return
                frames.append(np.frombuffer(data, np.uint8).reshape(HEIGHT, WIDTH))
                if len(frames) == 60 and not sent_at:
                    answer = control.send(f"127.0.0.1:{port}", [("gain", "4")])
                    assert answer["applied"] == "running"
                    sent_at.append(len(frames))

        reader = threading.Thread(target=read, daemon=True)
        reader.start()
        reader.join(LIMIT)
        assert len(frames) == TOTAL, (len(frames), client.stderr.read() if client.stderr else "")
        code, err = stop_job(live)
    finally:
        if live.poll() is None:
            stop_job(live)
        if client is not None and client.poll() is None:
            client.kill()
            client.wait(timeout=10)
    assert code == 0, err
    assert "stopped by SIGTERM: sent to srt://127.0.0.1" in err
    spread = [abs(float(np.median(f)) - 127) for f in frames]
    before, after = np.mean(spread[10:50]), np.mean(spread[100:TOTAL])
    assert 6 <= before <= 10 and after >= 3.5 * before, [round(x, 1) for x in spread]
    # seen by the client within a second of being sent (SRT's latency, the encoder's)
    assert min(spread[90:TOTAL]) >= 3.5 * before, [round(x, 1) for x in spread]


@pytest.mark.parametrize("steered", [False, True], ids=["one ffmpeg", "held output"])
def test_listener_no_client_joined_stops_in_one_line(steered: bool) -> None:
    """Ctrl-C / SIGTERM while the listener still waits for its first client: one line that
    says nothing was sent (not a timeout that did not happen), exit 130, no process left.
    Steered, the held output's ffmpeg takes no frame meanwhile (a thread blocked writing to
    it must not keep the job from stopping)."""
    srt = free_port()
    camera = "lavfi:testsrc2=size=320x240:rate=30,format=yuv420p"  # frames larger than a pipe
    steer = ["--control", f"127.0.0.1:{free_port()}"] if steered else []
    live = subprocess.Popen([sys.executable, "-m", "ffmotion", "live", camera,
                             f"srt://127.0.0.1:{srt}?mode=listener", "-k", "2", *steer],
                            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE)
    time.sleep(2)
    code, err = stop_job(live)
    assert code == 130, err
    assert err.splitlines()[-1] == ("ffmotion: error: interrupted before the first frame was "
                                    "written: nothing written (SIGTERM)")
    left = subprocess.run(["pgrep", "-f", f"127.0.0.1:{srt}"], capture_output=True, text=True)
    assert left.stdout.strip() == ""
