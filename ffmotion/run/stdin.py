"""This process's stdin: read once, so what the probe took is kept for ffmpeg.

The head probe of a stream on stdin (:mod:`ffmotion.media.stream`) reads its first bytes; the
run's ffmpeg gets them back, then the rest of stdin, through the relay
(:func:`ffmotion.run.runner.run_ffmpeg`). Where the stream must be read seekably (an MP4 with
its index at the end), all of it is held in one descriptor (:func:`hold_stdin`).
"""
from __future__ import annotations

import contextlib
import os
import select
import stat
import sys
import time
from typing import Optional

from ffmotion.core.errors import MediaError

HEAD_BYTES_MAX = 64 * 2**20  # the most of stdin held in memory to be read seekably


class _StdinHead:
    """The bytes already taken from this process's stdin (it can be read once only), and,
    where the stream must be read seekably, the descriptor that holds all of it."""

    def __init__(self) -> None:
        self.data = b""
        self.ended = False
        self.start: Optional[int] = None  # stdin's offset before the first read (a file)
        self.held: Optional[int] = None  # see :func:`hold_stdin`

    def read_more(self, target: int, wait: float) -> None:
        """Read until ``target`` bytes are held, stdin ends, or ``wait`` seconds passed
        since the first byte (a slow live pipe must not stall the start)."""
        fd = sys.stdin.fileno()
        if not self.data and not self.ended and self.start is None:
            with contextlib.suppress(OSError):
                self.start = os.lseek(fd, 0, os.SEEK_CUR)  # a pipe has no offset
        started: Optional[float] = None
        chunks = [self.data]
        held = len(self.data)
        while held < target and not self.ended:
            if started is not None:
                left = started + wait - time.monotonic()
                if left <= 0:
                    break
                with contextlib.suppress(OSError, ValueError):
                    ready, _, _ = select.select([fd], [], [], left)
                    if not ready:
                        break
            chunk = os.read(fd, min(1 << 20, target - held))
            if not chunk:
                self.ended = True
                break
            if started is None:
                started = time.monotonic()
            chunks.append(chunk)
            held += len(chunk)
        self.data = b"".join(chunks)

    def take(self) -> bytes:
        data, self.data = self.data, b""
        return data


_HEAD = _StdinHead()


def take_stdin_head() -> tuple[bytes, bool]:
    """The head read from stdin by the probe (given once), and whether stdin ended in it."""
    return _HEAD.take(), _HEAD.ended


def held_stdin() -> Optional[int]:
    """The descriptor holding all of stdin from its start, rewound, where the probe found
    that the stream must be read seekably (see :func:`hold_stdin`); None otherwise."""
    if _HEAD.held is not None:
        os.lseek(_HEAD.held, 0, os.SEEK_SET)
    return _HEAD.held


def hold_stdin(wait: float) -> int:
    """A seekable descriptor holding all of stdin from its start: stdin itself when it is a
    file read from its beginning (``< clip.mp4``), else a memory file with the whole stream
    (at most :data:`HEAD_BYTES_MAX`, read for at most ``wait`` seconds). Refused in one line
    when the stream is longer."""
    if _HEAD.held is not None:
        return _HEAD.held
    fd = sys.stdin.fileno()
    if stat.S_ISREG(os.fstat(fd).st_mode) and _HEAD.start == 0:
        _HEAD.held = fd
        return fd
    _HEAD.read_more(HEAD_BYTES_MAX + 1, wait)
    create = getattr(os, "memfd_create", None)
    if not _HEAD.ended or len(_HEAD.data) > HEAD_BYTES_MAX or create is None:
        raise MediaError(
            "stdin is an MP4/MOV with its index at the end, which cannot be read from a pipe"
            f"{f' longer than {HEAD_BYTES_MAX >> 20} MiB' if create is not None else ''}: "
            "give it as a file, or remux it once with -movflags +faststart (ffmpeg -i IN.mp4 "
            "-c copy -movflags +faststart OUT.mp4)")
    held = create("ffmotion-stdin")
    with open(held, "wb", closefd=False) as copy:
        copy.write(_HEAD.data)
    _HEAD.data = b""
    _HEAD.held = held
    return held
