"""The one place a subprocess is started: ffmpeg runs, probes, pipes, progress and atomic output.

Every child gets ``-nostdin`` (given by the caller's argv) and stdin from /dev/null, has its
stderr drained on a thread (a full pipe would stall it), and is killed in ``finally``. Children
die with ffmotion, even when it is killed (see :mod:`ffmotion.run.procs`); helper processes
(``-version``, listings, probes) have a timeout.
"""
from __future__ import annotations

import collections
import contextlib
import logging
import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import IO, Any, Callable, Iterator, Optional

from ffmotion.core.caps import Caps
from ffmotion.core.errors import FFmpegFailed, Interrupted, ToolError
from ffmotion.run import ahead, binaries, facts, outputs, procs, signals
from ffmotion.run.stdin import Relay

log = logging.getLogger("ffmotion")

STDERR_TAIL_LINES = 40


@dataclass(frozen=True)
class Tools:
    """A verified ffmpeg (and ffprobe, when one is available)."""

    ffmpeg: str
    source: str
    version: str
    ffprobe: Optional[str]


@dataclass(frozen=True)
class Completed:
    returncode: int
    stdout: bytes
    stderr: str


def cpus() -> int:
    """The CPUs this process may run on: what x264 counts for its automatic thread count."""
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):  # not Linux
        return os.cpu_count() or 1


def caps(found: "Tools", with_filters: bool = False, with_pix_fmts: bool = False) -> Caps:
    """What ``found``'s ffmpeg and this machine can do (:class:`~ffmotion.core.caps.Caps`):
    the encoders (remembered per binary), the filters and pixel formats when asked for (a
    process start each, the first time in a process), the CPUs this process may use."""
    return Caps(ffmpeg=found.ffmpeg, version=found.version, encoders=encoders(found.ffmpeg),
                filters=filters(found.ffmpeg) if with_filters else None,
                pix_fmts=pix_fmts(found.ffmpeg) if with_pix_fmts else None,
                cpus=cpus())


def tools(explicit_ffmpeg: Optional[str] = None, use_ffprobe: bool = True) -> Tools:
    """Locate ffmpeg (see :func:`binaries.locate_ffmpeg`) and check once that it runs."""
    located = binaries.locate_ffmpeg(explicit_ffmpeg)
    # ffprobe is not started here (a process start is ~60 ms for a shared-library build):
    # probing falls back to ffmpeg alone if it turns out not to work.
    ffprobe = binaries.locate_ffprobe(located.path) if use_ffprobe else None
    version = _version(located.path)
    found = Tools(located.path, located.source, version, ffprobe)
    log.info("ffmpeg: %s (%s, from %s); ffprobe: %s", found.ffmpeg, found.version,
             found.source, found.ffprobe or "none, probing with ffmpeg")
    return found


def _version(path: str) -> str:
    """The version of the ffmpeg at ``path``, checking that it runs.

    One process: ``ffmpeg -encoders`` without ``-hide_banner`` logs the version banner on
    stderr and lists the encoders on stdout, so the check that the binary works and the
    encoder listing every job needs cost one process start, not two.
    """
    return _banner_and_encoders(path)[0]


@lru_cache(maxsize=None)
def _banner_and_encoders(path: str) -> tuple[str, frozenset[str]]:
    remembered = facts.load(path)  # the same binary checked by an earlier run
    if remembered is not None:
        return remembered
    try:
        done = capture(facts.check_argv(path))
    except OSError as exc:
        raise ToolError(f"cannot run {path}: {exc.strerror or exc}") from None
    first = done.stderr.splitlines()[:1]
    if done.returncode != 0 or not first or " version " not in first[0]:
        raise ToolError(f"{path} does not look like a working ffmpeg/ffprobe (-version failed)")
    found = first[0].split(" version ", 1)[1].split()[0], _table_names(done.stdout)
    _checked[path] = found
    return found


_checked: dict[str, tuple[str, frozenset[str]]] = {}  # checked by this process, not remembered


def remember_checked() -> None:
    """Keep what was found about the binaries this process checked, for later runs (called
    after a command succeeded: a failed run leaves nothing behind, not even a cache entry)."""
    while _checked:
        path, found = _checked.popitem()
        facts.store(path, *found)


def encoders(ffmpeg: str) -> frozenset[str]:
    """Names of the encoders this ffmpeg build has."""
    return _banner_and_encoders(ffmpeg)[1]


