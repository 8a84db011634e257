"""Running a plan whose input or output is a stream: relaying stdin, stopping cleanly.

*stdin relay.* The head probe already took the first bytes of stdin
(:mod:`ffmotion.media.stream`); ffmpeg gets them back, then the rest of stdin, through a
pipe written by a thread (compressed bytes as they came: the relay costs a memory copy,
not a decode). Everything else runs as in :mod:`ffmotion.run.runner`: the child dies with
ffmotion, its stderr is drained, progress comes from ``-progress`` (on a pipe of its own,
so that ffmpeg's stdout can be ffmotion's stdout for ``-`` outputs).

*Stopping.* A stream has no end of its own: Ctrl-C (SIGINT), SIGTERM, SIGHUP or SIGQUIT
is how it is stopped. ffmotion then sends ffmpeg one SIGINT, on which ffmpeg stops reading
and finalizes the output (Matroska cues, the HLS ``#EXT-X-ENDLIST``): the result is a
complete, playable file. The stdin relay closes ffmpeg's stdin at the same time: ffmpeg
blocked on a pipe that stays open but sends nothing cannot act on the SIGINT until its
read returns, and the end of its input lets it finish. How that fits the safe-write rule (:mod:`ffmotion.run.outputs`):
the output is still written to a temporary name and moved into place by the same
no-clobber commit; a stop by signal counts as the normal end of a stream, so the finished
temporary file is committed (exit 0, the summary says which signal stopped it) instead of
deleted. ffmpeg gets :data:`STOP_GRACE` seconds to finish; past that it is killed and
nothing is kept (exit 130), as when it fails. The "unblended frames" refusal still holds:
an output of at most K frames from a stream of unknown length cannot be told apart from
blend passing the input through (the stream ended before frame K), so it is refused.
"""
from __future__ import annotations

import contextlib
import logging
import os
import select
import shlex
import signal
import subprocess
import sys
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Callable, Optional

from ffmotion import graph
from ffmotion.graph import outputs as graph_outputs
from ffmotion.run import runner, procs, signals
from ffmotion.core.errors import FFmpegFailed, Interrupted, UsageError
from ffmotion.graph.stream import is_unbounded
from ffmotion.media.stream import HELD_NAME, STDIN_NAME
from ffmotion.run.stdin import held_stdin, take_stdin_head
from ffmotion.run.hls import hls_output, verify_hls

log = logging.getLogger("ffmotion")

STOP_GRACE = 15.0  # seconds ffmpeg may take to finalize the output after the stop signal
RELAY_CHUNK = 1 << 20
RELAY_JOIN = 2.0  # seconds the relay thread gets to end once ffmpeg is gone


@dataclass(frozen=True)
class StreamRun:
    """What a stream run wrote: frames, and the signal that stopped it (None: it ended)."""

    output: Path
    frames: int
    stopped: Optional[str] = None


def run_plan(plan: "graph.Plan", tools: runner.Tools, progress: bool = False,
             on_frames: Optional[Callable[[int], None]] = None) -> StreamRun:
    """Run a plan with a stream input and/or a stream output (see the module docstring)."""
    options = plan.options
    sink = options.sink
    relay = options.source is not None and plan.info.input.name == STDIN_NAME
    held = held_stdin() if plan.info.input.name == HELD_NAME else None
    planned = None if is_unbounded(plan) else graph.delivered_frames(plan)

    def go(argv: list[str], to_stdout: bool = False) -> tuple[int, Optional[str]]:
        written, stopped = run_ffmpeg(argv, relay=relay, stdin=held, to_stdout=to_stdout,
                                      total_frames=planned, progress=progress,
                                      on_frames=on_frames)
        check_frames(plan, written, planned)
        return written, stopped

    if sink is None or sink.kind == "file":
        sequence = graph_outputs.is_sequence(options.dst)
        writer = runner.atomic_sequence if sequence else runner.atomic_output
        with writer(options.dst, options.overwrite) as tmp:
            written, stopped = go(graph.command(plan, tools.ffmpeg, tmp, overwrite=True))
        return StreamRun(options.dst, written, stopped)
    if sink.kind == "hls":
        from ffmotion.api import input_files

        with hls_output(options.dst, options.overwrite, input_files(options)) as playlist:
            written, stopped = go(graph.command(plan, tools.ffmpeg, playlist, overwrite=True))
            verify_hls(playlist, written, tools.ffmpeg)
        return StreamRun(options.dst, written, stopped)
    if sink.kind == "stdout":
        _check_stdout()
    written, stopped = go(graph.command(plan, tools.ffmpeg, overwrite=True),
                          to_stdout=sink.kind == "stdout")
    return StreamRun(Path(sink.shown), written, stopped)


def check_frames(plan: "graph.Plan", written: int, planned: Optional[int]) -> None:
    """Refuse an output that may hold frames not blended (see the module docstring)."""
    from ffmotion.api import check_written

    if planned is not None:  # a range of a stream, or a file input: the frames are known
        check_written(plan, written, planned)
        return
    limit = max(plan.channel_ks) if plan.channel_ks else plan.k
    if written <= limit:
        what = "frame K" if plan.mode == "freeze" else "K+1 frames (2K to be sure)"
        raise FFmpegFailed(
            f"{plan.info.path.name}: ffmpeg wrote {written} frames, at most K={limit}: the "
            f"stream may have ended before {what}, and then the frames are not blended: "
            "no output kept")


