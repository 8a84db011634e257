"""Which proxy frames feed which graph: the preview's exact frames.

Pure (no I/O, no process). The argv are built by :mod:`ffmotion.graph.preview`
(:func:`~ffmotion.graph.preview.proxy_command`, :func:`~ffmotion.graph.preview.window_command`),
which reuses :func:`~ffmotion.graph.motion_video` unchanged.

*The proxy* is the range (or the whole input) decoded once, stabilized when asked, scaled to
the preview size with ``scale=W:H:flags=bicubic`` and stored as raw frames in the graph's
working format: the input of "the same graph with a scale in front".

*An exact frame* is that graph run on the proxy. Each output frame of the motion graph
depends only on frame i and frame i+K (or K, freeze mode), except with ``--trail``, whose
``lagfun`` carries a state. So the graph reads the proxy with the "dual" strategy
(:func:`ffmotion.graph.second_input`): the top input starts at frame ``a`` and the shifted one
at frame ``b`` (byte offsets into the raw file), and the trims are reduced by ``b - a``:
the same filter chain, the same pixel arithmetic, without decoding the frames in between.
A trail starts early enough (:func:`warmup`) that the state it did not see has decayed below
half a level, which ``lagfun``'s rounding turns into exactly nothing. Freeze mode with rgb
offsets reads from the range's start through ``split`` instead: its dual graph stalls in
ffmpeg 9.0.2 (so does the CLI's ``--strategy dual`` for it).

Playback is the same window from the current frame to the end of the range.
"""
from __future__ import annotations

import math
import struct
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Optional

from ffmotion import graph
from ffmotion.core.pixfmt import plane_layout, working_pix_fmt
from ffmotion.media.info import MediaInfo


@dataclass(frozen=True)
class Proxy:
    """Raw frames at preview size: frame ``n`` of the file is frame ``first + n`` of the input
    (``first`` is 0 for a stabilized proxy, which covers the range only)."""

    path: Path
    width: int
    height: int
    pix_fmt: str
    fps: Fraction
    first: int
    count: int

    @property
    def frame_bytes(self) -> int:
        return plane_layout(self.pix_fmt, self.width, self.height).frame_bytes


def preview_size(width: int, height: int, max_width: int) -> tuple[int, int]:
    """The preview's size: at most ``max_width`` wide, the input's aspect, even numbers."""
    w = min(width, max_width)
    h = round(height * w / width)
    return max(2, w - w % 2), max(2, h - h % 2)


def proxy_pix_fmt_of(info: MediaInfo) -> str:
    """The proxy's format without stabilization (stabilized ones are 8-bit, never larger)."""
    return working_pix_fmt(info.pix_fmt)


def warmup(decay: float, depth: int) -> Optional[int]:
    """Frames a trail must run before its output no longer depends on earlier frames.

    ``lagfun`` keeps ``s = max(x, s_prev * D)`` and writes ``rint(s)``; a state carried from
    before the start decays as ``max * D**n`` and changes nothing once it is at most 0.5
    (both round to 0). None: D = 1 never forgets, start at the first frame.
    """
    d = struct.unpack("f", struct.pack("f", decay))[0]  # lagfun's float32
    if d >= 1:
        return None
    if d <= 0:
        return 0
    top = (1 << depth) - 1
    return math.ceil(math.log(0.5 / top) / math.log(d)) + 2


@dataclass(frozen=True)
class Window:
    """Output frames ``[i, i + count)`` of the plan, computed from proxy frames from ``a``
    (top) and ``b`` (shifted branch); the first ``skip`` outputs are warm-up."""

    a: int
    b: Optional[int]  # None: one input, split (the plan's own trims)
    k: int
    channel_ks: Optional[tuple[int, int, int]]
    skip: int
    count: int


def window(plan: graph.Plan, base: int, i: int, count: int) -> Window:
    """The window for output frames ``i .. i+count-1`` of ``plan`` (range-relative), with
    ``base`` the proxy index of the range's first frame."""
    ks = plan.channel_ks if plan.channel_ks is not None else (plan.k,)
    if plan.mode == "freeze" and plan.channel_ks is not None:
        # the dual graph of freeze + rgb offsets stalls in ffmpeg 9.0.2 (the CLI's
        # --strategy dual too): read from the range's start through split instead
        return Window(base, None, plan.k, plan.channel_ks, i, count)
    if plan.motion.look.denoise:
        # a temporal denoiser's output depends on the frames before (hqdn3d carries its
        # state from the first frame): both branches must see the denoised sequence from
        # the range's start, as in the CLI's graph, so read from there through split
        return Window(base, None, plan.k, plan.channel_ks, i, count)
    low = min(ks)
    start = i
    trail = plan.motion.look.trail
    if trail:
        depth = plane_layout(plan.working_pix_fmt, 2, 2).depth
        need = warmup(trail, depth)
        start = 0 if need is None else max(0, i - need)
    skip = i - start
    a = base + start
    b = a + low if plan.mode == "offset" else base + low
    channel = None
    if plan.channel_ks is not None:
        r, g, bl = (c - low for c in plan.channel_ks)
        channel = (r, g, bl)
    return Window(a, b, plan.k - low, channel, skip, count)

