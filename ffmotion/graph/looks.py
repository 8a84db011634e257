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

# A steerable graph (``steer=True``, :mod:`ffmotion.graph.steer`) names the filters whose
# options change while ffmpeg runs: ``lut@ffm_gain``... (one instance each: ffmpeg's zmq filter
# sends a command to the first filter of that name). A plain graph names none.
GAIN, BLUR, THRESHOLD, TRAIL, TRAIL_BELOW, OVERLAY, GLOW, GLOW_BLUR = (
    "ffm_gain", "ffm_blur", "ffm_threshold", "ffm_trail", "ffm_trail2", "ffm_overlay",
    "ffm_glow", "ffm_glowblur")


def named(filter_name: str, instance: Optional[str]) -> str:
    """``filter_name`` with an instance name (``lut@ffm_gain``), or alone (None)."""
    return f"{filter_name}@{instance}" if instance else filter_name


def blur_args(radius: int) -> dict[str, int]:
    """The steerable ``avgblur``'s options for a blur of ``radius`` (0: no plane filtered).
    Both sizes are given: avgblur resolves ``sizeY=0`` (same as X) once, when it starts."""
    size = max(radius, 1)
    return {"sizeX": size, "sizeY": size, "planes": 15 if radius else 0}


def convert(stream: Stream, look: Look, pix_fmt: str) -> Stream:
    """The conversion into ``pix_fmt`` when the look needs RGB or gray, with fixed swscale
    flags (``pix_fmt`` comes from :func:`ffmotion.core.looks.working_format`); other looks convert nothing."""
    if look.rgb_offsets is not None or (look.gray and pix_fmt.startswith("gray")):
        stream = stream.filter("scale", flags=SWS_FLAGS)
    return stream


def prepare(stream: Stream, look: Look, steer: bool = False) -> Stream:
    """Per-frame work done to every frame before it is compared (denoise, blur).

    A strategy that feeds the two branches from separate sources applies it to each.
    ``steer``: the blur is always there, named (no plane filtered while it is 0).
    """
    if look.denoise:
        stream = stream.filter(look.denoise)
    if steer:
        stream = stream.filter(named("avgblur", BLUR), **blur_args(look.blur))
    elif look.blur:
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


def gain_exprs(look: Look, pix_fmt: str) -> tuple[str, ...]:
    """The gain's ``lut`` expressions, one per plane."""
    top = plane_layout(pix_fmt, 2, 2).max_value
    p, q = look.gain.numerator, look.gain.denominator
    return tuple(f"clip({n}+round((val-{n})*{p}/{q}),0,{top})"
                 for n in neutrals(pix_fmt, look.blend))


def threshold_exprs(look: Look, pix_fmt: str) -> tuple[str, ...]:
    """The matte's ``lut`` expressions (``threshold_on="black"``) or ``lut2`` expressions
    (``"original"``), one per plane."""
    layout = plane_layout(pix_fmt, 2, 2)
    top, half = layout.max_value, 1 << (layout.depth - 1)
    base = neutrals(pix_fmt, look.blend)
    chroma = [_is_yuv(pix_fmt) and p > 0 for p in range(len(base))]
    if look.threshold_on == "original":
        return tuple("y" if c else _matte_mix(look, n, top) for c, n in zip(chroma, base))
    return tuple(str(half) if c else matte_expr(look, "val", n, top)
                 for c, n in zip(chroma, base))


def overlay_opacity(look: Look) -> str:
    """``blend``'s ``all_opacity`` for the overlay."""
    return _float_text(look.overlay_weight / OVERLAY_STEPS)


def glow_exprs(look: Look, pix_fmt: str) -> tuple[str, ...]:
    """The glow strength's ``lut`` expressions, one per plane."""
    planes = len(neutrals(pix_fmt, look.blend))
    return (f"floor(val*{look.glow_weight}/{OVERLAY_STEPS})",) * planes


