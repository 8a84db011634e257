"""Saved look presets: the user's ``looks.toml`` and a project's ``ffmotion.toml``.

Where: ``$XDG_CONFIG_HOME/ffmotion/looks.toml`` (``~/.config`` when unset) for the user, and
``ffmotion.toml`` in the input's folder for a project. Precedence, most specific first:
**project overrides user overrides built-in** (a name defined in several places is taken from
the first; ``ffmotion looks`` says where each comes from).

Format (keys are the look flags' long names, values TOML strings, numbers or booleans)::

    [looks.soft]
    description = "classic, amplified 3x, light blur"
    gain = 3
    blur = 1
    mode = "average"        # average | difference | grainextract
    # gray = true, rgb-offsets = "1,2,3", trail = 0.9, overlay = 0.5, threshold = 10,
    # threshold-edge = "soft", threshold-width = 12, threshold-on = "original",
    # glow = 0.75, glow-radius = 6, glow-mode = "screen"

A bad file gives one line: ``FILE:LINE: problem``. Writing appends (or replaces) one
``[looks.NAME]`` table, keeping the rest of the file (comments included) as it is, through
:func:`ffmotion.run.runner.atomic_output`.
"""
from __future__ import annotations

import os
import re
import sys
from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import Any, Optional

from . import looks
from .errors import UsageError
from .looks import Look

USER_FILE = "looks.toml"
PROJECT_FILE = "ffmotion.toml"
TABLE = "looks"
NAME = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
# TOML key (flag spelling) -> Look field
KEYS = {"mode": "blend", "gain": "gain", "blur": "blur", "gray": "gray",
        "rgb-offsets": "rgb_offsets", "trail": "trail", "overlay": "overlay",
        "threshold": "threshold", "glow": "glow", "glow-radius": "glow_radius",
        "denoise": "denoise", "threshold-edge": "threshold_edge",
        "threshold-width": "threshold_width", "threshold-on": "threshold_on",
        "glow-mode": "glow_mode"}
INT_KEYS = ("blur", "threshold", "glow-radius", "threshold-width")
assert set(KEYS.values()) == {f.name for f in fields(Look)}, "every Look field has a key"


@dataclass(frozen=True)
class Saved:
    """A preset and where it comes from (``"built-in"`` or a file path)."""

    name: str
    look: Look
    description: str
    source: str


def user_file() -> Path:
    """``$XDG_CONFIG_HOME/ffmotion/looks.toml`` (``~/.config/...`` when unset or empty)."""
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "ffmotion" / USER_FILE


def project_file(near: Optional[Path]) -> Optional[Path]:
    """``ffmotion.toml`` in the folder of ``near`` (an input file, or a folder)."""
    if near is None:
        return None
    folder = near if near.is_dir() else near.parent
    return folder / PROJECT_FILE


def _line_of(text: str, name: str, key: Optional[str]) -> int:
    """The line (1-based) of ``[looks.name]`` or of ``key`` inside it (best effort)."""
    lines = text.splitlines()
    header = re.compile(rf"^\s*\[\s*{TABLE}\s*\.\s*[\"']?{re.escape(name)}[\"']?\s*\]")
    start = next((i for i, line in enumerate(lines) if header.match(line)), None)
    if start is None:
        return 1
    if key is None:
        return start + 1
    keyline = re.compile(rf"^\s*[\"']?{re.escape(key)}[\"']?\s*=")
    for i in range(start + 1, len(lines)):
        if lines[i].lstrip().startswith("["):
            break
        if keyline.match(lines[i]):
            return i + 1
    return start + 1


