"""The one frames-or-time type, and the arithmetic of frame rates.

An offset (``-k 12``, ``-k 0.5s``), a freeze frame and the ends of a range (``--start 1:30``,
``--end 30f``) are all a number of frames or a time, as the user wrote it, turned into whole
frames only once the input's frame rate is known. They differ only in how a bare number
reads: a count of frames for offsets (``12``), seconds for times (``2.5``, as ffmpeg's
``-ss``); times also take clock notation (``1:02.5``).
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass
from fractions import Fraction
from typing import Literal, Optional, Union

from ffmotion.core import numbers
from ffmotion.core.errors import UsageError, field

_AMOUNT = re.compile(r"^\s*(\d+(?:\.\d*)?|\.\d+)\s*(s|sec|ms|f|frames?)?\s*$", re.IGNORECASE)
_CLOCK = re.compile(r"^\s*(?:(\d+):)?(\d+):(\d+(?:\.\d*)?)\s*$")

Bare = Literal["frames", "seconds"]
Given = Union[str, int, float, Fraction, "FramesOrTime"]


@dataclass(frozen=True)
class FramesOrTime:
    """Whole frames (``frames``) or a time (``seconds``), with the text the user wrote."""

    text: str
    frames: Optional[int] = None
    seconds: Optional[Fraction] = None

    def __post_init__(self) -> None:
        if (self.frames is None) == (self.seconds is None):
            raise ValueError("FramesOrTime holds frames or seconds, exactly one of them")
        if (self.frames is not None and self.frames < 0) or \
                (self.seconds is not None and self.seconds < 0):
            raise ValueError("FramesOrTime is never negative")

    @classmethod
    def offset(cls, value: Given, name: str = "offset") -> "FramesOrTime":
        """An offset or a frame number: ``12`` (frames), ``12f``, ``0.5s``, ``500ms``."""
        if isinstance(value, FramesOrTime):
            return value
        if isinstance(value, bool):
            raise UsageError(f"{field(name)} must be a whole number of frames or a duration, "
                             f"not {value!r}")
        if isinstance(value, float):
            if not math.isfinite(value) or value != int(value):
                raise UsageError(f"{field(name)} {value!r} is not a whole number of frames "
                                 "(write a duration like '0.5s')")
            value = int(value)
        text = numbers.text(str(value) if isinstance(value, int) else value, field(name))
        match = _AMOUNT.match(text)
        if not match:
            raise UsageError(f"{field(name)} {text!r} is not a whole number of frames or a "
                             "duration like 0.5s or 500ms")
        return cls._read(text.strip(), match, "frames", name)

    @classmethod
    def time(cls, value: Given, name: str = "time") -> "FramesOrTime":
        """A time in the input: ``2.5`` (seconds), ``2.5s``, ``500ms``, ``1:30``,
        ``1:00:00``, or whole frames ``30f``."""
        if isinstance(value, FramesOrTime):
            return value
        if isinstance(value, bool):
            raise UsageError(f"{field(name)} must be a time like 2.5, 1:30, 500ms or 30f, not "
                             f"{value!r}")
        if isinstance(value, (int, Fraction)):
            value = str(value) if isinstance(value, int) else f"{float(value)!r}"
        elif isinstance(value, float):
            if not math.isfinite(value) or value < 0:
                raise UsageError(f"{field(name)} must be a time of 0 or more, not {value!r}")
            value = repr(value)
        text = numbers.text(value, field(name))
        clock = _CLOCK.match(text)
        if clock:
            hours, minutes, secs = clock.groups()
            total = Fraction(secs) + 60 * int(minutes) + 3600 * int(hours or 0)
            return cls(text=text, seconds=total)
        match = _AMOUNT.match(text)
        if not match:
            raise UsageError(f"{field(name)} {text!r} is not a time like 2.5, 2.5s, 500ms, "
                             "1:30 or 30f (frames)")
        return cls._read(text, match, "seconds", name)

    @classmethod
    def _read(cls, text: str, match: "re.Match[str]", bare: Bare, name: str) -> "FramesOrTime":
        number, unit = match.group(1), (match.group(2) or "").lower()
        in_frames = unit.startswith("f") or (not unit and bare == "frames")
        if not in_frames:
            return cls(text=text, seconds=Fraction(number) / (1000 if unit == "ms" else 1))
        if "." in number:
            if bare == "frames":
                raise UsageError(f"{field(name)} {text!r} is not a whole number of frames "
                                 "(write a duration like '0.5s')")
            raise UsageError(f"{field(name)} {text!r}: a frame count must be a whole number")
        return cls(text=text, frames=int(number))

    @property
    def is_duration(self) -> bool:
        """Given as a time (seconds), not as frames."""
        return self.seconds is not None

    def to_frames(self, fps: Fraction) -> int:
        """Whole frames at ``fps``; a time rounds to the nearest frame (halves up)."""
        if self.frames is not None:
            return self.frames
        assert self.seconds is not None
        return nearest_frame(self.seconds, fps)

    def is_duration_like(self, other: "FramesOrTime") -> bool:
        """Both in seconds or both in frames: comparable without knowing the frame rate."""
        return (self.frames is None) == (other.frames is None)

    @property
    def amount(self) -> Fraction:
        """The number as given (frames or seconds): for comparing :meth:`is_duration_like`
        values."""
        return Fraction(self.frames) if self.frames is not None else Fraction(self.seconds or 0)


def nearest_frame(seconds: Fraction, fps: Fraction) -> int:
    """The frame nearest to ``seconds`` at ``fps`` (halfway: the later one)."""
    return math.floor(seconds * fps + Fraction(1, 2))


def format_fps(fps: Fraction) -> str:
    """``30`` for 30/1, ``29.97`` for 30000/1001."""
    if fps.denominator == 1:
        return str(fps.numerator)
    return f"{float(fps):.3f}".rstrip("0").rstrip(".")
