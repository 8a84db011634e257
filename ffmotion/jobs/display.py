"""What a batch shows and writes: the live status line, the summary, the JSON report."""
from __future__ import annotations

import contextlib
import json
import sys
import threading
import time
from pathlib import Path
from typing import IO, Callable, Optional, Sequence, Union

from ffmotion.core.errors import field
from ffmotion.core.version import __version__
from ffmotion.jobs.records import STATUSES, Outcome, Record
from ffmotion.run import outputs

# -- report, summary, display -----------------------------------------------------------

def counts(records: Sequence[Record]) -> dict[str, int]:
    """How many records have each status (statuses that occur, plus done/skipped/failed)."""
    found = {status: 0 for status in ("done", "skipped", "failed")}
    for record in records:
        found[record.status] = found.get(record.status, 0) + 1
    return found


def write_report(path: Union[str, Path], outcome: Outcome, backend: str, outdir: Path,
                 seconds: float) -> None:
    """The machine-readable report: summary counts and one record per input, in input order."""
    report = {
        "ffmotion": __version__,
        "backend": backend,
        "output_dir": str(outdir),
        "interrupted": outcome.interrupted,
        "seconds": round(seconds, 3),
        "summary": counts(outcome.records),
        "jobs": [record.to_json() for record in outcome.records],
    }
    outputs.write_text(path, json.dumps(report, indent=2) + "\n", what=field("report"),
                       overwrite=True)


def _shown(path: str) -> str:
    """A path as the user reads it: relative to the current folder when inside it."""
    with contextlib.suppress(ValueError):
        return outputs.shown(Path(path).relative_to(Path.cwd()))
    return outputs.shown(path)


def _failure(record: Record) -> str:
    """``NAME: reason``, or the reason alone where it names the input itself (most of
    ffmotion's messages do: the name once is enough)."""
    error = record.error or "failed"
    if Path(record.input).name and Path(record.input).name in error:
        return error
    return f"{_shown(record.input)}: {error}"


class Display:
    """Per-file log lines on stderr, plus one live status line on a terminal.

    The status line (files done of all, frames written, ETA) is redrawn in place by the main
    thread; job threads only update counters, so the line stays whole with several jobs.
    """

    refresh_s = 0.25

    def __init__(self, total: int, live: bool, stream: Optional[IO[str]] = None,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.total = total
        self.live = live
        self.stream = stream if stream is not None else sys.stderr
        self._clock = clock
        self._lock = threading.Lock()
        self._started = clock()
        self._running: dict[int, tuple[int, int]] = {}  # index -> (frames, total frames)
        self._finished = {status: 0 for status in STATUSES}
        self._frames_done = 0
        self._drawn = False

    def progress(self, index: int, frames: int, total: int) -> None:
        """Called from job threads as ffmpeg reports frames."""
        with self._lock:
            self._running[index] = (frames, total)

    def finished(self, index: int, record: Record) -> None:
        """Log one finished input (main thread)."""
        with self._lock:
            self._running.pop(index, None)
            self._finished[record.status] += 1
            if record.status == "done" and record.frames:
                self._frames_done += record.frames
        self._write_line(self.describe(record))

    @staticmethod
    def describe(record: Record) -> str:
        src, dst = _shown(record.input), _shown(record.output)
        if record.status == "done":
            frames = f"{record.frames} frame{'' if record.frames == 1 else 's'}"
            return f"ffmotion: done     {src} -> {dst} ({frames} in {record.seconds:.1f} s)"
        if record.status == "skipped":
            return f"ffmotion: skipped  {src} ({dst} exists; {field('overwrite')} replaces it)"
        if record.status == "emitted":
            return f"ffmotion: planned  {src} -> {dst} ({record.frames} frames)"
        if record.status == "interrupted":
            return f"ffmotion: stopped  {src}"
        return f"ffmotion: FAILED   {_failure(record)}"

    def status_line(self) -> str:
        """``[3/10] 2 running, 1234 frames, ETA 0:42`` (main thread)."""
        with self._lock:
            finished = sum(self._finished.values())
            running = dict(self._running)
            frames = self._frames_done + sum(f for f, _ in running.values())
            skipped = self._finished["skipped"]
            failed = self._finished["failed"]
        elapsed = self._clock() - self._started
        work = self.total - skipped
        progress = (finished - skipped) + sum(f / t for f, t in running.values() if t > 0)
        eta = "?"
        if work > 0 and progress > 0.01:
            eta = _clock_text(max(0.0, elapsed * (work - progress) / progress))
        parts = [f"[{finished}/{self.total}]", f"{len(running)} running", f"{frames} frames"]
        if failed:
            parts.append(f"{failed} failed")
        parts.append(f"ETA {eta}")
        return "ffmotion: " + ", ".join(parts)

    def render(self) -> None:
        if not self.live:
            return
        line = self.status_line()
        self.stream.write("\r\x1b[K" + line)
        self.stream.flush()
        self._drawn = True

    def _write_line(self, line: str) -> None:
        try:
            if self._drawn:
                self.stream.write("\r\x1b[K")
                self._drawn = False
            self.stream.write(line + "\n")
            self.stream.flush()
        except OSError:  # the terminal is gone (SIGHUP): the batch and its report go on
            return
        if self.live:
            self.render()

    def close(self) -> None:
        if self._drawn:
            self.stream.write("\r\x1b[K")
            self.stream.flush()
            self._drawn = False


def _clock_text(seconds: float) -> str:
    seconds = int(round(seconds))
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def summary_lines(outcome: Outcome, seconds: float) -> list[str]:
    """The human summary: counts, then each failure with its one-line reason."""
    found = counts(outcome.records)
    text = ", ".join(f"{n} {status}" for status, n in found.items())
    lines = [f"ffmotion batch: {text} in {seconds:.1f} s"]
    for record in outcome.records:
        if record.status == "failed":
            lines.append(f"  failed: {_failure(record)}")
    return lines


