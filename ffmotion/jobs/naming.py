"""Batch inputs that mirror folders: ``{dir}`` and ``{relpath}``, image-sequence folders,
and the output sub-folders those names need.

A camera card repeats file names in each folder (``DCIM/100CANON/MVI_0001.MP4``,
``DCIM/101CANON/MVI_0001.MP4``): ``--name '{relpath}_motion{ext}'`` keeps the card's folders
under the output folder, ``--name '{dir}_{stem}{ext}'`` puts the folder into the name.
"""
from __future__ import annotations

import os
import re
import stat
import string
from pathlib import Path, PurePosixPath
from typing import Iterable, Optional

from ffmotion.core.errors import UsageError, field
from ffmotion.core.names import IMAGE2_EXTENSIONS
from ffmotion.run import outputs


def relpath_field(src: Path, root: Optional[Path]) -> str:
    """``{relpath}``: ``src`` relative to the argument that found it (a folder, or a glob's
    fixed leading folders), without the extension, folders kept with ``/``. A file named
    explicitly is its stem; an image-sequence folder keeps its whole name."""
    is_folder = src.is_dir()
    if root is None or os.path.realpath(src) == os.path.realpath(root):
        return src.absolute().name if is_folder else src.stem
    try:
        rel = Path(os.path.abspath(src)).relative_to(os.path.abspath(root))
    except ValueError:
        return src.absolute().name if is_folder else src.stem
    parts = list(rel.parts)
    if not is_folder:
        parts[-1] = Path(parts[-1]).stem
    return str(PurePosixPath(*parts))


def dir_field(src: Path) -> str:
    """``{dir}``: the name of the folder holding the input (a sequence folder's parent)."""
    return Path(os.path.abspath(src)).parent.name


def stem_field(src: Path) -> str:
    """``{stem}``: the file name without extension; an image-sequence folder's name."""
    return src.absolute().name if src.is_dir() else src.stem


def check_relative_name(name: str, src: Path) -> None:
    """A name with folders (from ``{relpath}``) stays inside the output folder."""
    parts = name.split("/")
    if name.startswith("/") or any(p in ("", ".", "..") for p in parts) or "\0" in name \
            or (os.sep != "/" and os.sep in name):
        raise UsageError(f"{field('name')} gives {outputs.shown(name)!r} for "
                         f"{outputs.shown(src)}: a name inside the output folder is needed")


def image_folders(folder: Path, exclude: Optional[Path] = None) -> list[Path]:
    """Folders at or below ``folder`` that directly hold image files (each one sequence),
    in natural order; hidden folders and links to folders are not entered."""
    from ffmotion.media.sequence import natural_key

    found = []
    for here, dirs, files in os.walk(folder, followlinks=False):
        dirs[:] = sorted((d for d in dirs if not d.startswith(".")
                          and (exclude is None or Path(os.path.realpath(Path(here) / d)) != exclude)),
                         key=natural_key)
        if any(_is_image(Path(here) / name) for name in files):
            found.append(Path(here))
    return found


def _is_image(path: Path) -> bool:
    name = path.name
    if name.startswith(".") or "." not in name:
        return False
    if name.rsplit(".", 1)[1].lower() not in IMAGE2_EXTENSIONS:
        return False
    try:
        return stat.S_ISREG(os.stat(path).st_mode)
    except OSError:
        return False


def make_output_folders(outdir: Path, targets: Iterable[Path]) -> list[Path]:
    """Create the sub-folders of ``outdir`` the outputs need (``{relpath}`` names); returns
    the folders created, deepest last, so a failed check can remove them again.

    Under the safe-write rule: never through a link (a planted link would send outputs
    elsewhere), never over a file; nothing outside ``outdir``.
    """
    created: list[Path] = []
    root = Path(os.path.abspath(outdir))
    for target in sorted({Path(os.path.abspath(t)).parent for t in targets}):
        try:
            rel = target.relative_to(root)
        except ValueError:
            raise UsageError(f"output {outputs.shown(target)} is outside the output folder "
                             f"{outputs.shown(root)}") from None
        here = root
        for part in rel.parts:
            here = here / part
            if os.path.lexists(here):
                mode = os.lstat(here).st_mode
                if stat.S_ISLNK(mode) or not stat.S_ISDIR(mode):
                    raise UsageError(f"cannot make the output folder {outputs.shown(here)}: "
                                     "a file or link is in the way")
                continue
            try:
                os.mkdir(here)
            except OSError as exc:
                raise UsageError(f"cannot create the output folder {outputs.shown(here)}: "
                                 f"{exc.strerror or exc}") from None
            created.append(here)
    return created


def output_pattern(template: str) -> "re.Pattern[str]":
    """A regex matching every name ``template`` can give (any stem, offset, mode, ext)."""
    pieces = []
    for literal, name, spec, conversion in string.Formatter().parse(template):
        pieces.append(re.escape(literal))
        if name is None:
            continue
        if spec or conversion:
            pieces.append(".*")
        elif name == "ext":
            pieces.append(r"\.[^./]+")
        elif name == "mode":
            pieces.append("(?:offset|freeze)")
        else:
            pieces.append(".+?")
    return re.compile("".join(pieces), re.DOTALL)


__all__ = ["check_relative_name", "dir_field", "image_folders", "make_output_folders",
           "output_pattern", "relpath_field", "stem_field"]
