"""The graphs of ``ffmotion measure``: MEA counts and descriptors per region, the background's
changes, the regions' crops for displacement. Pure: builds ffmpeg-python graphs and argv.

**MEA** (one pass, numbers only)::

    in ─ prelude ─ [stabilize] ─ crop(union of the regions + margin) ─ format=gray ─ [lut: full]
       ─ settb,setpts=N ─ split ─┬────────────────────────────────┐
                                 └ trim=start_frame=K ─────────────┴ blend=difference   d = |g(t) - g(t+K)|
       ─ lut: 255 * (d > T) ─┬ per region: crop(region + margin) ─ [pad with 0 at the picture's
                             │  edges] ─ avgblur(r) ─ crop(region) ─ lut: 1 * (avg > 127)    b
                             └ ...

``avgblur`` of the 0/255 mask over the (2r+1)² window is 255·c/(2r+1)², c the changed pixels
in the window: above 127 exactly when c is a majority, which is exactly when the window's
median of d exceeds T (a median commutes with the threshold: both are monotone). So b is
``median(d) > T`` bit for bit without ffmpeg's median filter (~12x the decode's time at
720p). Zero padding at the picture's edges is MATLAB ``medfilt2``'s (and scipy's) default.

The numbers leave ffmpeg as one tiny gray16 row per frame: each region's **column sums**
(and, for the descriptors, its row sums), added up exactly by halving: the top half of the
rows plus the bottom half (``blend=addition``, exact while the sums fit: 8 bits while they stay
below 256, then 16 bits), until one row is left. Python reads the row (w + h numbers per
region, not a picture) and adds, weights and scans them (:mod:`ffmotion.pipeline.measure`).
"""
from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any, Optional, Sequence

import ffmpeg

from ffmotion.core.measure import MeasureSpec
from ffmotion.core.regions import Region, union
from ffmotion.graph.argv import GLOBAL_ARGS
from ffmotion.graph.extras import stabilize_video
from ffmotion.graph.motion import branches
from ffmotion.graph.picture import prelude
from ffmotion.graph.plan import Plan

# limited-range luma (16..235) stretched to 0..255 as an RGB decode and MATLAB's rgb2gray
# see it; floor(x + 0.5): lut truncates its expression's value
FULL_RANGE = "clip(floor((val-16)*255/219+0.5),0,255)"
DESCRIPTOR_MAX = 15  # the column chain of the descriptors adds 4-bit values (|d| in nibbles)
MAX_DESCRIPTOR_HEIGHT = 65535 // DESCRIPTOR_MAX  # 4369 rows: a column of nibbles fits 16 bits


@dataclass(frozen=True)
class Part:
    """Numbers of one region in the output row: ``kind`` "cols" (column sums: the changed
    pixels b; with the descriptors then the high and low nibbles of |d| on them) or "rows"
    (row sums of b)."""

    region: str
    kind: str
    width: int


@dataclass(frozen=True)
class Layout:
    """The row ffmpeg writes per motion frame: gray16 values, the parts one after another."""

    parts: tuple[Part, ...]

    @property
    def width(self) -> int:
        return sum(p.width for p in self.parts)


def expands(plan: Plan, spec: MeasureSpec) -> bool:
    """True when the gray picture is limited-range luma stretched to 0..255 (``gray`` full,
    a YUV input in TV range)."""
    info = plan.info
    return (spec.gray == "full" and not info.full_range
            and info.pix_fmt.startswith(("yuv", "nv", "p0", "p2", "p4", "y2", "uyvy", "yuyv")))


def _source(plan: Plan) -> Any:
    """The range's frames after the prelude and the stabilizer, as the motion run sees them."""
    source = ffmpeg.input(plan.info.input.name, **plan.input_args())
    video = prelude(plan.source_video(source), plan.picture)
    if plan.stabilizer is not None:
        video = stabilize_video(video, plan.stabilizer)
    return video


def _gray(video: Any, box: tuple[int, int, int, int], plan: Plan, spec: MeasureSpec,
          expand: bool) -> Any:
    x, y, w, h = box
    shown_w, shown_h = plan.info.display_size
    if (x, y, w, h) != (0, 0, shown_w, shown_h):
        video = video.filter("crop", w, h, x, y, exact=1)  # exact: luma cut where asked
    video = video.filter("format", "gray")
    if expand:
        video = video.filter("lut", c0=FULL_RANGE)
    return video


