"""Looks: how the two frames are combined, and what is done to the picture before and after.

A :class:`Look` is pure data (held by :class:`ffmotion.core.request.MotionSpec`); its ffmpeg filter
chains are built by :mod:`ffmotion.graph.looks`, for :func:`ffmotion.graph.motion_video`
(this module names no filter and imports neither ffmpeg-python nor the graph). Every chain was
chosen so that its pixels follow an exact definition, checked against numpy over all input
values (8-bit 256x256, 10-bit 1024x1024 pairs) on ffmpeg 5.1 and 9.0 with SIMD on and off
(``scripts/verify_looks.py``); :mod:`tests.reference` implements the same definitions.

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
from dataclasses import dataclass, replace
from fractions import Fraction
from typing import Any, Literal, Optional, Sequence, Union

from ffmotion.core import numbers
from ffmotion.core.errors import UsageError
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
MAX_GAIN = 100
GAIN_DECIMALS = 3
MAX_BLUR = 1024  # avgblur's limit
OVERLAY_STEPS = 256
DENOISERS = ("hqdn3d", "atadenoise")
MAX_THRESHOLD = 1022  # |v - n| is at most 1023 - 1 at 10 bits with a nonzero neutral
_MULTIPLE = re.compile(r"^\s*(\d+(?:\.\d*)?|\.\d+)\s*x\s*$", re.IGNORECASE)


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


def parse_rgb_offsets(value: Union[str, Sequence[Any]]) -> tuple[ChannelOffset, ChannelOffset, ChannelOffset]:
    """``"1,2,3"``, ``"0.1s,0.2s,0.3s"`` or ``"1x,2x,4x"`` (red, green, blue)."""
    parts = value.split(",") if isinstance(value, str) else list(value)
    if len(parts) != 3:
        raise UsageError(f"--rgb-offsets needs three offsets R,G,B (like 2,4,8 or 1x,2x,3x), not {value!r}")
    try:
        red, green, blue = (ChannelOffset.parse(part) for part in parts)
    except UsageError as exc:
        raise UsageError(f"--rgb-offsets: {exc}") from None
    return red, green, blue


def parse_gain(value: Union[str, int, float, Fraction]) -> Fraction:
    """A gain as an exact fraction: 0 < gain <= 100, at most 3 decimals."""
    if isinstance(value, bool):
        raise UsageError(f"--gain must be a number, not {value!r}")
    if isinstance(value, float):
        if not math.isfinite(value):
            raise UsageError(f"--gain must be a finite number, not {value}")
        value = repr(value)
    if isinstance(value, str):
        gain = numbers.ratio(value, "--gain", "a number like 2 or 3.5")
    else:
        try:
            gain = Fraction(value)
        except (TypeError, ValueError, ZeroDivisionError):
            raise UsageError(f"--gain must be a number like 2 or 3.5, not {value!r}") from None
    if not 0 < gain <= MAX_GAIN:
        raise UsageError(f"--gain must be more than 0 and at most {MAX_GAIN}, not {value}")
    if (gain * 10**GAIN_DECIMALS).denominator != 1:
        raise UsageError(f"--gain {value}: use at most {GAIN_DECIMALS} decimals")
    return gain


def _unit_float(name: str, value: Any) -> float:
    try:
        number = numbers.real(value, name) if isinstance(value, str) else float(value)
    except (TypeError, ValueError, OverflowError, UsageError):
        number = math.nan
    if isinstance(value, bool) or not math.isfinite(number) or not 0 <= number <= 1:
        raise UsageError(f"{name} must be a number from 0 to 1, not {numbers.value_text(value)}")
    return number


@dataclass(frozen=True)
class Look:
    """What the picture looks like. The default is the classic 50% gray blend.

    ``blend``: ``"average"`` or ``"difference"``; ``gain``: amplification of the deviation
    from neutral (1: none); ``blur``: box radius in pixels (0: none); ``gray``: no colour;
    ``rgb_offsets``: red, green, blue offsets (None: all channels use the offset);
    ``trail``: decay of the motion trails, 0 < D <= 1 (0: none); ``overlay``: strength of the
    motion laid over the original, 0 to 1 (0: none). See the module docstring for the
    exact definitions.
    """

    blend: Blend = "average"
    gain: Fraction = Fraction(1)
    blur: int = 0
    gray: bool = False
    rgb_offsets: Optional[tuple[ChannelOffset, ChannelOffset, ChannelOffset]] = None
    trail: float = 0.0
    overlay: float = 0.0
    threshold: int = 0
    glow: float = 0.0
    glow_radius: int = 8
    denoise: str = ""
    threshold_edge: Edge = "hard"
    threshold_width: int = DEFAULT_THRESHOLD_WIDTH
    threshold_on: MatteOn = "black"
    glow_mode: GlowMode = "add"

    def __post_init__(self) -> None:
        if self.denoise not in ("",) + DENOISERS:
            raise UsageError(f"--denoise must be one of {', '.join(DENOISERS)}, not {self.denoise!r}")
        if self.blend not in BLENDS:
            raise UsageError(f"--mode must be one of {', '.join(BLENDS)}, not {self.blend!r}")
        object.__setattr__(self, "gain", parse_gain(self.gain))
        if isinstance(self.blur, bool) or not isinstance(self.blur, int) or not 0 <= self.blur <= MAX_BLUR:
            raise UsageError(f"--blur must be a whole number of pixels from 0 to {MAX_BLUR}, not {self.blur!r}")
        object.__setattr__(self, "gray", bool(self.gray))
        if self.rgb_offsets is not None:
            object.__setattr__(self, "rgb_offsets", parse_rgb_offsets(self.rgb_offsets))
        object.__setattr__(self, "trail", _unit_float("--trail", self.trail))
        object.__setattr__(self, "overlay", _unit_float("--overlay", self.overlay))
        if isinstance(self.threshold, bool) or not isinstance(self.threshold, int) \
                or not 0 <= self.threshold <= MAX_THRESHOLD:
            raise UsageError(f"--threshold must be a whole number from 0 to {MAX_THRESHOLD}, "
                             f"not {self.threshold!r}")
        object.__setattr__(self, "glow", _unit_float("--glow", self.glow))
        if isinstance(self.glow_radius, bool) or not isinstance(self.glow_radius, int) \
                or not 0 <= self.glow_radius <= MAX_BLUR:
            raise UsageError(f"--glow-radius must be a whole number of pixels from 0 to "
                             f"{MAX_BLUR}, not {self.glow_radius!r}")
        if self.glow_weight and self.overlay_weight:
            raise UsageError("--glow and --overlay both lay the motion over the original: "
                             "choose one")
        if self.gray and self.rgb_offsets is not None:
            raise UsageError("--gray and --rgb-offsets contradict each other: colour motion needs colour")
        self._check_matte_and_glow()

    def _check_matte_and_glow(self) -> None:
        if self.threshold_edge not in EDGES:
            raise UsageError(f"--threshold-edge must be one of {', '.join(EDGES)}, not "
                             f"{self.threshold_edge!r}")
        if self.threshold_on not in MATTE_ON:
            raise UsageError(f"--threshold-on must be one of {', '.join(MATTE_ON)}, not "
                             f"{self.threshold_on!r}")
        if self.glow_mode not in GLOW_MODES:
            raise UsageError(f"--glow-mode must be one of {', '.join(GLOW_MODES)}, not "
                             f"{self.glow_mode!r}")
        width = self.threshold_width
        if isinstance(width, bool) or not isinstance(width, int) or not 1 <= width <= MAX_THRESHOLD:
            raise UsageError(f"--threshold-width must be a whole number from 1 to "
                             f"{MAX_THRESHOLD}, not {width!r}")
        if (self.threshold_edge != "hard" or self.threshold_on != "black") and not self.threshold:
            raise UsageError("--threshold-edge/--threshold-on shape the matte: they need "
                             "--threshold")
        if self.threshold_on == "original" and (self.trail or self.overlay_weight
                                                or self.glow_weight):
            raise UsageError("--threshold-on original already shows the original picture: "
                             "it does not combine with --trail, --overlay or --glow")
        if self.glow_mode != "add" and not self.glow_weight:
            raise UsageError("--glow-mode needs --glow")

    @property
    def overlay_weight(self) -> int:
        """The overlay strength in 256ths (0: no overlay)."""
        return math.floor(self.overlay * OVERLAY_STEPS + 0.5)

    @property
    def glow_weight(self) -> int:
        """The glow strength in 256ths (0: no glow)."""
        return math.floor(self.glow * OVERLAY_STEPS + 0.5)

    def replaced(self, **overrides: Any) -> "Look":
        """This look with the given fields replaced (a value of None keeps the field)."""
        given = {key: value for key, value in overrides.items() if value is not None}
        return replace(self, **given) if given else self

    @property
    def is_classic(self) -> bool:
        return self == Look()

    def _settings(self) -> list[tuple[str, Optional[str]]]:
        """(flag, value or None for a switch) for every setting that differs from classic."""
        out: list[tuple[str, Optional[str]]] = []
        if self.blend != "average":
            out.append(("mode", self.blend))
        if self.gain != 1:
            out.append(("gain", _fraction_text(self.gain)))
        if self.denoise:
            out.append(("denoise", self.denoise))
        if self.blur:
            out.append(("blur", str(self.blur)))
        if self.gray:
            out.append(("gray", None))
        if self.rgb_offsets is not None:
            out.append(("rgb-offsets", ",".join(c.text for c in self.rgb_offsets)))
        if self.threshold:
            out.append(("threshold", str(self.threshold)))
            if self.threshold_edge != "hard":
                out.append(("threshold-edge", self.threshold_edge))
            if self.threshold_edge == "soft" and self.threshold_width != DEFAULT_THRESHOLD_WIDTH:
                out.append(("threshold-width", str(self.threshold_width)))
            if self.threshold_on != "black":
                out.append(("threshold-on", self.threshold_on))
        if self.trail:
            out.append(("trail", _float_text(self.trail)))
        if self.overlay_weight:
            out.append(("overlay", _float_text(self.overlay)))
        if self.glow_weight:
            out.append(("glow", _float_text(self.glow)))
            if self.glow_radius != Look.glow_radius:
                out.append(("glow-radius", str(self.glow_radius)))
            if self.glow_mode != "add":
                out.append(("glow-mode", self.glow_mode))
        return out

    def flags(self) -> list[str]:
        """The command-line flags that give this look."""
        return [text for name, value in self._settings()
                for text in ([f"--{name}"] + ([value] if value is not None else []))]

    def describe(self) -> str:
        """A few words, e.g. ``difference, gain 2, trail 0.9``."""
        words = [value if name == "mode" else f"{name} {value}" if value is not None else name
                 for name, value in self._settings()]
        return ", ".join(words) or "classic"


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
    Preset("color", Look(rgb_offsets=("1x", "2x", "3x"), gain=Fraction(2)),
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
    Preset("keyed", Look(blend="difference", gain=2, threshold=10, threshold_edge="soft",
                         threshold_width=12, threshold_on="original"),
           "the motion shown over the original picture where it passes 10 levels (soft edge)"),
    Preset("screen-glow", Look(gain=2, glow=0.9, glow_radius=6, glow_mode="screen"),
           "Posy's glow screened over the original: brighter motion, highlights never clip"),
)}


def resolve(name: Optional[str] = None, **overrides: Any) -> Look:
    """The preset ``name`` (default: classic) with the given fields replaced (None: keep)."""
    if name is None:
        base = Look()
    elif name in PRESETS:
        base = PRESETS[name].look
    else:
        raise UsageError(f"unknown look {name!r}: choose one of {', '.join(PRESETS)} (ffmotion looks)")
    given = {key: value for key, value in overrides.items() if value is not None}
    return replace(base, **given) if given else base


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
        raise UsageError("--denoise hqdn3d works on YUV and gray pictures, not RGB ones "
                         "(RGB input or --rgb-offsets): use --denoise atadenoise")
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
