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
from typing import Optional, Sequence

from ffmotion.run import procs

log = logging.getLogger("ffmotion")

_lock = threading.Lock()
_started: dict[tuple[str, ...], subprocess.Popen] = {}


def start(commands: Sequence[Sequence[str]]) -> None:
    """Start ``commands`` now, to be taken by the run that asks for the same argv
    (:func:`take`). Never raises: a child that cannot start is simply not there."""
    for argv in commands:
        try:
            proc = procs.popen(list(argv), stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE)
        except Exception:  # noqa: BLE001 - a child that cannot start is no guess
            return
        with _lock:
            _started[tuple(argv)] = proc


def is_regular_file(word: str) -> bool:
    """``word`` names a regular file (not a FIFO, a folder, a device)."""
    try:
        return stat.S_ISREG(os.stat(word).st_mode)
    except (OSError, ValueError):
        return False


def take(argv: Sequence[str]) -> Optional[subprocess.Popen]:
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
