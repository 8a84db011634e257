"""Steering a running graph: which look changes ffmpeg can make while it runs, as commands.

A steerable plan (``Plan.steer``: the address of its ``zmq`` filter) builds the same graph
with its look's filters named (``lut@ffm_gain``, see :mod:`ffmotion.graph.looks`) and the
gain and blur always present (a gain of 1 is the identity ``lut``, a blur of 0 an ``avgblur``
that filters no plane), so that these change while frames flow:

======================================  ========  ==========================================
parameter                               how       ffmpeg
======================================  ========  ==========================================
gain                                    running   ``lut@ffm_gain`` ``c0..c2``
blur                                    running   ``avgblur@ffm_blur`` ``sizeX/Y``, ``planes``
threshold, threshold-edge, -width       running   ``lut@ffm_threshold`` (``lut2`` over the
                                                  original) ``c0..c2``: while T stays > 0
trail                                   running   ``lagfun@ffm_trail(2)`` ``decay``: while > 0
overlay                                 running   ``blend@ffm_overlay`` ``all_opacity``: > 0
glow, glow-radius                       running   ``lut@ffm_glow``, ``avgblur@ffm_glowblur``
offset, mode, look, denoise, gray,      restart   the graph's shape changes (``trim``, the
rgb-offsets, threshold-on, glow-mode,             blend, filters added or removed)
a strength from 0 or to 0
======================================  ========  ==========================================

Pure: looks in, ``zmq`` messages (``TARGET COMMAND ARG``) out; :func:`commands` returns None
when the change needs a new graph.
"""
from __future__ import annotations

from dataclasses import replace
from fractions import Fraction
from typing import Optional

from ffmotion.core.looks import DEFAULT_THRESHOLD_WIDTH, Look, _float_text, _is_yuv, neutrals
from ffmotion.graph import looks

# the look fields a running graph can change (while the strengths stay above 0)
RUNNING = ("gain", "blur", "threshold", "threshold_edge", "threshold_width", "trail",
           "overlay", "glow", "glow_radius")


def shape(look: Look) -> Look:
    """``look`` with every running field set to a stand-in: two looks of the same shape
    have the same graph, only the running fields' options differ."""
    return replace(
        look, gain=Fraction(1), blur=0,
        threshold=1 if look.threshold else 0, threshold_edge="hard",
        threshold_width=DEFAULT_THRESHOLD_WIDTH,
        trail=0.5 if look.trail else 0.0,
        overlay=0.5 if look.overlay_weight else 0.0,
        glow=0.5 if look.glow_weight else 0.0,
        glow_radius=1 if look.glow_radius and look.glow_weight else (
            0 if look.glow_weight else look.glow_radius))


def _planes(target: str, exprs: tuple[str, ...]) -> list[str]:
    return [f"{target} c{i} {expr}" for i, expr in enumerate(exprs)]


def _two_trails(look: Look, pix_fmt: str) -> bool:
    """Whether the trail runs as two ``lagfun`` (deviations above and below a neutral > 0)."""
    base = neutrals(pix_fmt, look.blend)
    if look.threshold:
        base = tuple(1 if (_is_yuv(pix_fmt) and p > 0) else 0 for p in range(len(base)))
    return any(base)


def commands(old: Look, new: Look, pix_fmt: str) -> Optional[list[str]]:
    """The ``zmq`` messages that turn a running steerable graph of ``old`` into ``new``
    (``pix_fmt``: its working format); None when the graph's shape changes (a restart)."""
    if shape(old) != shape(new):
        return None
    sent: list[str] = []
    if old.gain != new.gain:
        sent += _planes(f"lut@{looks.GAIN}", looks.gain_exprs(new, pix_fmt))
    if old.blur != new.blur:
        args = looks.blur_args(new.blur)
        sent += [f"avgblur@{looks.BLUR} {key} {value}" for key, value in args.items()]
    if new.threshold and (old.threshold, old.threshold_edge, old.threshold_width) != (
            new.threshold, new.threshold_edge, new.threshold_width):
        kind = "lut2" if new.threshold_on == "original" else "lut"
        sent += _planes(f"{kind}@{looks.THRESHOLD}", looks.threshold_exprs(new, pix_fmt))
    if new.trail and old.trail != new.trail:
        decay = _float_text(new.trail)
        sent.append(f"lagfun@{looks.TRAIL} decay {decay}")
        if _two_trails(new, pix_fmt):
            sent.append(f"lagfun@{looks.TRAIL_BELOW} decay {decay}")
    if new.overlay_weight and old.overlay_weight != new.overlay_weight:
        sent.append(f"blend@{looks.OVERLAY} all_opacity {looks.overlay_opacity(new)}")
    if new.glow_weight and old.glow_weight != new.glow_weight:
        sent += _planes(f"lut@{looks.GLOW}", looks.glow_exprs(new, pix_fmt))
    if new.glow_weight and new.glow_radius and old.glow_radius != new.glow_radius:
        sent += [f"avgblur@{looks.GLOW_BLUR} {key} {new.glow_radius}" for key in ("sizeX", "sizeY")]
    return sent


__all__ = ["RUNNING", "commands", "shape"]
