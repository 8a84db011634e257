"""What a user asks for, as typed values: the input, the motion, the output, kept apart.

A :class:`MotionRequest` says what to read (:class:`InputSpec`), what to compute
(:class:`MotionSpec`) and, when something is written, where and how (:class:`OutputSpec`).
The preview, the contact sheet or a measurement compute without writing a motion file: their
requests have no output. Values are parsed by the ``parse`` constructors (from what a user
or a caller typed: ``"0.5s"``, ``"256M"``, ``"30000/1001"``); the dataclasses themselves only
check that the typed values they hold make sense together. Messages name options by field
(:func:`ffmotion.core.errors.field`); the command line spells them as flags.
"""
from __future__ import annotations

import math
import os
import re
from dataclasses import dataclass, replace
from dataclasses import field as dataclass_field
from fractions import Fraction
from pathlib import Path
from typing import Any, Literal, Mapping, Optional, Sequence, Union

from ffmotion.core import encoder_opts, numbers
from ffmotion.core.errors import UsageError, field
from ffmotion.core.looks import Look
from ffmotion.core.sinks import Sink
from ffmotion.core.source import Source
from ffmotion.core.units import FramesOrTime

Mode = Literal["offset", "freeze"]
MODES: tuple[Mode, ...] = ("offset", "freeze")
# How the shifted branch gets its frames: "split" one decoder (ffmpeg holds K decoded frames),
# "dual" the input opened twice (flat memory, decodes twice), "auto" dual past max_buffer.
Strategy = Literal["split", "dual"]
StrategyChoice = Literal["auto", "split", "dual"]
STRATEGIES: tuple[StrategyChoice, ...] = ("auto", "split", "dual")
DEFAULT_MAX_BUFFER = 256 * 2**20
DEFAULT_OFFSET = 1
# threads: ffmpeg refuses more than 2**31-1 (exit 1, late); far fewer make no sense
MAX_THREADS = 1024
AudioChoice = Union[int, Literal["all", "none"]]
DEFAULT_FRAMERATE = Fraction(25)  # of an image sequence, as ffmpeg's image2 demuxer

PathLike = Union[str, "os.PathLike[str]"]


# -- pieces ---------------------------------------------------------------------------------

def parse_audio_choice(text: Union[str, int, None]) -> AudioChoice:
    """``audio_stream``: a track number, ``all`` or ``none`` (default: track 0)."""
    if text is None:
        return 0
    if isinstance(text, int) and not isinstance(text, bool):
        if text < 0:
            raise UsageError(f"{field('audio_stream')} must be 0 or more, all or none, not {text}")
        return text
    value = str(text).strip().lower()
    if value in ("all", "none"):
        return "all" if value == "all" else "none"
    if re.fullmatch(r"[0-9]{1,9}", value):  # ASCII digits: "²".isdigit() but int("²") fails
        return int(value)
    raise UsageError(f"{field('audio_stream')} must be a track number, all or none, not "
                     f"{numbers.shown(str(text))}")


@dataclass(frozen=True)
class SequenceRequest:
    """The user asked for an image sequence, shown at ``framerate`` frames per second."""

    framerate: Fraction = DEFAULT_FRAMERATE

    def __post_init__(self) -> None:
        rate = self.framerate
        if isinstance(rate, bool) or not isinstance(rate, Fraction) or not 0 < rate <= 1000:
            shown = rate if isinstance(rate, (int, Fraction)) else repr(rate)
            raise UsageError(f"{field('framerate')} must be more than 0 and at most 1000, "
                             f"not {shown}")

    @classmethod
    def parse(cls, framerate: Union[str, int, float, Fraction, None]) -> "SequenceRequest":
        """``framerate`` ``12``, ``0.5``, ``30000/1001`` (None: the default)."""
        if framerate is None:
            return cls()
        rate = numbers.rate(framerate, field("framerate"),
                            "a frame rate like 25, 0.5 or 30000/1001")
        return cls(Fraction(rate))


