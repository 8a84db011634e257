"""Choosing the offset by looking: the contact sheet and the motion-energy timeline.

The controller for ``ffmotion sheet`` and ``ffmotion energy``: options -> probe -> plan
(range, stabilization) -> :mod:`ffmotion.graph.views` graph -> runner. Pixels never pass through
Python; the energy numbers come from ffmpeg's ``signalstats``.
"""
from __future__ import annotations

import dataclasses
import importlib.util
import logging
import os
import tempfile
from dataclasses import dataclass
from fractions import Fraction
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Optional, Sequence, TypeVar, Union

from ffmotion import graph
from ffmotion.core.errors import FfmotionError, FFmpegFailed, UsageError, field
from ffmotion.core.request import SequenceRequest, StabilizeOptions
from ffmotion.core.source import Source
from ffmotion.core.units import FramesOrTime, format_fps
from ffmotion.graph import views
from ffmotion.graph.extras import seconds_text
from ffmotion.media import sequence as images
from ffmotion.media.info import MediaInfo
from ffmotion.pipeline import controller, resolve, stabilize
from ffmotion.run import outputs, runner

if TYPE_CHECKING:
    from ffmotion.core import maps

log = logging.getLogger("ffmotion")

FONT_ENV = "FFMOTION_FONTFILE"
# tried in order when fontconfig finds no font (a static ffmpeg on a machine without fonts)
FONT_CANDIDATES: tuple[str, ...] = (
    "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
    "/usr/share/fonts/TTF/DejaVuSans.ttf",
    "/usr/share/fonts/dejavu/DejaVuSans.ttf",
    "/usr/share/fonts/truetype/liberation/LiberationSans-Regular.ttf",
    "/System/Library/Fonts/Supplemental/Arial.ttf",
    "/Library/Fonts/Arial.ttf",
    "C:/Windows/Fonts/arial.ttf",
)
DEFAULT_SHEET_OFFSETS = ("1", "4", "12", "30")
TimeLike = Union[str, float, FramesOrTime, None]


def parse_offsets(text: Union[str, int, Sequence[Union[str, int]]]) -> list[FramesOrTime]:
    """``"1,4,12,2s"`` (or a list) -> offsets; each as ``--offset`` takes it."""
    if isinstance(text, int):
        text = [text]
    items = text.split(",") if isinstance(text, str) else list(text)
    offsets = [FramesOrTime.offset(item) for item in items if str(item).strip()]
    if not offsets:
        raise UsageError(f"give at least one offset, e.g. {field('offsets')} 1,4,12,0.5s")
    return offsets


def _plans(src: Path, dst: Path, offsets: Sequence[FramesOrTime], tools: runner.Tools,
           start: TimeLike, end: TimeLike, duration: TimeLike,
           stabilize_options: Optional[StabilizeOptions],
           lenient: bool = False, deinterlace: bool = False,
           sequence: Optional[SequenceRequest] = None,
           info: Optional[MediaInfo] = None) -> list[graph.Plan]:
    """One plan per offset (each validated against the range), sharing one stabilizer
    (:func:`ffmotion.pipeline.controller.prepare_offsets`); ``dst`` is the explorer's own
    output, never one of a sequence's images.

    ``lenient`` drops offsets the range is too short for (an error only if none is left).
    ``sequence``: ``src`` is an image sequence (see :func:`resolve.sequence_request`).
    ``info``: the input's facts, when known (a recount, :func:`_recounting`); else probed.
    """
    request = resolve.request(src, None, offsets[0], start=start, end=end, duration=duration,
                              stabilize=stabilize_options or False, deinterlace=deinterlace,
                              sequence=sequence, checked=False)
    found = resolve.check_paths(request)
    if found.sequence is not None:
        resolve.check_sequence_paths(found.sequence, dst)
    return controller.prepare_offsets(request, offsets, tools, lenient=lenient, found=found,
                                      info=info)


def _offset_label(plan: graph.Plan) -> str:
    text = plan.motion.offset.text
    if plan.motion.offset.is_duration:
        return f"K={plan.k} ({text})"
    seconds = f"{float(Fraction(plan.k) / plan.info.fps):.3f}".rstrip("0").rstrip(".")
    return f"K={plan.k} ({seconds}s)"


def _unique(plans: list[graph.Plan]) -> list[graph.Plan]:
    seen, kept = set(), []
    for plan in plans:
        if plan.k not in seen:
            seen.add(plan.k)
            kept.append(plan)
    return kept


# -- runs that recount the frames where the input lies about them -------------------------------

T = TypeVar("T")


