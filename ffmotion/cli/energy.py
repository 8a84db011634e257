"""``ffmotion energy IN``: a motion-energy timeline (CSV, PNG)."""
from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING

from ffmotion.cli import options, report
from ffmotion.cli.console import bar, out, say
from ffmotion.run import outputs

if TYPE_CHECKING:
    from ffmotion.pipeline.explore import EnergyTable


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

    options.plot_png(args)
    report.refuse_stdout(args, args.csv, "--csv")
    options.table_targets(args)
    tools = runner.tools(args.ffmpeg)
    stab = options.stabilize_from(args)
    ranged = {"start": args.start, "end": args.end, "duration": args.duration,
              "deinterlace": args.deinterlace,
              "sequence": options.sequence_of(args, Path(args.input))}
    if args.print_command:
        plans = explore.energy_plans(args.input, args.offset, tools=tools,
                                     stabilize_options=stab, **ranged)
        files = [Path(f"energy-k{p.k}.txt") for p in plans]
        report.record(input=Path(args.input).absolute(),
                      planned=explore.energy_commands(plans, tools.ffmpeg, files))
        out(controller.shell_line(explore.energy_commands(plans, tools.ffmpeg, files), plans[0]))
        return 0
    table = explore.energy(args.input, args.offset, tools=tools, stabilize_options=stab,
                           progress=bar(args), **ranged)
    if args.csv and not outputs.is_stream(args.csv):
        explore.write_csv(table, Path(args.csv).absolute(), args.overwrite)
        say(args, f"ffmotion energy: wrote {outputs.shown(Path(args.csv).absolute())}")
    if args.plot:
        explore.write_plot(table, Path(args.plot).absolute(), args.overwrite)
        say(args, f"ffmotion energy: wrote {outputs.shown(Path(args.plot).absolute())}")
    record(args, table)
    if (args.csv == "-" or not (args.csv or args.plot)) and report.active() is None:
        outputs.write_text("-", table.csv(), what="the CSV", overwrite=True)
    for line in table.summary():
        say(args, f"ffmotion energy: {line}")
    return 0


def record(args: argparse.Namespace, table: "EnergyTable") -> None:
    """--json: the table itself (each offset's values, frame by frame) and its summary."""
    if report.active() is None:
        return
    written = [report.output(Path(path).absolute(), role)
               for path, role in ((args.csv, "csv"), (args.plot, "plot")) if path]
    offsets = []
    for label, k, values in zip(table.labels, table.ks, table.values):
        peak = max(range(len(values)), key=values.__getitem__)
        offsets.append({"label": label, "k": k, "mean": round(sum(values) / len(values), 4),
                        "peak": round(values[peak], 4), "peak_frame": table.first + peak,
                        "values": [round(v, 4) for v in values]})
    report.record(input=Path(args.input).absolute(), outputs=written, frames=table.frames,
                  fps=report.fps_text(table.fps),
                  result={"first_frame": table.first,
                          "times_s": [round(float(table.time(i)), 6)
                                      for i in range(table.frames)],
                          "offsets": offsets})
