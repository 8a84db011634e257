"""The Python API, and the controller the command line uses: options -> probe -> graph -> runner."""
from __future__ import annotations

import dataclasses
import logging
import os
import shlex
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any, Callable, Optional, Union
from types import ModuleType

from ffmotion import graph
from ffmotion.core import looks
from ffmotion.graph import outputs as graph_outputs, picture as graph_picture
from ffmotion.run import runner
from ffmotion.core.errors import FFmpegFailed, MediaError, UsageError
from ffmotion.core.looks import Look
from ffmotion.core.options import (DEFAULT_MAX_BUFFER,
    EncodeOptions,
    FrameOffset,
    Mode,
    Options,
    StabilizeOptions,
    StrategyChoice,
    TimePoint,
    parse_size)
from ffmotion.core.source import Source
from ffmotion.media.stream import input_source, probe_head, shown_name
from ffmotion.media.streams import parse_audio_choice
from ffmotion.core.sinks import sink_for
from ffmotion.run.hls import check_hls, playlist_entries
from ffmotion.media.info import MediaInfo
from ffmotion.media.probe import checked_by_decoding, probe, probe_sequence
from ffmotion.media import sequence as images
from ffmotion.media.sequence import SequenceRequest
from ffmotion.run.outputs import check_name, check_name_length, same_file, shown

log = logging.getLogger("ffmotion")

PathLike = Union[str, "os.PathLike[str]"]


@dataclass(frozen=True)
class Result:
    """What one extraction wrote."""

    output: Path
    frames: int
    k: int
    mode: Mode
    argv: list[str]
    chunks: int = 1  # chunked runs (--chunks): segments joined
    reused: int = 0  # chunked runs: segments a killed or failed earlier run had finished
    stopped: Optional[str] = None  # a stream stopped by this signal (SIGINT...), output kept


