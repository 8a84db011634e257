"""Batch jobs: many inputs -> jobs, run by a local pool or on a Dask cluster, or emitted.

Every job goes through the same :func:`run_job` (skip if the output exists, then
``api.prepare`` + ``api.run``: probe, plan, atomic output, ffmpeg), on this machine or on a
Dask worker, so batch outputs are byte-identical to single-file runs with the same options.
Everything that can be checked without touching the media (paths, names, collisions, options)
is checked for all inputs before the first job starts; what needs the media (corrupt file, no
video, too short for the offset) fails that one job and the others go on.
"""
from __future__ import annotations

import argparse
import concurrent.futures
import contextlib
import dataclasses
import math
import json
import logging
import os
import re
import string
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, Callable, Literal, Optional, Sequence, Union

from .. import __version__, api, graph, stabilize
from ..graph import outputs as graph_outputs
from ..run import runner, names, outputs
from . import naming
from .inputs import VIDEO_EXTENSIONS, find_inputs, read_input_list  # noqa: F401 (batch's API)
from .dask import connect
from .executors import Executor, LocalExecutor, make_executor
from ..errors import FfmotionError, Interrupted, UsageError
from ..options import MAX_THREADS, Options

log = logging.getLogger("ffmotion")

DEFAULT_NAME = "{stem}_motion_k{offset}{ext}"
NAME_FIELDS = ("stem", "ext", "offset", "mode", "dir", "relpath")
DEFAULT_CONNECT_TIMEOUT = 10.0

Status = Literal["done", "skipped", "failed", "interrupted", "emitted"]
STATUSES: tuple[Status, ...] = ("done", "skipped", "failed", "interrupted", "emitted")
OptionsFactory = Callable[[argparse.Namespace, Path, Path], Options]
Progress = Callable[[int, int, int], None]  # (job index, frames done, frames in total)


@dataclass(frozen=True)
class Job:
    """One input and its fully checked options (absolute paths)."""

    index: int
    options: Options

    @property
    def src(self) -> Path:
        return self.options.src

    @property
    def dst(self) -> Path:
        return self.options.dst