@lru_cache(maxsize=None)
def pix_fmts(ffmpeg: str) -> frozenset[str]:
    """Names of the pixel formats this ffmpeg build knows."""
    return _listing(ffmpeg, "-pix_fmts")


@lru_cache(maxsize=None)
def filters(ffmpeg: str) -> frozenset[str]:
    """Names of the filters this ffmpeg build has (vidstab, drawtext... depend on the build).

    ffmpeg 5.1 prints no ``-----`` rule above this table, so rows are recognised by their
    shape: flags, name, ``IN->OUT`` pads.
    """
    done = capture([ffmpeg, "-hide_banner", "-nostdin", "-filters"])
    rows = (_FILTER_ROW.match(line) for line in done.stdout.decode("utf-8", "replace").splitlines())
    return frozenset(row.group(1) for row in rows if row)


_FILTER_ROW = re.compile(r"^\s*[A-Z.|]{2,3}\s+(\S+)\s+[AVN|]*->[AVN|]*\s")


def _listing(ffmpeg: str, flag: str) -> frozenset[str]:
    """Second column of the table ``ffmpeg FLAG`` prints below its ``-----`` rule."""
    return _table_names(capture([ffmpeg, "-hide_banner", "-nostdin", flag]).stdout)


def _table_names(stdout: bytes) -> frozenset[str]:
    names = set()
    started = False
    for line in stdout.decode("utf-8", "replace").splitlines():
        if line.strip().startswith("-----"):
            started = True
            continue
        parts = line.split()
        if started and len(parts) >= 2:
            names.add(parts[1])
    return frozenset(names)


def capture(argv: list[str], timeout: Optional[float] = None,
            what: Optional[str] = None, input: Optional[bytes] = None,
            cwd: Optional[Path] = None, stdin: Optional[int] = None) -> Completed:
    """Run to completion and return stdout (bytes) and stderr (text).

    ``timeout``: seconds (default :func:`procs.helper_timeout`); past it the child is killed
    and :class:`ToolError` says so in one line, naming ``what`` ran (default: the command).
    ``input``: bytes given to the child's stdin, or ``stdin``: a descriptor it gets as its
    stdin (default: none, /dev/null). ``cwd``: the child's working folder (default: ours).
    """
    limit = procs.helper_timeout() if timeout is None else timeout
    log.debug("run: %s", shlex.join(argv))
    proc = ahead.take(argv) if input is None and cwd is None and stdin is None else None
    if proc is not None:
        log.debug("(started ahead, during the imports)")
        _track(proc)
    else:
        given = subprocess.DEVNULL if stdin is None else stdin
        proc = procs.popen(argv, on_start=_track,
                           stdin=given if input is None else subprocess.PIPE,
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=cwd)
    try:
        out, err = proc.communicate(input=input, timeout=limit)
    except subprocess.TimeoutExpired:
        shown = what or outputs.shown(shlex.join([argv[0], *[a for a in argv[1:] if a.startswith("-")][:3]]))
        env = procs.PROBE_TIMEOUT_ENV if what and what.startswith("probing") else procs.HELPER_TIMEOUT_ENV
        raise ToolError(f"{shown} did not finish within {limit:g} s: stopped (${env} sets "
                        "the limit)") from None
    except KeyboardInterrupt:
        raise Interrupted("interrupted") from None
    finally:
        _kill(proc)
    return Completed(proc.returncode, out, err.decode("utf-8", "replace"))


class _StderrDrain:
    """Reads a child's stderr on a thread, keeping the last lines."""

    def __init__(self, stream: IO[bytes]) -> None:
        self.lines: collections.deque[str] = collections.deque(maxlen=STDERR_TAIL_LINES)
        self.first: Optional[str] = None  # with -loglevel error, the root cause comes first
        self._thread = threading.Thread(target=self._read, args=(stream,), daemon=True)
        self._thread.start()

    def _read(self, stream: IO[bytes]) -> None:
        with contextlib.suppress(ValueError, OSError):  # closed under us: nothing more to read
            for raw in iter(stream.readline, b""):
                line = raw.decode("utf-8", "replace").rstrip()
                if line:
                    if self.first is None:
                        self.first = line
                    self.lines.append(line)

    def join(self) -> None:
        """Wait until everything the child wrote is read (bounded: a grandchild may keep the
        pipe open)."""
        self._thread.join(timeout=5)

    def tail(self) -> str:
        self.join()
        return "\n".join(self.lines)

    def failure(self, code: int) -> FFmpegFailed:
        tail = self.tail()
        reason = self.first or "no message"
        while reason.startswith("[") and "] " in reason:
            reason = reason.split("] ", 1)[1]
        return FFmpegFailed(f"ffmpeg failed (exit {code}): {reason.strip()}", tail)


