"""The one controller: request -> probe -> plan -> argv -> run, each step once.

Every front (the command line, the library, batch, chunked runs, the explorers, the preview)
takes a :class:`~ffmotion.core.request.MotionRequest` from :mod:`ffmotion.pipeline.resolve`
through here: :func:`prepare` probes the input once and plans (the pure
:func:`ffmotion.graph.plan`), with what this ffmpeg can do; :func:`settle` runs the analysis
a plan needs before it writes (stabilization); :func:`run` writes the output under the
safe-write rule, and re-plans once where decoding shows the file listed frames that do not
decode. This is the only room that calls both :mod:`ffmotion.graph` and :mod:`ffmotion.run`.
"""
from __future__ import annotations

import dataclasses
import logging
import shlex
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Callable, Optional, Sequence

from ffmotion import graph
from ffmotion.core.caps import Caps
from ffmotion.core.errors import FFmpegFailed, UsageError, field
from ffmotion.core.names import is_sequence, output_kind
from ffmotion.core.request import Mode, MotionRequest
from ffmotion.core.units import FramesOrTime
from ffmotion.graph import picture as graph_picture
from ffmotion.media import probe as probing
from ffmotion.media import sequence as images
from ffmotion.media.info import MediaInfo
from ffmotion.media.stream import probe_head
from ffmotion.pipeline import resolve
from ffmotion.run import runner
from ffmotion.run.outputs import check_output_path, check_output_set

log = logging.getLogger("ffmotion")


@dataclass(frozen=True)
class Result:
    """What one extraction wrote."""

    output: Path
    frames: int
    k: int
    mode: Mode
    argv: list[str]
    chunks: int = 1  # chunked runs: segments joined
    reused: int = 0  # chunked runs: segments a killed or failed earlier run had finished
    stopped: Optional[str] = None  # a stream stopped by this signal (SIGINT...), output kept


# -- probe and plan ------------------------------------------------------------------------------

def probe(request: MotionRequest, tools: runner.Tools,
          found: Optional[resolve.Checked] = None) -> MediaInfo:
    """The media facts of the request's input: a file, an image sequence (listed once:
    ``found`` holds the listing :func:`resolve.check_paths` made), or a stream's head."""
    wanted = request.input
    if wanted.source is not None:
        return probe_head(wanted.source, tools, wanted.video_stream)
    if wanted.sequence is not None:
        listed = found.sequence if found is not None and found.sequence is not None else \
            images.resolve(wanted.path, wanted.sequence)
        log.info("%s: %s, read as %s", wanted.path, listed.describe(),
                 shlex.join(listed.source().input_argv()))
        return probing.probe_sequence(listed, tools)
    return probing.probe(wanted.path, tools, wanted.video_stream)


def caps_for(request: MotionRequest, tools: runner.Tools) -> Caps:
    """What the planner needs to know of this ffmpeg for ``request``: the filter list only
    where a filter's presence decides (deinterlacing, stabilization), the pixel formats
    only for an output format asked for by name."""
    output = request.output
    return runner.caps(tools, with_filters=request.input.deinterlace
                       or request.motion.stabilize is not None,
                       with_pix_fmts=output is not None and output.encode.pix_fmt is not None)


def plan_for(request: MotionRequest, info: MediaInfo, tools: runner.Tools) -> graph.Plan:
    """The pure plan of ``request`` on ``info``, with what this ffmpeg can do."""
    return graph.plan(request, info, caps_for(request, tools))


def prepare(request: MotionRequest, tools: runner.Tools,
            info: Optional[MediaInfo] = None) -> graph.Plan:
    """Check the paths, probe the input (unless ``info`` is given), plan, and check what the
    plan needs of this ffmpeg (encoders, filters, pixel formats)."""
    found = resolve.check_paths(request)
    output = request.output
    if output is not None:
        graph.check_output_format(output)
        graph.check_quality(output)
    if info is None:
        info = probe(request, tools, found)
    plan = plan_for(request, info, tools)
    if output is not None:
        graph.check_rate(plan)
        if info.input.seekable:
            graph.delivered_frames(plan)  # refuses a re-timing that leaves no frame
    plan = attach_picture(plan, tools)
    if request.motion.stabilize is not None:
        from ffmotion.pipeline import stabilize  # a plain run does not load it

        plan = stabilize.attach(plan, tools)
    if output is not None:
        check_encoders(plan, tools)
    return plan


