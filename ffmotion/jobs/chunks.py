"""One long video over many cores and machines: a chunked run.

The run's output frames are cut into chunks (boundaries moved onto keyframes where that is
cheap); each chunk is rendered by its own ffmpeg (:func:`ffmotion.graph.chunks.chunk_plan`:
a fast seek, frames selected by count, warm-up frames for looks with memory) to a segment
beside the output, on the local pool or on Dask workers (:mod:`ffmotion.jobs.executors`);
the segments are then joined by stream copy and the audio, cut once from the input, is muxed
in. The frames equal those of a single pass bit for bit (tests hold ``--lossless`` runs to it).

Segments: ``.STEM.KEY.NNNN.ffmotion-chunk.nut`` beside the output, KEY a hash of the input's
identity (path, size, mtime) and of every chunk's command, so changed options never reuse an
old segment. A segment is written under the safe-write rule (a temporary name with the
writer's PID, renamed only after ffmpeg succeeded and wrote the planned frame count), so a
finished name is never a half-written chunk. Before it is renamed, a manifest
(``.STEM.KEY.NNNN.ffmotion-chunk.json``) is written beside it: the chunk's binding (a hash of
the input's path, size, mtime, device, inode and a few blocks of its content, the chunk's
command, index and range), the ffmpeg that made it (version and a hash of a few blocks of the
binary) and the segment's size and hash. A segment is reused only when all of that still
matches (:func:`check_segment`); anything else is made again, and said. A failed run keeps
the finished segments for a rerun, which renders only the missing ones; a finished run, and
an interrupted one (Ctrl-C, SIGTERM), leave none. A killed run (SIGKILL, a lost machine)
leaves its finished segments for the rerun; the half-written temporaries of dead writers on
this host are removed then.

One run at a time writes an output: a chunked run holds ``.STEM.ffmotion-lock`` beside it
(:func:`ffmotion.run.outputs.output_lock`) from before its first segment until after the
join; a second run on the same output (or another output with the same stem, whose segment
names it would share) fails at once in one line and touches nothing.
"""
from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import math
import os
import re
import shlex
import tempfile
import time
from dataclasses import dataclass
from fractions import Fraction
from functools import lru_cache
from pathlib import Path
from typing import Any, Callable, Optional, Sequence, Union

from ffmotion import graph
from ffmotion.core import numbers
from ffmotion.core.errors import FFmpegFailed, Interrupted, UsageError, field
from ffmotion.graph import chunks as graph_chunks
from ffmotion.jobs.executors import Executor, LocalExecutor
from ffmotion.pipeline import controller, stabilize
from ffmotion.run import outputs, runner

log = logging.getLogger("ffmotion")

Chunks = Union[int, str]  # a count, or "auto"
AUTO = "auto"
PLACEHOLDER = "ffmotion-segment-output.nut"
SEGMENT_MARK = ".ffmotion-chunk"
LISTING_SUFFIX = ".ffconcat"
MANIFEST_SUFFIX = ".json"  # beside each segment: what made it (see render_chunk)
MANIFEST_VERSION = 1
MANIFEST_MAX_BYTES = 64 * 1024
SAMPLE_BYTES = 64 * 1024  # each of the blocks an input's identity hashes

# Per-chunk overhead, measured on the 2-core development machine (1080p30 H.264, GOP ~150,
# K = 12, one thread per ffmpeg, x264 defaults; docs/chunked.md): a chunk of 1 output
# frame starting on a keyframe took 0.93 s, one of 31 frames 3.07 s (71 ms a frame), and
# the same chunks starting mid-GOP 1.3 s more (62 frames decoded and dropped: 21 ms each).
# So: an ffmpeg start with encoder set-up START_S, each extra decoded frame (the K-frame
# overlap, warm-up, on average half a GOP after the seek) DECODE_S_PER_MPIXEL per million
# pixels, each output frame FRAME_S_PER_MPIXEL. --chunks auto keeps the overhead under
# MAX_OVERHEAD of the chunk's own work.
START_S = 0.6
DECODE_S_PER_MPIXEL = 0.010
FRAME_S_PER_MPIXEL = 0.034
MAX_OVERHEAD = 0.05


