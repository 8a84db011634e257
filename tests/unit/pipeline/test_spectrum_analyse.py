"""spectrum's analysis (pure numpy on one number per frame): peaks and the band it suggests."""
from __future__ import annotations

import math
from pathlib import Path

from ffmotion.pipeline.spectrum import analyse, parse_roi


def _series(freqs: list[tuple[float, float]], frames: int, fps: float) -> list[float]:
    return [100 + 0.02 * i + sum(a * math.sin(2 * math.pi * f * i / fps) for f, a in freqs)
            for i in range(frames)]


def test_strongest_first_and_refined() -> None:
    found = analyse(_series([(7.0, 1.0), (2.0, 0.4)], 150, 30.0), 30.0, Path("x"))
    assert abs(found.peaks[0].hz - 7.0) < 0.05 and abs(found.peaks[1].hz - 2.0) < 0.05
    assert abs(found.peaks[0].amplitude - 1.0) < 0.2
    assert found.band() == (4.9, 9.1)


def test_band_the_clip_can_hold() -> None:
    """The strongest peak (0.3 Hz) needs a 251-frame filter: on 200 frames the next one."""
    found = analyse(_series([(0.3, 2.0), (5.0, 1.0)], 200, 30.0), 30.0, Path("x"))
    assert abs(found.peaks[0].hz - 0.3) < 0.1
    assert found.band() == (3.5, 6.5)
    flat = analyse([50.0] * 64, 30.0, Path("x"))
    assert flat.peaks == [] and flat.band() is None
    assert "no peak" in flat.summary()[-1]


def test_parse_roi() -> None:
    assert parse_roi("1,2,3,4") == (1, 2, 3, 4) and parse_roi(None) is None
