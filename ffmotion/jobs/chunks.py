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
finished name is never a half-written chunk; before reuse it is checked again (its frame
count, read from its packets). A failed run keeps the finished segments for a rerun, which
renders only the missing ones; a finished run, and an interrupted one (Ctrl-C, SIGTERM),
leave none. A killed run (SIGKILL, a lost machine) leaves its finished segments for the
rerun; the half-written temporaries of dead writers on this host are removed then.
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
from pathlib import Path
from typing import Any, Callable, Optional, Sequence, Union

from .. import graph
from .. import numbers
from ..graph import chunks as graph_chunks
from ..run import runner, outputs
from ..errors import FFmpegFailed, Interrupted, UsageError
from .executors import Executor, LocalExecutor

log = logging.getLogger("ffmotion")

Chunks = Union[int, str]  # a count, or "auto"
AUTO = "auto"
PLACEHOLDER = "ffmotion-segment-output.nut"
SEGMENT_MARK = ".ffmotion-chunk"
LISTING_SUFFIX = ".ffconcat"

# Per-chunk overhead, measured on the 2-core development machine (1080p30 H.264, GOP ~150,
# K = 12, one thread per ffmpeg, x264 defaults; README "Chunked runs"): a chunk of 1 output
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


@dataclass(frozen=True)
class ChunkDone:
    index: int
    frames: int
    seconds: float
    reused: bool


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
    count = numbers.whole(value, "--chunks", "a number of chunks or auto")
    if count < 1 or isinstance(value, bool):
        raise UsageError(f"--chunks must be 1 or more, not {value}")
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
    dst = whole.options.dst
    # the run key makes the names unique: the stem only helps a person find them
    stem = re.sub(r"[^A-Za-z0-9._-]", "_", dst.stem)[:60]
    stabilized = _stabilized(whole)
    plans = tuple(graph_chunks.chunk_plan(whole, a, b, i, motion, before, after, stabilized)
                  for i, (a, b) in enumerate(zip(cuts, cuts[1:])))
    argvs = [graph.command(p, ffmpeg_bin, Path(PLACEHOLDER), overwrite=True) for p in plans]
    key = run_key(whole, argvs)
    tasks = tuple(
        ChunkTask(i, tuple(argv), str(dst.parent / f".{stem}.{key}.{i:04d}{SEGMENT_MARK}"
                                                   f"{graph_chunks.SEGMENT_SUFFIX}"),
                  p.cut.keep, p.cut.first)  # type: ignore[union-attr]
        for i, (p, argv) in enumerate(zip(plans, argvs)))
    files = tuple((str(path), text) for path, text in stabilized.files.items()) \
        if stabilized is not None else ()
    return ChunkedRun(whole, plans, tasks, key, files)


def _stabilized(whole: graph.Plan) -> Optional[graph_chunks.StabilizedChunks]:
    """The run's stabilization corrections (vid.stab's, computed once for the whole range
    from the motions in the cache: settle the plan first), or None."""
    stab = whole.stabilizer
    if stab is None or stab.method != "vidstab" or stab.decided == "none":
        return None
    from .. import stabilize

    try:
        values = stabilize.load_corrections(whole)
    except (OSError, ValueError) as exc:
        raise FFmpegFailed(f"cannot read the stabilization motions of "
                           f"{whole.info.path.name} ({exc}): run it again") from None
    return graph_chunks.StabilizedChunks(stab, values, stabilize.geometry(whole),
                                         whole.options.dst.parent)


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


# -- one chunk, on any worker ----------------------------------------------------------------

def segment_frames(ffmpeg_bin: str, segment: Path) -> Optional[int]:
    """The video frames a finished segment holds (from its packets), None if unreadable."""
    done = runner.capture([ffmpeg_bin, "-hide_banner", "-nostdin", "-v", "error", "-i",
                           str(segment), "-map", "0:v:0", "-c", "copy", "-f", "framecrc", "-"])
    if done.returncode != 0:
        return None
    return sum(1 for line in done.stdout.decode("ascii", "replace").splitlines()
               if line.startswith("0,"))


