"""The ``ffmotion`` program: start the input's probe, then import and run the command line.

Kept apart from :mod:`ffmotion.cli` so that the probe's ffmpeg runs while Python imports
the command line (see :mod:`ffmotion.run.ahead`).
"""
from __future__ import annotations

import sys

SUBCOMMANDS = ("demo", "batch", "looks", "sheet", "energy", "preview", "map", "live", "ffmpeg")
# the subcommands that probe one input file, named first like the main form's
PROBING = ("sheet", "energy", "preview", "map")


def main() -> int:
    """Entry point of the console script and of ``python -m ffmotion``."""
    from ffmotion.run import ahead

    try:
        ahead.start(sys.argv[1:], SUBCOMMANDS, PROBING)
        from ffmotion.cli import main as cli_main  # noqa: E402 - after the probe has started
    except KeyboardInterrupt:  # Ctrl-C during the imports: one line, as anywhere later
        ahead.discard()
        print("ffmotion: interrupted (SIGINT)", file=sys.stderr)
        return 130
    try:
        return cli_main()
    finally:
        ahead.discard()
