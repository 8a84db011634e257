"""core/terminal: escape sequences only to a terminal whose TERM is not dumb; colour only
then and without NO_COLOR; widths from COLUMNS, else the terminal, else the fallback."""
from __future__ import annotations

import io
import os

import pytest

from ffmotion.core import terminal


class Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


class Closed(io.StringIO):
    def isatty(self) -> bool:
        raise ValueError("I/O operation on closed file")


@pytest.mark.parametrize("term, no_color, fancy, colour", [
    ("xterm-256color", None, True, True),
    ("xterm-256color", "1", True, False),
    ("xterm-256color", "", True, True),  # NO_COLOR set but empty: no-color.org says colour
    ("dumb", None, False, False),
    ("", None, True, True),
])
def test_a_terminal(monkeypatch: pytest.MonkeyPatch, term: str, no_color: str | None,
                    fancy: bool, colour: bool) -> None:
    monkeypatch.setenv("TERM", term)
    if no_color is None:
        monkeypatch.delenv("NO_COLOR", raising=False)
    else:
        monkeypatch.setenv("NO_COLOR", no_color)
    assert terminal.fancy(Tty()) is fancy and terminal.colour(Tty()) is colour


def test_not_a_terminal_gets_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TERM", "xterm")
    monkeypatch.delenv("NO_COLOR", raising=False)
    for stream in (io.StringIO(), Closed(), object()):
        assert not terminal.fancy(stream) and not terminal.colour(stream)


def test_width_follows_columns(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "57")
    assert terminal.width() == 57
    monkeypatch.setenv("COLUMNS", "0")  # a pty never sized reports 0: the fallback
    monkeypatch.setattr("shutil.get_terminal_size",
                        lambda fallback: os.terminal_size((0, 0)))
    assert terminal.width(91) == 91
