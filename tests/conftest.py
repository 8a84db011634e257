"""Fixtures: small clips generated with lavfi at test time, and the ffmpeg builds to test."""
from __future__ import annotations

import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

import imageio_ffmpeg
import numpy as np
import pytest

from ffmotion.core.pixfmt import plane_layout

import reference

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


@pytest.fixture(scope="session", params=ffmpeg_builds(), ids=[name for name, _ in ffmpeg_builds()])
def ffmpeg_bin(request: pytest.FixtureRequest) -> str:
    """Each ffmpeg build the exactness tests run against."""
    return request.param[1]


@pytest.fixture(scope="session")
def gen_ffmpeg() -> str:
    """The ffmpeg that makes fixtures (always the bundled one, so fixtures are the same)."""
    return bundled_ffmpeg()


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


@pytest.fixture(scope="session")
def clips(tmp_path_factory: pytest.TempPathFactory, gen_ffmpeg: str) -> dict[str, Clip]:
    folder = tmp_path_factory.mktemp("clips")
    made = {}
    for name, (pix_fmt, codec, working, size) in CLIP_SPECS.items():
        path = make_clip(gen_ffmpeg, folder / f"{name}.mkv", pix_fmt=pix_fmt, codec=codec,
                         size=size)
        made[name] = Clip(path, working, size)
    made["vfr"] = Clip(make_clip(gen_ffmpeg, folder / "vfr.mkv", vfr=True), "yuv420p", SIZE)
    return made


@pytest.fixture(scope="session")
def av_clip(tmp_path_factory: pytest.TempPathFactory, gen_ffmpeg: str) -> Path:
    """An ordinary camera-like file: H.264 + AAC in .mp4."""
    folder = tmp_path_factory.mktemp("av")
    return make_clip(gen_ffmpeg, folder / "clip.mp4", codec="libx264", audio="aac")


def decode(ffmpeg: str, path: Path, pix_fmt: str, size: tuple[int, int]) -> list[reference.Frame]:
    """Every frame of ``path`` as planes in ``pix_fmt``."""
    return list(reference.read_frames(ffmpeg, path, plane_layout(pix_fmt, *size)))


def assert_frames_equal(actual: list, expected: list) -> None:
    """Bit for bit, with a useful message at the first difference."""
    assert len(actual) == len(expected), f"{len(actual)} frames, expected {len(expected)}"
    for i, (got, want) in enumerate(zip(actual, expected)):
        for p, (gp, wp) in enumerate(zip(got, want)):
            if not np.array_equal(gp, wp):
                diff = np.abs(gp.astype(np.int64) - wp.astype(np.int64))
                raise AssertionError(
                    f"frame {i} plane {p}: {np.count_nonzero(diff)} samples differ, max {diff.max()}")


@pytest.fixture(scope="session")
def corpus(tmp_path_factory: pytest.TempPathFactory, gen_ffmpeg: str):
    """The camera-like corpus (tests/corpus.py): one file per real-footage trait."""
    import corpus as corpus_module

    return corpus_module.build(gen_ffmpeg, tmp_path_factory.mktemp("corpus"))
