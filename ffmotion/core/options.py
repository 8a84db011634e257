"""The frozen options of one motion-extraction job, and parsing of offsets."""
from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Literal, Optional, Union

from ffmotion.core import encoder_opts, numbers
from ffmotion.core.errors import UsageError
from ffmotion.core.looks import Look
from ffmotion.core.source import Source
from ffmotion.media.sequence import SequenceRequest
from ffmotion.media.streams import AudioChoice, parse_audio_choice
from ffmotion.core.sinks import Sink

Mode = Literal["offset", "freeze"]
MODES: tuple[Mode, ...] = ("offset", "freeze")
# How the shifted branch gets its frames: "split" one decoder (ffmpeg holds K decoded frames),
# "dual" the input opened twice (flat memory, decodes twice), "auto" dual past --max-buffer.
Strategy = Literal["split", "dual"]
StrategyChoice = Literal["auto", "split", "dual"]
STRATEGIES: tuple[StrategyChoice, ...] = ("auto", "split", "dual")
DEFAULT_MAX_BUFFER = 256 * 2**20

_DURATION = re.compile(r"^\s*(\d+(?:\.\d*)?|\.\d+)\s*(s|sec|ms|f|frames?)?\s*$", re.IGNORECASE)


@dataclass(frozen=True)
class FrameOffset:
    """An offset as the user wrote it: whole frames (``12``) or a duration (``0.5s``, ``500ms``).

    In offset mode it is the distance K between the two frames blended; in freeze mode it is
    the index of the reference frame (0 is the first frame).
    """

    text: str
    frames: Optional[int] = None
    seconds: Optional[Fraction] = None

    @classmethod
    def parse(cls, value: Union[str, int, float, "FrameOffset"]) -> "FrameOffset":
        """Parse ``12``, ``12f``, ``0.5s`` or ``500ms``; a bare number is a frame count."""
        if isinstance(value, FrameOffset):
            return value
        if isinstance(value, bool):
            raise UsageError(f"offset must be a whole number of frames or a duration, not {value!r}")
        if isinstance(value, int):
            value = str(value)
        elif isinstance(value, float):
            if not math.isfinite(value) or value != int(value):
                raise UsageError(
                    f"offset {value!r} is not a whole number of frames (write a duration like '0.5s')"
                )
            value = str(int(value))
        text = numbers.text(value, "offset")
        match = _DURATION.match(text)
        if not match:
            raise UsageError(
                f"offset {text!r} is not a whole number of frames or a duration like 0.5s or 500ms"
            )
        number, unit = match.group(1), (match.group(2) or "").lower()
        if unit in ("s", "sec", "ms"):
            seconds = Fraction(number) / (1000 if unit == "ms" else 1)
            return cls(text=text.strip(), seconds=seconds)
        if "." in number:
            raise UsageError(
                f"offset {text!r} is not a whole number of frames (write a duration like '0.5s')"
            )
        return cls(text=text.strip(), frames=int(number))

    @property
    def is_duration(self) -> bool:
        return self.seconds is not None

    def to_frames(self, fps: Fraction) -> int:
        """Whole frames at ``fps``; a duration rounds to the nearest frame (halves up)."""
        if self.frames is not None:
            return self.frames
        assert self.seconds is not None
        return nearest_frame(self.seconds, fps)


def nearest_frame(seconds: Fraction, fps: Fraction) -> int:
    """The frame nearest to ``seconds`` at ``fps`` (halfway: the later one)."""
    return math.floor(seconds * fps + Fraction(1, 2))


def format_fps(fps: Fraction) -> str:
    """``30`` for 30/1, ``29.97`` for 30000/1001."""
    if fps.denominator == 1:
        return str(fps.numerator)
    return f"{float(fps):.3f}".rstrip("0").rstrip(".")


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
        check_shaping(self)
        if self.lossless and self.codec is not None:
            raise UsageError("--lossless chooses the codec (ffv1): drop --codec, or drop --lossless")
        if self.crf is not None and (not math.isfinite(self.crf) or self.crf < 0):
            raise UsageError(f"--crf must be a number of 0 or more, not {self.crf}")
        for name, value in (("--codec", self.codec), ("--preset", self.preset),
                            ("--pix-fmt", self.pix_fmt), ("--audio-codec", self.audio_codec)):
            if value is not None and not re.fullmatch(r"[A-Za-z0-9_.\-]+", value):
                raise UsageError(f"{name} {value!r} is not a valid name")


