"""``--json``: ONE JSON object on stdout at the end of a command, and nothing else there.

The object (schema: :data:`SCHEMA`, ``result.schema.json`` in this package; the manual's
``json.md``) is the same for every command: what ran (``command``, ``ok``, ``exit_code``,
``error``), what it read and wrote (``input``, ``outputs`` with their sizes in bytes,
``frames``, ``offset``, ``look``, ``size``, ``fps``), how long it took (``timings``), the
exact ffmpeg commands that ran (``commands``, from the runner's watchers: every front's runs,
nothing to add), the warnings logged (``warnings``), and under ``result`` the command's own
numbers.

A subcommand's hook is two calls: give the parser :func:`ffmotion.cli.options.json_arg` (the
running groups of :mod:`ffmotion.cli.options` have it), and call :func:`record` with what it
made (``record(input=..., outputs=[output(path, "motion")], frames=..., result={...})``);
:func:`ffmotion.cli.main.dispatch` starts the collection and writes the object, also when
the command fails (``ok: false`` and the error line). Without ``--json`` :func:`record` does
nothing. While a report collects, :func:`ffmotion.cli.console.out` keeps machine-readable
lines off stdout (they go to ``printed``).
"""
from __future__ import annotations

import argparse
import contextlib
import json
import logging
import threading
import time
from fractions import Fraction
from pathlib import Path
from typing import Any, Iterator, Optional, Sequence, Union

from ffmotion import __version__
from ffmotion.cli import console
from ffmotion.core.errors import UsageError
from ffmotion.run import outputs as safe_write
from ffmotion.run import runner

FORMAT = "ffmotion-result"
VERSION = 1
SCHEMA = Path(__file__).with_name("result.schema.json")

log = logging.getLogger("ffmotion")


class Report:
    """What one command did, collected while it runs (see the module docstring)."""

    def __init__(self, command: str) -> None:
        self.command = command
        self.started = time.monotonic()
        self.fields: dict[str, Any] = {}
        self.outputs: list[dict[str, Any]] = []
        self.commands: list[dict[str, Any]] = []
        self.warnings: list[str] = []
        self.printed: list[str] = []
        self.emitted = False
        self._lock = threading.Lock()

    def finished(self, done: runner.Finished) -> None:
        with self._lock:
            self.commands.append({"argv": done.argv, "frames": done.frames,
                                  "seconds": round(done.seconds, 3),
                                  "exit_code": done.exit_code, "stopped": done.stopped})

    def as_json(self, exit_code: int, error: Optional[str]) -> dict[str, Any]:
        with self._lock:
            commands = list(self.commands)
        body: dict[str, Any] = {
            "format": FORMAT, "version": VERSION, "ffmotion": __version__,
            "command": self.command, "ok": exit_code == 0 and error is None,
            "exit_code": exit_code, "error": error,
            "input": None, "outputs": [_sized(o) for o in self.outputs], "frames": None,
            "offset": None, "look": None, "size": None, "fps": None,
            "timings": {"total_s": round(time.monotonic() - self.started, 3),
                        "ffmpeg_s": round(sum(c["seconds"] for c in commands), 3)},
            "commands": commands, "warnings": list(self.warnings),
        }
        body.update(self.fields)
        if self.printed:
            body["printed"] = list(self.printed)
        return body


_current: Optional[Report] = None


def active() -> Optional[Report]:
    """The report being collected (None: no ``--json``)."""
    return _current


def record(*, outputs: Sequence[dict[str, Any]] = (), **fields: Any) -> None:
    """Add what the command read, made or measured to the report (nothing without
    ``--json``). ``outputs``: from :func:`output`; ``fields``: any of ``input``, ``frames``,
    ``offset``, ``look``, ``size``, ``fps``, ``planned``, ``result`` (see the schema); a
    later call replaces a field, and adds outputs."""
    report = _current
    if report is None:
        return
    unknown = set(fields) - _FIELDS
    if unknown:
        raise ValueError(f"not a report field: {', '.join(sorted(unknown))}")
    report.outputs.extend(outputs)
    report.fields.update({name: _plain(value) for name, value in fields.items()})


