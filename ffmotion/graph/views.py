"""Graphs for choosing an offset by looking: the contact sheet and the motion-energy timeline.

Pure, like :mod:`ffmotion.graph`: builds ffmpeg-python graphs and argv lists, runs nothing.

*Sheet* (one ffmpeg pass, one PNG): the (stabilized) input is split into one branch per row;
row 0 is the original, every other row the motion graph at one offset. Each row picks the
same few frames (``select``), scales them, adds a label strip, and ``tile`` lays them out in
a row; ``vstack`` stacks the rows::

    in ─ split ─┬ settb,setpts=N ─────────── select ─ scale ─ pad ─ drawtext ─ tile ┐
                ├ motion(K1) ─────────────── select ─ scale ─ pad ─ drawtext ─ tile ┼ vstack ─ png
                └ motion(K2) ─────────────── ...                                   ┘

*Energy*: per frame of the motion output, the mean |v − neutral| of its first plane (luma,
or G for RGB): ``extractplanes`` → ``split`` → ``msad`` against the same plane set to neutral
by ``lut`` → ``metadata`` print to a file. (``signalstats`` YAVG of a lut'd plane gave the
same numbers at ~3x the cost of the motion graph: it computes histograms, frame differences
and chroma hue/saturation for every frame; msad costs ~0.1x.)
"""
from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any, Optional, Sequence

import ffmpeg

from ffmotion.core.pixfmt import plane_layout
from ffmotion.graph.argv import GLOBAL_ARGS
from ffmotion.graph.extras import Stabilizer, check_filter_path, seconds_text, select_windows, stabilize_video
from ffmotion.graph.motion import motion_video
from ffmotion.graph.node import Stream
from ffmotion.graph.picture import prelude
from ffmotion.graph.plan import Plan

# msad prints mean |a - b| / max with 6 decimals ("%f"): energies are exact to ±0.5e-6 of
# full scale, ±1.3e-4 of an 8-bit level
ENERGY_KEY = "lavfi.msad.msad_avg"
SHEET_MARGIN = 2  # tile margin: rows and columns end up 2 * margin apart


@dataclass(frozen=True)
class Font:
    """How drawtext finds a font: ``fontfile`` or, when None, fontconfig's default."""

    fontfile: Optional[str] = None


@dataclass(frozen=True)
class SheetRow:
    label: str
    k: Optional[int]  # None: the original frames


@dataclass(frozen=True)
class SheetLayout:
    """The grid: which frames (indices from the range start), which rows, cell sizes."""

    columns: tuple[int, ...]
    rows: tuple[SheetRow, ...]
    cell_width: int
    cell_height: int
    label_height: int  # 0 without labels

    @property
    def width(self) -> int:
        # tile: 2 * margin + C * w + (C - 1) * padding, with padding = 2 * margin
        return len(self.columns) * (self.cell_width + 2 * SHEET_MARGIN)

    @property
    def height(self) -> int:
        return len(self.rows) * (self.cell_height + self.label_height + 2 * SHEET_MARGIN)

    def cell_box(self, row: int, column: int) -> tuple[int, int, int, int]:
        """``(x, y, w, h)`` of the picture (without its label strip) of one cell."""
        x = SHEET_MARGIN + column * (self.cell_width + 2 * SHEET_MARGIN)
        y = SHEET_MARGIN + row * (self.cell_height + self.label_height + 2 * SHEET_MARGIN)
        return x, y, self.cell_width, self.cell_height