def load_file(path: Path) -> dict[str, Saved]:
    """The presets in one file ({} if it does not exist); a bad file raises one UsageError
    line ``FILE:LINE: problem``."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return {}
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"{path}: cannot read: {exc}") from None
    # imported here: tomllib compiles its regular expressions on import (~3 ms of every
    # start-up), and most runs find no preset file
    if sys.version_info >= (3, 11):
        import tomllib
    else:  # pragma: no cover - exercised on Python < 3.11 only
        import tomli as tomllib
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        message = str(exc)
        match = re.search(r"\(at line (\d+), column \d+\)", message)
        line = match.group(1) if match else "1"
        problem = re.sub(r"\s*\(at line \d+, column \d+\)", "", message)
        raise UsageError(f"{path}:{line}: {problem}") from None
    table = data.get(TABLE, {})
    if not isinstance(table, dict):
        raise UsageError(f"{path}:{_line_of(text, '', None)}: '{TABLE}' must be a table of presets")
    out: dict[str, Saved] = {}
    for name, body in table.items():
        if not NAME.match(name):
            raise UsageError(f"{path}:{_line_of(text, name, None)}: bad preset name {name!r} "
                             "(letters, digits, - and _)")
        if not isinstance(body, dict):
            raise UsageError(f"{path}:{_line_of(text, name, None)}: preset {name!r} must be a table")
        values: dict[str, Any] = {}
        description = ""
        for key, value in body.items():
            if key == "description":
                description = str(value)
                continue
            if key not in KEYS:
                raise UsageError(f"{path}:{_line_of(text, name, key)}: unknown key {key!r} in "
                                 f"preset {name!r} (known: description, {', '.join(KEYS)})")
            if key in INT_KEYS and not isinstance(value, int):
                raise UsageError(f"{path}:{_line_of(text, name, key)}: {key} must be a whole "
                                 f"number, not {value!r}")
            values[KEYS[key]] = str(value) if key == "gain" and not isinstance(value, bool) else value
        try:
            look = Look(**values)
        except UsageError as exc:
            bad = next((k for k in body if k in KEYS and f"--{k}" in str(exc)), None)
            raise UsageError(f"{path}:{_line_of(text, name, bad)}: preset {name!r}: {exc}") from None
        out[name] = Saved(name, look, description or look.describe(), str(path))
    return out


def available(near: Optional[Path] = None, problems: Optional[list[str]] = None) -> dict[str, Saved]:
    """Every preset by name: project over user over built-in. ``problems``: a bad file is
    left out and its one line appended here, instead of raised."""
    out = {name: Saved(name, p.look, p.description, "built-in") for name, p in looks.PRESETS.items()}
    project = project_file(near)
    for path in (user_file(), *([project] if project is not None else [])):
        try:
            out.update(load_file(path))
        except UsageError as exc:
            if problems is None:
                raise
            problems.append(str(exc))
    return out


def resolve(name: Optional[str], near: Optional[Path] = None, **overrides: Any) -> Look:
    """Like :func:`ffmotion.looks.resolve`, also finding saved presets (files are read only
    when ``name`` is not a built-in one, or a file could override it)."""
    if name is None:
        return looks.resolve(None, **overrides)
    found = available(near)
    if name not in found:
        raise UsageError(f"unknown look {name!r}: choose one of {', '.join(found)} (ffmotion looks)")
    given = {key: value for key, value in overrides.items() if value is not None}
    base = found[name].look
    return replace(base, **given) if given else base


def _toml_string(text: str) -> str:
    """A TOML basic string: backslash, quote and control characters escaped."""
    out = []
    for char in text:
        if char in '"\\':
            out.append("\\" + char)
        elif ord(char) < 0x20 or ord(char) == 0x7F:
            out.append(f"\\u{ord(char):04x}")
        else:
            out.append(char)
    return '"' + "".join(out) + '"'


def table_text(name: str, look: Look, description: str = "") -> str:
    """The ``[looks.NAME]`` table for ``look`` (only the settings that differ from classic)."""
    lines = [f"[{TABLE}.{name}]"]
    if description:
        lines.append(f"description = {_toml_string(description)}")
    for flag, value in look._settings():
        if value is None:
            lines.append(f"{flag} = true")
        elif flag in INT_KEYS:
            lines.append(f"{flag} = {int(value)}")
        else:
            lines.append(f"{flag} = {_toml_string(value)}")
    return "\n".join(lines) + "\n"


def save(path: Path, name: str, look: Look, description: str = "", overwrite: bool = False) -> None:
    """Add preset ``name`` to ``path`` (created with its folder if needed); an existing preset
    of that name is replaced only with ``overwrite``. The rest of the file is kept."""
    from .run import runner

    if not NAME.match(name):
        raise UsageError(f"bad preset name {name!r}: use letters, digits, - and _")
    existing = load_file(path)  # also refuses to add to a broken file
    text = path.read_text(encoding="utf-8") if path.exists() else ""
    if name in existing:
        if not overwrite:
            raise UsageError(f"preset {name!r} exists in {path} (use --overwrite to replace it)")
        text = _without_table(text, name)
    if text and not text.endswith("\n"):
        text += "\n"
    text += ("\n" if text.strip() else "") + table_text(name, look, description)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UsageError(f"cannot create {path.parent}: {exc.strerror}") from None
    with runner.atomic_output(path, overwrite=True) as tmp:
        tmp.write_text(text, encoding="utf-8")
    assert load_file(path)[name].look == look, "the saved preset reads back as written"


def _without_table(text: str, name: str) -> str:
    """``text`` without the ``[looks.name]`` table (header to the next header)."""
    lines = text.splitlines(keepends=True)
    start = _line_of(text, name, None) - 1
    end = next((i for i in range(start + 1, len(lines)) if lines[i].lstrip().startswith("[")),
               len(lines))
    return "".join(lines[:start] + lines[end:])