def make_options(
    src: PathLike,
    dst: PathLike,
    offset: Union[int, str, FrameOffset, None] = None,
    *,
    freeze: Union[int, str, None] = None,
    audio: bool = True,
    subtitles: bool = True,
    codec: Optional[str] = None,
    crf: Optional[float] = None,
    preset: Optional[str] = None,
    pix_fmt: Optional[str] = None,
    lossless: bool = False,
    overwrite: bool = False,
    look: Union[str, Look, None] = None,
    start: Union[str, float, TimePoint, None] = None,
    end: Union[str, float, TimePoint, None] = None,
    duration: Union[str, float, TimePoint, None] = None,
    stabilize: Union[bool, str, StabilizeOptions] = False,
    strategy: StrategyChoice = "auto",
    max_buffer: Union[int, str, None] = None,
    threads: Optional[int] = None,
    deinterlace: bool = False,
    video_stream: Optional[int] = None,
    audio_stream: Union[int, str, None] = None,
    width: Optional[int] = None,
    height: Optional[int] = None,
    scale: Union[float, str, None] = None,
    fps: Union[float, str, None] = None,
    audio_codec: Optional[str] = None,
    audio_bitrate: Optional[str] = None,
    encoder_opts: Union[dict[str, Any], list[str], tuple[str, ...], None] = None,
    gif_dither: Optional[str] = None,
    gif_stats: Optional[str] = None,
    sequence: Union[bool, SequenceRequest, None] = None,
    framerate: Union[str, float, Fraction, None] = None,
    format: Optional[str] = None,
    source: Optional[Source] = None,
    checked: bool = True,
) -> Options:
    """Build validated :class:`Options` from keyword arguments (``offset`` or ``freeze``).

    ``look`` is a :class:`~ffmotion.core.looks.Look` or the name of a preset (``ffmotion looks``).
    ``start``/``end``/``duration`` limit the input (seconds, ``"1:30"``, ``"500ms"``, ``"30f"``);
    ``stabilize=True`` (or ``"auto"``, or a :class:`StabilizeOptions`) stabilizes before
    extracting; by default the method is chosen per clip
    (:func:`ffmotion.pipeline.stabilize.auto_choice`).
    ``strategy`` "split" decodes once and holds K frames, "dual" opens the input twice (flat
    memory), "auto" picks dual when K frames exceed ``max_buffer`` (bytes, or ``"256M"``).
    ``video_stream`` picks the video among the input's video streams (default: the real one,
    never a cover picture); ``audio_stream`` is a track number, ``"all"`` or ``"none"``;
    ``subtitles=False`` drops the subtitle tracks (by default they are kept where the output
    holds them, converted to a codec it takes: :func:`ffmotion.graph.subtitle_plan`).
    Shaping after the motion graph: ``width``/``height`` (the other side keeps the aspect) or
    ``scale``, ``fps``; ``audio_codec``, ``audio_bitrate``; ``encoder_opts`` (``{"tune":
    "film"}`` or ``["tune=film"]``), checked against the encoder by :func:`prepare`.
    ``sequence=True`` reads ``src`` as an image sequence (a printf pattern ``img%04d.png`` or
    a glob ``shots/*.jpg``; a folder always is one) at ``framerate`` (default 25; giving it
    implies ``sequence``).
    Streams: ``src`` ``"-"`` is stdin and ``"scheme://..."`` a URL (unless such a file
    exists), or give a :class:`~ffmotion.core.source.Source` as ``source`` (a live device);
    ``dst`` ``"-"`` is stdout (muxer ``format``, default Matroska), a URL is streamed to,
    ``DIR/NAME.m3u8`` is an HLS playlist (:mod:`ffmotion.core.sinks`).
    ``checked=False`` skips :func:`check_paths` (the preview plans outputs it may never write;
    :func:`prepare` checks them before a run).
    """
    if source is None:
        source = input_source(os.fspath(src))
    sink = sink_for(os.fspath(dst), format)
    if source is not None:
        src = shown_name(source)
    if sink is not None and sink.placeholder is not None:
        dst = sink.placeholder
    opts = (tuple(f"{k}={v}" for k, v in encoder_opts.items()) if isinstance(encoder_opts, dict)
            else tuple(encoder_opts or ()))
    mode, spec = mode_and_offset(offset, freeze)
    chosen = look if isinstance(look, Look) else looks.resolve(look)
    check_look_offsets(chosen, offset, freeze)
    options = Options(
        src=Path(src), dst=Path(dst), offset=spec, mode=mode, audio=audio, subtitles=subtitles,
        encode=EncodeOptions(codec=codec, crf=crf, preset=preset, pix_fmt=pix_fmt,
                             lossless=lossless, width=width, height=height,
                             scale=scale,  # type: ignore[arg-type]  # parsed by EncodeOptions
                             fps=fps,  # type: ignore[arg-type]
                             audio_codec=audio_codec, audio_bitrate=audio_bitrate,
                             encoder_opts=opts,  # type: ignore[arg-type]
                             gif_dither=gif_dither, gif_stats=gif_stats),
        overwrite=overwrite, look=chosen,
        start=start, end=end, duration=duration,  # type: ignore[arg-type]  # parsed by Options
        stabilize=_stabilize_options(stabilize), strategy=strategy,
        max_buffer=DEFAULT_MAX_BUFFER if max_buffer is None else parse_size(max_buffer),
        threads=threads, deinterlace=deinterlace, video_stream=video_stream,
        audio_stream=parse_audio_choice(audio_stream),
        sequence=sequence_request(src, sequence, framerate), source=source, sink=sink,
    )
    if checked:
        check_paths(options)
    return options


DEFAULT_OFFSET = 1


def _stabilize_options(value: Union[bool, str, StabilizeOptions, None]) -> Optional[StabilizeOptions]:
    if isinstance(value, StabilizeOptions):
        return value
    if value == "auto":
        return StabilizeOptions()
    if isinstance(value, str):
        raise UsageError(f"stabilize must be True, False, 'auto' or StabilizeOptions, not {value!r}")
    return StabilizeOptions() if value else None


