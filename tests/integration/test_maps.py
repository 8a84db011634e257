"""Motion maps and motiograms: by shape on a synthetic clip, and against numpy on the frames."""
from __future__ import annotations

import math
import subprocess
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest

from ffmotion.core import maps
from ffmotion.pipeline import explore

from helpers import run_ffmpeg

W, H, N = 64, 48, 30


@pytest.fixture(scope="session")
def square(tmp_path_factory, gen_ffmpeg) -> Path:
    """A white 8x8 square moving right along y=20..27 on black (plus a dim static bar)."""
    path = tmp_path_factory.mktemp("maps") / "square.mkv"
    run_ffmpeg(gen_ffmpeg, "-f", "lavfi", "-i",
               f"color=black:s={W}x{H}:r=10:d={N / 10},drawbox=x=2:y=2:w=20:h=4:color=gray:t=fill"
               "[bg];color=white:s=8x8:r=10[sq];[bg][sq]overlay=x='10+n':y=20:shortest=1",
               "-c:v", "ffv1", "-pix_fmt", "yuv420p", str(path))
    return path


def gray_frames(ffmpeg: str, path: Path, w: int, h: int, fmt: str = "gray") -> np.ndarray:
    planes = 1 if fmt == "gray" else 3
    raw = subprocess.run([ffmpeg, "-v", "error", "-i", str(path), "-f", "rawvideo", "-pix_fmt",
                          fmt, "-"], capture_output=True, check=True).stdout
    frames = np.frombuffer(raw, np.uint8).reshape(-1, planes, h, w) if fmt != "gray" else \
        np.frombuffer(raw, np.uint8).reshape(-1, h, w)
    return frames.astype(np.int64)


def motion(ffmpeg: str, src: Path, k: int, gain: int = 1) -> np.ndarray:
    g = gray_frames(ffmpeg, src, W, H)
    return np.minimum(np.abs(g[:-k] - g[k:]) * gain, 255)


def draw(ffmpeg: str, src: Path, dst: Path, k: int, **spec) -> None:
    explore.motion_map(src, dst, k, spec=maps.MapSpec(**spec), ffmpeg=ffmpeg, overwrite=True)


def test_intensity_map_lights_exactly_where_the_square_moved(ffmpeg_bin, square, tmp_path):
    out = tmp_path / "map.png"
    draw(ffmpeg_bin, square, out, 3, accumulate="peak")
    got = gray_frames(ffmpeg_bin, out, W, H)
    assert got.shape[0] == 1
    got = got[0]
    moved = (gray_frames(ffmpeg_bin, square, W, H) > 200).any(axis=0)  # the square's path
    assert moved[20:28, 10:40].all() and not moved[:20].any() and not moved[28:].any()
    assert got[moved].min() == 255  # every pixel the square crossed (K=3 < its width 8)...
    assert got[~moved].max() == 0  # ...and nothing else, not even the static bar
    assert np.array_equal(got, motion(ffmpeg_bin, square, 3).max(axis=0))


def test_intensity_map_with_gain_matches_numpy(ffmpeg_bin, clips, tmp_path):
    clip = clips["yuv420p"]
    out = tmp_path / "map.png"
    explore.motion_map(clip.path, out, 2, spec=maps.MapSpec(gain=Fraction(3), accumulate="peak"),
                       ffmpeg=ffmpeg_bin)
    w, h = clip.size
    g = gray_frames(ffmpeg_bin, clip.path, w, h)
    want = np.minimum(np.abs(g[:-2] - g[2:]) * 3, 255).max(axis=0)
    assert 0 < want.mean() < 255
    assert np.array_equal(gray_frames(ffmpeg_bin, out, w, h)[0], want)


def test_time_map_matches_numpy(ffmpeg_bin, square, tmp_path):
    out = tmp_path / "map.mkv"  # lossless yuv444p: the last frame is the map
    draw(ffmpeg_bin, square, out, 2, color="time", threshold=8, accumulate="peak")
    got = gray_frames(ffmpeg_bin, out, W, H, "yuv444p")[-1]
    d = motion(ffmpeg_bin, square, 2)
    n = d.shape[0]
    index = (1 + np.floor(254 * np.arange(n) / (n - 1))).astype(np.int64)
    t = np.where(d > 8, index[:, None, None], 0).max(axis=0)
    angle = 1.5 * math.pi * t / 255
    u = np.where(t > 0, 128 + np.round(112 * np.cos(angle)), 128)
    v = np.where(t > 0, 128 + np.round(112 * np.sin(angle)), 128)
    assert np.array_equal(got[0], d.max(axis=0))
    assert np.array_equal(got[1], u) and np.array_equal(got[2], v)
    # later motion to the right: the hue turns from left to right along the path
    assert t[24, 12] < t[24, 25] < t[24, 40] and t[5, 40] == 0


@pytest.mark.parametrize("kind", ["columns", "rows"])
def test_motiogram_is_the_mean_over_time(ffmpeg_bin, square, tmp_path, kind):
    out = tmp_path / "mg.png"
    draw(ffmpeg_bin, square, out, 2, motiogram=kind)
    d = motion(ffmpeg_bin, square, 2)
    n = d.shape[0]
    if kind == "columns":
        got = gray_frames(ffmpeg_bin, out, W, n)[0]
        want = d.mean(axis=1)  # (n, W): row i is frame i's column means
    else:
        got = gray_frames(ffmpeg_bin, out, n, H)[0]
        want = d.mean(axis=2).T  # (H, n): column i is frame i's row means
    assert got.shape == want.shape
    # swscale's area filter is the mean within a small rounding error, not bit exact
    assert np.abs(got - want).max() <= MOTIOGRAM_TOLERANCE
    assert (got[want == 0] == 0).all() and (got[want > 10] > 0).all()