def attach_picture(plan: graph.Plan, tools: runner.Tools) -> graph.Plan:
    """Warns about an interlaced input processed without ``deinterlace``, or a progressive
    one deinterlaced (the plan chose the deinterlacer this ffmpeg has)."""
    chosen = plan.picture
    if chosen is not None and chosen.deinterlace is not None:
        if not plan.info.interlaced:
            log.warning("%s is not flagged interlaced (field order: %s): %s "
                        "deinterlaces every frame anyway, which softens progressive footage",
                        plan.info.path.name, plan.info.field_order, field("deinterlace"))
    else:
        warning = graph_picture.interlace_warning(plan.info)
        if warning:
            log.warning("%s", warning)
    return plan


def check_encoders(plan: graph.Plan, tools: runner.Tools) -> None:
    """The encoders, encoder options and pixel format the plan writes with exist in this
    ffmpeg; warns where HDR input goes into an 8-bit output."""
    output = plan.output
    graph.check_toolchain(plan, caps_for(plan.request, tools))
    check_encoder_opts(plan, tools)
    if output.sink is None or output.sink.kind == "file":
        hdr = graph.hdr_warning(plan)
        if hdr:
            log.warning("%s", hdr)


def check_encoder_opts(plan: graph.Plan, tools: runner.Tools) -> None:
    """Every ``encoder_opts`` key is an option of the chosen video encoder."""
    opts = plan.output.encode.encoder_opts
    if not opts:
        return
    codec = graph.video_args(plan).get("c:v")
    if codec is None:
        raise UsageError(f"{field('encoder_opts')}: {plan.output.path.suffix} writes raw "
                         "frames, no encoder to pass options to")
    known = runner.encoder_options(tools.ffmpeg, codec)
    for key, _ in opts:
        if key not in known:
            raise UsageError(f"{field('encoder_opts')} {key}: {codec} has no option {key!r} "
                             f"(ffmpeg -h encoder={codec} lists them)")


# -- before the run: the output once more, the analysis passes ---------------------------------

def settle(plan: graph.Plan, tools: runner.Tools, progress: bool = False) -> graph.Plan:
    """The plan a file run executes: its output checked (before any long pass), then its
    stabilization analysed, decided (``stabilize`` auto) and measured."""
    output = plan.output
    if is_sequence(output.path):
        check_output_set(output.path, output.overwrite)
    else:
        check_output_path(output.path, output.overwrite)
    if plan.stabilizer is not None:
        from ffmotion.pipeline import stabilize

        plan = stabilize.settle(plan, tools, progress=progress)
        stabilize.check_residual(plan, tools)
    return plan


def settle_analysis(plan: graph.Plan, tools: runner.Tools, run: bool = False) -> graph.Plan:
    """``plan`` with its stabilization analysed and decided (pass 1 and ``auto``'s choice),
    as a printed command needs it; ``run``: also the chosen stabilizer's own pass 1 (a
    chunked run cuts its corrections from it). A plan that does not stabilize stays as is."""
    if plan.stabilizer is None:
        return plan
    from ffmotion.pipeline import stabilize

    return stabilize.settle(plan, tools, run=run)


def commands(plan: graph.Plan, ffmpeg: str, overwrite: Optional[bool] = None) -> list[list[str]]:
    """Every ffmpeg command the plan runs, in order: stabilization pass 1 and its motions
    step (if any), then the motion graph (with the real output path; ``overwrite``: -y/-n,
    default the request's)."""
    first: list[list[str]] = []
    if plan.stabilizer is not None:
        from ffmotion.pipeline import stabilize

        first = stabilize.analysis_commands(plan, ffmpeg)
    return first + [graph.command(plan, ffmpeg, overwrite=overwrite)]


def shell_line(argvs: list[list[str]], plan: Optional[graph.Plan] = None) -> str:
    """The commands as ONE shell line that runs as printed: ``mkdir -p`` of the stabilization
    cache first (a printed pass 1 may run where the folder is gone), and ``&&`` between the
    passes, so pass 2 never starts without its transforms (ffmpeg would leave a 0-byte output).
    """
    steps = [shlex.join(argv) for argv in argvs]
    stab = plan.stabilizer if plan is not None else None
    if len(argvs) > 1 and stab is not None and stab.transforms is not None:
        steps.insert(0, shlex.join(["mkdir", "-p", str(stab.transforms.parent)]))
    return " && ".join(steps)


# -- the run ------------------------------------------------------------------------------------

