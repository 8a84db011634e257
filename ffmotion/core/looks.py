"""Looks: how the two frames are combined, and what is done to the picture before and after.

A :class:`Look` is pure data (held by :class:`ffmotion.core.request.MotionSpec`); its ffmpeg filter
chains are built by :mod:`ffmotion.graph.looks`, for :func:`ffmotion.graph.motion_video`
(this module names no filter and imports neither ffmpeg-python nor the graph). Every chain was
chosen so that its pixels follow an exact definition, checked against numpy over all input
values (8-bit 256x256, 10-bit 1024x1024 pairs) on ffmpeg 5.1 and 9.0 with SIMD on and off
(``benchmarks/verify_looks.py``); :mod:`tests.reference` implements the same definitions.

Per plane, with ``max = 2**depth - 1`` and ``half = 2**(depth-1)``:

* ``blend="average"`` (classic): ``(a + max - b) >> 1``. Neutral (static) value ``max >> 1``
  (127 at 8 bits, 511 at 10) on every plane.
* ``blend="difference"``: ``|a - b|`` on luma, gray and RGB planes (neutral 0: black);
  YUV chroma is ``clip(a - b + half)`` (neutral ``half``: no colour; a plain ``|a - b|``
  would put chroma at 0 and turn the picture green). ffmpeg: ``blend`` modes ``difference``
  and ``grainextract``.
* ``blend="grainextract"``: ``clip(a - b + half, 0, max)`` on every plane (neutral exactly
  ``half``: 128 at 8 bits, 512 at 10), twice the contrast of ``average``. ffmpeg: ``blend``
  ``all_mode=grainextract``.
* ``denoise``: ``"hqdn3d"`` or ``"atadenoise"`` (ffmpeg's temporal denoisers, default
  settings) run on every frame in the working format before the blur and the comparison; the
  reference takes this stage's output from ffmpeg (no numpy model).
* ``blur=R``: both frames get a (2R+1)x(2R+1) box average before they are compared: edges
  replicated, ``floor(sum / area)``. ffmpeg ``avgblur`` clamps R to half the chroma plane's
  width (height), and so does the reference.
* ``gain=X``: ``clip(n + round((v - n) * X))`` with ``n`` the plane's neutral value and
  ``round`` halves away from zero, so gray stays gray and + and - deviations stay symmetric.
  X has at most 3 decimals (exact rational arithmetic in ffmpeg's ``lut``).
* ``threshold=T`` (a matte, applied after the gain): with ``d = |v - n|`` on luma, gray and
  RGB planes, the matte is ``m = max`` where ``d > T`` else 0 (``threshold_edge="hard"``), or
  a linear ramp of width W (``"soft"``, ``threshold_width``):
  ``m = clip(floor(((d - T) * 2 * max + W) / (2 * W)), 0, max)`` (0 up to T, ``max`` from
  T + W on). ``threshold_on="black"``: the picture is the matte (YUV chroma ``half``, a gray
  matte); ffmpeg: one ``lut`` per plane. ``threshold_on="original"``: the motion shown over the
  original frame i where it passes the threshold,
  ``floor(((v * m + o * (max - m)) * 2 + max) / (2 * max))`` (exactly v or o with a hard edge);
  YUV chroma is the original's; ffmpeg: ``lut2`` of the motion and the original.
* ``trail=D``: a fading trace. The deviation from neutral is split into ``P = max(v - n, 0)``
  and ``M = max(n - v, 0)``; each goes through ffmpeg's ``lagfun``:
  ``s = max(x, s_prev * D)`` in float32 (``s`` starts at 0), output ``rint(s)`` (halves to
  even); the result is ``n + P' - M'``. D is used as the float32 nearest to it.
* ``overlay=S``: ``(m * w + o * (256 - w)) >> 8`` with ``w = floor(S * 256 + 1/2)``, ``m`` the
  motion picture and ``o`` the original frame i (unblurred): S is used in steps of 1/256,
  which makes ``blend``'s float arithmetic exact.
* ``glow=S`` with ``glow_radius=R`` (Posy's glow, in place of ``overlay``): the motion's
  deviation ``e = |v - n|`` (luma, gray and RGB planes) is box-blurred with radius R (as
  ``blur``), scaled to ``g = floor(e_b * w / 256)`` with ``w = floor(S * 256 + 1/2)`` and
  added to the original frame, ``clip(o + g, 0, max)`` (``glow_mode="add"``), or screened
  over it, ``max - floor((max - o) * (max - g) / max)`` (``"screen"``: never clips, softer on
  bright areas); YUV chroma is the original's. ffmpeg: ``lut``, ``avgblur``, ``lut``,
  ``blend`` ``addition`` or ``screen`` (chroma ``normal``: the original's plane).
* ``gray``: YUV chroma set to ``half`` (no colour) at the very end; an RGB input is
  converted to gray (ffmpeg's own RGB->gray conversion) before anything else.
* ``rgb_offsets``: the picture is converted to planar RGB (``gbrp``, same depth; ffmpeg's own
  conversion) and each of red, green and blue is compared over its own offset.

Order: convert, denoise, blur, compare, gain, threshold, trail, overlay or glow, gray.
(``threshold_on="original"`` ends the chain after the threshold, but for gray: it already
shows the original, so trail, overlay and glow are refused with it.)
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass, fields, replace
from dataclasses import field as dataclass_field
from fractions import Fraction
from typing import Any, Callable, Literal, Optional, Sequence, Union

from ffmotion.core import numbers
from ffmotion.core.errors import UsageError, field
from ffmotion.core.pixfmt import plane_layout
from ffmotion.core.units import FramesOrTime

Blend = Literal["average", "difference", "grainextract"]
BLENDS: tuple[Blend, ...] = ("average", "difference", "grainextract")
Edge = Literal["hard", "soft"]
EDGES: tuple[Edge, ...] = ("hard", "soft")
MatteOn = Literal["black", "original"]
MATTE_ON: tuple[MatteOn, ...] = ("black", "original")
GlowMode = Literal["add", "screen"]
GLOW_MODES: tuple[GlowMode, ...] = ("add", "screen")
DEFAULT_THRESHOLD_WIDTH = 8
DEFAULT_GLOW_RADIUS = 8
MAX_GAIN = 100
GAIN_DECIMALS = 3
MAX_BLUR = 1024  # avgblur's limit
OVERLAY_STEPS = 256
DENOISERS = ("hqdn3d", "atadenoise")
MAX_THRESHOLD = 1022  # |v - n| is at most 1023 - 1 at 10 bits with a nonzero neutral
_MULTIPLE = re.compile(r"^\s*(\d+(?:\.\d*)?|\.\d+)\s*x\s*$", re.IGNORECASE)
_SWITCH_WORDS = {"true": True, "1": True, "yes": True, "on": True,
                 "false": False, "0": False, "no": False, "off": False}


@dataclass(frozen=True)
class ChannelOffset:
    """One channel's offset in ``--rgb-offsets``: frames (``6``), a duration (``0.2s``), or a
    multiple of the ``--offset``/``--freeze`` value (``2x``, ``0.5x``)."""

    text: str
    multiple: Optional[Fraction] = None
    offset: Optional[FramesOrTime] = None

    @classmethod
    def parse(cls, value: Union[str, int, "ChannelOffset"]) -> "ChannelOffset":
        if isinstance(value, ChannelOffset):
            return value
        text = numbers.text(value, "offset")
        match = _MULTIPLE.match(text)
        if match:
            return cls(text=text, multiple=Fraction(match.group(1)))
        return cls(text=text, offset=FramesOrTime.offset(text, "rgb_offsets"))

    def to_frames(self, base: int, fps: Fraction) -> int:
        """Frames at ``fps``; a multiple of ``base`` frames rounds to the nearest (halves up)."""
        if self.multiple is not None:
            return math.floor(self.multiple * base + Fraction(1, 2))
        assert self.offset is not None
        return self.offset.to_frames(fps)


ChannelOffsets = tuple[ChannelOffset, ChannelOffset, ChannelOffset]


def parse_rgb_offsets(value: Union[str, Sequence[Any]]) -> ChannelOffsets:
    """``"1,2,3"``, ``"0.1s,0.2s,0.3s"`` or ``"1x,2x,4x"`` (red, green, blue)."""
    parts = value.split(",") if isinstance(value, str) else list(value)
    if len(parts) != 3:
        raise UsageError(f"{field('rgb_offsets')} needs three offsets R,G,B (like 2,4,8 or "
                         f"1x,2x,3x), not {value!r}")
    try:
        red, green, blue = (ChannelOffset.parse(part) for part in parts)
    except UsageError as exc:
        raise UsageError(f"{field('rgb_offsets')}: {exc}") from None
    return red, green, blue


def parse_gain(value: Union[str, int, float, Fraction]) -> Fraction:
    """A gain as an exact fraction: 0 < gain <= 100, at most 3 decimals."""
    if isinstance(value, bool):
        raise UsageError(f"{field('gain')} must be a number, not {value!r}")
    if isinstance(value, float):
        if not math.isfinite(value):
            raise UsageError(f"{field('gain')} must be a finite number, not {value}")
        value = repr(value)
    if isinstance(value, str):
        gain = numbers.ratio(value, field("gain"), "a number like 2 or 3.5")
    else:
        try:
            gain = Fraction(value)
        except (TypeError, ValueError, ZeroDivisionError):
            raise UsageError(f"{field('gain')} must be a number like 2 or 3.5, not "
                             f"{value!r}") from None
    _check_gain(gain, value)
    return gain


def _check_gain(gain: Union[int, Fraction], shown: object) -> None:
    if not 0 < gain <= MAX_GAIN:
        raise UsageError(f"{field('gain')} must be more than 0 and at most {MAX_GAIN}, not "
                         f"{shown}")
    if (gain * 10**GAIN_DECIMALS).denominator != 1:
        raise UsageError(f"{field('gain')} {shown}: use at most {GAIN_DECIMALS} decimals")


def _parse_unit(name: str) -> Callable[[Any], Any]:
    """A strength or decay from 0 to 1: text (``"0.9"``) or a number, as a float."""
    def parse(value: Any) -> Any:
        try:
            number = numbers.real(value, field(name)) if isinstance(value, str) else float(value)
        except (TypeError, ValueError, OverflowError, UsageError):
            number = math.nan
        if isinstance(value, bool) or not math.isfinite(number) or not 0 <= number <= 1:
            raise UsageError(f"{field(name)} must be a number from 0 to 1, not "
                             f"{numbers.value_text(value)}")
        return number
    return parse


def _parse_whole(name: str) -> Callable[[Any], Any]:
    """A whole number: text (``"3"``) or an int (anything else is left to the check)."""
    def parse(value: Any) -> Any:
        return numbers.whole(value, field(name)) if isinstance(value, str) else value
    return parse


def _parse_switch(value: Any) -> Any:
    """True or False; text ``true``/``false``, ``1``/``0``, ``yes``/``no``, ``on``/``off``."""
    if isinstance(value, str):
        return _SWITCH_WORDS.get(value.strip().lower(), value)
    return value


def _parse_word(value: Any) -> Any:
    """A word of a fixed set (checked by the Look)."""
    return value


# -- the one table of a look's fields ------------------------------------------------------
#
# Each field of :class:`Look` is declared once, below, with everything the fronts need: the
# command line's flag (ffmotion.cli.options), the TOML preset key and its type
# (ffmotion.pipeline.presets), the preview's query parameter and its parsing
# (ffmotion.preview.query/session) and the page's control (served as JSON, drawn by app.js).
# ``kind`` says how a field is typed: "choice" a word of ``choices``, "exact" a number kept
# exact (the gain), "whole" a whole number, "unit" a number from 0 to 1, "switch" on or off,
# "text" offsets written R,G,B.

Kind = Literal["choice", "exact", "whole", "unit", "switch", "text"]


# The page's control of a field, as the page gets it (JSON; its id is the query parameter):
# kind ("number", "select", "checkbox" or "text"), label, and min/max/step, size, placeholder,
# empty (a select's label for "", none chosen) where they apply.
Control = dict[str, Any]


class LookField:
    """One field of :class:`Look` as every front spells it (see the table above). A plain
    class: built once per field at import and compared by identity (a dataclass would cost
    every start-up its code generation)."""

    __slots__ = ("name", "default", "kind", "help", "control", "metavar", "choices",
                 "flag_name", "query_name", "auto", "example", "shown_if")

    def __init__(self, name: str, default: Any, kind: Kind, help: str, control: Control,
                 metavar: Optional[str] = None, choices: tuple[str, ...] = (),
                 flag_name: Optional[str] = None, query_name: Optional[str] = None,
                 auto: bool = False, example: Optional[str] = None,
                 shown_if: Optional[Callable[["Look"], bool]] = None) -> None:
        self.name = name
        self.default = default
        self.kind = kind
        self.help = help
        self.control = control
        self.metavar = metavar
        self.choices = choices
        self.flag_name = flag_name  # the long flag without ``--`` (default: name, dashed)
        self.query_name = query_name  # the preview's parameter (default: name)
        self.auto = auto  # the command line also takes "auto" (measured on the input)
        self.example = example  # a value, for messages (a choice's: a word not the default)
        # when :meth:`Look.flags` shows the field (default: when it is not the default)
        self.shown_if = shown_if

    def __repr__(self) -> str:
        return f"LookField({self.name!r}, {self.kind!r})"

    @property
    def key(self) -> str:
        """The TOML preset key: the flag's long name."""
        return self.flag_name or self.name.replace("_", "-")

    @property
    def flag(self) -> str:
        return "--" + self.key

    @property
    def query(self) -> str:
        return self.query_name or self.name

    def parse(self, value: Any) -> Any:
        """``value`` as typed (text or a number) -> the field's value (checked by Look)."""
        if self.kind == "exact":
            return parse_gain(value)
        if self.kind == "text":
            return None if value is None else parse_rgb_offsets(value)
        if self.kind == "unit":
            return _parse_unit(self.name)(value)
        if self.kind == "whole":
            return _parse_whole(self.name)(value)
        if self.kind == "switch":
            return _parse_switch(value)
        return _parse_word(value)

    def shown(self, look: "Look") -> bool:
        """Whether :meth:`Look.flags` shows this field of ``look``."""
        if self.shown_if is not None:
            return self.shown_if(look)
        return getattr(look, self.name) != self.default

    def text(self, look: "Look") -> Optional[str]:
        """The field's value as its flag takes it (None: a switch)."""
        value = getattr(look, self.name)
        if self.kind == "switch":
            return None
        if self.kind == "exact":
            return _fraction_text(value)
        if self.kind == "text":
            return ",".join(c.text for c in value)
        if self.kind == "unit":
            return _float_text(value)
        return str(value)

    def page_value(self, look: "Look") -> Any:
        """The field's value as the page's control shows it."""
        value = getattr(look, self.name)
        if self.kind == "exact":
            return f"{float(value):g}"
        if self.kind == "text":
            return ",".join(c.text for c in value) if value else ""
        return value

    def control_json(self) -> dict[str, Any]:
        """The page's control, for app.js to draw."""
        out: dict[str, Any] = {"id": self.query, **self.control}
        empty = out.pop("empty", None)
        if out["kind"] == "select":
            out["options"] = ([["", empty]] if empty is not None else []) \
                + [[choice, choice] for choice in self.choices]
        out["value"] = self.page_value(Look())
        return out


