"""Which proxy frames feed which graph: the preview's exact frames, as ffmpeg argv.

Pure (no I/O, no process), like :mod:`ffmotion.graph`, whose :func:`~ffmotion.graph.motion_video`
it reuses unchanged.

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
from typing import Any, Optional

import ffmpeg

from .. import graph
from ..graph.extras import stabilize_video
from ..graph.picture import prelude
from ..media.pixfmt import plane_layout, working_pix_fmt
from ..media.probe import MediaInfo

SCALE_FLAGS = "bicubic"


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


def proxy_pix_fmt(plan: graph.Plan) -> str:
    """The format the motion graph receives before any look conversion."""
    if plan.stabilizer is not None:
        return working_pix_fmt(plan.stabilizer.pix_fmt)
    return working_pix_fmt(plan.info.pix_fmt)


def proxy_command(ffmpeg_bin: str, plan: graph.Plan, size: tuple[int, int], dst: Path,
                  ranged: bool = False) -> list[str]:
    """Decode (the range when stabilizing or ``ranged``, else the whole input), stabilize,
    scale, write raw."""
    stabilized = plan.stabilizer is not None
    if stabilized or ranged:  # the range's frames, exactly as the motion graph gets them
        source = ffmpeg.input(plan.info.input.name, **plan.input_args())
        video = plan.source_video(source)
    else:  # the whole input: frames are picked by index later
        source = ffmpeg.input(plan.info.input.name, **plan.info.input.input_args())
        video = source[f"v:{plan.info.video_stream}"]
    video = prelude(video, plan.picture)
    if plan.stabilizer is not None:
        video = stabilize_video(video, plan.stabilizer)
    video = (video.filter("scale", size[0], size[1], flags=SCALE_FLAGS)
                  .filter("format", proxy_pix_fmt(plan)))
    out = ffmpeg.output(video, str(dst), f="rawvideo", fps_mode="passthrough")
    return [ffmpeg_bin, *graph.GLOBAL_ARGS, "-y", *out.get_args()]


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
    if plan.options.look.denoise:
        # a temporal denoiser's output depends on the frames before (hqdn3d carries its
        # state from the first frame): both branches must see the denoised sequence from
        # the range's start, as in the CLI's graph, so read from there through split
        return Window(base, None, plan.k, plan.channel_ks, i, count)
    low = min(ks)
    start = i
    trail = plan.options.look.trail
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


def window_command(ffmpeg_bin: str, plan: graph.Plan, proxy: Proxy, win: Window) -> list[str]:
    """ffmpeg argv writing the window's frames (warm-up first) as raw frames to stdout."""
    raw: dict[str, Any] = {"f": "rawvideo", "pixel_format": proxy.pix_fmt,
                           "video_size": (proxy.width, proxy.height),
                           "framerate": f"{proxy.fps.numerator}/{proxy.fps.denominator}"}
    top = ffmpeg.input(str(proxy.path), skip_initial_bytes=win.a * proxy.frame_bytes, **raw)["v:0"]
    second = None
    if win.b is not None:
        second = graph.second_input(proxy.path, skip_initial_bytes=win.b * proxy.frame_bytes,
                                    **raw)
    video = graph.motion_video(top, win.k, plan.info.fps, plan.mode, plan.working_pix_fmt,
                               look=plan.options.look, channel_ks=win.channel_ks, second=second)
    out = ffmpeg.output(video, "pipe:1", f="rawvideo", pix_fmt=plan.working_pix_fmt,
                        fps_mode="passthrough", **{"frames:v": win.skip + win.count})
    return [ffmpeg_bin, *graph.GLOBAL_ARGS, "-v", "error", *out.get_args()]