def run(plan: graph.Plan, tools: runner.Tools, progress: bool = False,
        on_frames: Optional[Callable[[int], None]] = None, settled: bool = False) -> Result:
    """Run a prepared plan, writing its output atomically (a stream input or output: see
    :func:`ffmotion.pipeline.streams.run_plan`). ``settled``: ``plan`` comes from
    :func:`settle` already."""
    request = plan.request
    if request.input.source is not None or plan.output.sink is not None:
        from ffmotion.pipeline import streams

        done = streams.run_plan(plan, tools, progress=progress, on_frames=on_frames)
        return Result(done.output, done.frames, plan.k, plan.mode,
                      graph.command(plan, tools.ffmpeg), stopped=done.stopped)
    if not settled:
        plan = settle(plan, tools, progress=progress)
    try:
        return _run_file(plan, tools, progress, on_frames)
    except Recounted as recounted:  # the frames that decode are not those listed: again
        try:
            plan = settle(prepare(request, tools, recounted.info), tools, progress=progress)
        except UsageError as exc:  # e.g. an offset longer than the frames that decode
            if recounted.refusal is None:
                raise
            raise FFmpegFailed(f"{recounted.refusal}: no output written ({exc})") from None
        log.warning("%s: again, on the frames as they decode: %s", request.input.path.name,
                    graph.describe(plan))
        return _run_file(plan, tools, progress, on_frames)


def _run_file(plan: graph.Plan, tools: runner.Tools, progress: bool,
              on_frames: Optional[Callable[[int], None]]) -> Result:
    """One run of a settled plan on a file output (see :func:`run`)."""
    output = plan.output
    planned = graph.delivered_frames(plan)
    writer = runner.atomic_sequence if is_sequence(output.path) else runner.atomic_output
    with writer(output.path, output.overwrite) as tmp:
        argv = graph.command(plan, tools.ffmpeg, tmp, overwrite=True)
        try:
            written = runner.run_ffmpeg(argv, total_frames=planned, progress=progress,
                                        on_frames=on_frames).frames
        except FFmpegFailed as exc:
            if sizes_differ(exc):
                recount(plan.info, tools)
            raise
        if output_kind(output.path) == "webp":  # one packet for every frame
            written = count_webp(plan, tmp, planned)
        # frames re-timed by --fps may differ from the plan by rounding: not a sign; a
        # shifted branch that got no frame at all passes at most K input frames through,
        # as many as planned where those are trimmed to the plan (variable rate)
        limit = max(plan.channel_ks) if plan.channel_ks else plan.k
        suspect = ((written != planned and (planned == plan.out_frames or written == 0))
                   or (plan.mode == "offset" and written <= limit))
        try:
            check_written(plan, written, planned)
        except FFmpegFailed as refused:
            if suspect:
                recount(plan.info, tools, refusal=refusal_text(refused))
            raise
        if suspect:
            recount(plan.info, tools)
    name = plan.input.path.name
    if written < planned:
        log.warning("%s: ffmpeg wrote %d of the %d frames planned: the input is damaged or "
                    "ends early", name, written, planned)
    elif _promised(plan) > written:  # planned on the frames that decode (see the recount)
        log.warning("%s: ffmpeg wrote %d of the %d frames the file lists: the input is "
                    "damaged or ends early", name, written, _promised(plan))
    return Result(output.path, written, plan.k, plan.mode, graph.command(plan, tools.ffmpeg))


def _promised(plan: graph.Plan) -> int:
    """The frames a whole-input run would write if every frame the file lists decoded
    (0 when that is not known: the frames were not recounted, or a range was given)."""
    index = plan.info.index
    if index is None or index.listed is None or not plan.span.is_whole:
        return 0
    if plan.mode == "freeze":
        return index.listed
    return index.listed - (max(plan.channel_ks) if plan.channel_ks else plan.k)


class Recounted(Exception):
    """Decoding the input found other frames than the probe listed (fewer, or of several
    sizes): the run is to be planned again on ``info`` (raised inside the atomic write, so
    nothing is kept)."""

    def __init__(self, info: MediaInfo, refusal: Optional[str] = None) -> None:
        super().__init__(f"{info.path.name}: the frames that decode differ from those listed")
        self.info = info
        self.refusal = refusal  # why the first run's output was refused, if it was


# what ffmpeg says when frames of another size reach a filter graph built for one size
_SIZE_ERRORS = ("do not match the corresponding", "Changing video frame properties")


def sizes_differ(failure: FFmpegFailed) -> bool:
    """True when ffmpeg failed because frames changed size under the graph."""
    text = f"{failure}\n{failure.stderr_tail}"
    return any(words in text for words in _SIZE_ERRORS)


