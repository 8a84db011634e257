"""Command line: arguments -> Options -> api. Exit codes: 0 ok, 1 processing failed, 2 usage."""
from __future__ import annotations

import argparse
import logging
import signal
import sys
import time
from pathlib import Path
from typing import Callable, NoReturn, Optional, Sequence

from . import __version__, api, graph, runner
from .errors import FfmotionError, UsageError
from .options import STRATEGIES, format_fps

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
    enc = parser.add_argument_group("encoding (defaults follow the output extension)")
    enc.add_argument("--codec", help="video encoder, e.g. libx264, libx265, libvpx-vp9, ffv1")
    enc.add_argument("--crf", type=float,
                     help="quality: CRF for x264/x265/VP9/AV1 (lower is better), qscale for mpeg4")
    enc.add_argument("--preset", help="encoder preset (x264/x265), e.g. veryfast, slow")
    enc.add_argument("--pix-fmt", dest="pix_fmt", help="output pixel format (default yuv420p)")
    enc.add_argument("--lossless", action="store_true",
                     help="FFV1 in .mkv in the working pixel format: exact pixels")
    enc.add_argument("--no-audio", dest="audio", action="store_false",
                     help="drop the audio (kept by default, trimmed to the video)")
    perf = parser.add_argument_group("performance")
    perf.add_argument("--strategy", choices=STRATEGIES, default="auto",
                      help="split: decode once, ffmpeg holds K frames; dual: open the input "
                           "twice, flat memory, decodes twice; auto (default): dual when K "
                           "frames exceed --max-buffer")
    perf.add_argument("--max-buffer", dest="max_buffer", metavar="SIZE", default="256M",
                      help="memory the split strategy may use for K decoded frames before auto "
                           "switches to dual (default 256M; e.g. 1G)")
    if threads:
        perf.add_argument("--threads", type=int, metavar="T",
                          help="decoder and filter threads of ffmpeg (default: its own); "
                               "never changes the output bytes")
    run = parser.add_argument_group("running")
    run.add_argument("-y", "--overwrite", action="store_true", help="replace an existing output")
    run.add_argument("--ffmpeg", metavar="PATH",
                     help="ffmpeg binary (default: $FFMOTION_FFMPEG, PATH, then imageio-ffmpeg's)")
    run.add_argument("-q", "--quiet", action="store_true", help="no progress bar or messages")
    run.add_argument("-v", "--verbose", action="count", default=0,
                     help="say which ffmpeg is used; twice: log every command")


def _main_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="ffmotion",
        description="Motion extraction: each output frame is input frame i blended 50%% with "
                    "the inverted frame i+K, in one ffmpeg filter graph. Static areas turn gray; "
                    "what changed between i and i+K shows.",
        epilog="Subcommands: 'ffmotion demo [OUT]' makes a sample clip and its motion "
               "extraction. A file named like a subcommand can be given as ./demo.",
    )
    parser.add_argument("input", help="input video")
    parser.add_argument("output", help="output video (.mp4, .mov, .mkv, .avi, .webm)")
    _common(parser, threads=True)
    parser.add_argument("--print-command", action="store_true",
                        help="print the ffmpeg command (runnable as is) and exit")
    parser.add_argument("--version", action="version", version=f"ffmotion {__version__}")
    return parser


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
    args_in = list(sys.argv[1:] if argv is None else argv)
    signal.signal(signal.SIGTERM, _raise_interrupt)
    try:
        if args_in and args_in[0] in SUBCOMMANDS:
            make_parser, handler = SUBCOMMANDS[args_in[0]]
            args = make_parser().parse_args(args_in[1:])
            _setup_logging(args)
            return handler(args)
        args = _main_parser().parse_args(args_in)
        _setup_logging(args)
        return _single(args)
    except FfmotionError as exc:
        print(f"ffmotion: error: {exc}", file=sys.stderr)
        tail = getattr(exc, "stderr_tail", "")
        if tail:
            log.debug("ffmpeg stderr:\n%s", tail)
        return exc.exit_code
    except KeyboardInterrupt:
        print("ffmotion: interrupted", file=sys.stderr)
        return 130