def _recounting(name: str, attempt: Callable[[Optional[MediaInfo]], T]) -> T:
    """``attempt(None)`` (probing the input); when its run found the frames that decode to
    differ from those listed (:class:`ffmotion.pipeline.controller.Recounted`), ``attempt`` again on them."""
    try:
        return attempt(None)
    except controller.Recounted as recounted:
        log.warning("%s: again, on the frames as they decode", name)
        return attempt(recounted.info)


def _run_checked(plan: graph.Plan, tools: runner.Tools, argv: list[str],
                 expected: Optional[int] = None, progress: bool = False) -> int:
    """Run ``argv`` (a graph over ``plan``'s input); when ffmpeg wrote nothing, another count
    than ``expected``, or failed on frames changing size, recount the input's frames
    (:func:`ffmotion.pipeline.controller.recount`: raises Recounted when they are not those planned)."""
    try:
        written = runner.run_ffmpeg(argv, total_frames=expected, progress=progress).frames
    except FFmpegFailed as exc:
        if controller.sizes_differ(exc):
            controller.recount(plan.info, tools)
        raise
    if written == 0 or (expected is not None and written != expected):
        controller.recount(plan.info, tools)
    return written


# -- labels ---------------------------------------------------------------------------------

def find_font(ffmpeg: str) -> Optional[views.Font]:
    """How drawtext can find a font with this ffmpeg, or None (then: no labels).

    Tries ``$FFMOTION_FONTFILE``, then fontconfig's default, then a few usual font files;
    each with a one-frame drawtext run (cached per binary and environment).
    """
    if "drawtext" not in runner.filters(ffmpeg):
        return None
    fonts = [views.Font(os.environ[FONT_ENV])] if os.environ.get(FONT_ENV) else []
    fonts.append(views.Font(None))
    fonts += [views.Font(path) for path in FONT_CANDIDATES if Path(path).is_file()]
    env = tuple(os.environ.get(name, "") for name in ("FONTCONFIG_FILE", "FONTCONFIG_PATH"))
    for font in fonts:
        if _drawtext_works(ffmpeg, font, env):
            return font
    return None


@lru_cache(maxsize=None)
def _drawtext_works(ffmpeg: str, font: views.Font, env: tuple[str, ...]) -> bool:
    try:
        done = runner.capture(views.drawtext_probe_command(ffmpeg, font))
    except (OSError, FfmotionError):
        return False
    return done.returncode == 0


# -- sheet ----------------------------------------------------------------------------------------

@dataclass(frozen=True)
class SheetResult:
    output: Path
    layout: views.SheetLayout
    labelled: bool
    legend: str
    commands: list[list[str]]
    plan: Optional[graph.Plan] = None  # the plan of the first offset (range, stabilizer)


def sheet(src: Union[str, Path], dst: Union[str, Path],
          offsets: Union[str, Sequence[Union[str, int]], None] = None, *,
          columns: int = 5, cell_width: int = 320, labels: bool = True,
          start: TimeLike = None, end: TimeLike = None, duration: TimeLike = None,
          stabilize_options: Optional[StabilizeOptions] = None, overwrite: bool = False,
          ffmpeg: Optional[str] = None, tools: Optional[runner.Tools] = None,
          dry_run: bool = False, progress: bool = False, deinterlace: bool = False,
          sequence: Optional[SequenceRequest] = None) -> SheetResult:
    """Write a PNG contact sheet: the original, then one row per offset, at a few frames.

    Without ``offsets``, 1, 4, 12 and 30 frames (those the clip is long enough for).
    ``dry_run`` only builds the commands (``SheetResult.commands``).
    """
    if columns < 1 or columns > 50:
        raise UsageError(f"{field('columns')} must be from 1 to 50, not {columns}")
    if cell_width < 16 or cell_width > 4096:
        raise UsageError(f"{field('cell_width')} must be from 16 to 4096 pixels, not "
                         f"{cell_width}")
    found = tools or runner.tools(ffmpeg)
    dst_path = Path(dst).expanduser().absolute()
    if dst_path.suffix.lower() != ".png":
        raise UsageError(f"the sheet is a PNG: give an output ending in .png, not {dst_path.name}")
    implicit = offsets is None
    wanted = parse_offsets(list(DEFAULT_SHEET_OFFSETS) if implicit else offsets)  # type: ignore[arg-type]

    def attempt(info: Optional[MediaInfo]) -> SheetResult:
        # the default offsets: those the clip is long enough for
        plans = _unique(_plans(Path(src), dst_path, wanted, found, start, end, duration,
                               stabilize_options, lenient=implicit, deinterlace=deinterlace,
                               sequence=sequence, info=info))
        base = plans[0]
        outputs.check_target(dst_path, what="sheet", overwrite=overwrite,
                             inputs=[base.input.path])
        font = find_font(found.ffmpeg) if labels else None
        layout = views.sheet_layout(base, [(_offset_label(p), p.k) for p in plans], columns,
                                    cell_width, labels=font is not None)
        legend = _legend(base, layout)
        commands = stabilize.analysis_commands(base, found.ffmpeg) + [
            views.sheet_command(base, layout, found.ffmpeg, dst_path, font, overwrite)]
        result = SheetResult(dst_path, layout, font is not None, legend, commands, base)
        if dry_run:
            return result
        if labels and font is None and info is None:
            log.warning("cannot draw labels (this ffmpeg's drawtext finds no font; set %s to "
                        "a .ttf file): the sheet has none. %s", FONT_ENV, legend)
        base = stabilize.settle(base, found, progress=progress)
        with outputs.atomic_output(dst_path, overwrite, what="sheet") as tmp:
            argv = views.sheet_command(base, layout, found.ffmpeg, tmp, font, True)
            _run_checked(base, found, argv)
            if _has_empty_cell(tmp, layout, found):
                controller.recount(base.info, found)
        return result

    return _recounting(Path(src).name, attempt)


