"""Batch inputs: names, folders, globs and --input-list turned into the list of input files
(never following directory links, never taking the output folder as an input)."""
from __future__ import annotations

import fnmatch
import glob
import os
import sys
from pathlib import Path
from typing import IO, Iterable, Optional

from ffmotion.core.errors import UsageError, field
from ffmotion.jobs import naming
from ffmotion.jobs.naming import output_pattern
from ffmotion.run import outputs, runner

# What a folder search picks up (compared lower-case). Files named explicitly are always taken.
VIDEO_EXTENSIONS = frozenset({
    ".mp4", ".m4v", ".mov", ".qt", ".mkv", ".webm", ".avi", ".nut", ".mts", ".m2ts", ".ts",
    ".mpg", ".mpeg", ".vob", ".wmv", ".asf", ".flv", ".f4v", ".3gp", ".3g2", ".ogv", ".mxf",
    ".dv", ".y4m",
})
# --input-list: more than this is not a list of names (``/dev/zero`` would fill the memory)
INPUT_LIST_MAX = 16 * 2**20


def read_input_list(name: str, stdin: Optional[IO[str]] = None) -> list[str]:
    """Paths from a list file (``-``: stdin), one per line; blank lines are ignored.

    At most :data:`INPUT_LIST_MAX` bytes are read (``/dev/zero`` would fill the memory).
    """
    try:
        if name == "-":
            text = (stdin or sys.stdin).read(INPUT_LIST_MAX + 1)
        else:
            with open(name, "rb") as handle:
                text = handle.read(INPUT_LIST_MAX + 1).decode("utf-8")
    except FileNotFoundError:
        raise UsageError(f"input list not found: {outputs.shown(name)}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"cannot read the input list {outputs.shown(name)}: {exc}") from None
    if len(text) > INPUT_LIST_MAX:
        raise UsageError(f"input list {outputs.shown(name)} is longer than "
                         f"{INPUT_LIST_MAX // 2**20} MiB: not a list of file names?")
    if "\0" in text:
        raise UsageError(f"input list {outputs.shown(name)} contains NUL bytes: not a list of "
                         "file names")
    return [line.rstrip("\r\n") for line in text.splitlines() if line.strip()]


def find_inputs(items: Iterable[str], exclude: Optional[Path] = None,
                template: Optional[str] = None,
                roots: Optional[dict[Path, Optional[Path]]] = None,
                sequences: bool = False) -> list[Path]:
    """Expand files, folders and glob patterns to input files, in order, each once.

    Folders are searched recursively for video extensions, skipping hidden files and folders
    and ffmotion's temporary files. Nothing in ``exclude`` (the output folder) is an input
    when the folder or pattern reaches into it from outside; when the output folder is the
    searched folder itself (``batch foot -o foot``), the files there whose names fit the
    output ``template`` are earlier outputs and are left out (with a note) - so reruns, also
    with another offset, never take outputs for inputs. Real paths are compared. A name that
    exists is taken literally even if it looks like a pattern; a pattern or folder that finds
    nothing is an error.

    ``roots`` (when given) receives, for each input, the folder it was found from (the
    argument, or a glob's fixed leading folders; None for a file named explicitly): the base
    of ``{relpath}``. ``sequences``: folders of images found are inputs too (one each).
    """
    found: list[Path] = []
    seen: set[Path] = set()
    skip = Path(os.path.realpath(exclude)) if exclude is not None else None
    looks_like_output = output_pattern(template) if template else None
    if looks_like_output is not None and looks_like_output.fullmatch("x.mp4"):
        looks_like_output = None  # a template like {stem}{ext} tells nothing apart
    left_out: list[Path] = []

    def add(path: Path, root: Optional[Path] = None) -> None:
        """``root``: the folder or pattern root that found ``path`` (None: named explicitly)."""
        key = Path(os.path.realpath(path))
        if skip is not None and _inside(key, skip):
            # a shell-expanded `foot/*.mp4 -o foot` names earlier outputs explicitly
            reaches_in = root is not None and not _inside(Path(os.path.realpath(root)), skip)
            if reaches_in or (looks_like_output is not None
                              and looks_like_output.fullmatch(path.name)):
                left_out.append(path)
                return
        if key not in seen:
            seen.add(key)
            found.append(path)
            if roots is not None:
                roots[path] = root

    for item in items:
        outputs.check_name_length(item, "input")
        path = Path(item).expanduser()
        if path.is_dir():
            matches = _search(path, skip)
            if sequences:
                matches += naming.image_folders(path, skip)
            if not matches:
                raise UsageError(f"no video files {'or image folders ' if sequences else ''}in "
                                 f"folder {item} "
                                 f"(extensions: {', '.join(sorted(VIDEO_EXTENSIONS))})"
                                 + ("" if sequences else f"; {field('sequences')} takes folders "
                                                         "of images"))
            for match in matches:
                add(match, path)
        elif path.exists() or not glob.has_magic(item):
            add(path)  # missing files are reported with the other checks
        else:
            matches = _glob(os.path.expanduser(item))
            files: list[Path] = []
            for match in matches:
                if match.is_dir():
                    files.extend(_search(match, skip))
                    if sequences:
                        files.extend(naming.image_folders(match, skip))
                elif runner.TEMP_MARK not in match.name and match.is_file():
                    files.append(match)
            if not files:
                raise UsageError(f"no files match {item}")
            root = _glob_root(os.path.expanduser(item))
            for match in files:
                add(match, root)
    if left_out:
        print(f"ffmotion: note: {len(left_out)} file(s) in the output folder left out of the "
              f"inputs (outputs of this or an earlier run, e.g. {outputs.shown(left_out[0])})",
              file=sys.stderr)
    if not found and left_out:
        raise UsageError("every input found is in the output folder: nothing to do "
                         f"(choose another {field('output_dir')})")
    return found


def _glob(pattern: str) -> list[Path]:
    """Sorted matches of a glob pattern. ``**`` does not follow links to folders: Python's
    glob does, and a link to a folder above it expands without end."""
    if "**" not in pattern:
        return [Path(m) for m in sorted(glob.glob(pattern))]
    root = _glob_root(pattern)
    rest = Path(pattern).parts[len(root.parts):]
    found: list[str] = []
    for here, dirs, files in os.walk(root, followlinks=False):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        rel = Path(here).relative_to(root).parts if here != str(root) else ()
        for name in sorted(dirs + [f for f in files if not f.startswith(".")]):
            if _glob_match((*rel, name), rest):
                found.append(os.path.join(here, name))
    return [Path(m) for m in sorted(found)]


def _glob_match(parts: tuple[str, ...], pattern: tuple[str, ...]) -> bool:
    """``parts`` (a relative path) matches ``pattern`` component by component; ``**``
    matches any number of components."""
    if not pattern:
        return not parts
    head, rest = pattern[0], pattern[1:]
    if head == "**":
        return any(_glob_match(parts[i:], rest) for i in range(len(parts) + 1))
    return bool(parts) and fnmatch.fnmatchcase(parts[0], head) and _glob_match(parts[1:], rest)


def _inside(path: Path, folder: Path) -> bool:
    """``path`` is ``folder`` or below it (both real paths)."""
    return path == folder or folder in path.parents


def _glob_root(pattern: str) -> Path:
    """The folder a glob pattern searches from: its leading components without magic."""
    parts = Path(pattern).parts
    fixed = []
    for part in parts[:-1]:
        if glob.has_magic(part):
            break
        fixed.append(part)
    return Path(*fixed) if fixed else Path(".")


def _search(folder: Path, exclude: Optional[Path]) -> list[Path]:
    """Video files below ``folder``: regular files only (a FIFO would block the probe for
    ever), links to folders not followed (they may loop)."""
    hits = []
    for root, dirs, files in os.walk(folder, followlinks=False):
        here = Path(root)
        dirs[:] = sorted(d for d in dirs if not d.startswith(".")
                         and (exclude is None or Path(os.path.realpath(here / d)) != exclude))
        for name in sorted(files):
            if (not name.startswith(".") and runner.TEMP_MARK not in name
                    and Path(name).suffix.lower() in VIDEO_EXTENSIONS
                    and (here / name).is_file()):
                hits.append(here / name)
    return hits