def _look_field(default: Any, kind: Kind, help: str, control: Control, **spec: Any) -> Any:
    """A :class:`Look` dataclass field declared with its :class:`LookField` spec."""
    return dataclass_field(default=default, metadata={"look": (kind, help, control, spec)})


def _after_threshold(look: "Look") -> bool:
    return bool(look.threshold)


def _after_glow(look: "Look") -> bool:
    return bool(look.glow_weight)


@dataclass(frozen=True)
class Look:
    """What the picture looks like. The default is the classic 50% gray blend.

    ``blend``: ``"average"``, ``"difference"`` or ``"grainextract"``; ``gain``:
    amplification of the deviation from neutral (1: none); ``denoise``: a temporal denoiser
    first; ``blur``: box radius in pixels (0: none); ``gray``: no colour; ``rgb_offsets``:
    red, green, blue offsets (None: all channels use the offset); ``threshold`` (and its
    edge, width and ``threshold_on``): a matte; ``trail``: decay of the motion trails,
    0 < D <= 1 (0: none); ``overlay``: strength of the motion laid over the original, 0 to 1
    (0: none); ``glow`` (``glow_radius``, ``glow_mode``): Posy's glow. See the module
    docstring for the exact definitions.

    The fields hold typed values and are only checked here; :meth:`parse` reads them from
    text (``gain="2.5"``, ``rgb_offsets="1,2,3"``, ``trail="0.9"``). Each field is declared
    once, with its flag, preset key, preview parameter and page control (:data:`FIELDS`).
    """

    blend: Blend = _look_field(
        "average", "choice",
        "average: the classic gray blend (default); difference: |a-b| on black; "
        "grainextract: a-b+half (mid-gray neutral, twice the contrast)",
        {"kind": "select", "label": "mode"}, choices=BLENDS, flag_name="mode")
    gain: Fraction = _look_field(
        Fraction(1), "exact",
        "amplify the deviation from neutral gray (black in difference mode) X times, e.g. 4; "
        "gray stays gray",
        {"kind": "number", "label": "gain", "min": 0.001, "max": MAX_GAIN, "step": 0.5},
        metavar="X")
    denoise: str = _look_field(
        "", "choice",
        "a temporal denoiser on every frame before comparing (against sensor and compression "
        "noise at small K)",
        {"kind": "select", "label": "denoise", "empty": "none"}, choices=DENOISERS)
    blur: int = _look_field(
        0, "whole",
        "box-blur both frames (radius R pixels) before comparing: large movements stand out, "
        "sensor noise fades",
        {"kind": "number", "label": "blur", "min": 0, "max": MAX_BLUR, "step": 1}, metavar="R")
    gray: bool = _look_field(
        False, "switch", "luminance only (no colour)", {"kind": "checkbox", "label": "gray"})
    rgb_offsets: Optional[ChannelOffsets] = _look_field(
        None, "text",
        "colour motion: red, green and blue each use their own offset, in frames (1,2,4), "
        "time (0.1s,...) or multiples of --offset (1x,2x,3x)",
        {"kind": "text", "label": "rgb offsets", "placeholder": "e.g. 1x,2x,3x", "size": 10},
        metavar="R,G,B", query_name="rgb", example="1,2,3")
    threshold: int = _look_field(
        0, "whole",
        "a matte: white where the motion deviates from neutral by more than T levels (after "
        "--gain), black elsewhere; auto: just above the clip's noise floor, measured on its "
        "first frames",
        {"kind": "number", "label": "threshold", "min": 0, "max": MAX_THRESHOLD, "step": 1},
        metavar="T|auto",
        auto=True)
    threshold_edge: Edge = _look_field(
        "hard", "choice",
        "hard (default): all or nothing at T; soft: a linear ramp from T to T + "
        "--threshold-width",
        {"kind": "select", "label": "edge"}, choices=EDGES,
        shown_if=lambda look: bool(look.threshold) and look.threshold_edge != "hard")
    threshold_width: int = _look_field(
        DEFAULT_THRESHOLD_WIDTH, "whole",
        f"width of the soft edge in levels (default {DEFAULT_THRESHOLD_WIDTH})",
        {"kind": "number", "label": "soft width", "min": 1, "max": MAX_THRESHOLD, "step": 1},
        metavar="W",
        shown_if=lambda look: (bool(look.threshold) and look.threshold_edge == "soft"
                               and look.threshold_width != DEFAULT_THRESHOLD_WIDTH))
    threshold_on: MatteOn = _look_field(
        "black", "choice",
        "black: the matte itself, white on black (default); original: the motion shown over "
        "the original picture where it passes T",
        {"kind": "select", "label": "matte on"}, choices=MATTE_ON,
        shown_if=lambda look: bool(look.threshold) and look.threshold_on != "black")
    trail: float = _look_field(
        0.0, "unit", "motion trails fading by DECAY per frame (0 to 1, e.g. 0.9)",
        {"kind": "number", "label": "trail", "min": 0, "max": 1, "step": 0.05}, metavar="DECAY")
    overlay: float = _look_field(
        0.0, "unit", "lay the motion over the original picture at strength S (0 to 1)",
        {"kind": "number", "label": "overlay", "min": 0, "max": 1, "step": 0.05}, metavar="S",
        shown_if=lambda look: bool(look.overlay_weight))
    glow: float = _look_field(
        0.0, "unit",
        "Posy's glow: the motion, blurred, added onto the original at strength S (0 to 1)",
        {"kind": "number", "label": "glow", "min": 0, "max": 1, "step": 0.05},
        metavar="S", shown_if=_after_glow)
    glow_radius: int = _look_field(
        DEFAULT_GLOW_RADIUS, "whole",
        f"blur radius of --glow in pixels (default {DEFAULT_GLOW_RADIUS})",
        {"kind": "number", "label": "glow radius", "min": 0, "max": MAX_BLUR, "step": 1},
        metavar="R",
        shown_if=lambda look: _after_glow(look) and look.glow_radius != DEFAULT_GLOW_RADIUS)
    glow_mode: GlowMode = _look_field(
        "add", "choice",
        "add: the blurred motion added onto the original (default); screen: screened over it "
        "(brighter, never clips)",
        {"kind": "select", "label": "glow mode"}, choices=GLOW_MODES,
        shown_if=lambda look: _after_glow(look) and look.glow_mode != "add")

    def __post_init__(self) -> None:
        if self.denoise not in ("",) + DENOISERS:
            raise UsageError(f"{field('denoise')} must be one of {', '.join(DENOISERS)}, not "
                             f"{self.denoise!r}")
        if self.blend not in BLENDS:
            raise UsageError(f"{field('blend')} must be one of {', '.join(BLENDS)}, not "
                             f"{self.blend!r}")
        gain = self.gain
        if isinstance(gain, bool) or not isinstance(gain, (int, Fraction)):
            raise UsageError(f"{field('gain')} must be an exact number (an int or a Fraction; "
                             f"Look.parse reads text like '2.5'), not {gain!r}")
        _check_gain(gain, gain)
        _check_whole("blur", self.blur, 0, MAX_BLUR, " of pixels")
        if not isinstance(self.gray, bool):
            raise UsageError(f"{field('gray')} must be true or false, not {self.gray!r}")
        offsets = self.rgb_offsets
        if offsets is not None and not (isinstance(offsets, tuple) and len(offsets) == 3 and all(
                isinstance(c, ChannelOffset) for c in offsets)):
            raise UsageError(f"{field('rgb_offsets')} holds three ChannelOffset values "
                             f"(Look.parse reads text like '1,2,3'), not {offsets!r}")
        _check_unit("trail", self.trail)
        _check_unit("overlay", self.overlay)
        _check_whole("threshold", self.threshold, 0, MAX_THRESHOLD)
        _check_unit("glow", self.glow)
        _check_whole("glow_radius", self.glow_radius, 0, MAX_BLUR, " of pixels")
        if self.glow_weight and self.overlay_weight:
            raise UsageError(f"{field('glow')} and {field('overlay')} both lay the motion over "
                             "the original: choose one")
        if self.gray and self.rgb_offsets is not None:
            raise UsageError(f"{field('gray')} and {field('rgb_offsets')} contradict each other: "
                             "colour motion needs colour")
        self._check_matte_and_glow()

    def _check_matte_and_glow(self) -> None:
        if self.threshold_edge not in EDGES:
            raise UsageError(f"{field('threshold_edge')} must be one of {', '.join(EDGES)}, "
                             f"not {self.threshold_edge!r}")
        if self.threshold_on not in MATTE_ON:
            raise UsageError(f"{field('threshold_on')} must be one of {', '.join(MATTE_ON)}, "
                             f"not {self.threshold_on!r}")
        if self.glow_mode not in GLOW_MODES:
            raise UsageError(f"{field('glow_mode')} must be one of {', '.join(GLOW_MODES)}, "
                             f"not {self.glow_mode!r}")
        _check_whole("threshold_width", self.threshold_width, 1, MAX_THRESHOLD)
        if (self.threshold_edge != "hard" or self.threshold_on != "black") and not self.threshold:
            raise UsageError(f"{field('threshold_edge')}/{field('threshold_on')} shape the "
                             f"matte: they need {field('threshold')}")
        if self.threshold_on == "original" and (self.trail or self.overlay_weight
                                                or self.glow_weight):
            raise UsageError(f"{field('threshold_on')} original already shows the original "
                             f"picture: it does not combine with {field('trail')}, "
                             f"{field('overlay')} or {field('glow')}")
        if self.glow_mode != "add" and not self.glow_weight:
            raise UsageError(f"{field('glow_mode')} needs {field('glow')}")

    @classmethod
    def parse(cls, **raw: Any) -> "Look":
        """A look from values as typed: text or numbers (``gain="2.5"``,
        ``rgb_offsets="1,2,3"``, ``trail="0.9"``, ``blur="2"``), each read by its field's
        parser (:data:`FIELDS`); None: the default."""
        return cls(**_parsed(raw))

    @property
    def overlay_weight(self) -> int:
        """The overlay strength in 256ths (0: no overlay)."""
        return math.floor(self.overlay * OVERLAY_STEPS + 0.5)

    @property
    def glow_weight(self) -> int:
        """The glow strength in 256ths (0: no glow)."""
        return math.floor(self.glow * OVERLAY_STEPS + 0.5)

    def replaced(self, **overrides: Any) -> "Look":
        """This look with the given fields replaced, read as :meth:`parse` reads them (a
        value of None keeps the field)."""
        given = _parsed(overrides)
        return replace(self, **given) if given else self

    @property
    def is_classic(self) -> bool:
        return self == Look()

    def _settings(self) -> list[tuple[str, Optional[str]]]:
        """(flag name, value or None for a switch) for every setting that differs from
        classic, in the table's order."""
        return [(spec.key, spec.text(self)) for spec in FIELDS if spec.shown(self)]

    def flags(self) -> list[str]:
        """The command-line flags that give this look."""
        return [text for name, value in self._settings()
                for text in ([f"--{name}"] + ([value] if value is not None else []))]

    def describe(self) -> str:
        """A few words, e.g. ``difference, gain 2, trail 0.9``."""
        words = [name if value is None else value if name == "mode" else f"{name} {value}"
                 for name, value in self._settings()]
        return ", ".join(words) or "classic"


