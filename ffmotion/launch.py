"""The ``ffmotion`` program: start the input's probe, then import and run the command line.

Kept outside :mod:`ffmotion.cli` so that the probe's ffmpeg runs while Python imports the
command line (see :mod:`ffmotion.run.ahead`): importing anything in ``ffmotion.cli`` imports
the default form's path (the pipeline, ffmpeg-python), and that import is the time the probe
overlaps. So the default form's probe (its first word an option or a file) starts before it;
the subcommands are known from :data:`ffmotion.cli.SUBCOMMANDS` only after it, and those that
probe one input (:data:`ffmotion.cli.PROBING`) start theirs then, before their own modules
are imported.
"""
from __future__ import annotations

import sys
from typing import Any


def main() -> int:
    """Entry point of the console script and of ``python -m ffmotion``."""
    from ffmotion.run import ahead

    args = sys.argv[1:]
    try:
        early = bool(args) and (args[0].startswith("-") or ahead.is_regular_file(args[0]))
        if early:  # the default form, or a file named like a subcommand (decided below)
            ahead.start(args)
        from ffmotion.cli import PROBING, SUBCOMMANDS  # noqa: E402 - after the probe has started
        from ffmotion.cli import main as cli_main  # noqa: E402
        if args and args[0] in SUBCOMMANDS:
            if early:
                ahead.discard()  # a file named like the subcommand: the subcommand runs
            ahead.start(args, SUBCOMMANDS, PROBING)
    except KeyboardInterrupt:  # Ctrl-C during the imports: one line, as anywhere later
        ahead.discard()
        print("ffmotion: interrupted (SIGINT)", file=sys.stderr)
        return 130
    try:
        return cli_main()
    finally:
        ahead.discard()


def __getattr__(name: str) -> Any:
    """``SUBCOMMANDS`` and ``PROBING``: the command line's one table (:mod:`ffmotion.cli`)."""
    if name in ("SUBCOMMANDS", "PROBING"):
        import ffmotion.cli

        return getattr(ffmotion.cli, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
