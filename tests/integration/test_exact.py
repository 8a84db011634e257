"""ffmotion's output, made lossless and decoded back, equals the numpy reference bit for bit."""
from __future__ import annotations

import subprocess
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest

import ffmotion

import reference
from helpers import FPS, FRAMES, assert_frames_equal, decode


def expected(ffmpeg: str, clip, k: int, mode: str = "offset") -> list:
    return list(reference.reference(ffmpeg, clip.path, k, mode, clip.pix_fmt, *clip.size))


def extract_lossless(ffmpeg: str, clip, tmp_path: Path, **kwargs) -> list:
    out = tmp_path / "out.mkv"
    ffmotion.extract(clip.path, out, lossless=True, ffmpeg=ffmpeg, **kwargs)
    return decode(ffmpeg, out, clip.pix_fmt, clip.size)


@pytest.mark.parametrize("k", [1, 12, FRAMES - 1])
def test_offsets_match_reference(ffmpeg_bin, clips, tmp_path, k):
    clip = clips["yuv420p"]
    got = extract_lossless(ffmpeg_bin, clip, tmp_path, offset=k)
    assert len(got) == FRAMES - k
    assert_frames_equal(got, expected(ffmpeg_bin, clip, k))


@pytest.mark.parametrize("name", ["yuv444p", "yuv420p10le", "gray", "rgb24", "gbrp", "gbrp10le",
                                  "odd_size"])
def test_pixel_formats_match_reference(ffmpeg_bin, clips, tmp_path, name):
    clip = clips[name]
    got = extract_lossless(ffmpeg_bin, clip, tmp_path, offset=5)
    assert_frames_equal(got, expected(ffmpeg_bin, clip, 5))


@pytest.mark.parametrize("k", [0, 7, FRAMES - 1])
def test_freeze_matches_reference(ffmpeg_bin, clips, tmp_path, k):
    clip = clips["yuv420p"]
    got = extract_lossless(ffmpeg_bin, clip, tmp_path, freeze=k)
    assert len(got) == FRAMES
    assert_frames_equal(got, expected(ffmpeg_bin, clip, k, "freeze"))


def test_freeze_10bit_matches_reference(ffmpeg_bin, clips, tmp_path):
    clip = clips["yuv420p10le"]
    got = extract_lossless(ffmpeg_bin, clip, tmp_path, freeze=3)
    assert_frames_equal(got, expected(ffmpeg_bin, clip, 3, "freeze"))


def test_variable_frame_rate_pairs_frames_by_index(ffmpeg_bin, clips, tmp_path):
    clip = clips["vfr"]
    k = 4
    got = extract_lossless(ffmpeg_bin, clip, tmp_path, offset=k)
    assert_frames_equal(got, expected(ffmpeg_bin, clip, k))


def test_vfr_fixture_is_really_variable(gen_ffmpeg, clips):
    """Guards the test above: its input must have irregular frame intervals."""
    done = subprocess.run([gen_ffmpeg, "-hide_banner", "-nostdin", "-i", str(clips["vfr"].path),
                           "-map", "0:v", "-c", "copy", "-f", "framecrc", "-"],
                          capture_output=True, text=True, check=True)
    pts = [int(line.split(",")[2]) for line in done.stdout.splitlines() if not line.startswith("#")]
    gaps = set(np.diff(pts).tolist())
    assert len(pts) == FRAMES and len(gaps) >= 3, gaps


def test_time_offset_is_rounded_to_frames(ffmpeg_bin, clips, tmp_path):
    clip = clips["yuv420p"]
    got = extract_lossless(ffmpeg_bin, clip, tmp_path, offset="0.5s")
    k = 15  # 0.5 s at 30 fps
    assert Fraction(1, 2) * FPS == k
    assert len(got) == FRAMES - k
    assert_frames_equal(got, expected(ffmpeg_bin, clip, k))


def test_gray_stays_gray(ffmpeg_bin, tmp_path, gen_ffmpeg):
    """A static clip gives flat neutral gray: 127 at 8 bits (floor((x + 255 - x) / 2))."""
    from helpers import run_ffmpeg

    src = tmp_path / "static.mkv"
    run_ffmpeg(gen_ffmpeg, "-f", "lavfi", "-i", "color=c=0x804020:s=32x32:r=30:d=0.5",
               "-c:v", "ffv1", "-pix_fmt", "yuv444p", str(src))
    out = tmp_path / "out.mkv"
    ffmotion.extract(src, out, offset=3, lossless=True, ffmpeg=ffmpeg_bin)
    frames = decode(ffmpeg_bin, out, "yuv444p", (32, 32))
    assert len(frames) == 15 - 3
    assert all((plane == 127).all() for frame in frames for plane in frame)


def test_reference_formula_on_known_values():
    """The reference itself, against values worked out by hand."""
    a = (np.array([[0, 255, 100]], dtype=np.uint8),)
    b = (np.array([[0, 0, 99]], dtype=np.uint8),)
    assert reference.blend(a, b, 255)[0].tolist() == [[127, 255, 128]]
    a10 = (np.array([[1023, 0]], dtype=np.uint16),)
    b10 = (np.array([[0, 1023]], dtype=np.uint16),)
    assert reference.blend(a10, b10, 1023)[0].tolist() == [[1023, 0]]


def test_reference_streams_with_bounded_buffer():
    frames = iter([(np.full((1, 1), i, dtype=np.uint8),) for i in range(10)])
    out = list(reference.motion_frames(frames, 3, "offset", 255))
    assert [int(f[0][0, 0]) for f in out] == [(i + 255 - (i + 3)) >> 1 for i in range(7)]
    frames = iter([(np.full((1, 1), i * 10, dtype=np.uint8),) for i in range(5)])
    out = list(reference.motion_frames(frames, 2, "freeze", 255))
    assert [int(f[0][0, 0]) for f in out] == [(i * 10 + 255 - 20) >> 1 for i in range(5)]
