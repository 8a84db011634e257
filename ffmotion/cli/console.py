"""What the command line writes: machine-readable lines on stdout, messages on stderr, and
progress on stderr as a bar (a terminal only), JSON lines (``--progress json``) or nothing."""
from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
import threading
from typing import Callable, Iterator, Optional

from ffmotion.core import terminal
from ffmotion.core.errors import WriteFailed

_diverted: Optional[Callable[[str], None]] = None  # --json: stdout is the report's alone


def divert_stdout(to: Callable[[str], None]) -> Callable[[], None]:
    """Send what :func:`out` would print to ``to`` instead; returns the undo."""
    global _diverted
    before, _diverted = _diverted, to

    def restore() -> None:
        global _diverted
        _diverted = before

    return restore


@contextlib.contextmanager
def undiverted() -> Iterator[None]:
    """:func:`out` prints again for the length of the block (the report itself)."""
    global _diverted
    before, _diverted = _diverted, None
    try:
        yield
    finally:
        _diverted = before


def out(text: str) -> None:
    """A line of machine-readable output on stdout; a stdout that cannot take it (a full
    disk, a closed pipe) is one error line, not a traceback. Under ``--json`` the line goes
    into the report instead (stdout holds the report alone)."""
    if _diverted is not None:
        _diverted(text)
        return
    try:
        print(text)
    except OSError as exc:
        stdout_to_null()
        raise WriteFailed(f"cannot write to stdout: {exc.strerror or exc}") from None


def say(args: argparse.Namespace, message: str) -> None:
    """A message on stderr, unless -q."""
    if not getattr(args, "quiet", False):
        print(message, file=sys.stderr)


def bar(args: argparse.Namespace) -> bool:
    """Whether a progress bar is drawn: ``--progress auto`` (the default), no ``-q``, and a
    stderr that takes escape sequences (a terminal, ``TERM`` not ``dumb``)."""
    return (getattr(args, "progress", "auto") in (None, "auto")
            and not getattr(args, "quiet", False) and terminal.fancy(sys.stderr))


@contextlib.contextmanager
def progress_lines(args: argparse.Namespace) -> Iterator[None]:
    """``--progress json``: one JSON line on stderr per progress report of every ffmpeg run
    (from the runner's one parser, :func:`ffmotion.run.runner.watching`), ``-q`` or not."""
    if getattr(args, "progress", None) != "json":
        yield
        return
    from ffmotion.run import runner

    lock = threading.Lock()

    def line(update: "runner.Update") -> None:
        percent = (round(100.0 * min(update.frame, update.total) / update.total, 1)
                   if update.total else None)
        text = json.dumps({"event": "progress", "run": update.run, "frame": update.frame,
                           "total": update.total, "percent": percent,
                           "fps": _rounded(update.fps), "eta_s": _rounded(update.eta),
                           "elapsed_s": _rounded(update.elapsed),
                           "speed": _rounded(update.speed), "done": update.done})
        with lock, contextlib.suppress(OSError, ValueError):
            sys.stderr.write(text + "\n")
            sys.stderr.flush()

    with runner.watching(progress=line):
        yield


def _rounded(value: Optional[float]) -> Optional[float]:
    return None if value is None else round(value, 3)


def count(n: int, noun: str) -> str:
    """``1 frame``, ``2 frames``."""
    return f"{n} {noun}{'' if n == 1 else 's'}"


def flush_stdout() -> None:
    """Flush stdout now, so that a full disk or a closed pipe behind it is one line here and
    not an "Exception ignored" message (and exit 120) at interpreter shutdown."""
    try:
        sys.stdout.flush()
    except (OSError, ValueError) as exc:
        stdout_to_null()
        raise WriteFailed(f"cannot write to stdout: {getattr(exc, 'strerror', None) or exc}") from None


def stdout_to_null() -> None:
    with contextlib.suppress(OSError, ValueError):
        null = os.open(os.devnull, os.O_WRONLY)
        os.dup2(null, sys.stdout.fileno())
        os.close(null)


def error(line: str) -> None:
    """The one error line; a terminal that is gone (SIGHUP) must not turn it into a traceback."""
    try:
        print(line, file=sys.stderr, flush=True)
    except (OSError, ValueError):
        with contextlib.suppress(OSError, ValueError):
            null = os.open(os.devnull, os.O_WRONLY)
            os.dup2(null, sys.stderr.fileno())
            os.close(null)
