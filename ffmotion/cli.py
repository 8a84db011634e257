"""Command line: arguments -> a request -> the pipeline. Exit codes: 0 ok, 1 processing failed, 2 usage."""
from __future__ import annotations

import argparse
import contextlib
import logging
import os
import shlex
import sys
import time
from pathlib import Path
from typing import Callable, NoReturn, Optional, Sequence

from ffmotion import __version__, graph
from ffmotion.core import looks, numbers
from ffmotion.run import runner, outputs, signals
from ffmotion.core.errors import FfmotionError, Interrupted, UsageError, WriteFailed, spelled_as
from ffmotion.core.request import STRATEGIES, MotionRequest, SequenceRequest, StabilizeOptions
from ffmotion.core.source import Source
from ffmotion.core.units import format_fps
from ffmotion.media.stream import input_source
from ffmotion.pipeline import controller, resolve

log = logging.getLogger("ffmotion")

DEMO_INPUT = "ffmotion-demo-input.mp4"
DEMO_OUTPUT = "ffmotion-demo-motion.mp4"
DEMO_OFFSET = "0.2s"


class _Parser(argparse.ArgumentParser):
    """argparse, but errors are one line and exit with 2."""

    def error(self, message: str) -> NoReturn:  # type: ignore[override]
        raise UsageError(f"{message} (see {self.prog} --help)")


