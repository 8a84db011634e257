"""Image sequences and timelapses as inputs: a folder of images, a printf pattern or a glob.

A name is read as a sequence only where the user asked for one (a folder, ``--sequence``,
``--framerate``); a plain name stays one file (:meth:`Source.file`).

ffmotion lists the images itself (natural order: ``img2`` before ``img10``; missing numbers
are skipped, so the frames are the images that exist, one after another at ``--framerate``)
and then names them to ffmpeg's image2 demuxer in a way that gives exactly that list in that
order, without any file of its own:

1. numbers that run without a gap: ``-pattern_type sequence -start_number N -i img%04d.png``
   (only when the next number does not exist either, as image2 reads on until a gap);
2. otherwise a glob whose matches, in byte order (how ffmpeg's glob() sorts them), are
   exactly the images in natural order: ``-pattern_type glob -i 'img*.png'`` (gaps in
   zero-padded numbers: the usual timelapse);
3. anything else (unpadded numbers with gaps, names whose byte order is not their natural
   order): every name in a brace glob, ``-pattern_type glob -i 'img{1,2,5,10}.png'``
   (glob(3) keeps the order of brace alternatives); past ~100 kB of names (the argument
   limit) one line says how to rename. Globbing needs an ffmpeg built with glob(): not the
   Windows builds.

Concat lists were measured and rejected: ffmpeg 5.1 drops the second image of an ffconcat
list of PNGs, and both builds give single-image entries broken timestamps.
"""
from __future__ import annotations

import glob as globbing
import os
import re
import stat
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import TYPE_CHECKING, Literal, Optional, Sequence, Union

from ffmotion.core.errors import MediaError, UsageError, field
from ffmotion.core.names import IMAGE2_EXTENSIONS
from ffmotion.core.request import DEFAULT_FRAMERATE, SequenceRequest
from ffmotion.core.source import Source

if TYPE_CHECKING:  # media.images is imported when pictures' headers are read
    from ffmotion.media.images import ImageHeader

# ffmpeg's own image2 default, so a printed command reads the same without the option

_PRINTF = re.compile(r"%(0\d+)?d")
_GLOB_CHARS = re.compile(r"[*?\[]")
_LAST_NUMBER = re.compile(r"^(.*?)(\d+)(\D*)$", re.DOTALL)
# the longest single argument Linux passes to a program is 128 KiB (MAX_ARG_STRLEN)
MAX_GLOB = 100_000


@dataclass(frozen=True)
class ImageSequence:
    """A resolved sequence: the images in order and how ffmpeg is told to read them."""

    spec: str  # as the user gave it (folder, pattern or glob)
    folder: Path
    files: tuple[Path, ...]
    framerate: Fraction
    name: str  # the word after -i
    pattern_type: Literal["sequence", "glob"]
    start_number: Optional[int] = None
    header: Optional[ImageHeader] = None  # the images' common header (PNG/JPEG), if read

    @property
    def rotation(self) -> int:
        """The display rotation ffmpeg applies from the images' EXIF orientation."""
        from ffmotion.media.images import ORIENTATION_ROTATION

        return ORIENTATION_ROTATION.get(self.header.orientation, 0) if self.header else 0

    def source(self) -> Source:
        """How every graph (and the probe) opens the sequence."""
        options: list[tuple[str, object]] = [("f", "image2"), ("pattern_type", self.pattern_type)]
        if self.start_number is not None:
            options.append(("start_number", self.start_number))
        options.append(("framerate", str(self.framerate)))
        return Source("sequence", self.name, tuple(options), self.folder)

    def describe(self) -> str:
        return (f"{len(self.files)} images {self.files[0].name} .. {self.files[-1].name} at "
                f"{_rate(self.framerate)} fps")


def _rate(rate: Fraction) -> str:
    return str(rate.numerator) if rate.denominator == 1 else f"{float(rate):.3f}".rstrip("0")


def natural_key(name: str) -> tuple:
    """Sort key: digit runs compare as numbers (img2 < img10), the rest as text."""
    parts = re.split(r"(\d+)", name)
    key = tuple((0, int(p), "") if p.isdigit() else (1, 0, p.casefold()) for p in parts if p)
    return key, name  # ties (case, zero padding) by the name itself


