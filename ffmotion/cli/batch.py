"""``ffmotion batch IN... -o DIR``: many inputs, one typed :class:`~ffmotion.jobs.batch.BatchRequest`."""
from __future__ import annotations

import argparse
import functools
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ffmotion.cli import options, report
from ffmotion.cli.console import bar
from ffmotion.core.request import MotionRequest

if TYPE_CHECKING:
    from ffmotion.core.magnify import MagnifySpec


def parser() -> argparse.ArgumentParser:
    from ffmotion.jobs.batch import DEFAULT_CONNECT_TIMEOUT, DEFAULT_NAME

    made = options.Parser(
        prog="ffmotion batch",
        description="Run the motion extraction over many inputs into one folder: in parallel "
                    "(--jobs), resumably (existing outputs are skipped), on a Dask cluster "
                    "(--scheduler), or as ffmpeg commands for another scheduler "
                    "(--emit-commands). Exit code 1 if any input failed.",
    )
    made.add_argument("inputs", nargs="*", metavar="INPUT",
                      help="video files, folders (searched recursively for video files by "
                           "extension) and glob patterns ('footage/**/*.MOV')")
    made.add_argument("--sequences", action="store_true",
                      help="also take every folder of images found (an argument, or below "
                           "one) as one input: an image sequence / timelapse, read at "
                           "--framerate (default 25)")
    group = made.add_argument_group("batch")
    group.add_argument("-o", "--output-dir", metavar="OUTDIR", required=True,
                       help="folder for the outputs (created if missing)")
    group.add_argument("--input-list", metavar="FILE",
                       help="read more inputs from FILE, one path per line ('-': stdin)")
    group.add_argument("--name", default=DEFAULT_NAME, metavar="TEMPLATE",
                       help="output file name; fields {stem} {ext} {offset} {mode}, {dir} (the "
                            "input's folder name) and {relpath} (its path below the argument "
                            "that found it, without extension: keeps a camera card's folders, "
                            "created under OUTDIR) "
                            f"(default {DEFAULT_NAME})")
    group.add_argument("-j", "--jobs", type=options.whole_arg, default=1, metavar="N",
                       help="ffmpeg processes at once (default 1: one ffmpeg already uses "
                            "every core for decoding, filtering and x264)")
    group.add_argument("--threads", type=options.whole_arg, metavar="T",
                       help="decoder and filter threads per ffmpeg (default: cores / jobs when "
                            "--jobs > 1, else ffmpeg's own); never changes the output bytes")
    group.add_argument("--report", metavar="FILE",
                       help="write a JSON report: one record per input (status, output, frames, "
                            "seconds, ffmpeg argv, error); '-': stdout")
    group.add_argument("--emit-commands", metavar="FILE",
                       help="write the ffmpeg commands instead of running them: FILE.sh (POSIX "
                            "shell, one command a line; '-' for stdout) or FILE.jsonl")
    group.add_argument("--scheduler", metavar="ADDRESS",
                       help="run the jobs on a Dask distributed cluster (tcp://HOST:8786); "
                            "needs ffmotion[dask], and paths the workers see too")
    group.add_argument("--connect-timeout", type=options.timeout_arg,
                       default=DEFAULT_CONNECT_TIMEOUT, metavar="S",
                       help="seconds to wait for the Dask scheduler (default %(default)s)")
    options.common(made)
    options.sequence_args(made, batch=True)
    mag = made.add_argument_group(
        "magnify (instead of motion extraction: ffmotion magnify on every input; outputs "
        "named {stem}_magnified{ext} unless --name is given)")
    mag.add_argument("--magnify-alpha", dest="magnify_alpha", metavar="A",
                     help="magnify with this alpha (needs --magnify-band)")
    mag.add_argument("--magnify-band", dest="magnify_band", metavar="LO-HI",
                     help="the temporal band in Hz (needs --magnify-alpha)")
    mag.add_argument("--magnify-mode", dest="magnify_mode", choices=("motion", "color"),
                     default="motion", help="motion (default) or color")
    mag.add_argument("--magnify-levels", dest="magnify_levels", metavar="N",
                     help="spatial levels (default: from the size)")
    mag.add_argument("--lambda-cutoff", dest="lambda_cutoff", metavar="PX",
                     help="attenuate alpha on levels finer than this wavelength (px)")
    mag.add_argument("--chroma-attenuation", dest="chroma_attenuation", metavar="X",
                     help="share of alpha the chroma gets")
    mag.add_argument("--skip-finest", dest="skip_finest", action="store_true",
                     help="leave the finest level unmagnified (about 4x faster; as "
                          "ffmotion magnify --skip-finest)")
    return made


