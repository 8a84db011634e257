"""What a terminal may be sent: the one rule for escape sequences, colour and widths.

A stream gets escape sequences (a progress bar redrawn with ``\\r``, cursor moves, a status
line cleared with ``ESC [K``) only when it is a terminal and ``TERM`` is not ``dumb``;
colour, only then and when ``NO_COLOR`` is unset or empty (https://no-color.org). Widths
follow the terminal (``COLUMNS``, else the terminal's own size, else 80).
"""
from __future__ import annotations

import os
import shutil
from typing import IO, Any


def is_terminal(stream: IO[Any]) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError, OSError):  # closed, or not a real stream
        return False


def fancy(stream: IO[Any]) -> bool:
    """Whether ``stream`` may get escape sequences (a bar, a line redrawn in place)."""
    return is_terminal(stream) and os.environ.get("TERM", "") != "dumb"


def colour(stream: IO[Any]) -> bool:
    """Whether ``stream`` may get colour: :func:`fancy` and no ``NO_COLOR``."""
    return fancy(stream) and not os.environ.get("NO_COLOR")


def width(fallback: int = 80) -> int:
    """Columns of the terminal (``COLUMNS`` first); ``fallback`` where none is known or it
    reports 0 (a pty that was never sized)."""
    columns = shutil.get_terminal_size((fallback, 24)).columns
    return columns if columns > 0 else fallback


def lines(fallback: int = 24) -> int:
    rows = shutil.get_terminal_size((80, fallback)).lines
    return rows if rows > 0 else fallback