def _common(parser: argparse.ArgumentParser, threads: bool = False) -> None:
    """Options shared by every form that runs the motion graph (``threads``: add --threads)."""
    what = parser.add_argument_group("motion")
    mode = what.add_mutually_exclusive_group()
    mode.add_argument("-k", "--offset", metavar="K",
                      help="blend frame i with inverted frame i+K; K in frames (12) or time "
                           "(0.5s, 500ms); default 1 frame")
    mode.add_argument("--freeze", metavar="K",
                      help="still-reference mode: blend every frame with inverted frame K "
                           "(frames from 0, or a time like 2s)")
    _look_flags(parser)
    _range_args(parser)
    _stabilize_args(parser)
    _picture_args(parser)
    enc = parser.add_argument_group("encoding (defaults follow the output extension)")
    enc.add_argument("--codec", help="video encoder, e.g. libx264, libx265, libvpx-vp9, ffv1")
    enc.add_argument("--crf", type=_real_number,
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
    streams.add_argument("--video-stream", dest="video_stream", type=_whole_number, metavar="N",
                         help="the N-th video stream (0:v:N) instead of the largest moving one")
    streams.add_argument("--audio-stream", dest="audio_stream", metavar="N|all|none",
                         help="audio track(s) to keep: a number (default 0), all, or none")
    streams.add_argument("--no-subtitles", dest="subtitles", action="store_false",
                         help="drop the subtitle tracks (by default kept where the output holds "
                              "them: .mkv, .webm, .mp4/.mov, converted to a codec it takes)")
    shape = parser.add_argument_group(
        "shaping (after the motion graph; every output: video, GIF/WebP/APNG, image sequences)")
    shape.add_argument("--width", type=_whole_number, metavar="PX",
                       help="output width; the height keeps the aspect (even for 4:2:0). "
                            "GIF/WebP/APNG default: at most 480")
    shape.add_argument("--height", type=_whole_number, metavar="PX",
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
    perf = parser.add_argument_group("performance")
    perf.add_argument("--strategy", choices=STRATEGIES, default="auto",
                      help="split: decode once, ffmpeg holds K frames; dual: open the input "
                           "twice, flat memory, decodes twice; auto (default): dual when K "
                           "frames exceed --max-buffer")
    perf.add_argument("--max-buffer", dest="max_buffer", metavar="SIZE", default="256M",
                      help="memory the split strategy may use for K decoded frames before auto "
                           "switches to dual (default 256M; e.g. 1G)")
    if threads:
        perf.add_argument("--threads", type=_whole_number, metavar="T",
                          help="decoder and filter threads of ffmpeg (default: its own); "
                               "never changes the output bytes")
    run = parser.add_argument_group("running")
    run.add_argument("-y", "--overwrite", action="store_true", help="replace an existing output")
    run.add_argument("--ffmpeg", metavar="PATH",
                     help="ffmpeg binary (default: $FFMOTION_FFMPEG, PATH, then imageio-ffmpeg's)")
    run.add_argument("-q", "--quiet", action="store_true", help="no progress bar or messages")
    run.add_argument("-v", "--verbose", action="count", default=0,
                     help="say which ffmpeg is used; twice: log every command")


def _look_flags(parser: argparse.ArgumentParser) -> None:
    """The look: a preset, and flags that override it (all default to None: not given)."""
    look = parser.add_argument_group("look (a preset, then flags that override it)")
    look.add_argument("--look", metavar="NAME",
                      help=f"preset: {', '.join(looks.PRESETS)} ('ffmotion looks' describes them)")
    look.add_argument("--mode", dest="blend", choices=looks.BLENDS,
                      help="average: the classic gray blend (default); difference: |a-b| on black; "
                           "grainextract: a-b+half (mid-gray neutral, twice the contrast)")
    look.add_argument("--gain", metavar="X",
                      help="amplify the deviation from neutral gray (black in difference mode) "
                           "X times, e.g. 4; gray stays gray")
    look.add_argument("--blur", metavar="R", type=_whole_number,
                      help="box-blur both frames (radius R pixels) before comparing: large "
                           "movements stand out, sensor noise fades")
    look.add_argument("--gray", action="store_true", default=None,
                      help="luminance only (no colour)")
    look.add_argument("--rgb-offsets", dest="rgb_offsets", metavar="R,G,B",
                      help="colour motion: red, green and blue each use their own offset, in "
                           "frames (1,2,4), time (0.1s,...) or multiples of --offset (1x,2x,3x)")
    look.add_argument("--trail", metavar="DECAY", type=_real_number,
                      help="motion trails fading by DECAY per frame (0 to 1, e.g. 0.9)")
    look.add_argument("--overlay", metavar="S", type=_real_number,
                      help="lay the motion over the original picture at strength S (0 to 1)")
    look.add_argument("--denoise", choices=looks.DENOISERS,
                      help="a temporal denoiser on every frame before comparing (against "
                           "sensor and compression noise at small K)")
    look.add_argument("--glow", metavar="S", type=_real_number,
                      help="Posy's glow: the motion, blurred, added onto the original at "
                           "strength S (0 to 1)")
    look.add_argument("--glow-radius", dest="glow_radius", metavar="R", type=_whole_number,
                      help="blur radius of --glow in pixels (default 8)")
    look.add_argument("--glow-mode", dest="glow_mode", choices=looks.GLOW_MODES,
                      help="add: the blurred motion added onto the original (default); "
                           "screen: screened over it (brighter, never clips)")
    look.add_argument("--threshold", metavar="T|auto", type=_threshold_arg,
                      help="a matte: white where the motion deviates from neutral by "
                           "more than T levels (after --gain), black elsewhere; auto: just "
                           "above the clip's noise floor, measured on its first frames")
    look.add_argument("--threshold-edge", dest="threshold_edge", choices=looks.EDGES,
                      help="hard (default): all or nothing at T; soft: a linear ramp from T "
                           "to T + --threshold-width")
    look.add_argument("--threshold-width", dest="threshold_width", metavar="W", type=_whole_number,
                      help=f"width of the soft edge in levels (default "
                           f"{looks.DEFAULT_THRESHOLD_WIDTH})")
    look.add_argument("--threshold-on", dest="threshold_on", choices=looks.MATTE_ON,
                      help="black: the matte itself, white on black (default); original: "
                           "the motion shown over the original picture where it passes T")


def _threshold_arg(text: str) -> "int | str":
    if text.strip().lower() == "auto":
        return "auto"
    try:
        return numbers.whole(text, "")
    except UsageError:
        raise argparse.ArgumentTypeError(f"a whole number or auto, not "
                                         f"{numbers.shown(text)}") from None


def _look(args: argparse.Namespace, near: Optional[Path] = None) -> looks.Look:
    """The preset named by --look (built-in or saved, see :mod:`ffmotion.pipeline.presets`; ``near``
    is the input, whose folder may hold an ``ffmotion.toml``) with the look flags applied."""
    names = ("blend", "gain", "blur", "gray", "rgb_offsets", "trail", "overlay", "threshold", "glow",
             "glow_radius", "denoise", "threshold_edge", "threshold_width", "threshold_on",
             "glow_mode")
    given = {name: getattr(args, name, None) for name in names}
    if given["threshold"] == "auto":
        from ffmotion.pipeline import explore

        sequence = _sequence_of(args, near) if near is not None else None
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


def _range_args(parser: argparse.ArgumentParser) -> None:
    """--start/--end/--duration: process a part of the input (audio follows)."""
    part = parser.add_argument_group(
        "time range (T: seconds 2.5, 2.5s, 500ms, 1:30, 1:00:00, or frames 30f; offsets and "
        "frame numbers then count from the start of the range)")
    part.add_argument("--start", metavar="T", help="start at T (rounded to the nearest frame)")
    length = part.add_mutually_exclusive_group()
    length.add_argument("--end", metavar="T", help="stop before T (a time in the input)")
    length.add_argument("--duration", metavar="T", help="process T from the start")


def _stabilize_args(parser: argparse.ArgumentParser) -> None:
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
                      help=argparse.SUPPRESS)  # what '--stabilize auto' becomes (see main)
    stab.add_argument("--stabilize-strength", metavar="1-10", type=_whole_number, default=None,
                      help="how shaky the footage is (vidstab shakiness; default 5)")
    stab.add_argument("--stabilize-smoothing", metavar="N", type=_whole_number, default=None,
                      help="instead of auto: follow the camera path smoothed over N frames "
                           "each side (for pans); 0: lock the camera on the first frame "
                           "(vid.stab's tripod mode)")


def _picture_args(parser: argparse.ArgumentParser) -> None:
    """--deinterlace (rotation and full range need no flag: they are read from the input)."""
    parser.add_argument("--deinterlace", action="store_true",
                        help="deinterlace interlaced input (bwdif, or yadif; one frame per frame, "
                             "so the frame rate is kept) before extracting motion; the output "
                             "is progressive")


def _sequence_args(parser: argparse.ArgumentParser, batch: bool = False) -> None:
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


def _sequence_of(args: argparse.Namespace, src: Path) -> Optional[SequenceRequest]:
    """The image-sequence request of a command's input (None: a plain file)."""
    if not hasattr(args, "sequence"):  # batch: the folders --sequences found, nothing else
        return (resolve.sequence_request(src, True, getattr(args, "framerate", None))
                if src.is_dir() else None)
    return resolve.sequence_request(src, getattr(args, "sequence", False),
                                getattr(args, "framerate", None))


def _input_stem(src: Path, sequence: Optional[SequenceRequest]) -> str:
    """The name default outputs are named after: a sequence's folder, or the file's stem."""
    if sequence is not None and not src.is_dir():
        return src.absolute().parent.name or "sequence"
    return src.absolute().name if src.is_dir() else src.stem


_whole_number = numbers.whole_arg
_real_number = numbers.real_arg


def _stabilize_from(args: argparse.Namespace) -> Optional[StabilizeOptions]:
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


def _stabilize_words(args_in: list[str]) -> list[str]:
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


def _main_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="ffmotion",
        description="Motion extraction: each output frame is input frame i blended 50% with "
                    "the inverted frame i+K, in one ffmpeg filter graph. Static areas turn gray; "
                    "what changed between i and i+K shows.",
        epilog="Subcommands (each has --help): demo [OUT] (a sample clip and its motion "
               "extraction), batch IN... -o DIR (many files), looks (the look presets), "
               "sheet IN (a contact sheet of offsets), energy IN (a motion-energy timeline), "
               "preview IN (a web page to choose the offset by scrubbing), live [SOURCE] OUT (a "
               "camera, as it records), map IN (where motion happened, one picture), ffmpeg ARGS (the "
               "ffmpeg ffmotion uses, run with ARGS: the bundled one where there is no other). "
               "A file named like a subcommand can be given as ./demo.",
    )
    parser.add_argument("input", help="input video; an image sequence (a folder of images, or "
                                      "a pattern/glob with --sequence); '-' reads a stream "
                                      "from stdin, scheme://... a URL (udp, srt, rtsp, http...)")
    parser.add_argument("output", help="output: a video (.mp4 .mov .mkv .avi .webm .ts .flv .mpg "
                                       ".mxf .ogv .y4m ...), an animation (.gif .webp .apng), "
                                       "an image sequence (out%%04d.png .tif .jpg), '-' "
                                       "(stdout), a URL (udp:// srt:// rtmp:// ...) or an HLS "
                                       "playlist (DIR/index.m3u8)")
    _common(parser, threads=True)
    _sequence_args(parser)
    _stream_args(parser)
    parser.add_argument("--print-command", action="store_true",
                        help="print the ffmpeg command (runnable as is) and exit")
    _chunk_args(parser)
    parser.add_argument("--version", action="version", version=f"ffmotion {__version__}")
    return parser


