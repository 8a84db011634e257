"""Motion maps and motiograms: one picture of where (and when) motion happened, one ffmpeg pass.

What to draw (:class:`MapSpec`) and the exact definitions; the ffmpeg graph and argv are built
by :mod:`ffmotion.graph.maps` (this module names no filter).

Definitions (8-bit luma: the input is converted to ``gray`` by ffmpeg's own conversion, a
plane copy for 8-bit YUV). For the frames of the range, ``g_i`` the luma of frame i, ``K`` the
offset, ``G`` the gain and ``n = N - K`` motion frames:

* motion ``d_i = min(round(|g_i - g_{i+K}| * G), 255)`` for ``i < n`` (the ``difference`` look
  with gain G: :func:`ffmotion.graph.motion_video`).
* ``--color intensity`` (gray PNG), ``--accumulate mean`` (default): the motion energy
  accumulated per pixel, as a mean over the n motion frames: with ``e_i = |g_i - g_{i+K}|``
  (gain 1), ``M = min(255, round(G * sum_i e_i / n))`` (``G``: ``--gain``, default
  :data:`MEAN_GAIN`; halves round up). The sum is exact: the n frames (padded with black to
  ``P = 2**L >= n``) are added pairwise in ``L`` levels of ``tmix=frames=2`` (+ ``select`` of
  every second frame) in 16-bit gray, so ffmpeg holds two frames per level and does about 2n
  frame additions in all. Past 256 frames (``L > 8``) the partial sums would overflow 16 bits:
  from level 9 on each is halved first (``floor``), and the last sum is scaled back by
  ``2**(L-8)`` (a loss below one level in the mean). ``--accumulate peak``: ``M = max_i d_i``
  per pixel (``lagfun=decay=1``, a running maximum; exact on integers). Black: nothing ever
  moved there.
* ``--color time`` (colour PNG): luma ``M`` as above (mean or peak); the hue says *when* the pixel last moved
  by more than ``T`` (``--threshold``, default 8): ``t = max_i (d_i > T ? 1 + floor(254 i /
  max(n - 1, 1)) : 0)`` (``geq`` writes the masked index, ``lagfun=decay=1`` keeps the latest),
  then ``U = 128 + round(112 cos(1.5 pi t / 255))``, ``V = 128 + round(112 sin(1.5 pi t /
  255))`` where ``t > 0`` and 128 (no colour) where ``t = 0``; the yuv444p picture is converted
  to RGB for the PNG by ffmpeg.
* ``--motiogram columns``: each ``d_i`` averaged down its columns (``scale=W:1``, swscale's
  ``area`` filter: the mean within one level of rounding) and stacked, time downwards: W x n.
  ``--motiogram rows``: averaged along its rows (``scale=1:H``), time to the right: n x H
  (MGT's horizontal/vertical motiograms). ``tile`` lays out at most
  :data:`MAX_MOTIOGRAM_FRAMES` frames: longer ranges take every s-th motion frame.

The last frame of the running maximum is the map: the PNG muxer rewrites the file at every
frame (``-update 1``), so one pass leaves the final picture.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from fractions import Fraction
from typing import Literal

Accumulate = Literal["mean", "peak"]
ACCUMULATE: tuple[Accumulate, ...] = ("mean", "peak")
MEAN_GAIN = Fraction(4)  # the mean of |motion| is small: x4 by default (stated in the legend)
EXACT_LEVELS = 8  # 2**8 frames of 8-bit values fit a 16-bit sum
Color = Literal["intensity", "time"]
COLORS: tuple[Color, ...] = ("intensity", "time")
Motiogram = Literal["rows", "columns"]
MOTIOGRAMS: tuple[Motiogram, ...] = ("rows", "columns")
MAX_MOTIOGRAM_FRAMES = 1024
DEFAULT_THRESHOLD = 8
HUE_AMPLITUDE = 112
HUE_TURN = Fraction(3, 2)  # radians / pi over the whole range: red-ish early, blue-ish late


@dataclass(frozen=True)
class MapSpec:
    """What to draw: a map coloured by ``color``, or a ``motiogram`` (None: the map)."""

    color: Color = "intensity"
    motiogram: "Motiogram | None" = None
    gain: "Fraction | None" = None  # None: 1 for peak maps and motiograms, MEAN_GAIN for mean maps
    threshold: int = DEFAULT_THRESHOLD
    accumulate: Accumulate = "mean"

    @property
    def is_mean(self) -> bool:
        return self.motiogram is None and self.accumulate == "mean"

    @property
    def applied_gain(self) -> Fraction:
        if self.gain is not None:
            return self.gain
        return MEAN_GAIN if self.is_mean else Fraction(1)


def motiogram_step(n: int) -> int:
    """Every s-th motion frame goes into a motiogram of at most MAX_MOTIOGRAM_FRAMES."""
    return max(1, math.ceil(n / MAX_MOTIOGRAM_FRAMES))


# -- --threshold auto: the clip's noise floor ---------------------------------------------------

NOISE_PAIRS = 10
NOISE_KEY = "lavfi.signalstats.YHIGH"


def parse_noise(text: str) -> list[int]:
    """The YHIGH values printed by :func:`ffmotion.graph.maps.noise_command`."""
    return [int(float(line.split("=", 1)[1])) for line in text.splitlines()
            if line.startswith(NOISE_KEY + "=")]


def auto_threshold(values: list[int]) -> int:
    """The threshold above the noise floor: the median of the per-pair 90th percentiles, + 1
    (motion covering under a tenth of the picture does not move it)."""
    ordered = sorted(values)
    return min(254, ordered[len(ordered) // 2] + 1) if ordered else 1
