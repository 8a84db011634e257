"""The held output's plumbing (the commands: :mod:`ffmotion.graph.handover`).

One *sink* ffmpeg runs for the whole job, reading YUV4MPEG frames on its stdin and writing
the output. Each *source* ffmpeg (the first, then one per restart) writes its frames to a
pipe that :meth:`HeldOutput.take` reads and passes on, whole frames only. From a restart's
request (:meth:`HeldOutput.hold`) until the new source's first frame, the old source's
frames are dropped and the sink gets the last frame passed on again, at the frame rate: the
output keeps its pace, and every frame in it is a blended one. Frames are copied, never
decoded or changed.
"""
from __future__ import annotations

import collections
import contextlib
import os
import queue
import signal
import subprocess
import sys
import threading
import time
from fractions import Fraction
from typing import IO, Callable, Optional

from ffmotion.core.errors import FFmpegFailed
from ffmotion.run import procs, runner, signals
from ffmotion.run.stdin import Relay

MAX_HEADER = 512
KEEP_BYTES = 256 * 2**20  # the capture's frames kept for the next graph, at most
WATCH_PERIOD = 0.25  # seconds between the looks at a write that does not end
FINISH_WAIT = 2.0  # seconds the sink may take to finish once its stdin ended
FEED_BACKLOG = 30  # frames waiting for a graph before the capture waits for it
# YUV4MPEG's C tag -> (chroma width divisor, chroma height divisor, planes)
_CHROMA = {"420": (2, 2, 3), "422": (2, 1, 3), "444": (1, 1, 3), "411": (4, 1, 3),
           "mono": (1, 1, 1)}