def _changes(plan: Plan, spec: MeasureSpec, box: tuple[int, int, int, int]) -> Any:
    """d = |g(t) - g(t+K)| over ``box`` (frames paired by index), N-K frames."""
    video = _gray(_source(plan), box, plan, spec, expands(plan, spec))
    tb = 1 / Fraction(plan.info.fps)
    indexed = video.filter("settb", f"{tb.numerator}/{tb.denominator}").setpts("N")
    top, shifted = branches(indexed, plan.k)
    return ffmpeg.filter([top, shifted], "blend", all_mode="difference", shortest=1)


def _split(stream: Any, n: int) -> list[Any]:
    if n == 1:
        return [stream]
    made = stream.split()
    return [made[i] for i in range(n)]


def _sums(stream: Any, axis: str, size: int, peak: int) -> Any:
    """Exact sums along ``axis`` ("rows": add the rows, leaving one row; "columns": add the
    columns, leaving one column) of a gray8 stream whose values are at most ``peak``; the
    result in gray16."""
    deep = False
    while size > 1:
        if not deep and 2 * peak > 255:
            # gray -> gray16 is v * 257 (ffmpeg-facts): back to v
            stream = stream.filter("format", "gray16").filter("lut", c0="val/257")
            deep = True
        half = (size + 1) // 2
        rest = size - half
        first, second = _split(stream, 2)
        if axis == "rows":
            first = first.filter("crop", "iw", half, 0, 0)
            second = second.filter("crop", "iw", rest, 0, half)
            if rest < half:
                second = second.filter("pad", "iw", half, 0, 0, color="black")
        else:
            first = first.filter("crop", half, "ih", 0, 0)
            second = second.filter("crop", rest, "ih", half, 0)
            if rest < half:
                second = second.filter("pad", half, "ih", 0, 0, color="black")
        stream = ffmpeg.filter([first, second], "blend", all_mode="addition")
        size = half
        peak *= 2
    if not deep:
        stream = stream.filter("format", "gray16").filter("lut", c0="val/257")
    return stream


def _changed(threshold: Any, changes: Optional[Any], region: Region, spec: MeasureSpec,
             box: tuple[int, int, int, int], size: tuple[int, int]) -> tuple[Any, Optional[Any]]:
    """(b: 1 where the region's median change exceeds the threshold, else 0; with the
    descriptors, |d| where b is 1, else 0), both cropped to the region."""
    ux, uy, _, _ = box
    m = spec.margin
    width, height = size
    left, top = min(m, region.x), min(m, region.y)
    right, bottom = min(m, width - region.right), min(m, height - region.bottom)
    mask = threshold.filter("crop", region.w + left + right, region.h + top + bottom,
                            region.x - left - ux, region.y - top - uy)
    if m:
        if (left, top, right, bottom) != (m, m, m, m):  # zeros beyond the picture's edges
            mask = mask.filter("pad", region.w + 2 * m, region.h + 2 * m, m - left, m - top,
                               color="black")
        mask = mask.filter("avgblur", sizeX=m, sizeY=m).filter("crop", region.w, region.h,
                                                                m, m)
        mask = mask.filter("lut", c0="255*gt(val,127)")
    if changes is None:
        return mask.filter("lut", c0="val/255"), None
    ones, keep = _split(mask, 2)
    d = changes.filter("crop", region.w, region.h, region.x - ux, region.y - uy)
    kept = ffmpeg.filter([d, keep], "blend", all_mode="and")
    return ones.filter("lut", c0="val/255"), kept