def _has_empty_cell(sheet_png: Path, layout: views.SheetLayout, tools: runner.Tools) -> bool:
    """True when a cell of the sheet got no frame (see :func:`views.empty_cells`)."""
    done = runner.capture(views.sheet_pixels_command(tools.ffmpeg, sheet_png))
    return done.returncode == 0 and bool(views.empty_cells(done.stdout, layout))


def _legend(plan: graph.Plan, layout: views.SheetLayout) -> str:
    first = plan.span.first
    times = ", ".join(f"{seconds_text(plan.info.input_time(first + i))}s" for i in layout.columns)
    rows = "; ".join(f"{n + 1}: {row.label}" for n, row in enumerate(layout.rows))
    return f"Rows from the top: {rows}. Columns from the left: input time {times}."


# -- energy ---------------------------------------------------------------------------------------

@dataclass(frozen=True)
class EnergyTable:
    """Per-frame motion energy for some offsets; frame i of offset K blends i with i+K."""

    source: Path
    fps: Fraction
    first: int  # input frame index of row 0
    labels: list[str]
    ks: list[int]
    values: list[list[float]]  # values[j][i]: offset j, motion frame i (len n - K_j)
    # input time of row i, from the first frame, where frames are not 1/fps apart (a
    # variable rate, AVI null frames); None: (first + i) / fps
    times: Optional[tuple[Fraction, ...]] = None

    @property
    def frames(self) -> int:
        return max(len(v) for v in self.values)

    def time(self, i: int) -> Fraction:
        """Input time of row ``i`` (motion frame i shows input frame first + i)."""
        if self.times is not None and i < len(self.times):
            return self.times[i]
        return Fraction(self.first + i) / self.fps

    def csv(self) -> str:
        """``frame,time_s,energy_k<K>...``; frame and time are the input's; blank past N−K."""
        header = ["frame", "time_s"] + [f"energy_k{k}" for k in self.ks]
        lines = [",".join(header)]
        for i in range(self.frames):
            frame = self.first + i
            cells = [str(frame), seconds_text(self.time(i))]
            cells += [f"{v[i]:.4f}" if i < len(v) else "" for v in self.values]
            lines.append(",".join(cells))
        return "\n".join(lines) + "\n"

    def summary(self) -> list[str]:
        """One human line per offset: mean, and where the peak is."""
        out = []
        for label, values in zip(self.labels, self.values):
            peak = max(range(len(values)), key=values.__getitem__)
            mean = sum(values) / len(values)
            at = self.first + peak
            out.append(f"{label}: mean {mean:.2f}, peak {values[peak]:.2f} at frame {at} "
                       f"({seconds_text(self.time(peak))}s)")
        return out


def require_matplotlib() -> None:
    """Fail early (before any work) when ``--plot`` cannot be drawn."""
    if importlib.util.find_spec("matplotlib") is None:
        raise UsageError(f"{field('plot')} needs matplotlib, which is not installed: "
                         f"pip install 'ffmotion[plot]' ({field('csv')} works without it)")