def _check_whole(name: str, value: Any, low: int, high: int, unit: str = "") -> None:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise UsageError(f"{field(name)} must be a whole number{unit} from {low} to {high}, "
                         f"not {value!r}")


def _check_unit(name: str, value: Any) -> None:
    ok = isinstance(value, (int, float)) and not isinstance(value, bool)
    if not ok or not math.isfinite(value) or not 0 <= value <= 1:
        raise UsageError(f"{field(name)} must be a number from 0 to 1, not "
                         f"{numbers.value_text(value)}")


FIELDS: tuple[LookField, ...] = tuple(
    LookField(f.name, f.default, f.metadata["look"][0], f.metadata["look"][1],
              f.metadata["look"][2], **f.metadata["look"][3])
    for f in fields(Look))
BY_NAME: dict[str, LookField] = {spec.name: spec for spec in FIELDS}


def _parsed(raw: dict[str, Any]) -> dict[str, Any]:
    """``raw``'s values (None left out) read by their fields' parsers."""
    unknown = [name for name in raw if name not in BY_NAME]
    if unknown:
        raise TypeError(f"Look has no field {unknown[0]!r} (fields: {', '.join(BY_NAME)})")
    return {name: BY_NAME[name].parse(value) for name, value in raw.items() if value is not None}