@dataclass(frozen=True)
class Record:
    """What happened to one input: a line of the report."""

    input: str
    output: str
    status: Status
    frames: Optional[int] = None  # frames written (done) or to be written (emitted)
    k: Optional[int] = None  # the offset in frames (freeze mode: the reference frame)
    seconds: Optional[float] = None  # wall time of the job
    argv: Optional[list[str]] = None  # the ffmpeg command, writing to the real output path
    error: Optional[str] = None  # one line, for failed jobs

    def to_json(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


@dataclass(frozen=True)
class Outcome:
    records: list[Record]
    interrupted: bool = False


# -- inputs -> jobs ---------------------------------------------------------------------

def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The batch-only arguments (the single-file options come from ``cli._common``)."""
    parser.add_argument("inputs", nargs="*", metavar="INPUT",
                        help="video files, folders (searched recursively for video files by "
                             "extension) and glob patterns ('footage/**/*.MOV')")
    parser.add_argument("--sequences", action="store_true",
                        help="also take every folder of images found (an argument, or below "
                             "one) as one input: an image sequence / timelapse, read at "
                             "--framerate (default 25)")
    group = parser.add_argument_group("batch")
    group.add_argument("-o", "--output-dir", metavar="OUTDIR", required=True,
                       help="folder for the outputs (created if missing)")
    group.add_argument("--input-list", metavar="FILE",
                       help="read more inputs from FILE, one path per line ('-': stdin)")
    group.add_argument("--name", default=DEFAULT_NAME, metavar="TEMPLATE",
                       help="output file name; fields {stem} {ext} {offset} {mode}, {dir} (the "
                            "input's folder name) and {relpath} (its path below the argument "
                            "that found it, without extension: keeps a camera card's folders, "
                            "created under OUTDIR) "
                            f"(default {DEFAULT_NAME})")
    group.add_argument("-j", "--jobs", type=int, default=1, metavar="N",
                       help="ffmpeg processes at once (default 1: one ffmpeg already uses "
                            "every core for decoding, filtering and x264)")
    group.add_argument("--threads", type=int, metavar="T",
                       help="decoder and filter threads per ffmpeg (default: cores / jobs when "
                            "--jobs > 1, else ffmpeg's own); never changes the output bytes")
    group.add_argument("--report", metavar="FILE",
                       help="write a JSON report: one record per input (status, output, frames, "
                            "seconds, ffmpeg argv, error); '-': stdout")
    group.add_argument("--emit-commands", metavar="FILE",
                       help="write the ffmpeg commands instead of running them: FILE.sh (POSIX "
                            "shell, one command a line; '-' for stdout) or FILE.jsonl")
    group.add_argument("--scheduler", metavar="ADDRESS",
                       help="run the jobs on a Dask distributed cluster (tcp://HOST:8786); "
                            "needs ffmotion[dask], and paths the workers see too")
    group.add_argument("--connect-timeout", type=float, default=DEFAULT_CONNECT_TIMEOUT,
                       metavar="S", help="seconds to wait for the Dask scheduler (default %(default)s)")


def check_template(template: str) -> None:
    """``--name`` uses known fields only and yields a plain file name."""
    try:
        parsed = [(f, spec or "") for _, f, spec, _ in string.Formatter().parse(template)
                  if f is not None]
    except ValueError as exc:
        raise UsageError(f"--name {template!r} is not a valid template: {exc}") from None
    fields = [f for f, _ in parsed]
    for name, spec in parsed:
        # a name is at most 255 bytes: a width like {stem:>9999999999} would only eat memory
        if re.search(r"\d{4,}", spec) or "{" in spec:
            raise UsageError(f"--name {template!r}: the width in {{{name}:{spec}}} is too "
                             "large for a file name")
    for name in fields:
        if name not in NAME_FIELDS:
            raise UsageError(f"unknown field {{{name}}} in --name {template!r} "
                             f"(fields: {', '.join('{' + f + '}' for f in NAME_FIELDS)})")
    if "stem" not in fields and "relpath" not in fields:
        raise UsageError(f"--name {template!r} has no {{stem}} (or {{relpath}}): every input "
                         "would write the same file")
    _format_name(template, stem="clip", ext=".mp4", offset="1", mode="offset", dir="folder",
                 relpath="folder/clip")


def _format_name(template: str, **fields: str) -> str:
    """``template.format(**fields)``; a bad format spec (``{stem:d}``) is one usage line."""
    try:
        return template.format(**fields)
    except (ValueError, TypeError, KeyError, IndexError, AttributeError) as exc:
        raise UsageError(f"--name {template!r} cannot be filled in: {exc}") from None


def output_name(template: str, src: Path, mode: str, offset_text: str, lossless: bool,
                root: Optional[Path] = None) -> str:
    """The output file name for ``src``.

    ``{ext}`` is the input's extension when ffmotion can write that container, else ``.mp4``;
    with ``--lossless``, ``.mkv`` unless the container holds FFV1. ``{offset}`` is the offset
    (or freeze frame) as written: ``12``, ``0.5s``. ``{dir}`` and ``{relpath}`` (relative to
    ``root``, the argument that found ``src``) see :mod:`ffmotion.jobs.naming`; a name with
    folders (``{relpath}``) must stay inside the output folder. An image-sequence folder's
    ``{stem}`` is its name, its ``{ext}`` ``.mp4``.
    """
    folder = src.is_dir()
    ext = src.suffix.lower() if src.suffix.lower() in graph.KEEP_EXTENSION and not folder \
        else ".mp4"
    if lossless and not graph.CONTAINERS[ext].lossless_ok:
        ext = ".mkv"
    name = _format_name(template, stem=naming.stem_field(src), ext=ext,
                        offset="".join(offset_text.split()), mode=mode,
                        dir=naming.dir_field(src), relpath=naming.relpath_field(src, root))
    if "/" in name and name not in ("/",):
        naming.check_relative_name(name, src)
        return name
    if not name or name in (".", "..") or "/" in name or os.sep in name or "\0" in name:
        raise UsageError(f"--name gives {outputs.shown(name)!r} for {outputs.shown(src)}: a "
                         "file name is needed, without folders")
    return name


def plan_jobs(args: argparse.Namespace, inputs: list[Path], outdir: Path,
              make_options: OptionsFactory,
              roots: Optional[dict[Path, Optional[Path]]] = None,
              created: Optional[list[Path]] = None) -> list[Job]:
    """Names, collisions and options for every input; raises before anything is written.

    ``make_options(args, src, dst)`` is the single-file option builder; it also checks that
    the input exists and is not the output. ``roots``: where each input was found (for
    ``{relpath}``); the output sub-folders those names need are made once the names are
    checked, and added to ``created`` (for the caller to remove if a later check fails).
    """
    mode, offset = api.mode_and_offset(args.offset, args.freeze)
    owners: dict[Path, Path] = {}
    for src in inputs:
        dst = outdir / output_name(args.name, src, mode, offset.text, bool(args.lossless),
                                   (roots or {}).get(src))
        other = owners.get(dst)
        if other is not None:
            raise UsageError(f"{other} and {src} would both write {dst}: use a --name that "
                             "tells them apart (e.g. '{relpath}_motion{ext}' keeps their "
                             "folders, '{dir}_{stem}{ext}'), or give them separately")
        owners[dst] = src
    real_inputs = {Path(os.path.realpath(src)): src for src in inputs}
    for dst, src in owners.items():
        clash = real_inputs.get(Path(os.path.realpath(dst)))
        if clash is not None:
            raise UsageError(f"the output for {src} would be the input {clash}: choose another "
                             "--output-dir or --name")
    made = naming.make_output_folders(outdir, owners)
    if created is not None:
        created += made
    # existing outputs are the batch's business (skip, or --overwrite), not an error here
    checking = argparse.Namespace(**{**vars(args), "overwrite": True})
    jobs = []
    for index, (dst, src) in enumerate(owners.items()):
        options = make_options(checking, src, dst)
        options = dataclasses.replace(options, overwrite=bool(args.overwrite),
                                      threads=args.threads)
        graph.check_output_format(options)
        graph.check_quality(options)
        jobs.append(Job(index, options))
    return jobs


# -- one job: the same on this machine and on a Dask worker -----------------------------

def run_job(job: Job, ffmpeg: Optional[str] = None,
            cancelled: Optional[Callable[[], bool]] = None,
            progress: Optional[Progress] = None) -> Record:
    """Run one job and say what happened; never raises for a bad input.

    An existing output is skipped unless the options say overwrite. ``cancelled`` is polled
    before the job and while ffmpeg runs: when it turns true, ffmpeg is killed and its
    temporary file removed. ``progress(index, frames, total)`` follows ffmpeg's frame count.
    """
    started = time.monotonic()
    options = job.options
    if cancelled is not None and cancelled():
        return _record(job, "interrupted")
    if output_done(options.dst) and not options.overwrite:
        return _record(job, "skipped")
    plan: Optional[graph.Plan] = None
    tools: Optional[runner.Tools] = None
    try:
        tools = runner.tools(ffmpeg)
        plan = api.prepare(options, tools)
        total = plan.out_frames
        if progress is not None:
            progress(job.index, 0, total)

        def on_frames(frames: int) -> None:
            if progress is not None:
                progress(job.index, frames, total)
            if cancelled is not None and cancelled():
                raise Interrupted("interrupted")

        result = api.run(plan, tools, on_frames=on_frames)
        return _record(job, "done", frames=result.frames, k=result.k, seconds=_since(started),
                       argv=result.argv)
    except Exception as exc:  # noqa: BLE001 - a job reports its failure, the batch goes on
        argv = graph.command(plan, tools.ffmpeg) if plan is not None and tools is not None else None
        k = plan.k if plan is not None else None
        if cancelled is not None and cancelled():
            return _record(job, "interrupted", k=k, seconds=_since(started), argv=argv)
        if not options.overwrite and output_done(options.dst):  # written meanwhile by someone else
            return _record(job, "skipped", k=k, seconds=_since(started))
        reason = str(exc) if isinstance(exc, FfmotionError) else f"{type(exc).__name__}: {exc}"
        tail = getattr(exc, "stderr_tail", "")
        if tail:
            log.debug("%s: ffmpeg stderr:\n%s", job.src, tail)
        return _record(job, "failed", k=k, seconds=_since(started), argv=argv,
                       error=" ".join(reason.split()) or type(exc).__name__)


def _record(job: Job, status: Status, **details: Any) -> Record:
    return Record(str(job.src), str(job.dst), status, **details)


def _since(started: float) -> float:
    return round(time.monotonic() - started, 3)


# -- running the jobs: the local pool or Dask, through one executor interface ---------------

def run_jobs(jobs: list[Job], ffmpeg: Optional[str], executor: Executor,
             display: "Display") -> Outcome:
    """Run one task per job on ``executor`` (:mod:`ffmotion.jobs.executors`) and collect
    the records, redrawing ``display`` as they come.

    On Dask, workers run :func:`run_job` on the same paths, so inputs and the output folder
    must be on storage that every worker (and this machine) sees under the same names.
    Ctrl-C / SIGTERM (a KeyboardInterrupt in the main thread) tells every running job to
    stop (its ffmpeg killed, its temporary file removed) and queued ones never start; the
    records say what finished.
    """
    local = isinstance(executor, LocalExecutor)
    progress = display.progress if local else None  # a Dask task cannot call back here
    futures: dict[Any, Job] = {}
    records: dict[int, Record] = {}
    interrupted = False

    def collect(future: Any) -> None:
        job = futures[future]
        outcome = executor.outcome(future)
        records[job.index] = outcome.value if outcome.ok else _record(job, "failed",
                                                                      error=outcome.error)

    try:
        for job in jobs:
            futures[executor.submit(run_job, job, ffmpeg, executor.cancelled, progress,
                                    key=str(job.index))] = job
        if not local:
            log.info("submitted %d tasks to %s", len(futures),
                     getattr(executor, "address", "") or executor.name)
        pending = list(futures)
        while pending:
            for future in executor.wait(pending, display.refresh_s):
                pending.remove(future)
                collect(future)
                display.finished(futures[future].index, records[futures[future].index])
            display.render()
    except KeyboardInterrupt:
        interrupted = True
        log.info("interrupted: stopping the running jobs")
        executor.cancel(list(futures))
        for future, job in futures.items():
            if job.index in records:
                continue
            if future.done() and not future.cancelled():
                collect(future)
                if records[job.index].status == "failed" and executor.name == "dask":
                    records[job.index] = _record(job, "interrupted")
            else:
                records[job.index] = _record(job, "interrupted")
    return Outcome([records[job.index] for job in jobs], interrupted)


# -- emitted commands -------------------------------------------------------------------

def emit_commands(jobs: list[Job], ffmpeg: Optional[str], dest: str, workers: int,
                  display: "Display") -> Outcome:
    """Probe every input and write its ffmpeg command to ``dest`` instead of running it.

    ``.sh`` (or ``-``, stdout): a POSIX shell script, one quoted command a line, runnable with
    ``sh`` or GNU ``parallel``; ``.jsonl``: one ``{"input", "output", "argv"}`` object a line.
    Inputs whose output exists are skipped (unless --overwrite), as a run would skip them.
    """
    tools = runner.tools(ffmpeg)

    shell = not dest.endswith(".jsonl")

    def one(job: Job) -> tuple[Record, Optional[list[list[str]]]]:
        if output_done(job.dst) and not job.options.overwrite:
            return _record(job, "skipped"), None
        try:
            plan = api.prepare(job.options, tools)
            plan = stabilize.settle(plan, tools, run=False)  # --stabilize auto analyses here
        except FfmotionError as exc:
            return _record(job, "failed", error=" ".join(str(exc).split())), None
        argvs = api.commands(plan, tools.ffmpeg)  # stabilization pass 1 first, if any
        record = _record(job, "emitted", frames=plan.out_frames, k=plan.k, argv=argvs[-1])
        if shell:
            return record, [[shell_line(plan, tools.ffmpeg)]]
        return record, argvs

    with concurrent.futures.ThreadPoolExecutor(max_workers=workers) as pool:
        results = list(pool.map(one, jobs))
    for job, (record, _) in zip(jobs, results):
        display.finished(job.index, record)
    commands = [(record, argvs) for record, argvs in results if argvs is not None]
    if dest.endswith(".jsonl"):
        lines = [json.dumps({"input": r.input, "output": r.output, "argv": argvs[-1],
                             **({"before": argvs[:-1]} if len(argvs) > 1 else {})})
                 for r, argvs in commands]
    else:
        lines = [SCRIPT_HEAD.decode(),
                 f"# ffmotion {__version__} batch: {len(commands)} job(s), one a line.",
                 "# Run with: sh THIS_FILE   or: parallel -j N < THIS_FILE"]
        lines += [argvs[0][0] for _, argvs in commands]
    text = "\n".join(lines) + "\n"
    outputs.write_text(dest, text, what="--emit-commands", overwrite=True,
                       executable=not dest.endswith(".jsonl"))
    return Outcome([record for record, _ in results])


SCRIPT_HEAD = b"#!/bin/sh\n# ffmotion "
REPORT_HEAD = b'{\n  "ffmotion": '
JSONL_HEAD = b'{"input": '


def shell_line(plan: graph.Plan, ffmpeg: str) -> str:
    """One job of an emitted ``.sh``: one complete line, safe to run twice at once.

    The line makes its own temporary folder beside the output (``mktemp -d``: unique per
    run of the line, so a retry or a second node never shares it), runs pass 1 (if any) and
    the motion graph in it, and commits the output only when ffmpeg succeeded: ``ln``, which
    fails rather than replace a file that appeared meanwhile (``mv -f`` with --overwrite).
    The folder goes away in every case (``trap ... EXIT``). Names are quoted without any
    control character on the line (:func:`names.sh_join`), so line-per-job runners
    (``parallel < jobs.sh``, ``xargs``) see one command per job; dash and bash run it alike.
    """
    options = plan.options
    dst = Path(os.path.abspath(options.dst))
    src = Path(os.path.abspath(plan.info.path))
    here = dataclasses.replace(plan, info=dataclasses.replace(plan.info, path=src),
                               options=dataclasses.replace(options, src=src, dst=dst))
    stab = here.stabilizer
    if stab is not None and stab.transforms is not None:  # pass 1's result stays in the folder
        here = dataclasses.replace(here, stabilizer=dataclasses.replace(
            stab, transforms=Path("transforms.trf"), motions=Path("motions.txt")))
    binary = os.path.abspath(ffmpeg) if os.sep in ffmpeg else ffmpeg
    sequence = graph_outputs.is_sequence(dst)
    # never starts with '-', never a pattern (an image sequence's is the user's own)
    result = Path(f"./{dst.name}") if sequence else Path(f"out{dst.suffix}")
    argvs = []
    argvs.extend(stabilize.analysis_commands(here, binary))
    argvs.append(graph.command(here, binary, result, overwrite=True))
    if sequence:
        # the images beside the others, the first one last: it marks the set as whole
        head = graph_outputs.sequence_file(dst, 1).name
        move = ["mv", "-f"] if options.overwrite else ["ln"]
        argvs.append(["find", ".", "-type", "f", "!", "-name", head, "!", "-name", "*.trf",
                      "-exec", *move, "{}", str(dst.parent) + "/", ";"])
        argvs.append([*move, head, str(dst.parent / head)])
    elif options.overwrite:
        argvs.append(["mv", "-f", str(result), str(dst)])
    else:
        argvs.append(["ln", str(result), str(dst)])
    stem = os.fsencode(dst.stem)[:64].decode("utf-8", "ignore")
    template = dst.parent / f".{stem}{runner.TEMP_MARK}.XXXXXXXX"
    body = (f"d=$(mktemp -d {names.sh_quote(str(template))}) || exit 1; "
            "trap 'rm -rf \"$d\"' EXIT; trap 'exit 129' HUP INT TERM; cd \"$d\" || exit 1; "
            + " && ".join(names.sh_join(argv) for argv in argvs))
    line = f"( {names.newline_setup(body)}{body} )"
    if not options.overwrite:
        done = graph_outputs.sequence_file(dst, 1) if sequence else dst
        line = f"[ -e {names.sh_quote(str(done))} ] || {line}"
    return line


def output_done(dst: Path) -> bool:
    """A finished output: the file, or for an image sequence its first image (moved into
    place last, so a set stopped halfway is not taken as done)."""
    if graph_outputs.is_sequence(dst):
        return runner.sequence_done(dst)
    return dst.exists()


def check_emit_path(dest: str) -> None:
    if not outputs.is_stream(dest) and not dest.endswith((".sh", ".jsonl")):
        raise UsageError(f"--emit-commands {outputs.shown(dest)}: use a .sh (shell script) or "
                         ".jsonl (JSON lines) file, or - for a script on stdout")


def check_written_files(args: argparse.Namespace, inputs: Sequence[Path], jobs: Sequence[Job]) -> None:
    """--report and --emit-commands under the safe-write rule: never an input (also one the
    search found), never a planned output or each other, never an existing file that is not
    ffmotion's own earlier report/script without --overwrite."""
    if args.report == "-" and args.emit_commands == "-":
        raise UsageError("--report - and --emit-commands - would both write to stdout: "
                         "give one of them a file")
    planned = {f"the output for {outputs.shown(job.src)}": job.dst for job in jobs}
    chosen = {"--report": args.report, "--emit-commands": args.emit_commands}
    for option, path in chosen.items():
        if not path:
            continue
        others = {**planned, **{k: v for k, v in chosen.items() if k != option and v}}
        if option == "--report":
            ours = outputs.starts_with(REPORT_HEAD)
        else:
            ours = outputs.starts_with(JSONL_HEAD if path.endswith(".jsonl") else SCRIPT_HEAD)
        outputs.check_target(path, what=option, overwrite=bool(args.overwrite), inputs=inputs,
                             others=others, stream=True, ours=ours)
        target = Path(path)
        if (not outputs.is_stream(path) and target.is_file() and not ours(target)
                and target.suffix.lower() in VIDEO_EXTENSIONS | set(graph.CONTAINERS)):
            # --overwrite is about outputs; `--report *.mp4` (name forgotten) must not eat a clip
            raise UsageError(f"{option} {outputs.shown(path)} is a video file: refusing to "
                             "replace it (did you forget the file name after the option?)")


# -- report, summary, display -----------------------------------------------------------

def counts(records: Sequence[Record]) -> dict[str, int]:
    """How many records have each status (statuses that occur, plus done/skipped/failed)."""
    found = {status: 0 for status in ("done", "skipped", "failed")}
    for record in records:
        found[record.status] = found.get(record.status, 0) + 1
    return found


def write_report(path: Union[str, Path], outcome: Outcome, backend: str, outdir: Path, seconds: float) -> None:
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
    outputs.write_text(path, json.dumps(report, indent=2) + "\n", what="--report",
                       overwrite=True)


def _shown(path: str) -> str:
    """A path as the user reads it: relative to the current folder when inside it."""
    with contextlib.suppress(ValueError):
        return outputs.shown(Path(path).relative_to(Path.cwd()))
    return outputs.shown(path)


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
            return f"ffmotion: done     {src} -> {dst} ({record.frames} frames, {record.seconds:.1f} s)"
        if record.status == "skipped":
            return f"ffmotion: skipped  {src} ({dst} exists; --overwrite replaces it)"
        if record.status == "emitted":
            return f"ffmotion: planned  {src} -> {dst} ({record.frames} frames)"
        if record.status == "interrupted":
            return f"ffmotion: stopped  {src}"
        return f"ffmotion: FAILED   {src}: {record.error}"

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
            lines.append(f"  failed: {_shown(record.input)}: {record.error}")
    return lines


# -- the command ------------------------------------------------------------------------

def default_threads(jobs: int) -> Optional[int]:
    """Decoder/filter threads per ffmpeg: the cores shared out when several run at once."""
    if jobs <= 1:
        return None
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        cores = os.cpu_count() or 1
    return max(1, cores // jobs)


def main(args: argparse.Namespace, make_options: OptionsFactory) -> int:
    """``ffmotion batch``: check everything, then run, emit or submit; return the exit code."""
    started = time.monotonic()
    _check_arguments(args)
    client = connect(args.scheduler, args.connect_timeout) if args.scheduler else None
    try:
        outdir = Path(args.output_dir).expanduser().absolute()
        jobs, unnamed = _jobs(args, outdir, make_options)
        _note_stale_temporaries(outdir)
        live = not args.quiet and sys.stderr.isatty() and args.emit_commands != "-"
        display = Display(len(jobs) + len(unnamed), live)
        refused = [_refused(path) for path in unnamed]
        for number, record in enumerate(refused):
            display.finished(-1 - number, record)
        try:
            if args.emit_commands:
                backend = "emit"
                outcome = emit_commands(jobs, args.ffmpeg, args.emit_commands, args.jobs, display)
            else:
                executor = make_executor(min(args.jobs, max(1, len(jobs))), client=client)
                backend = executor.name
                with executor:
                    outcome = run_jobs(jobs, args.ffmpeg, executor, display)
        finally:
            display.close()
    finally:
        if client is not None:
            with contextlib.suppress(Exception):
                client.close()
    outcome = Outcome(refused + outcome.records, outcome.interrupted)
    seconds = time.monotonic() - started
    for line in summary_lines(outcome, seconds):
        print(line, file=sys.stderr)
    if args.report:  # after the summary: a disk-full report still leaves the summary shown
        write_report(args.report, outcome, backend, outdir, seconds)
    if outcome.interrupted:
        raise Interrupted("interrupted: running ffmpeg stopped and their temporary files "
                          "removed; finished outputs are kept, a rerun skips them")
    return 1 if any(record.status == "failed" for record in outcome.records) else 0


def _check_arguments(args: argparse.Namespace) -> None:
    if args.jobs < 1:
        raise UsageError(f"--jobs must be 1 or more, not {args.jobs}")
    if args.threads is not None and not 1 <= args.threads <= MAX_THREADS:
        raise UsageError(f"--threads must be 1 to {MAX_THREADS}, not {args.threads}")
    if not math.isfinite(args.connect_timeout) or args.connect_timeout <= 0:
        raise UsageError(f"--connect-timeout must be a number of seconds more than 0, not "
                         f"{args.connect_timeout}")
    if args.emit_commands and args.scheduler:
        raise UsageError("--emit-commands writes the commands instead of running them: "
                         "drop --scheduler or --emit-commands")
    check_template(args.name)
    if args.emit_commands:
        check_emit_path(args.emit_commands)
    outdir = Path(args.output_dir).expanduser()
    outputs.check_name(outdir, "--output-dir")
    if outdir.exists() and not outdir.is_dir():
        raise UsageError(f"--output-dir {outdir} is a file, not a folder")


def _refused(path: Path) -> Record:
    """The record of an input whose name ffmotion cannot carry (not valid UTF-8)."""
    try:
        outputs.check_name(path, "input")
        reason = "refused"
    except UsageError as exc:
        reason = str(exc)
    return Record(outputs.shown(path), "", "failed", error=reason)


def _utf8(path: Path) -> bool:
    try:
        outputs.check_name(path)
    except UsageError:
        return False
    return True


def _jobs(args: argparse.Namespace, outdir: Path,
          make_options: OptionsFactory) -> tuple[list[Job], list[Path]]:
    """Inputs -> checked jobs, and the inputs refused for their names (each a failed job, so
    the others, the summary and the report go on); creates OUTDIR, and removes it again if a
    check fails."""
    items = list(args.inputs)
    if args.input_list:
        items += read_input_list(args.input_list)
    if not items:
        raise UsageError("no inputs: give files, folders or patterns, or --input-list FILE")
    roots: dict[Path, Optional[Path]] = {}
    found = find_inputs(items, exclude=outdir, template=args.name, roots=roots,
                        sequences=bool(getattr(args, "sequences", False)))
    inputs = [path for path in found if _utf8(path)]
    unnamed = [path for path in found if not _utf8(path)]
    if args.threads is None and not args.scheduler:
        args.threads = default_threads(args.jobs)
    created = _make_folder(outdir)
    try:
        jobs = plan_jobs(args, inputs, outdir, make_options, roots, created)
        check_written_files(args, found, jobs)
        if not args.scheduler:
            found = runner.tools(args.ffmpeg)  # a missing ffmpeg is one error, not one per input
            if args.codec and args.codec not in runner.encoders(found.ffmpeg):
                raise UsageError(f"unknown codec for this ffmpeg ({found.ffmpeg}): {args.codec} "
                                 "(ffmpeg -encoders lists the available ones)")
    except BaseException:
        for folder in reversed(created):
            with contextlib.suppress(OSError):
                folder.rmdir()  # only if still empty: nothing of the user's is removed
        raise
    return jobs, unnamed


def _note_stale_temporaries(outdir: Path) -> None:
    """Remove the temporary files of runs that were killed (their writer is dead, on this
    host); name the others, which a live batch (or another host) may be writing."""
    removed, kept = outputs.remove_stale(outdir)
    if removed:
        print(f"ffmotion: note: removed {len(removed)} temporary file(s) left in "
              f"{_shown(str(outdir))} by a run that was killed (e.g. "
              f"{outputs.shown(removed[0].name)})", file=sys.stderr)
    stale = [p.name for p in kept]
    if stale:
        print(f"ffmotion: note: {len(stale)} temporary file(s) of an interrupted run in "
              f"{_shown(str(outdir))} (e.g. {outputs.shown(stale[0])}): never "
              "taken for outputs; delete them "
              "when no batch is writing there", file=sys.stderr)


def _make_folder(folder: Path) -> list[Path]:
    """mkdir -p; returns the folders it created, deepest last."""
    missing = []
    probe = folder
    while not probe.exists():
        missing.append(probe)
        probe = probe.parent
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UsageError(f"cannot create the output folder {folder}: {exc.strerror}") from None
    if not os.access(folder, os.W_OK):
        raise UsageError(f"output folder is not writable: {folder}")
    return list(reversed(missing))