_FIELDS = frozenset({"input", "frames", "offset", "look", "size", "fps", "planned", "pipeline",
                     "result"})


def output(path: Union[str, Path], role: str, streamed: bool = False) -> dict[str, Any]:
    """One output of the report: its path, its role (``motion``, ``sample``, ``sheet``,
    ``csv``, ``plot``, ``map``...) and, unless ``streamed`` (a URL, stdout), its size in
    bytes once the command is done."""
    return {"path": str(path), "role": role, "streamed": streamed}


def look_json(look: Any, name: Optional[str] = None) -> dict[str, Any]:
    """A look as the report shows it: the preset named, its few words, and its flags."""
    return {"name": name, "description": look.describe(), "flags": look.flags()}


def offset_json(k: int, mode: str) -> dict[str, Any]:
    return {"frames": k, "mode": mode}


def fps_text(fps: Optional[Fraction]) -> Optional[str]:
    """An exact rate as text: ``30``, ``30000/1001``."""
    if fps is None:
        return None
    fps = Fraction(fps)
    return str(fps.numerator) if fps.denominator == 1 else f"{fps.numerator}/{fps.denominator}"


def refuse_stdout(args: argparse.Namespace, target: Optional[str], what: str) -> None:
    """``--json`` owns stdout: a command that would write ``what`` there too is refused."""
    if getattr(args, "json", False) and target == "-":
        raise UsageError(f"--json writes its report on stdout: give {what} a file name, "
                         "not '-'")


@contextlib.contextmanager
def collecting(args: argparse.Namespace, command: str) -> Iterator[Optional[Report]]:
    """While the block runs, collect the report of ``command`` (``args.json``), and write it
    at the end: after the command returned (its exit code), or failed (the error it raised,
    then raised on)."""
    global _current
    if not getattr(args, "json", False):
        yield None
        return
    report = Report(command)
    catcher = _WarningCatcher(report)
    log.addHandler(catcher)
    _current = report
    restore = console.divert_stdout(report.printed.append)
    try:
        with runner.watching(finished=report.finished):
            yield report
    except BaseException as exc:
        from ffmotion.core.errors import FfmotionError

        if isinstance(exc, FfmotionError):
            emit(report, exc.exit_code, safe_write.shown(str(exc)))
        elif isinstance(exc, KeyboardInterrupt):
            emit(report, 130, "interrupted")
        raise
    finally:
        restore()
        _current = None
        log.removeHandler(catcher)


def emit(report: Report, exit_code: int, error: Optional[str] = None) -> None:
    """Write the report: one line of JSON on stdout (once)."""
    if report.emitted:
        return
    report.emitted = True
    with console.undiverted():
        console.out(json.dumps(report.as_json(exit_code, error), ensure_ascii=True,
                               allow_nan=False, default=_default))


class _WarningCatcher(logging.Handler):
    """ffmotion's warnings, for the report (they still go to stderr as set by -q/-v)."""

    def __init__(self, report: Report) -> None:
        super().__init__(logging.WARNING)
        self.report = report

    def emit(self, record: logging.LogRecord) -> None:
        with contextlib.suppress(Exception):
            self.report.warnings.append(record.getMessage())


def _sized(entry: dict[str, Any]) -> dict[str, Any]:
    """An output with its size on disk now (None: a stream, a folder's pattern, or gone)."""
    path = Path(entry["path"])
    size: Optional[int] = None
    if not entry.get("streamed"):
        with contextlib.suppress(OSError):
            if path.is_file():
                size = path.stat().st_size
    return {**entry, "bytes": size}


def _plain(value: Any) -> Any:
    """Values JSON takes: paths as text, exact numbers as floats (rates keep their text)."""
    return json.loads(json.dumps(value, default=_default, allow_nan=False))


def _default(value: Any) -> Any:
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, Fraction):
        return float(value)
    if isinstance(value, (set, frozenset, tuple)):
        return list(value)
    raise TypeError(f"{type(value).__name__} is not JSON")
