"""``ffmotion measure``: motion numbers per region (MEA counts, descriptors, displacement).

The controller of the measurement: the regions and the request resolved and checked (the
regions against the picture as displayed, after the probe), one plan (range, stabilization,
K) from :func:`ffmotion.pipeline.controller.prepare_offsets`, the pass built by
:mod:`ffmotion.graph.measure`, its numbers read from ffmpeg's stdout as they come (a few
numbers per region and frame: memory stays flat however long the input), the tables written
under the safe-write rule, with a JSON sidecar that lets a study re-run them.

The pictures never reach Python: the MEA pass sends each region's column (and row) sums of
the changed pixels, the background pass the background region's changes, the displacement
pass (:mod:`ffmotion.pipeline.displacement`) the regions' own crops.
"""
from __future__ import annotations

import dataclasses
import json
import logging
import math
import queue
import shlex
import threading
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Iterator, Optional, Sequence, TypeVar, Union

from ffmotion import graph
from ffmotion.core import regions as regions_mod
from ffmotion.core.errors import FFmpegFailed, UsageError, field
from ffmotion.core.measure import BACKGROUND_QUANTILE, MeasureSpec
from ffmotion.core.regions import Region
from ffmotion.core.request import SequenceRequest, StabilizeOptions
from ffmotion.core.units import FramesOrTime, format_fps
from ffmotion.core.version import __version__
from ffmotion.graph import measure as measure_graph
from ffmotion.graph.extras import seconds_text
from ffmotion.media.info import MediaInfo
from ffmotion.pipeline import controller, resolve, stabilize
from ffmotion.run import outputs, runner

if TYPE_CHECKING:
    import numpy as np

log = logging.getLogger("ffmotion")

TimeLike = Union[str, float, FramesOrTime, None]
CHUNK_FRAMES = 256  # frames read from ffmpeg's pipe at a time, at most
CHUNK_BYTES = 4 << 20  # ... and at most about this many bytes (memory flat in the length)
AHEAD = 2  # chunks read ahead of the caller by a thread (read_frames)
T = TypeVar("T")


# -- planning ---------------------------------------------------------------------------------

@dataclass(frozen=True)
class Job:
    """What one measurement runs on: the input, the regions, what is computed."""

    src: Path
    regions: tuple[Region, ...]
    spec: MeasureSpec
    start: TimeLike = None
    end: TimeLike = None
    duration: TimeLike = None
    stabilize: Optional[StabilizeOptions] = None
    deinterlace: bool = False
    sequence: Optional[SequenceRequest] = None

    @property
    def measured(self) -> tuple[Region, ...]:
        """The regions measured: every one but the background."""
        return tuple(r for r in self.regions if r.name != self.spec.background)

    @property
    def background(self) -> Optional[Region]:
        return regions_mod.find(self.regions, self.spec.background)


def check_job(job: Job) -> None:
    """What can be checked before the probe: names, the background, the measured set."""
    regions_mod.check_names(job.regions)
    background = job.background
    if background is not None:
        if not job.measured:
            raise UsageError(f"{field('background')} {background.name} is the only region: "
                             "give the regions to measure too")
        for other in regions_mod.overlapping(background, job.measured):
            log.warning("the background region %s overlaps the measured region %s: its "
                        "changes (and so the threshold) may include their motion",
                        background.name, other.name)


def plan(job: Job, tools: runner.Tools, info: Optional[MediaInfo] = None) -> graph.Plan:
    """The plan of ``job`` (probe, range, K, stabilizer decided), its regions checked
    against the picture as displayed."""
    offset = job.spec.offset if job.spec.method == "mea" else FramesOrTime.offset(1)
    request = resolve.request(job.src, None, offset, start=job.start, end=job.end,
                              duration=job.duration, stabilize=job.stabilize or False,
                              deinterlace=job.deinterlace, sequence=job.sequence,
                              checked=False)
    found = resolve.check_paths(request)
    made = controller.prepare_offsets(request, [offset], tools, found=found, info=info)[0]
    regions_mod.check_inside(job.regions, made.info.display_size, made.info.rotation)
    return made