def mode_and_offset(offset: Union[int, str, FrameOffset, None],
                    freeze: Union[int, str, None]) -> tuple[Mode, FrameOffset]:
    """Offset mode with ``offset`` (default 1 frame), or freeze mode on frame ``freeze``."""
    if offset is not None and freeze is not None:
        raise UsageError("give an offset or a freeze frame, not both")
    if freeze is not None:
        return "freeze", FrameOffset.parse(freeze)
    return "offset", FrameOffset.parse(DEFAULT_OFFSET if offset is None else offset)


def check_look_offsets(look: Look, offset: object, freeze: object) -> None:
    """``--rgb-offsets`` in frames or time replace the offset: giving both would ignore one."""
    channels = look.rgb_offsets
    if channels is None or any(c.multiple is not None for c in channels):
        return
    given = "--offset" if offset is not None else "--freeze" if freeze is not None else None
    if given:
        raise UsageError(f"--rgb-offsets {','.join(c.text for c in channels)} sets every channel's "
                         f"offset, so {given} would be ignored: drop it, or write the channels as "
                         f"multiples of it (e.g. 1x,2x,3x)")


def sequence_request(src: PathLike, sequence: Union[bool, SequenceRequest, None] = None,
                     framerate: Union[str, float, Fraction, None] = None,
                     ) -> Optional[SequenceRequest]:
    """The image-sequence request for ``src``: asked for (``--sequence``, ``--framerate``), or
    a folder (always a sequence); None: a plain file, read literally."""
    if isinstance(sequence, SequenceRequest):
        return sequence
    if sequence or framerate is not None or images.wants_sequence(src):
        return SequenceRequest.parse(framerate)
    return None


def probe_input(options: Options, tools: runner.Tools) -> MediaInfo:
    """The media facts of the options' input: a file, or an image sequence."""
    if options.sequence is not None:
        resolved = images.resolve(options.src, options.sequence)
        log.info("%s: %s, read as %s", options.src, resolved.describe(),
                 shlex.join(resolved.source().input_argv()))
        return probe_sequence(resolved, tools)
    return probe(options.src, tools, options.video_stream)


def check_paths(options: Options) -> None:
    """Input exists, output is not the input, and can be written."""
    src, dst = options.src, options.dst
    if options.source is not None or options.sink is not None:
        return check_stream_paths(options)
    check_name(src, "input")
    check_name(dst, "output")
    check_name_length(src, "input")
    check_name_length(dst, "output")
    if options.sequence is not None:
        try:
            resolved = images.resolve(src, options.sequence)
        except MediaError:  # mixed pictures: the input's fault, said when it is probed
            pass
        else:
            check_sequence_paths(resolved, dst)
    elif not src.exists():
        hint = (" (to read an image sequence, add --sequence or --framerate)"
                if images.looks_like_sequence(src) else "")
        raise UsageError(f"input not found: {src}{hint}")
    elif src.is_dir():
        raise UsageError(f"input is a folder, not a file: {src}")
    elif dst == src or (dst.exists() and os.path.samefile(src, dst)) or dst.resolve() == src.resolve():
        raise UsageError(f"output is the input: {dst} (choose another output file)")
    check_not_listed(dst, options)
    if graph_outputs.is_sequence(dst):
        runner.check_output_set(dst, options.overwrite)
        return
    runner.check_output_path(dst, options.overwrite)


def input_files(options: Options) -> list[Path]:
    """The files a run reads, which no output may write or delete: the input file and, when
    it is an HLS/M3U playlist, the files it lists; the images of a sequence; none for a
    stream."""
    if options.source is not None:
        return []
    if options.sequence is not None:
        try:
            return list(images.resolve(options.src, options.sequence).files)
        except (MediaError, UsageError):
            return []
    return [options.src, *playlist_entries(options.src)]


def check_not_listed(dst: Path, options: Options) -> None:
    """The output is none of the files an input playlist lists (it would be replaced while
    it is read)."""
    for listed in input_files(options)[1:]:
        if same_file(dst, listed):
            raise UsageError(f"output {shown(dst)} is a file the input playlist lists: "
                             "refusing to overwrite it (choose another output file)")


