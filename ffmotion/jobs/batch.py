"""Batch jobs: many inputs -> jobs, run by a local pool or on a Dask cluster, or emitted.

Every job goes through the same :func:`run_job` (skip if the output exists, then
``controller.prepare`` + ``controller.run``: probe, plan, atomic output, ffmpeg), on this machine or on a
Dask worker, so batch outputs are byte-identical to single-file runs with the same options.
Everything that can be checked without touching the media (paths, names, collisions, options)
is checked for all inputs before the first job starts; what needs the media (corrupt file, no
video, too short for the offset) fails that one job and the others go on.
"""
from __future__ import annotations

import contextlib
import dataclasses
import logging
import math
import os
import re
import string
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Optional, Union

from ffmotion import graph
from ffmotion.core import terminal
from ffmotion.core.errors import FfmotionError, Interrupted, UsageError, field
from ffmotion.core.magnify import MagnifySpec
from ffmotion.core.request import MAX_THREADS, MotionSpec
from ffmotion.jobs import naming
from ffmotion.jobs.dask import connect
from ffmotion.jobs.display import Display, _shown, report_json, summary_lines, write_report
from ffmotion.jobs.emit import check_emit_path, check_written_files, emit_commands
from ffmotion.jobs.executors import Executor, LocalExecutor, make_executor
from ffmotion.jobs.inputs import find_inputs, read_input_list  # noqa: F401 (batch's API)
from ffmotion.jobs.records import Job, Outcome, Progress, Record, RequestFactory, output_done
from ffmotion.jobs.records import job_record as _record
from ffmotion.pipeline import controller
from ffmotion.run import outputs, runner

log = logging.getLogger("ffmotion")

DEFAULT_NAME = "{stem}_motion_k{offset}{ext}"
MAGNIFY_NAME = "{stem}_magnified{ext}"  # the default name of a magnify batch
NAME_FIELDS = ("stem", "ext", "offset", "mode", "dir", "relpath")
DEFAULT_CONNECT_TIMEOUT = 10.0

# -- inputs -> jobs ---------------------------------------------------------------------

@dataclass(frozen=True)
class BatchRequest:
    """One batch, typed: the inputs as given (files, folders, glob patterns, and a list
    file), where and under which names the outputs go, how the jobs run (this machine's pool,
    a Dask scheduler, or emitted as commands), what is reported, and ``make_request``, which
    makes each input's :class:`~ffmotion.core.request.MotionRequest` for its output (existing
    outputs are the batch's business: skipped, or replaced with ``overwrite``, so the
    factory need not refuse them). ``offset``/``freeze`` and ``lossless`` name the outputs
    (``{offset}``, ``{ext}``); they are the ones the factory's requests use."""

    inputs: tuple[str, ...]
    output_dir: str
    make_request: RequestFactory
    name: str = DEFAULT_NAME
    input_list: Optional[str] = None
    sequences: bool = False
    offset: Union[int, str, None] = None
    freeze: Union[int, str, None] = None
    lossless: bool = False
    jobs: int = 1
    threads: Optional[int] = None  # None: the cores shared out among the jobs
    scheduler: Optional[str] = None
    connect_timeout: float = DEFAULT_CONNECT_TIMEOUT
    report: Optional[str] = None
    emit_commands: Optional[str] = None
    overwrite: bool = False
    ffmpeg: Optional[str] = None
    quiet: bool = False
    # the live status line (None: on a stderr that takes escape sequences, unless quiet)
    live: Optional[bool] = None
    # called with the report's content at the end (the CLI's --json), beside --report
    on_report: Optional[Callable[[dict[str, Any]], None]] = None
    # magnify every input (ffmotion magnify) instead of extracting motion; its outputs are
    # named MAGNIFY_NAME unless ``name`` is given ({mode} is "magnify", {offset} the band)
    magnify: Optional[MagnifySpec] = None


def check_template(template: str) -> None:
    """The name template (``--name``) uses known fields only and yields a plain file name."""
    try:
        parsed = [(f, spec or "") for _, f, spec, _ in string.Formatter().parse(template)
                  if f is not None]
    except ValueError as exc:
        raise UsageError(f"{field('name')} {template!r} is not a valid template: {exc}") from None
    fields = [f for f, _ in parsed]
    for name, spec in parsed:
        # a name is at most 255 bytes: a width like {stem:>9999999999} would only eat memory
        if re.search(r"\d{4,}", spec) or "{" in spec:
            raise UsageError(f"{field('name')} {template!r}: the width in {{{name}:{spec}}} "
                             "is too large for a file name")
    for name in fields:
        if name not in NAME_FIELDS:
            raise UsageError(f"unknown field {{{name}}} in {field('name')} {template!r} "
                             f"(fields: {', '.join('{' + f + '}' for f in NAME_FIELDS)})")
    if "stem" not in fields and "relpath" not in fields:
        raise UsageError(f"{field('name')} {template!r} has no {{stem}} (or {{relpath}}): "
                         "every input would write the same file")
    _format_name(template, stem="clip", ext=".mp4", offset="1", mode="offset", dir="folder",
                 relpath="folder/clip")


