"""Probing ahead: the input's probe starts while Python still imports the rest of ffmotion.

A run's start-up is Python importing ffmotion (~60 ms), then probing the input with one
ffmpeg (``ffmpeg -i``, ~25 ms), and before that, where no earlier run remembered the
binary (:mod:`ffmotion.run.facts`), checking it with another (``ffmpeg -encoders``). On a
machine with two cores they can overlap: the launcher (:func:`ffmotion.launch.main`)
guesses, from the command line alone, the commands the run will make, and starts them
before the imports. When the run asks :func:`take` for a command, it gets the child started
ahead if the command is the same word for word, and a child of its own otherwise;
:func:`discard` kills what was not taken once the probe is done. A wrong guess costs only a
short ffmpeg run, never a wrong result: the run always uses the command it asks for.

Only the main form (``ffmotion [options] INPUT OUTPUT``) and the subcommands that probe
one input (``sheet``, ``energy``, ``map``, ``preview``) guess, only for an input that is a
regular file (a FIFO would lose what ffmpeg read from it), and only when ffmotion is the
program (``python -m ffmotion`` or the console script; a caller of ``cli.main(argv)`` gets
no child it did not ask for).
"""
from __future__ import annotations

import logging
import os
import shlex
import stat
import subprocess
import threading
from pathlib import Path
from typing import Optional, Sequence

from ffmotion.run import procs

log = logging.getLogger("ffmotion")

# options whose value is a file that is not the input (a look, a binary)
_FILE_VALUED = ("--ffmpeg", "--look")

_lock = threading.Lock()
_started: dict[tuple[str, ...], subprocess.Popen] = {}  # type: ignore[type-arg]


def start(args: Sequence[str], subcommands: Sequence[str] = (),
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
    for argv in commands:
        try:
            proc = procs.popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE)
        except Exception:  # noqa: BLE001 - a child that cannot start is no guess
            return
        with _lock:
            _started[tuple(argv)] = proc


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
        if is_regular_file(word):
            path = word
    if path is None:
        return None
    from ffmotion.core.errors import FfmotionError
    from ffmotion.run.binaries import locate_ffmpeg
    from ffmotion.media.probe_commands import first_argv

    try:
        return first_argv(locate_ffmpeg(explicit).path, Path(path))
    except FfmotionError:  # no ffmpeg to be found: the run will say so
        return None


def is_regular_file(word: str) -> bool:
    """``word`` names a regular file (not a FIFO, a folder, a device)."""
    try:
        return stat.S_ISREG(os.stat(word).st_mode)
    except (OSError, ValueError):
        return False


def take(argv: Sequence[str]) -> Optional[subprocess.Popen]:  # type: ignore[type-arg]
    """The child started ahead for exactly ``argv`` (once), or None."""
    with _lock:
        return _started.pop(tuple(argv), None)


def discard() -> None:
    """Kill and reap every child started ahead and not taken (the probe calls this when it
    is done, the program when it ends)."""
    with _lock:
        left = list(_started.values())
        _started.clear()
    for proc in left:
        argv = proc.args if isinstance(proc.args, (list, tuple)) else [proc.args]
        log.debug("not the probe this run made, stopped: %s", shlex.join(str(a) for a in argv))
        procs.kill(proc)
        try:
            proc.communicate(timeout=10)
        except Exception:  # noqa: BLE001 - killed; its pipes go with it
            pass
