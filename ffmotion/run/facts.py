"""What an ffmpeg binary is (its version and encoders), remembered between runs.

Checking the binary (``ffmpeg -encoders``: the version banner and the encoder list) is a
process start of its own, ~10 ms for a static build and ~60 ms for a shared-library one: on
``--print-command`` or a short job that is a large share of the run. The answer depends only
on the binary, so it is kept in the cache folder (the one the stabilization transforms use:
``$FFMOTION_CACHE``, else ``$XDG_CACHE_HOME/ffmotion``, else ``~/.cache/ffmotion``) under a
key of the binary's real path, size, modification time and inode: a replaced or upgraded
ffmpeg is checked again. Only a command that succeeded writes it (a failed run leaves
nothing behind). The cache is a convenience: a file that cannot be read, parsed or
written is ignored, and removing the folder is always safe.
"""
from __future__ import annotations

import hashlib
import json
import os
import tempfile
from pathlib import Path
from typing import Optional

CACHE_ENV = "FFMOTION_CACHE"
_MAX_BYTES = 64 * 1024  # an encoder list is ~5 KB


def check_argv(binary: str) -> list[str]:
    """The one command that checks ``binary``: ``ffmpeg -encoders`` without ``-hide_banner``
    logs the version banner on stderr and lists the encoders on stdout."""
    return [binary, "-nostdin", "-encoders"]


def cache_dir() -> Path:
    """The ffmotion cache folder (not created here)."""
    explicit = os.environ.get(CACHE_ENV)
    if explicit:
        return Path(explicit).expanduser().absolute()
    xdg = os.environ.get("XDG_CACHE_HOME")
    base = Path(xdg).expanduser() if xdg and Path(xdg).is_absolute() else Path.home() / ".cache"
    return (base / "ffmotion").absolute()


def _key(binary: str) -> Optional[str]:
    try:
        real = os.path.realpath(binary)
        st = os.stat(real)
    except OSError:
        return None
    text = f"{real}\0{st.st_size}\0{st.st_mtime_ns}\0{st.st_ino}\0{st.st_dev}"
    return hashlib.sha1(text.encode("utf-8", "surrogateescape")).hexdigest()


def _path(key: str) -> Path:
    return cache_dir() / f"ffmpeg-{key}.json"


def load(binary: str) -> Optional[tuple[str, frozenset[str]]]:
    """(version, encoders) remembered for ``binary`` as it is now, or None."""
    key = _key(binary)
    if key is None:
        return None
    try:
        path = _path(key)
        if path.is_symlink():
            return None
        with open(path, "rb") as handle:
            data = json.loads(handle.read(_MAX_BYTES + 1)[:_MAX_BYTES])
        version, names = data["version"], data["encoders"]
        if data.get("key") != key or not isinstance(version, str) or not isinstance(names, list):
            return None
        return version, frozenset(str(n) for n in names)
    except (OSError, ValueError, KeyError, TypeError):
        return None


def store(binary: str, version: str, encoders: frozenset[str]) -> None:
    """Remember ``binary``'s facts (written to a temporary name, then renamed)."""
    key = _key(binary)
    if key is None:
        return
    folder = cache_dir()
    try:
        folder.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".ffmpeg-", suffix=".tmp", dir=folder)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                json.dump({"key": key, "binary": os.path.realpath(binary), "version": version,
                           "encoders": sorted(encoders)}, handle)
            os.replace(tmp, _path(key))
        except BaseException:
            os.unlink(tmp)
            raise
    except OSError:
        pass  # a read-only home: check the binary again next time
