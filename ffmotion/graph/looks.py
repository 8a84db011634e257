"""The looks' ffmpeg filter chains (pure: builds ffmpeg-python streams, runs nothing).

:class:`ffmotion.core.looks.Look` is the data and its module docstring holds the exact pixel
definitions each chain follows; :func:`ffmotion.graph.motion_video` calls these functions.
"""
from __future__ import annotations

from typing import Any, Optional

import ffmpeg

from ffmotion.core.looks import OVERLAY_STEPS, Blend, Look, _float_text, _is_yuv, neutrals
from ffmotion.core.pixfmt import plane_layout
from ffmotion.graph.node import Stream

# The look's conversion to RGB or gray. Measured on 5.1 and 9.0: with accurate_rnd swscale
# gives the same pixels with SIMD on and off (without it, 9.0's yuv420p->gbrp SIMD path differs
# from its C path by up to 3), and YUV->RGB is then the same on both builds (RGB->gray is not).
SWS_FLAGS = "bicubic+accurate_rnd"


def convert(stream: Stream, look: Look, pix_fmt: str) -> Stream:
    """The conversion into ``pix_fmt`` when the look needs RGB or gray, with fixed swscale
    flags (``pix_fmt`` comes from :func:`ffmotion.core.looks.working_format`); other looks convert nothing."""
    if look.rgb_offsets is not None or (look.gray and pix_fmt.startswith("gray")):
        stream = stream.filter("scale", flags=SWS_FLAGS)
    return stream


def prepare(stream: Stream, look: Look) -> Stream:
    """Per-frame work done to every frame before it is compared (denoise, blur).

    A strategy that feeds the two branches from separate sources applies it to each.
    """
    if look.denoise:
        stream = stream.filter(look.denoise)
    if look.blur:
        stream = stream.filter("avgblur", sizeX=look.blur)
    return stream


def combine(top: Stream, shifted: Stream, blend: Blend, pix_fmt: str, **blend_args: Any) -> Stream:
    """Frame i (``top``) combined with the other frame (``shifted``)."""
    if blend == "average":
        return ffmpeg.filter([top, shifted.filter("negate")], "blend", all_mode="average",
                             **blend_args)
    if blend == "grainextract":
        return ffmpeg.filter([top, shifted], "blend", all_mode="grainextract", **blend_args)
    if _is_yuv(pix_fmt):
        modes = {"c0_mode": "difference", "c1_mode": "grainextract", "c2_mode": "grainextract"}
    else:
        modes = {"all_mode": "difference"}
    return ffmpeg.filter([top, shifted], "blend", **modes, **blend_args)


def split_channels(stream: Stream) -> tuple[Any, Any, Any]:
    """A gbrp stream as three gray streams: red, green, blue."""
    # one extractplanes per channel: a single extractplanes=r+g+b spins for ever (ffmpeg
    # 9.0.2) once its outputs end at different frames, as they do with per-channel offsets
    # on frames that keep their own times (variable frame rate)
    copies = stream.split()
    return tuple(copies[i].filter("extractplanes", plane)
                 for i, plane in enumerate("rgb"))


def merge_channels(red: Stream, green: Stream, blue: Stream, pix_fmt: str) -> Stream:
    """Three gray streams back into one planar RGB frame (gbrp planes are G, B, R)."""
    return ffmpeg.filter([red, green, blue], "mergeplanes", format=pix_fmt,
                         map0s=1, map0p=0, map1s=2, map1p=0, map2s=0, map2p=0)


def channel_format(pix_fmt: str) -> str:
    """The gray format of one channel of ``pix_fmt``."""
    depth = plane_layout(pix_fmt, 2, 2).depth
    return "gray" if depth == 8 else f"gray{depth}le"


def finish(motion: Stream, original: Optional[Stream], look: Look, pix_fmt: str) -> Stream:
    """Everything done to the compared picture: gain, trail, overlay, gray (in that order)."""
    layout = plane_layout(pix_fmt, 2, 2)
    top = layout.max_value
    base = neutrals(pix_fmt, look.blend)
    if look.gain != 1:
        p, q = look.gain.numerator, look.gain.denominator
        motion = _lut(motion, tuple(f"clip({n}+round((val-{n})*{p}/{q}),0,{top})" for n in base),
                      pix_fmt)
    if look.threshold:
        half = 1 << (layout.depth - 1)
        chroma = [_is_yuv(pix_fmt) and p > 0 for p in range(len(base))]
        if look.threshold_on == "original":
            if original is None:
                raise ValueError("threshold_on original needs the original picture")
            exprs = tuple("y" if c else _matte_mix(look, n, top) for c, n in zip(chroma, base))
            return _finish_gray(ffmpeg.filter([motion, original], "lut2", shortest=1,
                                              **{f"c{i}": e for i, e in enumerate(exprs)}),
                                look, pix_fmt)
        motion = _lut(motion, tuple(str(half) if c else matte_expr(look, "val", n, top)
                                    for c, n in zip(chroma, base)), pix_fmt)
        base = tuple(half if c else 0 for c in chroma)
    if look.trail:
        motion = _trail(motion, look, pix_fmt, base)
    weight = look.overlay_weight
    if weight:
        if original is None:
            raise ValueError("overlay needs the original picture")
        motion = ffmpeg.filter([motion, original], "blend", all_mode="normal",
                               all_opacity=_float_text(weight / OVERLAY_STEPS), shortest=1)
    if look.glow_weight:
        if original is None:
            raise ValueError("glow needs the original picture")
        motion = _glow(motion, original, look, pix_fmt, base)
    return _finish_gray(motion, look, pix_fmt)


