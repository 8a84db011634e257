"""--displacement on synthetic sub-pixel motion: a smooth texture rendered analytically at
x + A sin(2 pi f t) (never resampled), with noise, encoded lossless (FFV1) and lossy (x264),
measured by ffmotion and compared with the known motion."""
from __future__ import annotations

import subprocess
from pathlib import Path

import numpy as np
import pytest

from ffmotion.core.measure import MeasureSpec, Scale
from ffmotion.core.regions import Region
from ffmotion.pipeline import displacement, measure
from ffmotion.run import runner

from helpers import bundled_ffmpeg, make_clip

W, H, FPS, N = 160, 120, 100, 100
FREQ = 12.0  # Hz: bin 1 Hz at 100 frames of 100 fps
REGION = Region("part", 56, 28, 64, 64)
TOLERANCE_PX = 0.02  # RMS error of the displacement (the target)


def texture(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    v = (110 + 35 * np.sin(0.31 * x + 0.17 * y) + 30 * np.cos(0.23 * x - 0.29 * y)
         + 20 * np.sin(0.5 * x + 1.0) * np.cos(0.41 * y))
    return v + 45 * np.exp(-((x - 80) ** 2 + (y - 60) ** 2) / 80.0)


def motion(i: int, amplitude: float) -> float:
    return amplitude * np.sin(2 * np.pi * FREQ * i / FPS)


def render(path: Path, amplitude: float, *, whole_frame: bool = False,
           codec: tuple[str, ...] = ("-c:v", "ffv1")) -> Path:
    """The region's content moves by (s, s/2); with ``whole_frame`` the whole picture does."""
    rng = np.random.default_rng(7)
    yy, xx = np.mgrid[0:H, 0:W].astype(np.float64)
    inside = ((xx >= REGION.x) & (xx < REGION.right) & (yy >= REGION.y) & (yy < REGION.bottom))
    argv = [bundled_ffmpeg(), "-v", "error", "-y", "-f", "rawvideo", "-pix_fmt", "gray",
            "-s", f"{W}x{H}", "-r", str(FPS), "-i", "pipe:", *codec, "-pix_fmt", "yuv420p",
            str(path)]
    frames = []
    for i in range(N):
        s = motion(i, amplitude)
        moved = texture(xx - s, yy - s / 2)
        picture = moved if whole_frame else np.where(inside, moved, texture(xx, yy))
        noisy = picture + rng.normal(0, 1.5, picture.shape)
        frames.append(np.clip(np.round(noisy), 0, 255).astype(np.uint8).tobytes())
    subprocess.run(argv, input=b"".join(frames), check=True)
    return path


def _measure(src: Path, **spec) -> displacement.DisplacementTable:
    job = measure.Job(src, (REGION,), MeasureSpec(method="displacement", threshold=None, **spec))
    return displacement.run_displacement(job, tools=runner.tools()).table


X264 = ("-c:v", "libx264", "-crf", "12", "-preset", "fast")
X264_TOLERANCE_PX = 0.05  # x264 flattens sub-pixel motion (skip blocks): measured 0.024-0.041


@pytest.mark.parametrize("amplitude,codec,tolerance", [
    (0.05, ("-c:v", "ffv1"), TOLERANCE_PX),
    (0.2, ("-c:v", "ffv1"), TOLERANCE_PX),
    (1.0, ("-c:v", "ffv1"), TOLERANCE_PX),
    (0.2, X264, X264_TOLERANCE_PX),
    (1.0, X264, X264_TOLERANCE_PX),
], ids=["ffv1-0.05", "ffv1-0.2", "ffv1-1", "x264-0.2", "x264-1"])
def test_subpixel_sinusoid(tmp_path, amplitude, codec, tolerance):
    table = _measure(render(tmp_path / "part.mkv", amplitude, codec=codec),
                     scale=Scale.parse("100mm:400px"), band=(5.0, 45.0))
    truth = np.array([motion(i, amplitude) for i in range(N)])
    dx, dy = table.dx[:, 0], table.dy[:, 0]
    error = np.sqrt(np.mean((dx - truth) ** 2 + (dy - truth / 2) ** 2) / 2)
    assert error <= tolerance, error
    (part,) = table.motions
    assert abs(part.frequency_hz - FREQ) <= table.bin_hz
    true_rms = float(np.sqrt(np.mean(truth ** 2 * 1.25)))
    assert part.rms_px == pytest.approx(true_rms, abs=2 * tolerance)
    assert "part_dx_mm" in table.csv().splitlines()[0]
    assert not any("camera" in w for w in table.warnings)


def test_whole_frame_motion_warns_of_the_camera(tmp_path):
    table = _measure(render(tmp_path / "shaken.mkv", 0.5, whole_frame=True))
    assert any("the camera moved" in w for w in table.warnings), table.warnings


def test_mains_alias():
    # 100 Hz flicker filmed at 30 fps lands at 10 Hz; 50 Hz at 25 fps at 0 Hz (no motion)
    assert displacement.mains_alias(10.0, 30.0, 0.2) in (50.0, 100.0)
    assert displacement.mains_alias(12.0, 100.0, 0.5) is None
    assert displacement.mains_alias(1.0, 25.0, 1.0) is None


def test_variable_frame_rate_warns(tmp_path):
    src = make_clip(bundled_ffmpeg(), tmp_path / "vfr.mkv", size=(64, 48), frames=20, vfr=True)
    job = measure.Job(src, (Region("a", 8, 8, 32, 32),),
                      MeasureSpec(method="displacement", threshold=None))
    table = displacement.run_displacement(job, tools=runner.tools()).table
    assert any("variable frame rate" in w for w in table.warnings), table.warnings
    assert table.times is not None and len(table.times) == table.frames