def frame_bytes(header: bytes) -> tuple[int, Fraction]:
    """The size of one frame and the frame rate a YUV4MPEG stream header says."""
    fields = header.decode("ascii", "replace").split()
    if not fields or fields[0] != "YUV4MPEG2":
        raise FFmpegFailed(f"not a YUV4MPEG stream: {header[:40]!r}")
    width = height = 0
    rate = Fraction(0)
    chroma = "420"
    for item in fields[1:]:
        tag, value = item[:1], item[1:]
        if tag == "W":
            width = int(value)
        elif tag == "H":
            height = int(value)
        elif tag == "F":
            num, _, den = value.partition(":")
            rate = Fraction(int(num), int(den or 1))
        elif tag == "C":
            chroma = value
    base = next((name for name in _CHROMA if chroma.startswith(name)), None)
    if base is None or width <= 0 or height <= 0 or rate <= 0:
        raise FFmpegFailed(f"a YUV4MPEG header this cannot read: {header.strip()!r}")
    depth = chroma[len(base):].lstrip("p")
    sample = 2 if depth.isdigit() and int(depth) > 8 else 1
    dx, dy, planes = _CHROMA[base]
    chroma_plane = -(-width // dx) * -(-height // dy) if planes == 3 else 0
    return (width * height + 2 * chroma_plane) * sample, rate


class HeldOutput:
    """The sink ffmpeg and what feeds it (see the module docstring). ``on_failure`` is
    called (from a reader thread) when the sink stops taking frames: the job must end."""

    def __init__(self, argv: list[str], to_stdout: bool = False,
                 on_failure: Optional[Callable[[], None]] = None) -> None:
        read_end, write_end = os.pipe()  # its -progress: the frames it has really sent
        full = [argv[0], "-loglevel", "error", "-nostats", "-progress", f"pipe:{write_end}",
                *argv[1:]]
        try:
            self.proc, self.drain = runner.start(
                full, stdin=subprocess.PIPE,
                stdout=sys.stdout.fileno() if to_stdout else subprocess.DEVNULL,
                pass_fds=(write_end,))
        except BaseException:
            os.close(read_end)
            raise
        finally:
            os.close(write_end)
        self.sent = 0  # frames the sink reports as written out
        self.progress = threading.Thread(target=self._follow, args=(read_end,),
                                         name="ffmotion-held-progress", daemon=True)
        self.progress.start()
        self.on_failure = on_failure
        self.header: Optional[bytes] = None
        self.size = 0
        self.interval = 0.0
        self.last: Optional[bytes] = None
        self.last_at = 0.0  # when the last frame was written (a repeat's time: its due time)
        self.arrived_at = 0.0  # when the last frame came from a graph
        self.written = 0  # frames the sink got, repeated ones included
        self.repeated = 0  # frames written again while a restart held the output
        self.dropped = 0  # frames of a graph replaced by a restart, not passed on
        self.caught_up = 0  # frames of a new graph's first burst dropped (see take)
        self.debt = 0  # repeats of the hold now ending, not yet made up for
        self._repeated_before_hold = 0
        self.holding = False
        self.generation = 0  # a hold starts a new one: frames of an older graph are dropped
        self.broken = False
        self.closed = False
        self.interrupted = False  # the sink was asked to stop (SIGINT) by close or unstick
        self.writing_since: Optional[float] = None  # a write to the sink under way since
        self.cond = threading.Condition()  # the state; never held while writing
        self.writing = threading.Lock()  # the sink's stdin
        self.filler = threading.Thread(target=self._fill, name="ffmotion-held", daemon=True)
        self.filler.start()

    def _follow(self, fd: int) -> None:
        with open(fd, "rb") as lines:
            for raw in iter(lines.readline, b""):
                key, _, value = raw.decode("ascii", "replace").strip().partition("=")
                if key == "frame" and value.isdigit():
                    self.sent = int(value)

    def hold(self) -> None:
        """A restart was asked: drop the running graph's frames from now on and repeat the
        last frame until the next graph's first."""
        with self.cond:
            self.holding = True
            self.generation += 1
            self.cond.notify_all()

    def take(self, stream: IO[bytes]) -> int:
        """Pass one graph's frames on until its stream ends; how many were passed on.

        A new graph starts from the camera's frames up to the restart, so its first frames
        come in a burst, for the time the last frame was repeated: as many of them as were
        repeated are dropped (never its first, which shows the change), so that the output
        keeps the camera's time instead of running ahead by a restart's length each time."""
        with self.cond:
            mine = self.generation
        header = stream.readline(MAX_HEADER)
        if not header.endswith(b"\n"):
            return 0  # the graph ended (or failed) before its first frame: its run says why
        size, rate = frame_bytes(header)
        with self.writing:
            if self.header is None:
                self.header, self.size, self.interval = header, size, float(1 / rate)
                self._write(header)
            elif header != self.header:
                raise FFmpegFailed("the restarted graph makes other frames (size, format or "
                                   f"rate): {header.strip()!r} after {self.header.strip()!r}")
        passed = 0
        while True:
            mark = stream.readline(MAX_HEADER)
            if not mark.startswith(b"FRAME"):
                return passed
            data = stream.read(size)
            if len(data) < size:
                return passed
            with self.writing:  # a frame and a repeat never cross
                with self.cond:
                    now = time.monotonic()
                    burst = now - self.arrived_at < self.interval / 2
                    self.arrived_at = now
                    if mine != self.generation:  # a restart was asked: a new graph takes over
                        self.dropped += 1
                        continue
                    if self.holding:  # a new graph's first frame ends the hold
                        self.holding, self.debt = False, self.repeated_in_hold
                    elif self.debt and burst:
                        self.debt -= 1
                        self.caught_up += 1
                        continue
                    else:
                        self.debt = 0  # frames at the camera's pace: nothing left to make up
                    self.last, self.last_at = data, now
                self._frame(data)
            passed += 1

    @property
    def repeated_in_hold(self) -> int:
        return self.repeated - self._repeated_before_hold

    def _frame(self, data: bytes) -> None:
        self._write(b"FRAME\n")
        self._write(data)
        self.written += 1

    def _write(self, data: bytes) -> None:
        if self.broken:
            return
        stdin = self.proc.stdin
        assert stdin is not None
        self.writing_since = time.monotonic()
        try:
            stdin.write(data)
            stdin.flush()
        except (BrokenPipeError, OSError, ValueError):
            self.broken = True
            if self.on_failure is not None:
                self.on_failure()
        finally:
            self.writing_since = None

    def _fill(self) -> None:
        """While held: the last frame again each frame interval after the last written.
        Also the watch for a job stopped while a graph's frames wait on a sink that takes
        none (see :meth:`unstick`): the graph could not finish, nor the job end."""
        while True:
            with self.cond:
                if self.closed:
                    return
                since = self.writing_since
                if (since is not None and not self.interrupted and signals.received()
                        and time.monotonic() - since > FINISH_WAIT):
                    self.unstick()
                if not self.holding or self.last is None or self.broken:
                    self._repeated_before_hold = self.repeated
                    self.cond.wait(WATCH_PERIOD)
                    continue
                wait = self.last_at + self.interval - time.monotonic()
                if wait > 0:
                    self.cond.wait(wait)
                    continue
            with self.writing:
                with self.cond:  # again: a new graph's frame may have come meanwhile
                    due = self.last_at + self.interval
                    if not self.holding or self.closed or time.monotonic() < due:
                        continue
                    self.last_at, data = due, self.last
                assert data is not None
                self._frame(data)
                self.repeated += 1

    def unstick(self) -> None:
        """The sink takes no frames (an SRT listener no reader joined, a pipe nobody reads)
        and a thread is blocked writing to it: ask it to stop as Ctrl-C would (it gives up
        waiting and finishes what it has), killed after
        :data:`ffmotion.run.runner.STOP_GRACE`."""
        self.interrupted = True
        with contextlib.suppress(OSError):
            self.proc.send_signal(signal.SIGINT)
        timer = threading.Timer(runner.STOP_GRACE, procs.kill, args=(self.proc,))
        timer.daemon = True
        timer.start()

    def close(self, quietly: bool = False) -> None:
        """End the output: the sink gets the end of its stdin and finishes; one that has not
        within :data:`FINISH_WAIT` is asked to stop (SIGINT) and killed after
        :data:`ffmotion.run.runner.STOP_GRACE`; its failure is raised. ``quietly`` (the job
        failed already), or before any frame: killed at once, nothing raised."""
        with self.cond:
            self.closed = True
            self.cond.notify_all()
        if quietly or self.header is None:
            runner.kill(self.proc)
            self.filler.join(timeout=5)
            self.progress.join(timeout=5)
            return
        self.filler.join(timeout=FINISH_WAIT)
        if self.filler.is_alive():  # blocked writing a repeat: the sink takes nothing
            self.unstick()
            self.filler.join(timeout=runner.STOP_GRACE + 5)
        proc = self.proc
        with contextlib.suppress(OSError, ValueError):
            assert proc.stdin is not None
            proc.stdin.close()
        try:
            try:
                proc.wait(timeout=FINISH_WAIT)
            except subprocess.TimeoutExpired:
                self.unstick()
                proc.wait(timeout=runner.STOP_GRACE + 5)
        except subprocess.TimeoutExpired:
            pass
        except KeyboardInterrupt:
            runner.kill(proc)
            raise
        code = proc.poll()
        runner.kill(proc)
        self.progress.join(timeout=5)  # its last report, once it has ended
        if code is None:
            raise FFmpegFailed(f"the output's ffmpeg did not finish within "
                               f"{runner.STOP_GRACE:g} s: killed")
        if code != 0 and not (self.interrupted and code == 255):
            raise self.drain.failure(code)


class HeldInput:
    """The capture ffmpeg (:func:`ffmotion.graph.handover.capture_command`): its frames go to
    the graph now attached (:meth:`attach`), and the last ``keep`` stay here (at most
    :data:`KEEP_BYTES`), so that a new graph starts with the frames before "now"."""

    def __init__(self, argv: list[str], keep: int, pix_fmt: str, stdin: bool = False) -> None:
        full = [argv[0], "-loglevel", "error", "-nostats", *argv[1:]]
        self.pix_fmt = pix_fmt  # the format the frames are passed on in, for every graph
        self.keep = max(1, keep)
        self.proc, self.drain = runner.start(
            full, stdin=subprocess.PIPE if stdin else subprocess.DEVNULL, stdout=subprocess.PIPE)
        # ``stdin``: the source is this process's stdin, the probe's head first
        self.relay = Relay(self.proc.stdin) if stdin else None
        self.ring: collections.deque[bytes] = collections.deque(maxlen=self.keep)
        self.header: Optional[bytes] = None
        self.cond = threading.Condition()
        self.feed: Optional[_Feed] = None
        self.frames = 0
        self.ended = False
        self.reader = threading.Thread(target=self._read, name="ffmotion-capture", daemon=True)
        self.reader.start()

    def _read(self) -> None:
        stream = self.proc.stdout
        assert stream is not None
        try:
            header = stream.readline(MAX_HEADER)
            if header.endswith(b"\n"):
                size, _ = frame_bytes(header)
                with self.cond:
                    self.header = header
                    self.ring = collections.deque(maxlen=max(1, min(self.keep,
                                                                    KEEP_BYTES // size)))
                    self.cond.notify_all()
                while stream.readline(MAX_HEADER).startswith(b"FRAME"):
                    data = stream.read(size)
                    if len(data) < size:
                        break
                    with self.cond:
                        self.ring.append(data)
                        self.frames += 1
                        feed = self.feed
                    if feed is not None:
                        feed.put(data)
        except (OSError, ValueError, FFmpegFailed):
            pass
        finally:
            with self.cond:
                self.ended = True
                feed, self.feed = self.feed, None
                self.cond.notify_all()
            if feed is not None:
                feed.end()

    def attach(self, prime: Optional[int], timeout: float = 30.0) -> int:
        """A pipe for a new graph's stdin: the stream's header, the last ``prime`` frames
        (None: all kept, from the first while the ring has not turned), then each new one
        (the previous graph's pipe ends); its read end is returned (the caller closes it
        once the graph has started)."""
        with self.cond:
            self.cond.wait_for(lambda: self.header is not None or self.ended, timeout)
            if self.header is None:
                trouble = self.failure() if self.ended else None
                raise trouble or FFmpegFailed("the source gave no frame" + (
                    "" if self.ended else f" within {timeout:g} s"))
            old, self.feed = self.feed, None
            past = (list(self.ring) if prime is None else
                    list(self.ring)[-prime:] if prime > 0 else [])
            read_end, write_end = os.pipe()
            try:
                feed = _Feed(write_end, self.header, past)
            except BaseException:
                os.close(read_end)
                os.close(write_end)
                raise
            if self.ended:
                feed.end()
            else:
                self.feed = feed
        if old is not None:
            old.end()
        return read_end

    def detach(self) -> None:
        """The graph attached stops getting frames (its stdin ends)."""
        with self.cond:
            feed, self.feed = self.feed, None
        if feed is not None:
            feed.end()

    def close(self) -> None:
        """Stop the capture (one SIGINT, then killed) and every feed."""
        try:
            self.detach()
            if self.relay is not None:
                self.relay.finish()
            with contextlib.suppress(OSError):
                self.proc.send_signal(signal.SIGINT)
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.proc.wait(timeout=5)
        finally:
            runner.kill(self.proc)
            self.reader.join(timeout=5)

    def failure(self) -> Optional[FFmpegFailed]:
        """The capture's error, if it failed (it is given a moment to exit)."""
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.proc.wait(timeout=2)
        code = self.proc.poll()
        return self.drain.failure(code) if code not in (None, 0, 255) else None


class _Feed:
    """Frames written to one graph's stdin by a thread of its own, in order. A graph slower
    than the camera holds the capture back once :data:`FEED_BACKLOG` frames wait (as a
    camera read by a slow ffmpeg is: its own buffer then drops frames), never a growing
    memory; an ended feed writes what waits and closes the pipe."""

    def __init__(self, fd: int, header: bytes, past: list[bytes]) -> None:
        self.fd = fd
        self.queue: "queue.Queue[bytes]" = queue.Queue(maxsize=len(past) + FEED_BACKLOG)
        for data in past:
            self.queue.put_nowait(data)
        self.header = header
        self.ended = threading.Event()
        self.thread = threading.Thread(target=self._write, name="ffmotion-feed", daemon=True)
        self.thread.start()

    def put(self, data: bytes) -> None:
        while not self.ended.is_set():
            try:
                self.queue.put(data, timeout=0.2)
                return
            except queue.Full:
                continue

    def end(self) -> None:
        self.ended.set()

    def _write(self) -> None:
        with contextlib.suppress(OSError, ValueError), open(self.fd, "wb") as out:
            out.write(self.header)
            while True:
                try:
                    data = self.queue.get(timeout=0.2)
                except queue.Empty:
                    if self.ended.is_set():
                        return
                    continue
                out.write(b"FRAME\n")
                out.write(data)
                out.flush()
        self.ended.set()  # the graph is gone: the capture must not wait for it


__all__ = ["HeldInput", "HeldOutput", "frame_bytes"]
