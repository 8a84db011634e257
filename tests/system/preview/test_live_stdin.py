"""``ffmotion preview -``: a camera piped in is read once (by a capture), so the page's
offset control restarts the graph on the same stdin and the picture goes on."""
from __future__ import annotations

import json
import os
import select
import signal
import subprocess
import sys
import time
import urllib.request

from helpers import bundled_ffmpeg

CAMERA = "testsrc2=size=160x120:rate=30,format=yuv420p"


def state(base: str, token: str) -> dict:
    with urllib.request.urlopen(f"{base}/state?t={token}", timeout=10) as answer:
        return json.load(answer)


def wait_frames(base: str, token: str, count: int) -> int:
    deadline = time.monotonic() + 30
    while (frames := state(base, token)["frames"]) < count:
        assert time.monotonic() < deadline, f"the page's picture stopped at {frames} frames"
        time.sleep(0.1)
    return frames


def test_the_offset_of_a_piped_camera_changes_from_the_page():
    camera = subprocess.Popen([bundled_ffmpeg(), "-v", "error", "-re", "-f", "lavfi", "-i",
                               CAMERA, "-t", "20", "-f", "yuv4mpegpipe", "-"],
                              stdout=subprocess.PIPE)
    proc = subprocess.Popen([sys.executable, "-m", "ffmotion", "preview", "-", "--no-browser",
                             "-k", "2"], stdin=camera.stdout, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE)
    assert camera.stdout is not None and proc.stdout is not None
    camera.stdout.close()
    try:
        ready, _, _ = select.select([proc.stdout], [], [], 30)
        assert ready, "no URL printed"
        base, token = proc.stdout.readline().decode().strip().split("/?t=")
        before = wait_frames(base, token, 10)
        request = urllib.request.Request(f"{base}/control?t={token}", data=b"offset=5",
                                         method="POST")
        with urllib.request.urlopen(request, timeout=20) as answer:
            changed = json.load(answer)
        assert (changed["applied"], changed["offset"]) == ("restart", 5)
        wait_frames(base, token, before + 30)  # the new graph's frames reach the page
        assert state(base, token)["restarts"] == 1
        os.kill(proc.pid, signal.SIGTERM)
        _, err = proc.communicate(timeout=30)
        assert proc.returncode == 0, err
    finally:
        for p in (proc, camera):
            if p.poll() is None:
                p.kill()
                p.wait(timeout=10)
