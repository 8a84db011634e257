"""Fixtures: small clips generated with lavfi at test time, and the ffmpeg builds to test.
Shared code (clip makers, decoding, comparisons) lives in helpers.py."""
from __future__ import annotations

from pathlib import Path

import pytest

from helpers import CLIP_SPECS, SIZE, Clip, bundled_ffmpeg, ffmpeg_builds, make_clip


@pytest.fixture(scope="session", params=ffmpeg_builds(), ids=[name for name, _ in ffmpeg_builds()])
def ffmpeg_bin(request: pytest.FixtureRequest) -> str:
    """Each ffmpeg build the exactness tests run against."""
    return request.param[1]


@pytest.fixture(scope="session")
def gen_ffmpeg() -> str:
    """The ffmpeg that makes fixtures (always the bundled one, so fixtures are the same)."""
    return bundled_ffmpeg()


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


@pytest.fixture(scope="session")
def corpus(tmp_path_factory: pytest.TempPathFactory, gen_ffmpeg: str):
    """The camera-like corpus (tests/corpus.py): one file per real-footage trait."""
    import corpus as corpus_module

    return corpus_module.build(gen_ffmpeg, tmp_path_factory.mktemp("corpus"))
