"""``ffmotion IN OUT``: the default form (and ``--chunks``, ``--print-command``)."""
from __future__ import annotations

import argparse
import shlex
import time

from ffmotion import __version__, graph
from ffmotion.cli import options, report
from ffmotion.cli.console import bar, count, out, say
from ffmotion.core.errors import UsageError
from ffmotion.core.units import format_fps
from ffmotion.pipeline import controller
from ffmotion.run import runner


def parser() -> argparse.ArgumentParser:
    made = options.Parser(
        prog="ffmotion",
        description="Motion extraction: each output frame is input frame i blended 50% with "
                    "the inverted frame i+K, in one ffmpeg filter graph. Static areas turn gray; "
                    "what changed between i and i+K shows.",
        epilog="Subcommands (each has --help): demo [OUT] (a sample clip and its motion "
               "extraction), batch IN... -o DIR (many files), looks (the look presets), "
               "sheet IN (a contact sheet of offsets), energy IN (a motion-energy timeline), "
               "preview IN (a web page to choose the offset by scrubbing), live [SOURCE] OUT (a "
               "camera, as it records; --control ADDR lets it be steered), control ADDR "
               "key=value (steer a running live job: gain=4), map IN (where motion happened, one "
               "picture), measure IN "
               "--roi NAME=x,y,w,h (motion numbers per region), magnify IN OUT --alpha A --band "
               "LO-HI (make small motions visible), spectrum IN (the frequencies a region changes "
               "at), completion bash|zsh|fish (the shell completion script), doctor (what the "
               "ffmpeg in use and this machine can serve), ffmpeg ARGS (the "
               "ffmpeg ffmotion uses, run with ARGS: the bundled one where there is no other). "
               "A file named like a subcommand can be given as ./demo.",
    )
    made.add_argument("input", help="input video; an image sequence (a folder of images, or "
                                    "a pattern/glob with --sequence); '-' reads a stream "
                                    "from stdin, scheme://... a URL (udp, srt, rtsp, http...)")
    made.add_argument("output", help="output: a video (.mp4 .mov .mkv .avi .webm .ts .flv .mpg "
                                     ".mxf .ogv .y4m ...), an animation (.gif .webp .apng), "
                                     "an image sequence (out%%04d.png .tif .jpg), '-' "
                                     "(stdout), a URL (udp:// srt:// rtmp:// ...) or an HLS "
                                     "playlist (DIR/index.m3u8)")
    options.common(made, threads=True)
    options.sequence_args(made)
    options.stream_format_args(made)
    options.print_command_arg(made)
    options.chunk_args(made)
    made.add_argument("--version", action="version", version=f"ffmotion {__version__}")
    return made


def run(args: argparse.Namespace) -> int:
    report.refuse_stdout(args, args.output, "the output")
    request = options.motion_request(args, args.input, args.output)
    tools = runner.tools(args.ffmpeg)
    plan = controller.prepare(request, tools)
    if args.chunks is not None or args.scheduler is not None or args.jobs is not None:
        return chunked(args, plan, tools)
    if args.print_command:  # stabilization pass 1 first, if any, on the same line
        if plan.stabilizer is not None:
            from ffmotion.pipeline import stabilize

            plan = stabilize.settle(plan, tools, run=False)  # --stabilize auto analyses first
        printed(args, controller.commands(plan, tools.ffmpeg), plan)
        return 0
    return execute(args, plan, tools)


def printed(args: argparse.Namespace, argvs: list[list[str]], plan: graph.Plan,
            joined: str = " && ") -> None:
    """--print-command: the commands as one shell line (under --json: in the report, as
    argument lists, with what the run would read and write); ``joined``: `` | `` for
    commands that run together, one's output piped into the next."""
    described(args, plan)
    report.record(planned=argvs)
    if joined == " | ":
        report.record(pipeline=True)
    out(controller.shell_line(argvs, plan) if joined == " && " else
        joined.join(shlex.join(argv) for argv in argvs))


def described(args: argparse.Namespace, plan: graph.Plan) -> None:
    """What a motion run reads and makes, for --json's report."""
    if report.active() is None:
        return
    source = plan.input.source
    report.record(input=source.name if source is not None else plan.input.path,
                  offset=report.offset_json(plan.k, plan.mode),
                  look=report.look_json(plan.motion.look, getattr(args, "look", None)),
                  size=dict(zip(("width", "height"), graph.output_size(plan))),
                  fps=report.fps_text(graph.shaping(plan)[1] or plan.info.fps))


def chunked(args: argparse.Namespace, plan: graph.Plan, tools: runner.Tools) -> int:
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
                say(args, "ffmotion: --chunks --stabilize: analysing the clip first (cached) "
                          "to cut the corrections the chunks apply")
            plan = stabilize.settle(plan, tools)
        try:
            planned = chunking.plan_chunks(plan, tools.ffmpeg, wanted or 1, workers)
        except UsageError:
            if wanted != chunking.AUTO:
                raise
            planned = None  # --chunks auto on what cannot be chunked: a single pass
        if planned is None or len(planned.tasks) == 1:
            printed(args, controller.commands(plan, tools.ffmpeg), plan)
        else:
            described(args, plan)
            out(chunking.shell_line(planned, tools.ffmpeg))
        return 0
    say(args, f"ffmotion: {plan.info.path.name}: {graph.describe(plan)}")
    started = time.monotonic()
    result = chunking.run_chunked(plan, tools, wanted or 1, jobs=args.jobs, scheduler=args.scheduler,
                                  connect_timeout=args.connect_timeout, worker_ffmpeg=args.ffmpeg,
                                  say=lambda line: say(args, f"ffmotion: {line}"))
    seconds = time.monotonic() - started
    described(args, plan)
    report.record(outputs=[report.output(result.output, "motion")], frames=result.frames,
                  result={"chunks": result.chunks, "reused": result.reused})
    again = f", {result.reused} reused" if result.reused else ""
    say(args, f"ffmotion: wrote {result.output} ({count(result.frames, 'frame')} at "
              f"{format_fps(plan.info.fps)} fps, {count(result.chunks, 'chunk')}{again}, "
              f"in {seconds:.1f} s)")
    return 0


def execute(args: argparse.Namespace, plan: graph.Plan, tools: runner.Tools) -> int:
    """Run the plan (its analysis first) and say what was written (``demo`` and ``live``
    too)."""
    show_bar = bar(args)
    streamed = plan.input.source is not None or plan.output.sink is not None
    if not streamed:  # said after --stabilize auto has decided (it may decide on none)
        plan = controller.settle(plan, tools, progress=show_bar)
    say(args, f"ffmotion: {plan.info.path.name}: {graph.describe(plan)}")
    started = time.monotonic()
    result = controller.run(plan, tools, progress=show_bar, settled=not streamed)
    seconds = time.monotonic() - started
    fps = graph.shaping(plan)[1] or plan.info.fps
    sink = plan.output.sink
    streams_out = sink is not None and sink.streams_out
    where = (f"sent to {sink.shown}" if sink is not None and streams_out
             else f"wrote {result.output}")
    described(args, plan)
    report.record(outputs=[report.output(sink.shown if sink is not None and streams_out
                                         else result.output, "motion", streamed=streams_out)],
                  frames=result.frames,
                  result={"stopped": result.stopped, "strategy": plan.strategy,
                          "description": graph.describe(plan)})
    stopped = f"stopped by {result.stopped}: " if result.stopped else ""
    say(args, f"ffmotion: {stopped}{where} ({count(result.frames, 'frame')} at "
              f"{format_fps(fps)} fps in {seconds:.1f} s)")
    return 0