@dataclass(frozen=True)
class ChunkTask:
    """What a worker needs for one chunk (picklable: strings and numbers)."""

    index: int
    argv: tuple[str, ...]  # writes to PLACEHOLDER; argv[0] is replaced by the worker's ffmpeg
    segment: str  # the finished segment's path
    frames: int  # frames it must hold
    first: int  # first output frame of the whole run
    # what the segment is bound to (the input's identity, this chunk's command and range):
    # a segment whose manifest records another binding is not reused
    binding: str = ""


@dataclass(frozen=True)
class ChunkDone:
    index: int
    frames: int
    seconds: float
    reused: bool
    note: str = ""  # why a segment found beside the output was made again
    damaged: bool = False  # ... because it changed since it was finished


@dataclass(frozen=True)
class ChunkedRun:
    """A planned chunked run: the whole plan, each chunk's plan and task, the join."""

    whole: graph.Plan
    plans: tuple[graph.Plan, ...]
    tasks: tuple[ChunkTask, ...]
    key: str
    # (path, text) written before the chunks run, removed after: stabilization slices
    files: tuple[tuple[str, str], ...] = ()

    @property
    def cuts(self) -> list[int]:
        return [t.first for t in self.tasks] + [self.whole.out_frames]

    def segments(self) -> list[Path]:
        return [Path(t.segment) for t in self.tasks]

    def listing(self) -> str:
        """The concat script; it lies beside the segments, which it names by their file
        names alone (the demuxer reads them relative to it: no folder in the script)."""
        fps = self.whole.info.fps
        return graph_chunks.concat_listing(
            [(Path(Path(t.segment).name), graph_chunks.segment_duration(t.frames, fps))
             for t in self.tasks])


@dataclass(frozen=True)
class ChunkedResult:
    output: Path
    frames: int
    chunks: int
    reused: int
    join_seconds: float
    chunk_seconds: tuple[float, ...]
    argv: list[str]


# -- planning -----------------------------------------------------------------------------

def parse_chunks(value: Union[int, str, None]) -> Optional[Chunks]:
    """``--chunks N|auto``: None, "auto" or a count of 1 or more (a usage error otherwise)."""
    if value is None:
        return None
    if isinstance(value, str) and value.strip().lower() == AUTO:
        return AUTO
    count = numbers.whole(value, field("chunks"), "a number of chunks or auto")
    if count < 1 or isinstance(value, bool):
        raise UsageError(f"{field('chunks')} must be 1 or more, not {value}")
    return count


def min_chunk_frames(whole: graph.Plan, extra: int) -> int:
    """The shortest chunk whose overhead stays within :data:`MAX_OVERHEAD` of its work."""
    width, height = whole.info.display_size
    mpixels = width * height / 1e6
    index = whole.info.index
    gop = (index.count / max(1, len(index.keyframes))) if index is not None else 1
    overlap = max(whole.channel_ks or (whole.k,)) if whole.mode == "offset" else 0
    overhead = START_S + (overlap + extra + gop / 2) * DECODE_S_PER_MPIXEL * mpixels
    per_frame = FRAME_S_PER_MPIXEL * mpixels
    return max(1, math.ceil(overhead / (MAX_OVERHEAD * per_frame)))


