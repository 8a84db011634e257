"""Running a plan whose input or output is a stream (stdin, a URL, a device; stdout, a URL,
an HLS folder), and stopping it cleanly.

*stdin relay.* The head probe already took the first bytes of stdin (:mod:`ffmotion.run.stdin`);
ffmpeg gets them back, then the rest of stdin, through a pipe written by a thread
(compressed bytes as they came: the relay costs a memory copy, not a decode).

*Stopping.* A stream has no end of its own: Ctrl-C (SIGINT), SIGTERM, SIGHUP or SIGQUIT is
how it is stopped. ffmpeg then gets one SIGINT and the end of its stdin, finalizes the output
(Matroska cues, the HLS ``#EXT-X-ENDLIST``) and the result is a complete, playable file
(:func:`ffmotion.run.runner.run_ffmpeg`, ``stoppable``). How that fits the safe-write rule
(:mod:`ffmotion.run.outputs`): the output is still written to a temporary name and moved into
place by the same no-clobber commit; a stop by signal counts as the normal end of a stream,
so the finished temporary file is committed (exit 0, the summary says which signal stopped
it). The "unblended frames" refusal still holds: an output of at most K frames from a
stream of unknown length cannot be told apart from blend passing the input through (the
stream ended before frame K), so it is refused.
"""
from __future__ import annotations

import contextlib
import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Optional

from ffmotion import graph
from ffmotion.core.errors import FFmpegFailed, UsageError
from ffmotion.core.names import is_sequence
from ffmotion.graph.stream import is_unbounded
from ffmotion.media.stream import HELD_NAME, STDIN_NAME
from ffmotion.pipeline import resolve
from ffmotion.pipeline.controller import check_written
from ffmotion.run import runner
from ffmotion.run.hls import hls_output, verify_hls
from ffmotion.run.stdin import held_stdin


@dataclass(frozen=True)
class StreamRun:
    """What a stream run wrote: frames, and the signal that stopped it (None: it ended)."""

    output: Path
    frames: int
    stopped: Optional[str] = None


def run_plan(plan: graph.Plan, tools: runner.Tools, progress: bool = False,
             on_frames: Optional[Callable[[int], None]] = None,
             stopper: Optional[runner.Stopper] = None,
             stdin: Optional[int] = None) -> StreamRun:
    """Run a plan with a stream input and/or a stream output (see the module docstring);
    ``stopper``: another thread may end it as Ctrl-C does (a steered job's restart);
    ``stdin``: a descriptor ffmpeg reads its input from (a capture's frames)."""
    output = plan.output
    sink = output.sink
    name = plan.info.input.name
    feed: "Optional[int | str]" = None
    if stdin is not None:
        feed = stdin
    elif plan.input.source is not None and name == STDIN_NAME:
        feed = runner.RELAY
    elif name == HELD_NAME:
        feed = held_stdin()
    planned = None if is_unbounded(plan) else graph.delivered_frames(plan)

    def go(argv: list[str], to_stdout: bool = False) -> runner.Ran:
        ran = runner.run_ffmpeg(argv, total_frames=planned, progress=progress,
                                on_frames=on_frames, stdin=feed, to_stdout=to_stdout,
                                stoppable=True, stopper=stopper)
        if ran.stopped != "restart":  # a restart may come before frame K: the next run goes on
            check_frames(plan, ran.frames, planned)
        return ran

    if sink is None or sink.kind == "file":
        writer = runner.atomic_sequence if is_sequence(output.path) else runner.atomic_output
        with writer(output.path, output.overwrite) as tmp:
            ran = go(graph.command(plan, tools.ffmpeg, tmp, overwrite=True))
        return StreamRun(output.path, ran.frames, ran.stopped)
    if sink.kind == "hls":
        read = resolve.input_files(plan.input)
        with hls_output(output.path, output.overwrite, read) as playlist:
            ran = go(graph.command(plan, tools.ffmpeg, playlist, overwrite=True))
            verify_hls(playlist, ran.frames, tools.ffmpeg)
        return StreamRun(output.path, ran.frames, ran.stopped)
    if sink.kind == "stdout":
        check_stdout()
    ran = go(graph.command(plan, tools.ffmpeg, overwrite=True), to_stdout=sink.kind == "stdout")
    return StreamRun(Path(sink.shown), ran.frames, ran.stopped)


def check_frames(plan: graph.Plan, written: int, planned: Optional[int]) -> None:
    """Refuse an output that may hold frames not blended (see the module docstring)."""
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


def check_stdout() -> None:
    """Refuse a stdout that is missing or a terminal (video would go to the screen)."""
    try:
        fd = sys.stdout.fileno()
    except (AttributeError, ValueError, OSError):
        raise UsageError("output '-' is stdout, and there is none here") from None
    if os.isatty(fd):
        raise UsageError("output '-' writes video to stdout, which is a terminal: pipe it "
                         "into a player (ffmotion IN - | ffplay -) or give a file name")
    with contextlib.suppress(OSError, ValueError):
        sys.stdout.flush()
