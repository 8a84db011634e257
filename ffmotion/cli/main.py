"""The ``ffmotion`` command: dispatch by subcommand, and the one error handler.

``ffmotion IN OUT`` (:mod:`ffmotion.cli.run`) is the form the program runs nearly always: it
is imported with this module (by the launcher, while the probe it started ahead runs). A
subcommand's module is imported when that subcommand runs, and only then. Every error is
one line on stderr and an exit code (0 ok, 1 processing failed, 2 usage, 130 interrupted);
messages name options by their flags (:func:`spelling`).
"""
from __future__ import annotations

import argparse
import functools
import importlib
import logging
import sys
from typing import Callable, Optional, Sequence

from ffmotion.cli import SUBCOMMANDS, options
from ffmotion.cli import run as default_form
from ffmotion.cli.console import error, flush_stdout
from ffmotion.core.errors import FfmotionError, Interrupted, spelled_as
from ffmotion.run import outputs, runner, signals

log = logging.getLogger("ffmotion")


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Entry point of the ``ffmotion`` command; returns the exit code."""
    if argv is None:  # the program itself: the console script, python -m ffmotion
        _freeze_imports()
    args_in = list(sys.argv[1:] if argv is None else argv)
    signals.install()
    try:
        try:
            code = dispatch(args_in)
        finally:
            flush_stdout()
        if code == 0:
            runner.remember_checked()  # the next run needs no ffmpeg -encoders (run/facts.py)
    except FfmotionError as exc:
        by = f" ({signals.received()})" if isinstance(exc, Interrupted) and signals.received() else ""
        error(f"ffmotion: error: {outputs.shown(str(exc))}{by}")  # one line
        tail = getattr(exc, "stderr_tail", "")
        if tail:
            log.debug("ffmpeg stderr:\n%s", tail)
        return exc.exit_code
    except KeyboardInterrupt:
        error(f"ffmotion: interrupted ({signals.received() or 'SIGINT'})")
        return 130
    return code


def _freeze_imports() -> None:
    """What the imports made lives as long as the process: move it out of the garbage
    collector's way (``gc.freeze``), so that its collections, and the interpreter's at exit,
    skip those objects (~10 ms of every run). Only where ffmotion is the program: a caller
    of ``main(argv)`` in its own process keeps its collector as it is."""
    import gc

    gc.freeze()


def subcommand(name: str) -> "object":
    """The module of subcommand ``name`` (imported now): its ``parser()`` and ``run(args)``."""
    return importlib.import_module(f"ffmotion.cli.{SUBCOMMANDS[name]}")


def dispatch(args_in: list[str]) -> int:
    """Parse ``args_in`` with the parser of the form it names and run that form."""
    if args_in and args_in[0] == "ffmpeg":  # ffmpeg's own arguments: argparse stays out
        from ffmotion.cli.passthrough import passthrough

        return passthrough(args_in[1:])
    args_in = options.stabilize_words(args_in)
    if args_in and args_in[0] in SUBCOMMANDS:
        module = subcommand(args_in[0])
        parser: argparse.ArgumentParser = module.parser()  # type: ignore[attr-defined]
        handler: Callable[[argparse.Namespace], int] = module.run  # type: ignore[attr-defined]
        args = parser.parse_args(args_in[1:])
    else:
        parser, handler = default_form.parser(), default_form.run
        args = parser.parse_args(args_in)
    _setup_logging(args)
    with spelled_as(spelling(parser)):  # messages name options by their flags
        return handler(args)


# -- how messages name options: a field -> its flag -------------------------------------------

def flags_of(parser: argparse.ArgumentParser) -> dict[str, str]:
    """Each field (argparse dest) the parser sets -> its longest flag (hidden flags, such as
    what ``--stabilize auto`` becomes, are not named)."""
    return {action.dest: max(action.option_strings, key=len)
            for action in parser._actions
            if action.option_strings and action.help != argparse.SUPPRESS}


@functools.lru_cache(maxsize=None)
def flag_table() -> dict[str, str]:
    """Every field any form of the command line sets -> its flag: the default form's first,
    then each subcommand's (built on first use: only a message naming a field the running
    parser lacks needs it)."""
    table = dict(flags_of(default_form.parser()))
    for name in SUBCOMMANDS:
        for dest, flag in flags_of(subcommand(name).parser()).items():  # type: ignore[attr-defined]
            table.setdefault(dest, flag)
    return table


def spelling(parser: argparse.ArgumentParser) -> Callable[[str], str]:
    """How this command's messages name a request field: the flag that sets it (the running
    parser's, else any form's)."""
    own = flags_of(parser)

    def spell(name: str) -> str:
        if name.startswith("-"):  # already a flag
            return name
        return own.get(name) or flag_table().get(name) or "--" + name.replace("_", "-")

    return spell


# -- logging ----------------------------------------------------------------------------------

class _StderrHandler(logging.StreamHandler):
    """Writes to whatever ``sys.stderr`` is at the time (tests swap it)."""

    def emit(self, record: logging.LogRecord) -> None:
        self.stream = sys.stderr
        super().emit(record)


def _setup_logging(args: argparse.Namespace) -> None:
    """Format ffmotion's own log lines; other libraries' (distributed's) stay in theirs and
    are quiet below ERROR unless -vv."""
    level = logging.ERROR if getattr(args, "quiet", False) else logging.WARNING  # -q: errors only
    if args.verbose == 1:
        level = logging.INFO
    elif args.verbose >= 2:
        level = logging.DEBUG
    if not any(isinstance(h, _StderrHandler) for h in log.handlers):
        handler = _StderrHandler()
        handler.setFormatter(logging.Formatter("ffmotion: %(message)s"))
        log.addHandler(handler)
    log.setLevel(level)
    for other in ("distributed", "tornado", "asyncio"):
        logging.getLogger(other).setLevel(logging.DEBUG if args.verbose >= 2 else logging.ERROR)
