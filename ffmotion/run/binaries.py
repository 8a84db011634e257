"""Finding ffmpeg and ffprobe. Pure look-ups: nothing here starts a process (see runner)."""
from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

from ffmotion.core.errors import ToolError, field

ENV_VAR = "FFMOTION_FFMPEG"


@dataclass(frozen=True)
class Located:
    """A binary and where it came from (``--ffmpeg``, the environment, PATH or imageio-ffmpeg)."""

    path: str
    source: str


def locate_ffmpeg(explicit: Optional[str] = None) -> Located:
    """The ffmpeg to use: ``explicit``, then ``$FFMOTION_FFMPEG``, then PATH, then imageio-ffmpeg's.

    A binary the user named and that does not exist is an error, not a reason to fall back
    silently to another one.
    """
    if explicit:
        return Located(_must_exist(explicit, field("ffmpeg")), "--ffmpeg")
    from_env = os.environ.get(ENV_VAR)
    if from_env:
        return Located(_must_exist(from_env, ENV_VAR), ENV_VAR)
    on_path = shutil.which("ffmpeg")
    if on_path:
        return Located(on_path, "PATH")
    bundled = _imageio_ffmpeg()
    if bundled:
        return Located(bundled, "imageio-ffmpeg")
    raise ToolError(
        "ffmpeg not found: install ffmpeg, pip install imageio-ffmpeg, or pass "
        f"{field('ffmpeg')} PATH"
    )


def candidates(explicit: Optional[str] = None) -> list[Located]:
    """Every ffmpeg :func:`locate_ffmpeg` could take, in its order (the first is the one it
    takes); a named one that does not exist is listed as named (``ffmotion doctor``)."""
    found = []
    if explicit:
        found.append(Located(explicit, "--ffmpeg"))
    from_env = os.environ.get(ENV_VAR)
    if from_env:
        found.append(Located(from_env, ENV_VAR))
    on_path = shutil.which("ffmpeg")
    if on_path:
        found.append(Located(on_path, "PATH"))
    bundled = _imageio_ffmpeg()
    if bundled:
        found.append(Located(bundled, "imageio-ffmpeg"))
    return found


def locate_ffprobe(ffmpeg_path: str) -> Optional[str]:
    """An ffprobe beside ``ffmpeg_path`` or on PATH, or ``None`` (imageio-ffmpeg ships none)."""
    ffmpeg = Path(ffmpeg_path)
    name = ffmpeg.name
    if "ffmpeg" in name:
        sibling = ffmpeg.with_name(name.replace("ffmpeg", "ffprobe", 1))
        if sibling.is_file() and os.access(sibling, os.X_OK):
            return str(sibling)
    return shutil.which("ffprobe")


def _must_exist(path: str, where: str) -> str:
    candidate = Path(path).expanduser()
    if candidate.is_file() and os.access(candidate, os.X_OK):
        return str(candidate.absolute())
    found = shutil.which(path)
    if found:
        return found
    raise ToolError(f"ffmpeg named by {where} not found or not executable: {path}")


def _imageio_ffmpeg() -> Optional[str]:
    try:
        import imageio_ffmpeg
    except ImportError:
        return None
    try:
        return imageio_ffmpeg.get_ffmpeg_exe()
    except RuntimeError:
        return None
