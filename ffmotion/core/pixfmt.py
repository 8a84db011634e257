"""Pixel formats: which one the motion graph works in, and how its planes are laid out.

``negate`` and ``blend`` work natively on planar YUV, gray and planar RGB (``gbrp``) at
8 to 16 bits. Anything else (packed RGB, NV12, P010, alpha) is converted *on purpose* to the
nearest native format that loses nothing, instead of letting ffmpeg pick one silently (ffv1
RGB decodes as ``bgr0``, which ffmpeg would otherwise turn into 9-bit ``gbrp9le``).
"""
from __future__ import annotations

import re
from dataclasses import dataclass

_SUBSAMPLING = {  # yuvXXX -> (log2 horizontal, log2 vertical) chroma subsampling
    "444": (0, 0),
    "422": (1, 0),
    "420": (1, 1),
    "440": (0, 1),
    "411": (2, 0),
    "410": (2, 2),
}
_NATIVE = re.compile(
    r"^(?:yuvj?(444|422|420|440|411|410)p|gray|gbrp)(?:(9|10|12|14|16)le)?$"
)
_ALIASES = {
    "nv12": "yuv420p", "nv21": "yuv420p", "nv16": "yuv422p", "nv61": "yuv422p",
    "nv24": "yuv444p", "nv42": "yuv444p",
    "p010le": "yuv420p10le", "p010be": "yuv420p10le", "p012le": "yuv420p12le",
    "p016le": "yuv420p16le", "p210le": "yuv422p10le", "p410le": "yuv444p10le",
    "yuyv422": "yuv422p", "uyvy422": "yuv422p", "yvyu422": "yuv422p",
    "y210le": "yuv422p10le",
    "ya8": "gray", "ya16le": "gray16le", "monow": "gray", "monob": "gray",
    "gray14le": "gray16le",  # gray14 is the one depth blend lacks
    "x2rgb10le": "gbrp10le", "x2bgr10le": "gbrp10le",
}


def working_pix_fmt(decoded: str) -> str:
    """The format the motion graph runs in for an input decoded as ``decoded``.

    Native formats are kept as they are (no conversion, the faithful and fast choice); alpha
    is dropped; packed and semi-planar layouts become the planar format of the same depth.
    """
    name = decoded.lower()
    if name.endswith("be") and not name.startswith(("p0", "p2", "p4")):
        name = name[:-2] + "le"
    if name in _ALIASES:
        return _ALIASES[name]
    # full-range yuvj* frames are relabelled yuv* + range pc before the graph (graph.picture)
    name = re.sub(r"^yuvj", "yuv", name)
    if _NATIVE.match(name):
        return name
    stripped = re.sub(r"^yuva", "yuv", re.sub(r"^gbrap", "gbrp", name))
    if _NATIVE.match(stripped):
        return stripped
    depth = _depth_hint(name)
    suffix = "" if depth == 8 else f"{depth}le"
    if any(tag in name for tag in ("rgb", "bgr", "gbr", "pal8")):
        return f"gbrp{suffix}"
    if "gray" in name or name.startswith(("y8", "y16", "ya")):
        return f"gray{suffix}"
    return f"yuv444p{suffix}"


def _depth_hint(name: str) -> int:
    for depth, tags in ((16, ("48", "64", "16")), (12, ("12",)), (10, ("10", "30")), (9, ("9",))):
        if any(tag in name for tag in tags):
            return depth
    return 8


@dataclass(frozen=True)
class PlaneLayout:
    """Sizes of the planes of one raw frame in a native planar format."""

    pix_fmt: str
    width: int
    height: int
    depth: int
    planes: tuple[tuple[int, int], ...]  # (height, width) of each plane

    @property
    def bytes_per_sample(self) -> int:
        return 1 if self.depth <= 8 else 2

    @property
    def max_value(self) -> int:
        return (1 << self.depth) - 1

    @property
    def frame_bytes(self) -> int:
        return sum(h * w for h, w in self.planes) * self.bytes_per_sample


def plane_layout(pix_fmt: str, width: int, height: int) -> PlaneLayout:
    """The plane shapes of ``pix_fmt`` (which must be a native working format)."""
    match = _NATIVE.match(pix_fmt)
    if not match or pix_fmt in _ALIASES:
        raise ValueError(f"{pix_fmt} is not a planar working format")
    depth = int(match.group(2) or 8)
    if pix_fmt.startswith("gray"):
        planes: tuple[tuple[int, int], ...] = ((height, width),)
    elif pix_fmt.startswith("gbrp"):
        planes = ((height, width),) * 3
    else:
        sx, sy = _SUBSAMPLING[match.group(1)]
        cw, ch = -((-width) >> sx), -((-height) >> sy)
        planes = ((height, width), (ch, cw), (ch, cw))
    return PlaneLayout(pix_fmt, width, height, depth, planes)


def chroma_subsampling(pix_fmt: str) -> tuple[int, int]:
    """log2 of the horizontal and vertical chroma subsampling (``yuv420p`` -> (1, 1)).

    For formats this module does not lay out (anything not planar YUV) it is (0, 0).
    """
    match = _NATIVE.match(pix_fmt)
    if not match or not match.group(1):
        return (0, 0)
    return _SUBSAMPLING[match.group(1)]