def energy_plans(src: Union[str, Path], offsets: Union[str, int, Sequence[Union[str, int]]], *,
                 tools: runner.Tools, start: TimeLike = None, end: TimeLike = None,
                 duration: TimeLike = None,
                 stabilize_options: Optional[StabilizeOptions] = None,
                 deinterlace: bool = False,
                 sequence: Optional[SequenceRequest] = None,
                 info: Optional[MediaInfo] = None) -> list[graph.Plan]:
    """The plans of an energy run (validated offsets, range, stabilizer), without running."""
    src_path = Path(src)
    dummy = src_path.with_name(src_path.name + ".energy")  # no video is written
    return _unique(_plans(src_path, dummy, parse_offsets(offsets), tools, start, end,
                          duration, stabilize_options, deinterlace=deinterlace,
                          sequence=sequence, info=info))


def energy_commands(plans: list[graph.Plan], ffmpeg: str, files: Sequence[Path]) -> list[list[str]]:
    return stabilize.analysis_commands(plans[0], ffmpeg) + [
        views.energy_command(plans[0], [p.k for p in plans], files, ffmpeg)]


def energy(src: Union[str, Path], offsets: Union[str, int, Sequence[Union[str, int]]] = 1, *,
           start: TimeLike = None, end: TimeLike = None, duration: TimeLike = None,
           stabilize_options: Optional[StabilizeOptions] = None, ffmpeg: Optional[str] = None,
           tools: Optional[runner.Tools] = None, progress: bool = False,
           deinterlace: bool = False, sequence: Optional[SequenceRequest] = None) -> EnergyTable:
    """The motion-energy timeline of ``src`` for each offset, in one ffmpeg pass.

    Energy of motion frame i = mean |v − neutral| of its luma (G for RGB) in 8-bit levels:
    0 where nothing changed between frame i and frame i+K.
    """
    found = tools or runner.tools(ffmpeg)

    def attempt(info: Optional[MediaInfo]) -> EnergyTable:
        plans = energy_plans(src, offsets, tools=found, start=start, end=end,
                             duration=duration, stabilize_options=stabilize_options,
                             deinterlace=deinterlace, sequence=sequence, info=info)
        base = stabilize.settle(plans[0], found, progress=progress)
        plans = [dataclasses.replace(p, stabilizer=base.stabilizer) for p in plans]
        with tempfile.TemporaryDirectory(prefix="ffmotion-energy-") as folder:
            files = [Path(folder) / f"k{p.k}.txt" for p in plans]
            argv = energy_commands(plans, found.ffmpeg, files)[-1]
            try:
                runner.run_ffmpeg(argv, total_frames=base.span.count - min(p.k for p in plans),
                                  progress=progress)
            except FFmpegFailed as exc:
                if controller.sizes_differ(exc):
                    controller.recount(base.info, found)
                raise
            values = [views.parse_energy(f.read_text(), base.working_pix_fmt,
                                         base.info.display_size[0]) for f in files]
        if any(len(got) != plan.out_frames for plan, got in zip(plans, values)):
            controller.recount(base.info, found)
        for plan, got in zip(plans, values):
            check_energy_frames(plan, len(got))
        first = base.span.first
        times = (None if base.info.constant_rate else
                 tuple(base.info.input_time(first + i) for i in range(max(map(len, values)))))
        return EnergyTable(base.info.path, base.info.fps, first,
                           [_offset_label(p) for p in plans], [p.k for p in plans], values,
                           times)

    return _recounting(Path(src).name, attempt)


def check_energy_frames(plan: graph.Plan, got: int) -> None:
    """Fewer frames than planned (a timestamp gap, a damaged or short input, a range that
    ends in a gap) is a warning, as for the video; none at all, or more, is an error."""
    if got == plan.out_frames:
        return
    if got == 0 or got > plan.out_frames:
        raise FFmpegFailed(f"energy: expected {plan.out_frames} frames for K={plan.k}, "
                           f"ffmpeg gave {got}")
    log.warning("%s: energy for K=%d has %d of the %d frames planned: the input has a gap "
                "in its timestamps, is damaged or ends early", plan.info.path.name, plan.k,
                got, plan.out_frames)


def write_csv(table: EnergyTable, dst: Path, overwrite: bool) -> None:
    """The CSV under the safe-write rule (``-``: stdout, ``/dev/null``: nowhere)."""
    outputs.write_text(dst, table.csv(), what=field("csv"), overwrite=overwrite)


