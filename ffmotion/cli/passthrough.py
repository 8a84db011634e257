"""``ffmotion ffmpeg ARGS...``: the ffmpeg ffmotion uses, run with ARGS as given.

Its arguments are ffmpeg's, so argparse stays out: :mod:`ffmotion.cli.main` hands them here
before any parsing (the parser below only names the subcommand, for help and spelling)."""
from __future__ import annotations

import argparse
import logging
import os
import shlex
import subprocess
import sys

from ffmotion.cli import options
from ffmotion.cli.console import flush_stdout

log = logging.getLogger("ffmotion")


def parser() -> argparse.ArgumentParser:
    return options.Parser(prog="ffmotion ffmpeg")


def run(args: argparse.Namespace) -> int:  # never reached: main() calls passthrough()
    return 2


def passthrough(args_in: list[str]) -> int:
    """The ffmpeg ffmotion uses (``$FFMOTION_FFMPEG``, PATH, then the bundled one), run with
    ``args_in`` as given; its exit status is ours. On a machine whose only ffmpeg is the
    bundled one, this is how the manual's plain ffmpeg commands run."""
    from ffmotion.run import ahead
    from ffmotion.run.binaries import locate_ffmpeg

    binary = locate_ffmpeg(None).path
    argv = [binary, *args_in]
    log.debug("run: %s", shlex.join(argv))
    ahead.discard()
    if os.name == "posix":  # become ffmpeg: signals, stdin and the exit status are its own
        flush_stdout()
        sys.stderr.flush()
        os.execv(binary, argv)
    return subprocess.call(argv)