MOTIOGRAM_TOLERANCE = 2


def test_motiogram_step_keeps_tile_small():
    assert maps.motiogram_step(1024) == 1 and maps.motiogram_step(1025) == 2
    assert math.ceil(5000 / maps.motiogram_step(5000)) <= maps.MAX_MOTIOGRAM_FRAMES


def test_map_refuses_non_png_and_existing_output(gen_ffmpeg, square, tmp_path):
    from ffmotion.core.errors import UsageError

    with pytest.raises(UsageError, match="PNG"):
        explore.motion_map(square, tmp_path / "map.jpg", 2, ffmpeg=gen_ffmpeg)
    existing = tmp_path / "map.png"
    existing.write_bytes(b"keep")
    with pytest.raises(UsageError, match="overwrite"):
        explore.motion_map(square, existing, 2, ffmpeg=gen_ffmpeg)
    assert existing.read_bytes() == b"keep"


# -- the accumulated (mean) map ----------------------------------------------------------------

def mean_map(e: np.ndarray, gain: Fraction) -> np.ndarray:
    """The mean map restated: pairwise sums over frames padded to 2**L, halved from level 9 on,
    then min(255, round(gain * sum / n)) (halves up)."""
    n = e.shape[0]
    levels = max(0, (n - 1).bit_length())
    x = np.concatenate([e, np.zeros((2**levels - n,) + e.shape[1:], np.int64)])
    for level in range(1, levels + 1):
        if level > 8:
            x = x // 2
        x = x[0::2] + x[1::2]
    p = gain.numerator * 2 ** max(0, levels - 8)
    q = gain.denominator * n
    return np.minimum(255, (2 * x[0] * p + q) // (2 * q))


def test_mean_map_lights_where_the_square_moved_and_accumulates(ffmpeg_bin, square, tmp_path):
    out = tmp_path / "map.png"
    draw(ffmpeg_bin, square, out, 3)  # the default: mean, gain 4
    got = gray_frames(ffmpeg_bin, out, W, H)
    assert got.shape[0] == 1
    got = got[0]
    moved = (gray_frames(ffmpeg_bin, square, W, H) > 200).any(axis=0)
    assert (got[moved] > 0).all() and got[~moved].max() == 0
    e = motion(ffmpeg_bin, square, 3)
    assert np.array_equal(got, mean_map(e, Fraction(4)))
    # energy, not peak: a pixel the square crossed late in the range has lit in fewer frames
    # than the peak map says, and the map is darker than the peak everywhere
    assert (got <= 255).all() and got.max() < e.max(axis=0).max()


@pytest.mark.parametrize("frames, k", [(36, 2), (9, 1), (2, 1)])
def test_mean_map_matches_numpy(ffmpeg_bin, clips, tmp_path, frames, k):
    clip = clips["yuv420p"]
    out = tmp_path / "map.png"
    explore.motion_map(clip.path, out, k, spec=maps.MapSpec(gain=Fraction(7, 2)),
                       duration=f"{frames}f", ffmpeg=ffmpeg_bin)
    w, h = clip.size
    g = gray_frames(ffmpeg_bin, clip.path, w, h)[:frames]
    want = mean_map(np.abs(g[:-k] - g[k:]), Fraction(7, 2))
    assert 0 < want.mean() < 255
    assert np.array_equal(gray_frames(ffmpeg_bin, out, w, h)[0], want)


def test_mean_map_past_256_frames(gen_ffmpeg, tmp_path):
    """300 motion frames: 9 levels, the last one halved first; still numpy's number."""
    src = tmp_path / "long.mkv"
    run_ffmpeg(gen_ffmpeg, "-f", "lavfi", "-i", "testsrc2=s=32x24:r=50:d=6.02,noise=alls=40:allf=t",
               "-c:v", "ffv1", "-pix_fmt", "yuv420p", str(src))
    out = tmp_path / "map.png"
    explore.motion_map(src, out, 1, spec=maps.MapSpec(gain=Fraction(1)), ffmpeg=gen_ffmpeg)
    g = gray_frames(gen_ffmpeg, src, 32, 24)
    assert g.shape[0] == 301
    e = np.abs(g[:-1] - g[1:])
    want = mean_map(e, Fraction(1))
    assert np.array_equal(gray_frames(gen_ffmpeg, out, 32, 24)[0], want)
    assert np.abs(want - np.round(e.mean(axis=0))).max() <= 1  # the halving costs < 1 level


def test_time_map_with_mean_luma(ffmpeg_bin, square, tmp_path):
    out = tmp_path / "map.mkv"
    draw(ffmpeg_bin, square, out, 2, color="time", threshold=8)
    got = gray_frames(ffmpeg_bin, out, W, H, "yuv444p")
    assert got.shape[0] == 1
    assert np.array_equal(got[0][0], mean_map(motion(ffmpeg_bin, square, 2), Fraction(4)))
    peak = tmp_path / "peak.mkv"
    draw(ffmpeg_bin, square, peak, 2, color="time", threshold=8, accumulate="peak")
    hue = gray_frames(ffmpeg_bin, peak, W, H, "yuv444p")[-1]
    assert np.array_equal(got[0][1:], hue[1:]) and (hue[1] != 128).sum() > 100