def wants_sequence(src: Union[str, Path]) -> bool:
    """Whether ``src`` is read as a sequence without being asked: only a folder."""
    return Path(src).is_dir()


def looks_like_sequence(src: Union[str, Path]) -> bool:
    """A name that would be a pattern or a glob if the user asked for a sequence (for a hint
    when it is not found as a file)."""
    name = Path(src).name
    return bool(_PRINTF.search(name.replace("%%", "")) or _GLOB_CHARS.search(os.fspath(src)))


def resolve(spec: Union[str, Path], request: SequenceRequest) -> ImageSequence:
    """The images ``spec`` (a folder, ``img%04d.png`` or ``'shots/*.jpg'``) names, in natural
    order, checked to share one size and format, and the image2 input that reads them."""
    text = os.path.expanduser(os.fspath(spec))
    path = Path(text)
    if path.is_dir():
        folder = path
        files = [folder / n for n in _listdir(folder) if _is_image(n) and _regular(folder / n)]
        if not files:
            raise UsageError(f"no images in the folder {text} (image files: .png .jpg .tif ...)")
        kinds = sorted({f.suffix.lower() for f in files})
        if len(kinds) > 1:
            counts = ", ".join(f"{sum(f.suffix.lower() == k for f in files)} {k}" for k in kinds)
            raise UsageError(f"mixed image formats in {text} ({counts}): choose one with a glob, "
                             f"e.g. {field('sequence')} '{os.path.join(text, '*' + kinds[0])}'")
    elif _PRINTF.search(path.name.replace("%%", "")):
        folder = path.parent
        regex = _printf_regex(path.name)
        files = [folder / n for n in _listdir(folder) if regex.match(n) and _regular(folder / n)]
        if not files:
            raise UsageError(f"no images match {text}")
    elif _GLOB_CHARS.search(text):
        matches = [Path(m) for m in globbing.glob(text) if _regular(Path(m))]
        if not matches:
            raise UsageError(f"no images match {text}")
        folders = {m.parent for m in matches}
        if len(folders) > 1:
            raise UsageError(f"{text} matches images in {len(folders)} folders: a sequence is "
                             "read from one folder")
        folder, files = folders.pop(), matches
    elif path.exists():
        raise UsageError(f"{text} is one file, not an image sequence: give a folder, a pattern "
                         "like img%04d.png or a glob like 'shots/*.jpg'")
    else:
        raise UsageError(f"input not found: {text}")
    not_images = [f for f in files if not _is_image(f.name)]
    if not_images:
        raise UsageError(f"{not_images[0]} is not an image ffmpeg reads as a sequence "
                         "(.png .jpg .tif .bmp .dpx .exr ...)")
    files.sort(key=lambda f: natural_key(f.name))
    header = check_same_pictures(files, text)
    name, kind, start = _expression(folder, [f.name for f in files])
    return ImageSequence(text, folder, tuple(files), request.framerate, name, kind, start, header)


def check_same_pictures(files: Sequence[Path], what: str) -> Optional[ImageHeader]:
    """The images' common header; one line naming the first image that differs.

    ffmpeg would rebuild its filter graph at a change of size or format (the pairing of
    frames restarts there); only PNG and JPEG headers are read.
    """
    from ffmotion.media.images import read_header

    first: Optional[ImageHeader] = None
    for i, path in enumerate(files):
        header = read_header(path)
        if header is None:
            return first
        if first is None:
            first = header
        elif header != first:
            raise MediaError(f"mixed pictures in {what}: {files[0].name} is {first.describe()}, "
                             f"{path.name} (image {i + 1} of {len(files)}) is "
                             f"{header.describe()}: give images of one size and format")
    return first


def _expression(folder: Path, names: list[str]) -> tuple[str, Literal["sequence", "glob"],
                                                          Optional[int]]:
    """The image2 input name (pattern type, start number) that reads exactly ``names``."""
    printf = _contiguous_pattern(folder, names)
    if printf is not None:
        return printf[0], "sequence", printf[1]
    globbed = _exact_glob(folder, names) or _listed_glob(folder, names)
    if len(globbed) > MAX_GLOB:
        raise UsageError(
            f"ffmpeg cannot read the {len(names)} images in {folder} in their natural order "
            f"({names[0]} .. {names[-1]}): their numbers have gaps and are not zero-padded (or "
            "their names sort differently as text), and listing them all is too long for one "
            "argument; rename them with zero-padded numbers (img0001.png, img0002.png ...)")
    return globbed, "glob", None


