"""The user's private runtime folder: where a steerable live job keeps its control token and
its ffmpeg's ``zmq`` socket.

``$XDG_RUNTIME_DIR/ffmotion`` (the login session's own folder, mode 0700) when it exists, else
``$TMPDIR/ffmotion-UID``; either is created mode 0700 and refused unless it is a real folder
(not a link) owned by this user that nobody else can enter. A file there is created once
(``O_EXCL``, mode 0600, never through a link) and removed by the job that made it. These files
are not outputs: :mod:`ffmotion.run.outputs` makes its files readable by others (0666 less
the umask), a token must not be.
"""
from __future__ import annotations

import contextlib
import os
import re
import stat
import tempfile
from pathlib import Path
from typing import Optional

from ffmotion.core.errors import UsageError


def folder(env: Optional[dict[str, str]] = None) -> Path:
    """The private runtime folder (created if missing; see the module docstring)."""
    env = dict(os.environ) if env is None else env
    base = env.get("XDG_RUNTIME_DIR")
    if base and os.path.isdir(base):
        place = Path(base) / "ffmotion"
    else:
        place = Path(env.get("TMPDIR") or tempfile.gettempdir()) / f"ffmotion-{os.getuid()}"
    with contextlib.suppress(FileExistsError):
        os.mkdir(place, 0o700)
    info = os.lstat(place)
    if not stat.S_ISDIR(info.st_mode) or info.st_uid != os.getuid() or info.st_mode & 0o077:
        raise UsageError(f"{place} is not a private folder of this user (a folder of yours, "
                         "mode 0700): remove it or set XDG_RUNTIME_DIR")
    return place


_OWNED = re.compile(r"^(?:zmq|frames)-(\d+)-[0-9a-f]+\.sock$")


def remove_stale(place: Path) -> None:
    """Remove the sockets (``zmq-PID-...``, ``frames-PID-...``) of jobs that were killed
    (their PID runs no more): a killed process cannot remove its own."""
    for path in place.iterdir():
        found = _OWNED.match(path.name)
        if found is None or int(found.group(1)) == os.getpid():
            continue
        try:
            os.kill(int(found.group(1)), 0)
        except ProcessLookupError:
            remove(path)
        except OSError:
            continue


def write_private(path: Path, text: str) -> None:
    """Create ``path`` (mode 0600, it must not exist) holding ``text``."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        out.write(text)


def read_private(path: Path) -> str:
    """``path``'s text, if it is this user's own file that nobody else can read."""
    fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
    with os.fdopen(fd, encoding="utf-8") as held:
        info = os.fstat(held.fileno())
        if info.st_uid != os.getuid() or info.st_mode & 0o077:
            raise UsageError(f"{path} is not a private file of this user: not read")
        return held.read(4096)


def remove(path: Path) -> None:
    with contextlib.suppress(FileNotFoundError):
        os.unlink(path)


__all__ = ["folder", "read_private", "remove", "remove_stale", "write_private"]
