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
import threading
import time
from typing import IO, Optional

from ffmotion.core.errors import MediaError

HEAD_BYTES_MAX = 64 * 2**20  # the most of stdin held in memory to be read seekably
RELAY_CHUNK = 1 << 20
RELAY_JOIN = 2.0  # seconds the relay thread gets to end once ffmpeg is gone


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


class Relay:
    """Copies the stdin head, then stdin, to ffmpeg on a thread, and closes ffmpeg's stdin at
    the end of stdin or on :meth:`stop`: a pipe that stays open but quiet must not keep
    ffmpeg waiting for input once the run is stopped (it then finishes the output)."""

    def __init__(self, sink: Optional[IO[bytes]]) -> None:
        assert sink is not None
        self.sink = sink
        self._wake_read, self._wake_write = os.pipe()
        self.thread = threading.Thread(target=self._run, name="ffmotion-stdin-relay",
                                       daemon=True)
        self.thread.start()

    def stop(self) -> None:
        """End the relay: ffmpeg's stdin is closed (it reads the end of the stream)."""
        with contextlib.suppress(OSError):
            os.write(self._wake_write, b"x")

    def finish(self) -> None:
        """Stop the relay and release its wake-up pipe once the thread is done (a thread
        stuck writing to a dead ffmpeg keeps it: its descriptors must not be reused)."""
        self.stop()
        self.thread.join(timeout=RELAY_JOIN)
        if not self.thread.is_alive():
            for fd in (self._wake_read, self._wake_write):
                with contextlib.suppress(OSError):
                    os.close(fd)

    def _run(self) -> None:
        head, ended = take_stdin_head()
        try:
            self.sink.write(head)
            self.sink.flush()
            fd = sys.stdin.fileno()
            while not ended:
                ready, _, _ = select.select([fd, self._wake_read], [], [])
                if self._wake_read in ready:
                    break
                chunk = os.read(fd, RELAY_CHUNK)
                if not chunk:
                    break
                self.sink.write(chunk)
                self.sink.flush()
        except (OSError, ValueError):
            pass  # ffmpeg stopped reading (it finished, failed or was stopped)
        finally:
            with contextlib.suppress(OSError, ValueError):
                self.sink.close()