@dataclass(frozen=True)
class StabilizeOptions:
    """Two-pass stabilization before the motion graph.

    ``smoothing`` 0 locks the camera to the first frame of the range (vid.stab's tripod
    mode); N > 0 follows the camera path smoothed over N frames each side; None (the
    default, ``--stabilize`` / ``--stabilize auto``) measures the candidates on a sample of
    the clip and keeps the best (:mod:`ffmotion.pipeline.stabilize`). ``strength`` (1-10) is
    how shaky the footage is: vid.stab's ``shakiness``, and the search range of the
    ``deshake`` fallback.
    """

    strength: int = 5
    smoothing: Optional[int] = None  # None: auto

    @property
    def auto(self) -> bool:
        """Chosen per clip after pass 1 (``--stabilize auto``)."""
        return self.smoothing is None

    def __post_init__(self) -> None:
        if isinstance(self.strength, bool) or not isinstance(self.strength, int) \
                or not 1 <= self.strength <= 10:
            raise UsageError(f"{field('stabilize_strength')} must be a whole number from 1 to "
                             f"10, not {self.strength!r}")
        if self.smoothing is not None and (
                isinstance(self.smoothing, bool) or not isinstance(self.smoothing, int)
                or not 0 <= self.smoothing <= 500):
            raise UsageError(f"{field('stabilize_smoothing')} must be a whole number of frames "
                             f"from 0 (locked camera) to 500, not {self.smoothing!r}")

    @classmethod
    def parse(cls, value: Union[bool, str, "StabilizeOptions", None]) -> Optional["StabilizeOptions"]:
        """``True`` or ``"auto"`` (chosen per clip), a :class:`StabilizeOptions`, or
        ``False``/None (no stabilization)."""
        if isinstance(value, StabilizeOptions):
            return value
        if value == "auto":
            return cls()
        if isinstance(value, str):
            raise UsageError(f"{field('stabilize')} must be True, False, 'auto' or "
                             f"StabilizeOptions, not {value!r}")
        return cls() if value else None


_SIZE = re.compile(r"^\s*(\d+(?:\.\d*)?|\.\d+)\s*([kmgt]?)(i?b?)\s*$", re.IGNORECASE)


def parse_size(value: Union[str, int], name: str = "max_buffer") -> int:
    """Bytes from ``256M``, ``1.5G``, ``512MiB``, ``100k`` or a plain byte count (powers of 1024)."""
    if isinstance(value, int) and not isinstance(value, bool):
        if value < 0:
            raise UsageError(f"{field(name)} must be 0 or more, not {value}")
        return value
    match = _SIZE.match(numbers.text(value, field(name)))
    if not match:
        raise UsageError(f"{field(name)} {value!r} is not a size like 256M, 1G or 500000000")
    number, unit = Fraction(match.group(1)), match.group(2).lower()
    return int(number * 1024 ** "_kmgt".index(unit or "_"))


def parse_fps(value: Union[str, int, float, Fraction, None], name: str = "fps") -> Optional[Fraction]:
    """``15``, ``12.5``, ``30000/1001`` -> a positive Fraction (None stays None)."""
    if value is None:
        return None
    rate = numbers.rate(value, field(name), "a frame rate like 15, 12.5 or 30000/1001")
    if rate <= 0 or rate > 1000:
        raise UsageError(f"{field(name)} must be more than 0 and at most 1000, not {value}")
    return rate


_OPT_KEY = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_\-]*$")


def parse_encoder_opt(text: str) -> tuple[str, str]:
    """``key=value`` of ``encoder_opts`` (the key is checked against the encoder later)."""
    key, sep, value = str(text).partition("=")
    key = key.strip().lstrip("-")
    if not sep or not _OPT_KEY.match(key):
        raise UsageError(f"{field('encoder_opts')} {text!r} is not key=value (e.g. "
                         f"{field('encoder_opts')} tune=film)")
    if any(ord(ch) < 32 or ord(ch) == 127 for ch in value):
        raise UsageError(f"{field('encoder_opts')} {key}: the value has a control character")
    encoder_opts.check(key, value)  # no option that makes the encoder open a file itself
    return key, value


# -- the output's encoding --------------------------------------------------------------------

_BITRATE = re.compile(r"^\d+(?:\.\d+)?[kKM]?$")
_NAME = re.compile(r"[A-Za-z0-9_.\-]+")
DITHERS = ("bayer", "heckbert", "floyd_steinberg", "sierra2", "sierra2_4a", "sierra3",
           "burkes", "atkinson", "none")
GIF_STATS = ("full", "diff", "single")
EncoderOpts = Union[Mapping[str, Any], Sequence[str], None]


