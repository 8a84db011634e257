"""``ffmotion map IN``: where motion happened, one picture (or a motiogram)."""
from __future__ import annotations

import argparse
import shlex
from pathlib import Path

from ffmotion.cli import options, report
from ffmotion.cli.console import out, say
from ffmotion.core.errors import UsageError


def parser() -> argparse.ArgumentParser:
    from ffmotion.core import maps

    made = options.Parser(
        prog="ffmotion map",
        description="One picture of where motion happened over the clip or range: the motion "
                    "energy |frame i - frame i+K| of every pixel (luma) accumulated over the "
                    "range (its mean, or its peak), coloured by intensity or by when it last "
                    "moved; or a motiogram (the mean of each row or column of the motion, over "
                    "time). One ffmpeg pass.")
    made.add_argument("input", help="input video")
    made.add_argument("-k", "--offset", default="12", metavar="K",
                      help="offset, frames (12) or time (0.5s) (default 12)")
    made.add_argument("-o", "--output", metavar="PNG",
                      help="the picture (default: INPUT.map.png beside the current folder)")
    made.add_argument("--color", choices=maps.COLORS, default="intensity",
                      help="intensity: gray, brighter where more moved (default); time: "
                           "brightness by how much, hue by when it last moved")
    made.add_argument("--motiogram", choices=maps.MOTIOGRAMS,
                      help="draw a motiogram instead: rows (time to the right) or columns "
                           "(time downwards)")
    made.add_argument("--accumulate", choices=maps.ACCUMULATE, default="mean",
                      help="mean (default): the mean |motion| of each pixel over the motion "
                           "frames, times --gain; peak: its largest value")
    made.add_argument("--gain", metavar="X",
                      help=f"amplify the motion X times (default {maps.MEAN_GAIN} for a mean "
                           "map, after averaging; 1 otherwise)")
    made.add_argument("--threshold", metavar="T", type=options.whole_arg,
                      default=maps.DEFAULT_THRESHOLD,
                      help="--color time: a pixel moved when it changed by more than T "
                           f"levels (default {maps.DEFAULT_THRESHOLD})")
    options.sequence_args(made)
    options.range_args(made)
    options.stabilize_args(made)
    options.running_args(made)
    return made


def run(args: argparse.Namespace) -> int:
    from ffmotion.core import looks, maps
    from ffmotion.pipeline import explore

    if not 0 <= args.threshold <= 254:
        raise UsageError(f"--threshold must be from 0 to 254, not {args.threshold}")
    spec = maps.MapSpec(color=args.color, motiogram=args.motiogram,
                        gain=looks.parse_gain(args.gain) if args.gain is not None else None,
                        threshold=args.threshold, accumulate=args.accumulate)
    src = Path(args.input)
    sequence = options.sequence_of(args, src)
    suffix = f".motiogram-{args.motiogram}.png" if args.motiogram else ".map.png"
    dst = (Path(args.output) if args.output
           else Path(f"{options.input_stem(src, sequence)}{suffix}"))
    result = explore.motion_map(src, dst, args.offset, spec=spec, start=args.start,
                                end=args.end, duration=args.duration,
                                stabilize_options=options.stabilize_from(args),
                                overwrite=args.overwrite, ffmpeg=args.ffmpeg,
                                dry_run=args.print_command, sequence=sequence)
    report.record(input=src.absolute(), planned=result.commands if args.print_command else None)
    if args.print_command:
        for argv in result.commands:
            out(shlex.join(argv))
        return 0
    report.record(outputs=[report.output(result.output, "map")],
                  result={"legend": result.legend, "color": args.color,
                          "motiogram": args.motiogram, "accumulate": args.accumulate})
    say(args, f"ffmotion map: wrote {result.output} ({result.legend})")
    return 0
