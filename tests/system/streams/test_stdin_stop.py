"""Ctrl-C on a stdin pipe that stays open but sends nothing more (a camera pipeline that
stalled, ``tail -f`` of a recording): ffmotion closes ffmpeg's stdin, ffmpeg finishes the
file, and the recording is kept (exit 0, "stopped by SIGINT"), well within STOP_GRACE.

The producer (a Python process writing a clip, then sleeping) and ffmotion are started here
and stopped by their PIDs; every run is bounded in time and memory.
"""
from __future__ import annotations

import os
import resource
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Optional

import pytest

from ffmotion.run.runner import STOP_GRACE

import reference
from helpers import (
    SIZE,
    alive,
    assert_frames_equal,
    bundled_ffmpeg,
    child_pids,
    decode,
    make_clip,
)

LIMIT = 60  # seconds any one wait may take
MEMORY = 4 * 2**30
QUIET = 120  # seconds the producer keeps its pipe open after the clip (killed long before)

pytestmark = pytest.mark.skipif(not os.path.isdir("/proc/self/task"),
                                reason="finds ffmpeg through /proc (Linux)")


def _limits() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY, MEMORY))




def ffmpeg_of(pid: int) -> Optional[int]:
    for child in child_pids(pid):
        try:
            with open(f"/proc/{child}/cmdline", "rb") as handle:
                if b"ffmpeg" in handle.read().split(b"\0")[0]:
                    return child
        except OSError:
            continue
    return None


def bytes_read(pid: int) -> int:
    with open(f"/proc/{pid}/io") as handle:
        fields = dict(line.split(": ") for line in handle.read().splitlines())
    return int(fields["rchar"])




def kill(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=10)


@pytest.fixture(scope="module")
def clip(tmp_path_factory) -> Path:
    return make_clip(bundled_ffmpeg(), tmp_path_factory.mktemp("quiet") / "clip.mkv")


@pytest.mark.parametrize("command", [[], ["live"]], ids=["stdin", "live-stdin"])
def test_ctrl_c_on_a_quiet_pipe_keeps_the_recording(clip, tmp_path, command):
    out = tmp_path / "out.mkv"
    producer = subprocess.Popen(
        [sys.executable, "-c", "import sys, time; sys.stdout.buffer.write(open(sys.argv[1], "
         "'rb').read()); sys.stdout.flush(); time.sleep(float(sys.argv[2]))", str(clip),
         str(QUIET)], stdout=subprocess.PIPE, stdin=subprocess.DEVNULL)
    try:
        proc = subprocess.Popen([sys.executable, "-m", "ffmotion", *command, "-", str(out),
                                 "-k", "2", "--lossless"], stdin=producer.stdout,
                                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                preexec_fn=_limits)
        producer.stdout.close()  # ffmotion holds the pipe now
        try:
            deadline = time.monotonic() + LIMIT
            ffmpeg = None
            while time.monotonic() < deadline:  # until the run's ffmpeg has read the clip
                ffmpeg = ffmpeg_of(proc.pid)
                if ffmpeg is not None and "-progress" in open(f"/proc/{ffmpeg}/cmdline").read() \
                        and bytes_read(ffmpeg) >= clip.stat().st_size:
                    break
                assert proc.poll() is None, proc.stderr.read()
                time.sleep(0.05)
            else:
                pytest.fail("ffmpeg never read the clip")
            time.sleep(0.5)  # it decodes the few frames it holds
            started = time.monotonic()
            os.kill(proc.pid, signal.SIGINT)
            _, err = proc.communicate(timeout=STOP_GRACE + LIMIT)
            took = time.monotonic() - started
        finally:
            kill(proc)
    finally:
        kill(producer)
    assert proc.returncode == 0, err
    assert took < STOP_GRACE / 3, took
    assert b"stopped by SIGINT" in err and err.count(b"error") == 0, err
    assert ffmpeg is not None and not alive(ffmpeg)
    assert [p.name for p in tmp_path.iterdir()] == ["out.mkv"]
    written = int(err.decode().split(" frames at")[0].rsplit("(", 1)[1])
    got = decode(bundled_ffmpeg(), out, "yuv420p", SIZE)
    assert len(got) == written > 2
    whole = list(reference.reference(bundled_ffmpeg(), clip, 2, "offset", "yuv420p", *SIZE))
    assert written == len(whole)  # every frame sent, live too (no -fflags nobuffer on stdin)
    assert_frames_equal(got, whole)
