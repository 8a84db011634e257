"""Shared test code (pytest imports conftest.py; everything else lives here)."""
from __future__ import annotations

import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional, Union

import imageio_ffmpeg
import numpy as np

from ffmotion.core.request import InputSpec, MotionRequest, MotionSpec, OutputSpec
from ffmotion.core.units import FramesOrTime

import reference

_INPUT = ("start", "end", "duration", "deinterlace", "video_stream", "sequence", "source")
_MOTION = ("mode", "look", "stabilize", "strategy", "max_buffer")
_OUTPUT = ("encode", "audio", "audio_stream", "subtitles", "overwrite", "sink")


def request(src: Union[str, Path], dst: Optional[Union[str, Path]] = None,
            offset: Any = 1, threads: Optional[int] = None, **fields: Any) -> MotionRequest:
    """A request from flat field names (``offset``, ``mode``, ``look``, ``start``,
    ``encode``...), made without looking at the disk: for the pure planner's tests."""
    unknown = set(fields) - set(_INPUT) - set(_MOTION) - set(_OUTPUT)
    assert not unknown, f"not a request field: {unknown}"
    wanted = InputSpec.parse(src, **{k: fields[k] for k in _INPUT if k in fields})
    motion = MotionSpec(offset=FramesOrTime.offset(offset),
                        **{k: fields[k] for k in _MOTION if k in fields})
    output = None
    if dst is not None:
        output = OutputSpec(path=Path(dst).absolute(),
                            **{k: fields[k] for k in _OUTPUT if k in fields})
    return MotionRequest(wanted, motion, output, threads)


# -- clips and frames -----------------------------------------------------------------------

FRAMES = 36

FPS = 30

SIZE = (64, 48)

def bundled_ffmpeg() -> str:
    return imageio_ffmpeg.get_ffmpeg_exe()

def ffmpeg_builds() -> list[tuple[str, str]]:
    """The bundled ffmpeg, plus the system one when there is a different one on PATH."""
    builds = [("bundled", bundled_ffmpeg())]
    system = shutil.which("ffmpeg")
    if system and os.path.realpath(system) != os.path.realpath(builds[0][1]):
        builds.append(("system", system))
    return builds

def run_ffmpeg(ffmpeg: str, *args: str) -> None:
    done = subprocess.run([ffmpeg, "-hide_banner", "-nostdin", "-v", "error", "-y", *args],
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stderr

def make_clip(ffmpeg: str, path: Path, *, pix_fmt: str = "yuv420p", size: tuple[int, int] = SIZE,
              frames: int = FRAMES, fps: int = FPS, codec: str = "ffv1",
              audio: Optional[str] = None, vfr: bool = False) -> Path:
    """A moving test pattern with strong per-frame noise, so every frame differs from the next.

    ``vfr`` gives frames irregular timestamps (gaps growing and shrinking), written without
    any frame-rate conversion.
    """
    w, h = size
    seconds = frames / fps
    # yuv444p first: testsrc2 alone would round an odd size down to even
    video = (f"testsrc2=s={w}x{h}:r={fps}:d={seconds},format=yuv444p,noise=alls=30:allf=t+u,"
             f"format={pix_fmt}")
    if vfr:
        video += f",setpts=(N+0.5*floor(N/3)+0.3*floor(N/5))/{fps}/TB"
    args = ["-f", "lavfi", "-i", video]
    if audio:
        args += ["-f", "lavfi", "-i", f"sine=f=440:d={seconds}:sample_rate=48000"]
    args += ["-map", "0:v"] + (["-map", "1:a", "-c:a", audio] if audio else [])
    args += ["-c:v", codec, "-frames:v", str(frames)]
    if codec == "libx264":
        args += ["-pix_fmt", pix_fmt, "-crf", "23", "-preset", "ultrafast"]
    if vfr:
        args += ["-fps_mode", "passthrough"]
    run_ffmpeg(ffmpeg, *args, str(path))
    return path

@dataclass(frozen=True)
class Clip:
    path: Path
    pix_fmt: str  # the working format the graph should run in
    size: tuple[int, int]
    frames: int = FRAMES

CLIP_SPECS = {
    # name: (pix_fmt given to the encoder, codec, working pix_fmt expected, size)
    "yuv420p": ("yuv420p", "ffv1", "yuv420p", SIZE),
    "yuv444p": ("yuv444p", "ffv1", "yuv444p", SIZE),
    "yuv420p10le": ("yuv420p10le", "ffv1", "yuv420p10le", SIZE),
    "gray": ("gray", "ffv1", "gray", SIZE),
    "rgb24": ("rgb24", "ffv1", "gbrp", SIZE),  # ffv1 RGB decodes as packed bgr0
    "gbrp": ("gbrp", "utvideo", "gbrp", SIZE),  # utvideo decodes as planar gbrp
    "gbrp10le": ("gbrp10le", "ffv1", "gbrp10le", SIZE),
    "odd_size": ("yuv420p", "ffv1", "yuv420p", (67, 41)),
}

def decode(ffmpeg: str, path: Path, pix_fmt: str, size: tuple[int, int]) -> list[reference.Frame]:
    """Every frame of ``path`` as planes in ``pix_fmt``."""
    return list(reference.read_frames(ffmpeg, path, reference.plane_layout(pix_fmt, *size)))

def assert_frames_equal(actual: list, expected: list) -> None:
    """Bit for bit, with a useful message at the first difference."""
    assert len(actual) == len(expected), f"{len(actual)} frames, expected {len(expected)}"
    for i, (got, want) in enumerate(zip(actual, expected)):
        for p, (gp, wp) in enumerate(zip(got, want)):
            if not np.array_equal(gp, wp):
                diff = np.abs(gp.astype(np.int64) - wp.astype(np.int64))
                raise AssertionError(
                    f"frame {i} plane {p}: {np.count_nonzero(diff)} samples differ, max {diff.max()}")


# -- processes and ports of the stream tests ------------------------------------------------


def free_port() -> int:
    """A TCP port on 127.0.0.1 free a moment ago."""
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def stop_job(proc: "subprocess.Popen[bytes]") -> tuple[int, str]:
    """Stop a job as a user does (SIGTERM; killed after 30 s): its exit code and stderr."""
    import signal

    if proc.poll() is None:
        os.kill(proc.pid, signal.SIGTERM)
    try:
        _, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)
    return int(proc.returncode), err.decode() if isinstance(err, bytes) else (err or "")


def wait_for_token(port: int, proc: "subprocess.Popen[bytes]", seconds: float = 20) -> None:
    """Wait until the steered job ``proc`` listens on ``port`` (its token file is written)."""
    import time

    from ffmotion.pipeline import control

    path = control.token_path(port)
    deadline = time.monotonic() + seconds
    while not path.exists():
        assert proc.poll() is None, proc.stderr.read() if proc.stderr else ""
        assert time.monotonic() < deadline, "no token file"
        time.sleep(0.05)


def child_pids(pid: int) -> list[int]:
    """The PIDs of ``pid``'s children (any of its threads may have forked them)."""
    found: list[int] = []
    try:
        tasks = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return found
    for task in tasks:
        try:
            with open(f"/proc/{pid}/task/{task}/children") as handle:
                found += [int(p) for p in handle.read().split()]
        except OSError:
            continue
    return found


def alive(pid: int) -> bool:
    """``pid`` exists and is not a zombie."""
    try:
        with open(f"/proc/{pid}/stat") as handle:
            return handle.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False
