"""``ffmotion energy IN``: a motion-energy timeline (CSV, PNG)."""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ffmotion.cli import options
from ffmotion.cli.console import out, say
from ffmotion.core.errors import UsageError
from ffmotion.run import outputs


def parser() -> argparse.ArgumentParser:
    made = options.Parser(
        prog="ffmotion energy",
        description="Per-frame motion energy: the mean deviation from neutral gray of each "
                    "motion-extracted frame (luma, 8-bit levels; 0 = nothing moved), computed "
                    "by ffmpeg. CSV on stdout unless --csv/--plot is given.",
    )
    made.add_argument("input", help="input video")
    made.add_argument("-k", "--offset", default="1", metavar="K[,K...]",
                      help="offset(s), frames or times, comma-separated: 12 or 1,12,1s "
                           "(default 1)")
    made.add_argument("--csv", metavar="FILE", help="write the CSV here ('-': stdout)")
    made.add_argument("--plot", metavar="PNG",
                      help="also draw the timeline as a PNG (needs the 'plot' extra: "
                           "pip install 'ffmotion[plot]')")
    options.sequence_args(made)
    options.range_args(made)
    options.stabilize_args(made)
    options.picture_args(made)
    options.running_args(made)
    return made


def run(args: argparse.Namespace) -> int:
    from ffmotion.pipeline import controller, explore
    from ffmotion.run import runner

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
    stab = options.stabilize_from(args)
    ranged = {"start": args.start, "end": args.end, "duration": args.duration,
              "deinterlace": args.deinterlace,
              "sequence": options.sequence_of(args, Path(args.input))}
    if args.print_command:
        plans = explore.energy_plans(args.input, args.offset, tools=tools,
                                     stabilize_options=stab, **ranged)
        files = [Path(f"energy-k{p.k}.txt") for p in plans]
        out(controller.shell_line(explore.energy_commands(plans, tools.ffmpeg, files), plans[0]))
        return 0
    table = explore.energy(args.input, args.offset, tools=tools, stabilize_options=stab,
                           progress=not args.quiet and sys.stderr.isatty(), **ranged)
    if args.csv and not outputs.is_stream(args.csv):
        explore.write_csv(table, Path(args.csv).absolute(), args.overwrite)
        say(args, f"ffmotion energy: wrote {outputs.shown(Path(args.csv).absolute())}")
    if args.plot:
        explore.write_plot(table, Path(args.plot).absolute(), args.overwrite)
        say(args, f"ffmotion energy: wrote {outputs.shown(Path(args.plot).absolute())}")
    if args.csv == "-" or not (args.csv or args.plot):
        outputs.write_text("-", table.csv(), what="the CSV", overwrite=True)
    for line in table.summary():
        say(args, f"ffmotion energy: {line}")
    return 0