# --threads: ffmpeg refuses more than 2**31-1 (exit 1, late); far fewer make no sense
MAX_THREADS = 1024


@dataclass(frozen=True)
class Options:
    """Everything one job needs, already validated. Paths are absolute."""

    src: Path
    dst: Path
    offset: FrameOffset
    mode: Mode = "offset"
    audio: bool = True
    subtitles: bool = True  # False: --no-subtitles (else kept where the output holds them)
    encode: EncodeOptions = field(default_factory=EncodeOptions)
    overwrite: bool = False
    # Decoder and filter threads of the ffmpeg process (None: ffmpeg's default). Never the
    # encoder's: x264's thread count changes its output bytes, and these do not.
    threads: Optional[int] = None
    look: Look = field(default_factory=Look)
    # the part of the input to process (frames and offsets count from ``start``)
    start: Optional[TimePoint] = None
    end: Optional[TimePoint] = None
    duration: Optional[TimePoint] = None
    stabilize: Optional[StabilizeOptions] = None  # None: no stabilization
    strategy: StrategyChoice = "auto"
    max_buffer: int = DEFAULT_MAX_BUFFER  # bytes of decoded frames "split" may hold (auto)
    video_stream: Optional[int] = None  # position among the video streams (None: the real one)
    audio_stream: AudioChoice = 0  # audio track kept (a position), "all" or "none"
    deinterlace: bool = False  # --deinterlace: bwdif (or yadif) before the motion graph
    # an image sequence (folder, img%04d.png or a glob) read at its frame rate; None: a file
    sequence: Optional[SequenceRequest] = None
    # a stream or live input (stdin, a URL, a device): None for the file ``src``
    source: Optional[Source] = None
    # stdout, a URL or an HLS playlist (``dst`` then only chooses encoder defaults): None
    # for the file ``dst``
    sink: Optional[Sink] = None

    def __post_init__(self) -> None:
        _check_strategy(self.strategy, self.max_buffer)
        if self.mode not in MODES:
            raise UsageError(f"mode must be one of {', '.join(MODES)}, not {self.mode!r}")
        object.__setattr__(self, "src", Path(self.src).expanduser().absolute())
        object.__setattr__(self, "dst", Path(self.dst).expanduser().absolute())
        object.__setattr__(self, "offset", FrameOffset.parse(self.offset))
        if self.threads is not None and (isinstance(self.threads, bool)
                                         or not 1 <= self.threads <= MAX_THREADS):
            raise UsageError(f"--threads must be 1 to {MAX_THREADS}, not {self.threads}")
        if self.mode == "offset" and self.offset.frames == 0:
            raise UsageError("--offset must be at least 1 frame (0 would compare each frame with itself)")
        check_range(self)
        object.__setattr__(self, "audio_stream", parse_audio_choice(self.audio_stream))
        if self.video_stream is not None and (isinstance(self.video_stream, bool)
                                              or self.video_stream < 0):
            raise UsageError(f"--video-stream must be 0 or more, not {self.video_stream}")


_CLOCK = re.compile(r"^\s*(?:(\d+):)?(\d+):(\d+(?:\.\d*)?)\s*$")
_TIME = re.compile(r"^\s*(\d+(?:\.\d*)?|\.\d+)\s*(s|sec|ms|f|frames?)?\s*$", re.IGNORECASE)