def write_plot(table: EnergyTable, dst: Path, overwrite: bool) -> None:
    """A PNG line plot of the timeline (matplotlib, without pyplot's global state)."""
    require_matplotlib()
    from matplotlib.figure import Figure

    figure = Figure(figsize=(9, 3.2), dpi=100, layout="constrained")
    axes = figure.add_subplot()
    for label, values in zip(table.labels, table.values):
        times = [float(table.time(i)) for i in range(len(values))]
        axes.plot(times, values, label=label, linewidth=1.2)
    axes.set_xlabel("time in the input (s)")
    axes.set_ylabel("motion energy\n(mean |v - gray|, 8-bit)")
    axes.set_title(f"{table.source.name} at {format_fps(table.fps)} fps", fontsize=10)
    axes.set_ylim(bottom=0)
    axes.grid(alpha=0.3)
    axes.legend(fontsize=8)
    with outputs.atomic_output(dst, overwrite, what=field("plot")) as tmp:
        figure.savefig(tmp, format="png")


__all__ = ["EnergyTable", "SheetResult", "energy", "find_font", "parse_offsets", "sheet",
           "write_csv", "write_plot"]


# -- motion map -------------------------------------------------------------------------------

@dataclass(frozen=True)
class MapResult:
    output: Path
    legend: str
    commands: list[list[str]]


def motion_map(src: Union[str, Path], dst: Union[str, Path], offset: Union[str, int] = 12, *,
               spec: Optional["maps.MapSpec"] = None, start: TimeLike = None,
               end: TimeLike = None, duration: TimeLike = None,
               stabilize_options: Optional[StabilizeOptions] = None, overwrite: bool = False,
               ffmpeg: Optional[str] = None, tools: Optional[runner.Tools] = None,
               dry_run: bool = False, sequence: Optional[SequenceRequest] = None) -> MapResult:
    """Write one picture of where motion happened over the range (see :mod:`ffmotion.core.maps`)."""
    from ffmotion.core import maps
    from ffmotion.graph import maps as map_graph

    spec = spec or maps.MapSpec()
    found = tools or runner.tools(ffmpeg)
    dst_path = Path(dst).expanduser().absolute()
    if dst_path.suffix.lower() not in (".png", ".mkv", ".nut"):
        raise UsageError(f"the map is a PNG: give an output ending in .png, not {dst_path.name}")

    def attempt(info: Optional[MediaInfo]) -> MapResult:
        plan = _plans(Path(src), dst_path, parse_offsets(str(offset)), found, start, end,
                      duration, stabilize_options, sequence=sequence, info=info)[0]
        if dst_path == plan.input.path:
            raise UsageError(f"output is the input: {dst_path}")
        runner.check_output_path(dst_path, overwrite)
        n = plan.out_frames
        if spec.motiogram:
            what = (f"motiogram ({spec.motiogram}), every {maps.motiogram_step(n)} of {n} "
                    "motion frames")
        elif spec.is_mean:
            what = (f"motion map by {spec.color}: mean |motion| per pixel over {n} motion "
                    f"frames x{spec.applied_gain} (255 = a mean of "
                    f"{float(255 / spec.applied_gain):.4g} levels)")
        else:
            what = (f"motion map by {spec.color}: peak |motion| per pixel over {n} motion "
                    "frames")
        legend = f"{what}, K={plan.k}, gain {spec.applied_gain}"
        if spec.color == "time" and not spec.motiogram:
            legend += f", moved = more than {spec.threshold} levels"
        commands = stabilize.analysis_commands(plan, found.ffmpeg) + [
            map_graph.map_command(plan, spec, found.ffmpeg, dst_path, overwrite)]
        result = MapResult(dst_path, legend, commands)
        if dry_run:
            return result
        plan = stabilize.settle(plan, found, progress=False)
        with runner.atomic_output(dst_path, overwrite) as tmp:
            _run_checked(plan, found, map_graph.map_command(plan, spec, found.ffmpeg, tmp, True))
        return result

    return _recounting(Path(src).name, attempt)


def noise_threshold(src: Union[str, Path], ffmpeg: Optional[str] = None,
                    tools: Optional[runner.Tools] = None,
                    sequence: Optional[SequenceRequest] = None) -> tuple[int, list[int]]:
    """``--threshold auto``: (the threshold, the per-pair 90th percentiles it came from)."""
    from ffmotion.core import maps
    from ffmotion.graph import maps as map_graph

    found = tools or runner.tools(ffmpeg)
    source = (images.resolve(src, sequence).source() if sequence is not None
              else Source.file(Path(src)))
    done = runner.capture(map_graph.noise_command(Path(src), found.ffmpeg, source.input_argv()))
    values = maps.parse_noise(done.stdout.decode("utf-8", "replace"))
    if done.returncode != 0 or not values:
        raise UsageError(f"{field('threshold')} auto: cannot measure the noise of {src} "
                         f"({done.stderr.strip().splitlines()[-1] if done.stderr.strip() else 'no frames'})")
    return maps.auto_threshold(values), values
