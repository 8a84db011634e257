"""``ffmotion doctor``: which ffmpeg is used and where it came from, what it can serve
(:mod:`ffmotion.core.features`), the cameras, and the folders ffmotion writes to.

Every listing is one ffmpeg process started through the runner (a bounded helper run);
a listing that cannot be had is reported as such, never as a crash.
"""
from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional

from ffmotion.core import features
from ffmotion.core.errors import FfmotionError
from ffmotion.run import binaries, facts, runner


@dataclass(frozen=True)
class Folder:
    role: str
    path: str
    exists: bool
    writable: bool
    todo: Optional[str]

    def to_json(self) -> dict[str, Any]:
        return {"role": self.role, "path": self.path, "exists": self.exists,
                "writable": self.writable, "todo": self.todo}


@dataclass(frozen=True)
class Diagnosis:
    """What ``ffmotion doctor`` found. ``ffmpeg``: the binary ffmotion would use (None where
    none was found); ``runs``: whether it answered as an ffmpeg (``problem`` says why not)."""

    ffmpeg: Optional[str]
    source: Optional[str]  # --ffmpeg, FFMOTION_FFMPEG, PATH or imageio-ffmpeg
    runs: bool
    version: Optional[str]
    version_line: Optional[str]
    ffprobe: Optional[str]
    buildconf: tuple[str, ...]
    statuses: list[features.Status]
    cameras: list[str]
    folders: list[Folder]
    others: list[binaries.Located] = field(default_factory=list)  # ffmpegs not taken
    problem: Optional[str] = None
    unlisted: list[str] = field(default_factory=list)  # listings ffmpeg refused

    @property
    def can_run(self) -> bool:
        """Whether the main job (``ffmotion IN OUT``) can run at all."""
        return self.runs and all(s.present for s in self.statuses if s.feature.essential)

    @property
    def missing(self) -> list[features.Status]:
        return [s for s in self.statuses if not s.present]

    def to_json(self) -> dict[str, Any]:
        return {"can_run": self.can_run, "problem": self.problem,
                "ffmpeg": {"path": self.ffmpeg, "source": self.source, "runs": self.runs,
                           "version": self.version, "version_line": self.version_line,
                           "ffprobe": self.ffprobe, "buildconf": list(self.buildconf)},
                "others": [{"path": o.path, "source": o.source} for o in self.others],
                "features": [s.to_json() for s in self.statuses],
                "missing": [s.feature.key for s in self.missing],
                "unlisted": list(self.unlisted),
                "cameras": list(self.cameras),
                "folders": [f.to_json() for f in self.folders]}


def examine(explicit_ffmpeg: Optional[str] = None) -> Diagnosis:
    """Look at the ffmpeg ffmotion would use (``explicit_ffmpeg``: as ``--ffmpeg``) and at
    this machine."""
    from ffmotion.media.live import cameras

    seen, writable = cameras(), folders()
    try:
        located = binaries.locate_ffmpeg(explicit_ffmpeg)
    except FfmotionError as exc:
        return Diagnosis(None, None, False, None, None, None, (), [], seen, writable,
                         problem=str(exc))
    others = [o for o in binaries.candidates(explicit_ffmpeg)
              if o.source != located.source and o.path != located.path]
    try:
        found = runner.tools(explicit_ffmpeg)
    except FfmotionError as exc:
        fix = (f"give {located.source} a working ffmpeg, or leave it out (then: PATH's, "
               "then imageio-ffmpeg's)" if located.source in ("--ffmpeg", binaries.ENV_VAR)
               else "install a working ffmpeg (" + features.FULL_BUILD + ")")
        return Diagnosis(located.path, located.source, False, None, None, None, (), [], seen,
                         writable, others, problem=f"{exc}: {fix}")
    unlisted: list[str] = []
    texts = {flag: _listing(found.ffmpeg, flag, unlisted)
             for flag in ("-version", "-buildconf", "-protocols", "-devices", "-hwaccels")}
    listed = features.Listings(
        filters=_safe(lambda: runner.filters(found.ffmpeg), "-filters", unlisted),
        encoders=runner.encoders(found.ffmpeg),
        protocols=features.protocols(texts["-protocols"]),
        devices=features.devices(texts["-devices"]),
        hwaccels=features.hwaccels(texts["-hwaccels"]),
        buildconf=features.buildconf(texts["-buildconf"]))
    statuses = features.assess(listed)
    lacking = [name for s in statuses if s.feature.essential and not s.present
               for name in s.feature.names if name not in s.found]
    problem = (f"this ffmpeg lacks filters the motion graph needs ({', '.join(lacking)}): "
               + features.FULL_BUILD) if lacking else None
    return Diagnosis(found.ffmpeg, found.source, True, found.version,
                     features.version_line(texts["-version"]), found.ffprobe,
                     listed.buildconf, statuses, seen, writable, others, problem=problem,
                     unlisted=unlisted)


def _listing(ffmpeg: str, flag: str, unlisted: list[str]) -> str:
    """What ``ffmpeg -hide_banner FLAG`` prints ("" where it refuses: an old or odd build)."""
    try:
        done = runner.capture([ffmpeg, "-hide_banner", "-nostdin", flag], timeout=30,
                              what=f"ffmpeg {flag}")
    except FfmotionError:
        unlisted.append(flag)
        return ""
    if done.returncode != 0:
        unlisted.append(flag)
        return ""
    return done.stdout.decode("utf-8", "replace") + done.stderr


def _safe(listing: Any, flag: str, unlisted: list[str]) -> frozenset[str]:
    try:
        return frozenset(listing())
    except FfmotionError:
        unlisted.append(flag)
        return frozenset()


def folders() -> list[Folder]:
    """The folders ffmotion writes to, and whether it can: the cache (stabilization, what
    a binary can do), the temporary folder (previews), the user's looks."""
    from ffmotion.pipeline import presets

    wanted = [("cache", facts.cache_dir(), f"set {facts.CACHE_ENV} to a writable folder "
                                          "(stabilization reruns then analyse again)"),
              ("temp", Path(tempfile.gettempdir()), "set TMPDIR to a writable folder"),
              ("looks", presets.user_file().parent,
               "set XDG_CONFIG_HOME to a writable folder ('ffmotion looks --save' needs it)")]
    return [_folder(role, path, todo) for role, path, todo in wanted]


def _folder(role: str, path: Path, todo: str) -> Folder:
    """A folder that exists and takes files, or one that can be made (its nearest existing
    parent takes folders)."""
    exists = path.is_dir()
    probe = path
    while not probe.exists() and probe.parent != probe:
        probe = probe.parent
    writable = probe.is_dir() and os.access(probe, os.W_OK | os.X_OK)
    return Folder(role, str(path), exists, writable, None if writable else todo)
