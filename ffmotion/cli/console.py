"""What the command line writes: machine-readable lines on stdout, messages on stderr."""
from __future__ import annotations

import argparse
import contextlib
import os
import sys

from ffmotion.core.errors import WriteFailed


def out(text: str) -> None:
    """A line of machine-readable output on stdout; a stdout that cannot take it (a full
    disk, a closed pipe) is one error line, not a traceback."""
    try:
        print(text)
    except OSError as exc:
        stdout_to_null()
        raise WriteFailed(f"cannot write to stdout: {exc.strerror or exc}") from None


def say(args: argparse.Namespace, message: str) -> None:
    """A message on stderr, unless -q."""
    if not args.quiet:
        print(message, file=sys.stderr)


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
