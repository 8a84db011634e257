"""``ffmotion preview IN``: the web page that chooses the offset and the look by scrubbing."""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ffmotion.cli import options
from ffmotion.core.errors import FfmotionError, UsageError


def parser() -> argparse.ArgumentParser:
    made = options.Parser(
        prog="ffmotion preview",
        description="A local web page to choose the offset and the look by scrubbing: exact "
                    "frames (the graph the CLI runs, at preview size), the motion-energy "
                    "timeline, both commands, and Render (the CLI's job, byte for byte). "
                    "Prints the page's URL (with its access token) on stdout.",
    )
    made.add_argument("input", help="input video, or a live source as ffmotion live takes "
                                    "it (lavfi:testsrc2=size=640x360:rate=30, /dev/video0, a "
                                    "URL, -): then the page shows its motion as it happens "
                                    "and steers it (docs/live.md)")
    made.add_argument("-k", "--offset", default="2", metavar="K",
                      help="a live source's first offset (default 2; the page changes it)")
    made.add_argument("--port", type=options.whole_arg, default=0,
                      help="port to listen on (default: any free port)")
    made.add_argument("--host", default="127.0.0.1",
                      help="address to listen on (default 127.0.0.1: this machine only). "
                           "The page answers to 127.0.0.1, localhost and [::1] only, plus, "
                           "listening elsewhere, to this host as given and to addresses "
                           "typed as digits; never to another name (DNS rebinding)")
    made.add_argument("--no-browser", dest="browser", action="store_false",
                      help="print the URL only, do not open a browser")
    made.add_argument("-o", "--output-dir", metavar="DIR",
                      help="folder for rendered files (default: beside the input)")
    made.add_argument("--width", type=options.whole_arg, default=1280, metavar="PX",
                      help="preview width in pixels (default 1280; smaller inputs keep theirs)")
    made.add_argument("--start", metavar="T",
                      help="preview from here (seconds, 1:30, 500ms or 30f); without "
                           "--start/--end a long input is previewed from its start as far "
                           "as 4 GiB of preview frames go")
    made.add_argument("--end", metavar="T", help="preview up to here (as --start)")
    options.ffmpeg_arg(made)
    options.verbose_arg(made)
    options.sequence_args(made)
    return made


def run(args: argparse.Namespace) -> int:
    from ffmotion.preview.server import serve
    from ffmotion.preview.session import Session
    from ffmotion.run import runner

    if not 16 <= args.width <= 7680:
        raise UsageError(f"--width must be from 16 to 7680 pixels, not {args.width}")
    if args.port > 65535:
        raise UsageError(f"--port must be from 0 to 65535, not {args.port}")
    if args.host not in ("127.0.0.1", "localhost", "::1"):
        print(f"ffmotion preview: warning: listening on {args.host}: anyone who can reach it "
              "and has the URL's token can read the input and write renders", file=sys.stderr)
    tools = runner.tools(args.ffmpeg)
    from ffmotion.preview.live import is_live, serve_live

    if is_live(args.input):
        serve_live(args.input, tools, args.host, args.port, args.browser, args.offset)
        return 0
    session = Session(Path(args.input), tools,
                      Path(args.output_dir) if args.output_dir else None, args.width,
                      start=args.start, end=args.end,
                      sequence=options.sequence_of(args, Path(args.input)))
    try:
        session.start_plain_proxy(session.settings({}))
    except FfmotionError:
        session.close()
        raise
    try:
        serve(session, args.host, args.port, open_browser=args.browser)
    except OSError as exc:
        raise UsageError(f"cannot listen on {args.host}:{args.port}: {exc.strerror or exc}") from None
    return 0