@dataclass(frozen=True)
class EncodeOptions:
    """How the result is encoded. ``None`` means: the default for the output's container."""

    codec: Optional[str] = None
    crf: Optional[float] = None
    preset: Optional[str] = None
    pix_fmt: Optional[str] = None
    lossless: bool = False
    # shaping, applied after the motion graph (so the motion itself stays frame-exact)
    width: Optional[int] = None  # output width; the other side keeps the aspect
    height: Optional[int] = None
    scale: Optional[Fraction] = None  # both sides times this
    fps: Optional[Fraction] = None  # output frame rate (the fps filter drops/repeats frames)
    audio_codec: Optional[str] = None
    audio_bitrate: Optional[str] = None
    # extra encoder options, checked against ``ffmpeg -h encoder=NAME`` before a run
    encoder_opts: tuple[tuple[str, str], ...] = ()
    # GIF palette: paletteuse dither and palettegen stats_mode (None: the measured default)
    gif_dither: Optional[str] = None
    gif_stats: Optional[str] = None

    def __post_init__(self) -> None:
        for name in ("width", "height"):
            value = getattr(self, name)
            if value is not None and (isinstance(value, bool) or not isinstance(value, int)
                                      or not 2 <= value <= 16384):
                raise UsageError(f"{field(name)} must be a whole number of pixels from 2 to "
                                 f"16384, not {value!r}")
        if self.scale is not None:
            if not isinstance(self.scale, Fraction) or not 0 < self.scale <= 8:
                raise UsageError(f"{field('scale')} must be more than 0 and at most 8, not "
                                 f"{self.scale}")
            if self.width is not None or self.height is not None:
                raise UsageError(f"give {field('scale')} or {field('width')}/"
                                 f"{field('height')}, not both")
        if self.fps is not None and (not isinstance(self.fps, Fraction)
                                     or not 0 < self.fps <= 1000):
            raise UsageError(f"{field('fps')} must be more than 0 and at most 1000, not {self.fps}")
        if self.audio_bitrate is not None and not _BITRATE.match(str(self.audio_bitrate)):
            raise UsageError(f"{field('audio_bitrate')} {self.audio_bitrate!r} is not a bitrate "
                             "like 128k or 192000")
        if self.gif_dither is not None:
            base = self.gif_dither.split(":")[0]
            if base not in DITHERS or not re.fullmatch(r"[a-z0-9_]+(:bayer_scale=[0-5])?",
                                                       self.gif_dither):
                raise UsageError(f"{field('gif_dither')} must be one of {', '.join(DITHERS)} "
                                 f"(bayer may add :bayer_scale=0..5), not {self.gif_dither!r}")
        if self.gif_stats is not None and self.gif_stats not in GIF_STATS:
            raise UsageError(f"{field('gif_stats')} must be one of {', '.join(GIF_STATS)}, not "
                             f"{self.gif_stats!r}")
        for pair in self.encoder_opts:
            if not (isinstance(pair, tuple) and len(pair) == 2
                    and all(isinstance(part, str) for part in pair)):
                raise UsageError(f"{field('encoder_opts')} holds (key, value) pairs "
                                 f"(EncodeOptions.parse reads key=value text), not {pair!r}")
            parse_encoder_opt(f"{pair[0]}={pair[1]}")  # the same checks as typed text
        if self.lossless and self.codec is not None:
            raise UsageError(f"{field('lossless')} chooses the codec (ffv1): drop "
                             f"{field('codec')}, or drop {field('lossless')}")
        if self.crf is not None and (not math.isfinite(self.crf) or self.crf < 0):
            raise UsageError(f"{field('crf')} must be a number of 0 or more, not {self.crf}")
        for name in ("codec", "preset", "pix_fmt", "audio_codec"):
            value = getattr(self, name)
            if value is not None and not _NAME.fullmatch(value):
                raise UsageError(f"{field(name)} {value!r} is not a valid name")

    @classmethod
    def parse(cls, *, codec: Optional[str] = None, crf: Optional[float] = None,
              preset: Optional[str] = None, pix_fmt: Optional[str] = None,
              lossless: bool = False, width: Optional[int] = None,
              height: Optional[int] = None, scale: Union[float, str, Fraction, None] = None,
              fps: Union[float, str, Fraction, None] = None, audio_codec: Optional[str] = None,
              audio_bitrate: Optional[str] = None, encoder_opts: EncoderOpts = None,
              gif_dither: Optional[str] = None,
              gif_stats: Optional[str] = None) -> "EncodeOptions":
        """Encoding options from what a user typed: ``scale`` ``"0.5"``, ``fps``
        ``"30000/1001"``, ``encoder_opts`` ``{"tune": "film"}`` or ``["tune=film"]``."""
        pairs = ([f"{k}={v}" for k, v in encoder_opts.items()] if isinstance(encoder_opts, Mapping)
                 else list(encoder_opts or ()))
        return cls(codec=codec, crf=crf, preset=preset, pix_fmt=pix_fmt, lossless=lossless,
                   width=width, height=height,
                   scale=(None if scale is None else
                          numbers.ratio(scale, field("scale"), "a number like 0.5")),
                   fps=parse_fps(fps), audio_codec=audio_codec, audio_bitrate=audio_bitrate,
                   encoder_opts=tuple(parse_encoder_opt(p) for p in pairs),
                   gif_dither=gif_dither, gif_stats=gif_stats)


