"""Stabilization before the motion graph: choosing the method, and the pass-1 transforms cache.

vid.stab analyses the clip once (``vidstabdetect``, pass 1) and writes a transforms file that
``vidstabtransform`` (pass 2, inside the motion graph) applies. Pass 1 does not depend on the
offset, so its result is cached: a rerun with another offset, or a sheet, or an energy
timeline of the same clip, does not analyse again.

Cache: ``$FFMOTION_CACHE``, else ``$XDG_CACHE_HOME/ffmotion``, else ``~/.cache/ffmotion``.
The key is a hash of the input's *content* (BLAKE2b over the whole file, read in 1 MiB
chunks) and of everything pass 1 depends on: the ffmpeg version (vid.stab's file format
changed between versions), the detect options, the pixel format and the frame range.

Trade-off: hashing the whole file costs a read of it (about 1 GB/s; seconds for a long
clip) on every run, where size + mtime + a partial hash would cost nothing. But pass 1 and
the motion pass both decode the whole range anyway, which is far slower than reading, and a
content key cannot go stale: a file re-exported under the same name and size (same second)
or copied to another place gets the right transforms, never another clip's.
"""
from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import json
import logging
import os
import tempfile
from pathlib import Path
from typing import Optional

from . import graph_extras, looks, runner
from .errors import FFmpegFailed, UsageError
from .graph import Plan
from .pixfmt import working_pix_fmt

log = logging.getLogger("ffmotion")

CACHE_ENV = "FFMOTION_CACHE"
KEY_VERSION = 1
_CHUNK = 1 << 20


def cache_dir() -> Path:
    """Where transforms files are kept (not created here)."""
    explicit = os.environ.get(CACHE_ENV)
    if explicit:
        return Path(explicit).expanduser().absolute()
    xdg = os.environ.get("XDG_CACHE_HOME")
    base = Path(xdg).expanduser() if xdg and Path(xdg).is_absolute() else Path.home() / ".cache"
    return (base / "ffmotion").absolute()


def content_hash(path: Path) -> str:
    """BLAKE2b of the file's bytes, read in chunks (never the whole file in memory)."""
    digest = hashlib.blake2b(digest_size=20)
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(_CHUNK), b""):
            digest.update(chunk)
    return digest.hexdigest()


def cache_key(content: str, ffmpeg_version: str, plan: Plan, stab: graph_extras.Stabilizer) -> str:
    """The transforms file's name: everything pass 1's result depends on, hashed."""
    span = plan.span
    fields = {
        "v": KEY_VERSION, "content": content, "ffmpeg": ffmpeg_version,
        "detect": graph_extras.detect_args(stab), "pix_fmt": stab.pix_fmt,
        "first": span.first, "count": span.count, "total": span.total,
    }
    if plan.picture is not None and not plan.picture.is_identity:
        fields["picture"] = [plan.picture.relabel, plan.picture.deinterlace]
    text = json.dumps(fields, sort_keys=True)
    return hashlib.blake2b(text.encode(), digest_size=16).hexdigest()


def attach(plan: Plan, tools: runner.Tools) -> Plan:
    """``plan`` with its stabilizer resolved (method, format, transforms path), if asked for.

    Probes the build's filters once (cached per binary); warns when only deshake is there.
    Hashes the input for the cache key; runs nothing else.
    """
    options = plan.options.stabilize
    if options is None:
        return plan
    method = graph_extras.choose_method(runner.filters(tools.ffmpeg))
    if method == "deshake":
        log.warning("this ffmpeg (%s) has no vidstab filters (built without libvidstab): "
                    "stabilizing with deshake, a weaker one-pass stabilizer", tools.ffmpeg)
    working = plan.working_pix_fmt
    stab = graph_extras.Stabilizer(method, options, graph_extras.stabilize_pix_fmt(working, method))
    if method == "vidstab":
        key = cache_key(content_hash(plan.options.src), tools.version, plan, stab)
        path = cache_dir() / f"vidstab-{key}.trf"
        graph_extras.check_filter_path(path)
        stab = dataclasses.replace(stab, transforms=path)
    working_after = looks.working_format(working_pix_fmt(stab.pix_fmt), plan.options.look)
    return dataclasses.replace(plan, stabilizer=stab, working_pix_fmt=working_after)


def detect_command(plan: Plan, ffmpeg_bin: str, result: Optional[Path] = None) -> Optional[list[str]]:
    """Pass 1's argv (writing to the cache, or to ``result``); None when there is no pass 1."""
    stab = plan.stabilizer
    if stab is None or stab.method != "vidstab":
        return None
    assert stab.transforms is not None
    target = result or stab.transforms
    # a printed or emitted pass 1 runs later, by hand: its folder must be there already
    with contextlib.suppress(OSError):
        target.parent.mkdir(parents=True, exist_ok=True)
    return graph_extras.detect_command(ffmpeg_bin, plan.info.path, plan.input_args(), stab,
                                       target, plan.picture)


def is_cached(plan: Plan) -> bool:
    """True when the plan needs no pass 1 (no vidstab, or its transforms are cached)."""
    stab = plan.stabilizer
    return stab is None or stab.transforms is None or stab.transforms.is_file()


def ensure_transforms(plan: Plan, tools: runner.Tools, progress: bool = False) -> None:
    """Run pass 1 unless its result is cached; the file appears only when pass 1 succeeded."""
    if is_cached(plan):
        if plan.stabilizer is not None and plan.stabilizer.transforms is not None:
            log.info("stabilization: using cached transforms %s", plan.stabilizer.transforms)
        return
    stab = plan.stabilizer
    assert stab is not None and stab.transforms is not None
    folder = stab.transforms.parent
    try:
        folder.mkdir(parents=True, exist_ok=True)
        fd, name = tempfile.mkstemp(prefix=".", suffix=".trf.ffmotion-tmp", dir=folder)
    except OSError as exc:
        raise UsageError(f"cannot write the stabilization cache {folder}: "
                         f"{exc.strerror or exc} (set {CACHE_ENV} to another folder)") from None
    os.close(fd)
    tmp = Path(name)
    try:
        argv = detect_command(plan, tools.ffmpeg, tmp)
        assert argv is not None
        log.info("stabilization: analysing %s (pass 1 of 2)", plan.info.path.name)
        runner.run_ffmpeg(argv, total_frames=plan.span.count, progress=progress)
        if tmp.stat().st_size == 0:
            raise FFmpegFailed(f"vidstabdetect wrote no transforms for {plan.info.path.name}")
        os.replace(tmp, stab.transforms)
    finally:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
