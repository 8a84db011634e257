"""The frozen options of one motion-extraction job, and parsing of offsets."""
from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Literal, Optional, Union

from .errors import UsageError

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
        text = str(value)
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
        return math.floor(self.seconds * fps + Fraction(1, 2))


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

    def __post_init__(self) -> None:
        if self.lossless and self.codec is not None:
            raise UsageError("--lossless chooses the codec (ffv1): drop --codec, or drop --lossless")
        if self.crf is not None and (not math.isfinite(self.crf) or self.crf < 0):
            raise UsageError(f"--crf must be a number of 0 or more, not {self.crf}")
        for name, value in (("--codec", self.codec), ("--preset", self.preset), ("--pix-fmt", self.pix_fmt)):
            if value is not None and not re.fullmatch(r"[A-Za-z0-9_.\-]+", value):
                raise UsageError(f"{name} {value!r} is not a valid name")


@dataclass(frozen=True)
class Options:
    """Everything one job needs, already validated. Paths are absolute."""

    src: Path
    dst: Path
    offset: FrameOffset
    mode: Mode = "offset"
    audio: bool = True
    encode: EncodeOptions = field(default_factory=EncodeOptions)
    overwrite: bool = False
    # Decoder and filter threads of the ffmpeg process (None: ffmpeg's default). Never the
    # encoder's: x264's thread count changes its output bytes, and these do not.
    threads: Optional[int] = None
    strategy: StrategyChoice = "auto"
    max_buffer: int = DEFAULT_MAX_BUFFER  # bytes of decoded frames "split" may hold (auto)

    def __post_init__(self) -> None:
        _check_strategy(self.strategy, self.max_buffer)
        if self.mode not in MODES:
            raise UsageError(f"mode must be one of {', '.join(MODES)}, not {self.mode!r}")
        object.__setattr__(self, "src", Path(self.src).expanduser().absolute())
        object.__setattr__(self, "dst", Path(self.dst).expanduser().absolute())
        object.__setattr__(self, "offset", FrameOffset.parse(self.offset))
        if self.threads is not None and (isinstance(self.threads, bool) or self.threads < 1):
            raise UsageError(f"threads must be 1 or more, not {self.threads}")
        if self.mode == "offset" and self.offset.frames == 0:
            raise UsageError("--offset must be at least 1 frame (0 would compare each frame with itself)")


_SIZE = re.compile(r"^\s*(\d+(?:\.\d*)?|\.\d+)\s*([kmgt]?)(i?b?)\s*$", re.IGNORECASE)


def parse_size(value: Union[str, int]) -> int:
    """Bytes from ``256M``, ``1.5G``, ``512MiB``, ``100k`` or a plain byte count (powers of 1024)."""
    if isinstance(value, int) and not isinstance(value, bool):
        if value < 0:
            raise UsageError(f"--max-buffer must be 0 or more, not {value}")
        return value
    match = _SIZE.match(str(value))
    if not match:
        raise UsageError(f"--max-buffer {value!r} is not a size like 256M, 1G or 500000000")
    number, unit = Fraction(match.group(1)), match.group(2).lower()
    return int(number * 1024 ** "_kmgt".index(unit or "_"))


def _check_strategy(strategy: str, max_buffer: int) -> None:
    if strategy not in STRATEGIES:
        raise UsageError(f"--strategy must be one of {', '.join(STRATEGIES)}, not {strategy!r}")
    if isinstance(max_buffer, bool) or not isinstance(max_buffer, int) or max_buffer < 0:
        raise UsageError(f"--max-buffer must be a number of bytes, 0 or more, not {max_buffer!r}")
