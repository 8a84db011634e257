"""``ffmotion spectrum IN``: the frequencies a region of the picture changes at, and the
``--band`` they suggest for ``ffmotion magnify``."""
from __future__ import annotations

import argparse
from pathlib import Path

from ffmotion.cli import options, report
from ffmotion.cli.console import bar, out, say
from ffmotion.run import outputs


def parser() -> argparse.ArgumentParser:
    made = options.Parser(
        prog="ffmotion spectrum",
        description="Per-frame mean luma of a region (computed by ffmpeg), its FFT, the "
                    "strongest peaks in Hz and a suggested --band for ffmotion magnify. The "
                    "peaks go to stderr; the spectrum as CSV with --csv ('-': stdout).",
    )
    made.add_argument("input", help="input video")
    made.add_argument("--roi", metavar="x,y,w,h",
                      help="the region to average, in pixels (default: the whole picture); "
                           "choose one on the moving thing (a wrist, a pipe's edge)")
    made.add_argument("--csv", metavar="FILE", help="write the spectrum as CSV ('-': stdout)")
    made.add_argument("--plot", metavar="PNG",
                      help="draw the series and its spectrum as a PNG (needs the 'plot' extra)")
    options.range_args(made)
    options.stabilize_args(made)
    options.picture_args(made)
    options.running_args(made)
    return made


def run(args: argparse.Namespace) -> int:
    from ffmotion.pipeline import controller
    from ffmotion.pipeline import spectrum as measuring
    from ffmotion.run import runner

    options.plot_png(args)
    report.refuse_stdout(args, args.csv, "--csv")
    roi = measuring.parse_roi(args.roi)
    options.table_targets(args)
    tools = runner.tools(args.ffmpeg)
    ranged = {"start": args.start, "end": args.end, "duration": args.duration,
              "deinterlace": args.deinterlace,
              "stabilize": options.stabilize_from(args) or False}
    plan = measuring.plan_for(args.input, tools, **ranged)
    if args.print_command:
        measuring.check_roi(plan, roi)
        out(controller.shell_line([measuring.command(plan, roi, tools.ffmpeg,
                                                     Path("means.txt"))], plan))
        return 0
    result = measuring.spectrum(args.input, roi, tools=tools, plan=plan,
                                progress=bar(args))
    if args.csv and not outputs.is_stream(args.csv):
        measuring.write_csv(result, Path(args.csv).absolute(), args.overwrite)
        say(args, f"ffmotion spectrum: wrote {outputs.shown(Path(args.csv).absolute())}")
    if args.plot:
        measuring.write_plot(result, Path(args.plot).absolute(), args.overwrite)
        say(args, f"ffmotion spectrum: wrote {outputs.shown(Path(args.plot).absolute())}")
    if args.csv == "-":
        outputs.write_text("-", result.csv(), what="the CSV", overwrite=True)
    for line in result.summary():
        say(args, f"ffmotion spectrum: {line}")
    band = result.band()
    report.record(input=Path(args.input).absolute(),
                  outputs=[report.output(Path(path).absolute(), role)
                           for path, role in ((args.csv, "csv"), (args.plot, "plot")) if path],
                  frames=len(result.means), fps=f"{result.fps:g}",
                  result={"resolution_hz": result.resolution,
                          "peaks": [{"hz": p.hz, "amplitude": p.amplitude}
                                    for p in result.peaks],
                          "suggested_band_hz": list(band) if band is not None else None})
    return 0
