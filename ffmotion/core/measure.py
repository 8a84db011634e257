"""What ``ffmotion measure`` computes, as values: the method and its parameters.

**MEA** (motion energy analysis, the default method), Altmann's frame differencing: for each
frame t and region, the number of pixels whose gray level changes between frame t and frame
t+K by more than ``threshold`` after a ``median`` x ``median`` median filter of the change:

    d = |g(t+K) - g(t)|      g: the gray picture (see ``gray``)
    m = median_5x5(d)        zeros outside the picture (MATLAB medfilt2's default padding)
    count = #{pixels of the region with m > threshold}

The descriptors (``descriptors``) are computed on the same changed pixels (MGT-python's
quantities of motion, see docs/measure.md). **Displacement** (``method="displacement"``):
the sub-pixel translation of each region, per frame, against the first frame of the range.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal, Optional

from ffmotion.core import numbers
from ffmotion.core.errors import UsageError, field
from ffmotion.core.units import FramesOrTime

Method = Literal["mea", "displacement"]
Gray = Literal["full", "luma"]
GRAYS: tuple[Gray, ...] = ("full", "luma")
DEFAULT_THRESHOLD = 15  # Altmann's default: a change of more than 15 gray levels
DEFAULT_MEDIAN = 5  # 5x5
MEDIANS = (1, 3, 5, 7, 9)  # odd windows whose majority count the graph tells apart exactly
# --background: the threshold is this quantile of the background region's changes |d|
BACKGROUND_QUANTILE = 0.999


@dataclass(frozen=True)
class MeasureSpec:
    """The measurement asked for (no input facts: K is resolved by the plan)."""

    method: Method = "mea"
    offset: FramesOrTime = FramesOrTime.offset(1)
    threshold: Optional[int] = DEFAULT_THRESHOLD  # None: estimated from ``background``
    median: int = DEFAULT_MEDIAN
    gray: Gray = "full"
    descriptors: bool = False
    background: Optional[str] = None  # the name of the background region
    scale: Optional["Scale"] = None  # displacement: length per pixel
    band: Optional[tuple[float, float]] = None  # displacement: Hz searched for the peak

    def __post_init__(self) -> None:
        if self.threshold is not None and not 0 <= self.threshold <= 254:
            raise UsageError(f"{field('threshold')} must be from 0 to 254 gray levels, not "
                             f"{numbers.value_text(self.threshold)}")
        if self.median not in MEDIANS:
            raise UsageError(f"{field('median')} must be one of "
                             f"{', '.join(map(str, MEDIANS))} (an odd window: 5 is 5x5; 1: "
                             f"none), not {numbers.value_text(self.median)}")
        if self.gray not in GRAYS:
            raise UsageError(f"{field('gray')} must be full or luma")
        if self.method == "mea" and (self.scale is not None or self.band is not None):
            raise UsageError(f"{field('scale')} and {field('band')} are for "
                             f"{field('displacement')}")
        if self.method == "displacement" and self.background is not None:
            raise UsageError(f"{field('background')} estimates MEA's threshold: not with "
                             f"{field('displacement')}")

    @property
    def margin(self) -> int:
        """Pixels around a region that its median reads."""
        return self.median // 2


_LENGTH_UNITS = {"nm": 1e-6, "um": 1e-3, "mm": 1.0, "cm": 10.0, "m": 1000.0,
                 "in": 25.4}


@dataclass(frozen=True)
class Scale:
    """How long a pixel is: ``--scale 100mm:412px`` (a length seen over so many pixels)."""

    length_mm: float
    pixels: float
    text: str

    @property
    def mm_per_px(self) -> float:
        return self.length_mm / self.pixels

    @classmethod
    def parse(cls, text: str) -> "Scale":
        raw = numbers.text(text, field("scale"))
        match = re.fullmatch(r"\s*([0-9.eE+-]+)\s*(nm|um|mm|cm|m|in)\s*:\s*([0-9.eE+-]+)"
                             r"\s*px\s*", raw)
        if match is None:
            raise UsageError(f"{field('scale')} {numbers.shown(str(text))}: write LENGTH:PIXELS "
                             "like 100mm:412px (units nm, um, mm, cm, m, in)")
        length = numbers.real(match.group(1), field("scale"))
        pixels = numbers.real(match.group(3), field("scale"))
        if length <= 0 or pixels <= 0:
            raise UsageError(f"{field('scale')} {numbers.shown(raw)}: both numbers must be "
                             "more than 0")
        return cls(length * _LENGTH_UNITS[match.group(2)], pixels, raw.strip())


def parse_band(text: str) -> tuple[float, float]:
    """``--band 5-60``: the frequencies (Hz) the dominant one is looked for in."""
    raw = numbers.text(text, field("band"))
    low, sep, high = raw.partition("-")
    if not sep:
        raise UsageError(f"{field('band')} {numbers.shown(raw)}: write LOW-HIGH in Hz, "
                         "e.g. 5-60")
    lo = numbers.real(low, field("band"))
    hi = numbers.real(high, field("band"))
    if not 0 <= lo < hi:
        raise UsageError(f"{field('band')} {numbers.shown(raw)}: LOW must be at least 0 and "
                         "below HIGH")
    return lo, hi


def majority(median: int) -> int:
    """Of the median x median changes around a pixel, how many must exceed the threshold
    for their median to exceed it."""
    return (median * median + 1) // 2


__all__ = ["BACKGROUND_QUANTILE", "DEFAULT_MEDIAN", "DEFAULT_THRESHOLD", "GRAYS", "MEDIANS",
           "MeasureSpec", "Scale", "majority", "parse_band"]
