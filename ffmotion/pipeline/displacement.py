"""``ffmotion measure --displacement``: each region's sub-pixel translation per frame.

ffmpeg sends the regions' own gray crops (side by side, one small block per frame: never
the whole picture) plus four corner patches of the picture; Python finds each crop's
translation against the range's first frame: whole pixels by **phase correlation**, the
fraction by a **symmetric gradient fit** (Lucas-Kanade for one translation, the gradient of
the mean of both crops, the border rolled over by the whole pixels left out), refined once by
moving both crops half the estimate towards each other (Fourier shift); batched over the
frames of a chunk. On synthetic sub-pixel motion of a smooth texture with noise it is within
0.01 px RMS (tests/integration/test_displacement.py). Then per
region: RMS and peak displacement (about the mean), and the dominant frequency of the
displacement within ``--band`` (the largest of |X(f)|² + |Y(f)|²).

Warnings where the numbers cannot be trusted: a variable frame rate or frames missing (the
time axis is not uniform), the corner patches moving as much as a region (the camera moved),
and a dominant frequency on an alias of mains flicker (50, 60, 100, 120 Hz folded by the
frame rate).
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import TYPE_CHECKING, Any, Optional

from ffmotion import graph
from ffmotion.core.errors import FFmpegFailed
from ffmotion.core.measure import MeasureSpec
from ffmotion.core.regions import Region
from ffmotion.core.units import format_fps
from ffmotion.graph import measure as measure_graph
from ffmotion.graph.extras import seconds_text
from ffmotion.media.info import MediaInfo
from ffmotion.pipeline import controller, stabilize
from ffmotion.pipeline.measure import Job, plan, read_frames, recounting
from ffmotion.run import runner

if TYPE_CHECKING:
    import numpy as np

log = logging.getLogger("ffmotion")

BATCH = 64  # frames estimated at once (numpy's temporaries: ~20 MB for a 64x64 region)
REFINE = 1  # rounds of the gradient fit after the first (a second changed nothing measurable)
CORNER = 48  # side of the corner patches that watch for camera motion
MAINS = (50.0, 60.0, 100.0, 120.0)
CAMERA_SHARE = 0.5  # corners moving at least half as much as a region: the camera moved
CAMERA_MIN_PX = 0.05  # ... and at least this much (RMS)


# -- the estimator (numpy; pure) ------------------------------------------------------------

def _fit_many(a: "np.ndarray", b: "np.ndarray", weight: "np.ndarray") -> "np.ndarray":
    """(n, 2): per frame (sx, sy) with b(x) = a(x - s), least squares on the symmetric
    gradient, each pixel weighted by ``weight`` (n, h, w): 0 where the data wrapped."""
    import numpy as np

    mean = (a + b) / 2
    gy, gx = np.gradient(mean, axis=(1, 2))
    diff = b - a
    wgx = weight * gx  # (weight * gx) * gy is weight * gx * gy, product for product
    wgy = weight * gy
    sxx = (wgx * gx).sum(axis=(1, 2))
    sxy = (wgx * gy).sum(axis=(1, 2))
    syy = (wgy * gy).sum(axis=(1, 2))
    bx = -(wgx * diff).sum(axis=(1, 2))
    by = -(wgy * diff).sum(axis=(1, 2))
    det = sxx * syy - sxy * sxy
    ok = np.abs(det) > 1e-9
    safe = np.where(ok, det, 1.0)
    sx = np.where(ok, (syy * bx - sxy * by) / safe, 0.0)
    sy = np.where(ok, (sxx * by - sxy * bx) / safe, 0.0)
    return np.stack([sx, sy], axis=1)


def translations(reference: "np.ndarray", crops: "np.ndarray",
                 rounds: int = REFINE) -> "np.ndarray":
    """(n, 2): (dx, dy) per crop of ``crops`` (n, h, w): how far its content lies right of and
    below that of ``reference`` (h, w), batched over the frames: whole pixels by phase
    correlation, the moved crop rolled back by them in the Fourier domain, then the
    symmetric gradient fit with the rolled-over border left out, refined ``rounds`` times by
    half-shifts of both towards each other (real FFTs)."""
    import numpy as np

    n, rows, cols = crops.shape
    a = reference.astype(np.float64)
    a = a - a.mean()
    b = crops.astype(np.float64)
    b -= b.mean(axis=(1, 2), keepdims=True)
    fa = np.fft.rfft2(a)
    fb = np.fft.rfft2(b)
    product = fb * np.conj(fa)[None]
    product /= np.maximum(np.abs(product), 1e-12)
    correlation = np.fft.irfft2(product, s=(rows, cols)).reshape(n, -1).argmax(axis=1)
    iy, ix = np.divmod(correlation, cols)
    iy = np.where(iy > rows // 2, iy - rows, iy)
    ix = np.where(ix > cols // 2, ix - cols, ix)
    ky = np.fft.fftfreq(rows)[None, :, None]
    kx = np.fft.rfftfreq(cols)[None, None, :]

    def phase(sx: "np.ndarray", sy: "np.ndarray") -> "np.ndarray":
        """exp(-2 pi i (kx sx + ky sy)), separable: one product of two small ramps."""
        return (np.exp(-2j * np.pi * ky * sy[:, None, None])
                * np.exp(-2j * np.pi * kx * sx[:, None, None]))

    def moved(spectra: "np.ndarray", sx: "np.ndarray", sy: "np.ndarray") -> "np.ndarray":
        return np.fft.irfft2(spectra * phase(sx, sy), s=(rows, cols))

    fb_back = fb * phase(-ix.astype(np.float64), -iy.astype(np.float64))
    b_back = np.fft.irfft2(fb_back, s=(rows, cols))
    yy = np.arange(rows)[None, :, None]
    xx = np.arange(cols)[None, None, :]
    mx = (np.abs(ix) + 2)[:, None, None]
    my = (np.abs(iy) + 2)[:, None, None]
    weight = ((xx >= mx) & (xx < cols - mx) & (yy >= my) & (yy < rows - my)).astype(np.float64)
    s = _fit_many(np.broadcast_to(a, b.shape), b_back, weight)
    fa_n = np.broadcast_to(fa, fb.shape)
    for _ in range(rounds):
        e = _fit_many(moved(fa_n, s[:, 0] / 2, s[:, 1] / 2),
                      moved(fb_back, -s[:, 0] / 2, -s[:, 1] / 2), weight)
        s = s + e
    return np.stack([ix + s[:, 0], iy + s[:, 1]], axis=1)


def dominant(dx: "np.ndarray", dy: "np.ndarray", fps: float,
             band: Optional[tuple[float, float]]) -> tuple[Optional[float], float]:
    """(the frequency in Hz with the most displacement power within ``band`` (default: all
    but 0 Hz), one FFT bin in Hz)."""
    import numpy as np

    n = len(dx)
    if n < 4:
        return None, float("nan")
    power = (np.abs(np.fft.rfft(dx - dx.mean())) ** 2 + np.abs(np.fft.rfft(dy - dy.mean())) ** 2)
    freqs = np.fft.rfftfreq(n, 1.0 / fps)
    low, high = band if band is not None else (0.0, fps / 2)
    inside = (freqs > 0) & (freqs >= low) & (freqs <= high)
    if not inside.any() or not power[inside].any():
        return None, fps / n
    return float(freqs[inside][int(np.argmax(power[inside]))]), fps / n


def mains_alias(freq: float, fps: float, tolerance: float) -> Optional[float]:
    """The mains flicker frequency that ``freq`` is (an alias of, folded by the frame rate),
    within ``tolerance`` Hz (half an FFT bin: the bin nearest the alias); None when none."""
    for mains in MAINS:
        folded = abs(mains - round(mains / fps) * fps)
        if folded > 0 and abs(freq - folded) <= tolerance:  # at 0 Hz flicker shows as none
            return mains
    return None


# -- the run ----------------------------------------------------------------------------------

@dataclass(frozen=True)
class RegionMotion:
    region: Region
    rms_px: float
    peak_px: float
    frequency_hz: Optional[float]


@dataclass
class DisplacementTable:
    """Per frame of the range (``first + i``) and region: dx, dy in pixels against the first."""

    source: Any
    fps: Fraction
    first: int
    regions: tuple[Region, ...]
    dx: "np.ndarray"  # (frames, regions)
    dy: "np.ndarray"
    mm_per_px: Optional[float]
    times: Optional[tuple[Fraction, ...]] = None
    motions: tuple[RegionMotion, ...] = ()
    bin_hz: float = float("nan")
    warnings: tuple[str, ...] = ()

    @property
    def frames(self) -> int:
        return int(self.dx.shape[0])

    def time(self, i: int) -> Fraction:
        if self.times is not None and i < len(self.times):
            return self.times[i]
        return Fraction(self.first + i) / self.fps

    def header(self) -> list[str]:
        names = ["frame", "time_s"]
        for region in self.regions:
            names += [f"{region.name}_dx_px", f"{region.name}_dy_px"]
            if self.mm_per_px is not None:
                names += [f"{region.name}_dx_mm", f"{region.name}_dy_mm"]
        return names

    def csv(self) -> str:
        lines = [",".join(self.header())]
        for i in range(self.frames):
            cells = [str(self.first + i), seconds_text(self.time(i))]
            for j in range(len(self.regions)):
                # rounded, and no "-0.0000" for a frame against itself
                x, y = (round(float(v), 4) + 0.0 for v in (self.dx[i, j], self.dy[i, j]))
                cells += [f"{x:.4f}", f"{y:.4f}"]
                if self.mm_per_px is not None:
                    cells += [f"{x * self.mm_per_px:.6g}", f"{y * self.mm_per_px:.6g}"]
            lines.append(",".join(cells))
        return "\n".join(lines) + "\n"

    def summary(self) -> list[str]:
        out = []
        for motion in self.motions:
            unit = ""
            if self.mm_per_px is not None:
                unit = (f" ({motion.rms_px * self.mm_per_px:.4g} mm RMS, "
                        f"{motion.peak_px * self.mm_per_px:.4g} mm peak)")
            freq = ("no dominant frequency" if motion.frequency_hz is None
                    else f"dominant {motion.frequency_hz:.3f} Hz (bin {self.bin_hz:.3f} Hz)")
            out.append(f"{motion.region.name}: displacement {motion.rms_px:.4f} px RMS, "
                       f"{motion.peak_px:.4f} px peak{unit}, {freq}")
        return out

    def plot(self, dst: Any, overwrite: bool) -> None:
        """A PNG: each region's dx and dy over time (mm with a scale), and their spectrum."""
        import numpy as np
        from matplotlib.figure import Figure

        from ffmotion.core.errors import field
        from ffmotion.run import outputs

        scale = self.mm_per_px or 1.0
        unit = "mm" if self.mm_per_px else "px"
        figure = Figure(figsize=(9, 5), dpi=100, layout="constrained")
        top, bottom = figure.subplots(2, 1)
        times = [float(self.time(i)) for i in range(self.frames)]
        for j, region in enumerate(self.regions):
            top.plot(times, self.dx[:, j] * scale, label=f"{region.name} x", linewidth=0.9)
            top.plot(times, self.dy[:, j] * scale, label=f"{region.name} y", linewidth=0.9)
            n = self.frames
            if n >= 4:
                power = (np.abs(np.fft.rfft(self.dx[:, j] - self.dx[:, j].mean())) ** 2
                         + np.abs(np.fft.rfft(self.dy[:, j] - self.dy[:, j].mean())) ** 2)
                amplitude = 2 * np.sqrt(power) / n * scale
                bottom.plot(np.fft.rfftfreq(n, 1 / float(self.fps)), amplitude,
                            label=region.name, linewidth=0.9)
        top.set_xlabel("time in the input (s)")
        top.set_ylabel(f"displacement ({unit})")
        top.legend(fontsize=8)
        top.grid(alpha=0.3)
        bottom.set_xlabel("frequency (Hz)")
        bottom.set_ylabel(f"amplitude ({unit})")
        bottom.grid(alpha=0.3)
        with outputs.atomic_output(dst, overwrite, what=field("plot")) as tmp:
            figure.savefig(tmp, format="png")

    def record(self) -> dict[str, Any]:
        return {"displacement": {
            "estimator": "against the range's first frame: whole pixels by phase "
                         "correlation, the fraction by a symmetric gradient (Lucas-Kanade) "
                         f"fit refined {REFINE} time(s), batched",
            "mm_per_px": self.mm_per_px, "bin_hz": self.bin_hz,
            "regions": {m.region.name: {"rms_px": m.rms_px, "peak_px": m.peak_px,
                                        "dominant_hz": m.frequency_hz}
                        for m in self.motions},
            "warnings": list(self.warnings)}}