def _check_stdout() -> None:
    try:
        fd = sys.stdout.fileno()
    except (AttributeError, ValueError, OSError):
        raise UsageError("output '-' is stdout, and there is none here") from None
    if os.isatty(fd):
        raise UsageError("output '-' writes video to stdout, which is a terminal: pipe it "
                         "into a player (ffmotion IN - | ffplay -) or give a file name")
    with contextlib.suppress(OSError, ValueError):
        sys.stdout.flush()


def run_ffmpeg(argv: list[str], *, relay: bool = False, stdin: Optional[int] = None,
               to_stdout: bool = False, total_frames: Optional[int] = None,
               progress: bool = False,
               on_frames: Optional[Callable[[int], None]] = None) -> tuple[int, Optional[str]]:
    """Run ``argv`` (as :func:`graph.command` builds it) until it ends or a stop signal
    arrives; return (video frames written, the stop signal's name or None).

    ``relay``: ffmpeg reads ``pipe:0``, fed with the stdin head and the rest of stdin.
    ``stdin``: a descriptor ffmpeg gets as its stdin instead (stdin held seekably, read
    as ``fd:``). ``to_stdout``: ffmpeg's stdout is ffmotion's (``-`` outputs).
    """
    read_end, write_end = os.pipe()
    full = [argv[0], "-loglevel", "error", "-nostats", "-progress", f"pipe:{write_end}",
            *argv[1:]]
    log.debug("run: %s", shlex.join(full))
    try:
        proc = procs.popen(full, on_start=runner._track,
                           stdin=subprocess.PIPE if relay else
                           (subprocess.DEVNULL if stdin is None else stdin),
                           stdout=sys.stdout.fileno() if to_stdout else subprocess.DEVNULL,
                           stderr=subprocess.PIPE, pass_fds=(write_end,))
    finally:
        os.close(write_end)
    drain = runner._StderrDrain(proc.stderr)  # type: ignore[arg-type]
    runner._drains[proc] = drain
    relayed = _Relay(proc.stdin) if relay else None
    bar = _bar(total_frames) if progress else None
    counter = _Counter(bar, on_frames)
    stopped: Optional[str] = None
    reader = os.fdopen(read_end, "rb")
    try:
        try:
            counter.follow(reader)
        except KeyboardInterrupt:
            stopped = signals.received() or "SIGINT"
            _stop(proc)
            if relayed is not None:  # ffmpeg may be waiting for stdin: give it the end
                relayed.stop()
            try:
                counter.follow(reader)
            except KeyboardInterrupt:  # a second one (where signals are not handled)
                raise Interrupted("interrupted twice: ffmpeg killed, no output written") from None
        proc.wait()
    except KeyboardInterrupt:
        raise Interrupted("interrupted: ffmpeg stopped, no output written") from None
    finally:
        runner._kill(proc)
        if relayed is not None:
            relayed.finish()
        reader.close()
        if bar is not None:
            with contextlib.suppress(Exception):
                bar.close()
    code = proc.returncode
    if stopped is not None:
        if code not in (0, 255) or not counter.ended:
            raise Interrupted(f"interrupted: ffmpeg did not finish the output within "
                              f"{STOP_GRACE:g} s (exit {code}): no output written")
    elif code != 0:
        raise drain.failure(code)
    return counter.frames, stopped


def _stop(proc: "subprocess.Popen[bytes]") -> None:
    """Ask ffmpeg to finish (one SIGINT), and kill it if it has not within STOP_GRACE."""
    with contextlib.suppress(OSError):
        proc.send_signal(signal.SIGINT)
    timer = threading.Timer(STOP_GRACE, procs.kill, args=(proc,))
    timer.daemon = True
    timer.start()


class _Counter:
    """Follows ``-progress`` lines: frames written, and whether ffmpeg said ``progress=end``."""

    def __init__(self, bar, on_frames: Optional[Callable[[int], None]]) -> None:  # type: ignore[no-untyped-def]
        self.bar = bar
        self.on_frames = on_frames
        self.frames = 0
        self.ended = False

    def follow(self, reader: IO[bytes]) -> None:
        for raw in iter(reader.readline, b""):
            key, _, value = raw.decode("ascii", "replace").strip().partition("=")
            if key == "frame" and value.isdigit():
                frames = int(value)
                if self.bar is not None:
                    self.bar.update(frames - self.frames)
                self.frames = frames
                if self.on_frames is not None:
                    self.on_frames(frames)
            elif key == "progress" and value == "end":
                self.ended = True


def _bar(total: Optional[int]):  # type: ignore[no-untyped-def]
    """A progress bar; without a total (a stream) a count and a rate, no ETA."""
    if total:
        return runner._progress_bar(total)
    from tqdm import tqdm

    return tqdm(total=None, unit="frame", file=sys.stderr, leave=False,
                bar_format="{n_fmt} frames [{elapsed}, {rate_fmt}] (Ctrl-C stops and keeps "
                           "the output)")


class _Relay:
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


__all__ = ["STOP_GRACE", "StreamRun", "check_frames", "run_ffmpeg", "run_plan"]