def start(argv: list[str], stdin: int, stdout: int,
          pass_fds: tuple[int, ...] = ()) -> tuple[subprocess.Popen, _StderrDrain]:
    """Start a long-running child whose stderr is drained on a thread (and tracked for stop);
    :meth:`_StderrDrain.failure` makes its error. ``pass_fds``: descriptors it inherits."""
    log.debug("run: %s", shlex.join(argv))
    proc = procs.popen(argv, on_start=_track, stdin=stdin, stdout=stdout, stderr=subprocess.PIPE,
                       pass_fds=pass_fds)
    drain = _StderrDrain(proc.stderr)  # type: ignore[arg-type]
    _drains[proc] = drain
    return proc, drain


@contextlib.contextmanager
def reading(argv: list[str]) -> Iterator[IO[bytes]]:
    """Start ``argv`` and yield its stdout; raise :class:`FFmpegFailed` if it then fails.

    Leaving the block early (the reader has seen enough) kills the child without error.
    """
    proc, drain = start(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE)
    finished = False
    try:
        assert proc.stdout is not None
        yield proc.stdout
        finished = proc.stdout.read(1) == b""
    except KeyboardInterrupt:
        raise Interrupted("interrupted") from None
    finally:
        if finished:
            proc.wait()
        _kill(proc)
    if finished and proc.returncode != 0:
        raise drain.failure(proc.returncode)