def check_sequence_paths(sequence: images.ImageSequence, dst: Path) -> None:
    """The output is none of the sequence's images, and an output sequence names none."""
    real = {Path(os.path.realpath(f)) for f in sequence.files}
    if Path(os.path.realpath(dst)) in real:
        raise UsageError(f"output is one of the input images: {dst} (choose another output)")
    if graph_outputs.is_sequence(dst):
        regex = graph_outputs.sequence_regex(dst)
        folder = Path(os.path.realpath(dst.parent))
        if any(f.parent == folder and regex.match(f.name) for f in real):
            raise UsageError(f"the output sequence {dst.name} would write over the input "
                             f"images in {dst.parent} (choose another name or folder)")
def check_stream_paths(options: Options) -> None:
    """:func:`check_paths` where the input or the output is a stream (stdin, a URL, a
    device, stdout, HLS): a file input still must exist; a file output is checked as usual,
    an HLS folder by :func:`ffmotion.run.hls.check_hls`; stdout and URLs need nothing."""
    src, dst, sink = options.src, options.dst, options.sink
    if options.source is None and options.sequence is None:
        check_name(src, "input")
        if not src.exists():
            raise UsageError(f"input not found: {src}")
        if src.is_dir():
            raise UsageError(f"input is a folder, not a file: {src}")
    if sink is None or sink.kind == "file":
        check_name(dst, "output")
        check_name_length(dst, "output")
        if graph_outputs.is_sequence(dst):
            runner.check_output_set(dst, options.overwrite)
        else:
            check_not_listed(dst, options)
            runner.check_output_path(dst, options.overwrite)
    elif sink.kind == "hls":
        check_hls(dst, options.overwrite, input_files(options))


def prepare(options: Options, tools: runner.Tools, info: Optional[MediaInfo] = None) -> graph.Plan:
    """Probe the input (unless ``info`` is given), resolve the plan, check the encoders exist."""
    check_paths(options)
    graph.check_output_format(options)
    graph.check_quality(options)
    if info is None:
        info = (probe_head(options.source, tools, options.video_stream)
                if options.source is not None else probe_input(options, tools))
    plan = graph.plan(options, info)
    graph.check_rate(plan)
    if info.input.seekable:
        graph.delivered_frames(plan)  # refuses a re-timing that leaves no frame
    plan = attach_picture(plan, tools)
    if options.stabilize is not None:
        plan = _stabilization().attach(plan, tools)
    # listed by the same process that checked the binary (runner.tools): no process start here
    available = runner.encoders(tools.ffmpeg)
    kind = graph_outputs.output_kind(options.dst)
    for codec in graph.encoders_needed(plan):
        if codec not in available and kind != "video" and options.encode.codec is None:
            raise UsageError(f"this ffmpeg ({tools.ffmpeg}) cannot write {options.dst.suffix} "
                             f"files: it has no {codec} encoder")
        if codec not in available:
            raise UsageError(f"unknown codec for this ffmpeg ({tools.ffmpeg}): {codec} "
                             "(ffmpeg -encoders lists the available ones)")
    check_encoder_opts(plan, tools)
    hdr = graph.hdr_warning(plan) if options.sink is None or options.sink.kind == "file" else None
    if hdr:
        log.warning("%s", hdr)
    wanted = options.encode.pix_fmt
    if wanted is not None and wanted not in runner.pix_fmts(tools.ffmpeg):
        raise UsageError(f"unknown pixel format: {wanted} (ffmpeg -pix_fmts lists them)")
    return plan


def attach_picture(plan: graph.Plan, tools: runner.Tools) -> graph.Plan:
    """``plan`` with a deinterlacer this ffmpeg has (bwdif, else yadif); warns about an
    interlaced input processed without ``--deinterlace``."""
    chosen = plan.picture
    if chosen is not None and chosen.deinterlace is not None:
        chosen = graph_picture.choose_deinterlacer(chosen, runner.filters(tools.ffmpeg))
        if not plan.info.interlaced:
            log.warning("%s is not flagged interlaced (field order: %s): --deinterlace "
                        "deinterlaces every frame anyway, which softens progressive footage",
                        plan.info.path.name, plan.info.field_order)
    else:
        warning = graph_picture.interlace_warning(plan.info)
        if warning:
            log.warning("%s", warning)
    return dataclasses.replace(plan, picture=chosen)