def _magnify(args: argparse.Namespace) -> "MagnifySpec | None":
    """The magnify batch's spec, or None for a motion batch."""
    from ffmotion.core.errors import UsageError
    from ffmotion.core.magnify import MagnifySpec

    if args.magnify_alpha is None and args.magnify_band is None:
        for flag, value in (("--lambda-cutoff", args.lambda_cutoff),
                            ("--chroma-attenuation", args.chroma_attenuation),
                            ("--magnify-levels", args.magnify_levels),
                            ("--skip-finest", args.skip_finest or None)):
            if value is not None:
                raise UsageError(f"{flag} needs --magnify-alpha and --magnify-band")
        return None
    if args.magnify_alpha is None or args.magnify_band is None:
        raise UsageError("--magnify-alpha and --magnify-band go together")
    if args.offset is not None or args.freeze is not None:
        raise UsageError("a magnify batch has no offset: drop --offset/--freeze")
    return MagnifySpec.parse(args.magnify_alpha, args.magnify_band, mode=args.magnify_mode,
                             levels=args.magnify_levels, lambda_cutoff=args.lambda_cutoff,
                             chroma_attenuation=args.chroma_attenuation,
                             skip_finest=args.skip_finest)


def _magnify_request(args: argparse.Namespace, src: Path, dst: Path) -> MotionRequest:
    from ffmotion.cli.magnify import request_options
    from ffmotion.pipeline import magnify as magnifying

    return magnifying.request(src, dst, overwrite=True, **request_options(args))


def _request(args: argparse.Namespace, src: Path, dst: Path) -> MotionRequest:
    """One input's request: the single-file options; existing outputs are the batch's
    business (skipped, or replaced with --overwrite), so they are not refused here."""
    return options.motion_request(args, src, dst, overwrite=True)


def run(args: argparse.Namespace) -> int:
    from ffmotion.jobs import batch

    report.refuse_stdout(args, args.report, "--report")
    report.refuse_stdout(args, args.emit_commands, "--emit-commands")
    spec = _magnify(args)
    factory = _magnify_request if spec is not None else _request
    request = batch.BatchRequest(
        inputs=tuple(args.inputs), output_dir=args.output_dir,
        make_request=functools.partial(factory, args), name=args.name,
        input_list=args.input_list, sequences=args.sequences, offset=args.offset,
        freeze=args.freeze, lossless=bool(args.lossless), jobs=args.jobs, threads=args.threads,
        scheduler=args.scheduler, connect_timeout=args.connect_timeout, report=args.report,
        emit_commands=args.emit_commands, overwrite=bool(args.overwrite), ffmpeg=args.ffmpeg,
        quiet=args.quiet, live=bar(args),
        on_report=recorded if report.active() is not None else None, magnify=spec)
    return batch.run(request)


def recorded(content: dict[str, Any]) -> None:
    """--json: the batch's report (its records) as the result; the outputs written."""
    jobs = content["jobs"]
    report.record(outputs=[report.output(job["output"], "motion") for job in jobs
                           if job["status"] == "done"],
                  frames=sum(job["frames"] or 0 for job in jobs if job["status"] == "done"),
                  result=content)