def _format_name(template: str, **fields: str) -> str:
    """``template.format(**fields)``; a bad format spec (``{stem:d}``) is one usage line."""
    try:
        return template.format(**fields)
    except (ValueError, TypeError, KeyError, IndexError, AttributeError) as exc:
        raise UsageError(f"{field('name')} {template!r} cannot be filled in: {exc}") from None


def output_name(template: str, src: Path, mode: str, offset_text: str, lossless: bool,
                root: Optional[Path] = None) -> str:
    """The output file name for ``src``.

    ``{ext}`` is the input's extension when its container's default encoder is H.264, VP9 or
    MPEG-4 (:data:`ffmotion.graph.KEEP_EXTENSION`), else ``.mp4`` (MPEG-PS, MXF, Ogg, y4m: their
    MPEG-2/Theora/raw defaults, and MPEG-2/MXF take few frame rates); with ``--lossless``,
    ``.mkv`` unless the container holds FFV1. ``{offset}`` is the offset
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
        raise UsageError(f"{field('name')} gives {outputs.shown(name)!r} for "
                         f"{outputs.shown(src)}: a file name is needed, without folders")
    return name


def plan_jobs(request: BatchRequest, inputs: list[Path], outdir: Path,
              roots: Optional[dict[Path, Optional[Path]]] = None,
              created: Optional[list[Path]] = None,
              threads: Optional[int] = None) -> list[Job]:
    """Names, collisions and options for every input; raises before anything is written.

    ``request.make_request(src, dst)`` makes each input's request; it also checks that the
    input exists and is not the output. ``roots``: where each input was found (for
    ``{relpath}``); the output sub-folders those names need are made once the names are
    checked, and added to ``created`` (for the caller to remove if a later check fails).
    ``threads``: each job's decoder and filter threads.
    """
    motion = MotionSpec.parse(request.offset, request.freeze)
    mode: str = motion.mode
    offset_text, template = motion.offset.text, request.name
    if request.magnify is not None:
        spec = request.magnify
        mode, offset_text = "magnify", f"{spec.low:g}-{spec.high:g}"
        template = MAGNIFY_NAME if template == DEFAULT_NAME else template
    owners: dict[Path, Path] = {}
    for src in inputs:
        dst = outdir / output_name(template, src, mode, offset_text, request.lossless,
                                   (roots or {}).get(src))
        other = owners.get(dst)
        if other is not None:
            raise UsageError(f"{other} and {src} would both write {dst}: use a "
                             f"{field('name')} that tells them apart (e.g. "
                             "'{relpath}_motion{ext}' keeps their folders, '{dir}_{stem}{ext}'), "
                             "or give them separately")
        owners[dst] = src
    real_inputs = {Path(os.path.realpath(src)): src for src in inputs}
    for dst, src in owners.items():
        clash = real_inputs.get(Path(os.path.realpath(dst)))
        if clash is not None:
            raise UsageError(f"the output for {src} would be the input {clash}: choose another "
                             f"{field('output_dir')} or {field('name')}")
    made = naming.make_output_folders(outdir, owners)
    if created is not None:
        created += made
    jobs = []
    for index, (dst, src) in enumerate(owners.items()):
        # existing outputs are the batch's business (skip, or overwrite), not an error here
        job = request.make_request(src, dst)
        job = dataclasses.replace(job.with_output(overwrite=request.overwrite), threads=threads)
        assert job.output is not None
        graph.check_output_format(job.output)
        graph.check_quality(job.output)
        jobs.append(Job(index, job, request.magnify))
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
    if cancelled is not None and cancelled():
        return _record(job, "interrupted")
    if output_done(job.dst) and not job.output.overwrite:
        return _record(job, "skipped")
    plan: Optional[graph.Plan] = None
    tools: Optional[runner.Tools] = None
    try:
        tools = runner.tools(ffmpeg)
        if job.magnify is not None:
            from ffmotion.pipeline import magnify as magnifying

            prepared = magnifying.prepare(job.request, job.magnify, tools)
            plan = prepared.plan
        else:
            plan = controller.prepare(job.request, tools)
        total = plan.out_frames
        if progress is not None:
            progress(job.index, 0, total)

        def on_frames(frames: int) -> None:
            if progress is not None:
                progress(job.index, frames, total)
            if cancelled is not None and cancelled():
                raise Interrupted("interrupted")

        if job.magnify is not None:
            done = magnifying.run(prepared, tools, on_frames=on_frames)
            return _record(job, "done", frames=done.frames, seconds=_since(started),
                           argv=done.command)
        result = controller.run(plan, tools, on_frames=on_frames)
        return _record(job, "done", frames=result.frames, k=result.k, seconds=_since(started),
                       argv=result.argv)
    except Exception as exc:  # noqa: BLE001 - a job reports its failure, the batch goes on
        argv = (graph.command(plan, tools.ffmpeg)
                if plan is not None and tools is not None and job.magnify is None else None)
        k = plan.k if plan is not None and job.magnify is None else None
        if cancelled is not None and cancelled():
            return _record(job, "interrupted", k=k, seconds=_since(started), argv=argv)
        if not job.output.overwrite and output_done(job.dst):  # written meanwhile by someone else
            return _record(job, "skipped", k=k, seconds=_since(started))
        reason = str(exc) if isinstance(exc, FfmotionError) else f"{type(exc).__name__}: {exc}"
        tail = getattr(exc, "stderr_tail", "")
        if tail:
            log.debug("%s: ffmpeg stderr:\n%s", job.src, tail)
        return _record(job, "failed", k=k, seconds=_since(started), argv=argv,
                       error=" ".join(reason.split()) or type(exc).__name__)



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


def run(request: BatchRequest) -> int:
    """``ffmotion batch``: check everything, then run, emit or submit; return the exit code."""
    started = time.monotonic()
    _check(request)
    client = connect(request.scheduler, request.connect_timeout) if request.scheduler else None
    try:
        outdir = Path(request.output_dir).expanduser().absolute()
        jobs, unnamed = _jobs(request, outdir)
        _note_stale_temporaries(outdir)
        live = (request.live if request.live is not None
                else not request.quiet and terminal.fancy(sys.stderr))
        live = live and request.emit_commands != "-"
        display = Display(len(jobs) + len(unnamed), live)
        refused = [_refused(path) for path in unnamed]
        for number, record in enumerate(refused):
            display.finished(-1 - number, record)
        try:
            if request.emit_commands:
                backend = "emit"
                outcome = emit_commands(jobs, request.ffmpeg, request.emit_commands,
                                        request.jobs, display)
            else:
                executor = make_executor(min(request.jobs, max(1, len(jobs))), client=client)
                backend = executor.name
                with executor:
                    outcome = run_jobs(jobs, request.ffmpeg, executor, display)
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
    if request.report:  # after the summary: a disk-full report still leaves the summary shown
        write_report(request.report, outcome, backend, outdir, seconds)
    if request.on_report is not None:
        request.on_report(report_json(outcome, backend, outdir, seconds))
    if outcome.interrupted:
        raise Interrupted("interrupted: running ffmpeg stopped and their temporary files "
                          "removed; finished outputs are kept, a rerun skips them")
    return 1 if any(record.status == "failed" for record in outcome.records) else 0


def _check(request: BatchRequest) -> None:
    if request.jobs < 1:
        raise UsageError(f"{field('jobs')} must be 1 or more, not {request.jobs}")
    if request.threads is not None and not 1 <= request.threads <= MAX_THREADS:
        raise UsageError(f"{field('threads')} must be 1 to {MAX_THREADS}, not {request.threads}")
    if not math.isfinite(request.connect_timeout) or request.connect_timeout <= 0:
        raise UsageError(f"{field('connect_timeout')} must be a number of seconds more than 0, "
                         f"not {request.connect_timeout}")
    if request.emit_commands and request.scheduler:
        raise UsageError(f"{field('emit_commands')} writes the commands instead of running "
                         f"them: drop {field('scheduler')} or {field('emit_commands')}")
    check_template(request.name)
    if request.emit_commands:
        check_emit_path(request.emit_commands)
        if request.magnify is not None:
            raise UsageError(f"{field('emit_commands')} does not write magnify's commands yet: "
                             "run the batch, or print one with ffmotion magnify "
                             "--print-command")
    outdir = Path(request.output_dir).expanduser()
    outputs.check_name(outdir, field("output_dir"))
    if outdir.exists() and not outdir.is_dir():
        raise UsageError(f"{field('output_dir')} {outdir} is a file, not a folder")


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


def _jobs(request: BatchRequest, outdir: Path) -> tuple[list[Job], list[Path]]:
    """Inputs -> checked jobs, and the inputs refused for their names (each a failed job, so
    the others, the summary and the report go on); creates OUTDIR, and removes it again if a
    check fails."""
    items = list(request.inputs)
    if request.input_list:
        items += read_input_list(request.input_list)
    if not items:
        raise UsageError(f"no inputs: give files, folders or patterns, or {field('input_list')} "
                         "FILE")
    roots: dict[Path, Optional[Path]] = {}
    found = find_inputs(items, exclude=outdir, template=request.name, roots=roots,
                        sequences=request.sequences)
    inputs = [path for path in found if _utf8(path)]
    unnamed = [path for path in found if not _utf8(path)]
    threads = request.threads
    if threads is None and not request.scheduler:
        threads = default_threads(request.jobs)
    created = _make_folder(outdir)
    try:
        jobs = plan_jobs(request, inputs, outdir, roots, created, threads)
        check_written_files(request.report, request.emit_commands, request.overwrite, found, jobs)
        codec = jobs[0].output.encode.codec if jobs else None
        if not request.scheduler:
            tools = runner.tools(request.ffmpeg)  # a missing ffmpeg is one error, not one per input
            if codec and codec not in runner.encoders(tools.ffmpeg):
                raise UsageError(f"unknown codec for this ffmpeg ({tools.ffmpeg}): {codec} "
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
