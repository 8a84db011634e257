"""Exception types whose message is what the user reads: one line, no traceback."""
from __future__ import annotations

import contextlib
from typing import Callable, Iterator


class FfmotionError(Exception):
    """Base class. ``exit_code`` is what the command-line tool exits with."""

    exit_code = 1


class UsageError(FfmotionError):
    """The request itself is wrong (arguments, paths, offsets): exit code 2."""

    exit_code = 2


class MediaError(FfmotionError):
    """The input cannot be used: not a media file, no video stream, no frames."""


class ToolError(FfmotionError):
    """ffmpeg (or ffprobe) is missing, broken, or lacks something we need."""


class FFmpegFailed(FfmotionError):
    """ffmpeg ran and failed; ``stderr_tail`` keeps its last lines for debugging."""

    def __init__(self, message: str, stderr_tail: str = "") -> None:
        super().__init__(message)
        self.stderr_tail = stderr_tail


class Interrupted(FfmotionError):
    """Stopped by Ctrl-C or SIGTERM; children were killed and temp files removed."""

    exit_code = 130


class WriteFailed(FfmotionError):
    """A file could not be written (disk full, I/O error); nothing partial was left."""


class OutputBusy(FfmotionError):
    """Another live ffmotion run holds the lock of the output this run would write."""


# -- how messages name an option --------------------------------------------------------------
#
# The library names an option by its field (``threads``, ``rgb_offsets``); the command line by
# its flag (``--threads``, ``--rgb-offsets``). Messages are written once, with :func:`field`;
# only ffmotion.cli installs the flag spelling, for the length of a command.

_spelling: Callable[[str], str] = str


def field(name: str) -> str:
    """How this message names the option ``name`` (a request field's name)."""
    return _spelling(name)


@contextlib.contextmanager
def spelled_as(spelling: Callable[[str], str]) -> Iterator[None]:
    """Within the block, :func:`field` names options by ``spelling`` (the CLI: its flags)."""
    global _spelling
    before, _spelling = _spelling, spelling
    try:
        yield
    finally:
        _spelling = before
