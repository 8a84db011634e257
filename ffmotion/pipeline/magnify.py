"""``ffmotion magnify``: the controller. resolve -> probe -> plan (range, stabilization,
encoding: the motion run's own road, in freeze mode so every frame is written) -> the
magnify design (band, levels, gains against the clip's rate and size) -> one ffmpeg graph
(:mod:`ffmotion.graph.magnify`) -> the runner, writing atomically.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Optional

from ffmotion import graph
from ffmotion.core.errors import FFmpegFailed, UsageError, field
from ffmotion.core.magnify import MagnifyDesign, MagnifySpec, design
from ffmotion.core.request import MotionRequest
from ffmotion.graph import magnify as magnify_graph
from ffmotion.pipeline import controller, resolve
from ffmotion.run import runner

log = logging.getLogger("ffmotion")

STILL_CAMERA = ("magnification needs a still camera: a moving one is magnified too. "
                "--stabilize removes most of the shake first; a tripod is better")


@dataclass(frozen=True)
class Prepared:
    """A magnify run, planned: the motion plan (input, range, stabilizer, output) and the
    graph's numbers."""

    plan: graph.Plan
    design: MagnifyDesign


@dataclass(frozen=True)
class Result:
    output: Path
    frames: int
    command: list[str]


def request(src: Any, dst: Any, **options: Any) -> MotionRequest:
    """The motion request a magnify run reads and writes with (every frame: freeze mode on
    frame 0, one decoder); ``options`` as :func:`ffmotion.pipeline.resolve.request` takes."""
    return resolve.request(src, dst, freeze=0, strategy="split", **options)


def design_for(plan: graph.Plan, spec: MagnifySpec) -> MagnifyDesign:
    """The graph's numbers for ``plan``'s input (rate, plane sizes, frame count)."""
    width, height = plan.info.display_size
    pix_fmt = magnify_graph.working_format(plan.working_pix_fmt)
    return design(spec, float(plan.info.fps), magnify_graph.plane_sizes(pix_fmt, width, height),
                  frames=plan.out_frames)


def prepare(req: MotionRequest, spec: MagnifySpec, tools: runner.Tools) -> Prepared:
    """Check, probe and plan; refuse what magnify cannot do before ffmpeg starts."""
    if req.input.source is not None:
        raise UsageError("magnify reads a file: its band-pass needs the clip's frame rate and "
                         "length (not a stream or a device)")
    output = req.output
    if output is not None and (output.sink is not None or controller.is_sequence(output.path)):
        raise UsageError("magnify writes a video file (not a stream or an image sequence)")
    plan = controller.prepare(req, tools)
    if not plan.info.constant_rate:
        log.warning("%s has a variable frame rate: magnify treats its frames as %s fps apart",
                    plan.info.path.name, plan.info.fps)
    if req.motion.stabilize is not None:
        log.warning("%s", STILL_CAMERA)
    return Prepared(plan, design_for(plan, spec))


def commands(prepared: Prepared, ffmpeg: str) -> list[list[str]]:
    """Every command of the run: stabilization's analysis first (if any), then the graph."""
    plan = prepared.plan
    first: list[list[str]] = []
    if plan.stabilizer is not None:
        from ffmotion.pipeline import stabilize

        first = stabilize.analysis_commands(plan, ffmpeg)
    return first + [magnify_graph.command(plan, prepared.design, ffmpeg)]


def settle_for_print(prepared: Prepared, tools: runner.Tools) -> Prepared:
    """``--print-command``: stabilization analysed and decided first, as a run would."""
    plan = prepared.plan
    if plan.stabilizer is None:
        return prepared
    from ffmotion.pipeline import stabilize

    return Prepared(stabilize.settle(plan, tools, run=False), prepared.design)


def run(prepared: Prepared, tools: runner.Tools, progress: bool = False,
        on_frames: Optional[Callable[[int], None]] = None) -> Result:
    """Run the graph, writing the output atomically (nothing is left on failure);
    ``on_frames(n)`` follows ffmpeg's frame count."""
    plan = controller.settle(prepared.plan, tools, progress=progress)
    output = plan.output
    planned = graph.delivered_frames(plan)
    with runner.atomic_output(output.path, output.overwrite) as tmp:
        argv = magnify_graph.command(plan, prepared.design, tools.ffmpeg, tmp, overwrite=True)
        written = runner.run_ffmpeg(argv, total_frames=planned, progress=progress,
                                    on_frames=on_frames).frames
        if written != planned and planned == plan.out_frames:
            raise FFmpegFailed(f"{plan.info.path.name}: ffmpeg wrote {written} of the "
                               f"{planned} frames planned: no output written")
    return Result(output.path, written,
                  magnify_graph.command(plan, prepared.design, tools.ffmpeg))


def describe(prepared: Prepared) -> str:
    """One line: what the run does."""
    d = prepared.design
    spec = d.spec
    gains = f"alpha {spec.alpha:g}"
    if spec.chroma and spec.mode == "motion":
        gains += f", chroma x{spec.chroma:g}"
    cutoff = (f", {field('lambda_cutoff')} {spec.lambda_cutoff:g} px"
              if spec.lambda_cutoff is not None else "")
    cutoff += ", finest level skipped" if spec.skip_finest else ""
    cutoff += f", band-pass at 1/{1 << d.decimation} size" if d.decimation else ""
    return (f"magnify ({spec.mode}) {gains}, band {spec.low:g}-{spec.high:g} Hz ({spec.kind}, "
            f"{d.frames} frames, delay {d.delay}), {d.levels} levels{cutoff}")