def recounting(name: str, attempt: Callable[[Optional[MediaInfo]], T]) -> T:
    """``attempt(None)``; again on the frames as they decode where the input lists others
    (:class:`ffmotion.pipeline.controller.Recounted`)."""
    try:
        return attempt(None)
    except controller.Recounted as recounted:
        log.warning("%s: again, on the frames as they decode", name)
        return attempt(recounted.info)


# -- reading ffmpeg's numbers -----------------------------------------------------------------

def read_frames(argv: list[str], frame_bytes: int, total: Optional[int],
                progress: bool) -> Iterator[bytes]:
    """Chunks of whole frames (``frame_bytes`` each) of ``argv``'s stdout, as they come; a
    progress bar on stderr when ``progress``.

    A thread drains the pipe :data:`AHEAD` chunks ahead of the caller, so ffmpeg decodes
    while the caller's numpy works on a chunk (numpy lets go of the GIL) instead of waiting
    on a full pipe; memory stays bounded (at most AHEAD + 1 chunks held)."""
    chunks: queue.Queue[Union[bytes, BaseException, None]] = queue.Queue(AHEAD)
    stop = threading.Event()

    def put(item: Union[bytes, BaseException, None]) -> bool:
        while not stop.is_set():
            try:
                chunks.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def drain(stdout: Any) -> None:
        try:
            for data in _chunks(stdout, frame_bytes):
                if not put(data):
                    return
            put(None)
        except BaseException as error:  # noqa: BLE001 - handed to the caller's thread
            put(error)

    reader: Optional[threading.Thread] = None
    try:
        with runner.counting(argv, total, bar=progress) as count, \
                runner.reading(argv) as stdout:
            reader = threading.Thread(target=drain, args=(stdout,), daemon=True,
                                      name="ffmotion-measure-read")
            reader.start()
            try:
                while True:
                    item = chunks.get()
                    if item is None:
                        break
                    if isinstance(item, BaseException):
                        raise item
                    count.add(len(item) // frame_bytes)
                    yield item
            finally:
                stop.set()  # leaving early: the reader ends once the child is killed
    finally:
        stop.set()
        if reader is not None:
            reader.join(timeout=10)


def _chunks(stdout: Any, frame_bytes: int) -> Iterator[bytes]:
    """Chunks of whole frames from ``stdout`` until its end (at most :data:`CHUNK_FRAMES`
    frames and about :data:`CHUNK_BYTES` bytes each)."""
    while True:
        data = stdout.read(frame_bytes * max(1, min(CHUNK_FRAMES, CHUNK_BYTES // frame_bytes)))
        if not data:
            return
        whole = len(data) - len(data) % frame_bytes
        while whole != len(data):  # a short read: the rest of the last frame
            more = stdout.read(frame_bytes - len(data) % frame_bytes)
            if not more:
                raise FFmpegFailed(f"ffmpeg ended in the middle of a frame "
                                   f"({len(data) % frame_bytes} of {frame_bytes} bytes)")
            data += more
            whole = len(data) - len(data) % frame_bytes
        yield data


def _check_frames(plan: graph.Plan, got: int, tools: runner.Tools, what: str) -> None:
    """As the energy timeline: other frames than planned make the frames be counted (and the
    run planned again when they differ); fewer is a warning, none an error."""
    if got == plan.out_frames:
        return
    controller.recount(plan.info, tools)
    if got == 0 or got > plan.out_frames:
        raise FFmpegFailed(f"{what}: expected {plan.out_frames} frames, ffmpeg gave {got}")
    log.warning("%s: %s has %d of the %d frames planned: the input has a gap in its "
                "timestamps, is damaged or ends early", plan.info.path.name, what, got,
                plan.out_frames)


# -- MEA ----------------------------------------------------------------------------------------

@dataclass
class MeaTable:
    """Per motion frame t (input frame ``first + t`` against ``first + t + K``) and region: the
    changed pixels; with the descriptors their mean |change|, centroid and bounding box."""

    source: Path
    fps: Fraction
    first: int
    k: int
    regions: tuple[Region, ...]
    threshold: int
    counts: "np.ndarray"  # (frames, regions) int64
    descriptors: Optional[dict[str, "np.ndarray"]] = None  # name -> (frames, regions[, 4])
    times: Optional[tuple[Fraction, ...]] = None  # where frames are not 1/fps apart

    @property
    def frames(self) -> int:
        return int(self.counts.shape[0])

    def time(self, i: int) -> Fraction:
        if self.times is not None and i < len(self.times):
            return self.times[i]
        return Fraction(self.first + i) / self.fps

    def header(self) -> list[str]:
        names = ["frame", "time_s"]
        for region in self.regions:
            names += [region.name, f"{region.name}_share"]
            if self.descriptors is not None:
                names += [f"{region.name}_{key}" for key in DESCRIPTOR_COLUMNS]
        return names

    def rows(self) -> Iterator[list[str]]:
        areas = [r.area for r in self.regions]
        d = self.descriptors
        for i in range(self.frames):
            cells = [str(self.first + i), seconds_text(self.time(i))]
            for j, area in enumerate(areas):
                count = int(self.counts[i, j])
                cells += [str(count), _number(count / area)]
                if d is not None:
                    cells.append(_number(float(d["mean_change"][i, j])))
                    empty = count == 0
                    for key in ("com_x", "com_y"):
                        value = float(d[key][i, j])
                        cells.append("" if empty or math.isnan(value) else _number(value))
                    box = d["aom"][i, j]
                    cells += [""] * 4 if empty else [str(int(v)) for v in box]
            yield cells

    def csv(self) -> str:
        lines = [",".join(self.header())]
        lines += [",".join(cells) for cells in self.rows()]
        return "\n".join(lines) + "\n"

    def mea_text(self) -> str:
        """The layout rMEA's ``readMEA`` reads (``skip=1``): a header line of the quoted
        region names, then one line per motion frame, the counts separated by spaces."""
        lines = [" ".join(f'"{r.name}"' for r in self.regions)]
        lines += [" ".join(str(int(v)) for v in row) for row in self.counts]
        return "\n".join(lines) + "\n"

    def summary(self) -> list[str]:
        out = []
        for j, region in enumerate(self.regions):
            column = self.counts[:, j]
            if not len(column):
                continue
            peak = int(column.argmax())
            moving = float((column > 0).mean())
            out.append(f"{region.name}: mean {float(column.mean()):.1f} of {region.area} "
                       f"pixels changed, peak {int(column[peak])} at frame {self.first + peak} "
                       f"({seconds_text(self.time(peak))}s), moving in {100 * moving:.1f}% "
                       "of the frames")
        return out


DESCRIPTOR_COLUMNS = ("mean_change", "com_x", "com_y", "aom_x1", "aom_y1", "aom_x2", "aom_y2")


def _number(value: float) -> str:
    """A measured fraction or position: 9 significant digits (exact to 1e-9 relative)."""
    return f"{value:.9g}"


def decode_mea(chunk: bytes, layout: measure_graph.Layout, regions: Sequence[Region],
               descriptors: bool) -> tuple["np.ndarray", Optional[dict[str, "np.ndarray"]]]:
    """(counts, descriptors) of the motion frames in ``chunk`` (rows of ``layout``)."""
    import numpy as np

    block = np.frombuffer(chunk, dtype=np.uint8).reshape(-1, layout.height, layout.width)
    values = block.sum(axis=1, dtype=np.int64)  # the partial sums added up: column sums
    n = values.shape[0]
    counts = np.zeros((n, len(regions)), np.int64)
    found: dict[str, Any] = {}
    if descriptors:
        found = {"mean_change": np.zeros((n, len(regions))), "com_x": np.zeros((n, len(regions))),
                 "com_y": np.zeros((n, len(regions))),
                 "aom": np.full((n, len(regions), 4), -1, np.int64)}
    where: dict[tuple[str, str], int] = {}
    at = 0
    for part in layout.parts:  # where each region's numbers start in the block
        where[(part.region, part.kind)] = at
        at += part.width
    for j, region in enumerate(regions):
        start = where[(region.name, "cols")]
        if not descriptors:
            counts[:, j] = values[:, start:start + region.w].sum(axis=1)
            continue
        w, h = region.w, region.h
        cols = values[:, start:start + 3 * w]
        b, hi, lo = cols[:, :w], cols[:, w:2 * w], cols[:, 2 * w:]
        start = where[(region.name, "rows")]
        turned = values[:, start:start + 3 * h]
        rows, row_hi, row_lo = turned[:, :h], turned[:, h:2 * h], turned[:, 2 * h:]
        count = b.sum(axis=1)
        if not np.array_equal(count, rows.sum(axis=1)):
            raise FFmpegFailed(f"region {region.name}: its column and row sums differ "
                               "(ffmpeg's numbers are not consistent)")
        counts[:, j] = count
        col_d = 16 * hi + lo  # per column: the sum of |d| over its changed pixels
        row_d = 16 * row_hi + row_lo
        total = col_d.sum(axis=1)
        found["mean_change"][:, j] = total / region.area
        with np.errstate(invalid="ignore", divide="ignore"):
            # MGT-python's centroid: the changed pixels weighted by their change |d|
            found["com_x"][:, j] = region.x + (col_d * np.arange(w)).sum(axis=1) / total
            found["com_y"][:, j] = region.y + (row_d * np.arange(h)).sum(axis=1) / total
        moving = count > 0
        if moving.any():
            colmask, rowmask = b[moving] > 0, rows[moving] > 0
            x1 = colmask.argmax(axis=1)
            x2 = w - 1 - colmask[:, ::-1].argmax(axis=1)
            y1 = rowmask.argmax(axis=1)
            y2 = region.h - 1 - rowmask[:, ::-1].argmax(axis=1)
            found["aom"][moving, j] = np.stack(
                [region.x + x1, region.y + y1, region.x + x2, region.y + y2], axis=1)
    return counts, (found if descriptors else None)


def mea_commands(plan: graph.Plan, job: Job, spec: MeasureSpec,
                 ffmpeg_bin: str) -> list[list[str]]:
    """Every command the MEA run starts (stabilization analysis, the background pass, the
    MEA pass), as a person could run them: the numbers go to files."""
    argvs = stabilize.analysis_commands(plan, ffmpeg_bin)
    background = job.background
    if background is not None:
        argvs.append(measure_graph.shown_command(
            measure_graph.changes_command(plan, background, spec, ffmpeg_bin),
            Path(f"{background.name}.changes.gray")))
    shown = spec if spec.threshold is not None else dataclasses.replace(spec, threshold=0)
    argv, _ = measure_graph.mea_command(plan, job.measured, shown, ffmpeg_bin)
    argvs.append(measure_graph.shown_command(argv, Path("mea.gray")))
    return argvs


@dataclass(frozen=True)
class BackgroundEstimate:
    """``--background``: the threshold from the background region's changes."""

    region: Region
    threshold: int
    quantile: float
    pixels: int  # changes seen: the region's pixels times the motion frames
    histogram: tuple[int, ...]  # how many changes of each size 0..255


def background_threshold(plan: graph.Plan, region: Region, spec: MeasureSpec,
                         tools: runner.Tools, progress: bool) -> BackgroundEstimate:
    """The smallest level T that at least :data:`BACKGROUND_QUANTILE` of the background
    region's changes |g(t+K) - g(t)| (every pixel, every motion frame; before the median) do
    not exceed: MEA then counts changes above T."""
    import numpy as np

    argv = measure_graph.changes_command(plan, region, spec, tools.ffmpeg)
    histogram = np.zeros(256, np.int64)
    frames = 0
    for chunk in read_frames(argv, region.area, plan.out_frames, progress):
        histogram += np.bincount(np.frombuffer(chunk, np.uint8), minlength=256)
        frames += len(chunk) // region.area
    _check_frames(plan, frames, tools, f"the background {region.name}")
    total = int(histogram.sum())
    below = np.cumsum(histogram)
    level = int(np.searchsorted(below, BACKGROUND_QUANTILE * total, side="left"))
    return BackgroundEstimate(region, min(254, level), BACKGROUND_QUANTILE, total,
                              tuple(int(v) for v in histogram))


@dataclass(frozen=True)
class MeaResult:
    table: MeaTable
    plan: graph.Plan
    spec: MeasureSpec  # with the threshold used
    commands: list[list[str]]
    background: Optional[BackgroundEstimate] = None


def run_mea(job: Job, *, tools: runner.Tools, progress: bool = False) -> MeaResult:
    """Measure MEA (and the descriptors) on ``job``."""
    check_job(job)

    def attempt(info: Optional[MediaInfo]) -> MeaResult:
        made = plan(job, tools, info)
        made = stabilize.settle(made, tools, progress=progress)
        spec = job.spec
        estimate = None
        background = job.background
        if background is not None:
            estimate = background_threshold(made, background, spec, tools, progress)
            spec = dataclasses.replace(spec, threshold=estimate.threshold)
            log.info("background %s: threshold %d (the %g quantile of %d changes)",
                     background.name, estimate.threshold, estimate.quantile, estimate.pixels)
        measured = job.measured
        argv, layout = measure_graph.mea_command(made, measured, spec, tools.ffmpeg)
        import numpy as np

        counts: list[Any] = []
        found: list[dict[str, Any]] = []
        for chunk in read_frames(argv, layout.frame_bytes, made.out_frames, progress):
            got_counts, got = decode_mea(chunk, layout, measured, spec.descriptors)
            counts.append(got_counts)
            if got is not None:
                found.append(got)
        total = sum(len(c) for c in counts)
        _check_frames(made, total, tools, "MEA")
        table_counts = (np.concatenate(counts) if counts
                        else np.zeros((0, len(measured)), np.int64))
        descriptors = ({key: np.concatenate([f[key] for f in found]) for key in found[0]}
                       if found else None)
        first = made.span.first
        info = made.info
        times = (None if info.constant_rate else
                 tuple(info.input_time(first + i) for i in range(total)))
        assert spec.threshold is not None
        table = MeaTable(info.path, info.fps, first, made.k, measured, spec.threshold,
                         table_counts, descriptors, times)
        commands = mea_commands(made, job, spec, tools.ffmpeg)
        return MeaResult(table, made, spec, commands, estimate)

    return recounting(job.src.name, attempt)


def shell_line(job: Job, tools: runner.Tools) -> str:
    """``--print-command``: the commands of ``job`` as one shell line (the numbers go to
    files: a background region's changes, then the MEA pass's gray8 blocks)."""
    check_job(job)
    made = plan(job, tools)
    if job.background is not None:
        log.warning("--print-command: the MEA pass's threshold (0 here) is set from the "
                    "background pass's changes when ffmotion runs it")
    return controller.shell_line(mea_commands(made, job, job.spec, tools.ffmpeg), made)


def write_outputs(result: Any, job: Job, tools: runner.Tools, *, csv: Optional[str],
                  output: Optional[str], fmt: str, sidecar_path: Optional[str],
                  plot: Optional[str], overwrite: bool, stdout: bool = True) -> list[Path]:
    """Write what was asked (the CSV, ``output`` in ``fmt`` "csv" or "mea", the plot) of a
    :class:`MeaResult` (or a displacement result: its table has ``csv``, ``plot`` and
    ``record``) under
    the safe-write rule, then the JSON sidecar beside the first file written (or at
    ``sidecar_path``); with no file asked, the CSV goes to stdout (unless not ``stdout``: a
    ``--json`` report holds the table). The files written."""
    table = result.table
    written: list[Path] = []
    record: dict[str, str] = {}
    if csv is not None and not outputs.is_stream(csv):
        dst = Path(csv).absolute()
        outputs.write_text(dst, table.csv(), what=field("csv"), overwrite=overwrite)
        written.append(dst)
        record["csv"] = str(dst)
    if output is not None and not outputs.is_stream(output):
        dst = Path(output).absolute()
        text = table.mea_text() if fmt == "mea" else table.csv()
        outputs.write_text(dst, text, what=field("output"), overwrite=overwrite)
        written.append(dst)
        record[fmt] = str(dst)
    if plot is not None:
        dst = Path(plot).absolute()
        if hasattr(table, "plot"):
            table.plot(dst, overwrite)
        else:
            write_mea_plot(table, dst, overwrite)
        written.append(dst)
        record["plot"] = str(dst)
    if not stdout:
        pass
    elif csv == "-" or (output is None and csv is None and plot is None):
        outputs.write_text("-", table.csv(), what="the CSV", overwrite=True)
    elif output == "-":
        outputs.write_text("-", table.mea_text() if fmt == "mea" else table.csv(),
                           what="the table", overwrite=True)
    target = (Path(sidecar_path).absolute() if sidecar_path
              else Path(f"{written[0]}.json") if written else None)
    if target is not None:
        extra = background_record(result.background) if result.background else None
        if hasattr(table, "record"):
            extra = table.record()
        outputs.write_text(target, sidecar(result.plan, job, result.spec, result.commands,
                                           tools, record, extra),
                           what=field("sidecar"), overwrite=overwrite)
        written.append(target)
    return written


# -- the sidecar --------------------------------------------------------------------------------

def sidecar(plan: graph.Plan, job: Job, spec: MeasureSpec, commands: list[list[str]],
            tools: runner.Tools, outputs_written: dict[str, str],
            extra: Optional[dict[str, Any]] = None) -> str:
    """The JSON that lets a study re-run the measurement: input, range, regions, parameters,
    versions, the exact commands."""
    info = plan.info
    span = plan.span
    record: dict[str, Any] = {
        "ffmotion": __version__,
        "ffmpeg": {"path": tools.ffmpeg, "version": tools.version},
        "input": {"path": str(info.path), "size_displayed": list(info.display_size),
                  "rotation": info.rotation, "fps": format_fps(info.fps),
                  "constant_rate": info.constant_rate, "pix_fmt": info.pix_fmt,
                  "color_range": info.color_range, "frames": info.frames},
        "range": {"first_frame": span.first, "frames": span.count,
                  "start": job.start and str(job.start), "end": job.end and str(job.end),
                  "duration": job.duration and str(job.duration)},
        "method": spec.method,
        "regions": [{"name": r.name, "x": r.x, "y": r.y, "w": r.w, "h": r.h,
                     "role": "background" if r.name == spec.background else "measured"}
                    for r in job.regions],
        "stabilize": None if plan.stabilizer is None else {
            "method": plan.stabilizer.method, "active": plan.stabilizer.active},
        "outputs": outputs_written,
        "commands": [shlex.join(argv) for argv in commands],
    }
    if spec.method == "mea":
        record["mea"] = {
            "offset_frames": plan.k, "threshold": spec.threshold, "median": spec.median,
            "median_padding": "zeros outside the picture (MATLAB medfilt2's default)",
            "gray": spec.gray,
            "gray_stretched": measure_graph.expands(plan, spec),
            "counted": "pixels with median(|g(t+K) - g(t)|) > threshold",
            "descriptors": spec.descriptors,
        }
    if extra:
        record.update(extra)
    return json.dumps(record, indent=2, ensure_ascii=False) + "\n"


def background_record(estimate: BackgroundEstimate) -> dict[str, Any]:
    return {"background": {"region": estimate.region.name, "threshold": estimate.threshold,
                           "quantile": estimate.quantile, "changes_seen": estimate.pixels,
                           "histogram": list(estimate.histogram)}}


def write_mea_plot(table: MeaTable, dst: Path, overwrite: bool) -> None:
    """A PNG of each region's share of changed pixels over time."""
    from matplotlib.figure import Figure

    figure = Figure(figsize=(9, 3.4), dpi=100, layout="constrained")
    axes = figure.add_subplot()
    times = [float(table.time(i)) for i in range(table.frames)]
    for j, region in enumerate(table.regions):
        axes.plot(times, table.counts[:, j] / region.area * 100, label=region.name,
                  linewidth=1.0)
    axes.set_xlabel("time in the input (s)")
    axes.set_ylabel("changed pixels (% of region)")
    axes.set_title(f"{table.source.name}: MEA, K={table.k}, threshold {table.threshold}, "
                   f"{format_fps(table.fps)} fps", fontsize=10)
    axes.set_ylim(bottom=0)
    axes.grid(alpha=0.3)
    axes.legend(fontsize=8)
    with outputs.atomic_output(dst, overwrite, what=field("plot")) as tmp:
        figure.savefig(tmp, format="png")


__all__ = ["BackgroundEstimate", "DESCRIPTOR_COLUMNS", "Job", "MeaResult", "MeaTable",
           "background_threshold", "check_job", "decode_mea", "mea_commands", "plan",
           "read_frames", "recounting", "run_mea", "shell_line", "sidecar", "write_mea_plot",
           "write_outputs"]