def _chunk_args(parser: argparse.ArgumentParser) -> None:
    """--chunks: one input over many cores or machines (ffmotion.jobs.chunks)."""
    group = parser.add_argument_group(
        "chunks (one long video over many cores or Dask workers; frames equal a single pass)")
    group.add_argument("--chunks", metavar="N|auto",
                       help="render N chunks at once and join them (auto: one per worker, "
                            "long enough that the overhead stays under 5%%)")
    group.add_argument("-j", "--jobs", type=_whole_number, metavar="J",
                       help="chunks rendered at once on this machine (default: the cores)")
    group.add_argument("--scheduler", metavar="ADDRESS",
                       help="render the chunks on a Dask cluster (tcp://HOST:8786); the input "
                            "and the output folder must be visible to every worker")
    group.add_argument("--connect-timeout", type=numbers.timeout_arg, default=10.0, metavar="S",
                       help="seconds to wait for the Dask scheduler (default %(default)s)")


def _demo_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="ffmotion demo",
        description="Generate a short synthetic clip (static scene, moving objects, sensor "
                    f"noise, a tone) and its motion extraction (offset {DEMO_OFFSET} by default).",
    )
    parser.add_argument("out", nargs="?", default=".",
                        help="folder for both files (default: current folder), or the result "
                             f"file; default names {DEMO_INPUT} and {DEMO_OUTPUT}")
    _common(parser, threads=True)
    return parser


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Entry point of the ``ffmotion`` command; returns the exit code."""
    if argv is None:  # the program itself: the console script, python -m ffmotion
        _freeze_imports()
    args_in = list(sys.argv[1:] if argv is None else argv)
    signals.install()
    try:
        try:
            code = _dispatch(args_in)
        finally:
            _flush_stdout()
        if code == 0:
            runner.remember_checked()  # the next run needs no ffmpeg -encoders (run/facts.py)
    except FfmotionError as exc:
        by = f" ({signals.received()})" if isinstance(exc, Interrupted) and signals.received() else ""
        _error(f"ffmotion: error: {outputs.shown(str(exc))}{by}")  # one line
        tail = getattr(exc, "stderr_tail", "")
        if tail:
            log.debug("ffmpeg stderr:\n%s", tail)
        return exc.exit_code
    except KeyboardInterrupt:
        _error(f"ffmotion: interrupted ({signals.received() or 'SIGINT'})")
        return 130
    return code


def _freeze_imports() -> None:
    """What the imports made lives as long as the process: move it out of the garbage
    collector's way (``gc.freeze``), so that its collections, and the interpreter's at exit,
    skip those objects (~10 ms of every run). Only where ffmotion is the program: a caller
    of ``main(argv)`` in its own process keeps its collector as it is."""
    import gc

    gc.freeze()


def _dispatch(args_in: list[str]) -> int:
    if args_in and args_in[0] == "ffmpeg":  # ffmpeg's own arguments: argparse stays out
        return _ffmpeg_passthrough(args_in[1:])
    args_in = _stabilize_words(args_in)
    if args_in and args_in[0] in SUBCOMMANDS:
        make_parser, handler = SUBCOMMANDS[args_in[0]]
        parser = make_parser()
        args = parser.parse_args(args_in[1:])
    else:
        parser, handler = _main_parser(), _single
        args = parser.parse_args(args_in)
    _setup_logging(args)
    with spelled_as(_flag_spelling(parser)):  # messages name options by their flags
        return handler(args)


# fields whose flag is not "--" + the field's name with dashes, where no parser says so
_FLAGS = {"blend": "--mode", "audio": "--no-audio", "subtitles": "--no-subtitles",
          "encoder_opts": "--encoder-opt", "stabilize_auto": "--stabilize auto"}


def _flag_spelling(parser: argparse.ArgumentParser) -> Callable[[str], str]:
    """How this command's messages name a request field: the flag that sets it."""
    flags = {action.dest: max(action.option_strings, key=len)
             for action in parser._actions if action.option_strings}

    def spell(name: str) -> str:
        return flags.get(name) or _FLAGS.get(name) or "--" + name.replace("_", "-")

    return spell


def _ffmpeg_passthrough(args_in: list[str]) -> int:
    """``ffmotion ffmpeg ARGS...``: the ffmpeg ffmotion uses (``$FFMOTION_FFMPEG``, PATH, then
    the bundled one), run with ARGS as given; its exit status is ours. On a machine whose only
    ffmpeg is the bundled one, this is how the manual's plain ffmpeg commands run."""
    import shlex
    import subprocess

    from ffmotion.run.binaries import locate_ffmpeg
    from ffmotion.run import ahead

    binary = locate_ffmpeg(None).path
    argv = [binary, *args_in]
    log.debug("run: %s", shlex.join(argv))
    ahead.discard()
    if os.name == "posix":  # become ffmpeg: signals, stdin and the exit status are its own
        _flush_stdout()
        sys.stderr.flush()
        os.execv(binary, argv)
    return subprocess.call(argv)


