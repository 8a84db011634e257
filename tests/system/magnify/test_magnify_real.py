"""Real footage through ``ffmotion magnify``: Debian's opencv-doc surveillance clip (vtest.avi,
MS-MPEG4, a still camera, 10 fps; skipped with its reason where absent). The luma of the
output equals the independent model on the frames ffmpeg decodes (so a real decoder's
output, not a synthetic picture, is held), and the chroma is the input's."""
from __future__ import annotations

import subprocess
from pathlib import Path

import magnify_reference as model
import numpy as np
import pytest

from ffmotion.cli.main import main

from helpers import bundled_ffmpeg

VTEST = Path("/usr/share/doc/opencv-doc/examples/data/vtest.avi")
SIZE = (768, 576)


def _yuv(path: Path, frames: int) -> np.ndarray:
    done = subprocess.run([bundled_ffmpeg(), "-v", "error", "-i", str(path), "-frames:v",
                           str(frames), "-f", "rawvideo", "-pix_fmt", "yuv420p", "-"],
                          capture_output=True, check=True)
    w, h = SIZE
    return np.frombuffer(done.stdout, np.uint8).reshape(-1, w * h * 3 // 2)


@pytest.mark.skipif(not VTEST.is_file(), reason="apt install opencv-doc (its sample vtest.avi)")
def test_vtest_equals_model(tmp_path: Path) -> None:
    dst = tmp_path / "vtest.mkv"
    assert main(["magnify", str(VTEST), str(dst), "--alpha", "5", "--band", "1-3",
                 "--duration", "3", "--lossless", "-q"]) == 0
    before, after = _yuv(VTEST, 30), _yuv(dst, 1000)
    assert len(after) == 30
    w, h = SIZE
    luma = before[:, :w * h].reshape(-1, h, w)
    expected = model.magnify_plane(luma, 5, 1, 3, 10, 5)
    got = after[:, :w * h].reshape(-1, h, w)
    assert np.abs(got.astype(int) - expected.astype(int)).max() <= 1
    assert np.array_equal(after[:, w * h:], before[:, w * h:])  # chroma: only delayed
    assert not np.array_equal(got, luma)
