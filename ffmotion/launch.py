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
from pathlib import Path
from typing import Any, Optional, Sequence

from ffmotion.run import ahead

# options whose value is a file that is not the input (a look, a binary)
_FILE_VALUED = ("--ffmpeg", "--look")


def main() -> int:
    """Entry point of the console script and of ``python -m ffmotion``."""
    args = sys.argv[1:]
    try:
        early = bool(args) and (args[0].startswith("-") or ahead.is_regular_file(args[0]))
        if early:  # the default form, or a file named like a subcommand (decided below)
            start_probe(args)
        from ffmotion.cli import PROBING, SUBCOMMANDS  # noqa: E402 - after the probe has started
        from ffmotion.cli import main as cli_main  # noqa: E402
        if args and args[0] in SUBCOMMANDS:
            if early:
                ahead.discard()  # a file named like the subcommand: the subcommand runs
            start_probe(args, list(SUBCOMMANDS), PROBING)
    except KeyboardInterrupt:  # Ctrl-C during the imports: one line, as anywhere later
        ahead.discard()
        print("ffmotion: interrupted (SIGINT)", file=sys.stderr)
        return 130
    try:
        return cli_main()
    finally:
        ahead.discard()


def start_probe(args: Sequence[str], subcommands: Sequence[str] = (),
                probing: Sequence[str] = ()) -> None:
    """Start the probe that ``ffmotion ARGS`` will most likely make, if it is a guess worth
    making (see the module docstring), and the check of the ffmpeg binary where no earlier
    run remembered it (:mod:`ffmotion.run.facts`). Never raises: without a guess, nothing
    starts."""
    try:
        probe = guess(args, subcommands, probing)
        if probe is None:
            return
        commands = [probe]
        from ffmotion.run import facts

        if facts.load(probe[0]) is None:
            commands.insert(0, facts.check_argv(probe[0]))
    except Exception:  # noqa: BLE001 - a guess that cannot be made is no guess
        return
    ahead.start(commands)


def guess(args: Sequence[str], subcommands: Sequence[str] = (),
          probing: Sequence[str] = ()) -> Optional[list[str]]:
    """The probe command for ``ffmotion ARGS``, or None: the input is the first word that
    names a regular file and is neither an option nor the value of ``--ffmpeg``/``--look``;
    the ffmpeg is the one the run will locate. ``subcommands``: no guess for these, except
    for those in ``probing`` (``ffmotion sheet IN ...``), whose input is found the same way
    after the subcommand's name."""
    if args and args[0] in probing:
        args = args[1:]
    elif not args or args[0] in subcommands:
        return None
    if "--" in args:
        return None
    explicit: Optional[str] = None
    path: Optional[str] = None
    words = iter(args)
    for word in words:
        name, eq, value = word.partition("=")
        if name in _FILE_VALUED:
            value = value if eq else next(words, "")
            explicit = value if name == "--ffmpeg" else explicit
            continue
        if word.startswith("-") or path is not None:
            continue
        if ahead.is_regular_file(word):
            path = word
    if path is None:
        return None
    from ffmotion.core.errors import FfmotionError
    from ffmotion.media.probe_commands import first_argv
    from ffmotion.run.binaries import locate_ffmpeg

    try:
        return first_argv(locate_ffmpeg(explicit).path, Path(path))
    except FfmotionError:  # no ffmpeg to be found: the run will say so
        return None


def __getattr__(name: str) -> Any:
    """``SUBCOMMANDS`` and ``PROBING``: the command line's one table (:mod:`ffmotion.cli`)."""
    if name in ("SUBCOMMANDS", "PROBING"):
        import ffmotion.cli

        return getattr(ffmotion.cli, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
