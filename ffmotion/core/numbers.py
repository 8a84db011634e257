"""The one reading of the numbers a user types (options, preset values): plain ASCII digits.

Python's own conversions take more than a user means and can fail badly: ``int`` refuses more
than 4300 digits with a ValueError, ``Fraction("1e999999999")`` computes a number with a
billion digits (minutes, gigabytes), ``int("١٢")`` reads Arabic-Indic digits and
``"²".isdigit()`` is true where ``int("²")`` fails. So every number goes through here first:
the text is stripped, at most :data:`MAX_CHARS` characters of ASCII, and read by a fixed
grammar; anything else is one :class:`UsageError` naming the option.
"""
from __future__ import annotations

import math
import re
from fractions import Fraction

from ffmotion.core.errors import UsageError

MAX_CHARS = 64  # longer than any time, size or rate a person writes
DECIMAL = r"(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)"
_WHOLE = re.compile(r"[+-]?[0-9]+", re.ASCII)
_REAL = re.compile(rf"[+-]?{DECIMAL}(?:[eE][+-]?[0-9]{{1,4}})?", re.ASCII)
_RATIO = re.compile(rf"[+-]?{DECIMAL}(?:/[0-9]+)?", re.ASCII)


def shown(text: str) -> str:
    """``text`` for a message: quoted, escaped, and cut short when long."""
    return repr(text if len(text) <= MAX_CHARS else text[:MAX_CHARS] + "...")


def value_text(value: object) -> str:
    """Any value for a message, short: a huge integer is not printed (it could not be)."""
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) > 10**MAX_CHARS:
        return "a number too large"
    return shown(value) if isinstance(value, str) else shown(repr(value))[1:-1]


def text(value: object, name: str) -> str:
    """``value`` as the text of a number: stripped, ASCII, at most :data:`MAX_CHARS`."""
    raw = str(value).strip()
    if len(raw) > MAX_CHARS:
        raise UsageError(f"{name} {shown(raw)} is too long for a number (at most "
                         f"{MAX_CHARS} characters)")
    if not raw.isascii() or not raw.isprintable():
        raise UsageError(f"{name} {shown(raw)}: write numbers with the digits 0-9")
    return raw


def whole(value: object, name: str, expected: str = "a whole number") -> int:
    """``12``, ``+12``, ``-3`` (the caller checks the range)."""
    raw = text(value, name)
    if not _WHOLE.fullmatch(raw):
        raise UsageError(f"{name} {shown(raw)} is not {expected}")
    return int(raw)


def real(value: object, name: str, expected: str = "a number") -> float:
    """``2``, ``0.5``, ``.5``, ``1e-3``: a finite float (no ``nan``, ``inf``, overflow)."""
    raw = text(value, name)
    number = float(raw) if _REAL.fullmatch(raw) else math.nan
    if not math.isfinite(number):
        raise UsageError(f"{name} {shown(raw)} is not {expected}")
    return number


def ratio(value: object, name: str, expected: str = "a number like 2, 0.5 or 30000/1001",
          ) -> Fraction:
    """``15``, ``12.5``, ``30000/1001`` exactly (no exponent: it could ask for any size)."""
    raw = text(value, name)
    if not _RATIO.fullmatch(raw) or re.fullmatch(r".*/0+", raw):
        raise UsageError(f"{name} {shown(raw)} is not {expected}")
    return Fraction(raw)




MAX_RATE_TERM = 2**31 - 1  # ffmpeg keeps a rate as a fraction of two 32-bit integers


def rate(value: object, name: str, expected: str) -> Fraction:
    """A frame rate as :func:`ratio` reads it, that ffmpeg can hold exactly."""
    found = ratio(value, name, expected)
    if max(found.numerator, abs(found.denominator)) > MAX_RATE_TERM:
        raise UsageError(f"{name} {shown(text(value, name))}: ffmpeg holds a rate as a fraction "
                         f"of whole numbers up to {MAX_RATE_TERM} (like 30000/1001)")
    return found


MAX_TIMEOUT = 86400.0  # seconds: a day
