"""The graphs of motion maps and motiograms, and of ``--threshold auto``'s noise measure.

Pure: builds ffmpeg-python graphs and argv lists, runs nothing. The definitions are in
:mod:`ffmotion.core.maps` (with :class:`~ffmotion.core.maps.MapSpec`, what to draw).
"""
from __future__ import annotations

import math
from fractions import Fraction
from pathlib import Path
from typing import Any, Optional

import ffmpeg

from ffmotion.core.looks import Look
from ffmotion.core.maps import (
    EXACT_LEVELS,
    HUE_AMPLITUDE,
    HUE_TURN,
    NOISE_KEY,
    NOISE_PAIRS,
    MapSpec,
    motiogram_step,
)
from ffmotion.core.source import Source
from ffmotion.graph.argv import GLOBAL_ARGS
from ffmotion.graph.looks import _lut
from ffmotion.graph.motion import motion_video
from ffmotion.graph.node import Stream
from ffmotion.graph.picture import prelude
from ffmotion.graph.plan import Plan


def _motion(plan: Plan, spec: MapSpec) -> Stream:
    source = ffmpeg.input(plan.info.input.name, **plan.input_args())
    # the range's frames by count (the -ss/-t input options leave a margin), picture prelude
    video = prelude(plan.source_video(source), plan.picture)
    if plan.stabilizer is not None:
        from ffmotion.graph.views import stabilize_video

        video = stabilize_video(video, plan.stabilizer)
    video = video.filter("format", "gray")
    # a mean map applies its gain after averaging (no clipping of single frames)
    gain = Fraction(1) if spec.is_mean else spec.applied_gain
    return motion_video(video, plan.k, plan.info.fps, "offset", "gray",
                        Look(blend="difference", gain=gain))


def tree_levels(n: int) -> int:
    """L: the pairwise levels that add n frames (padded to 2**L)."""
    return max(0, (n - 1).bit_length())


def accumulated(motion: Stream, n: int, gain: Fraction) -> Stream:
    """The mean map of n 8-bit gray motion frames (see the module notes): one gray frame."""
    levels = tree_levels(n)
    # gray -> gray16 is v * 257 (measured, both builds): back to v. A plain lut is exact on
    # gray16 while its results stay below 65280 (where it clips gray): all but the last one
    # (which goes through graph.looks._lut)
    total = motion.filter("format", "gray16le")
    if (1 << levels) > n:
        # tpad's black is 0 on 9.0 but 16 * 257 on 5.1 (limited-range black): real values are
        # moved to 16..271 first, so that anything else is a padded frame and becomes 0
        total = total.filter("lut", c0="floor(val/257)+16")
        total = total.filter("tpad", stop=(1 << levels) - n)
        total = total.filter("lut", c0="if(between(val,16,271),val-16,0)")
    else:
        total = total.filter("lut", c0="floor(val/257)")
    for level in range(1, levels + 1):
        if level > EXACT_LEVELS:
            total = total.filter("lut", c0="floor(val/2)")
        # tmix repeats the first frame to fill its window: frame 2j+1 is f_2j + f_2j+1
        total = total.filter("tmix", frames=2, weights="1 1", scale=1)
        total = total.filter("select", "mod(n,2)")
    scale = 1 << max(0, levels - EXACT_LEVELS)
    p, q = gain.numerator * scale, gain.denominator * n
    mean = _lut(total, (f"min(255,floor((2*val*{p}+{q})/{2 * q}))*257",), "gray16le")
    return mean.filter("format", "gray")


def hue_exprs() -> tuple[str, str]:
    """``lut`` expressions for U and V of the time code t (0: no colour)."""
    turn = f"{HUE_TURN.numerator}*PI*val/{255 * HUE_TURN.denominator}"
    return (f"if(val,128+round({HUE_AMPLITUDE}*cos({turn})),128)",
            f"if(val,128+round({HUE_AMPLITUDE}*sin({turn})),128)")


def map_video(plan: Plan, spec: MapSpec) -> Stream:
    """The stream whose last frame is the picture (gray for intensity and motiograms,
    yuv444p for time)."""
    motion = _motion(plan, spec)
    n = plan.out_frames
    if spec.motiogram is not None:
        step = motiogram_step(n)
        if step > 1:
            motion = motion.filter("select", f"not(mod(n,{step}))")
        count = math.ceil(n / step)
        if spec.motiogram == "columns":
            lines = motion.filter("scale", plan.info.width, 1, flags="area")
            layout = f"1x{count}"
        else:
            lines = motion.filter("scale", 1, plan.info.height, flags="area")
            layout = f"{count}x1"
        return lines.filter("tile", layout)
    if spec.color == "intensity":
        if spec.is_mean:
            return accumulated(motion, n, spec.applied_gain)
        return motion.filter("lagfun", decay=1)
    parts = motion.split()
    if spec.is_mean:
        peak = accumulated(parts[0], n, spec.applied_gain)
    else:
        peak = parts[0].filter("lagfun", decay=1)
    last = max(n - 1, 1)
    when = parts[1].filter(
        "geq", lum=f"if(gt(lum(X,Y),{spec.threshold}),1+floor(254*N/{last}),0)")
    when = when.filter("lagfun", decay=1)
    if spec.is_mean:  # one mean frame: pair it with the last frame of the hue, both at time 0
        peak = peak.filter("setpts", "0")
        when = when.filter("select", f"eq(n,{n - 1})").filter("setpts", "0")
    hue = when.split()
    u_expr, v_expr = hue_exprs()
    u = hue[0].filter("lut", c0=u_expr)
    v = hue[1].filter("lut", c0=v_expr)
    return ffmpeg.filter([peak, u, v], "mergeplanes", format="yuv444p",
                         map0s=0, map0p=0, map1s=1, map1p=0, map2s=2, map2p=0)


def map_command(plan: Plan, spec: MapSpec, ffmpeg_bin: str, dst: Path, overwrite: bool) -> list[str]:
    """argv writing the picture to ``dst`` (a PNG, or a lossless .mkv/.nut for checking)."""
    picture = map_video(plan, spec)
    args: dict[str, Any] = {"fflags": "+bitexact", "flags:v": "+bitexact"}
    if dst.suffix.lower() == ".png":
        args.update({"update": 1, "c:v": "png"})
        if spec.motiogram is None and spec.color == "time":
            picture = picture.filter("scale", flags="bicubic+accurate_rnd").filter("format", "rgb24")
    else:
        args.update({"c:v": "ffv1"})
    return [ffmpeg_bin, *GLOBAL_ARGS, "-y" if overwrite else "-n",
            *ffmpeg.output(picture, str(dst), **args).get_args()]


def noise_command(src: Path, ffmpeg_bin: str, input_argv: Optional[list[str]] = None) -> list[str]:
    """argv printing, for the first NOISE_PAIRS pairs of consecutive frames, the 90th
    percentile of ``|g_i - g_{i+1}|`` (8-bit luma; ``signalstats`` YHIGH) on stdout.
    ``input_argv``: the input options and ``-i NAME`` (default: ``src`` read literally)."""
    chain = ("format=gray,tblend=all_mode=difference,signalstats,"
             f"metadata=print:key={NOISE_KEY}:file=-")
    words = input_argv if input_argv is not None else Source.file(src).input_argv()
    return [ffmpeg_bin, *GLOBAL_ARGS, "-v", "error", *words, "-map", "0:v:0",
            "-frames:v", str(NOISE_PAIRS + 1), "-vf", chain, "-f", "null", "-"]
