"""Saved regions: a ``rois.toml`` that ``ffmotion measure --rois`` reads and ``--save-rois``
writes (the regions of a study, kept beside its videos and re-used).

Format (TOML; pixels of the picture as displayed, i.e. a rotated phone video upright)::

    # ffmotion measure regions
    background = "bg"          # optional: the region --background would name

    [regions.patient]
    x = 0
    y = 0
    w = 640
    h = 720

    [regions.bg]
    x = 600
    y = 650
    w = 80
    h = 60

Each ``[regions.NAME]`` table has exactly the whole numbers ``x``, ``y``, ``w`` and ``h``; the
regions keep the file's order (the CSV's columns). The reader is bounded: at most
:data:`MAX_BYTES` of UTF-8, :data:`~ffmotion.core.regions.MAX_REGIONS` regions; anything else
is one line, ``FILE:LINE: problem``.
"""
from __future__ import annotations

import re
import sys
from pathlib import Path
from typing import Any, Optional

from ffmotion.core import numbers
from ffmotion.core.errors import UsageError
from ffmotion.core.regions import MAX_REGIONS, Region
from ffmotion.run import outputs

MAX_BYTES = 256 * 1024
TABLE = "regions"
KEYS = ("x", "y", "w", "h")


class RoisError(UsageError):
    """A regions file that cannot be used: ``FILE:LINE: problem``."""


def _line(text: str, name: Optional[str] = None, key: Optional[str] = None) -> int:
    """The line (1-based) of ``[regions.name]`` or of ``key`` in it (best effort)."""
    lines = text.splitlines()
    if name is None:
        return 1
    header = re.compile(rf"^\s*\[\s*{TABLE}\s*\.\s*[\"']?{re.escape(name)}[\"']?\s*\]")
    start = next((i for i, line in enumerate(lines) if header.match(line)), None)
    if start is None:
        return 1
    if key is not None:
        keyline = re.compile(rf"^\s*[\"']?{re.escape(key)}[\"']?\s*=")
        for i in range(start + 1, len(lines)):
            if lines[i].lstrip().startswith("["):
                break
            if keyline.match(lines[i]):
                return i + 1
    return start + 1


def load(path: Path) -> tuple[list[Region], Optional[str]]:
    """The regions of ``path`` in the file's order, and its ``background`` (or None)."""
    shown = outputs.shown(path)
    try:
        with open(path, "rb") as handle:
            raw = handle.read(MAX_BYTES + 1)
    except FileNotFoundError:
        raise RoisError(f"{shown}: regions file not found") from None
    except IsADirectoryError:
        raise RoisError(f"{shown}: is a folder, not a regions file") from None
    except OSError as exc:
        raise RoisError(f"{shown}: cannot read: {exc.strerror or exc}") from None
    if len(raw) > MAX_BYTES:
        raise RoisError(f"{shown}: larger than {MAX_BYTES // 1024} KiB: not a regions file")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise RoisError(f"{shown}: not UTF-8 text: not a regions file") from None
    if sys.version_info >= (3, 11):
        import tomllib
    else:  # pragma: no cover - exercised on Python < 3.11 only
        import tomli as tomllib
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        message = str(exc)
        match = re.search(r"\(at line (\d+), column \d+\)", message)
        problem = re.sub(r"\s*\(at line \d+, column \d+\)", "", message)
        raise RoisError(f"{shown}:{match.group(1) if match else 1}: {problem}") from None
    except (ValueError, RecursionError) as exc:
        raise RoisError(f"{shown}: not a regions file ffmotion can read: "
                        f"{str(exc).split(';')[0] or 'nested too deeply'}") from None
    for key in data:
        if key not in (TABLE, "background"):
            raise RoisError(f"{shown}:{_line(text)}: unknown key {numbers.shown(key)} (known: "
                            f"background, [{TABLE}.NAME] tables)")
    background = data.get("background")
    if background is not None and not isinstance(background, str):
        raise RoisError(f"{shown}:1: background must be the name of a region, in quotes")
    table = data.get(TABLE, {})
    if not isinstance(table, dict) or not table:
        raise RoisError(f"{shown}:1: no regions: add [{TABLE}.NAME] tables with x, y, w, h")
    if len(table) > MAX_REGIONS:
        raise RoisError(f"{shown}: {len(table)} regions: at most {MAX_REGIONS}")
    regions = [_region(shown, text, name, body) for name, body in table.items()]
    if background is not None and background not in table:
        raise RoisError(f"{shown}:1: background {numbers.shown(background)} is none of the "
                        f"regions ({', '.join(table)})")
    return regions, background


def _region(shown: str, text: str, name: str, body: Any) -> Region:
    where = f"{shown}:{_line(text, name)}: region {numbers.shown(name)}"
    if not isinstance(body, dict):
        raise RoisError(f"{where}: must be a table with x, y, w, h")
    for key in body:
        if key not in KEYS:
            raise RoisError(f"{shown}:{_line(text, name, key)}: region {numbers.shown(name)}: "
                            f"unknown key {numbers.shown(key)} (known: x, y, w, h)")
    values = []
    for key in KEYS:
        if key not in body:
            raise RoisError(f"{where}: {key} is missing (give x, y, w and h)")
        value = body[key]
        if isinstance(value, bool) or not isinstance(value, int):
            raise RoisError(f"{shown}:{_line(text, name, key)}: region {numbers.shown(name)}: "
                            f"{key} must be a whole number of pixels")
        values.append(value)
    try:
        return Region(name, *values)
    except UsageError as exc:
        raise RoisError(f"{where}: {str(exc).split(': ', 1)[-1]}") from None


def dumps(regions: list[Region], background: Optional[str] = None) -> str:
    """The text of a regions file holding ``regions`` (what :func:`load` reads back)."""
    lines = ["# ffmotion measure regions: pixels of the picture as displayed",
             "# (x, y: top-left corner; w, h: size). Use: ffmotion measure IN --rois FILE"]
    if background is not None:
        lines.append(f'background = "{background}"')
    for region in regions:
        lines += ["", f"[{TABLE}.{region.name}]", f"x = {region.x}", f"y = {region.y}",
                  f"w = {region.w}", f"h = {region.h}"]
    return "\n".join(lines) + "\n"


def save(path: Path, regions: list[Region], background: Optional[str], *,
         overwrite: bool) -> None:
    """Write a regions file under the safe-write rule."""
    outputs.write_text(path, dumps(regions, background), what="regions file",
                       overwrite=overwrite)


__all__ = ["MAX_BYTES", "RoisError", "dumps", "load", "save"]