def _raise_interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def _setup_logging(args: argparse.Namespace) -> None:
    level = logging.WARNING
    if args.verbose == 1:
        level = logging.INFO
    elif args.verbose >= 2:
        level = logging.DEBUG
    logging.basicConfig(level=level, format="ffmotion: %(message)s", stream=sys.stderr)
    log.setLevel(level)


def _options(args: argparse.Namespace, src: Path, dst: Path) -> api.Options:
    return api.make_options(
        src, dst, args.offset, freeze=args.freeze, audio=args.audio, codec=args.codec,
        crf=args.crf, preset=args.preset, pix_fmt=args.pix_fmt, lossless=args.lossless,
        overwrite=args.overwrite, strategy=args.strategy, max_buffer=args.max_buffer,
        threads=getattr(args, "threads", None),
    )


def _say(args: argparse.Namespace, message: str) -> None:
    if not args.quiet:
        print(message, file=sys.stderr)


def _single(args: argparse.Namespace) -> int:
    options = _options(args, Path(args.input), Path(args.output))
    tools = runner.tools(args.ffmpeg)
    plan = api.prepare(options, tools)
    if args.print_command:
        print(api.printable(graph.command(plan, tools.ffmpeg)))
        return 0
    return _execute(args, plan, tools)


def _execute(args: argparse.Namespace, plan: graph.Plan, tools: runner.Tools) -> int:
    _say(args, f"ffmotion: {plan.info.path.name}: {plan.describe()}")
    started = time.monotonic()
    show_bar = not args.quiet and sys.stderr.isatty()
    result = api.run(plan, tools, progress=show_bar)
    seconds = time.monotonic() - started
    _say(args, f"ffmotion: wrote {result.output} ({result.frames} frames at "
               f"{format_fps(plan.info.fps)} fps, {seconds:.1f} s)")
    return 0


def _demo(args: argparse.Namespace) -> int:
    out = Path(args.out)
    if out.suffix and not out.is_dir():
        motion_path = out
        sample_path = out.with_name(f"{out.stem}-input.mp4")
    else:
        out.mkdir(parents=True, exist_ok=True)
        motion_path, sample_path = out / DEMO_OUTPUT, out / DEMO_INPUT
    for path in (sample_path, motion_path):
        runner.check_output_path(path.absolute(), args.overwrite)
    tools = runner.tools(args.ffmpeg)
    _say(args, f"ffmotion demo: generating a sample clip with ffmpeg ({tools.ffmpeg})")
    with runner.atomic_output(sample_path.absolute(), args.overwrite) as tmp:
        runner.run_ffmpeg(graph.demo_command(tools.ffmpeg, tmp, overwrite=True))
    if args.offset is None and args.freeze is None:
        args.offset = DEMO_OFFSET
    try:
        options = _options(args, sample_path, motion_path)
        plan = api.prepare(options, tools)
        _execute(args, plan, tools)
    except BaseException:
        sample_path.unlink(missing_ok=True)  # a demo leaves both files or neither
        raise
    _say(args, f"ffmotion demo: sample clip  {sample_path}")
    _say(args, f"ffmotion demo: motion       {motion_path}")
    _say(args, "ffmotion demo: the same with ffmpeg alone:")
    print(api.printable(graph.command(plan, tools.ffmpeg, overwrite=args.overwrite)))
    return 0


# name -> (parser factory, handler). ``ffmotion IN OUT`` is the form used when the first
# argument is none of these names (a file named like one can be given as ./demo).
SUBCOMMANDS: dict[str, tuple[Callable[[], argparse.ArgumentParser], Callable[[argparse.Namespace], int]]] = {
    "demo": (_demo_parser, _demo),
}


if __name__ == "__main__":
    sys.exit(main())