@contextlib.contextmanager
def log_lines(argv: list[str]) -> Iterator[Iterator[str]]:
    """Start ``argv`` and yield its stderr lines (text) as they come, stdout discarded: a
    long log (a line per decoded frame) is read without being held. Raise
    :class:`FFmpegFailed` if the child then fails (with the last lines as its log)."""
    log.debug("run: %s", shlex.join(argv))
    proc = procs.popen(argv, on_start=_track, stdin=subprocess.DEVNULL,
                       stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    tail: collections.deque[str] = collections.deque(maxlen=STDERR_TAIL_LINES)

    def lines() -> Iterator[str]:
        assert proc.stderr is not None
        for raw in iter(proc.stderr.readline, b""):
            line = raw.decode("utf-8", "replace").rstrip()
            tail.append(line)
            yield line

    finished = False
    try:
        yield lines()
        assert proc.stderr is not None
        finished = proc.stderr.read(1) == b""
    except KeyboardInterrupt:
        raise Interrupted("interrupted") from None
    finally:
        if finished:
            proc.wait()
        _kill(proc)
    if finished and proc.returncode != 0:
        last = next((line for line in reversed(tail) if line.strip()), "no message")
        raise FFmpegFailed(f"ffmpeg failed (exit {proc.returncode}): {last.strip()}",
                           "\n".join(tail))


@contextlib.contextmanager
def writing(argv: list[str]) -> Iterator[IO[bytes]]:
    """Start ``argv`` and yield its stdin; raise :class:`FFmpegFailed` if it fails."""
    proc, drain = start(argv, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL)
    try:
        assert proc.stdin is not None
        try:
            yield proc.stdin
        finally:
            with contextlib.suppress(BrokenPipeError):
                proc.stdin.close()
        proc.wait()
    except BrokenPipeError:
        proc.wait()
    except KeyboardInterrupt:
        raise Interrupted("interrupted") from None
    finally:
        _kill(proc)
    if proc.returncode != 0:
        raise drain.failure(proc.returncode)


@dataclass(frozen=True)
class Ran:
    """What an ffmpeg run wrote: video frames, and the stop signal that ended a stream run
    (None: it ran to its end)."""

    frames: int
    stopped: Optional[str] = None


@dataclass(frozen=True)
class Update:
    """One progress report of an ffmpeg run (ffmpeg's ``-progress`` block, read by the one
    parser in :func:`run_ffmpeg`): frames written of ``total`` (None: not known, a stream),
    seconds since the start, frames per second so far, the seconds left at that rate (None
    without a total), ffmpeg's speed (x real time), and ``done`` on its last report."""

    run: int  # which run of this process (1, 2...): batch jobs and passes report in turns
    frame: int
    total: Optional[int]
    elapsed: float
    fps: Optional[float]
    eta: Optional[float]
    speed: Optional[float]
    done: bool = False


@dataclass(frozen=True)
class Finished:
    """An ffmpeg run that ended: the command as given to :func:`run_ffmpeg` (the runner's
    own logging and progress flags left out), the frames it wrote, its wall time, exit code
    (None: it could not start) and the stop signal that ended a stream run."""

    run: int
    argv: list[str]
    frames: int
    seconds: float
    exit_code: Optional[int]
    stopped: Optional[str] = None


ProgressWatcher = Callable[[Update], None]
FinishWatcher = Callable[[Finished], None]
_watchers: list[tuple[Optional[ProgressWatcher], Optional[FinishWatcher]]] = []
_watch_lock = threading.Lock()
_run_numbers = iter(range(1, 1 << 62))


@contextlib.contextmanager
def watching(progress: Optional[ProgressWatcher] = None,
             finished: Optional[FinishWatcher] = None) -> Iterator[None]:
    """Call ``progress`` with every :class:`Update` and ``finished`` with every
    :class:`Finished` of the ffmpeg runs in this process (any thread) while the block runs:
    how a front shows progress its own way (``--progress json``) or reports what ran
    (``--json``) without a parser of its own. Watchers are called on the thread that runs
    ffmpeg; they must be quick and must not raise."""
    entry = (progress, finished)
    with _watch_lock:
        _watchers.append(entry)
    try:
        yield
    finally:
        with _watch_lock:
            _watchers.remove(entry)


def _watching() -> list[tuple[Optional[ProgressWatcher], Optional[FinishWatcher]]]:
    with _watch_lock:
        return list(_watchers)


def _tell_finished(done: Finished) -> None:
    for _, finished in _watching():
        if finished is not None:
            with contextlib.suppress(Exception):  # a watcher never breaks a run
                finished(done)


class Stopper:
    """Lets another thread ask a running stoppable ffmpeg to finish its output now (a
    steered live job that restarts with a new graph): one SIGINT, as for Ctrl-C; the run
    then ends normally with :attr:`Ran.stopped` ``"restart"``. ``now``: killed at once, for
    an ffmpeg whose output nobody needs finished (a held output's graph: its last frames
    are dropped anyway)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._proc: "Optional[subprocess.Popen[bytes]]" = None
        self.asked = False
        self.now = False

    def attach(self, proc: "Optional[subprocess.Popen[bytes]]") -> None:
        with self._lock:
            self._proc = proc
            if proc is not None and self.asked:
                self._end(proc)

    def stop(self, now: bool = False) -> None:
        with self._lock:
            self.asked, self.now = True, self.now or now
            if self._proc is not None:
                self._end(self._proc)

    def _end(self, proc: "subprocess.Popen[bytes]") -> None:
        if self.now:
            procs.kill(proc)
        else:
            _finish(proc)


RELAY = "relay"  # run_ffmpeg's stdin: this process's stdin, its head first (run.stdin)
STOP_GRACE = 15.0  # seconds ffmpeg may take to finalize the output after the stop signal


def run_ffmpeg(
    argv: list[str],
    total_frames: Optional[int] = None,
    progress: bool = False,
    on_frames: Optional[Callable[[int], None]] = None,
    *,
    stdin: "Optional[int | str]" = None,
    to_stdout: bool = False,
    stoppable: bool = False,
    stopper: Optional[Stopper] = None,
    stdout: Optional[int] = None,
    passing: bool = False,
) -> Ran:
    """Run an ffmpeg command until it ends; return what it wrote (:class:`Ran`).

    ``argv`` is the command as :func:`ffmotion.graph.command` builds it (binary first); the
    runner adds only flags that do not change the output: ``-loglevel error -nostats
    -progress pipe:N`` (progress on a pipe of its own, so ffmpeg's stdout stays free).
    ``progress`` shows a bar on stderr; ``on_frames`` is called with the frames done so far;
    the watchers (:func:`watching`) get every progress report and the run's end.
    ``stdin``: None (nothing), :data:`RELAY` (this process's stdin, the probe's head first)
    or a descriptor (stdin held seekably). ``to_stdout``: ffmpeg writes to our stdout.
    ``stdout``: a descriptor ffmpeg writes its stdout to (a pipe this process reads);
    ``passing``: its frames are passed on as they come (a held output's graph), so a stop
    never fails for how it ended: there is no file for it to finish.
    ``stoppable``: a stream, whose stop signal (Ctrl-C, SIGTERM) asks ffmpeg to finish the
    output (one SIGINT, its stdin closed; killed after :data:`STOP_GRACE`) instead of
    killing it; :attr:`Ran.stopped` then names the signal. ``stopper``: another thread may
    ask the same of a stoppable run (:class:`Stopper`).
    """
    read_end, write_end = os.pipe()
    full = [argv[0], "-loglevel", "error", "-nostats", "-progress", f"pipe:{write_end}",
            *argv[1:]]
    bar = _bar(total_frames) if progress else None
    log.debug("run: %s", shlex.join(full))
    counter = _Progress(bar, on_frames, next(_run_numbers), total_frames)
    try:
        out = sys.stdout.fileno() if to_stdout else subprocess.DEVNULL if stdout is None else stdout
        return _run(full, stdin, out, stoppable, stopper, read_end, write_end, bar, counter,
                    passing)
    finally:
        _tell_finished(Finished(counter.run, list(argv), counter.frames,
                                time.monotonic() - counter.started, counter.exit_code,
                                counter.stopped))


def _run(full: list[str], stdin: "Optional[int | str]", stdout: int, stoppable: bool,
         stopper: Optional[Stopper], read_end: int, write_end: int, bar: Any,
         counter: "_Progress", passing: bool = False) -> Ran:
    """:func:`run_ffmpeg`'s body, once the progress pipe and the counter exist."""
    try:
        proc = procs.popen(full, on_start=_track,
                           stdin=(subprocess.PIPE if stdin == RELAY else
                                  subprocess.DEVNULL if stdin is None else stdin),
                           stdout=stdout, stderr=subprocess.PIPE, pass_fds=(write_end,))
    except KeyboardInterrupt:  # a signal while the child starts (a started one is tracked)
        os.close(read_end)
        _close_bar(bar)
        stop_children()
        raise Interrupted("interrupted: ffmpeg stopped, no output written") from None
    finally:
        os.close(write_end)
    if stopper is not None:
        stopper.attach(proc)
    drain = _StderrDrain(proc.stderr)  # type: ignore[arg-type]
    _drains[proc] = drain
    relayed = Relay(proc.stdin) if stdin == RELAY else None
    stopped: Optional[str] = None
    reader = os.fdopen(read_end, "rb")
    try:
        try:
            counter.follow(reader)
        except KeyboardInterrupt:
            if not stoppable:
                raise
            stopped = signals.received() or "SIGINT"
            _finish(proc)
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
        _kill(proc)
        if relayed is not None:
            relayed.finish()
        reader.close()
        _close_bar(bar)
        counter.exit_code, counter.stopped = proc.returncode, stopped
    code = proc.returncode
    if stopper is not None:
        stopper.attach(None)
        if stopped is None and stopper.asked and stoppable:
            stopped = "restart"
    if stopped == "restart" or (stopped is not None and passing):
        # a stream sent as it is made makes way for a new graph: how this ffmpeg ended does
        # not matter (no file to finalize; asked before its signal handlers were set, a
        # SIGINT kills it), the next one takes the output over
        pass
    elif stopped is not None:
        if code in (0, 255) and counter.frames == 0 and not counter.ended:
            # stopped before a frame went out (an SRT listener no client connected to)
            raise Interrupted("interrupted before the first frame was written: nothing "
                              "written")
        if code not in (0, 255) or not counter.ended:
            raise Interrupted(f"interrupted: ffmpeg did not finish the output within "
                              f"{STOP_GRACE:g} s (exit {code}): no output written")
    elif code != 0:
        raise drain.failure(code)
    return Ran(counter.frames, stopped)


def _finish(proc: "subprocess.Popen[bytes]") -> None:
    """Ask ffmpeg to finish (one SIGINT), and kill it if it has not within STOP_GRACE."""
    with contextlib.suppress(OSError):
        proc.send_signal(signal.SIGINT)
    timer = threading.Timer(STOP_GRACE, procs.kill, args=(proc,))
    timer.daemon = True
    timer.start()


class _Progress:
    """Follows ``-progress`` lines: frames written, and whether ffmpeg said ``progress=end``;
    at the end of each block (``progress=continue|end``) an :class:`Update` to the watchers."""

    def __init__(self, bar: Any, on_frames: Optional[Callable[[int], None]], run: int = 0,
                 total: Optional[int] = None) -> None:
        self.bar = bar
        self.on_frames = on_frames
        self.run = run
        self.total = total or None
        self.frames = 0
        self.ended = False
        self.speed: Optional[float] = None
        self.started = time.monotonic()
        self.exit_code: Optional[int] = None
        self.stopped: Optional[str] = None

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
            elif key == "speed":
                self.speed = _speed(value)
            elif key == "progress":
                self.ended = self.ended or value == "end"
                self._tell(done=value == "end")

    def _tell(self, done: bool) -> None:
        _tell_progress(self.run, self.frames, self.total, self.started, self.speed, done)


def _tell_progress(run: int, frames: int, total: Optional[int], started: float,
                   speed: Optional[float], done: bool) -> None:
    """One :class:`Update` to the progress watchers (nothing is computed without one)."""
    watchers = [progress for progress, _ in _watching() if progress is not None]
    if not watchers:
        return
    elapsed = time.monotonic() - started
    fps = frames / elapsed if elapsed > 0 and frames else None
    eta = None
    if total is not None and fps:
        eta = max(0.0, (total - frames) / fps)
    update = Update(run, frames, total, elapsed, fps, 0.0 if done else eta, speed, done)
    for watcher in watchers:
        with contextlib.suppress(Exception):  # a watcher never breaks a run
            watcher(update)


def _speed(text: str) -> Optional[float]:
    """ffmpeg's ``speed=1.23x`` (``N/A`` at first)."""
    try:
        value = float(text.strip().rstrip("x"))
    except ValueError:
        return None
    return value if value >= 0 and value == value and value != float("inf") else None


def _bar(total: Optional[int]) -> Any:
    """A progress bar on stderr; without a total (a stream) a count and a rate, no ETA."""
    if total:
        return _progress_bar(total)
    from tqdm import tqdm  # imported here: only runs with a terminal need it

    return tqdm(total=None, unit="frame", file=sys.stderr, leave=False,
                bar_format="{n_fmt} frames [{elapsed}, {rate_fmt}] (Ctrl-C stops and keeps "
                           "the output)")


class FrameCount:
    """Progress of a run whose frames the caller counts itself (one read through
    :func:`reading`): the bar when asked for, and :class:`Update` reports to the watchers at
    most every :data:`COUNT_PERIOD` seconds, as ffmpeg's ``-progress`` gives them."""

    def __init__(self, total: Optional[int], bar: bool) -> None:
        self.run = next(_run_numbers)
        self.total = total or None
        self.bar = _bar(self.total) if bar else None
        self.frames = 0
        self.started = time.monotonic()
        self._told = self.started

    def add(self, frames: int) -> None:
        """``frames`` more frames read."""
        self.frames += frames
        if self.bar is not None:
            self.bar.update(frames)
        now = time.monotonic()
        if now - self._told >= COUNT_PERIOD:
            self._told = now
            self.tell(done=False)

    def tell(self, done: bool) -> None:
        _tell_progress(self.run, self.frames, self.total, self.started, None, done)


COUNT_PERIOD = 0.5


@contextlib.contextmanager
def counting(argv: list[str], total: Optional[int], bar: bool) -> Iterator[FrameCount]:
    """Count the frames of ``argv``'s run as the caller reads them (``count.add(n)``): a bar
    on stderr when ``bar``, progress reports and the run's end to the watchers
    (:func:`watching`), as :func:`run_ffmpeg` gives them for its runs."""
    count = FrameCount(total, bar)
    code: Optional[int] = 1
    try:
        yield count
        code = 0
    finally:
        _close_bar(count.bar)
        if code == 0:
            count.tell(done=True)
        _tell_finished(Finished(count.run, list(argv), count.frames,
                                time.monotonic() - count.started, code))


def _close_bar(bar: Any) -> None:
    if bar is not None:
        with contextlib.suppress(Exception):  # a terminal gone (SIGHUP) must not mask the error
            bar.close()


def _progress_bar(total: Optional[int]):
    from tqdm import tqdm  # imported here: only runs with a terminal need it

    size = shutil.get_terminal_size((80, 24))  # a pty may report 0x0, which hides tqdm's bar
    return tqdm(total=total, unit="frame", file=sys.stderr, ncols=min(size.columns, 120),
                nrows=size.lines, leave=False,
                bar_format="{l_bar}{bar}| {n_fmt}/{total_fmt} frames [{elapsed}<{remaining}, {rate_fmt}]")


def kill(proc: subprocess.Popen) -> None:
    """Kill a child started here (and its group), wait for it and close its pipes."""
    _kill(proc)


def _kill(proc: subprocess.Popen) -> None:
    procs.kill(proc)
    with contextlib.suppress(Exception):
        proc.wait(timeout=10)
    drain = _drains.pop(proc, None)
    if drain is not None:
        # the reader must see ffmpeg's last words before the pipe is closed: closing it
        # first lost the first error line when ffmpeg failed at once
        drain.join()
    for stream in (proc.stdin, proc.stdout, proc.stderr):
        if stream is not None:
            with contextlib.suppress(Exception):
                stream.close()
    with _children_lock:
        _children.discard(proc)


# Children alive in this process, so that the main thread can stop them all when Ctrl-C or
# SIGTERM arrives while other threads run them (batch): signals only reach the main thread.
_children: set[subprocess.Popen] = set()
_children_lock = threading.Lock()
_drains: "dict[subprocess.Popen, _StderrDrain]" = {}
_refusing = False


def _track(proc: subprocess.Popen) -> None:
    with _children_lock:
        _children.add(proc)
        refuse = _refusing
    if refuse:  # started after stop_children(): the thread that started it sees it fail
        procs.kill(proc)


def stop_children() -> int:
    """Kill every child process running now, from any thread; return how many.

    Children started afterwards are killed at once, until :func:`allow_children`: a thread
    between two steps of a job cannot start a new ffmpeg after a batch was interrupted. The
    threads that ran them see the ffmpeg fail, and their ``atomic_output`` removes the
    temporary files.
    """
    global _refusing
    with _children_lock:
        _refusing = True
        running = [proc for proc in _children if proc.poll() is None]
    for proc in running:
        procs.kill(proc)
    return len(running)


def allow_children() -> None:
    """Undo :func:`stop_children`: new children may run again."""
    global _refusing
    with _children_lock:
        _refusing = False


TEMP_MARK = outputs.TEMP_MARK


def atomic_output(dst: Path, overwrite: bool) -> contextlib.AbstractContextManager[Path]:
    """Yield a temporary path beside ``dst``; move it to ``dst`` only if the block succeeds.

    A thin wrapper over :func:`ffmotion.run.outputs.atomic_output`, the one safe-write rule.
    """
    return outputs.atomic_output(dst, overwrite)




def check_output_path(dst: Path, overwrite: bool) -> None:
    """Fail early if ``dst`` cannot be written (see :func:`ffmotion.run.outputs.check_output_path`)."""
    outputs.check_output_path(dst, overwrite)


# -- encoder options (--encoder-opt) ---------------------------------------------------------

_OPTION_ROW = re.compile(r"^  -(\S+)\s+<\w+>\s+([A-Z.]{2,})\s")


@lru_cache(maxsize=None)
def encoder_options(ffmpeg: str, encoder: str) -> frozenset[str]:
    """Options ``-c:v ENCODER`` takes: its private ones (``ffmpeg -h encoder=NAME``) and the
    generic video-encoding ones every encoder takes (``-g``, ``-bf``, ``-b``, ``-maxrate``...)."""
    names = set(_option_names(ffmpeg, f"encoder={encoder}", None, audio=False))
    names |= _generic_encoding_options(ffmpeg)
    return frozenset(names)


@lru_cache(maxsize=None)
def _generic_encoding_options(ffmpeg: str) -> frozenset[str]:
    return frozenset(_option_names(ffmpeg, "full", "AVCodecContext AVOptions:", audio=False))


def _option_names(ffmpeg: str, topic: str, section: Optional[str], audio: bool) -> list[str]:
    done = capture([ffmpeg, "-hide_banner", "-nostdin", "-h", topic], timeout=60)
    names = []
    inside = section is None
    for line in done.stdout.decode("utf-8", "replace").splitlines():
        if section is not None and not line.startswith(" "):
            inside = line.strip() == section
            continue
        row = _OPTION_ROW.match(line) if inside else None
        if row and row.group(2).startswith("E") and ("V" in row.group(2) or audio):
            names.append(row.group(1))
    return names


# -- image sequences: written as a set by the safe-write rule (run/outputs.py) -------------

sequence_files = outputs.sequence_files
sequence_done = outputs.sequence_done
check_output_set = outputs.check_output_set
atomic_sequence = outputs.atomic_sequence
