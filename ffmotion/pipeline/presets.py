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

The keys and their types come from the look's field table (:data:`ffmotion.core.looks.FIELDS`):
each key has one type, by its field's kind: a word or offsets (and ``description``) are
strings; a switch (``gray``) is true or false; a whole number (``blur``, ``threshold``...) is
a TOML integer; ``gain`` and the strengths from 0 to 1 are numbers (or strings holding one,
as ``--save`` writes them). A bad file gives one line, :class:`PresetError`:
``FILE:LINE: problem`` (naming the preset and the key). A file is read only when it is
needed: a run without ``--look`` reads none, and ``--look NAME`` stops at the first file
(project, then user) that defines NAME. Writing appends (or replaces) one ``[looks.NAME]``
table, keeping the rest of the file (comments included) as it is, through the safe-write rule
(:func:`ffmotion.run.outputs.atomic_output`).
"""
from __future__ import annotations

import os
import re
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional

from ffmotion.core import looks, numbers
from ffmotion.core.errors import UsageError, field, spelled_as
from ffmotion.core.looks import Look, LookField

USER_FILE = "looks.toml"
PROJECT_FILE = "ffmotion.toml"
TABLE = "looks"
NAME = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
# TOML key (the flag's long name) -> the look field it sets
_BY_KEY: dict[str, LookField] = {spec.key: spec for spec in looks.FIELDS}
MAX_WHOLE = 10**18  # larger whole numbers in a preset are refused before any check prints them
MAX_TEXT = 256  # characters of a setting's text (a description may be longer)


class PresetError(UsageError):
    """A preset file that cannot be used (unreadable, not TOML, a bad preset): one line
    ``FILE:LINE: problem``; ``path`` is the file."""

    def __init__(self, path: Path, message: str) -> None:
        super().__init__(message)
        self.path = path


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
        raise PresetError(path, f"{path}: cannot read: {exc}") from None
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
        raise PresetError(path, f"{path}:{line}: {problem}") from None
    except (ValueError, RecursionError) as exc:  # a number of over 4300 digits, deep nesting
        problem = "nested too deeply" if isinstance(exc, RecursionError) else str(exc)
        raise PresetError(path, f"{path}: not a preset file ffmotion can read: "
                                f"{problem.split(';')[0]}") from None
    table = data.get(TABLE, {})
    if not isinstance(table, dict):
        raise PresetError(path, f"{path}:{_line_of(text, '', None)}: '{TABLE}' must be a table "
                                "of presets")
    out: dict[str, Saved] = {}
    for name, body in table.items():
        if not NAME.match(name):
            raise PresetError(path, f"{path}:{_line_of(text, name, None)}: bad preset name "
                                    f"{numbers.shown(name)} (letters, digits, - and _)")
        if not isinstance(body, dict):
            raise PresetError(path, f"{path}:{_line_of(text, name, None)}: preset {name!r} must "
                                    "be a table")
        out[name] = _preset(path, text, name, body)
    return out


def _preset(path: Path, text: str, name: str, body: dict[str, Any]) -> Saved:
    """One ``[looks.NAME]`` table, every value type-checked before the Look checks ranges."""
    values: dict[str, Any] = {}
    description = ""
    for key, value in body.items():
        where = f"{path}:{_line_of(text, name, key)}: preset {name!r}"
        if key == "description":
            if not isinstance(value, str):
                raise PresetError(path, f"{where}: description must be a string, not "
                                        f"{_shown_value(value)}")
            description = value
            continue
        spec = _BY_KEY.get(key)
        if spec is None:
            raise PresetError(path, f"{where}: unknown key {numbers.shown(key)} (known: "
                                    f"description, {', '.join(_BY_KEY)})")
        values[spec.name] = _typed(path, where, spec, value)
    try:
        # a preset's keys are the flags' names: its messages name the fields so
        with spelled_as(looks.flag_spelling):
            look = Look.parse(**values)
    except UsageError as exc:
        bad = next((k for k in body if k in _BY_KEY and f"--{k}" in str(exc)), None)
        raise PresetError(path, f"{path}:{_line_of(text, name, bad)}: preset {name!r}: "
                                f"{exc}") from None
    return Saved(name, look, description or look.describe(), str(path))


def _typed(path: Path, where: str, spec: LookField, value: Any) -> Any:
    """``value`` of ``spec``'s key if it has the key's one type (see the module docstring)."""
    key = spec.key
    whole = isinstance(value, int) and not isinstance(value, bool)
    if whole and abs(value) > MAX_WHOLE:
        raise PresetError(path, f"{where}: {key} is far out of range")
    if spec.kind == "switch":
        if not isinstance(value, bool):
            raise PresetError(path, f"{where}: {key} must be true or false, not "
                                    f"{_shown_value(value)}")
        return value
    if spec.kind == "whole":
        if not whole:
            raise PresetError(path, f"{where}: {key} must be a whole number, not "
                                    f"{_shown_value(value)}")
        return value
    if spec.kind in ("exact", "unit"):
        exact = spec.kind == "exact"
        if isinstance(value, str):
            # gain stays exact (a fraction); the others are read as the flags read them
            try:
                return value if exact else numbers.real(value, key)
            except UsageError as exc:
                raise PresetError(path, f"{where}: {exc}") from None
        if not (whole or isinstance(value, float)):
            raise PresetError(path, f"{where}: {key} must be a number, not "
                                    f"{_shown_value(value)}")
        return str(value) if exact and whole else value
    if not isinstance(value, str) or len(value) > MAX_TEXT:
        raise PresetError(path, f"{where}: {key} must be a string (like "
                                f"{_example(spec)!r}), not {_shown_value(value)}")
    return value


def _example(spec: LookField) -> str:
    """A value of a string key, for a message: a word other than the default, or offsets."""
    return next((c for c in spec.choices if c != spec.default), spec.example or "x")


def _shown_value(value: Any) -> str:
    """A TOML value for a message: short, escaped, whatever its size or nesting."""
    if isinstance(value, (list, dict)):
        return f"a{'n array' if isinstance(value, list) else ' table'}"
    try:
        shown = repr(value)
    except ValueError:  # an integer too long to print
        shown = "a number"
    return shown if len(shown) <= numbers.MAX_CHARS else shown[:numbers.MAX_CHARS] + "..."


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
    """Like :func:`ffmotion.core.looks.resolve`, also finding saved presets. Files are read in
    precedence order (project, user) until one defines ``name``: a file after it is not
    needed, so a broken one does not stop the run."""
    if name is None:
        return looks.resolve(None, **overrides)
    base = _find(name, near)
    if base is None:
        found = available(near)
        raise UsageError(f"unknown look {numbers.shown(name)}: choose one of "
                         f"{', '.join(found)} (ffmotion looks)")
    return base.replaced(**overrides)


def _find(name: str, near: Optional[Path]) -> Optional[Look]:
    """The look saved as ``name``: the project's, else the user's, else the built-in one."""
    for path in (project_file(near), user_file()):
        if path is not None:
            saved = load_file(path).get(name)
            if saved is not None:
                return saved.look
    builtin = looks.PRESETS.get(name)
    return builtin.look if builtin is not None else None


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
        elif _BY_KEY[flag].kind == "whole":
            lines.append(f"{flag} = {int(value)}")
        else:
            lines.append(f"{flag} = {_toml_string(value)}")
    return "\n".join(lines) + "\n"


def save(path: Path, name: str, look: Look, description: str = "", overwrite: bool = False) -> None:
    """Add preset ``name`` to ``path`` (created with its folder if needed); an existing preset
    of that name is replaced only with ``overwrite``. The rest of the file is kept."""
    from ffmotion.run import runner

    if not NAME.match(name):
        raise UsageError(f"bad preset name {name!r}: use letters, digits, - and _")
    existing = load_file(path)  # also refuses to add to a broken file
    text = path.read_text(encoding="utf-8") if path.exists() else ""
    if name in existing:
        if not overwrite:
            raise UsageError(f"preset {name!r} exists in {path} (use {field('overwrite')} to "
                             "replace it)")
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
