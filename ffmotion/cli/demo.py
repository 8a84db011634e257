"""``ffmotion demo [OUT]``: a synthetic clip and its motion extraction."""
from __future__ import annotations

import argparse
from pathlib import Path

from ffmotion import graph
from ffmotion.cli import options, report
from ffmotion.cli.console import out, say
from ffmotion.cli.run import execute
from ffmotion.core.errors import UsageError
from ffmotion.pipeline import controller
from ffmotion.run import outputs, runner

DEMO_INPUT = "ffmotion-demo-input.mp4"
DEMO_OUTPUT = "ffmotion-demo-motion.mp4"
DEMO_OFFSET = "0.2s"


def parser() -> argparse.ArgumentParser:
    made = options.Parser(
        prog="ffmotion demo",
        description="Generate a short synthetic clip (static scene, moving objects, sensor "
                    f"noise, a tone) and its motion extraction (offset {DEMO_OFFSET} by default).",
    )
    made.add_argument("out", nargs="?", default=".",
                      help="folder for both files (default: current folder), or the result "
                           f"file; default names {DEMO_INPUT} and {DEMO_OUTPUT}")
    options.common(made, threads=True)
    return made


def run(args: argparse.Namespace) -> int:
    target = Path(args.out)
    outputs.check_name(target, "demo output")
    if target.suffix and not target.is_dir():
        motion_path = target
        sample_path = target.with_name(f"{target.stem}-input.mp4")
    else:
        if target.exists() and not target.is_dir():
            raise UsageError(f"demo: {outputs.shown(target)} exists and is not a folder (give a "
                             "folder, or a result file name ending in .mp4)")
        try:
            target.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise UsageError(f"demo: cannot create the folder {outputs.shown(target)}: "
                             f"{exc.strerror or exc}") from None
        motion_path, sample_path = target / DEMO_OUTPUT, target / DEMO_INPUT
    outputs.check_target(sample_path, what="demo sample clip", overwrite=args.overwrite)
    outputs.check_target(motion_path, what="demo output", overwrite=args.overwrite,
                         others={"the sample clip": sample_path})
    tools = runner.tools(args.ffmpeg)
    say(args, f"ffmotion demo: generating a sample clip with ffmpeg ({tools.ffmpeg})")
    with runner.atomic_output(sample_path.absolute(), args.overwrite) as tmp:
        runner.run_ffmpeg(graph.demo_command(tools.ffmpeg, tmp, overwrite=True))
    offset = DEMO_OFFSET if args.offset is None and args.freeze is None else args.offset
    try:
        request = options.motion_request(argparse.Namespace(**{**vars(args), "offset": offset}),
                                         sample_path, motion_path)
        plan = controller.prepare(request, tools)
        execute(args, plan, tools)
    except BaseException:
        sample_path.unlink(missing_ok=True)  # a demo leaves both files or neither
        raise
    report.record(outputs=[report.output(sample_path.absolute(), "sample")])
    say(args, f"ffmotion demo: sample clip  {sample_path}")
    say(args, f"ffmotion demo: motion       {motion_path}")
    say(args, "ffmotion demo: the same with ffmpeg alone (it rewrites the same file):")
    # -y: the output exists now, so a printed -n would refuse to run
    out(controller.shell_line(controller.commands(plan, tools.ffmpeg, overwrite=True), plan))
    return 0