def flag_spelling(name: str) -> str:
    """A look field named as its flag (``rgb_offsets`` -> ``--rgb-offsets``): how preset
    files, whose keys are the flags' names, name them in messages; other names as they are."""
    spec = BY_NAME.get(name)
    return spec.flag if spec is not None else name


@dataclass(frozen=True)
class Preset:
    name: str
    look: Look
    description: str


PRESETS: dict[str, Preset] = {p.name: p for p in (
    Preset("classic", Look(),
           "the plain 50% blend: static areas gray, motion as light and dark relief"),
    Preset("amplified", Look(gain=Fraction(4), blur=1),
           "classic with faint motion amplified 4x, after a light blur against sensor noise"),
    Preset("difference", Look(blend="difference", gain=Fraction(2)),
           "|a - b| on black: only what changed lights up"),
    Preset("color", Look.parse(rgb_offsets=("1x", "2x", "3x"), gain=2),
           "red, green and blue compare over 1x, 2x and 3x the offset: motion splits into colours"),
    Preset("trails", Look(blend="difference", gain=Fraction(2), trail=0.9),
           "difference whose moving parts leave a fading trace over the following frames"),
    Preset("overlay", Look(gain=Fraction(2), overlay=0.5),
           "the motion laid over the original picture at 50%, to see where things move"),
    Preset("grain", Look(blend="grainextract"),
           "a - b + half: neutral exactly mid-gray, twice the contrast of classic"),
    Preset("glow", Look(gain=Fraction(2), glow=0.75, glow_radius=6),
           "Posy's glow: the motion, blurred, added onto the original picture"),
    Preset("clean", Look(blend="difference", gain=Fraction(2), denoise="hqdn3d"),
           "difference after hqdn3d temporal denoising: sensor and compression noise stay dark"),
    Preset("matte", Look(blend="difference", threshold=12),
           "white where a pixel changed by more than 12 levels, black elsewhere"),
    Preset("soft-matte", Look(blend="difference", threshold=8, threshold_edge="soft",
                              threshold_width=16),
           "a matte with a soft edge: black up to 8 levels of change, white from 24, a ramp between"),
    Preset("keyed", Look(blend="difference", gain=Fraction(2), threshold=10,
                         threshold_edge="soft", threshold_width=12, threshold_on="original"),
           "the motion shown over the original picture where it passes 10 levels (soft edge)"),
    Preset("screen-glow", Look(gain=Fraction(2), glow=0.9, glow_radius=6, glow_mode="screen"),
           "Posy's glow screened over the original: brighter motion, highlights never clip"),
)}


