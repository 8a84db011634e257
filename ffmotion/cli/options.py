"""The option groups, each defined once, and argv's one way to a typed request.

Every subcommand builds its parser from these groups (motion, look, range, stabilize,
picture, encoding/streams/shaping, performance, running, sequence, chunks, stream format);
:func:`motion_request` is the only place a parsed command line becomes a
:class:`~ffmotion.core.request.MotionRequest` (through :func:`ffmotion.pipeline.resolve.request`).
The look flags are generated from the look's field table (:data:`ffmotion.core.looks.FIELDS`).
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any, NoReturn, Optional

from ffmotion.core import looks, numbers
from ffmotion.core.errors import UsageError
from ffmotion.core.looks import LookField
from ffmotion.core.request import STRATEGIES, MotionRequest, SequenceRequest, StabilizeOptions
from ffmotion.core.source import Source
from ffmotion.media.stream import input_source
from ffmotion.pipeline import resolve


class Parser(argparse.ArgumentParser):
    """argparse, but errors are one line and exit with 2."""

    def error(self, message: str) -> NoReturn:
        raise UsageError(f"{message} (see {self.prog} --help)")


# -- argparse types ---------------------------------------------------------------------------

def whole_arg(raw: str) -> int:
    """argparse type: a whole number read by :func:`ffmotion.core.numbers.whole`."""
    try:
        return numbers.whole(raw, "")
    except UsageError:
        raise argparse.ArgumentTypeError(f"not a whole number: {numbers.shown(raw)}") from None


def real_arg(raw: str) -> float:
    """argparse type: a finite number read by :func:`ffmotion.core.numbers.real`."""
    try:
        return numbers.real(raw, "")
    except UsageError:
        raise argparse.ArgumentTypeError(f"not a finite number: {numbers.shown(raw)}") from None


def timeout_arg(raw: str) -> float:
    """argparse type: seconds to wait, more than 0 and at most a day."""
    seconds = real_arg(raw)
    if not 0 < seconds <= numbers.MAX_TIMEOUT:
        raise argparse.ArgumentTypeError(f"seconds more than 0 and at most "
                                         f"{numbers.MAX_TIMEOUT:g}, not {numbers.shown(raw)}")
    return seconds


def threshold_arg(text: str) -> "int | str":
    """argparse type of a whole-number look field that also takes ``auto``."""
    if text.strip().lower() == "auto":
        return "auto"
    try:
        return numbers.whole(text, "")
    except UsageError:
        raise argparse.ArgumentTypeError(f"a whole number or auto, not "
                                         f"{numbers.shown(text)}") from None


# -- the option groups -------------------------------------------------------------------------

def common(parser: argparse.ArgumentParser, threads: bool = False) -> None:
    """Options shared by every form that runs the motion graph (``threads``: add --threads)."""
    motion_args(parser)
    look_args(parser)
    range_args(parser)
    stabilize_args(parser)
    picture_args(parser)
    encode_args(parser)
    performance_args(parser, threads)
    run = parser.add_argument_group("running")
    run.add_argument("-y", "--overwrite", action="store_true", help="replace an existing output")
    ffmpeg_arg(run)
    run.add_argument("-q", "--quiet", action="store_true",
                     help="no progress bar or messages (an explicit --progress json still "
                          "reports)")
    verbose_arg(run)
    output_format_args(run)


def motion_args(parser: argparse.ArgumentParser) -> None:
    """-k/--offset or --freeze."""
    what = parser.add_argument_group("motion")
    mode = what.add_mutually_exclusive_group()
    mode.add_argument("-k", "--offset", metavar="K",
                      help="blend frame i with inverted frame i+K; K in frames (12) or time "
                           "(0.5s, 500ms); default 1 frame")
    mode.add_argument("--freeze", metavar="K",
                      help="still-reference mode: blend every frame with inverted frame K "
                           "(frames from 0, or a time like 2s)")


# argparse type of a look field, by the field's kind (None: the text as typed, read by the Look)
_LOOK_TYPES = {"whole": whole_arg, "unit": real_arg}


def look_args(parser: argparse.ArgumentParser) -> None:
    """The look: a preset, and one flag per look field (the look's field table), which
    override it (all default to None: not given)."""
    look = parser.add_argument_group("look (a preset, then flags that override it)")
    look.add_argument("--look", metavar="NAME",
                      help=f"preset: {', '.join(looks.PRESETS)} ('ffmotion looks' describes them)")
    for spec in looks.FIELDS:
        look.add_argument(spec.flag, **_look_flag(spec))


def _look_flag(spec: LookField) -> dict[str, Any]:
    """argparse's keywords for one look field's flag."""
    kwargs: dict[str, Any] = {"dest": spec.name, "help": spec.help}
    if spec.kind == "switch":
        return {**kwargs, "action": "store_true", "default": None}
    if spec.choices:
        kwargs["choices"] = spec.choices
    if spec.metavar:
        kwargs["metavar"] = spec.metavar
    kind = threshold_arg if spec.auto else _LOOK_TYPES.get(spec.kind)
    if kind is not None:
        kwargs["type"] = kind
    return kwargs


def range_args(parser: argparse.ArgumentParser) -> None:
    """--start/--end/--duration: process a part of the input (audio follows)."""
    part = parser.add_argument_group(
        "time range (T: seconds 2.5, 2.5s, 500ms, 1:30, 1:00:00, or frames 30f; offsets and "
        "frame numbers then count from the start of the range)")
    part.add_argument("--start", metavar="T", help="start at T (rounded to the nearest frame)")
    length = part.add_mutually_exclusive_group()
    length.add_argument("--end", metavar="T", help="stop before T (a time in the input)")
    length.add_argument("--duration", metavar="T", help="process T from the start")


def stabilize_args(parser: argparse.ArgumentParser) -> None:
    """--stabilize and its knobs."""
    stab = parser.add_argument_group(
        "stabilization (two passes with vid.stab; pass 1 is cached per input, so reruns with "
        "other offsets skip it)")
    stab.add_argument("--stabilize", action="store_true",
                      help="stabilize handheld footage before extracting motion (vidstab when "
                           "this ffmpeg has it, else deshake with a warning). By default (also "
                           "spelt '--stabilize auto') the camera path found by pass 1 decides "
                           "per clip: no stabilization, tripod, or smoothing 30, measures its "
                           "choice and falls back to none if it raised the residual motion, "
                           "and says so; a --stabilize-smoothing that raises it gets a warning")
    stab.add_argument("--stabilize-auto", dest="stabilize_auto", action="store_true",
                      help=argparse.SUPPRESS)  # what '--stabilize auto' becomes (stabilize_words)
    stab.add_argument("--stabilize-strength", metavar="1-10", type=whole_arg, default=None,
                      help="how shaky the footage is (vidstab shakiness; default 5)")
    stab.add_argument("--stabilize-smoothing", metavar="N", type=whole_arg, default=None,
                      help="instead of auto: follow the camera path smoothed over N frames "
                           "each side (for pans); 0: lock the camera on the first frame "
                           "(vid.stab's tripod mode)")


def picture_args(parser: argparse.ArgumentParser) -> None:
    """--deinterlace (rotation and full range need no flag: they are read from the input)."""
    parser.add_argument("--deinterlace", action="store_true",
                        help="deinterlace interlaced input (bwdif, or yadif; one frame per frame, "
                             "so the frame rate is kept) before extracting motion; the output "
                             "is progressive")


def encode_args(parser: argparse.ArgumentParser) -> None:
    """Encoding, streams and shaping: how the output is written."""
    enc = parser.add_argument_group("encoding (defaults follow the output extension)")
    enc.add_argument("--codec", help="video encoder, e.g. libx264, libx265, libvpx-vp9, ffv1")
    enc.add_argument("--crf", type=real_arg,
                     help="quality: CRF for x264/x265/VP9/AV1 (lower is better), qscale for mpeg4")
    enc.add_argument("--preset", help="encoder preset (x264/x265), e.g. veryfast, slow; for VP9 "
                                      "(.webm) the same names set its speed: ultrafast.."
                                      "veryslow -> realtime cpu-used 8..good cpu-used 0 "
                                      "(default faster = good, cpu-used 5)")
    enc.add_argument("--pix-fmt", dest="pix_fmt", help="output pixel format (default yuv420p)")
    enc.add_argument("--lossless", action="store_true",
                     help="FFV1 in .mkv in the working pixel format: exact pixels")
    enc.add_argument("--no-audio", dest="audio", action="store_false",
                     help="drop the audio (kept by default, trimmed to the video)")
    streams = parser.add_argument_group(
        "streams (default: the real video, never a cover picture; the first audio track; "
        "subtitles when the output can hold them; what is dropped is said)")
    streams.add_argument("--video-stream", dest="video_stream", type=whole_arg, metavar="N",
                         help="the N-th video stream (0:v:N) instead of the largest moving one")
    streams.add_argument("--audio-stream", dest="audio_stream", metavar="N|all|none",
                         help="audio track(s) to keep: a number (default 0), all, or none")
    streams.add_argument("--no-subtitles", dest="subtitles", action="store_false",
                         help="drop the subtitle tracks (by default kept where the output holds "
                              "them: .mkv, .webm, .mp4/.mov, converted to a codec it takes)")
    shape = parser.add_argument_group(
        "shaping (after the motion graph; every output: video, GIF/WebP/APNG, image sequences)")
    shape.add_argument("--width", type=whole_arg, metavar="PX",
                       help="output width; the height keeps the aspect (even for 4:2:0). "
                            "GIF/WebP/APNG default: at most 480")
    shape.add_argument("--height", type=whole_arg, metavar="PX",
                       help="output height; the width keeps the aspect unless --width is given")
    shape.add_argument("--scale", metavar="F", help="scale both sides by F, e.g. 0.5")
    shape.add_argument("--fps", metavar="R",
                       help="output frame rate (15, 12.5, 30000/1001): frames are dropped or "
                            "repeated after the motion graph. GIF/WebP/APNG default: at most 15")
    shape.add_argument("--audio-codec", metavar="C",
                       help="audio encoder (aac, libopus, mp3, ...) or copy; default: copy "
                            "when the container takes it, else the container's")
    shape.add_argument("--audio-bitrate", metavar="B", help="audio bitrate, e.g. 128k")
    shape.add_argument("--encoder-opt", dest="encoder_opts", action="append", default=[],
                       metavar="KEY=VALUE",
                       help="pass an option to the video encoder (repeatable), e.g. tune=film; "
                            "KEY must be one the encoder has (ffmpeg -h encoder=NAME)")
    shape.add_argument("--gif-dither", metavar="D",
                       help="GIF dither: none (default, by measurement), bayer[:bayer_scale=0..5], "
                            "sierra2_4a, floyd_steinberg, ...")
    shape.add_argument("--gif-stats", metavar="S", choices=("full", "diff", "single"),
                       help="GIF palette: single (default: one per frame, streams), full or "
                            "diff (one for the clip: ffmpeg holds every frame until the end)")


def performance_args(parser: argparse.ArgumentParser, threads: bool = False) -> None:
    """--strategy, --max-buffer (and --threads: ``threads``)."""
    perf = parser.add_argument_group("performance")
    perf.add_argument("--strategy", choices=STRATEGIES, default="auto",
                      help="split: decode once, ffmpeg holds K frames; dual: open the input "
                           "twice, flat memory, decodes twice; auto (default): dual when K "
                           "frames exceed --max-buffer")
    perf.add_argument("--max-buffer", dest="max_buffer", metavar="SIZE", default="256M",
                      help="memory the split strategy may use for K decoded frames before auto "
                           "switches to dual (default 256M; e.g. 1G)")
    if threads:
        perf.add_argument("--threads", type=whole_arg, metavar="T",
                          help="decoder and filter threads of ffmpeg (default: its own); "
                               "never changes the output bytes")


def ffmpeg_arg(group: Any) -> None:
    group.add_argument("--ffmpeg", metavar="PATH",
                       help="ffmpeg binary (default: $FFMOTION_FFMPEG, PATH, then imageio-ffmpeg's)")


def verbose_arg(group: Any) -> None:
    group.add_argument("-v", "--verbose", action="count", default=0,
                       help="say which ffmpeg is used; twice: log every command")


def print_command_arg(group: Any, what: str = "the ffmpeg command") -> None:
    group.add_argument("--print-command", action="store_true",
                       help=f"print {what} (runnable as is) and exit")


def running_args(parser: argparse.ArgumentParser, overwrite: bool = True) -> None:
    """The running group of the explorers (sheet, energy, map): --print-command among them."""
    run = parser.add_argument_group("running")
    if overwrite:
        run.add_argument("-y", "--overwrite", action="store_true",
                         help="replace existing output files")
    ffmpeg_arg(run)
    print_command_arg(run, "the ffmpeg command(s)")
    run.add_argument("-q", "--quiet", action="store_true",
                     help="no progress or messages (an explicit --progress json still reports)")
    verbose_arg(run)
    output_format_args(run)


def json_arg(group: Any) -> None:
    """--json: one JSON object on stdout at the end (:mod:`ffmotion.cli.report`)."""
    group.add_argument("--json", action="store_true",
                       help="print ONE JSON object on stdout at the end, and nothing else "
                            "there: input, outputs and their sizes, frames, offset, look, "
                            "timings, the exact ffmpeg commands, warnings (schema: "
                            "docs/json.md)")


PROGRESS = ("auto", "json", "none")


def output_format_args(group: Any) -> None:
    """--json and --progress: what a wrapper or a GUI reads."""
    json_arg(group)
    group.add_argument("--progress", choices=PROGRESS, default="auto",
                       help="auto: a bar on a terminal (default); json: one JSON line per "
                            "progress report on stderr (frame, total, fps, ETA), also with "
                            "-q; none: no progress")


def sequence_args(parser: argparse.ArgumentParser, batch: bool = False) -> None:
    """--sequence and --framerate: read the input as an image sequence (a folder always is)."""
    seq = parser.add_argument_group(
        "image sequences and timelapses (a folder of images is always read as one)")
    if not batch:
        seq.add_argument("--sequence", action="store_true", default=False,
                         help="read INPUT as an image sequence: a printf pattern "
                              "(img%%04d.png) or a glob ('shots/*.jpg', quoted); natural "
                              "order (img2 before img10), missing numbers skipped")
    seq.add_argument("--framerate", metavar="R",
                     help="frames per second of an image sequence (default 25, as ffmpeg's); "
                          + ("" if batch else "implies --sequence; ")
                          + "e.g. 24, 0.5, 30000/1001")


def chunk_args(parser: argparse.ArgumentParser) -> None:
    """--chunks: one input over many cores or machines (ffmotion.jobs.chunks)."""
    group = parser.add_argument_group(
        "chunks (one long video over many cores or Dask workers; frames equal a single pass)")
    group.add_argument("--chunks", metavar="N|auto",
                       help="render N chunks at once and join them (auto: one per worker, "
                            "long enough that the overhead stays under 5%%)")
    group.add_argument("-j", "--jobs", type=whole_arg, metavar="J",
                       help="chunks rendered at once on this machine (default: the cores)")
    group.add_argument("--scheduler", metavar="ADDRESS",
                       help="render the chunks on a Dask cluster (tcp://HOST:8786); the input "
                            "and the output folder must be visible to every worker")
    group.add_argument("--connect-timeout", type=timeout_arg, default=10.0, metavar="S",
                       help="seconds to wait for the Dask scheduler (default %(default)s)")


def stream_format_args(parser: argparse.ArgumentParser) -> None:
    """--format: the muxer of '-' and URL outputs."""
    from ffmotion.core.sinks import DEFAULT_STDOUT_FORMAT, FORMATS

    parser.add_argument("--format", metavar="F",
                        help="muxer for '-' (stdout) and URL outputs: "
                             f"{', '.join(sorted(FORMATS))} (default: {DEFAULT_STDOUT_FORMAT} "
                             "on stdout; mpegts for udp/srt/tcp, flv for rtmp)")


def stabilize_words(args_in: list[str]) -> list[str]:
    """``--stabilize auto`` and ``--stabilize=auto`` -> ``--stabilize-auto`` (``--stabilize``
    alone stays a switch, so it never swallows the next argument)."""
    out: list[str] = []
    index = 0
    while index < len(args_in):
        token = args_in[index]
        if token == "--":
            return out + args_in[index:]
        if token == "--stabilize=auto":
            out.append("--stabilize-auto")
        elif token == "--stabilize" and index + 1 < len(args_in) and args_in[index + 1] == "auto":
            out.append("--stabilize-auto")
            index += 1
        else:
            out.append(token)
        index += 1
    return out


# -- a parsed command line -> typed values ------------------------------------------------------

def look(args: argparse.Namespace, near: Optional[Path] = None) -> looks.Look:
    """The preset named by --look (built-in or saved, see :mod:`ffmotion.pipeline.presets`;
    ``near`` is the input, whose folder may hold an ``ffmotion.toml``) with the look flags
    applied (``--threshold auto`` measured on ``near``)."""
    given = {spec.name: getattr(args, spec.name, None) for spec in looks.FIELDS}
    if given["threshold"] == "auto":
        from ffmotion.pipeline import explore

        sequence = sequence_of(args, near) if near is not None else None
        if near is None or not (near.is_file() or sequence is not None):
            raise UsageError("--threshold auto measures an input: give a number here")
        chosen, values = explore.noise_threshold(near, getattr(args, "ffmpeg", None),
                                                 sequence=sequence)
        if not getattr(args, "quiet", False):
            print(f"ffmotion: --threshold auto: {chosen} (90th percentiles of the first "
                  f"frame-to-frame changes: {', '.join(map(str, values))})", file=sys.stderr)
        given["threshold"] = chosen
    if getattr(args, "look", None) is None:  # no preset to find: the flags on classic
        return looks.resolve(None, **given)
    from ffmotion.pipeline import presets

    return presets.resolve(args.look, near, **given)


def stabilize_from(args: argparse.Namespace) -> Optional[StabilizeOptions]:
    """The stabilization the flags ask for (None: none)."""
    auto = getattr(args, "stabilize_auto", False)
    if not args.stabilize and not auto:
        if args.stabilize_strength is not None or args.stabilize_smoothing is not None:
            raise UsageError("--stabilize-strength/--stabilize-smoothing need --stabilize")
        return None
    if auto and args.stabilize_smoothing is not None:
        raise UsageError("--stabilize auto chooses the smoothing itself: give "
                         "--stabilize-smoothing with a plain --stabilize")
    strength = 5 if args.stabilize_strength is None else args.stabilize_strength
    # no --stabilize-smoothing: auto (the default, chosen by measurement)
    return StabilizeOptions(strength=strength, smoothing=args.stabilize_smoothing)


def sequence_of(args: argparse.Namespace, src: Path) -> Optional[SequenceRequest]:
    """The image-sequence request of a command's input (None: a plain file)."""
    if not hasattr(args, "sequence"):  # batch: the folders --sequences found, nothing else
        return (resolve.sequence_request(src, True, getattr(args, "framerate", None))
                if src.is_dir() else None)
    return resolve.sequence_request(src, getattr(args, "sequence", False),
                                    getattr(args, "framerate", None))


def input_stem(src: Path, sequence: Optional[SequenceRequest]) -> str:
    """The name default outputs are named after: a sequence's folder, or the file's stem."""
    if sequence is not None and not src.is_dir():
        return src.absolute().parent.name or "sequence"
    return src.absolute().name if src.is_dir() else src.stem


def near(src: "str | Path") -> Optional[Path]:
    """The input file whose folder may hold an ffmotion.toml (None for a stream)."""
    return None if input_source(str(src)) is not None else Path(src)


def motion_request(args: argparse.Namespace, src: "str | Path", dst: "str | Path",
                   source: Optional[Source] = None,
                   overwrite: Optional[bool] = None) -> MotionRequest:
    """The one request a command line asks for, built and checked by
    :func:`ffmotion.pipeline.resolve.request` (``source``: a live input already opened;
    ``overwrite``: instead of the flag's)."""
    return resolve.request(
        src, dst, args.offset, freeze=args.freeze, audio=args.audio,
        subtitles=getattr(args, "subtitles", True), codec=args.codec,
        crf=args.crf, preset=args.preset, pix_fmt=args.pix_fmt, lossless=args.lossless,
        overwrite=args.overwrite if overwrite is None else overwrite,
        look=look(args, None if source is not None else near(src)),
        start=args.start, end=args.end, duration=args.duration,
        stabilize=stabilize_from(args) or False,
        strategy=args.strategy, max_buffer=args.max_buffer,
        threads=getattr(args, "threads", None),
        video_stream=args.video_stream, audio_stream=args.audio_stream, deinterlace=args.deinterlace,
        width=args.width, height=args.height, scale=args.scale, fps=args.fps,
        audio_codec=args.audio_codec, audio_bitrate=args.audio_bitrate,
        encoder_opts=args.encoder_opts, gif_dither=args.gif_dither, gif_stats=args.gif_stats,
        sequence=None if source is not None or input_source(str(src)) is not None
        else sequence_of(args, Path(src)),
        format=getattr(args, "format", None), source=source,
    )


def plot_png(args: argparse.Namespace) -> None:
    """``--plot``: matplotlib is there and the name ends in .png (before anything runs)."""
    if not args.plot:
        return
    from ffmotion.pipeline import explore
    from ffmotion.run import outputs

    explore.require_matplotlib()
    if Path(args.plot).suffix.lower() != ".png":
        raise UsageError(f"--plot writes a PNG: give a name ending in .png, not "
                         f"{outputs.shown(args.plot)}")


def table_targets(args: argparse.Namespace) -> None:
    """The input's name, then ``--csv`` (a file or '-') and ``--plot`` under the safe-write
    rule: an explorer's table and its picture."""
    from ffmotion.run import outputs

    outputs.check_name(args.input, "input")
    inputs = [Path(args.input)]
    if args.csv:
        outputs.check_target(args.csv, what="--csv", overwrite=args.overwrite, inputs=inputs,
                             others={"--plot": args.plot}, stream=True)
    if args.plot:
        outputs.check_target(args.plot, what="--plot", overwrite=args.overwrite, inputs=inputs)