def check_encoder_opts(plan: graph.Plan, tools: runner.Tools) -> None:
    """Every ``--encoder-opt`` key is an option of the chosen video encoder."""
    opts = plan.options.encode.encoder_opts
    if not opts:
        return
    codec = graph.video_args(plan).get("c:v")
    if codec is None:
        raise UsageError(f"--encoder-opt: {plan.options.dst.suffix} writes raw frames, "
                         "no encoder to pass options to")
    known = runner.encoder_options(tools.ffmpeg, codec)
    for key, _ in opts:
        if key not in known:
            raise UsageError(f"--encoder-opt {key}: {codec} has no option {key!r} "
                             f"(ffmpeg -h encoder={codec} lists them)")


def settle(plan: graph.Plan, tools: runner.Tools, progress: bool = False) -> graph.Plan:
    """The plan a file run executes: its output checked (before any long pass), then its
    stabilization analysed, decided (``--stabilize auto``) and measured."""
    if graph_outputs.is_sequence(plan.options.dst):
        runner.check_output_set(plan.options.dst, plan.options.overwrite)
    else:
        runner.check_output_path(plan.options.dst, plan.options.overwrite)
    if plan.stabilizer is not None:
        stabilization = _stabilization()
        plan = stabilization.settle(plan, tools, progress=progress)
        stabilization.check_residual(plan, tools)
    return plan


def run(plan: graph.Plan, tools: runner.Tools, progress: bool = False,
        on_frames: Optional[Callable[[int], None]] = None, settled: bool = False) -> Result:
    """Run a prepared plan, writing its output atomically (a stream input or output: see
    :func:`ffmotion.run.streaming.run_plan`). ``settled``: ``plan`` comes from
    :func:`settle` already."""
    options = plan.options
    if options.source is not None or options.sink is not None:
        from ffmotion.run import streaming

        done = streaming.run_plan(plan, tools, progress=progress, on_frames=on_frames)
        return Result(done.output, done.frames, plan.k, plan.mode,
                      graph.command(plan, tools.ffmpeg), stopped=done.stopped)
    if not settled:
        plan = settle(plan, tools, progress=progress)
    try:
        return _run_file(plan, tools, progress, on_frames)
    except Recounted as recounted:  # the frames that decode are not those listed: again
        try:
            plan = settle(prepare(options, tools, recounted.info), tools, progress=progress)
        except UsageError as exc:  # e.g. an offset longer than the frames that decode
            if recounted.refusal is None:
                raise
            raise FFmpegFailed(f"{recounted.refusal}: no output written ({exc})") from None
        log.warning("%s: again, on the frames as they decode: %s", options.src.name,
                    plan.describe())
        return _run_file(plan, tools, progress, on_frames)


def _run_file(plan: graph.Plan, tools: runner.Tools, progress: bool,
              on_frames: Optional[Callable[[int], None]]) -> Result:
    """One run of a settled plan on a file output (see :func:`run`)."""
    options = plan.options
    planned = graph.delivered_frames(plan)
    sequence = graph_outputs.is_sequence(options.dst)
    writer = runner.atomic_sequence if sequence else runner.atomic_output
    with writer(options.dst, options.overwrite) as tmp:
        argv = graph.command(plan, tools.ffmpeg, tmp, overwrite=True)
        try:
            written = runner.run_ffmpeg(argv, total_frames=planned, progress=progress,
                                        on_frames=on_frames)
        except FFmpegFailed as exc:
            if sizes_differ(exc):
                recount(plan.info, tools)
            raise
        if graph_outputs.output_kind(options.dst) == "webp":  # one packet for every frame
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
    if written < planned:
        log.warning("%s: ffmpeg wrote %d of the %d frames planned: the input is damaged or "
                    "ends early", options.src.name, written, planned)
    elif _promised(plan) > written:  # planned on the frames that decode (see the recount)
        log.warning("%s: ffmpeg wrote %d of the %d frames the file lists: the input is "
                    "damaged or ends early", options.src.name, written, _promised(plan))
    return Result(options.dst, written, plan.k, plan.mode, graph.command(plan, tools.ffmpeg))


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
    from ffmotion.media.decoded import same_frames  # damaged inputs only: not on a plain run's path

    checked = checked_by_decoding(info, tools.ffmpeg)
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


