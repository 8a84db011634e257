"""``ffmotion control 127.0.0.1:PORT key=value ...``: steer a running ``live --control`` job."""
from __future__ import annotations

import argparse
import json

from ffmotion.cli import options
from ffmotion.cli.console import out
from ffmotion.core.errors import UsageError


def parser() -> argparse.ArgumentParser:
    made = options.Parser(
        prog="ffmotion control",
        description="Change a running 'ffmotion live ... --control ADDR' job: look settings "
                    "change on the next frame with no restart (gain, blur, threshold, trail, "
                    "overlay, glow); the offset, the mode or a look preset change the graph "
                    "and are refused with what to restart. Without settings: the job's look now.",
        epilog="Example: ffmotion control 127.0.0.1:5555 gain=4 blur=2")
    made.add_argument("address", metavar="127.0.0.1:PORT", help="the job's --control address")
    made.add_argument("settings", nargs="*", metavar="key=value",
                      help="gain=4 blur=2 trail=0.8 overlay=0.5 glow=0.6 threshold=12 ...")
    made.add_argument("--token", help="the job's token (default: read from the file the job "
                                      "wrote in your runtime folder)")
    made.add_argument("--json", action="store_true", help="print the job's answer as JSON")
    options.verbose_arg(made)
    return made


def run(args: argparse.Namespace) -> int:
    from ffmotion.pipeline import control

    pairs = []
    for text in args.settings:
        key, sep, value = text.partition("=")
        if not sep or not key:
            raise UsageError(f"settings are key=value (gain=4), not {text!r}")
        pairs.append((key, value))
    answer = control.send(args.address, pairs, token=args.token)
    if args.json:
        out(json.dumps(answer))
    else:
        out(f"{answer.get('applied', 'now')}: {answer['look']}, offset {answer['offset']}")
    return 0