def recount(info: MediaInfo, tools: runner.Tools, refusal: Optional[str] = None) -> None:
    """A run got another count than planned, or frames of another size: count the frames
    that decode (:mod:`ffmotion.media.decoded`) and raise :class:`Recounted` when they are
    not those the plan was made on; return when they are (or were counted already)."""
    if info.index is None or info.index.decoded or not info.input.seekable:
        return
    from ffmotion.media.decoded import same_frames  # damaged inputs only

    checked = probing.checked_by_decoding(info, tools.ffmpeg)
    if not same_frames(info, checked):
        raise Recounted(checked, refusal)


_NOTHING = ": no output written"


def refusal_text(refused: FFmpegFailed) -> str:
    """A :func:`check_written` refusal without its ending and its guessed cause."""
    return str(refused).split(" (the input", 1)[0].split(_NOTHING, 1)[0]


def count_webp(plan: graph.Plan, path: Path, planned: int) -> int:
    """The frames of a written animated WebP: those shown within its length.

    ffmpeg's progress reports 1 frame for any WebP (the encoder hands over the animation as
    one packet), and libwebp merges a frame identical to the one before into it (a longer
    duration); an animation of frames all alike it stores as one still picture, without
    a length: that counts as the ``planned`` frames.
    """
    from ffmotion.media.images import webp_length

    found = webp_length(path)
    if found is None:
        raise FFmpegFailed(f"{plan.info.path.name}: ffmpeg wrote an incomplete WebP file: "
                           "no output written")
    if found.milliseconds == 0:
        return planned
    return graph.frames_within(plan, Fraction(found.milliseconds, 1000))


def check_written(plan: graph.Plan, written: int, planned: Optional[int] = None) -> None:
    """Refuse an output whose frames may not all be blended (raised inside the atomic write,
    so nothing is kept).

    An input with fewer decodable frames than it lists (damaged, cut short) gives fewer
    frames than planned; :func:`run` then counts the frames that decode and runs again on
    them (:func:`recount`), so this refuses what even they do not explain. With index
    timing every frame written is still blended, unless the shifted branch got no frame at
    all: then blend passes the input's own frames through, and at most K of them (the
    shifted branch starts at frame K). With frames keeping their own times (variable rate)
    the last frame may pair with a padding clone. Either way the output cannot be trusted.
    ``planned`` is the frames the output should get (``--fps`` re-times them after the
    motion graph; then only a count above the plan is refused).
    """
    planned = plan.out_frames if planned is None else planned
    if written == planned:
        return
    if planned != plan.out_frames:
        if written > planned:
            raise FFmpegFailed(f"{plan.info.path.name}: ffmpeg wrote {written} frames where "
                               f"{planned} were planned: no output written")
        return
    limit = max(plan.channel_ks) if plan.channel_ks else plan.k
    if written > plan.out_frames or written <= limit or plan.timing.variable is not None:
        raise FFmpegFailed(
            f"{plan.info.path.name}: ffmpeg wrote {written} of the {plan.out_frames} frames "
            "planned, which may include frames not blended (the input decodes to fewer "
            f"frames than it lists){_NOTHING}")


def prepare_offsets(request: MotionRequest, offsets: Sequence[FramesOrTime], tools: runner.Tools,
                    *, lenient: bool = False, found: Optional[resolve.Checked] = None,
                    info: Optional[MediaInfo] = None) -> list[graph.Plan]:
    """One plan per offset of ``request`` (each checked against the range) on one probe,
    sharing one picture prelude and one stabilizer, analysed and decided now (the contact
    sheet, the energy timeline, the motion map). ``lenient`` drops offsets the range is too
    short for (an error only if none is left); ``found``: :func:`resolve.check_paths`'s
    result, when the caller checked the paths already; ``info``: the input's facts, when
    known."""
    if found is None:
        found = resolve.check_paths(request)
    if info is None:
        info = probe(request, tools, found)
    plans: list[graph.Plan] = []
    errors: list[UsageError] = []
    for offset in offsets:
        try:
            plans.append(plan_for(request.with_motion(offset=offset), info, tools))
        except UsageError as exc:
            if not lenient:
                raise
            errors.append(exc)
    if not plans:
        raise errors[0]
    first = attach_picture(plans[0], tools)
    if request.motion.stabilize is not None:
        from ffmotion.pipeline import stabilize

        first = stabilize.attach(first, tools)
    first = settle_analysis(first, tools)  # stabilize auto: pass 1 and its decision, now
    return [dataclasses.replace(p, stabilizer=first.stabilizer, picture=first.picture,
                                working_pix_fmt=first.working_pix_fmt) for p in plans]