def _stabilization() -> ModuleType:
    """:mod:`ffmotion.pipeline.stabilize`, imported when a plan stabilizes (a plain run does not load it)."""
    from ffmotion.pipeline import stabilize

    return stabilize


def commands(plan: graph.Plan, ffmpeg: str, overwrite: Optional[bool] = None) -> list[list[str]]:
    """Every ffmpeg command the plan runs, in order: stabilization pass 1 and its motions
    step (if any), then the
    motion graph (with the real output path; ``overwrite``: -y/-n, default the options')."""
    first = (_stabilization().analysis_commands(plan, ffmpeg) if plan.stabilizer is not None
             else [])
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


def extract(
    src: PathLike,
    dst: PathLike,
    offset: Union[int, str, None] = None,
    *,
    freeze: Union[int, str, None] = None,
    ffmpeg: Optional[str] = None,
    progress: bool = False,
    chunks: Union[int, str, None] = None,
    jobs: Optional[int] = None,
    scheduler: Optional[str] = None,
    client: Any = None,
    **encode: Any,
) -> Result:
    """Write the motion extraction of ``src`` to ``dst``.

    ``offset`` is a frame count (``12``) or a duration (``"0.5s"``); ``freeze=K`` instead
    blends every frame with frame K. Keyword options: ``audio``, ``subtitles``, ``codec``,
    ``crf``, ``preset``, ``pix_fmt``, ``lossless``, ``overwrite``, ``look`` (a preset name or a
    :class:`~ffmotion.core.looks.Look`), ``start``, ``end``, ``duration``, ``stabilize``,
    ``strategy``, ``max_buffer``, ``threads``, ``width``, ``height``, ``scale``, ``fps``,
    ``audio_codec``, ``audio_bitrate``, ``encoder_opts``, ``gif_dither``, ``gif_stats``;
    ``ffmpeg`` names the binary. ``chunks`` (a count or ``"auto"``) renders the run in
    chunks, ``jobs`` at once on this machine, or on Dask (``scheduler`` address or a
    ``distributed.Client`` as ``client``): the frames equal a single pass.
    """
    if chunks is not None or scheduler is not None or client is not None:
        options = make_options(src, dst, offset, freeze=freeze, **encode)
        found = runner.tools(ffmpeg)
        return run_chunked(prepare(options, found), found, AUTO_CHUNKS if chunks is None else chunks,
                           jobs=jobs, scheduler=scheduler, client=client, worker_ffmpeg=ffmpeg)
    options = make_options(src, dst, offset, freeze=freeze, **encode)
    found = runner.tools(ffmpeg)
    return run(prepare(options, found), found, progress=progress)


AUTO_CHUNKS = "auto"