@dataclass(frozen=True)
class TimePoint:
    """A point or length in the input as the user wrote it, for ``--start/--end/--duration``.

    Seconds (``2.5``, ``2.5s``, ``500ms``, ``1:02.5``, ``1:00:00``; a bare number is seconds,
    as in ffmpeg's ``-ss``) or whole frames (``30f``).
    """

    text: str
    frames: Optional[int] = None
    seconds: Optional[Fraction] = None

    @classmethod
    def parse(cls, value: Union[str, int, float, Fraction, "TimePoint"],
              name: str = "time") -> "TimePoint":
        """Parse ``value``; ``name`` (e.g. ``--start``) goes into the error message."""
        if isinstance(value, TimePoint):
            return value
        if isinstance(value, bool):
            raise UsageError(f"{name} must be a time like 2.5, 1:30, 500ms or 30f, not {value!r}")
        if isinstance(value, (int, Fraction)):
            value = str(value) if isinstance(value, int) else f"{float(value)!r}"
        elif isinstance(value, float):
            if not math.isfinite(value) or value < 0:
                raise UsageError(f"{name} must be a time of 0 or more, not {value!r}")
            value = repr(value)
        text = numbers.text(value, name)
        clock = _CLOCK.match(text)
        if clock:
            hours, minutes, secs = clock.groups()
            total = Fraction(secs) + 60 * int(minutes) + 3600 * int(hours or 0)
            return cls(text=text, seconds=total)
        match = _TIME.match(text)
        if not match:
            raise UsageError(
                f"{name} {text!r} is not a time like 2.5, 2.5s, 500ms, 1:30 or 30f (frames)"
            )
        number, unit = match.group(1), (match.group(2) or "s").lower()
        if unit.startswith("f"):
            if "." in number:
                raise UsageError(f"{name} {text!r}: a frame count must be a whole number")
            return cls(text=text, frames=int(number))
        return cls(text=text, seconds=Fraction(number) / (1000 if unit == "ms" else 1))

    def to_frames(self, fps: Fraction) -> int:
        """Whole frames at ``fps``; a time rounds to the nearest frame (halves up)."""
        if self.frames is not None:
            return self.frames
        assert self.seconds is not None
        return nearest_frame(self.seconds, fps)

    def is_duration_like(self, other: "TimePoint") -> bool:
        """Both in seconds or both in frames: comparable without knowing the frame rate."""
        return (self.frames is None) == (other.frames is None)


def _value(point: TimePoint) -> Fraction:
    return Fraction(point.frames) if point.frames is not None else Fraction(point.seconds or 0)


@dataclass(frozen=True)
class StabilizeOptions:
    """Two-pass stabilization before the motion graph.

    ``smoothing`` 0 locks the camera to the first frame of the range (vid.stab's tripod
    mode); N > 0 follows the camera path smoothed over N frames each side; None (the
    default, ``--stabilize`` / ``--stabilize auto``) reads the camera path from pass 1 and
    chooses per clip (:func:`ffmotion.pipeline.stabilize.auto_choice`): measured the best on every
    kind of shot, where tripod made panning and tracking shots worse than no stabilization.
    ``strength`` (1-10) is how shaky the footage is: vid.stab's ``shakiness``, and the
    search range of the ``deshake`` fallback.
    """

    strength: int = 5
    smoothing: Optional[int] = None  # None: auto (chosen by scripts/bench_stabilize.py)

    @property
    def auto(self) -> bool:
        """Chosen per clip after pass 1 (``--stabilize auto``)."""
        return self.smoothing is None

    def __post_init__(self) -> None:
        if isinstance(self.strength, bool) or not isinstance(self.strength, int) \
                or not 1 <= self.strength <= 10:
            raise UsageError(f"--stabilize-strength must be a whole number from 1 to 10, "
                             f"not {self.strength!r}")
        if self.smoothing is not None and (
                isinstance(self.smoothing, bool) or not isinstance(self.smoothing, int)
                or not 0 <= self.smoothing <= 500):
            raise UsageError(f"--stabilize-smoothing must be a whole number of frames from 0 "
                             f"(locked camera) to 500, not {self.smoothing!r}")


def check_range(options: "Options") -> None:
    """Parse ``start``/``end``/``duration`` in place and reject contradictions."""
    for name, flag in (("start", "--start"), ("end", "--end"), ("duration", "--duration")):
        value = getattr(options, name)
        if value is not None:
            object.__setattr__(options, name, TimePoint.parse(value, flag))
    if options.end is not None and options.duration is not None:
        raise UsageError("give --end or --duration, not both")
    if options.duration is not None and (options.duration.frames == 0
                                         or options.duration.seconds == 0):
        raise UsageError("--duration must be more than 0")
    start, end = options.start, options.end
    if start is not None and end is not None and start.is_duration_like(end) \
            and _value(end) <= _value(start):
        raise UsageError(f"--end {end.text} must be after --start {start.text}")


_SIZE = re.compile(r"^\s*(\d+(?:\.\d*)?|\.\d+)\s*([kmgt]?)(i?b?)\s*$", re.IGNORECASE)


