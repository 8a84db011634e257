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
* **The picture size changes** within the frames read (a recording or concatenation whose
  size changes mid-stream, found by :mod:`ffmotion.media.decoded`): every frame is scaled to
  the size of the range's first frame, first of all (``scale``; the input is opened with
  ``-reinit_filter 0`` so that ffmpeg does not rebuild the graph at the change). Frames of
  that size pass the scaler unchanged; a range whose frames all have one size is not scaled.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, Literal, Optional

from ffmotion.core.errors import UsageError, field
from ffmotion.graph.node import Stream
from ffmotion.media.info import MediaInfo

Deinterlacer = Literal["bwdif", "yadif"]
DEINTERLACERS: tuple[Deinterlacer, ...] = ("bwdif", "yadif")


@dataclass(frozen=True)
class Resize:
    """Frames of several sizes scaled to one (the picture size changes mid-stream)."""

    width: int
    height: int
    sizes: tuple[tuple[int, int], ...]  # the sizes the frames read come in, in order

    def describe(self) -> str:
        seen = " -> ".join(f"{w}x{h}" for w, h in self.sizes)
        return f"frames scaled to {self.width}x{self.height} (the picture size changes: {seen})"


@dataclass(frozen=True)
class Picture:
    """What the prelude does: scale to one size, relabel full range, deinterlace (with
    which filter)."""

    full_range: bool = False  # the input is full range: keep its values, tag the output pc
    relabel: bool = False  # the decoder gives yuvj*: relabel as yuv* + pc (no value change)
    deinterlace: Optional[Deinterlacer] = None
    resize: Optional[Resize] = None

    @property
    def is_identity(self) -> bool:
        return not self.relabel and self.deinterlace is None and self.resize is None

    def describe(self) -> str:
        parts = []
        if self.resize is not None:
            parts.append(self.resize.describe())
        if self.full_range:
            parts.append("full range kept")
        if self.deinterlace:
            parts.append(f"deinterlaced ({self.deinterlace})")
        return ", ".join(parts)


def picture_for(info: MediaInfo, deinterlace: bool, resize: Optional[Resize] = None) -> Picture:
    """The prelude for ``info`` (``deinterlace``: the user asked for --deinterlace;
    ``resize``: the frames read come in several sizes, see :func:`frame_size`)."""
    return Picture(full_range=info.full_range and _is_yuv(info.pix_fmt),
                   relabel=info.pix_fmt.startswith("yuvj"),
                   deinterlace="bwdif" if deinterlace else None, resize=resize)


def frame_size(info: MediaInfo, first_read: int, first: int,
               end: int) -> tuple[MediaInfo, Optional[Resize]]:
    """``info`` sized as frame ``first`` is shown, and the scaling needed when the frames
    read (``first_read .. end-1``) come in several sizes (None: they all have one)."""
    index = info.index
    if index is None or not index.sizes:
        return info, None
    shown = next(run for run in reversed(index.sizes) if run.first <= first)
    width, height = shown.size
    coded = (height, width) if info.rotation in (90, 270) else (width, height)
    info = dataclasses.replace(info, width=coded[0], height=coded[1])
    runs = index.sizes_between(first_read, end)
    if len(runs) < 2:
        return info, None
    return info, Resize(width, height, tuple(run.size for run in runs))


def choose_deinterlacer(picture: Picture, available_filters: frozenset[str]) -> Picture:
    """``picture`` with a deinterlacer this build has (bwdif, else yadif)."""
    if picture.deinterlace is None or picture.deinterlace in available_filters:
        return picture
    for name in DEINTERLACERS:
        if name in available_filters:
            return dataclasses.replace(picture, deinterlace=name)
    raise UsageError(f"{field('deinterlace')} needs ffmpeg's bwdif or yadif filter, and this "
                     "ffmpeg has neither")


def prelude(video: Stream, picture: Optional[Picture]) -> Stream:
    """Apply the prelude to an ffmpeg-python stream straight from the decoder."""
    if picture is None:
        return video
    if picture.resize is not None:
        video = video.filter("scale", picture.resize.width, picture.resize.height)
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
            f"moving edges will comb in the motion output; add {field('deinterlace')} to "
            "deinterlace it "
            "(bwdif, frame rate kept) before extracting motion")


def _is_yuv(pix_fmt: str) -> bool:
    return pix_fmt.startswith(("yuv", "nv", "p0", "p2", "p4", "y2", "uyvy", "yvyu"))