def auto_chunks(whole: graph.Plan, workers: int, extra: int) -> int:
    """One chunk per worker, fewer where chunks would be too short to pay for themselves."""
    return max(1, min(workers, whole.out_frames // min_chunk_frames(whole, extra)))


def plan_chunks(whole: graph.Plan, ffmpeg_bin: str, chunks: Chunks, workers: int = 1,
                cuts: Optional[Sequence[int]] = None) -> ChunkedRun:
    """Cut ``whole`` into chunks (``cuts``: explicit output-frame boundaries, from 0 to
    ``whole.out_frames``), and the command of each."""
    graph_chunks.check_chunkable(whole)
    motion, before, after = graph_chunks.reach(whole)
    if motion is None:  # a trail that never forgets: every chunk starts from the beginning
        motion = whole.out_frames
    if before is None:  # a denoiser that never settles exactly: the same
        before = whole.span.count
    if cuts is None:
        count = auto_chunks(whole, workers, motion + before + after) if chunks == AUTO \
            else int(chunks)
        cuts = graph_chunks.boundaries(whole, count, motion, before)
    cuts = list(cuts)
    graph_chunks.check_boundaries(cuts, whole.out_frames)
    dst = whole.output.path
    stem = name_stem(dst)
    stabilized = _stabilized(whole)
    plans = tuple(graph_chunks.chunk_plan(whole, a, b, i, motion, before, after, stabilized)
                  for i, (a, b) in enumerate(zip(cuts, cuts[1:])))
    argvs = [graph.command(p, ffmpeg_bin, Path(PLACEHOLDER), overwrite=True) for p in plans]
    key = run_key(whole, argvs)
    identity = input_identity(whole.info.path)
    tasks = []
    for i, (p, argv) in enumerate(zip(plans, argvs)):
        segment = dst.parent / f".{stem}.{key}.{i:04d}{SEGMENT_MARK}{graph_chunks.SEGMENT_SUFFIX}"
        cut = p.cut
        assert cut is not None
        tasks.append(ChunkTask(i, tuple(argv), str(segment), cut.keep, cut.first,
                               binding(identity, argv, i, cut.first, cut.keep)))
    files = tuple((str(path), text) for path, text in stabilized.files.items()) \
        if stabilized is not None else ()
    return ChunkedRun(whole, plans, tuple(tasks), key, files)


def name_stem(dst: Path) -> str:
    """The part of the output's name that starts the names of its segments and its lock (the
    run key makes a segment's name unique: the stem only helps a person find them)."""
    return re.sub(r"[^A-Za-z0-9._-]", "_", dst.stem)[:60]


def lock_path(dst: Path) -> Path:
    """The lock one chunked run at a time holds on ``dst`` and on every name starting with
    its stem (its segments, which another output with the same stem would share)."""
    return dst.parent / f".{name_stem(dst)}{outputs.LOCK_MARK}"


def _stabilized(whole: graph.Plan) -> Optional[graph_chunks.StabilizedChunks]:
    """The run's stabilization corrections (vid.stab's, computed once for the whole range
    from the motions in the cache: settle the plan first), or None."""
    stab = whole.stabilizer
    if stab is None or stab.method != "vidstab" or stab.decided == "none":
        return None
    try:
        values = stabilize.load_corrections(whole)
    except (OSError, ValueError) as exc:
        raise FFmpegFailed(f"cannot read the stabilization motions of "
                           f"{whole.info.path.name} ({exc}): run it again") from None
    return graph_chunks.StabilizedChunks(stab, values, stabilize.geometry(whole),
                                         whole.output.path.parent)


def write_files(run: ChunkedRun) -> None:
    """Write the run's side files (stabilization slices) under the safe-write rule."""
    for path, text in run.files:
        outputs.write_text(Path(path), text, what="stabilization slice", overwrite=True)


def remove_files(run: ChunkedRun) -> None:
    for path, _ in run.files:
        with contextlib.suppress(FileNotFoundError):
            Path(path).unlink()


def run_key(whole: graph.Plan, argvs: list[list[str]]) -> str:
    """A hash of the input's identity and of every chunk's command (not the ffmpeg path)."""
    src = whole.info.path
    try:
        st = os.stat(src)
        identity = [str(src), st.st_size, st.st_mtime_ns]
    except OSError:
        identity = [str(src)]
    text = json.dumps([identity, [argv[1:] for argv in argvs]])
    return hashlib.blake2b(text.encode("utf-8", "surrogateescape"), digest_size=6).hexdigest()


# -- what a segment is bound to ----------------------------------------------------------------

def sampled_digest(path: Union[str, Path], size: int) -> str:
    """A hash of ``path``'s first, middle and last :data:`SAMPLE_BYTES` (and its size): a
    content check that costs three reads, whatever the file's length."""
    digest = hashlib.blake2b(str(size).encode(), digest_size=16)
    with open(path, "rb") as handle:
        for offset in sorted({0, max(0, (size - SAMPLE_BYTES) // 2), max(0, size - SAMPLE_BYTES)}):
            handle.seek(offset)
            digest.update(handle.read(SAMPLE_BYTES))
    return digest.hexdigest()


def input_identity(src: Path) -> list[Any]:
    """The input as a chunked run is bound to it: absolute path, size, modification time,
    device and inode, and a hash of a few blocks of its content."""
    path = os.path.abspath(src)
    try:
        st = os.stat(path)
        return [path, st.st_size, st.st_mtime_ns, st.st_dev, st.st_ino,
                sampled_digest(path, st.st_size)]
    except OSError as exc:
        return [path, f"unreadable: {exc.strerror or exc}"]


def binding(identity: list[Any], argv: Sequence[str], index: int, first: int, frames: int) -> str:
    """What chunk ``index`` of a run is (the input, its command, its range), as one hash."""
    text = json.dumps([MANIFEST_VERSION, identity, list(argv[1:]), index, first, frames])
    return hashlib.blake2b(text.encode("utf-8", "surrogateescape"), digest_size=20).hexdigest()


@lru_cache(maxsize=8)
def _ffmpeg_identity(path: str, size: int, mtime_ns: int, version: str) -> str:
    return f"{version} {sampled_digest(path, size)}"


def ffmpeg_identity(tools: runner.Tools) -> str:
    """The ffmpeg a worker runs, as a segment records it: its version and a hash of a few
    blocks of the binary (not its path: the same build elsewhere on another machine is the
    same ffmpeg)."""
    real = os.path.realpath(tools.ffmpeg)
    try:
        st = os.stat(real)
        return _ffmpeg_identity(real, st.st_size, st.st_mtime_ns, tools.version)
    except OSError:
        return f"{tools.version} {real}"


def manifest_path(segment: Path) -> Path:
    """The manifest beside a segment: what made it, and its size and hash when finished."""
    return segment.with_suffix(MANIFEST_SUFFIX)


def file_digest(path: Path) -> str:
    digest = hashlib.blake2b(digest_size=20)
    with open(path, "rb") as handle:
        while block := handle.read(1 << 20):
            digest.update(block)
    return digest.hexdigest()


def manifest(task: ChunkTask, ffmpeg_id: str, segment: Path) -> dict[str, Any]:
    """The manifest of ``segment``, just made for ``task`` (its frames already checked)."""
    return {"ffmotion-chunk": MANIFEST_VERSION, "binding": task.binding, "ffmpeg": ffmpeg_id,
            "index": task.index, "first": task.first, "frames": task.frames,
            "size": segment.stat().st_size, "blake2b": file_digest(segment)}


def check_segment(task: ChunkTask, ffmpeg_id: str, segment: Path) -> Optional[tuple[str, bool]]:
    """Why the segment found at ``segment`` is not this task's finished segment, and whether
    that is damage (it changed since it was finished); None when it may be reused."""
    path = manifest_path(segment)
    if path.is_symlink() or not path.is_file():
        return "no manifest says which run made it", False
    try:
        with open(path, "rb") as handle:
            data = json.loads(handle.read(MANIFEST_MAX_BYTES + 1)[:MANIFEST_MAX_BYTES])
    except (OSError, ValueError) as exc:
        return f"its manifest cannot be read ({exc})", False
    if not isinstance(data, dict) or data.get("ffmotion-chunk") != MANIFEST_VERSION:
        return "its manifest is not one this version of ffmotion writes", False
    if data.get("binding") != task.binding or data.get("index") != task.index \
            or data.get("first") != task.first or data.get("frames") != task.frames:
        return "it was made for another input, command or range", False
    if data.get("ffmpeg") != ffmpeg_id:
        return f"it was made by another ffmpeg ({data.get('ffmpeg')!s:.60})", False
    try:
        if segment.stat().st_size != data.get("size") or file_digest(segment) != data.get("blake2b"):
            return "it changed since it was finished", True
    except OSError as exc:
        return f"it cannot be read ({exc.strerror or exc})", True
    return None


# -- one chunk, on any worker ----------------------------------------------------------------

def render_chunk(task: ChunkTask, ffmpeg: Optional[str] = None,
                 cancelled: Optional[Callable[[], bool]] = None) -> ChunkDone:
    """Make one segment (or reuse a finished one that checks out); raises with the reason.

    A segment is reused only when its manifest binds it to this task and to this ffmpeg, and
    the segment still has the size and hash recorded when it was finished. The manifest is
    written (safe-write rule) before the segment is moved into place: a segment's finished
    name always has its manifest beside it.
    """
    started = time.monotonic()
    if cancelled is not None and cancelled():
        raise Interrupted("interrupted")
    tools = runner.tools(ffmpeg, use_ffprobe=False)
    ffmpeg_id = ffmpeg_identity(tools)
    segment = Path(task.segment)
    note, damaged = "", False
    if os.path.lexists(segment):
        found = check_segment(task, ffmpeg_id, segment) if segment.is_file() \
            and not segment.is_symlink() else ("it is not a regular file", False)
        if found is None:
            return ChunkDone(task.index, task.frames, 0.0, True)
        note, damaged = found
        if segment.is_file() or segment.is_symlink():
            segment.unlink()
    argv = [tools.ffmpeg, *task.argv[1:]]
    place = argv.index(PLACEHOLDER)

    def on_frames(frames: int) -> None:
        if cancelled is not None and cancelled():
            raise Interrupted("interrupted")

    with outputs.atomic_output(segment, True, what=f"chunk {task.index + 1}") as tmp:
        argv[place] = str(tmp)
        written = runner.run_ffmpeg(argv, on_frames=on_frames).frames
        if written != task.frames:
            raise FFmpegFailed(f"ffmpeg wrote {written} of the {task.frames} frames planned")
        outputs.write_text(manifest_path(segment),
                           json.dumps(manifest(task, ffmpeg_id, tmp), indent=1) + "\n",
                           what=f"chunk {task.index + 1}'s manifest", overwrite=True)
    return ChunkDone(task.index, task.frames, round(time.monotonic() - started, 3), False,
                     note, damaged)


# -- the whole run ---------------------------------------------------------------------------

def remove_segments(run: ChunkedRun) -> None:
    """Remove the run's segments and their manifests."""
    for path in run.segments():
        for name in (path, manifest_path(path)):
            with contextlib.suppress(FileNotFoundError):
                name.unlink()


def execute(run: ChunkedRun, tools: runner.Tools, executor: Executor,
            ffmpeg: Optional[str] = None, say: Optional[Callable[[str], None]] = None) -> ChunkedResult:
    """Render the chunks on ``executor``, join them into the output; see the module docstring.

    ``ffmpeg`` is what workers are told to run (None: each finds its own; the local pool
    gets this machine's). ``say`` gets a line per finished chunk. The caller closes the
    executor (``with``).
    """
    whole = run.whole
    dst = whole.output.path
    outputs.check_output_path(dst, whole.output.overwrite)
    with outputs.output_lock(lock_path(dst), dst, inputs=(whole.info.path,)):
        try:
            return _execute(run, tools, executor, ffmpeg, say)
        finally:
            remove_dead_temporaries(run)


def remove_dead_temporaries(run: ChunkedRun) -> None:
    """Remove what writers of this run's segments and manifests that died on this host (a
    Dask worker killed mid-chunk) left half-written; a rescheduled chunk removes its own
    predecessor's, this catches the rest once every task has ended."""
    if run.tasks:
        first = Path(run.tasks[0].segment)
        for name in (first, manifest_path(first)):
            outputs.remove_stale(first.parent, name)


def _execute(run: ChunkedRun, tools: runner.Tools, executor: Executor, ffmpeg: Optional[str],
             say: Optional[Callable[[str], None]]) -> ChunkedResult:
    """:func:`execute`, with the output's lock held."""
    whole = run.whole
    dst = whole.output.path
    outputs.remove_stale(dst.parent, dst.with_suffix(LISTING_SUFFIX))
    worker_ffmpeg = tools.ffmpeg if isinstance(executor, LocalExecutor) else ffmpeg
    n = len(run.tasks)
    futures: list[Any] = []
    finished: dict[int, ChunkDone] = {}
    write_files(run)
    try:
        for task in run.tasks:
            futures.append(executor.submit(render_chunk, task, worker_ffmpeg, executor.cancelled,
                                           key=f"chunk{task.index}"))
        for future in executor.as_completed(futures):
            outcome = executor.outcome(future)
            index = int(outcome.key[len("chunk"):])
            task = run.tasks[index]
            if not outcome.ok:
                executor.cancel(futures)
                kept = sum(1 for p in run.segments() if p.is_file())
                also = (f"; {kept} finished chunk{'s' if kept != 1 else ''} kept beside the "
                        "output: a rerun resumes from them" if kept else "")
                remove_files(run)
                raise FFmpegFailed(f"chunk {index + 1} of {n} (output frames {task.first}-"
                                   f"{task.first + task.frames - 1}) failed: {outcome.error}"
                                   f"{also}")
            finished[index] = outcome.value
            if outcome.value.note:  # said here: a Dask worker's log is not the user's
                if outcome.value.damaged:
                    log.warning("chunk %d: the segment left by an earlier run is not whole: "
                                "made again (%s)", index + 1, outcome.value.note)
                else:
                    log.info("chunk %d: the segment beside the output is not this run's: made "
                             "again (%s)", index + 1, outcome.value.note)
            if say is not None:
                done = outcome.value
                how = "reused" if done.reused else f"{done.seconds:.1f} s"
                say(f"chunk {index + 1}/{n} done (frames {task.first}-"
                    f"{task.first + task.frames - 1}, {how})")
    except (KeyboardInterrupt, Interrupted):
        executor.cancel(futures)
        remove_segments(run)
        remove_files(run)
        raise
    except BaseException:
        remove_files(run)
        raise
    remove_files(run)
    started = time.monotonic()
    try:
        argv = join(run, tools)
    except (KeyboardInterrupt, Interrupted):
        remove_segments(run)
        raise
    join_seconds = time.monotonic() - started
    remove_segments(run)
    reused = sum(1 for d in finished.values() if d.reused)
    return ChunkedResult(dst, whole.out_frames, n, reused, round(join_seconds, 3),
                         tuple(finished[i].seconds for i in range(n)), argv)


def join(run: ChunkedRun, tools: runner.Tools) -> list[str]:
    """Join the finished segments into the output (safe-write rule); return the argv."""
    whole = run.whole
    dst = whole.output.path
    prefix, suffix = outputs.temp_affixes(dst.with_suffix(LISTING_SUFFIX))
    fd, name = tempfile.mkstemp(prefix=prefix, suffix=suffix, dir=dst.parent)
    listing = Path(name)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(run.listing())
        with outputs.atomic_output(dst, whole.output.overwrite) as tmp:
            argv = graph_chunks.join_command(whole, tools.ffmpeg, listing, tmp, overwrite=True)
            written = runner.run_ffmpeg(argv).frames
            if written != whole.out_frames:
                raise FFmpegFailed(f"joining the chunks gave {written} of the "
                                   f"{whole.out_frames} frames planned: no output written")
    finally:
        with contextlib.suppress(FileNotFoundError):
            listing.unlink()
    return graph_chunks.join_command(whole, tools.ffmpeg, listing, dst,
                                     overwrite=whole.output.overwrite)


def shell_line(run: ChunkedRun, ffmpeg_bin: str) -> str:
    """The chunked run as ONE shell line: each chunk's command (straight to its segment),
    the concat listing, the join, and the removal of the segments."""
    dst = run.whole.output.path
    listing = dst.parent / f".{dst.stem}.{run.key}{LISTING_SUFFIX}"
    steps = [f"printf %s {shlex.quote(text)} > {shlex.quote(path)}" for path, text in run.files]
    for task in run.tasks:
        argv = [ffmpeg_bin, *task.argv[1:]]
        argv[argv.index(PLACEHOLDER)] = task.segment
        steps.append(shlex.join(argv))
    steps.append(f"printf %s {shlex.quote(run.listing())} > {shlex.quote(str(listing))}")
    steps.append(shlex.join(graph_chunks.join_command(run.whole, ffmpeg_bin, listing, dst,
                                                      run.whole.output.overwrite)))
    steps.append(shlex.join(["rm", "-f", *map(str, run.segments()), str(listing),
                             *(path for path, _ in run.files)]))
    return " && ".join(steps)


def workers_for(executor: Optional[Executor], jobs: Optional[int]) -> int:
    if executor is not None:
        return executor.workers
    return jobs or os.cpu_count() or 1


def describe(run: ChunkedRun, executor: Executor) -> str:
    cuts = run.cuts
    return (f"{len(run.tasks)} chunks (output frames {', '.join(map(str, cuts[:-1]))} to "
            f"{cuts[-1]}) on {executor.workers} {executor.name} worker"
            f"{'s' if executor.workers != 1 else ''}")


def chunk_fraction(run: ChunkedRun) -> Fraction:
    """Input frames decoded over input frames a single pass decodes (the overlap's cost)."""
    read = sum(p.span.count for p in run.plans)
    return Fraction(read, run.whole.span.count)


AUTO_CHUNKS = "auto"


def run_chunked(plan: graph.Plan, tools: runner.Tools, chunks: Union[int, str], *,
                jobs: Optional[int] = None, scheduler: Optional[str] = None, client: Any = None,
                connect_timeout: float = 10.0, cuts: Optional[list[int]] = None,
                worker_ffmpeg: Optional[str] = None,
                say: Optional[Callable[[str], None]] = None) -> controller.Result:
    """Run a prepared plan in chunks (``chunks``: a count or ``"auto"``) on the local pool
    (``jobs`` at once, default: the cores) or on Dask (``scheduler`` address or ``client``);
    the output equals a single pass. ``cuts`` gives the output-frame boundaries instead
    (0 ... out_frames). With one chunk it is a single pass.
    """
    from ffmotion.jobs import executors

    wanted = parse_chunks(chunks)
    if wanted == AUTO_CHUNKS and cuts is None:
        try:
            graph_chunks.check_chunkable(plan)
        except UsageError as exc:
            log.warning("%s auto: a single pass (%s)", field("chunks"), str(exc).split(":")[0])
            return controller.run(plan, tools)
    graph_chunks.check_chunkable(plan)  # refused before any analysis runs
    # stabilization: pass 1 and the motions here, once; each chunk applies its slice
    plan = controller.settle_analysis(plan, tools, run=True)
    with executors.make_executor(jobs, scheduler, connect_timeout, client) as executor:
        planned = plan_chunks(plan, tools.ffmpeg, wanted or 1, executor.workers, cuts)
        if len(planned.tasks) == 1 and cuts is None:
            executor.close()
            return controller.run(plan, tools)
        if say is not None:
            say(describe(planned, executor))
        done = execute(planned, tools, executor, ffmpeg=worker_ffmpeg, say=say)
    return controller.Result(done.output, done.frames, plan.k, plan.mode, done.argv,
                             chunks=done.chunks, reused=done.reused)