def parse_size(value: Union[str, int]) -> int:
    """Bytes from ``256M``, ``1.5G``, ``512MiB``, ``100k`` or a plain byte count (powers of 1024)."""
    if isinstance(value, int) and not isinstance(value, bool):
        if value < 0:
            raise UsageError(f"--max-buffer must be 0 or more, not {value}")
        return value
    match = _SIZE.match(numbers.text(value, "--max-buffer"))
    if not match:
        raise UsageError(f"--max-buffer {value!r} is not a size like 256M, 1G or 500000000")
    number, unit = Fraction(match.group(1)), match.group(2).lower()
    return int(number * 1024 ** "_kmgt".index(unit or "_"))


def _check_strategy(strategy: str, max_buffer: int) -> None:
    if strategy not in STRATEGIES:
        raise UsageError(f"--strategy must be one of {', '.join(STRATEGIES)}, not {strategy!r}")
    if isinstance(max_buffer, bool) or not isinstance(max_buffer, int) or max_buffer < 0:
        raise UsageError(f"--max-buffer must be a number of bytes, 0 or more, not {max_buffer!r}")


_BITRATE = re.compile(r"^\d+(?:\.\d+)?[kKM]?$")
_OPT_KEY = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_\-]*$")
DITHERS = ("bayer", "heckbert", "floyd_steinberg", "sierra2", "sierra2_4a", "sierra3",
           "burkes", "atkinson", "none")
GIF_STATS = ("full", "diff", "single")


def parse_fps(value: Union[str, int, float, Fraction, None], name: str = "--fps") -> Optional[Fraction]:
    """``15``, ``12.5``, ``30000/1001`` -> a positive Fraction (None stays None)."""
    if value is None:
        return None
    rate = numbers.rate(value, name, "a frame rate like 15, 12.5 or 30000/1001")
    if rate <= 0 or rate > 1000:
        raise UsageError(f"{name} must be more than 0 and at most 1000, not {value}")
    return rate


def parse_encoder_opt(text: str) -> tuple[str, str]:
    """``key=value`` from ``--encoder-opt`` (the key is checked against the encoder later)."""
    key, sep, value = str(text).partition("=")
    key = key.strip().lstrip("-")
    if not sep or not _OPT_KEY.match(key):
        raise UsageError(f"--encoder-opt {text!r} is not key=value (e.g. --encoder-opt tune=film)")
    if any(ord(ch) < 32 or ord(ch) == 127 for ch in value):
        raise UsageError(f"--encoder-opt {key}: the value has a control character")
    encoder_opts.check(key, value)  # no option that makes the encoder open a file itself
    return key, value


def check_shaping(enc: "EncodeOptions") -> None:
    """Validate and normalise the shaping fields of ``enc`` in place."""
    for name, flag in (("width", "--width"), ("height", "--height")):
        value = getattr(enc, name)
        if value is not None and (isinstance(value, bool) or not isinstance(value, int)
                                  or not 2 <= value <= 16384):
            raise UsageError(f"{flag} must be a whole number of pixels from 2 to 16384, not {value!r}")
    if enc.scale is not None:
        scale = numbers.ratio(enc.scale, "--scale", "a number like 0.5")
        if not 0 < scale <= 8:
            raise UsageError(f"--scale must be more than 0 and at most 8, not {enc.scale}")
        if enc.width is not None or enc.height is not None:
            raise UsageError("give --scale or --width/--height, not both")
        object.__setattr__(enc, "scale", scale)
    object.__setattr__(enc, "fps", parse_fps(enc.fps))
    if enc.audio_bitrate is not None and not _BITRATE.match(str(enc.audio_bitrate)):
        raise UsageError(f"--audio-bitrate {enc.audio_bitrate!r} is not a bitrate like 128k or 192000")
    opts = tuple(parse_encoder_opt(o) if isinstance(o, str) else parse_encoder_opt(f"{o[0]}={o[1]}")
                 for o in enc.encoder_opts)
    object.__setattr__(enc, "encoder_opts", opts)
    if enc.gif_dither is not None:
        base = enc.gif_dither.split(":")[0]
        if base not in DITHERS or not re.fullmatch(r"[a-z0-9_]+(:bayer_scale=[0-5])?", enc.gif_dither):
            raise UsageError(f"--gif-dither must be one of {', '.join(DITHERS)} (bayer may add "
                             f":bayer_scale=0..5), not {enc.gif_dither!r}")
    if enc.gif_stats is not None and enc.gif_stats not in GIF_STATS:
        raise UsageError(f"--gif-stats must be one of {', '.join(GIF_STATS)}, not {enc.gif_stats!r}")
