"""Regions of the picture that ``ffmotion measure`` measures: named rectangles, as values.

A region is ``NAME=x,y,w,h`` in pixels of the picture **as displayed** (a rotated phone video
is measured upright, as every graph sees it: ffmpeg rotates before the graph). The values
are checked here (a name, whole numbers, no zero size, no duplicate name); whether a region
lies inside the picture is known only after the probe (:func:`check_inside`). Reading and
writing a saved ``rois.toml`` is :mod:`ffmotion.pipeline.rois`'s (it reads a file).
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Iterable, Optional, Sequence

from ffmotion.core import numbers
from ffmotion.core.errors import UsageError, field

NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_-]{0,63}$")
MAX_REGIONS = 64  # columns of a CSV a person still reads; ffmpeg graphs stay small
MAX_SIDE = 65535  # no picture ffmpeg decodes is larger


@dataclass(frozen=True)
class Region:
    """A named rectangle: ``x, y`` its top-left pixel, ``w x h`` its size (pixels of the
    displayed picture)."""

    name: str
    x: int
    y: int
    w: int
    h: int

    def __post_init__(self) -> None:
        if not NAME.match(self.name):
            raise UsageError(f"{field('roi')}: bad region name {numbers.shown(self.name)} "
                             "(a letter, then letters, digits, - or _; at most 64)")
        for label, value in (("x", self.x), ("y", self.y), ("w", self.w), ("h", self.h)):
            if isinstance(value, bool) or not isinstance(value, int):
                raise UsageError(f"{field('roi')} {self.name}: {label} must be a whole number")
            if not 0 <= value <= MAX_SIDE:
                raise UsageError(f"{field('roi')} {self.name}: {label} must be from 0 to "
                                 f"{MAX_SIDE}, not {numbers.value_text(value)}")
        if self.w == 0 or self.h == 0:
            raise UsageError(f"{field('roi')} {self.name}: zero size ({self.w}x{self.h}): a "
                             "region is at least 1x1 pixel")

    @classmethod
    def parse(cls, text: str) -> "Region":
        """``NAME=x,y,w,h`` (what ``--roi`` takes), e.g. ``patient=0,0,640,720``."""
        raw = str(text).strip()
        if "=" not in raw:
            raise UsageError(f"{field('roi')} {numbers.shown(raw)}: write NAME=x,y,w,h, e.g. "
                             "patient=0,0,640,720")
        name, _, rest = raw.partition("=")
        parts = [p.strip() for p in rest.split(",")]
        if len(parts) != 4:
            raise UsageError(f"{field('roi')} {numbers.shown(raw)}: give four numbers "
                             "x,y,w,h after the name, e.g. patient=0,0,640,720")
        values = [numbers.whole(p, f"{field('roi')} {name.strip()}", "a whole number of pixels")
                  for p in parts]
        return cls(name.strip(), *values)

    @property
    def area(self) -> int:
        return self.w * self.h

    @property
    def right(self) -> int:
        """One past the last column."""
        return self.x + self.w

    @property
    def bottom(self) -> int:
        """One past the last row."""
        return self.y + self.h

    def overlaps(self, other: "Region") -> bool:
        return (self.x < other.right and other.x < self.right
                and self.y < other.bottom and other.y < self.bottom)

    def text(self) -> str:
        """``NAME=x,y,w,h``: what :meth:`parse` reads."""
        return f"{self.name}={self.x},{self.y},{self.w},{self.h}"


def check_names(regions: Sequence[Region]) -> None:
    """At least one region, at most :data:`MAX_REGIONS`, no name twice."""
    if not regions:
        raise UsageError(f"give a region to measure: {field('roi')} NAME=x,y,w,h or "
                         f"{field('rois')} FILE")
    if len(regions) > MAX_REGIONS:
        raise UsageError(f"{len(regions)} regions: at most {MAX_REGIONS}")
    seen: set[str] = set()
    for region in regions:
        if region.name in seen:
            raise UsageError(f"{field('roi')}: the name {region.name!r} is given twice "
                             "(each region needs its own name: it names the CSV columns)")
        seen.add(region.name)


def check_inside(regions: Iterable[Region], size: tuple[int, int],
                 rotation: int = 0) -> None:
    """Every region lies inside the displayed picture of ``size`` (width, height)."""
    width, height = size
    turned = (f" (the picture as displayed: the file stores it {height}x{width} and "
              f"rotates it {rotation} degrees)" if rotation in (90, 270) else "")
    for region in regions:
        if region.right > width or region.bottom > height:
            raise UsageError(
                f"{field('roi')} {region.text()} reaches outside the {width}x{height} "
                f"picture{turned}: x+w must be at most {width} and y+h at most {height}")


def find(regions: Sequence[Region], name: Optional[str]) -> Optional[Region]:
    """The region called ``name`` (None: none asked for); an unknown name is an error."""
    if name is None:
        return None
    for region in regions:
        if region.name == name:
            return region
    known = ", ".join(r.name for r in regions)
    raise UsageError(f"{field('background')} {numbers.shown(name)} is none of the regions "
                     f"({known})")


def overlapping(background: Region, regions: Iterable[Region]) -> list[Region]:
    """The measured regions the background region overlaps (a background should show no
    motion of the people measured)."""
    return [r for r in regions if r.name != background.name and r.overlaps(background)]


def union(regions: Iterable[Region], margin: int,
          size: tuple[int, int]) -> tuple[int, int, int, int]:
    """``(x, y, w, h)``: the rectangle holding every region grown by ``margin`` pixels, cut
    to the picture of ``size``."""
    width, height = size
    listed = list(regions)
    x0 = max(0, min(r.x for r in listed) - margin)
    y0 = max(0, min(r.y for r in listed) - margin)
    x1 = min(width, max(r.right for r in listed) + margin)
    y1 = min(height, max(r.bottom for r in listed) + margin)
    return x0, y0, x1 - x0, y1 - y0


__all__ = ["MAX_REGIONS", "Region", "check_inside", "check_names", "find", "overlapping",
           "union"]