def render_chunk(task: ChunkTask, ffmpeg: Optional[str] = None,
                 cancelled: Optional[Callable[[], bool]] = None) -> ChunkDone:
    """Make one segment (or reuse a finished one that checks out); raises with the reason."""
    started = time.monotonic()
    if cancelled is not None and cancelled():
        raise Interrupted("interrupted")
    tools = runner.tools(ffmpeg, use_ffprobe=False)
    segment = Path(task.segment)
    if segment.is_file() and not segment.is_symlink():
        if segment_frames(tools.ffmpeg, segment) == task.frames:
            return ChunkDone(task.index, task.frames, 0.0, True)
        log.warning("chunk %d: the segment left by an earlier run is not whole: made again",
                    task.index + 1)
        segment.unlink()
    argv = [tools.ffmpeg, *task.argv[1:]]
    place = argv.index(PLACEHOLDER)

    def on_frames(frames: int) -> None:
        if cancelled is not None and cancelled():
            raise Interrupted("interrupted")

    with outputs.atomic_output(segment, True, what=f"chunk {task.index + 1}") as tmp:
        argv[place] = str(tmp)
        written = runner.run_ffmpeg(argv, on_frames=on_frames)
        if written != task.frames:
            raise FFmpegFailed(f"ffmpeg wrote {written} of the {task.frames} frames planned")
    return ChunkDone(task.index, task.frames, round(time.monotonic() - started, 3), False)


# -- the whole run ---------------------------------------------------------------------------

def remove_segments(run: ChunkedRun) -> None:
    for path in run.segments():
        with contextlib.suppress(FileNotFoundError):
            path.unlink()


def execute(run: ChunkedRun, tools: runner.Tools, executor: Executor,
            ffmpeg: Optional[str] = None, say: Optional[Callable[[str], None]] = None) -> ChunkedResult:
    """Render the chunks on ``executor``, join them into the output; see the module docstring.

    ``ffmpeg`` is what workers are told to run (None: each finds its own; the local pool
    gets this machine's). ``say`` gets a line per finished chunk. The caller closes the
    executor (``with``).
    """
    whole = run.whole
    dst, overwrite = whole.options.dst, whole.options.overwrite
    outputs.check_output_path(dst, overwrite)
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
    dst = whole.options.dst
    prefix, suffix = outputs.temp_affixes(dst.with_suffix(LISTING_SUFFIX))
    fd, name = tempfile.mkstemp(prefix=prefix, suffix=suffix, dir=dst.parent)
    listing = Path(name)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(run.listing())
        with outputs.atomic_output(dst, whole.options.overwrite) as tmp:
            argv = graph_chunks.join_command(whole, tools.ffmpeg, listing, tmp, overwrite=True)
            written = runner.run_ffmpeg(argv)
            if written != whole.out_frames:
                raise FFmpegFailed(f"joining the chunks gave {written} of the "
                                   f"{whole.out_frames} frames planned: no output written")
    finally:
        with contextlib.suppress(FileNotFoundError):
            listing.unlink()
    return graph_chunks.join_command(whole, tools.ffmpeg, listing, dst,
                                     overwrite=whole.options.overwrite)


def shell_line(run: ChunkedRun, ffmpeg_bin: str) -> str:
    """The chunked run as ONE shell line: each chunk's command (straight to its segment),
    the concat listing, the join, and the removal of the segments."""
    dst = run.whole.options.dst
    listing = dst.parent / f".{dst.stem}.{run.key}{LISTING_SUFFIX}"
    steps = [f"printf %s {shlex.quote(text)} > {shlex.quote(path)}" for path, text in run.files]
    for task in run.tasks:
        argv = [ffmpeg_bin, *task.argv[1:]]
        argv[argv.index(PLACEHOLDER)] = task.segment
        steps.append(shlex.join(argv))
    steps.append(f"printf %s {shlex.quote(run.listing())} > {shlex.quote(str(listing))}")
    steps.append(shlex.join(graph_chunks.join_command(run.whole, ffmpeg_bin, listing, dst,
                                                      run.whole.options.overwrite)))
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
