"""ffmotion measure (MEA, descriptors, background threshold) held bit for bit to the numpy
model in tests/mea_reference.py, which imports nothing of ffmotion."""
from __future__ import annotations

import csv
import io
from pathlib import Path

import mea_reference as ref
import numpy as np
import pytest

from ffmotion.core.measure import MeasureSpec
from ffmotion.core.regions import Region
from ffmotion.core.units import FramesOrTime
from ffmotion.pipeline import measure
from ffmotion.run import runner

from helpers import bundled_ffmpeg, run_ffmpeg

W, H = 96, 280  # taller than 256 rows: the partial sums leave more than one row


def _clip(path: Path, pix_fmt: str = "yuv420p", noise: int = 14, frames: int = 10) -> Path:
    video = (f"testsrc2=s={W}x{H}:r=25:d={frames / 25},format=yuv444p,"
             f"noise=alls={noise}:allf=t+u,format={pix_fmt}")
    run_ffmpeg(bundled_ffmpeg(), "-f", "lavfi", "-i", video, "-c:v", "ffv1", "-frames:v",
               str(frames), str(path))
    return path


@pytest.fixture(scope="module")
def clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _clip(tmp_path_factory.mktemp("measure") / "clip.mkv")


@pytest.fixture(scope="module")
def frames(clip: Path) -> list[np.ndarray]:
    return list(ref.luma_frames(bundled_ffmpeg(), clip, W, H))


# the picture's four edges, a corner, a 1x1 region, one spanning the whole height
REGIONS = (Region("left", 0, 0, 30, H), Region("right", 60, 3, 36, 277),
           Region("mid", 31, 100, 20, 17), Region("dot", 40, 40, 1, 1),
           Region("corner", 80, 260, 16, 20))
BOXES = [(r.name, r.x, r.y, r.w, r.h) for r in REGIONS]


def _run(src: Path, spec: MeasureSpec, regions=REGIONS, **job) -> measure.MeaResult:
    return measure.run_mea(measure.Job(src, tuple(regions), spec, **job),
                           tools=runner.tools())


@pytest.mark.parametrize("k,threshold,median,gray", [
    (1, 15, 5, "full"),  # Altmann's defaults
    (2, 15, 5, "full"),
    (1, 6, 3, "full"),
    (1, 25, 1, "luma"),
    (3, 10, 7, "full"),
])
def test_counts_bit_identical(clip, frames, k, threshold, median, gray):
    spec = MeasureSpec(offset=FramesOrTime.offset(k), threshold=threshold, median=median,
                       gray=gray)
    got = _run(clip, spec).table.counts
    want = ref.mea(frames, BOXES, k=k, threshold=threshold, median=median,
                   stretch=gray == "full")
    assert got.shape == (len(frames) - k, len(REGIONS))
    assert want.sum() > 0 and (want == 0).sum() > 0  # the clip tells the options apart
    np.testing.assert_array_equal(got, want)


def test_options_matter(frames):
    """The model itself tells each option apart on this clip (a test would fail if one were
    ignored)."""
    base = ref.mea(frames, BOXES)
    for changed in (ref.mea(frames, BOXES, k=2), ref.mea(frames, BOXES, threshold=6),
                    ref.mea(frames, BOXES, median=3), ref.mea(frames, BOXES, stretch=False)):
        n = min(len(base), len(changed))
        assert not np.array_equal(base[:n], changed[:n])


def test_descriptors_match_model(clip, frames):
    table = _run(clip, MeasureSpec(descriptors=True, threshold=8)).table
    want = ref.descriptors(frames, BOXES, threshold=8)
    rows = list(csv.DictReader(io.StringIO(table.csv())))
    assert len(rows) == len(want)
    checked = 0
    for row, expected in zip(rows, want):
        for region, item in zip(REGIONS, expected):
            assert int(row[region.name]) == item["count"]
            for key in ("mean_change", "com_x", "com_y", "aom_x1", "aom_y1", "aom_x2",
                        "aom_y2"):
                value = item.get(key)
                cell = row[f"{region.name}_{key}"]
                if value is None:
                    assert cell == ""
                else:
                    assert float(cell) == pytest.approx(value, rel=1e-6, abs=1e-9), key
                    checked += 1
    assert checked > 50


def test_background_threshold(clip, frames):
    bg = Region("bg", 35, 150, 20, 20)
    spec = MeasureSpec(threshold=None, background="bg")
    result = _run(clip, spec, regions=(*REGIONS[:2], bg))
    want_t = ref.background_threshold(frames, ("bg", 35, 150, 20, 20))
    assert result.spec.threshold == want_t
    np.testing.assert_array_equal(result.table.counts,
                                  ref.mea(frames, BOXES[:2], threshold=want_t))


def test_range(clip, frames):
    result = _run(clip, MeasureSpec(), start="3f", end="8f")
    np.testing.assert_array_equal(result.table.counts, ref.mea(frames[3:8], BOXES))
    assert result.table.csv().splitlines()[1].startswith("3,0.12,")


def test_full_range_input_is_not_stretched(tmp_path):
    src = _clip(tmp_path / "full.mkv", pix_fmt="yuvj420p", frames=5)
    frames = list(ref.luma_frames(bundled_ffmpeg(), src, W, H, full_range=True))
    np.testing.assert_array_equal(_run(src, MeasureSpec()).table.counts,
                                  ref.mea(frames, BOXES, stretch=False))


def test_mea_text_reads_as_rmea_does(clip):
    """readMEA(..., skip=1) reads read.table's whitespace-separated columns after the header."""
    text = _run(clip, MeasureSpec()).table.mea_text()
    lines = text.splitlines()
    assert lines[0] == " ".join(f'"{r.name}"' for r in REGIONS)
    assert all(len(line.split(" ")) == len(REGIONS) and all(v.isdigit() for v in line.split())
               for line in lines[1:])


def test_one_region_at_odd_coordinates(clip, frames):
    """The union's crop starts at odd luma coordinates (4:2:0 chroma cannot): the luma is
    still cut exactly."""
    odd = Region("odd", 33, 57, 21, 19)
    np.testing.assert_array_equal(_run(clip, MeasureSpec(threshold=8), regions=(odd,)).table.counts,
                                  ref.mea(frames, [("odd", 33, 57, 21, 19)], threshold=8))


VTEST = Path("/usr/share/doc/opencv-doc/examples/data/vtest.avi")  # people walking, 768x576


@pytest.mark.skipif(not VTEST.exists(), reason="Debian's opencv-doc samples are not installed "
                                               "(apt-get install opencv-doc)")
def test_real_footage_bit_identical():
    boxes = [("walkway", 0, 150, 420, 170), ("road", 420, 110, 348, 310),
             ("lawn", 40, 400, 300, 150)]
    regions = tuple(Region(*box) for box in boxes)
    result = _run(VTEST, MeasureSpec(), regions=regions, end="40f")
    frames = list(ref.luma_frames(bundled_ffmpeg(), VTEST, 768, 576, extra=("-t", "4")))
    assert len(frames) == 40  # 10 fps
    want = ref.mea(frames, boxes)
    assert want[:, :2].sum() > 1000  # people walk there
    np.testing.assert_array_equal(result.table.counts, want)