def _listed_glob(folder: Path, names: list[str]) -> str:
    """Every name, in order, as one brace expression: ``img{1,2,5,10}.png``. glob(3) globs
    the alternatives one by one and keeps their order (measured on 5.1 and 9.0.2)."""
    base = _glob_escape(os.path.join(str(folder), ""))
    if len(names) == 1:
        return base + _glob_escape(names[0])
    prefix = os.path.commonprefix(names)
    rests = [n[len(prefix):] for n in names]
    suffix = os.path.commonprefix([r[::-1] for r in rests])[::-1]
    middles = [r[:len(r) - len(suffix)] for r in rests]
    return (base + _glob_escape(prefix) + "{" + ",".join(_glob_escape(m, ",") for m in middles)
            + "}" + _glob_escape(suffix))


def _contiguous_pattern(folder: Path, names: list[str]) -> Optional[tuple[str, int]]:
    parts = [_LAST_NUMBER.match(n) for n in names]
    if not all(parts):
        return None
    prefix, suffix = parts[0].group(1), parts[0].group(3)  # type: ignore[union-attr]
    if any(m.group(1) != prefix or m.group(3) != suffix for m in parts):  # type: ignore[union-attr]
        return None
    digits = [m.group(2) for m in parts]  # type: ignore[union-attr]
    numbers = [int(d) for d in digits]
    if numbers != list(range(numbers[0], numbers[0] + len(numbers))):
        return None
    width = min(len(d) for d in digits)
    for spec in ("%d", f"%0{width}d"):
        if all(spec % n == d for n, d in zip(numbers, digits)):
            after = prefix + spec % (numbers[-1] + 1) + suffix
            if os.path.lexists(folder / after):  # image2 would read on
                return None
            pattern = _printf_escape(os.path.join(str(folder), prefix)) + spec + \
                _printf_escape(suffix)
            return pattern, numbers[0]
    return None


def _exact_glob(folder: Path, names: list[str]) -> Optional[str]:
    prefix = os.path.commonprefix(names)
    rests = [n[len(prefix):] for n in names]
    suffix = os.path.commonprefix([r[::-1] for r in rests])[::-1]
    matched = {n for n in _listdir(folder)
               if n.startswith(prefix) and n.endswith(suffix)
               and len(n) >= len(prefix) + len(suffix) and not (not prefix and n.startswith("."))}
    if matched != set(names):
        return None
    if sorted(names, key=os.fsencode) != names:  # glob() sorts bytes (ffmpeg runs in the C locale)
        return None
    return _glob_escape(os.path.join(str(folder), prefix)) + "*" + _glob_escape(suffix)


def _printf_regex(name: str) -> "re.Pattern[str]":
    """A regex for the names a printf pattern expands to (as image2 and our outputs do)."""
    out, i = "", 0
    for m in re.finditer(r"%%|%(0\d+)?d", name):
        out += re.escape(name[i:m.start()])
        out += "%" if m.group(0) == "%%" else r"(\d+)"
        i = m.end()
    return re.compile(out + re.escape(name[i:]) + r"\Z")


def _printf_escape(text: str) -> str:
    return text.replace("%", "%%")


def _glob_escape(text: str, more: str = "") -> str:
    # glob(3) with GLOB_BRACE, as image2 calls it: backslash escapes every special character
    return "".join("\\" + ch if ch in "\\*?[]{}" + more else ch for ch in text)


def _listdir(folder: Path) -> list[str]:
    try:
        return os.listdir(folder)
    except OSError as exc:
        raise UsageError(f"cannot list the folder {folder}: {exc.strerror or exc}") from None


def _regular(path: Path) -> bool:
    try:
        return stat.S_ISREG(os.stat(path).st_mode)
    except OSError:
        return False


def _is_image(name: str) -> bool:
    return not name.startswith(".") and "." in name and \
        name.rsplit(".", 1)[1].lower() in IMAGE2_EXTENSIONS


__all__ = ["DEFAULT_FRAMERATE", "ImageSequence", "SequenceRequest", "check_same_pictures",
           "looks_like_sequence", "natural_key", "resolve", "wants_sequence"]