def _flush_stdout() -> None:
    """Flush stdout now, so that a full disk or a closed pipe behind it is one line here and
    not an "Exception ignored" message (and exit 120) at interpreter shutdown."""
    try:
        sys.stdout.flush()
    except (OSError, ValueError) as exc:
        _stdout_to_null()
        raise WriteFailed(f"cannot write to stdout: {getattr(exc, 'strerror', None) or exc}") from None


def _out(text: str) -> None:
    """A line of machine-readable output on stdout; a stdout that cannot take it (a full
    disk, a closed pipe) is one error line, not a traceback."""
    try:
        print(text)
    except OSError as exc:
        _stdout_to_null()
        raise WriteFailed(f"cannot write to stdout: {exc.strerror or exc}") from None


def _stdout_to_null() -> None:
    with contextlib.suppress(OSError, ValueError):
        null = os.open(os.devnull, os.O_WRONLY)
        os.dup2(null, sys.stdout.fileno())
        os.close(null)


def _error(line: str) -> None:
    """The one error line; a terminal that is gone (SIGHUP) must not turn it into a traceback."""
    try:
        print(line, file=sys.stderr, flush=True)
    except (OSError, ValueError):
        with contextlib.suppress(OSError, ValueError):
            null = os.open(os.devnull, os.O_WRONLY)
            os.dup2(null, sys.stderr.fileno())
            os.close(null)


