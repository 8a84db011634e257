"""``ffmotion live [SOURCE] OUT``: a camera's motion, as it records."""
from __future__ import annotations

import argparse
import time

from ffmotion import graph
from ffmotion.cli import options, report
from ffmotion.cli.console import bar, count, say
from ffmotion.cli.run import described, execute, printed
from ffmotion.core.errors import UsageError, field
from ffmotion.pipeline import controller
from ffmotion.run import runner


def parser() -> argparse.ArgumentParser:
    made = options.Parser(
        prog="ffmotion live",
        description="Motion extraction from a live camera, as it records. SOURCE: none (the "
                    "default camera: v4l2 /dev/video0 on Linux, avfoundation 0 on macOS; "
                    "Windows: dshow:video=NAME), /dev/videoN, v4l2:/dev/videoN, "
                    "avfoundation:N, dshow:video=NAME, lavfi:GRAPH (a synthetic camera, e.g. "
                    "lavfi:testsrc2=size=640x360:rate=30), a URL (rtsp://, udp://, srt://) or "
                    "- (stdin). OUT: a file (committed when stopped), - (stdout, e.g. "
                    "| ffplay -), a URL, DIR/index.m3u8 (HLS) or v4l2:/dev/videoN (a "
                    "v4l2loopback virtual camera). Stop with Ctrl-C or "
                    "--duration. An output frame needs input frame i+K: the picture is K "
                    "frames behind the camera, plus the processing latency.",
        epilog="Example: ffmotion live lavfi:testsrc2=size=640x360:rate=30 out.mkv --duration 3")
    made.add_argument("places", nargs="+", metavar="[SOURCE] OUT",
                      help="the camera (optional) and the output")
    cam = made.add_argument_group("capture device (v4l2, avfoundation, dshow)")
    cam.add_argument("--video-size", metavar="WxH", help="capture size, e.g. 1280x720")
    cam.add_argument("--framerate", metavar="R", help="capture rate, e.g. 30")
    cam.add_argument("--input-format", metavar="F",
                     help="capture format (v4l2 -input_format, e.g. mjpeg; others -pixel_format)")
    steer = made.add_argument_group("steering while it runs")
    steer.add_argument("--control", metavar="127.0.0.1:PORT",
                       help="listen for changes on this loopback address (a token in your "
                            "runtime folder guards it): ffmotion control 127.0.0.1:PORT gain=4 "
                            "changes the look with no restart (docs/live.md lists what can)")
    options.common(made, threads=True)
    options.stream_format_args(made)
    options.print_command_arg(made)
    return made


def run(args: argparse.Namespace) -> int:
    from ffmotion.core.sinks import V4L2_PREFIX
    from ffmotion.media.live import check_v4l2_output, live_source

    if len(args.places) > 2:
        raise UsageError("ffmotion live takes [SOURCE] OUT (see ffmotion live --help)")
    text = args.places[0] if len(args.places) == 2 else None
    report.refuse_stdout(args, args.places[-1], "the output")
    if args.places[-1].startswith(V4L2_PREFIX) and not args.print_command:
        check_v4l2_output(args.places[-1])
    source = live_source(text, video_size=args.video_size, framerate=args.framerate,
                         input_format=args.input_format)
    request = options.motion_request(args, text or source.name, args.places[-1], source=source)
    tools = runner.tools(args.ffmpeg)
    plan = controller.prepare(request, tools)
    if args.control is not None:
        return _steered(args, plan, tools)
    if args.print_command:
        printed(args, controller.commands(plan, tools.ffmpeg), plan)
        return 0
    return execute(args, plan, tools)


def _steered(args: argparse.Namespace, plan: graph.Plan, tools: runner.Tools) -> int:
    from ffmotion.pipeline import control

    if plan.strategy != "split":
        raise UsageError(f"{field('control')} steers a graph that reads its input once")
    with control.steered(plan, args.control, tools) as (steering, server):
        if args.print_command:
            argvs, joined = control.commands(steering.plan, tools.ffmpeg)
            printed(args, argvs, steering.plan, joined)
            return 0
        say(args, f"ffmotion: {plan.info.path.name}: {graph.describe(plan)}")
        say(args, f"ffmotion: steer with: ffmotion control {server.hosts()[0]} gain=4 ...")
        started = time.monotonic()
        done = control.run(steering, tools, progress=bar(args))
    sink = plan.output.sink
    where = (f"sent to {sink.shown}" if sink is not None and sink.streams_out
             else f"wrote {done.output}")
    stopped = f"stopped by {done.stopped}: " if done.stopped else ""
    restarts = f", {count(steering.restarts, 'restart')}" if steering.restarts else ""
    say(args, f"ffmotion: {stopped}{where} ({count(done.frames, 'frame')}{restarts} in "
              f"{time.monotonic() - started:.1f} s)")
    described(args, plan)
    streamed = sink is not None and sink.streams_out
    report.record(outputs=[report.output(sink.shown if streamed and sink is not None
                                         else done.output, "motion", streamed=streamed)],
                  frames=done.frames, result={"restarts": steering.restarts,
                                              "stopped": done.stopped})
    return 0
