"""The graphs of ``ffmotion measure``: MEA counts and descriptors per region, the background's
changes, the regions' crops for displacement. Pure: builds ffmpeg-python graphs and argv.

**MEA** (one pass, numbers only)::

    in ─ prelude ─ [stabilize] ─ crop(union of the regions + margin) ─ Y plane ─ [lut: full]
       ─ settb,setpts=N ─ split ─┬────────────────────────────────┐
                                 └ trim=start_frame=K ─────────────┴ blend=difference   d = |g(t) - g(t+K)|
       ─ lut: 255 * (d > T) ─ [pad with 0 at the picture's edges] ─ avgblur(r) ─ crop(union)
       ─ lut: avg > 127 ─┬ per region: crop(region) ─ partial sums                        b
                         └ ...

``avgblur`` of the 0/255 mask over the (2r+1)² window is 255·c/(2r+1)², c the changed pixels
in the window: above 127 exactly when c is a majority, which is exactly when the window's
median of d exceeds T (a median commutes with the threshold: both are monotone). So b is
``median(d) > T`` bit for bit without ffmpeg's median filter (~12x the decode's time at
720p). Zero padding at the picture's edges is MATLAB ``medfilt2``'s (and scipy's) default.

The numbers leave ffmpeg as a small gray8 block per frame: each region's **partial column
sums** (and, for the descriptors, its row sums), added by halving: the top half of the rows
plus the bottom half (``blend=addition``), :data:`LEVELS` times (h/16 rows left; the sums
stay below 256: at most 16 ones, or 16 nibbles of |d|). Every stage is pinned to gray8
(``format=gray``): a 16-bit format downstream would have ffmpeg negotiate the arithmetic above
it in 16 bits. Python reads the block (w·h/16 partial sums per region, never a picture) and
adds, weights and scans them (:mod:`ffmotion.pipeline.measure`).

The gray picture of 8-bit planar YUV is its Y plane taken as decoded (``extractplanes=y``;
``format=gray`` would have swscale stretch TV range with its own rounding), stretched to
0..255 by ``lut`` when TV range (see :data:`FULL_RANGE`); other formats go through
``format=gray`` (swscale).
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
LEVELS = 4  # halvings: h/16 rows left (each level is a blend per region; more cost ffmpeg
# more than Python spends adding the rows: 720p, 4 regions, 8 levels 2.25 s, 4 levels 1.49 s,
# a plain decode 1.2 s); 4 levels of 4-bit values (peak 15) still fit 8 bits
DESCRIPTOR_MAX = 15  # the column chain of the descriptors adds 4-bit values (|d| in nibbles)


@dataclass(frozen=True)
class Part:
    """Numbers of one region in the output block: ``kind`` "cols" (partial column sums: the
    changed pixels b; with the descriptors then the high and low nibbles of |d| on them) or
    "rows" (partial row sums of b, transposed: one column of the block per row of the
    region)."""

    region: str
    kind: str
    width: int


@dataclass(frozen=True)
class Layout:
    """The block ffmpeg writes per motion frame: gray8, ``height`` rows of partial sums (add
    them up: the column sums), the parts side by side."""

    parts: tuple[Part, ...]
    height: int

    @property
    def width(self) -> int:
        return sum(p.width for p in self.parts)

    @property
    def frame_bytes(self) -> int:
        return self.width * self.height


def expands(plan: Plan, spec: MeasureSpec) -> bool:
    """True when the gray picture is limited-range luma stretched to 0..255 (``gray`` full,
    a YUV input in TV range)."""
    info = plan.info
    return spec.gray == "full" and not info.full_range and _luma_plane(info.pix_fmt)


def _luma_plane(pix_fmt: str) -> bool:
    """An 8-bit planar YUV format: its Y plane is the gray picture, copied as decoded."""
    return (pix_fmt.startswith(("yuv", "yuvj")) and pix_fmt.endswith("p")
            and not pix_fmt.startswith("yuva"))


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
    if _luma_plane(plan.info.pix_fmt):
        # the decoded Y plane as it is: format=gray would have swscale stretch TV range
        video = video.filter("extractplanes", "y")
    else:
        video = video.filter("format", "gray")
    video = _pin(video)
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


def _pin(stream: Any) -> Any:
    """Keep ``stream`` in gray8: a later 16-bit format must not make ffmpeg negotiate the
    arithmetic above it in 16 bits."""
    return stream.filter("format", "gray")


def _sums(stream: Any, size: int, peak: int, across: bool = False) -> tuple[Any, int]:
    """Exact partial sums of the rows (``across``: of the columns) of a gray8 stream whose
    values are at most ``peak``: the top half of the rows plus the bottom half (the left half
    of the columns plus the right half; ``blend=addition``), :data:`LEVELS` times while a sum
    stays below 256. Returns (the stream, its rows (columns) left): adding those up gives the
    column (row) sums."""
    for _ in range(LEVELS):
        if size == 1 or 2 * peak > 255:
            break
        half = (size + 1) // 2
        rest = size - half
        first, second = _split(stream, 2)
        if across:
            first = first.filter("crop", half, "ih", 0, 0)
            second = second.filter("crop", rest, "ih", half, 0)
            if rest < half:
                second = second.filter("pad", half, "ih", 0, 0, color="black")  # gray: 0
        else:
            first = first.filter("crop", "iw", half, 0, 0)
            second = second.filter("crop", "iw", rest, 0, half)
            if rest < half:
                second = second.filter("pad", "iw", half, 0, 0, color="black")
        stream = _pin(ffmpeg.filter([first, second], "blend", all_mode="addition"))
        size = half
        peak *= 2
    return stream, size


def _median_mask(threshold: Any, box: tuple[int, int, int, int],
                 inner: tuple[int, int, int, int], m: int, ones: bool) -> Any:
    """``median(d) > T`` over ``inner`` (the regions' union) from the 0/255 mask ``d > T``
    over ``box`` (the union grown by the margin m, cut to the picture): padded with zeros
    where the picture ends, box-averaged, a majority kept. 0/1 when ``ones``, else 0/255."""
    bx, by, bw, bh = box
    ix, iy, iw, ih = inner
    high = "gt(val,127)" if ones else "255*gt(val,127)"
    if not m:
        return _pin(threshold.filter("lut", c0="val/255")) if ones else threshold
    left, top = m - (ix - bx), m - (iy - by)
    right, bottom = m - (bx + bw - ix - iw), m - (by + bh - iy - ih)
    mask = threshold
    if (left, top, right, bottom) != (0, 0, 0, 0):  # zeros beyond the picture's edges
        mask = mask.filter("pad", bw + left + right, bh + top + bottom, left, top,
                           color="black")
    mask = mask.filter("avgblur", sizeX=m, sizeY=m).filter("crop", iw, ih, m, m)
    return _pin(mask.filter("lut", c0=high))


def _stacked(streams: list[Any], sizes: list[int], vertical: bool = False) -> Any:
    """``streams`` side by side (``vertical``: one above the other), each of height (width)
    ``sizes[i]`` padded with zeros to the largest: the zeros add nothing to a sum."""
    most = max(sizes)
    padded = []
    for stream, size in zip(streams, sizes):
        if size < most:
            stream = stream.filter("pad", most if vertical else "iw", "ih" if vertical else most,
                                   0, 0, color="black")
        padded.append(_pin(stream))
    if len(padded) == 1:
        return padded[0]
    return _pin(ffmpeg.filter(padded, "vstack" if vertical else "hstack", inputs=len(padded)))


def _transposed(stream: Any) -> Any:
    return _pin(stream.filter("transpose", dir="cclock_flip"))


def mea_graph(plan: Plan, regions: Sequence[Region], spec: MeasureSpec) -> tuple[Any, Layout]:
    """The MEA pass: (the output node writing one gray8 block of partial sums per motion
    frame to stdout, the block's layout)."""
    assert spec.threshold is not None
    size = plan.info.display_size
    box = union(regions, spec.margin, size)
    inner = union(regions, 0, size)
    d = _pin(_changes(plan, spec, box))
    descriptors = spec.descriptors
    if descriptors:
        d, d_kept = _split(d, 2)
    threshold = d.filter("lut", c0=f"255*gt(val,{spec.threshold})")
    # one median over the regions' union: a region's border pixels read their real
    # neighbours, and zeros only beyond the picture, as a median of the whole picture would
    mask = _median_mask(threshold, box, inner, spec.margin, ones=not descriptors)
    blocks: list[tuple[Any, int]] = []
    parts = []
    n = len(regions)

    def cut(stream: Any, region: Region) -> Any:
        return stream.filter("crop", region.w, region.h, region.x - inner[0],
                             region.y - inner[1])

    if not descriptors:
        crops = [_pin(cut(b, region)) for region, b in zip(regions, _split(mask, n))]
        blocks.append(_sums(_stacked(crops, [r.h for r in regions]), max(r.h for r in regions),
                            1))
        parts += [Part(region.name, "cols", region.w) for region in regions]
    else:
        # over the union once: b (0/1), and |d| on b in nibbles (hi, lo); each region then
        # crops the three; all the crops side by side (padded with zeros to the tallest) are
        # halved as one picture for the columns' sums, all one above the other (padded to
        # the widest) halved across for the rows' (then the small block transposed:
        # cclock_flip puts input (y, x) at (x, y), a column per row). One stack halved costs
        # ffmpeg less than each crop halved on its own (many small blends).
        ones_src, keep = _split(mask, 2)
        changes = d_kept.filter("crop", inner[2], inner[3], inner[0] - box[0],
                                inner[1] - box[1])
        kept = _pin(ffmpeg.filter([changes, keep], "blend", all_mode="and"))
        hi_src, lo_src = _split(kept, 2)
        planes = [_split(_pin(ones_src.filter("lut", c0="val/255")), 2 * n),
                  _split(_pin(hi_src.filter("lut", c0="trunc(val/16)")), 2 * n),
                  _split(_pin(lo_src.filter("lut", c0="val-16*trunc(val/16)")), 2 * n)]
        cols = [cut(plane[2 * index], region) for index, region in enumerate(regions)
                for plane in planes]
        rows = [cut(plane[2 * index + 1], region) for index, region in enumerate(regions)
                for plane in planes]
        blocks.append(_sums(_stacked(cols, [r.h for r in regions for _ in planes]),
                            max(r.h for r in regions), DESCRIPTOR_MAX))
        across, left = _sums(_stacked(rows, [r.w for r in regions for _ in planes],
                                      vertical=True),
                             max(r.w for r in regions), DESCRIPTOR_MAX, across=True)
        blocks.append((_transposed(across), left))
        parts += [Part(region.name, "cols", 3 * region.w) for region in regions]
        parts += [Part(region.name, "rows", 3 * region.h) for region in regions]
    height = max(rows for _, rows in blocks)
    padded = [stream if rows == height else
              _pin(stream.filter("pad", "iw", height, 0, 0, color="black"))
              for stream, rows in blocks]
    block = (padded[0] if len(padded) == 1
             else ffmpeg.filter(padded, "hstack", inputs=len(padded)))
    out = ffmpeg.output(_pin(block), "pipe:", f="rawvideo", pix_fmt="gray",
                        fps_mode="passthrough")
    return out, Layout(tuple(parts), height)


SERIAL_UP_TO = 4  # CPUs: up to this many, the graph runs on one filter thread


def graph_threads(plan: Plan) -> list[str]:
    """``-filter_complex_threads``: the options' ``--threads`` when given; else 1 on a
    machine of up to :data:`SERIAL_UP_TO` CPUs. The graphs here are many small filters (crops,
    blends of a few rows): slicing each frame over threads costs more than it saves there,
    and the graph already runs beside the decoder's threads (2 CPUs, 720p, 4 regions: 1.8x
    the decode's wall time with ffmpeg's default, 1.45x with one thread; measured on 2 CPUs
    only, so more CPUs keep ffmpeg's default). Threads never change the numbers."""
    threads = plan.request.threads or (1 if plan.cpus <= SERIAL_UP_TO else 0)
    return ["-filter_complex_threads", str(threads)] if threads else []


def mea_command(plan: Plan, regions: Sequence[Region], spec: MeasureSpec,
                ffmpeg_bin: str) -> tuple[list[str], Layout]:
    """argv of the MEA pass (its numbers on stdout) and the layout of its rows."""
    out, layout = mea_graph(plan, regions, spec)
    return [ffmpeg_bin, *GLOBAL_ARGS, *graph_threads(plan), *out.get_args()], layout


def changes_command(plan: Plan, region: Region, spec: MeasureSpec,
                    ffmpeg_bin: str) -> list[str]:
    """argv writing the background region's changes d = |g(t) - g(t+K)| (gray8, the region's
    size, before any median) to stdout, one frame per motion frame."""
    box = (region.x, region.y, region.w, region.h)
    out = ffmpeg.output(_changes(plan, spec, box), "pipe:", f="rawvideo", pix_fmt="gray",
                        fps_mode="passthrough")
    return [ffmpeg_bin, *GLOBAL_ARGS, *graph_threads(plan), *out.get_args()]


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
    return ([ffmpeg_bin, *GLOBAL_ARGS, *graph_threads(plan), *out.get_args()],
            sum(b[2] for b in boxes), height)


def shown_command(argv: list[str], numbers: Optional[Path] = None) -> list[str]:
    """``argv`` as a person would run it: its numbers to the file ``numbers`` instead of the
    pipe ffmotion reads (``-`` kept when None)."""
    if numbers is None or "pipe:" not in argv:
        return list(argv)
    return [str(numbers) if word == "pipe:" else word for word in argv]


__all__ = ["FULL_RANGE", "Layout", "Part", "changes_command",
           "crops_command", "expands", "graph_threads", "mea_command", "mea_graph",
           "shown_command"]