class _StderrHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes to whatever ``sys.stderr`` is at the time (tests swap it)."""

    def emit(self, record: logging.LogRecord) -> None:
        self.stream = sys.stderr
        super().emit(record)


def _setup_logging(args: argparse.Namespace) -> None:
    """Format ffmotion's own log lines; other libraries' (distributed's) stay in theirs and
    are quiet below ERROR unless -vv."""
    level = logging.ERROR if getattr(args, "quiet", False) else logging.WARNING  # -q: errors only
    if args.verbose == 1:
        level = logging.INFO
    elif args.verbose >= 2:
        level = logging.DEBUG
    if not any(isinstance(h, _StderrHandler) for h in log.handlers):
        handler = _StderrHandler()
        handler.setFormatter(logging.Formatter("ffmotion: %(message)s"))
        log.addHandler(handler)
    log.setLevel(level)
    for other in ("distributed", "tornado", "asyncio"):
        logging.getLogger(other).setLevel(logging.DEBUG if args.verbose >= 2 else logging.ERROR)


def _options(args: argparse.Namespace, src: "str | Path", dst: "str | Path",
             source: Optional[Source] = None) -> MotionRequest:
    return resolve.request(
        src, dst, args.offset, freeze=args.freeze, audio=args.audio,
        subtitles=getattr(args, "subtitles", True), codec=args.codec,
        crf=args.crf, preset=args.preset, pix_fmt=args.pix_fmt, lossless=args.lossless,
        overwrite=args.overwrite,
        look=_look(args, None if source is not None else _near(src)),
        start=args.start, end=args.end, duration=args.duration,
        stabilize=_stabilize_from(args) or False,
        strategy=args.strategy, max_buffer=args.max_buffer,
        threads=getattr(args, "threads", None),
        video_stream=args.video_stream, audio_stream=args.audio_stream, deinterlace=args.deinterlace,
        width=args.width, height=args.height, scale=args.scale, fps=args.fps,
        audio_codec=args.audio_codec, audio_bitrate=args.audio_bitrate,
        encoder_opts=args.encoder_opts, gif_dither=args.gif_dither, gif_stats=args.gif_stats,
        sequence=None if source is not None or input_source(str(src)) is not None
        else _sequence_of(args, Path(src)),
        format=getattr(args, "format", None), source=source,
    )


def _say(args: argparse.Namespace, message: str) -> None:
    if not args.quiet:
        print(message, file=sys.stderr)


def _stream_args(parser: argparse.ArgumentParser) -> None:
    """--format: the muxer of '-' and URL outputs."""
    from ffmotion.core.sinks import DEFAULT_STDOUT_FORMAT, FORMATS

    parser.add_argument("--format", metavar="F",
                        help="muxer for '-' (stdout) and URL outputs: "
                             f"{', '.join(sorted(FORMATS))} (default: {DEFAULT_STDOUT_FORMAT} "
                             "on stdout; mpegts for udp/srt/tcp, flv for rtmp)")


def _near(src: "str | Path") -> Optional[Path]:
    """The input file whose folder may hold an ffmotion.toml (None for a stream)."""
    from ffmotion.media.stream import input_source

    return None if input_source(str(src)) is not None else Path(src)


def _single(args: argparse.Namespace) -> int:
    options = _options(args, args.input, args.output)
    tools = runner.tools(args.ffmpeg)
    plan = controller.prepare(options, tools)
    if args.chunks is not None or args.scheduler is not None or args.jobs is not None:
        return _chunked(args, plan, tools)
    if args.print_command:  # stabilization pass 1 first, if any, on the same line
        if plan.stabilizer is not None:
            from ffmotion.pipeline import stabilize

            plan = stabilize.settle(plan, tools, run=False)  # --stabilize auto analyses first
        _out(controller.shell_line(controller.commands(plan, tools.ffmpeg), plan))
        return 0
    return _execute(args, plan, tools)


def _chunked(args: argparse.Namespace, plan: graph.Plan, tools: runner.Tools) -> int:
    """``--chunks``: plan the chunks, print their commands or run them on the pool/Dask."""
    from ffmotion.jobs import chunks as chunking

    wanted = chunking.parse_chunks(args.chunks if args.chunks is not None else "auto")
    if args.jobs is not None and args.scheduler is not None:
        raise UsageError("give --jobs (this machine) or --scheduler (Dask), not both")
    if wanted != chunking.AUTO:  # refused before anything is said or started
        from ffmotion.graph.chunks import check_chunkable

        check_chunkable(plan)
    if args.print_command:
        workers = chunking.workers_for(None, args.jobs)
        if plan.stabilizer is not None:  # the chunks' corrections come from the analysis
            from ffmotion.pipeline import stabilize

            if not stabilize.is_cached(plan) or plan.stabilizer.options.auto:
                _say(args, "ffmotion: --chunks --stabilize: analysing the clip first (cached) "
                           "to cut the corrections the chunks apply")
            plan = stabilize.settle(plan, tools)
        try:
            planned = chunking.plan_chunks(plan, tools.ffmpeg, wanted or 1, workers)
        except UsageError:
            if wanted != chunking.AUTO:
                raise
            planned = None  # --chunks auto on what cannot be chunked: a single pass
        if planned is None or len(planned.tasks) == 1:
            _out(controller.shell_line(controller.commands(plan, tools.ffmpeg), plan))
        else:
            _out(chunking.shell_line(planned, tools.ffmpeg))
        return 0
    _say(args, f"ffmotion: {plan.info.path.name}: {graph.describe(plan)}")
    started = time.monotonic()
    result = chunking.run_chunked(plan, tools, wanted or 1, jobs=args.jobs, scheduler=args.scheduler,
                             connect_timeout=args.connect_timeout, worker_ffmpeg=args.ffmpeg,
                             say=lambda line: _say(args, f"ffmotion: {line}"))
    seconds = time.monotonic() - started
    again = f", {result.reused} reused" if result.reused else ""
    _say(args, f"ffmotion: wrote {result.output} ({_count(result.frames, 'frame')} at "
               f"{format_fps(plan.info.fps)} fps, {_count(result.chunks, 'chunk')}{again}, "
               f"in {seconds:.1f} s)")
    return 0


def _execute(args: argparse.Namespace, plan: graph.Plan, tools: runner.Tools) -> int:
    show_bar = not args.quiet and sys.stderr.isatty()
    streamed = plan.input.source is not None or plan.output.sink is not None
    if not streamed:  # said after --stabilize auto has decided (it may decide on none)
        plan = controller.settle(plan, tools, progress=show_bar)
    _say(args, f"ffmotion: {plan.info.path.name}: {graph.describe(plan)}")
    started = time.monotonic()
    result = controller.run(plan, tools, progress=show_bar, settled=not streamed)
    seconds = time.monotonic() - started
    fps = graph.shaping(plan)[1] or plan.info.fps
    sink = plan.output.sink
    where = (f"sent to {sink.shown}" if sink is not None and sink.streams_out
             else f"wrote {result.output}")
    stopped = f"stopped by {result.stopped}: " if result.stopped else ""
    _say(args, f"ffmotion: {stopped}{where} ({_count(result.frames, 'frame')} at "
               f"{format_fps(fps)} fps in {seconds:.1f} s)")
    return 0


def _count(n: int, noun: str) -> str:
    """``1 frame``, ``2 frames``."""
    return f"{n} {noun}{'' if n == 1 else 's'}"


def _demo(args: argparse.Namespace) -> int:
    out = Path(args.out)
    outputs.check_name(out, "demo output")
    if out.suffix and not out.is_dir():
        motion_path = out
        sample_path = out.with_name(f"{out.stem}-input.mp4")
    else:
        if out.exists() and not out.is_dir():
            raise UsageError(f"demo: {outputs.shown(out)} exists and is not a folder (give a "
                             "folder, or a result file name ending in .mp4)")
        try:
            out.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise UsageError(f"demo: cannot create the folder {outputs.shown(out)}: "
                             f"{exc.strerror or exc}") from None
        motion_path, sample_path = out / DEMO_OUTPUT, out / DEMO_INPUT
    outputs.check_target(sample_path, what="demo sample clip", overwrite=args.overwrite)
    outputs.check_target(motion_path, what="demo output", overwrite=args.overwrite,
                         others={"the sample clip": sample_path})
    tools = runner.tools(args.ffmpeg)
    _say(args, f"ffmotion demo: generating a sample clip with ffmpeg ({tools.ffmpeg})")
    with runner.atomic_output(sample_path.absolute(), args.overwrite) as tmp:
        runner.run_ffmpeg(graph.demo_command(tools.ffmpeg, tmp, overwrite=True))
    if args.offset is None and args.freeze is None:
        args.offset = DEMO_OFFSET
    try:
        options = _options(args, sample_path, motion_path)
        plan = controller.prepare(options, tools)
        _execute(args, plan, tools)
    except BaseException:
        sample_path.unlink(missing_ok=True)  # a demo leaves both files or neither
        raise
    _say(args, f"ffmotion demo: sample clip  {sample_path}")
    _say(args, f"ffmotion demo: motion       {motion_path}")
    _say(args, "ffmotion demo: the same with ffmpeg alone (it rewrites the same file):")
    # -y: the output exists now, so a printed -n would refuse to run
    _out(controller.shell_line(controller.commands(plan, tools.ffmpeg, overwrite=True), plan))
    return 0


def _live_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="ffmotion live",
        description="Motion extraction from a live camera, as it records. SOURCE: none (the "
                    "default camera: v4l2 /dev/video0 on Linux, avfoundation 0 on macOS; "
                    "Windows: dshow:video=NAME), /dev/videoN, v4l2:/dev/videoN, "
                    "avfoundation:N, dshow:video=NAME, lavfi:GRAPH (a synthetic camera, e.g. "
                    "lavfi:testsrc2=size=640x360:rate=30), a URL (rtsp://, udp://, srt://) or "
                    "- (stdin). OUT: a file (committed when stopped), - (stdout, e.g. "
                    "| ffplay -), a URL, or DIR/index.m3u8 (HLS). Stop with Ctrl-C or "
                    "--duration. An output frame needs input frame i+K: the picture is K "
                    "frames behind the camera, plus the processing latency.",
        epilog="Example: ffmotion live lavfi:testsrc2=size=640x360:rate=30 out.mkv --duration 3")
    parser.add_argument("places", nargs="+", metavar="[SOURCE] OUT",
                        help="the camera (optional) and the output")
    cam = parser.add_argument_group("capture device (v4l2, avfoundation, dshow)")
    cam.add_argument("--video-size", metavar="WxH", help="capture size, e.g. 1280x720")
    cam.add_argument("--framerate", metavar="R", help="capture rate, e.g. 30")
    cam.add_argument("--input-format", metavar="F",
                     help="capture format (v4l2 -input_format, e.g. mjpeg; others -pixel_format)")
    _common(parser, threads=True)
    _stream_args(parser)
    parser.add_argument("--print-command", action="store_true",
                        help="print the ffmpeg command (runnable as is) and exit")
    return parser


def _live(args: argparse.Namespace) -> int:
    from ffmotion.media.live import live_source

    if len(args.places) > 2:
        raise UsageError("ffmotion live takes [SOURCE] OUT (see ffmotion live --help)")
    text = args.places[0] if len(args.places) == 2 else None
    source = live_source(text, video_size=args.video_size, framerate=args.framerate,
                         input_format=args.input_format)
    options = _options(args, text or source.name, args.places[-1], source=source)
    tools = runner.tools(args.ffmpeg)
    plan = controller.prepare(options, tools)
    if args.print_command:
        _out(controller.shell_line(controller.commands(plan, tools.ffmpeg), plan))
        return 0
    return _execute(args, plan, tools)


def _batch_parser() -> argparse.ArgumentParser:
    from ffmotion.jobs import batch

    parser = _Parser(
        prog="ffmotion batch",
        description="Run the motion extraction over many inputs into one folder: in parallel "
                    "(--jobs), resumably (existing outputs are skipped), on a Dask cluster "
                    "(--scheduler), or as ffmpeg commands for another scheduler "
                    "(--emit-commands). Exit code 1 if any input failed.",
    )
    batch.add_arguments(parser)
    _common(parser)
    _sequence_args(parser, batch=True)
    return parser


def _batch(args: argparse.Namespace) -> int:
    from ffmotion.jobs import batch

    return batch.main(args, _options)


def _looks_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="ffmotion looks",
                     description="List the look presets (use one with --look NAME; flags given "
                                 "beside it override it): name, what it shows, its flags, and "
                                 "where it comes from (built-in, the user's looks.toml, or the "
                                 "project's ffmotion.toml; project overrides user overrides "
                                 "built-in). With --save NAME, save the look given by the flags.")
    parser.add_argument("-v", "--verbose", action="count", default=0, help=argparse.SUPPRESS)
    parser.add_argument("--near", metavar="PATH", type=Path,
                        help="also list the ffmotion.toml in the folder of this input")
    saving = parser.add_argument_group("saving")
    saving.add_argument("--save", metavar="NAME",
                        help="save the look given by --look and the look flags as NAME in the "
                             "user's looks.toml ($XDG_CONFIG_HOME/ffmotion, default ~/.config)")
    saving.add_argument("--project", metavar="FOLDER", type=Path,
                        help="save into FOLDER/ffmotion.toml instead (the inputs' folder)")
    saving.add_argument("--description", metavar="TEXT", default="",
                        help="a few words saying what the saved look shows")
    saving.add_argument("-y", "--overwrite", action="store_true",
                        help="replace a saved preset of the same name")
    _look_flags(parser)
    return parser


def _looks(args: argparse.Namespace) -> int:
    from ffmotion.pipeline import presets

    near = args.near if args.near is not None else args.project
    if args.save:
        look = _look(args, near)
        if args.project is not None and not args.project.is_dir():
            raise UsageError(f"--project must be an existing folder, not {args.project}")
        path = (args.project / presets.PROJECT_FILE if args.project is not None
                else presets.user_file())
        presets.save(path, args.save, look, args.description, args.overwrite)
        print(f"saved look {args.save!r} ({look.describe()}) to {path}", file=sys.stderr)
        return 0
    found = presets.available(near)
    width = max(len(name) for name in found)
    for preset in found.values():
        flags = " ".join(preset.look.flags()) or "no flags"
        # descriptions come from users' files: no terminal escape reaches the terminal
        _out(f"{preset.name:<{width}}  {outputs.shown(preset.description)} ({flags}) "
             f"[{outputs.shown(preset.source)}]")
    return 0


def _running_args(parser: argparse.ArgumentParser, overwrite: bool = True) -> None:
    run = parser.add_argument_group("running")
    if overwrite:
        run.add_argument("-y", "--overwrite", action="store_true",
                         help="replace existing output files")
    run.add_argument("--ffmpeg", metavar="PATH",
                     help="ffmpeg binary (default: $FFMOTION_FFMPEG, PATH, then imageio-ffmpeg's)")
    run.add_argument("--print-command", action="store_true",
                     help="print the ffmpeg command(s) (runnable as is) and exit")
    run.add_argument("-q", "--quiet", action="store_true", help="no progress or messages")
    run.add_argument("-v", "--verbose", action="count", default=0,
                     help="say which ffmpeg is used; twice: log every command")


def _sheet_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="ffmotion sheet",
        description="A PNG contact sheet for choosing the offset by looking: the first row "
                    "is the original, each further row the motion extraction at one offset, "
                    "at a few frames spread over the clip (one ffmpeg pass).",
    )
    parser.add_argument("input", help="input video")
    parser.add_argument("--offsets", metavar="K,K,...",
                        help="offsets to compare, frames or times: 1,4,12,30,2s "
                             "(default 1,4,12,30, those the clip is long enough for)")
    parser.add_argument("-o", "--output", metavar="PNG",
                        help="the sheet (default: INPUT-NAME.sheet.png in the current folder)")
    parser.add_argument("--columns", type=_whole_number, default=5,
                        help="frames per row (default 5)")
    parser.add_argument("--cell-width", type=_whole_number, default=320, metavar="PX",
                        help="width of one picture; larger frames are scaled down (default 320)")
    parser.add_argument("--no-labels", dest="labels", action="store_false",
                        help="no text on the sheet (the legend goes to stderr)")
    _sequence_args(parser)
    _range_args(parser)
    _stabilize_args(parser)
    _picture_args(parser)
    _running_args(parser)
    return parser


def _sheet(args: argparse.Namespace) -> int:
    from ffmotion.pipeline import explore

    src = Path(args.input)
    sequence = _sequence_of(args, src)
    dst = Path(args.output) if args.output else Path(f"{_input_stem(src, sequence)}.sheet.png")
    result = explore.sheet(
        src, dst, args.offsets, columns=args.columns, cell_width=args.cell_width,
        labels=args.labels, start=args.start, end=args.end, duration=args.duration,
        stabilize_options=_stabilize_from(args), overwrite=args.overwrite, ffmpeg=args.ffmpeg,
        dry_run=args.print_command, progress=not args.quiet and sys.stderr.isatty(),
        deinterlace=args.deinterlace, sequence=sequence)
    if args.print_command:
        _out(controller.shell_line(result.commands, result.plan))
        return 0
    layout = result.layout
    if result.labelled or not args.labels:
        log.info("%s", result.legend)
    if not args.labels:
        _say(args, f"ffmotion sheet: {result.legend}")
    _say(args, f"ffmotion sheet: wrote {result.output} ({layout.width}x{layout.height}, "
               f"{len(layout.rows)} rows x {len(layout.columns)} columns)")
    return 0


def _energy_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="ffmotion energy",
        description="Per-frame motion energy: the mean deviation from neutral gray of each "
                    "motion-extracted frame (luma, 8-bit levels; 0 = nothing moved), computed "
                    "by ffmpeg. CSV on stdout unless --csv/--plot is given.",
    )
    parser.add_argument("input", help="input video")
    parser.add_argument("-k", "--offset", default="1", metavar="K[,K...]",
                        help="offset(s), frames or times, comma-separated: 12 or 1,12,1s "
                             "(default 1)")
    parser.add_argument("--csv", metavar="FILE", help="write the CSV here ('-': stdout)")
    parser.add_argument("--plot", metavar="PNG",
                        help="also draw the timeline as a PNG (needs the 'plot' extra: "
                             "pip install 'ffmotion[plot]')")
    _sequence_args(parser)
    _range_args(parser)
    _stabilize_args(parser)
    _picture_args(parser)
    _running_args(parser)
    return parser


def _energy(args: argparse.Namespace) -> int:
    from ffmotion.pipeline import explore

    if args.plot:
        explore.require_matplotlib()
        if Path(args.plot).suffix.lower() != ".png":
            raise UsageError(f"--plot writes a PNG: give a name ending in .png, not "
                             f"{outputs.shown(args.plot)}")
    outputs.check_name(args.input, "input")
    inputs = [Path(args.input)]
    if args.csv:
        outputs.check_target(args.csv, what="--csv", overwrite=args.overwrite, inputs=inputs,
                             others={"--plot": args.plot}, stream=True)
    if args.plot:
        outputs.check_target(args.plot, what="--plot", overwrite=args.overwrite, inputs=inputs)
    tools = runner.tools(args.ffmpeg)
    stab = _stabilize_from(args)
    ranged = {"start": args.start, "end": args.end, "duration": args.duration,
              "deinterlace": args.deinterlace, "sequence": _sequence_of(args, Path(args.input))}
    if args.print_command:
        plans = explore.energy_plans(args.input, args.offset, tools=tools,
                                     stabilize_options=stab, **ranged)
        files = [Path(f"energy-k{p.k}.txt") for p in plans]
        _out(controller.shell_line(explore.energy_commands(plans, tools.ffmpeg, files), plans[0]))
        return 0
    table = explore.energy(args.input, args.offset, tools=tools, stabilize_options=stab,
                           progress=not args.quiet and sys.stderr.isatty(), **ranged)
    if args.csv and not outputs.is_stream(args.csv):
        explore.write_csv(table, Path(args.csv).absolute(), args.overwrite)
        _say(args, f"ffmotion energy: wrote {outputs.shown(Path(args.csv).absolute())}")
    if args.plot:
        explore.write_plot(table, Path(args.plot).absolute(), args.overwrite)
        _say(args, f"ffmotion energy: wrote {outputs.shown(Path(args.plot).absolute())}")
    if args.csv == "-" or not (args.csv or args.plot):
        outputs.write_text("-", table.csv(), what="the CSV", overwrite=True)
    for line in table.summary():
        _say(args, f"ffmotion energy: {line}")
    return 0


def _preview_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="ffmotion preview",
        description="A local web page to choose the offset and the look by scrubbing: exact "
                    "frames (the graph the CLI runs, at preview size), the motion-energy "
                    "timeline, both commands, and Render (the CLI's job, byte for byte). "
                    "Prints the page's URL (with its access token) on stdout.",
    )
    parser.add_argument("input", help="input video")
    parser.add_argument("--port", type=_whole_number, default=0,
                        help="port to listen on (default: any free port)")
    parser.add_argument("--host", default="127.0.0.1",
                        help="address to listen on (default 127.0.0.1: this machine only). "
                             "The page answers to 127.0.0.1, localhost and [::1] only, plus, "
                             "listening elsewhere, to this host as given and to addresses "
                             "typed as digits; never to another name (DNS rebinding)")
    parser.add_argument("--no-browser", dest="browser", action="store_false",
                        help="print the URL only, do not open a browser")
    parser.add_argument("-o", "--output-dir", metavar="DIR",
                        help="folder for rendered files (default: beside the input)")
    parser.add_argument("--width", type=_whole_number, default=1280, metavar="PX",
                        help="preview width in pixels (default 1280; smaller inputs keep theirs)")
    parser.add_argument("--start", metavar="T",
                        help="preview from here (seconds, 1:30, 500ms or 30f); without "
                             "--start/--end a long input is previewed from its start as far "
                             "as 4 GiB of preview frames go")
    parser.add_argument("--end", metavar="T", help="preview up to here (as --start)")
    parser.add_argument("--ffmpeg", metavar="PATH",
                        help="ffmpeg binary (default: $FFMOTION_FFMPEG, PATH, then imageio-ffmpeg's)")
    parser.add_argument("-v", "--verbose", action="count", default=0,
                        help="say which ffmpeg is used; twice: log every command")
    _sequence_args(parser)
    return parser


def _preview(args: argparse.Namespace) -> int:
    from ffmotion.preview.server import serve
    from ffmotion.preview.session import Session

    if not 16 <= args.width <= 7680:
        raise UsageError(f"--width must be from 16 to 7680 pixels, not {args.width}")
    if args.port > 65535:
        raise UsageError(f"--port must be from 0 to 65535, not {args.port}")
    if args.host not in ("127.0.0.1", "localhost", "::1"):
        print(f"ffmotion preview: warning: listening on {args.host}: anyone who can reach it "
              "and has the URL's token can read the input and write renders", file=sys.stderr)
    tools = runner.tools(args.ffmpeg)
    session = Session(Path(args.input), tools,
                      Path(args.output_dir) if args.output_dir else None, args.width,
                      start=args.start, end=args.end,
                      sequence=_sequence_of(args, Path(args.input)))
    try:
        session.start_plain_proxy(session.settings({}))
    except FfmotionError:
        session.close()
        raise
    try:
        serve(session, args.host, args.port, open_browser=args.browser)
    except OSError as exc:
        raise UsageError(f"cannot listen on {args.host}:{args.port}: {exc.strerror or exc}") from None
    return 0


def _map_parser() -> argparse.ArgumentParser:
    from ffmotion.core import maps

    parser = _Parser(
        prog="ffmotion map",
        description="One picture of where motion happened over the clip or range: the motion "
                    "energy |frame i - frame i+K| of every pixel (luma) accumulated over the "
                    "range (its mean, or its peak), coloured by intensity or by when it last "
                    "moved; or a motiogram (the mean of each row or column of the motion, over "
                    "time). One ffmpeg pass.")
    parser.add_argument("input", help="input video")
    parser.add_argument("-k", "--offset", default="12", metavar="K",
                        help="offset, frames (12) or time (0.5s) (default 12)")
    parser.add_argument("-o", "--output", metavar="PNG",
                        help="the picture (default: INPUT.map.png beside the current folder)")
    parser.add_argument("--color", choices=maps.COLORS, default="intensity",
                        help="intensity: gray, brighter where more moved (default); time: "
                             "brightness by how much, hue by when it last moved")
    parser.add_argument("--motiogram", choices=maps.MOTIOGRAMS,
                        help="draw a motiogram instead: rows (time to the right) or columns "
                             "(time downwards)")
    parser.add_argument("--accumulate", choices=maps.ACCUMULATE, default="mean",
                        help="mean (default): the mean |motion| of each pixel over the motion "
                             "frames, times --gain; peak: its largest value")
    parser.add_argument("--gain", metavar="X",
                        help=f"amplify the motion X times (default {maps.MEAN_GAIN} for a mean "
                             "map, after averaging; 1 otherwise)")
    parser.add_argument("--threshold", metavar="T", type=_whole_number, default=maps.DEFAULT_THRESHOLD,
                        help="--color time: a pixel moved when it changed by more than T "
                             f"levels (default {maps.DEFAULT_THRESHOLD})")
    _sequence_args(parser)
    _range_args(parser)
    _stabilize_args(parser)
    _running_args(parser)
    return parser


def _map(args: argparse.Namespace) -> int:
    from ffmotion.pipeline import explore
    from ffmotion.core import maps

    if not 0 <= args.threshold <= 254:
        raise UsageError(f"--threshold must be from 0 to 254, not {args.threshold}")
    spec = maps.MapSpec(color=args.color, motiogram=args.motiogram,
                        gain=looks.parse_gain(args.gain) if args.gain is not None else None,
                        threshold=args.threshold, accumulate=args.accumulate)
    src = Path(args.input)
    sequence = _sequence_of(args, src)
    suffix = f".motiogram-{args.motiogram}.png" if args.motiogram else ".map.png"
    dst = Path(args.output) if args.output else Path(f"{_input_stem(src, sequence)}{suffix}")
    result = explore.motion_map(src, dst, args.offset, spec=spec, start=args.start, end=args.end,
                                duration=args.duration, stabilize_options=_stabilize_from(args),
                                overwrite=args.overwrite, ffmpeg=args.ffmpeg,
                                dry_run=args.print_command, sequence=sequence)
    if args.print_command:
        for argv in result.commands:
            _out(shlex.join(argv))
        return 0
    _say(args, f"ffmotion map: wrote {result.output} ({result.legend})")
    return 0


# name -> (parser factory, handler). ``ffmotion IN OUT`` is the form used when the first
# argument is none of these names (a file named like one can be given as ./demo).
SUBCOMMANDS: dict[str, tuple[Callable[[], argparse.ArgumentParser], Callable[[argparse.Namespace], int]]] = {
    "demo": (_demo_parser, _demo),
    "batch": (_batch_parser, _batch),
    "looks": (_looks_parser, _looks),
    "sheet": (_sheet_parser, _sheet),
    "energy": (_energy_parser, _energy),
    "preview": (_preview_parser, _preview),
    "map": (_map_parser, _map),
    "live": (_live_parser, _live),
    # dispatched before argparse (its arguments are ffmpeg's): see _ffmpeg_passthrough
    "ffmpeg": (lambda: _Parser(prog="ffmotion ffmpeg"), lambda args: 2),
}


if __name__ == "__main__":
    sys.exit(main())