def finish(motion: Stream, original: Optional[Stream], look: Look, pix_fmt: str,
           steer: bool = False) -> Stream:
    """Everything done to the compared picture: gain, trail, overlay, gray (in that order).

    ``steer``: the filters are named (:data:`GAIN`...) and the gain is there even at 1."""
    layout = plane_layout(pix_fmt, 2, 2)
    base = neutrals(pix_fmt, look.blend)
    name = (lambda instance: instance) if steer else (lambda instance: None)
    if look.gain != 1 or steer:
        motion = _lut(motion, gain_exprs(look, pix_fmt), pix_fmt, name(GAIN))
    if look.threshold:
        half = 1 << (layout.depth - 1)
        chroma = [_is_yuv(pix_fmt) and p > 0 for p in range(len(base))]
        exprs = threshold_exprs(look, pix_fmt)
        if look.threshold_on == "original":
            if original is None:
                raise ValueError("threshold_on original needs the original picture")
            return _finish_gray(ffmpeg.filter([motion, original], named("lut2", name(THRESHOLD)),
                                              shortest=1,
                                              **{f"c{i}": e for i, e in enumerate(exprs)}),
                                look, pix_fmt)
        motion = _lut(motion, exprs, pix_fmt, name(THRESHOLD))
        base = tuple(half if c else 0 for c in chroma)
    if look.trail:
        motion = _trail(motion, look, pix_fmt, base, steer)
    weight = look.overlay_weight
    if weight:
        if original is None:
            raise ValueError("overlay needs the original picture")
        motion = ffmpeg.filter([motion, original], named("blend", name(OVERLAY)),
                               all_mode="normal", all_opacity=overlay_opacity(look), shortest=1)
    if look.glow_weight:
        if original is None:
            raise ValueError("glow needs the original picture")
        motion = _glow(motion, original, look, pix_fmt, base, steer)
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


def _glow(motion: Stream, original: Stream, look: Look, pix_fmt: str, base: tuple[int, ...],
          steer: bool = False) -> Stream:
    energy = _lut(motion, tuple(f"abs(val-{n})" for n in base), pix_fmt)
    if look.glow_radius:
        energy = energy.filter(named("avgblur", GLOW_BLUR if steer else None),
                               sizeX=look.glow_radius)
    energy = _lut(energy, glow_exprs(look, pix_fmt), pix_fmt, GLOW if steer else None)
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


def _trail(motion: Stream, look: Look, pix_fmt: str, base: tuple[int, ...],
           steer: bool = False) -> Stream:
    decay = _float_text(look.trail)
    if not any(base):  # black is neutral on every plane: lagfun's max() is the trail itself
        return motion.filter(named("lagfun", TRAIL if steer else None), decay=decay)
    top = plane_layout(pix_fmt, 2, 2).max_value
    halves = motion.split()
    above = _lut(halves[0], tuple(f"clip(val-{n},0,{top})" for n in base), pix_fmt)
    below = _lut(halves[1], tuple(f"clip({n}-val,0,{top})" for n in base), pix_fmt)
    above = above.filter(named("lagfun", TRAIL if steer else None), decay=decay)
    below = below.filter(named("lagfun", TRAIL_BELOW if steer else None), decay=decay)
    if all(n == (top + 1) >> 1 for n in base):
        # grainextract neutral on every plane: half + P - M, never clipped
        return ffmpeg.filter([above, below], "blend", all_mode="grainextract")
    if all(n == top >> 1 for n in base):
        # n + P - M = max - (half + M - P): grainextract never clips here (M <= n, P <= max - n)
        return ffmpeg.filter([below, above], "blend", all_mode="grainextract").filter("negate")
    # difference in YUV: luma neutral 0 (P alone: P + 0), chroma neutral half (half + P - M)
    return ffmpeg.filter([above, below], "blend", c0_mode="addition", c1_mode="grainextract",
                         c2_mode="grainextract")


def _lut(stream: Stream, exprs: tuple[str, ...], pix_fmt: str,
         instance: Optional[str] = None) -> Stream:
    """``lut`` with one expression per plane, exact in every working format.

    ``lut`` clips gray and RGB above 8 bits to ``255 << (depth - 8)`` (1020 at 10 bits, on
    5.1 and 9.0; its YUV path is right), so there the planes are relabelled as YUV 4:4:4
    with ``mergeplanes`` (a copy, no conversion), run through ``lut``, and relabelled back.
    """
    layout = plane_layout(pix_fmt, 2, 2)
    if _is_yuv(pix_fmt) or layout.depth == 8:
        return stream.filter(named("lut", instance), **{f"c{i}": e for i, e in enumerate(exprs)})
    yuv = f"yuv444p{layout.depth}le"
    if pix_fmt.startswith("gray"):
        as_yuv = stream.filter("mergeplanes", format=yuv, map0s=0, map0p=0, map1s=0, map1p=0,
                               map2s=0, map2p=0)
        return as_yuv.filter(named("lut", instance), c0=exprs[0]).filter("extractplanes", "y")
    same = {"map0s": 0, "map0p": 0, "map1s": 0, "map1p": 1, "map2s": 0, "map2p": 2}
    as_yuv = stream.filter("mergeplanes", format=yuv, **same)
    done = as_yuv.filter(named("lut", instance), **{f"c{i}": e for i, e in enumerate(exprs)})
    return done.filter("mergeplanes", format=pix_fmt, **same)
