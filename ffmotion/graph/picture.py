"""The picture prelude: what every graph does to the decoded frames before anything else.

Pure, like :mod:`ffmotion.graph`. Applied right after the decoder in every command (the
motion graph and its second input, stabilization pass 1, sheet, energy), so every pass sees
the same frames:

* **Full range** (``yuvj420p``, or any YUV flagged ``pc``): ``yuvj*`` frames are relabelled
  ``yuv*`` with range pc by ``scale=out_range=pc`` (same range in and out: swscale copies the
  planes, no value changes), so the working format is a plain ``yuv*`` and no later
  conversion (the encoder's ``-pix_fmt yuv420p``, FFV1, vid.stab) squeezes the values to
  16..235. The output is tagged ``-color_range pc``.
* **Interlaced** input, with ``--deinterlace``: ``bwdif`` (``yadif`` on builds without it) in
  ``send_frame`` mode, one frame out per frame in, so the frame rate and frame count are kept.
* **Rotation** needs nothing here: ffmpeg autorotates (a transpose before the graph); the
  graph only has to know the displayed size (:attr:`MediaInfo.display_size`).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal, Optional

from ..errors import UsageError
from ..media.probe import MediaInfo

Deinterlacer = Literal["bwdif", "yadif"]
DEINTERLACERS: tuple[Deinterlacer, ...] = ("bwdif", "yadif")


@dataclass(frozen=True)
class Picture:
    """What the prelude does: relabel full range, deinterlace (with which filter)."""

    full_range: bool = False  # the input is full range: keep its values, tag the output pc
    relabel: bool = False  # the decoder gives yuvj*: relabel as yuv* + pc (no value change)
    deinterlace: Optional[Deinterlacer] = None

    @property
    def is_identity(self) -> bool:
        return not self.relabel and self.deinterlace is None

    def describe(self) -> str:
        parts = []
        if self.full_range:
            parts.append("full range kept")
        if self.deinterlace:
            parts.append(f"deinterlaced ({self.deinterlace})")
        return ", ".join(parts)


def picture_for(info: MediaInfo, deinterlace: bool) -> Picture:
    """The prelude for ``info`` (``deinterlace``: the user asked for --deinterlace)."""
    return Picture(full_range=info.full_range and _is_yuv(info.pix_fmt),
                   relabel=info.pix_fmt.startswith("yuvj"),
                   deinterlace="bwdif" if deinterlace else None)


def choose_deinterlacer(picture: Picture, available_filters: frozenset[str]) -> Picture:
    """``picture`` with a deinterlacer this build has (bwdif, else yadif)."""
    if picture.deinterlace is None or picture.deinterlace in available_filters:
        return picture
    for name in DEINTERLACERS:
        if name in available_filters:
            return Picture(picture.full_range, picture.relabel, name)
    raise UsageError("--deinterlace needs ffmpeg's bwdif or yadif filter, and this ffmpeg has "
                     "neither")


def prelude(video: Any, picture: Optional[Picture]) -> Any:
    """Apply the prelude to an ffmpeg-python stream straight from the decoder."""
    if picture is None:
        return video
    if picture.relabel:
        video = video.filter("scale", out_range="pc")
    if picture.deinterlace is not None:
        # send_frame: one output frame per input frame (the rate is kept); auto parity reads
        # the field order from the frames; deint=all: every frame is treated as interlaced
        video = video.filter(picture.deinterlace, mode="send_frame", parity="auto", deint="all")
    return video


def output_args(picture: Optional[Picture], working: str,
                out_pix_fmt: Optional[str]) -> dict[str, Any]:
    """Encoder flags: full range tagged as such, deinterlaced output flagged progressive.

    Only YUV values computed in full range are tagged pc. A look that works in RGB (``gbrp``)
    leaves the conversion back to YUV to ffmpeg, which writes TV range by default (ffmpeg
    5.1 ignores ``-color_range`` there): tagging it pc would stretch the picture.
    """
    args: dict[str, Any] = {}
    if picture is None:
        return args
    out = out_pix_fmt or working
    if picture.full_range and _is_yuv(working) and _is_yuv(out):
        args["color_range"] = "pc"
    if picture.deinterlace is not None:
        args["field_order"] = "progressive"
    return args


def interlace_warning(info: MediaInfo) -> Optional[str]:
    """The warning for interlaced input processed without --deinterlace (None otherwise)."""
    if not info.interlaced:
        return None
    order = {"tt": "top field first", "bb": "bottom field first",
             "tb": "top field first, swapped", "bt": "bottom field first, swapped"}
    return (f"{info.path.name} is interlaced ({order.get(info.field_order, info.field_order)}): "
            "moving edges will comb in the motion output; add --deinterlace to deinterlace it "
            "(bwdif, frame rate kept) before extracting motion")


def _is_yuv(pix_fmt: str) -> bool:
    return pix_fmt.startswith(("yuv", "nv", "p0", "p2", "p4", "y2", "uyvy", "yvyu"))
