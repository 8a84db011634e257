"""``ffmotion spectrum``: where is the motion in frequency? ffmpeg computes one number per
frame (the mean luma of a region, :mod:`ffmotion.graph.spectrum`); numpy takes its FFT, finds
the strongest peaks and suggests a ``--band`` for ``ffmotion magnify``.
"""
from __future__ import annotations

import math
import re
import tempfile
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any, Optional, Union

import numpy as np

from ffmotion import graph
from ffmotion.core import magnify
from ffmotion.core.errors import FFmpegFailed, UsageError, field
from ffmotion.core.units import format_fps
from ffmotion.graph import spectrum as spectrum_graph
from ffmotion.pipeline import controller, resolve
from ffmotion.run import outputs, runner

PEAKS = 5
MIN_FRAMES = 16
Roi = tuple[int, int, int, int]


def parse_roi(text: Optional[str]) -> Optional[Roi]:
    """``x,y,w,h`` in pixels (None: the whole picture)."""
    if text is None:
        return None
    found = re.fullmatch(r"\s*(\d+)\s*,\s*(\d+)\s*,\s*(\d+)\s*,\s*(\d+)\s*", text)
    if found is None:
        raise UsageError(f"{field('roi')} must be x,y,w,h in pixels, like 100,50,64,64, not "
                         f"{text!r}")
    x, y, w, h = (int(v) for v in found.groups())
    if w < 1 or h < 1:
        raise UsageError(f"{field('roi')} {text}: the width and height must be 1 or more")
    return x, y, w, h


@dataclass(frozen=True)
class Peak:
    hz: float
    amplitude: float  # of the sine at that frequency, in 8-bit levels


@dataclass(frozen=True)
class Spectrum:
    """The per-frame means, their spectrum, its peaks and the band they suggest."""

    source: Path
    fps: float
    means: list[float]
    freqs: list[float]
    amplitudes: list[float]
    peaks: list[Peak]

    @property
    def resolution(self) -> float:
        """One FFT bin, in Hz."""
        return self.fps / len(self.means)

    def band(self) -> Optional[tuple[float, float]]:
        """A ``--band`` around the strongest peak that ``magnify`` can run on this clip
        (0.7-1.3 x its frequency; the next peak when its filter would be longer than the
        clip or tmix allows); None without one."""
        frames = min(len(self.means), magnify.MAX_TAPS)
        for peak in self.peaks:
            low = _nice(0.7 * peak.hz)
            high = _nice(min(1.3 * peak.hz, 0.95 * self.fps / 2))
            if 0 < low < high and 2 * magnify.fir_delay(low, high, self.fps) + 1 <= frames:
                return low, high
        return None

    def csv(self) -> str:
        lines = ["frequency_hz,amplitude"]
        lines += [f"{f:.4f},{a:.5f}" for f, a in zip(self.freqs, self.amplitudes)]
        return "\n".join(lines) + "\n"

    def summary(self) -> list[str]:
        out = [f"{len(self.means)} frames at {self.fps:g} fps: bins of {self.resolution:.3g} Hz"]
        for peak in self.peaks:
            out.append(f"peak {peak.hz:.3f} Hz (period {1 / peak.hz:.3g} s), amplitude "
                       f"{peak.amplitude:.3g} levels")
        band = self.band()
        if band is not None:
            out.append(f"suggested: --band {band[0]:g}-{band[1]:g}")
        elif not self.peaks:
            out.append("no peak: the region does not change periodically")
        else:
            out.append("no band suggested: the peaks are too slow for a filter this clip "
                       "can hold (a longer clip resolves lower frequencies)")
        return out


def _nice(value: float, up: bool = False) -> float:
    """Two significant digits (rounded up with ``up``)."""
    if value <= 0:
        return value
    digits = 1 - math.floor(math.log10(value))
    scale = 10 ** digits
    return (math.ceil(value * scale) if up else round(value * scale)) / scale