# -- the three parts of a request ---------------------------------------------------------------

@dataclass(frozen=True)
class InputSpec:
    """What is read: a file (``path``, absolute), an image sequence, or a stream/live
    ``source``; which video stream; which part of it; how its picture is prepared."""

    path: Path
    source: Optional[Source] = None  # stdin, a URL, a device: None for the file ``path``
    sequence: Optional[SequenceRequest] = None  # an image sequence (folder, pattern, glob)
    video_stream: Optional[int] = None  # position among the video streams (None: the real one)
    # the part of the input to process (frames and offsets count from ``start``)
    start: Optional[FramesOrTime] = None
    end: Optional[FramesOrTime] = None
    duration: Optional[FramesOrTime] = None
    deinterlace: bool = False  # bwdif (or yadif) before the motion graph

    def __post_init__(self) -> None:
        if self.video_stream is not None and (isinstance(self.video_stream, bool)
                                              or self.video_stream < 0):
            raise UsageError(f"{field('video_stream')} must be 0 or more, not {self.video_stream}")
        if self.end is not None and self.duration is not None:
            raise UsageError(f"give {field('end')} or {field('duration')}, not both")
        if self.duration is not None and self.duration.amount == 0:
            raise UsageError(f"{field('duration')} must be more than 0")
        start, end = self.start, self.end
        if start is not None and end is not None and start.is_duration_like(end) \
                and end.amount <= start.amount:
            raise UsageError(f"{field('end')} {end.text} must be after {field('start')} "
                             f"{start.text}")

    @classmethod
    def parse(cls, path: PathLike, *, source: Optional[Source] = None,
              sequence: Optional[SequenceRequest] = None, video_stream: Optional[int] = None,
              start: Union[str, float, FramesOrTime, None] = None,
              end: Union[str, float, FramesOrTime, None] = None,
              duration: Union[str, float, FramesOrTime, None] = None,
              deinterlace: bool = False) -> "InputSpec":
        """The input ``path`` (made absolute) with its range parsed (``"2.5"`` seconds,
        ``"1:30"``, ``"500ms"``, ``"30f"``)."""
        return cls(path=Path(path).expanduser().absolute(), source=source, sequence=sequence,
                   video_stream=video_stream,
                   start=None if start is None else FramesOrTime.time(start, "start"),
                   end=None if end is None else FramesOrTime.time(end, "end"),
                   duration=None if duration is None else FramesOrTime.time(duration, "duration"),
                   deinterlace=deinterlace)

    @property
    def shown(self) -> str:
        """How messages name the input: the file, ``stdin``, a URL as typed, the device."""
        return self.source.shown if self.source is not None else str(self.path)


