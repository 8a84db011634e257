"""``ffmotion sheet IN``: a contact sheet of offsets."""
from __future__ import annotations

import argparse
import logging
from pathlib import Path

from ffmotion.cli import options, report
from ffmotion.cli.console import bar, out, say

log = logging.getLogger("ffmotion")


def parser() -> argparse.ArgumentParser:
    made = options.Parser(
        prog="ffmotion sheet",
        description="A PNG contact sheet for choosing the offset by looking: the first row "
                    "is the original, each further row the motion extraction at one offset, "
                    "at a few frames spread over the clip (one ffmpeg pass).",
    )
    made.add_argument("input", help="input video")
    made.add_argument("--offsets", metavar="K,K,...",
                      help="offsets to compare, frames or times: 1,4,12,30,2s "
                           "(default 1,4,12,30, those the clip is long enough for)")
    made.add_argument("-o", "--output", metavar="PNG",
                      help="the sheet (default: INPUT-NAME.sheet.png in the current folder)")
    made.add_argument("--columns", type=options.whole_arg, default=5,
                      help="frames per row (default 5)")
    made.add_argument("--cell-width", type=options.whole_arg, default=320, metavar="PX",
                      help="width of one picture; larger frames are scaled down (default 320)")
    made.add_argument("--no-labels", dest="labels", action="store_false",
                      help="no text on the sheet (the legend goes to stderr)")
    options.sequence_args(made)
    options.range_args(made)
    options.stabilize_args(made)
    options.picture_args(made)
    options.running_args(made)
    return made


def run(args: argparse.Namespace) -> int:
    from ffmotion.pipeline import controller, explore

    src = Path(args.input)
    sequence = options.sequence_of(args, src)
    dst = (Path(args.output) if args.output
           else Path(f"{options.input_stem(src, sequence)}.sheet.png"))
    result = explore.sheet(
        src, dst, args.offsets, columns=args.columns, cell_width=args.cell_width,
        labels=args.labels, start=args.start, end=args.end, duration=args.duration,
        stabilize_options=options.stabilize_from(args), overwrite=args.overwrite,
        ffmpeg=args.ffmpeg, dry_run=args.print_command,
        progress=bar(args), deinterlace=args.deinterlace,
        sequence=sequence)
    report.record(input=src.absolute(), planned=result.commands if args.print_command else None)
    if args.print_command:
        out(controller.shell_line(result.commands, result.plan))
        return 0
    layout = result.layout
    report.record(outputs=[report.output(result.output, "sheet")],
                  size={"width": layout.width, "height": layout.height},
                  result={"rows": len(layout.rows), "columns": len(layout.columns),
                          "labelled": result.labelled, "legend": result.legend})
    if result.labelled or not args.labels:
        log.info("%s", result.legend)
    if not args.labels:
        say(args, f"ffmotion sheet: {result.legend}")
    say(args, f"ffmotion sheet: wrote {result.output} ({layout.width}x{layout.height}, "
              f"{len(layout.rows)} rows x {len(layout.columns)} columns)")
    return 0
