"""Helpers for the chunked-run tests: small clips, an ffmpeg that renders chunks slowly, and
the writer of a chunk's temporary."""
from __future__ import annotations

import os
import shlex
import stat
import subprocess
import sys
import time
from pathlib import Path
from typing import Optional

from helpers import bundled_ffmpeg

FF = bundled_ffmpeg()
RUN_S = 180  # one ffmotion run


def make_clip(path: Path, seconds: float, size: str = "96x64") -> Path:
    """Noisy H.264 at 30 fps, a keyframe every 10 frames."""
    subprocess.run([FF, "-hide_banner", "-nostdin", "-v", "error", "-y", "-f", "lavfi", "-i",
                    f"testsrc2=s={size}:r=30:d={seconds}", "-vf", "noise=alls=20:allf=t",
                    "-c:v", "libx264", "-preset", "ultrafast", "-g", "10", "-pix_fmt", "yuv420p",
                    str(path)], check=True, timeout=60)
    return path


def slow_ffmpeg(folder: Path, gate: Optional[Path] = None) -> Path:
    """An ffmpeg that renders chunks at the input's own rate (``-re``: 1 s for 30 frames, the
    pixels unchanged), so that a run can be caught while a chunk is half-written; with
    ``gate``, a chunk starts only once that file is gone (60 s at most)."""
    wait = (f"n=0; while [ -e {shlex.quote(str(gate))} ] && [ $n -lt 600 ]; do sleep 0.1; "
            "n=$((n+1)); done; ") if gate is not None else ""
    script = folder / "slow-ffmpeg"
    script.write_text(f"#!/bin/sh\ncase \"$*\" in *ffmotion-tmp.nut*) {wait}exec {FF} -re \"$@\";; "
                      f"esac\nexec {FF} \"$@\"\n")
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    return script


def writer_of_a_chunk(folder: Path, seconds: float) -> Optional[int]:
    """The PID in the name of a chunk's temporary (``.NAME.PID@HOST.XXXX.ffmotion-tmp.nut``),
    waiting up to ``seconds`` for one to appear."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        for name in os.listdir(folder):
            if name.endswith(".ffmotion-tmp.nut"):
                return int(name.rsplit("@", 1)[0].rsplit(".", 1)[1])
        time.sleep(0.02)
    return None


def run_cli(*argv: str, timeout: float = RUN_S) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "ffmotion", *argv], stdin=subprocess.DEVNULL,
                          capture_output=True, text=True, timeout=timeout)


def start_cli(*argv: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "ffmotion", *argv], stdin=subprocess.DEVNULL,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def finish(proc: subprocess.Popen, timeout: float = RUN_S) -> str:
    """Wait for ``proc``; its stderr. Killed if it outlives ``timeout``."""
    try:
        return proc.communicate(timeout=timeout)[1]
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=10)