def run_chunked(plan: graph.Plan, tools: runner.Tools, chunks: Union[int, str], *,
                jobs: Optional[int] = None, scheduler: Optional[str] = None, client: Any = None,
                connect_timeout: float = 10.0, cuts: Optional[list[int]] = None,
                worker_ffmpeg: Optional[str] = None,
                say: Optional[Callable[[str], None]] = None) -> Result:
    """Run a prepared plan in chunks (``chunks``: a count or ``"auto"``) on the local pool
    (``jobs`` at once, default: the cores) or on Dask (``scheduler`` address or ``client``);
    the output equals a single pass (see :mod:`ffmotion.jobs.chunks`). ``cuts`` gives the
    output-frame boundaries instead (0 ... out_frames). With one chunk it is a single pass.
    """
    from ffmotion.jobs import chunks as chunking, executors

    wanted = chunking.parse_chunks(chunks)
    if wanted == AUTO_CHUNKS and cuts is None:
        try:
            from ffmotion.graph.chunks import check_chunkable

            check_chunkable(plan)
        except UsageError as exc:
            log.warning("--chunks auto: a single pass (%s)", str(exc).split(":")[0])
            return run(plan, tools)
    from ffmotion.graph.chunks import check_chunkable

    check_chunkable(plan)  # refused before any analysis runs
    # stabilization: pass 1 and the motions here, once; each chunk applies its slice
    if plan.stabilizer is not None:
        plan = _stabilization().settle(plan, tools)
    with executors.make_executor(jobs, scheduler, connect_timeout, client) as executor:
        planned = chunking.plan_chunks(plan, tools.ffmpeg, wanted or 1, executor.workers, cuts)
        if len(planned.tasks) == 1 and cuts is None:
            executor.close()
            return run(plan, tools)
        if say is not None:
            say(chunking.describe(planned, executor))
        done = chunking.execute(planned, tools, executor, ffmpeg=worker_ffmpeg, say=say)
    return Result(done.output, done.frames, plan.k, plan.mode, done.argv, chunks=done.chunks,
                  reused=done.reused)


def build_command(
    src: PathLike,
    dst: PathLike,
    offset: Union[int, str, None] = None,
    *,
    freeze: Union[int, str, None] = None,
    ffmpeg: Optional[str] = None,
    **encode: Any,
) -> list[str]:
    """The ffmpeg argv that :func:`extract` would run (with the real output path)."""
    options = make_options(src, dst, offset, freeze=freeze, **encode)
    found = runner.tools(ffmpeg)
    return graph.command(prepare(options, found), found.ffmpeg)


def motion_stream(
    src: PathLike,
    offset: Union[int, str, None] = None,
    *,
    freeze: Union[int, str, None] = None,
    ffmpeg: Optional[str] = None,
    look: Union[str, Look, None] = None,
    sequence: Union[bool, SequenceRequest, None] = None,
    framerate: Union[str, float, Fraction, None] = None,
) -> Any:
    """The motion-extracted video of ``src`` as an ffmpeg-python stream, to extend and output.

    Example: ``ffmotion.motion_stream("in.mp4", 12).filter("eq", contrast=2)
    .output("o.mp4", fps_mode="passthrough").run(cmd=ffmotion.ffmpeg_path())``.
    Frames carry index timestamps, hence ``fps_mode="passthrough"``; ffmpeg-python's ``run``
    starts ``ffmpeg`` from PATH unless given ``cmd=`` (:func:`ffmpeg_path` is the one ffmotion
    uses, the bundled one on a machine with no other). Full range and rotation are handled
    as in :func:`extract` (interlaced input is not deinterlaced here).
    """
    import ffmpeg as ffmpeg_python

    mode, spec = mode_and_offset(offset, freeze)
    chosen = look if isinstance(look, Look) else looks.resolve(look)
    check_look_offsets(chosen, offset, freeze)
    options = Options(src=Path(src), dst=Path(src).with_suffix(".unused"), offset=spec, mode=mode,
                      look=chosen, sequence=sequence_request(src, sequence, framerate))
    found = runner.tools(ffmpeg)
    plan = graph.plan(options, probe_input(options, found))
    source = ffmpeg_python.input(plan.info.input.name, **plan.info.input.input_args())
    return graph.motion_video(graph.prelude(plan.source_video(source), plan.picture), plan.k,
                              plan.info.fps, plan.mode, plan.working_pix_fmt,
                              look=plan.options.look, channel_ks=plan.channel_ks,
                              timing=plan.timing.variable)


def ffmpeg_path(ffmpeg: Optional[str] = None) -> str:
    """The ffmpeg binary ffmotion runs (``--ffmpeg``/``$FFMOTION_FFMPEG``, PATH, then the one
    imageio-ffmpeg bundles): pass it as ``cmd=`` to ffmpeg-python's ``run``."""
    return runner.tools(ffmpeg, use_ffprobe=False).ffmpeg


def printable(argv: list[str]) -> str:
    """The command as one shell line."""
    return shlex.join(argv)

