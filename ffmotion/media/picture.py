"""Picture facts of a video stream: display rotation, field order (interlacing), colour range.

Read from the stream line and the side data that ``ffmpeg -i`` logs (the probe needs no
ffprobe)::

    Stream #0:0: Video: h264 (Main), yuvj420p(pc, bt709, top first), 1920x1080, ...
        Side data:
          displaymatrix: rotation of -90.00 degrees      (ffmpeg 5/6; 7+: "Display Matrix: ...")
"""
from __future__ import annotations

import re
from typing import Any, Iterable

_FIELD_WORDS = {  # ffmpeg -i's words -> ffprobe's field_order values
    "top first": "tt",
    "bottom first": "bb",
    "top coded first (swapped)": "tb",
    "bottom coded first (swapped)": "bt",
}
FIELD_ORDERS = ("tt", "bb", "tb", "bt")
_ROTATION = re.compile(r"display ?matrix: rotation of (-?\d+(?:\.\d+)?) degrees", re.IGNORECASE)


def normalize_rotation(degrees: float) -> int:
    """A display-matrix angle (ffmpeg: counterclockwise, may be negative) as 0/90/180/270.

    Angles that are not a multiple of 90 (never written by cameras) count as 0: ffmpeg
    autorotates only by multiples of 90 too.
    """
    turns = round(float(degrees)) % 360
    return turns if turns in (0, 90, 180, 270) else 0


def from_ffmpeg_log(pix_fmt_field: str, side_lines: Iterable[str]) -> dict[str, Any]:
    """MediaInfo fields from ``ffmpeg -i``: the pixel-format field of the stream line
    (``yuvj420p(pc, bt709, top first)``) and the lines logged under that stream."""
    inside = pix_fmt_field.split("(", 1)[1].rsplit(")", 1)[0] if "(" in pix_fmt_field else ""
    words = [w.strip() for w in re.split(r",(?![^(]*\))", inside)]
    field = next((_FIELD_WORDS[w] for w in words if w in _FIELD_WORDS), "progressive")
    rotation = 0
    for line in side_lines:
        match = _ROTATION.search(line)
        if match:
            rotation = normalize_rotation(float(match.group(1)))
            break
        tag = re.match(r"^\s*rotate\s*:\s*(-?\d+)\s*$", line)
        if tag:
            rotation = normalize_rotation(-int(tag.group(1)))
    full = "pc" in words or pix_fmt_field.startswith("yuvj")
    return {"rotation": rotation, "field_order": field, "color_range": "pc" if full else "tv"}


# transfer characteristics of high dynamic range video: PQ (HDR10, Dolby Vision) and HLG
HDR_TRANSFERS = {"smpte2084": "PQ", "arib-std-b67": "HLG"}


def colorimetry_of(pix_fmt_field: str) -> tuple[str, str, str]:
    """(matrix, primaries, transfer) as ffmpeg names them in the pixel-format field
    (``yuv420p(tv, bt709)``: one word for the three; ``bt470bg/bt470bg/smpte170m``: each);
    "" for what is not given."""
    inside = pix_fmt_field.split("(", 1)[1].rsplit(")", 1)[0] if "(" in pix_fmt_field else ""
    for word in (w.strip() for w in re.split(r",(?![^(]*\))", inside)):
        parts = word.split("/")
        if len(parts) == 3:
            space, primaries, transfer = ("" if p == "unknown" else p for p in parts)
            return space, primaries, transfer
        if word.startswith(("bt", "smpte", "fcc", "ycgco")) and word not in _FIELD_WORDS:
            return word, word, word
    return "", "", ""


def transfer_of(pix_fmt_field: str) -> str:
    """The transfer characteristic in the pixel-format field's words
    (``yuv420p10le(tv, SPACE/PRIMARIES/TRANSFER, ...)``; one word stands for all three where
    they agree, e.g. ``bt709``); "" when not given."""
    inside = pix_fmt_field.split("(", 1)[1].rsplit(")", 1)[0] if "(" in pix_fmt_field else ""
    for word in (w.strip() for w in re.split(r",(?![^(]*\))", inside)):
        parts = word.split("/")
        if len(parts) == 3:
            return "" if parts[2] == "unknown" else parts[2]
        if word in HDR_TRANSFERS or word.startswith("bt"):
            return word
    return ""