def resolve(name: Optional[str] = None, **overrides: Any) -> Look:
    """The preset ``name`` (default: classic) with the given fields replaced (None: keep;
    values read as :meth:`Look.parse` reads them)."""
    if name is None:
        base = Look()
    elif name in PRESETS:
        base = PRESETS[name].look
    else:
        raise UsageError(f"unknown look {name!r}: choose one of {', '.join(PRESETS)} (ffmotion looks)")
    return base.replaced(**overrides)


def _fraction_text(value: Fraction) -> str:
    if value.denominator == 1:
        return str(value.numerator)
    return f"{float(value):.{GAIN_DECIMALS}f}".rstrip("0").rstrip(".")


def _float_text(value: float) -> str:
    """Shortest text that parses back to the same double (ffmpeg's av_strtod reads it so)."""
    text = repr(float(value))
    return text[:-2] if text.endswith(".0") else text


# -- pixel formats --------------------------------------------------------------------------

def working_format(base: str, look: Look) -> str:
    """The format the look runs in, given the input's working format ``base``.

    ``rgb_offsets`` needs planar RGB; ``gray`` on an RGB input works on its luma (gray);
    everything else keeps the input's own format.
    """
    depth = plane_layout(base, 2, 2).depth
    suffix = "" if depth == 8 else f"{depth}le"
    rgb = base.startswith("gbrp") or (look.rgb_offsets is not None)
    if look.denoise == "hqdn3d" and rgb and not (look.gray and look.rgb_offsets is None):
        # hqdn3d has no RGB formats: ffmpeg would convert around it (measured: not exact)
        raise UsageError(f"{field('denoise')} hqdn3d works on YUV and gray pictures, not RGB "
                         f"ones (RGB input or {field('rgb_offsets')}): use {field('denoise')} "
                         "atadenoise")
    if look.rgb_offsets is not None and not base.startswith("gbrp"):
        return f"gbrp{suffix}"
    if look.gray and base.startswith("gbrp"):
        return f"gray{suffix}"
    return base


def _is_yuv(pix_fmt: str) -> bool:
    return pix_fmt.startswith("yuv")


def _planes(pix_fmt: str) -> int:
    return 1 if pix_fmt.startswith("gray") else 3


def neutrals(pix_fmt: str, blend: Blend) -> tuple[int, ...]:
    """Each plane's neutral (static-area) value after the blend."""
    layout = plane_layout(pix_fmt, 2, 2)
    if blend == "average":
        return (layout.max_value >> 1,) * _planes(pix_fmt)
    half = 1 << (layout.depth - 1)
    if blend == "grainextract":
        return (half,) * _planes(pix_fmt)
    return tuple(half if (_is_yuv(pix_fmt) and p > 0) else 0 for p in range(_planes(pix_fmt)))