@dataclass(frozen=True)
class MotionSpec:
    """What is computed: frame i against frame i+K (``offset`` mode) or against frame K
    (``freeze`` mode), with a look, stabilized or not, and how ffmpeg holds the frames."""

    offset: FramesOrTime
    mode: Mode = "offset"
    look: Look = dataclass_field(default_factory=Look)
    stabilize: Optional[StabilizeOptions] = None  # None: no stabilization
    strategy: StrategyChoice = "auto"
    max_buffer: int = DEFAULT_MAX_BUFFER  # bytes of decoded frames "split" may hold (auto)

    def __post_init__(self) -> None:
        if self.mode not in MODES:
            raise UsageError(f"mode must be one of {', '.join(MODES)}, not {self.mode!r}")
        if self.strategy not in STRATEGIES:
            raise UsageError(f"{field('strategy')} must be one of {', '.join(STRATEGIES)}, "
                             f"not {self.strategy!r}")
        if isinstance(self.max_buffer, bool) or not isinstance(self.max_buffer, int) \
                or self.max_buffer < 0:
            raise UsageError(f"{field('max_buffer')} must be a number of bytes, 0 or more, "
                             f"not {self.max_buffer!r}")
        if self.mode == "offset" and self.offset.frames == 0:
            raise UsageError(f"{field('offset')} must be at least 1 frame (0 would compare each "
                             "frame with itself)")

    @classmethod
    def parse(cls, offset: Union[int, str, FramesOrTime, None] = None,
              freeze: Union[int, str, FramesOrTime, None] = None, *,
              look: Look = Look(), stabilize: Union[bool, str, StabilizeOptions, None] = None,
              strategy: StrategyChoice = "auto",
              max_buffer: Union[int, str, None] = None) -> "MotionSpec":
        """Offset mode with ``offset`` (default 1 frame), or freeze mode on frame ``freeze``;
        per-channel offsets in frames or time replace the offset, so giving both is refused."""
        if offset is not None and freeze is not None:
            raise UsageError("give an offset or a freeze frame, not both")
        check_look_offsets(look, offset, freeze)
        if freeze is not None:
            mode: Mode = "freeze"
            spec = FramesOrTime.offset(freeze, "freeze")
        else:
            mode = "offset"
            spec = FramesOrTime.offset(DEFAULT_OFFSET if offset is None else offset, "offset")
        return cls(offset=spec, mode=mode, look=look, stabilize=StabilizeOptions.parse(stabilize),
                   strategy=strategy,
                   max_buffer=DEFAULT_MAX_BUFFER if max_buffer is None else parse_size(max_buffer))


def check_look_offsets(look: Look, offset: object, freeze: object) -> None:
    """``rgb_offsets`` in frames or time replace the offset: giving both would ignore one."""
    channels = look.rgb_offsets
    if channels is None or any(c.multiple is not None for c in channels):
        return
    given = field("offset") if offset is not None else field("freeze") if freeze is not None \
        else None
    if given:
        raise UsageError(f"{field('rgb_offsets')} {','.join(c.text for c in channels)} sets "
                         f"every channel's offset, so {given} would be ignored: drop it, or "
                         f"write the channels as multiples of it (e.g. 1x,2x,3x)")


@dataclass(frozen=True)
class OutputSpec:
    """Where the motion picture goes and how: a file ``path`` (absolute; for stdout, a URL or
    an HLS playlist ``sink``, a name that only chooses the encoder defaults), its encoding,
    its sound and subtitles, and whether an existing file may be replaced."""

    path: Path
    sink: Optional[Sink] = None
    encode: EncodeOptions = dataclass_field(default_factory=EncodeOptions)
    audio: bool = True
    audio_stream: AudioChoice = 0  # audio track kept (a position), "all" or "none"
    subtitles: bool = True  # False: dropped (else kept where the output holds them)
    overwrite: bool = False

    def __post_init__(self) -> None:
        choice = self.audio_stream
        if not (choice in ("all", "none") or (isinstance(choice, int)
                                              and not isinstance(choice, bool) and choice >= 0)):
            raise UsageError(f"{field('audio_stream')} must be a track number, all or none, "
                             f"not {choice!r}")


@dataclass(frozen=True)
class MotionRequest:
    """One job: read :attr:`input`, compute :attr:`motion`, write :attr:`output` (None:
    the caller takes the frames or numbers itself: preview, sheet, energy, map).
    ``threads`` caps ffmpeg's decoder and filter threads (None: ffmpeg's default); never
    the encoder's, whose thread count changes its output bytes."""

    input: InputSpec
    motion: MotionSpec
    output: Optional[OutputSpec] = None
    threads: Optional[int] = None

    def __post_init__(self) -> None:
        if self.threads is not None and (isinstance(self.threads, bool)
                                         or not 1 <= self.threads <= MAX_THREADS):
            raise UsageError(f"{field('threads')} must be 1 to {MAX_THREADS}, not {self.threads}")

    def with_input(self, **changes: Any) -> "MotionRequest":
        """This request with fields of its input replaced."""
        return replace(self, input=replace(self.input, **changes))

    def with_motion(self, **changes: Any) -> "MotionRequest":
        """This request with fields of its motion replaced."""
        return replace(self, motion=replace(self.motion, **changes))

    def with_output(self, **changes: Any) -> "MotionRequest":
        """This request with fields of its output replaced (it must have one)."""
        assert self.output is not None, "a request without an output"
        return replace(self, output=replace(self.output, **changes))
