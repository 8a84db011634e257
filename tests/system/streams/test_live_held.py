"""A steered live run's restarts, with the output and the camera held
(:mod:`ffmotion.graph.handover`): every frame out is exactly a blended frame of one offset or
the last one again, the offsets follow one another forward in time, and a stream reader stays
connected across a restart.

The camera stamps its frame number into its top row (a white square moving one slot of 32 a
frame, black around), so that each motion frame tells which offset made it (the black slot K
slots after the white one); the pixels are then held to the independent reference.
"""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

from ffmotion.pipeline import control

import reference
from helpers import alive, bundled_ffmpeg, child_pids, free_port, stop_job, wait_for_token

WIDTH, HEIGHT, SLOTS = 256, 64, 32
SIDE = WIDTH // SLOTS
CAMERA = (f"testsrc2=size={WIDTH}x{HEIGHT}:rate=30,drawbox=x=0:y=0:w={WIDTH}:h={SIDE}:"
          f"color=black:t=fill[a];color=white:size={SIDE}x{SIDE}:rate=30[b];"
          f"[a][b]overlay=x='mod(n,{SLOTS})*{SIDE}':y=0,format=yuv420p")
LIMIT = 60






def marker(luma: np.ndarray) -> tuple[int, "int | None"]:
    """(the white slot, K) of a motion frame (K None: no black slot)."""
    row = luma[SIDE // 2, SIDE // 2::SIDE][:SLOTS].astype(int)
    white, black = int(row.argmax()), int(row.argmin())
    if row[white] < 200 or row[black] > 60:
        return white, None
    return white, (black - white) % SLOTS


def camera_frames(count: int) -> list:
    """The camera's first ``count`` frames, made by ffmpeg alone (not through ffmotion)."""
    layout = reference.plane_layout("yuv420p", WIDTH, HEIGHT)
    done = subprocess.run([bundled_ffmpeg(), "-v", "error", "-f", "lavfi", "-i", CAMERA,
                           "-frames:v", str(count), "-f", "rawvideo", "-pix_fmt", "yuv420p", "-"],
                          capture_output=True, check=True, timeout=LIMIT)
    flat = np.frombuffer(done.stdout, np.uint8).reshape(count, -1)
    return [reference.split_planes(row, layout) for row in flat]




def test_restarts_are_exact_forward_and_never_unblended(tmp_path):
    """K 2 -> 6 -> 3 on raw frames to stdout: each frame out is the reference of frame i at
    one offset, or the previous frame again (while a new graph starts); within an offset no
    frame is missing; a new offset starts at the camera's "now", never before the old one."""
    from test_live_control import read_y4m

    port = free_port()
    layout = reference.plane_layout("yuv420p", WIDTH, HEIGHT)
    proc = subprocess.Popen(
        [sys.executable, "-m", "ffmotion", "live", f"lavfi:{CAMERA}", "-", "--format", "y4m",
         "-k", "2", "--control", f"127.0.0.1:{port}"],
        stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    frames: list = []
    answers = []
    try:
        wait_for_token(port, proc)
        for frame in read_y4m(proc.stdout, layout):
            frames.append(frame)
            if len(frames) in (40, 100):
                answers.append(control.send(f"127.0.0.1:{port}",
                                            [("offset", "6" if len(frames) == 40 else "3")]))
            if len(frames) == 170:
                break
    finally:
        code, err = stop_job(proc)
    assert code == 0, err
    assert [(a["applied"], a["offset"]) for a in answers] == [("restart", 6), ("restart", 3)]
    source = camera_frames(400)
    ref = {}

    def motion(i: int, k: int):
        if (i, k) not in ref:
            ref[i, k] = reference.blend(source[i], source[i + k], 255)
        return ref[i, k]

    def same(a, b) -> bool:
        return all(np.array_equal(x, y) for x, y in zip(a, b))

    # (i, K) of every frame; "again" where a frame repeats the one before
    seen: list = []
    last_i = -1
    for n, frame in enumerate(frames):
        _, k = marker(frame[0])
        assert k is not None, f"frame {n} is not blended"
        if n and same(frame, frames[n - 1]):
            seen.append("again")
            continue
        new_graph = not seen or seen[-1] == "again" or k != seen[-1][1]
        low = max(0, last_i - 40) if new_graph else last_i + 1
        # within an offset the next frame, but for a new graph's first burst, where as many
        # frames as were repeated are dropped (the output keeps the camera's time)
        i = next((c for c in range(low, last_i + 48)
                  if c + k < len(source) and same(frame, motion(c, k))), None)
        assert i is not None, f"frame {n} (K={k}) is exactly no camera frame after {last_i}"
        seen.append((i, k))
        last_i = i
    offsets = [s[1] for s in seen if s != "again"]
    assert [k for n, k in enumerate(offsets) if n == 0 or k != offsets[n - 1]] == [2, 6, 3]
    made = [s for s in seen if s != "again"]
    starts = [n for n in range(1, len(made)) if made[n][1] != made[n - 1][1]]
    for n, s in enumerate(seen):
        if s == "again":  # repeats only while a new graph starts: just before a new offset
            after = next(t for t in seen[n:] if t != "again")
            before = next(t for t in reversed(seen[:n]) if t != "again")
            assert after[1] != before[1], f"frame {n} repeated within one offset"
    for start in starts:
        (i0, k0), (i1, k1) = made[start - 1], made[start]
        assert i1 + k1 >= i0 + k0, f"K {k0} -> {k1} went back in time"
    for a, b in zip(made, made[1:]):  # frames skipped: only in a new graph's first burst
        if a[1] == b[1] and b[0] != a[0] + 1:
            at = made.index(b)
            assert any(0 < at - start <= 12 for start in starts), f"frames lost at {b}"
    # the output keeps the camera's time: its position minus the camera frame it shows
    # does not grow with each restart (repeats made up for)
    first, last = seen.index(made[0]), len(seen) - 1
    assert (last - made[-1][0]) - (first - made[0][0]) <= 3, "the output ran ahead"


def has_srt() -> bool:
    done = subprocess.run([bundled_ffmpeg(), "-hide_banner", "-protocols"], capture_output=True,
                          text=True, timeout=LIMIT)
    return "srt" in done.stdout.split()


@pytest.mark.skipif(not has_srt(), reason="this ffmpeg has no SRT protocol")
def test_an_srt_reader_stays_connected_across_an_offset_change():
    """As OBS reads it: one SRT connection before and after the offset changes, the frames
    of both offsets in it, and the job's end is the stream's end."""
    srt, port = free_port(), free_port()
    live = subprocess.Popen([sys.executable, "-m", "ffmotion", "live", f"lavfi:{CAMERA}",
                             f"srt://127.0.0.1:{srt}?mode=listener", "-k", "2",
                             "--control", f"127.0.0.1:{port}"],
                            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE)
    client = None
    offsets: list = []
    try:
        wait_for_token(port, live)
        client = subprocess.Popen([bundled_ffmpeg(), "-v", "error", "-fflags", "nobuffer",
                                   "-probesize", "32", "-analyzeduration", "0", "-i",
                                   f"srt://127.0.0.1:{srt}?mode=caller", "-fps_mode",
                                   "passthrough", "-f", "rawvideo", "-pix_fmt", "gray", "-"],
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        assert client.stdout is not None
        sent = False
        while len(offsets) < 150:
            data = client.stdout.read(WIDTH * HEIGHT)
            assert len(data) == WIDTH * HEIGHT, "the reader lost the stream"
            offsets.append(marker(np.frombuffer(data, np.uint8).reshape(HEIGHT, WIDTH))[1])
            if len(offsets) == 50 and not sent:
                assert control.send(f"127.0.0.1:{port}", [("offset", "6")])["applied"] == "restart"
                sent = True
        assert client.poll() is None  # still the same connection
        code, err = stop_job(live)
        assert code == 0, err
        client.communicate(timeout=LIMIT)  # the job's end ends the stream
    finally:
        if live.poll() is None:
            stop_job(live)
        if client is not None and client.poll() is None:
            client.kill()
            client.wait(timeout=10)
    assert set(offsets[5:45]) == {2}
    assert set(offsets[-30:]) == {6}
    assert None not in offsets[5:]  # no frame unblended (x264's loss is far below the marker)


def test_an_output_that_fails_is_one_line_and_nothing_is_left(tmp_path):
    """The held output's ffmpeg cannot reach its SRT listener: one line, exit 1, no ffmpeg."""
    if not has_srt():
        pytest.skip("this ffmpeg has no SRT protocol")
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "ffmotion", "live", f"lavfi:{CAMERA}",
                             f"srt://127.0.0.1:{free_port()}?mode=caller", "-k", "2",
                             "--control", f"127.0.0.1:{port}"],
                            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE)
    ffmpegs: list[int] = []
    deadline = time.monotonic() + LIMIT
    while proc.poll() is None and time.monotonic() < deadline:
        ffmpegs = sorted(set(ffmpegs) | set(child_pids(proc.pid)))
        time.sleep(0.02)
    code, err = stop_job(proc)
    assert code == 1, err
    lines = [line for line in err.splitlines() if line.startswith("ffmotion: error")]
    assert len(lines) == 1 and "srt://" in lines[0], err
    assert "Traceback" not in err
    assert ffmpegs and not [pid for pid in ffmpegs if alive(pid)]
    assert not control.token_path(port).exists()


def test_a_packed_camera_format_crosses_the_pipe_exactly():
    """A camera giving packed YUYV (as most webcams do): the capture passes it on planar,
    the conversion the graph makes first anyway; every frame is still exactly the reference,
    computed here from the packed bytes themselves."""
    from test_live_control import read_y4m

    width, height, count = 64, 48, 24
    camera = f"testsrc2=size={width}x{height}:rate=30,format=yuyv422"
    port = free_port()
    layout = reference.plane_layout("yuv422p", width, height)
    proc = subprocess.Popen(
        [sys.executable, "-m", "ffmotion", "live", f"lavfi:{camera}", "-", "--format", "y4m",
         "-k", "2", "--control", f"127.0.0.1:{port}", "-vv"],
        stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    frames = []
    try:
        for frame in read_y4m(proc.stdout, layout):
            frames.append(frame)
            if len(frames) == count:
                break
    finally:
        code, err = stop_job(proc)
    assert code == 0, err
    assert "-pix_fmt yuv422p -strict -1 pipe:1" in err  # the capture ran, passing planar
    packed = subprocess.run([bundled_ffmpeg(), "-v", "error", "-f", "lavfi", "-i", camera,
                             "-frames:v", str(count + 2), "-f", "rawvideo", "-"],
                            capture_output=True, check=True, timeout=LIMIT).stdout
    yuyv = np.frombuffer(packed, np.uint8).reshape(count + 2, height, width * 2)
    source = [(f[:, 0::2], f[:, 1::4], f[:, 3::4]) for f in yuyv]  # Y0 U Y1 V
    for i, frame in enumerate(frames):
        want = reference.blend(source[i], source[i + 2], 255)
        assert all(np.array_equal(g, w) for g, w in zip(frame, want)), f"frame {i}"


def test_stdin_is_read_once_and_a_restart_keeps_reading_it(tmp_path):
    """A camera piped in (read once, by the capture): an offset change restarts the graph
    on the same stdin; the recording is one whole file with frames of both offsets."""
    port = free_port()
    out = tmp_path / "out.mkv"
    camera = subprocess.Popen([bundled_ffmpeg(), "-v", "error", "-re", "-f", "lavfi", "-i",
                               CAMERA, "-t", "4", "-f", "yuv4mpegpipe", "-"],
                              stdout=subprocess.PIPE)
    proc = subprocess.Popen([sys.executable, "-m", "ffmotion", "live", "-", str(out), "-k", "2",
                             "--lossless", "--control", f"127.0.0.1:{port}"],
                            stdin=camera.stdout, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE)
    assert camera.stdout is not None
    camera.stdout.close()
    try:
        wait_for_token(port, proc)
        time.sleep(1.5)
        assert control.send(f"127.0.0.1:{port}", [("offset", "5")])["applied"] == "restart"
        _, err = proc.communicate(timeout=LIMIT)
    finally:
        camera.wait(timeout=LIMIT)
        if proc.poll() is None:
            stop_job(proc)
    assert proc.returncode == 0, err
    assert b"1 restart" in err
    layout = reference.plane_layout("yuv420p", WIDTH, HEIGHT)
    decoded = subprocess.run([bundled_ffmpeg(), "-v", "error", "-i", str(out), "-f", "rawvideo",
                              "-pix_fmt", "yuv420p", "-"], capture_output=True, timeout=LIMIT)
    assert decoded.returncode == 0 and not decoded.stderr
    frames = np.frombuffer(decoded.stdout, np.uint8).reshape(-1, layout.frame_bytes)
    offsets = [marker(reference.split_planes(f, layout)[0])[1] for f in frames]
    assert None not in offsets and offsets[0] == 2 and offsets[-1] == 5
    assert offsets == sorted(offsets)  # 2 ... 2, 5 ... 5: one change, forward


def test_a_restart_the_output_cannot_take_is_refused_and_one_it_can_goes_on(tmp_path):
    """A lossless recording's frames are in the look's own format: a colour look (RGB) would
    change them, so it is refused (409, the job goes on); a look in the same format restarts;
    Ctrl-C right after a restart to a large K keeps the whole recording."""
    port = free_port()
    out = tmp_path / "out.mkv"
    proc = subprocess.Popen([sys.executable, "-m", "ffmotion", "live",
                             "lavfi:testsrc2=size=64x48:rate=30,format=yuyv422", str(out),
                             "-k", "2", "--lossless", "--control", f"127.0.0.1:{port}"],
                            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE)
    try:
        wait_for_token(port, proc)
        time.sleep(1)
        with pytest.raises(control.UsageError, match="gbrp.*stop the job and start it"):
            control.send(f"127.0.0.1:{port}", [("look", "color")])
        assert control.send(f"127.0.0.1:{port}", [("look", "trails")])["applied"] == "restart"
        time.sleep(0.5)
        assert control.send(f"127.0.0.1:{port}", [("offset", "20")])["applied"] == "restart"
        time.sleep(0.1)
        os.kill(proc.pid, signal.SIGINT)
        _, err = proc.communicate(timeout=LIMIT)
    finally:
        if proc.poll() is None:
            stop_job(proc)
    assert proc.returncode == 0, err
    assert b"2 restarts" in err
    played = subprocess.run([bundled_ffmpeg(), "-v", "error", "-i", str(out), "-f", "null", "-"],
                            capture_output=True, timeout=LIMIT)
    assert played.returncode == 0 and not played.stderr


def test_an_offset_that_would_not_fit_in_memory_is_refused_while_running():
    """offset=100000 on a running job: one line (400), the job goes on with its offset."""
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "ffmotion", "live", f"lavfi:{CAMERA}", "-",
                             "--format", "mpegts", "-k", "2", "--control", f"127.0.0.1:{port}"],
                            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE)
    try:
        wait_for_token(port, proc)
        time.sleep(1)  # frames out first (a job stopped before any is "interrupted")
        with pytest.raises(control.UsageError, match=r"would hold \d+ MiB.*--max-buffer"):
            control.send(f"127.0.0.1:{port}", [("offset", "100000")])
        assert control.send(f"127.0.0.1:{port}", [])["offset"] == 2
        assert control.send(f"127.0.0.1:{port}", [("offset", "3")])["applied"] == "restart"
        time.sleep(0.5)
    finally:
        code, err = stop_job(proc)
    assert code == 0, err