def sheet_columns(frames: int, max_k: int, columns: int) -> tuple[int, ...]:
    """``columns`` frame indices spread evenly over the frames every row has (n − max K)."""
    usable = frames - max_k
    count = max(1, min(columns, usable))
    return tuple(((2 * j + 1) * usable) // (2 * count) for j in range(count))


def sheet_layout(plan: Plan, offsets: Sequence[tuple[str, int]], columns: int,
                 cell_width: int, labels: bool) -> SheetLayout:
    """The grid for ``offsets`` (label, K) over ``plan``'s frames."""
    shown_w, shown_h = plan.info.display_size  # a rotated input is seen upright (portrait)
    width = min(cell_width, shown_w)
    height = max(1, round(shown_h * width / shown_w))
    label_height = max(12, round(height / 8)) if labels else 0
    picks = sheet_columns(plan.span.count, max(k for _, k in offsets), columns)
    rows = (SheetRow("original", None),) + tuple(SheetRow(label, k) for label, k in offsets)
    return SheetLayout(picks, rows, width, height, label_height)


def sheet_output(plan: Plan, layout: SheetLayout, dst: Path, font: Optional[Font]) -> Stream:
    """The ffmpeg-python output node writing the contact sheet PNG to ``dst``."""
    fps = plan.info.fps
    source = ffmpeg.input(plan.info.input.name, **plan.input_args())
    video = prelude(plan.source_video(source), plan.picture)
    if plan.stabilizer is not None:
        video = stabilize_video(video, plan.stabilizer)
    video = video.filter("format", plan.working_pix_fmt)
    branches = video.split()
    # not(n-i) is 1 on frame i only: the expression needs no commas, which ffmpeg-python
    # would not escape at the filtergraph level
    chosen = "+".join(f"not(n-{i})" for i in layout.columns)
    tb = 1 / Fraction(fps)
    rows = []
    for index, row in enumerate(layout.rows):
        branch = branches[index]
        if row.k is None and not plan.info.constant_rate:  # labelled with the frames' own times
            branch = branch.setpts("PTS-STARTPTS")
        elif row.k is None:
            branch = branch.filter("settb", f"{tb.numerator}/{tb.denominator}").setpts("N")
        else:
            branch = motion_video(branch, row.k, fps, "offset", plan.working_pix_fmt)
        cells = branch.filter("select", chosen)
        if (layout.cell_width, layout.cell_height) != plan.info.display_size:
            cells = cells.filter("scale", layout.cell_width, layout.cell_height)
        cells = cells.filter("format", "rgb24")
        if font is not None:
            cells = _label(cells, row, layout, font, plan.info.input_time(plan.span.first))
        rows.append(cells.filter("tile", f"{len(layout.columns)}x1", margin=SHEET_MARGIN,
                                 padding=2 * SHEET_MARGIN).setpts("0"))
    sheet = ffmpeg.filter(rows, "vstack", inputs=len(rows))
    return ffmpeg.output(sheet, str(dst), **{"frames:v": 1, "update": 1, "c:v": "png",
                                             "fflags": "+bitexact", "flags:v": "+bitexact"})


def _label(cells: Stream, row: SheetRow, layout: SheetLayout, font: Font, start: Fraction) -> Stream:
    strip = layout.label_height
    cells = cells.filter("pad", layout.cell_width, layout.cell_height + strip, 0, 0,
                         color="black")
    size = max(8, round(strip * 0.7))
    args: dict[str, Any] = {"fontsize": size, "fontcolor": "white", "x": 3,
                            "y": layout.cell_height + (strip - size) // 2}
    if row.k is None:  # each column's time: the frame's timestamp + the range start
        args.update(text=f"original %{{pts:hms:{seconds_text(start)}}}", expansion="normal")
    else:
        args.update(text=row.label, expansion="none")
    if font.fontfile:
        check_filter_path(Path(font.fontfile))
        args["fontfile"] = font.fontfile
    return cells.filter("drawtext", **args)


def sheet_command(plan: Plan, layout: SheetLayout, ffmpeg_bin: str, dst: Path,
                  font: Optional[Font], overwrite: bool) -> list[str]:
    """argv writing the sheet to ``dst``."""
    return [ffmpeg_bin, *GLOBAL_ARGS, "-y" if overwrite else "-n",
            *sheet_output(plan, layout, dst, font).get_args()]


def sheet_pixels_command(ffmpeg_bin: str, sheet: Path) -> list[str]:
    """argv printing the sheet PNG's pixels (rgb24) on stdout."""
    return [ffmpeg_bin, *GLOBAL_ARGS, "-v", "error", "-i", str(sheet), "-f", "rawvideo",
            "-pix_fmt", "rgb24", "-"]


def empty_cells(rgb: bytes, layout: SheetLayout) -> list[tuple[int, int]]:
    """The cells (row, column) whose picture is all black: where ``tile`` padded a row that
    got fewer frames than planned (the input had fewer frames, or ffmpeg rebuilt the graph
    when the picture size changed and flushed the rows half done). A black frame of the
    input looks the same: a cell is a reason to count the frames, not an error."""
    width, height = layout.width, layout.height
    if len(rgb) != width * height * 3:
        return []
    empty = []
    for row in range(len(layout.rows)):
        for column in range(len(layout.columns)):
            x, y, w, h = layout.cell_box(row, column)
            lines = (rgb[3 * (line * width + x):3 * (line * width + x + w)]
                     for line in range(y, y + h + layout.label_height))
            if not any(line.strip(b"\0") for line in lines):
                empty.append((row, column))
    return empty


def drawtext_probe_command(ffmpeg_bin: str, font: Font) -> list[str]:
    """A one-frame run of drawtext: fails when no font can be found (no fontconfig setup)."""
    args: dict[str, Any] = {"text": "Ag", "fontsize": 12}
    if font.fontfile:
        check_filter_path(Path(font.fontfile))
        args["fontfile"] = font.fontfile
    video = ffmpeg.input("color=c=black:s=32x32:r=1:d=1", f="lavfi").filter("drawtext", **args)
    out = ffmpeg.output(video, "-", f="null", **{"frames:v": 1})
    return [ffmpeg_bin, *GLOBAL_ARGS, "-v", "error", *out.get_args()]


# -- energy -------------------------------------------------------------------------------------

def energy_scale(pix_fmt: str) -> tuple[int, Fraction]:
    """(neutral value, factor from msad's value to 8-bit levels) of a working format.

    msad is normalized by the format's maximum: at 8 bits the factor is 255, at 10 bits
    1023 / 4.
    """
    depth = plane_layout(pix_fmt, 2, 2).depth
    return ((1 << depth) - 1) >> 1, Fraction((1 << depth) - 1, 1 << (depth - 8))


def energy_outputs(plan: Plan, ks: Sequence[int], files: Sequence[Path]) -> Stream:
    """One pass: for each offset K, print each motion frame's mean |v − neutral| to a file.

    ``msad`` (mean sum of absolute differences) of the motion frame's first plane against the
    same plane set to neutral: one subtraction per sample, where ``signalstats`` also built
    histograms, frame differences and chroma saturation/hue (~3x the motion graph's time).
    """
    source = ffmpeg.input(plan.info.input.name, **plan.input_args())
    video = prelude(plan.source_video(source), plan.picture)
    if plan.stabilizer is not None:
        video = stabilize_video(video, plan.stabilizer)
    working = plan.working_pix_fmt
    video = video.filter("format", working)
    branches = video.split()
    neutral, _ = energy_scale(working)
    plane = "g" if working.startswith("gbrp") else "y"
    outputs = []
    for index, (k, path) in enumerate(zip(ks, files)):
        check_filter_path(path)
        first = (motion_video(branches[index], k, plan.info.fps, "offset", working)
                 .filter("extractplanes", plane).split())
        top, gray = first[0], first[1].filter("lut", c0=neutral)
        padded = energy_width(plan.info.display_size[0])
        if padded != plan.info.display_size[0]:  # the same pad on both sides adds 0 to the sum
            top, gray = (s.filter("pad", w=padded, h="ih", x=0, y=0) for s in (top, gray))
        stats = (ffmpeg.filter([top, gray], "msad")
                 .filter("metadata", mode="print", key=ENERGY_KEY, file=str(path)))
        outputs.append(ffmpeg.output(stats, "-", f="null", fps_mode="passthrough"))
    return ffmpeg.merge_outputs(*outputs)


MSAD_MIN_WIDTH = 64


def energy_width(width: int) -> int:
    """The width msad measures: planes narrower than 64 are padded to 64.

    ffmpeg 9's SIMD sum of absolute differences is wrong on rows shorter than 64 samples
    (measured: widths 16..63 wrong, 64 and up right; ffmpeg 5.1 right at every width).
    """
    return max(width, MSAD_MIN_WIDTH)


def energy_command(plan: Plan, ks: Sequence[int], files: Sequence[Path],
                   ffmpeg_bin: str) -> list[str]:
    """argv of the energy pass (output: the metadata files)."""
    return [ffmpeg_bin, *GLOBAL_ARGS, *energy_outputs(plan, ks, files).get_args()]


def parse_energy(text: str, pix_fmt: str, width: Optional[int] = None) -> list[float]:
    """Per-frame energies (8-bit units) from a ``metadata=mode=print`` file, in frame order.

    ``width``: the plane's width (msad averaged over :func:`energy_width` of it).
    """
    _, scale = energy_scale(pix_fmt)
    if width is not None:
        scale *= Fraction(energy_width(width), width)
    values: dict[int, float] = {}
    frame = None
    for line in text.splitlines():
        if line.startswith("frame:"):
            frame = int(line.split()[0].split(":", 1)[1])
        elif line.startswith(ENERGY_KEY + "=") and frame is not None:
            values[frame] = float(line.split("=", 1)[1]) * float(scale)
    if sorted(values) != list(range(len(values))):
        raise ValueError("energy frames are not numbered 0..n-1")
    return [values[i] for i in range(len(values))]


# -- the stabilization check: residual motion with and without ------------------------------

RESIDUAL_WIDTH = 320  # the check measures a picture this wide at most (cheap, and enough)


def residual_command(plan: Plan, k: int, files: Sequence[Path], ffmpeg_bin: str,
                     stabilizers: Optional[Sequence[Optional[Stabilizer]]] = None,
                     sample: Optional[Sequence[tuple[int, int]]] = None) -> list[str]:
    """argv of one pass printing, per motion frame, the energy (msad of the gray classic blend
    against 127, as :func:`energy_outputs`) of the picture as stabilized by each of
    ``stabilizers`` (None: as it comes) to the file beside it; default: as it comes
    (``files[0]``) and as the plan stabilizes it (``files[1]``). One decode, the stabilizers
    at full size, the motion graphs on at most RESIDUAL_WIDTH pixels wide. ``sample``: only
    the frames of these windows (:func:`select_windows`), one after the other."""
    stab = plan.stabilizer
    assert stab is not None
    chosen = list(stabilizers) if stabilizers is not None else [None, stab]
    source = ffmpeg.input(str(plan.info.path), **plan.input_args())
    video = prelude(plan.source_video(source), plan.picture)
    if sample is not None:
        video = select_windows(video, sample)
    branches = video.filter("format", stab.pix_fmt).split()
    width = plan.info.display_size[0]
    small = min(width, RESIDUAL_WIDTH) // 2 * 2
    outputs = []
    for index, (by, path) in enumerate(zip(chosen, files)):
        check_filter_path(path)
        branch = branches[index] if by is None else stabilize_video(branches[index], by)
        gray = branch.filter("scale", small, -2, flags="area").filter("format", "gray")
        first = motion_video(gray, k, plan.info.fps, "offset", "gray").split()
        top, flat = first[0], first[1].filter("lut", c0=127)
        padded = energy_width(small)
        if padded != small:
            top, flat = (s.filter("pad", w=padded, h="ih", x=0, y=0) for s in (top, flat))
        stats = (ffmpeg.filter([top, flat], "msad")
                 .filter("metadata", mode="print", key=ENERGY_KEY, file=str(path)))
        outputs.append(ffmpeg.output(stats, "-", f="null", fps_mode="passthrough"))
    return [ffmpeg_bin, *GLOBAL_ARGS, *ffmpeg.merge_outputs(*outputs).get_args()]
