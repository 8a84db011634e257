"""File names handed to other programs: to ffmpeg as literal inputs, to a shell as one line.

Pure functions (no I/O): the graph and the probe ask here which input options keep a name
literal, batch asks here how to quote a name on a line of an emitted script.
"""
from __future__ import annotations

import re
import shlex
from pathlib import Path, PurePath
from typing import Any, Literal, Union

# The extensions ffmpeg's image2 demuxer claims by name (libavformat/img2.c, ff_img_tags; gif
# has a demuxer of its own). With a '%' in such a name, image2 reads a numbered sequence
# (img%d.png -> img1.png, img2.png...) instead of the file: measured on ffmpeg 5.1 and 9.0.
IMAGE2_EXTENSIONS = frozenset("""
    jpeg jpg jps mpo ljpg jls png pns mng ppm pnm pgm pgmyuv pbm pam pix dds mpg1-img
    mpg2-img mpg4-img y raw bmp tga tiff tif sgi ptx pcx qdraw pict pct sun ras rs im1 im8
    im24 im32 sunras j2c jp2 jpc j2k dpx exr pic yuv10 webp xbm xpm xface xwd img ximg timg
    vbn jxl qoi hdr wbmp cri
""".split())


def literal_input_args(path: Union[str, PurePath]) -> dict[str, Any]:
    """ffmpeg input options that make ``path`` be read as the one file it names.

    Only where image2 would take it as a pattern: ``-pattern_type none`` is an error ("Option
    not found") for any other demuxer on both 5.1 and 9.0, so it is not added everywhere;
    ``-f image2`` makes sure image2 (and so the option) applies.
    """
    name = PurePath(path).name
    ext = name.rsplit(".", 1)[-1].lower() if "." in name else ""
    if "%" in name and ext in IMAGE2_EXTENSIONS:
        return {"f": "image2", "pattern_type": "none"}
    return {}


def literal_input_argv(path: Union[str, PurePath]) -> list[str]:
    """:func:`literal_input_args` as argv words, to put before ``-i``."""
    words: list[str] = []
    for key, value in literal_input_args(path).items():
        words += [f"-{key}", str(value)]
    return words


_NEWLINE_VAR = "ffmotion_nl"


def _is_control(ch: str) -> bool:
    return ord(ch) < 32 or ord(ch) == 127


def sh_quote(word: str) -> str:
    """Quote ``word`` for a POSIX shell so that the result holds no control character.

    A newline inside single quotes is valid shell but splits the line for line-per-job
    runners (``parallel < jobs.sh``, ``xargs``). dash (Debian's sh) has no ``$'...'``, so
    control characters are produced by printf: ``"$(printf '\\001')"``, and newlines by
    ``"$ffmotion_nl"``, which :func:`sh_line` defines on lines that need it.
    """
    if not any(_is_control(c) for c in word):
        return shlex.quote(word)
    parts: list[str] = []
    run = ""
    for ch in word:
        if _is_control(ch):
            if run:
                parts.append(shlex.quote(run))
                run = ""
            parts.append(f'"${_NEWLINE_VAR}"' if ch == "\n" else f"\"$(printf '\\{ord(ch):03o}')\"")
        else:
            run += ch
    if run:
        parts.append(shlex.quote(run))
    return "".join(parts)


def sh_join(argv: list[str]) -> str:
    """``shlex.join`` that never puts a control character on the line."""
    return " ".join(sh_quote(word) for word in argv)


def newline_setup(line: str) -> str:
    """The prefix defining the newline variable, when ``line`` uses it ('' otherwise)."""
    if f"${_NEWLINE_VAR}" not in line:
        return ""
    # command substitution strips trailing newlines: keep one by a sentinel, then drop it
    return f"{_NEWLINE_VAR}=$(printf '\\nx'); {_NEWLINE_VAR}=${{{_NEWLINE_VAR}%x}}; "


__all__ = ["IMAGE2_EXTENSIONS", "literal_input_args", "literal_input_argv", "newline_setup",
           "sh_join", "sh_quote"]


# -- output names: what an output's name asks for ---------------------------------------------

OutputKind = Literal["video", "gif", "webp", "apng", "sequence"]

ANIMATED = {".gif": "gif", ".webp": "webp", ".apng": "apng"}
SEQUENCE_CODECS = {".png": "png", ".tif": "tiff", ".tiff": "tiff", ".jpg": "mjpeg",
                   ".jpeg": "mjpeg"}

_PATTERN = re.compile(r"%0?\d*d")


def is_sequence(dst: Path) -> bool:
    """``dst`` names an image sequence: an image extension and one ``%d``/``%04d`` field."""
    return dst.suffix.lower() in SEQUENCE_CODECS and len(_PATTERN.findall(dst.name)) == 1 \
        and "%" not in _PATTERN.sub("", dst.name)


def output_kind(dst: Path) -> OutputKind:
    """What ``dst`` asks for, by its extension (and a ``%04d`` field for a sequence)."""
    if is_sequence(dst):
        return "sequence"
    return ANIMATED.get(dst.suffix.lower(), "video")  # type: ignore[return-value]



def sequence_regex(dst: Path) -> re.Pattern[str]:
    """The file names a sequence pattern expands to (``out%04d.png`` -> out0001.png, ...)."""
    parts = _PATTERN.split(dst.name)
    field = _PATTERN.search(dst.name)
    assert field is not None
    width = field.group(0)[1:-1].lstrip("0")
    digits = rf"\d{{{width},}}" if width else r"\d+"
    return re.compile(re.escape(parts[0]) + f"({digits})" + re.escape(parts[1]) + "$")


def sequence_file(dst: Path, number: int) -> Path:
    """The file for frame ``number`` (numbered from 1) of the sequence ``dst``."""
    return dst.with_name(_PATTERN.sub(lambda m: m.group(0) % number, dst.name))