def _finish_gray(motion: Stream, look: Look, pix_fmt: str) -> Stream:
    if look.gray and _is_yuv(pix_fmt):
        half = 1 << (plane_layout(pix_fmt, 2, 2).depth - 1)
        motion = _lut(motion, ("val", str(half), str(half)), pix_fmt)
    return motion


def matte_expr(look: Look, var: str, neutral: int, top: int) -> str:
    """The matte of the value ``var`` (an ffmpeg expression: 0..top), see the module notes."""
    t, deviation = look.threshold, f"abs({var}-{neutral})"
    if look.threshold_edge == "hard":
        return f"if(gt({deviation},{t}),{top},0)"
    w = look.threshold_width
    return f"clip(floor((({deviation}-{t})*{2 * top}+{w})/{2 * w}),0,{top})"


def _matte_mix(look: Look, neutral: int, top: int) -> str:
    """``lut2`` expression: motion x over original y through the matte of x."""
    if look.threshold_edge == "hard":
        return f"if(gt(abs(x-{neutral}),{look.threshold}),x,y)"
    m = matte_expr(look, "x", neutral, top)
    return f"floor(((x*{m}+y*({top}-{m}))*2+{top})/{2 * top})"


def _glow(motion: Stream, original: Stream, look: Look, pix_fmt: str, base: tuple[int, ...]) -> Stream:
    w = look.glow_weight
    energy = _lut(motion, tuple(f"abs(val-{n})" for n in base), pix_fmt)
    if look.glow_radius:
        energy = energy.filter("avgblur", sizeX=look.glow_radius)
    energy = _lut(energy, (f"floor(val*{w}/{OVERLAY_STEPS})",) * len(base), pix_fmt)
    mode = "addition" if look.glow_mode == "add" else "screen"
    if _is_yuv(pix_fmt):
        modes = {"c0_mode": mode, "c1_mode": "normal", "c2_mode": "normal"}
    else:
        modes = {"all_mode": mode}
    return ffmpeg.filter([original, energy], "blend", **modes, shortest=1)


def needs_original(look: Look) -> bool:
    """Whether :func:`finish` needs the unprocessed frame i."""
    return look.overlay_weight > 0 or look.glow_weight > 0 or (
        look.threshold > 0 and look.threshold_on == "original")


def _trail(motion: Stream, look: Look, pix_fmt: str, base: tuple[int, ...]) -> Stream:
    decay = _float_text(look.trail)
    if not any(base):  # black is neutral on every plane: lagfun's max() is the trail itself
        return motion.filter("lagfun", decay=decay)
    top = plane_layout(pix_fmt, 2, 2).max_value
    halves = motion.split()
    above = _lut(halves[0], tuple(f"clip(val-{n},0,{top})" for n in base), pix_fmt)
    below = _lut(halves[1], tuple(f"clip({n}-val,0,{top})" for n in base), pix_fmt)
    above = above.filter("lagfun", decay=decay)
    below = below.filter("lagfun", decay=decay)
    if all(n == (top + 1) >> 1 for n in base):
        # grainextract neutral on every plane: half + P - M, never clipped
        return ffmpeg.filter([above, below], "blend", all_mode="grainextract")
    if all(n == top >> 1 for n in base):
        # n + P - M = max - (half + M - P): grainextract never clips here (M <= n, P <= max - n)
        return ffmpeg.filter([below, above], "blend", all_mode="grainextract").filter("negate")
    # difference in YUV: luma neutral 0 (P alone: P + 0), chroma neutral half (half + P - M)
    return ffmpeg.filter([above, below], "blend", c0_mode="addition", c1_mode="grainextract",
                         c2_mode="grainextract")


def _lut(stream: Stream, exprs: tuple[str, ...], pix_fmt: str) -> Stream:
    """``lut`` with one expression per plane, exact in every working format.

    ``lut`` clips gray and RGB above 8 bits to ``255 << (depth - 8)`` (1020 at 10 bits, on
    5.1 and 9.0; its YUV path is right), so there the planes are relabelled as YUV 4:4:4
    with ``mergeplanes`` (a copy, no conversion), run through ``lut``, and relabelled back.
    """
    layout = plane_layout(pix_fmt, 2, 2)
    if _is_yuv(pix_fmt) or layout.depth == 8:
        return stream.filter("lut", **{f"c{i}": e for i, e in enumerate(exprs)})
    yuv = f"yuv444p{layout.depth}le"
    if pix_fmt.startswith("gray"):
        as_yuv = stream.filter("mergeplanes", format=yuv, map0s=0, map0p=0, map1s=0, map1p=0,
                               map2s=0, map2p=0)
        return as_yuv.filter("lut", c0=exprs[0]).filter("extractplanes", "y")
    same = {"map0s": 0, "map0p": 0, "map1s": 0, "map1p": 1, "map2s": 0, "map2p": 2}
    as_yuv = stream.filter("mergeplanes", format=yuv, **same)
    done = as_yuv.filter("lut", **{f"c{i}": e for i, e in enumerate(exprs)})
    return done.filter("mergeplanes", format=pix_fmt, **same)