@dataclass(frozen=True)
class DisplacementResult:
    table: DisplacementTable
    plan: graph.Plan
    spec: MeasureSpec
    commands: list[list[str]]
    background: None = None


def _lefts(boxes: list[tuple[int, int, int, int]]) -> list[int]:
    """Where each crop starts in the row ffmpeg sends (side by side)."""
    lefts, at = [], 0
    for _, _, w, _ in boxes:
        lefts.append(at)
        at += w
    return lefts


def corners(size: tuple[int, int]) -> list[tuple[int, int, int, int]]:
    """Four patches at the picture's corners (x, y, w, h)."""
    width, height = size
    side = max(8, min(CORNER, width // 4, height // 4))
    return [(0, 0, side, side), (width - side, 0, side, side), (0, height - side, side, side),
            (width - side, height - side, side, side)]


def shell_line(job: Job, tools: runner.Tools) -> str:
    """``--print-command``: the crops pass (its gray8 blocks to a file)."""
    made = plan(job, tools)
    boxes = [(r.x, r.y, r.w, r.h) for r in job.measured] + corners(made.info.display_size)
    argv, _, _ = measure_graph.crops_command(made, boxes, tools.ffmpeg)
    return controller.shell_line([*stabilize.analysis_commands(made, tools.ffmpeg),
                                  measure_graph.shown_command(argv, Path("crops.gray"))], made)


def run_displacement(job: Job, *, tools: runner.Tools,
                     progress: bool = False) -> DisplacementResult:
    """Measure each region's displacement on ``job`` (``job.spec.method`` displacement)."""
    import numpy as np

    def attempt(info: Optional[MediaInfo]) -> DisplacementResult:
        made = stabilize.settle(plan(job, tools, info), tools, progress=progress)
        regions = job.measured
        boxes = [(r.x, r.y, r.w, r.h) for r in regions] + corners(made.info.display_size)
        argv, width, height = measure_graph.crops_command(made, boxes, tools.ffmpeg)
        firsts: list[Any] = []
        chunks: list[Any] = []
        expected = made.span.count
        for chunk in read_frames(argv, width * height, expected, progress):
            block = np.frombuffer(chunk, np.uint8).reshape(-1, height, width)
            if not firsts:
                firsts = [block[0, :h, x:x + w] for x, (_, _, w, h) in zip(_lefts(boxes), boxes)]
            for at in range(0, len(block), BATCH):
                part = block[at:at + BATCH]
                # the corners only watch for camera motion: whole pixels + one gradient fit
                chunks.append(np.stack([translations(first, part[:, :h, x:x + w],
                                                     REFINE if index < len(regions) else 0)
                                        for index, (first, x, (_, _, w, h))
                                        in enumerate(zip(firsts, _lefts(boxes), boxes))],
                                       axis=1))
        got = sum(len(c) for c in chunks)
        warnings = []
        if got != expected:
            controller.recount(made.info, tools)
            if got == 0 or got > expected:
                raise FFmpegFailed(f"displacement: expected {expected} frames, ffmpeg gave "
                                   f"{got}")
            warnings.append(f"{got} of the {expected} frames planned arrived (dropped or "
                            "damaged frames): the time axis has gaps")
        info = made.info
        if not info.constant_rate:
            warnings.append("the input has a variable frame rate: frequencies assume "
                            f"{format_fps(info.fps)} fps and are not exact")
        values = np.concatenate(chunks)  # (frames, boxes, 2)
        n_regions = len(regions)
        dx, dy = values[:, :n_regions, 0], values[:, :n_regions, 1]
        fps = float(info.fps)
        spec = job.spec
        motions = []
        bin_hz = float("nan")
        for j, region in enumerate(regions):
            x, y = dx[:, j] - dx[:, j].mean(), dy[:, j] - dy[:, j].mean()
            magnitude = np.hypot(x, y)
            freq, bin_hz = dominant(dx[:, j], dy[:, j], fps, spec.band)
            motions.append(RegionMotion(region, float(np.sqrt((magnitude ** 2).mean())),
                                        float(magnitude.max()) if len(magnitude) else 0.0,
                                        freq))
            if freq is not None and (mains := mains_alias(freq, fps, bin_hz / 2)) is not None:
                warnings.append(f"{region.name}: the dominant {freq:.3f} Hz is where "
                                f"{mains:g} Hz mains flicker lands at {format_fps(info.fps)} "
                                "fps: check the lighting")
        corner = values[:, n_regions:, :]
        corner_rms = float(np.median(np.sqrt(
            ((corner - corner.mean(axis=0)) ** 2).sum(axis=2).mean(axis=0))))
        for motion in motions:
            if corner_rms >= CAMERA_MIN_PX and corner_rms >= CAMERA_SHARE * motion.rms_px:
                warnings.append(f"the picture's corners move too ({corner_rms:.3f} px RMS "
                                f"beside {motion.region.name}'s {motion.rms_px:.3f}): the "
                                "camera moved (try --stabilize, or a fixed camera)")
                break
        for line in warnings:
            log.warning("%s: %s", info.path.name, line)
        times = (None if info.constant_rate else
                 tuple(info.input_time(made.span.first + i) for i in range(got)))
        table = DisplacementTable(info.path, info.fps, made.span.first, regions, dx, dy,
                                  spec.scale.mm_per_px if spec.scale else None, times,
                                  tuple(motions), bin_hz, tuple(warnings))
        commands = [*stabilize.analysis_commands(made, tools.ffmpeg),
                    measure_graph.shown_command(argv, None)]
        return DisplacementResult(table, made, spec, commands)

    return recounting(job.src.name, attempt)


__all__ = ["DisplacementResult", "DisplacementTable", "RegionMotion", "corners", "dominant",
           "mains_alias", "run_displacement", "shell_line", "translations"]