def mea_graph(plan: Plan, regions: Sequence[Region], spec: MeasureSpec) -> tuple[Any, Layout]:
    """The MEA pass: (the output node writing one gray16 row per motion frame to stdout, the
    row's layout)."""
    assert spec.threshold is not None
    size = plan.info.display_size
    box = union(regions, spec.margin, size)
    d = _changes(plan, spec, box)
    descriptors = spec.descriptors
    if descriptors:
        d, d_kept = _split(d, 2)
        kept_copies = _split(d_kept, len(regions))
    threshold = d.filter("lut", c0=f"255*gt(val,{spec.threshold})")
    masks = _split(threshold, len(regions))
    rows, parts = [], []
    for index, region in enumerate(regions):
        b, kept = _changed(masks[index], kept_copies[index] if descriptors else None, region,
                           spec, box, size)
        if not descriptors:
            rows.append(_sums(b, "rows", region.h, 1))
            parts.append(Part(region.name, "cols", region.w))
            continue
        assert kept is not None
        b_cols, b_rows = _split(b, 2)
        hi_src, lo_src = _split(kept, 2)
        hi = hi_src.filter("lut", c0="trunc(val/16)")
        lo = lo_src.filter("lut", c0="val-16*trunc(val/16)")
        stacked = ffmpeg.filter([b_cols, hi, lo], "hstack", inputs=3)
        rows.append(_sums(stacked, "rows", region.h, DESCRIPTOR_MAX))
        parts.append(Part(region.name, "cols", 3 * region.w))
        rows.append(_sums(b_rows, "columns", region.w, 1).filter("transpose", dir="clock"))
        parts.append(Part(region.name, "rows", region.h))
    row = rows[0] if len(rows) == 1 else ffmpeg.filter(rows, "hstack", inputs=len(rows))
    out = ffmpeg.output(row, "pipe:", f="rawvideo", pix_fmt="gray16le", fps_mode="passthrough")
    return out, Layout(tuple(parts))


def mea_command(plan: Plan, regions: Sequence[Region], spec: MeasureSpec,
                ffmpeg_bin: str) -> tuple[list[str], Layout]:
    """argv of the MEA pass (its numbers on stdout) and the layout of its rows."""
    out, layout = mea_graph(plan, regions, spec)
    return [ffmpeg_bin, *GLOBAL_ARGS, *out.get_args()], layout


def changes_command(plan: Plan, region: Region, spec: MeasureSpec,
                    ffmpeg_bin: str) -> list[str]:
    """argv writing the background region's changes d = |g(t) - g(t+K)| (gray8, the region's
    size, before any median) to stdout, one frame per motion frame."""
    box = (region.x, region.y, region.w, region.h)
    out = ffmpeg.output(_changes(plan, spec, box), "pipe:", f="rawvideo", pix_fmt="gray",
                        fps_mode="passthrough")
    return [ffmpeg_bin, *GLOBAL_ARGS, *out.get_args()]


def crops_command(plan: Plan, boxes: Sequence[tuple[int, int, int, int]],
                  ffmpeg_bin: str) -> tuple[list[str], int, int]:
    """argv writing the crops ``boxes`` (x, y, w, h) of every frame side by side, gray8, each
    padded to the tallest, to stdout; and that frame's (width, height). The whole picture
    never leaves ffmpeg: only these crops do."""
    video = _source(plan)
    height = max(b[3] for b in boxes)
    crops = []
    for index, part in enumerate(_split(video, len(boxes))):
        x, y, w, h = boxes[index]
        crop = part.filter("crop", w, h, x, y, exact=1).filter("format", "gray")
        if h < height:
            crop = crop.filter("pad", w, height, 0, 0, color="black")
        crops.append(crop)
    row = crops[0] if len(crops) == 1 else ffmpeg.filter(crops, "hstack", inputs=len(crops))
    out = ffmpeg.output(row, "pipe:", f="rawvideo", pix_fmt="gray", fps_mode="passthrough")
    return ([ffmpeg_bin, *GLOBAL_ARGS, *out.get_args()], sum(b[2] for b in boxes), height)


def shown_command(argv: list[str], numbers: Optional[Path] = None) -> list[str]:
    """``argv`` as a person would run it: its numbers to the file ``numbers`` instead of the
    pipe ffmotion reads (``-`` kept when None)."""
    if numbers is None or "pipe:" not in argv:
        return list(argv)
    return [str(numbers) if word == "pipe:" else word for word in argv]


__all__ = ["FULL_RANGE", "Layout", "MAX_DESCRIPTOR_HEIGHT", "Part", "changes_command",
           "crops_command", "expands", "mea_command", "mea_graph", "shown_command"]