def analyse(means: list[float], fps: float, source: Path, peaks: int = PEAKS) -> Spectrum:
    """The FFT of the means (linear trend removed, Hann window; amplitudes of the sines),
    its local maxima above DC, strongest first, refined between bins (parabola of log
    magnitudes)."""
    series = np.asarray(means, dtype=np.float64)
    n = len(series)
    t = np.arange(n)
    series = series - np.polyval(np.polyfit(t, series, 1), t)
    window = np.hanning(n)
    magnitude = np.abs(np.fft.rfft(series * window)) * 2 / window.sum()
    freqs = np.fft.rfftfreq(n, 1 / fps)
    found = []
    floor = max(float(np.median(magnitude[2:])) * 4, 1e-4) if n > 4 else 1e-4
    for i in range(2, len(magnitude) - 1):  # bins 0-1: DC and the trend's leftovers
        if magnitude[i] > magnitude[i - 1] and magnitude[i] >= magnitude[i + 1] \
                and magnitude[i] > floor:
            a, b, c = np.log(magnitude[i - 1:i + 2] + 1e-12)
            shift = 0.5 * (a - c) / (a - 2 * b + c) if a - 2 * b + c else 0.0
            found.append(Peak(float((i + shift) * fps / n), float(magnitude[i])))
    found.sort(key=lambda p: -p.amplitude)
    return Spectrum(source, fps, [float(v) for v in means], [float(f) for f in freqs],
                    [float(m) for m in magnitude], found[:peaks])


def plan_for(src: Union[str, Path], tools: runner.Tools, **options: Any) -> graph.Plan:
    """The plan of the input (range, stabilization), nothing written."""
    request = resolve.request(src, None, freeze=0, strategy="split", **options)
    return controller.settle_analysis(controller.prepare(request, tools), tools)


def check_roi(plan: graph.Plan, roi: Optional[Roi]) -> None:
    if roi is None:
        return
    width, height = plan.info.display_size
    x, y, w, h = roi
    if x + w > width or y + h > height:
        raise UsageError(f"{field('roi')} {x},{y},{w},{h} reaches past the picture "
                         f"({width}x{height})")


def command(plan: graph.Plan, roi: Optional[Roi], ffmpeg: str, values: Path) -> list[str]:
    return spectrum_graph.command(plan, roi, values, ffmpeg)


def spectrum(src: Union[str, Path], roi: Optional[Roi] = None, *,
             tools: Optional[runner.Tools] = None, progress: bool = False,
             plan: Optional[graph.Plan] = None, **options: Any) -> Spectrum:
    """Measure the per-frame means of ``src`` (over ``roi``) and analyse them."""
    found = tools or runner.tools()
    if plan is None:
        plan = plan_for(src, found, **options)
    check_roi(plan, roi)
    if plan.out_frames < MIN_FRAMES:
        raise UsageError(f"spectrum needs at least {MIN_FRAMES} frames, "
                         f"{plan.info.path.name} has {plan.out_frames}")
    plan = controller.settle_analysis(plan, found, run=True) if plan.stabilizer else plan
    with tempfile.TemporaryDirectory(prefix="ffmotion-spectrum-") as folder:
        values = Path(folder) / "means.txt"
        runner.run_ffmpeg(command(plan, roi, found.ffmpeg, values), total_frames=plan.out_frames,
                          progress=progress)
        means = spectrum_graph.parse_means(values.read_text())
    if len(means) < MIN_FRAMES:
        raise FFmpegFailed(f"spectrum: ffmpeg gave {len(means)} frames of "
                           f"{plan.info.path.name}, too few for a spectrum")
    return analyse(means, float(plan.info.fps), plan.info.path)


def write_csv(result: Spectrum, dst: Path, overwrite: bool) -> None:
    outputs.write_text(dst, result.csv(), what=field("csv"), overwrite=overwrite)


def write_plot(result: Spectrum, dst: Path, overwrite: bool) -> None:
    """The series and its spectrum as a PNG (matplotlib, without pyplot's global state)."""
    from matplotlib.figure import Figure

    figure = Figure(figsize=(9, 5), dpi=100, layout="constrained")
    top, bottom = figure.subplots(2, 1)
    times = [i / result.fps for i in range(len(result.means))]
    top.plot(times, result.means, linewidth=1)
    top.set_xlabel("time (s)")
    top.set_ylabel("mean luma (8-bit)")
    top.set_title(f"{result.source.name} at {format_fps(Fraction(result.fps).limit_denominator(1001))} fps",
                  fontsize=10)
    bottom.plot(result.freqs, result.amplitudes, linewidth=1)
    for peak in result.peaks[:3]:
        bottom.axvline(peak.hz, color="tab:red", alpha=0.4, linewidth=1)
    band = result.band()
    if band is not None:
        bottom.axvspan(band[0], band[1], color="tab:green", alpha=0.15,
                       label=f"suggested --band {band[0]:g}-{band[1]:g}")
        bottom.legend(fontsize=8)
    bottom.set_xlabel("frequency (Hz)")
    bottom.set_ylabel("amplitude (levels)")
    for axes in (top, bottom):
        axes.grid(alpha=0.3)
    with outputs.atomic_output(dst, overwrite, what=field("plot")) as tmp:
        figure.savefig(tmp, format="png")
