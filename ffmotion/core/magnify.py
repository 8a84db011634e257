"""Motion magnification as values: what a user asks for (:class:`MagnifySpec`) and the numbers
its graph is built from (:class:`MagnifyDesign`: the temporal band-pass taps, the delay, the
spatial level weights, the gain of each plane). Pure: no ffmpeg, no I/O.

The method is Eulerian video magnification (Wu et al. 2012), written so that ONE ffmpeg graph
computes it with flat memory. Per magnified plane ``X`` (16-bit, 128 per 8-bit level)::

    out(t) = X(t) + sum_k g[k] * alpha_p * P(t + D - k)

``P`` is a spatial low-pass of ``X`` (a convex mix of its a-trous blur levels, below), ``g`` a
zero-sum temporal band-pass of ``n`` taps centred on ``D`` (linear phase, so the magnified
motion is in phase with the motion), ``alpha_p`` the plane's gain. Because the band-pass is
linear and the same for every level, the per-level gains of the Laplacian pyramid collapse into
one spatial filter: ``sum_l alpha_l L_l + alpha G_N = alpha * sum_l beta_l G_l`` with
``beta_l >= 0`` summing to 1 when ``alpha_l`` grows with the level (``lambda_cutoff``
attenuates the fine levels as the EVM paper does). So every plane needs one ``tmix``.

Measured choices (docs/decisions.md): the band-pass is a Hamming-windowed sinc FIR
(``fir``); the EVM paper's causal IIR (a difference of two exponential moving averages,
``iir``, run as its truncated impulse response because an ffmpeg graph has no loop in time)
and a difference of two moving averages (``doma``) are kept for the comparison.
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Literal, Optional, Sequence, Union

from ffmotion.core import numbers
from ffmotion.core.errors import UsageError, field

Mode = Literal["motion", "color"]
MODES: tuple[Mode, ...] = ("motion", "color")
Kind = Literal["fir", "iir", "doma"]
KINDS: tuple[Kind, ...] = ("fir", "iir", "doma")
MAX_TAPS = 1023  # tmix mixes at most 1024 frames; odd, so the FIR has a centre
MAX_LEVELS = 5
MAX_ALPHA = 1000.0
SCALE = 128  # 16-bit working values per 8-bit level (headroom: 2x full scale above, 0 below)
HALF = 32768  # blend's grain offset at 16 bits
# the a-trous blur of each level: kernel, dilation (rdiv is a power of two: exact in ffmpeg)
LEVEL_KERNELS: tuple[tuple[tuple[int, ...], int], ...] = (
    ((1, 4, 6, 4, 1), 1), ((1, 4, 6, 4, 1), 2), ((1, 4, 6, 4, 1), 4), ((1, 4, 6, 4, 1), 8),
    ((1, 2, 1), 16),
)
# EVM's IIR: the impulse response is cut where it falls below this share of its peak
IIR_TAIL = 1e-4
WEIGHT_DIGITS = 9  # weights are written with 9 significant digits (a float32 holds ~7)


def level_radius(level: int) -> int:
    """Reach in pixels of the blur that makes level ``level + 1`` from level ``level``."""
    kernel, dilation = LEVEL_KERNELS[level]
    return (len(kernel) // 2) * dilation


def level_wavelength(level: int) -> float:
    """The spatial wavelength (px) band ``level`` (0 = finest) stands for: 4, 8, 16 ... px."""
    return float(2 ** (level + 2))


def max_levels(size: int) -> int:
    """The most levels a plane whose short side is ``size`` px allows (every blur reaches
    less than half the side)."""
    count = 0
    while count < MAX_LEVELS and 2 * level_radius(count) < size:
        count += 1
    return count


def parse_band(text: Union[str, Sequence[float]]) -> tuple[float, float]:
    """``"0.5-3"`` (Hz) -> (0.5, 3.0); also a pair of numbers."""
    if isinstance(text, str):
        found = re.fullmatch(r"\s*([0-9.eE+]+)\s*(?:-|:|\.\.)\s*([0-9.eE+]+)\s*(?:hz|Hz)?\s*", text)
        if found is None:
            raise UsageError(f"{field('band')} must be LOW-HIGH in Hz, like 0.5-3, not "
                             f"{numbers.shown(text)}")
        low = numbers.real(found.group(1), field("band"))
        high = numbers.real(found.group(2), field("band"))
    else:
        values = list(text)
        if len(values) != 2:
            raise UsageError(f"{field('band')} must be two frequencies (low, high) in Hz")
        low = numbers.real(values[0], field("band"))
        high = numbers.real(values[1], field("band"))
    if not (math.isfinite(low) and math.isfinite(high)) or low <= 0 or high <= low:
        raise UsageError(f"{field('band')} must be LOW-HIGH with 0 < LOW < HIGH (Hz), not "
                         f"{low:g}-{high:g}")
    return low, high


@dataclass(frozen=True)
class MagnifySpec:
    """What a user asks for: gain ``alpha`` for motions in the temporal band ``low``-``high``
    Hz; ``motion`` mode magnifies luma over all spatial levels (``lambda_cutoff`` px attenuates
    the fine ones), ``color`` mode the coarsest level only, chroma included (pulse)."""

    alpha: float
    low: float
    high: float
    mode: Mode = "motion"
    levels: Optional[int] = None  # None: from the picture's size
    lambda_cutoff: Optional[float] = None  # None: every level gets alpha
    chroma_attenuation: Optional[float] = None  # None: 0 in motion mode, 1 in color mode
    kind: Kind = "fir"
    # EVM's own code ignores the finest level (alpha_0 = 0): then the band-pass runs on a
    # pyramid, 4x fewer pixels at the least (docs/magnify.md#speed-and-memory)
    skip_finest: bool = False

    def __post_init__(self) -> None:
        if isinstance(self.alpha, bool) or not isinstance(self.alpha, (int, float)) \
                or not math.isfinite(self.alpha) or not 0 < self.alpha <= MAX_ALPHA:
            raise UsageError(f"{field('alpha')} must be more than 0 and at most {MAX_ALPHA:g}, "
                             f"not {self.alpha!r}")
        if not 0 < self.low < self.high or not math.isfinite(self.high):
            raise UsageError(f"{field('band')} must be LOW-HIGH with 0 < LOW < HIGH (Hz), not "
                             f"{self.low:g}-{self.high:g}")
        if self.mode not in MODES:
            raise UsageError(f"{field('mode')} must be one of {', '.join(MODES)}, not "
                             f"{self.mode!r}")
        if self.kind not in KINDS:
            raise UsageError(f"{field('kind')} must be one of {', '.join(KINDS)}, not "
                             f"{self.kind!r}")
        if self.levels is not None and (isinstance(self.levels, bool)
                                        or not isinstance(self.levels, int)
                                        or not 1 <= self.levels <= MAX_LEVELS):
            raise UsageError(f"{field('levels')} must be a whole number from 1 to {MAX_LEVELS}, "
                             f"not {self.levels!r}")
        if self.lambda_cutoff is not None and (not math.isfinite(self.lambda_cutoff)
                                               or not 0 < self.lambda_cutoff <= 100000):
            raise UsageError(f"{field('lambda_cutoff')} must be a wavelength in pixels, more "
                             f"than 0, not {self.lambda_cutoff!r}")
        if self.chroma_attenuation is not None and (
                not math.isfinite(self.chroma_attenuation)
                or not 0 <= self.chroma_attenuation <= 10):
            raise UsageError(f"{field('chroma_attenuation')} must be from 0 to 10, not "
                             f"{self.chroma_attenuation!r}")
        if not isinstance(self.skip_finest, bool):
            raise UsageError(f"{field('skip_finest')} must be true or false, not "
                             f"{self.skip_finest!r}")

    @classmethod
    def parse(cls, alpha: Union[str, float], band: Union[str, Sequence[float]], *,
              mode: str = "motion", levels: Union[str, int, None] = None,
              lambda_cutoff: Union[str, float, None] = None,
              chroma_attenuation: Union[str, float, None] = None,
              kind: str = "fir", skip_finest: bool = False) -> "MagnifySpec":
        """From what a user typed: ``alpha`` ``"20"``, ``band`` ``"0.5-3"``."""
        low, high = parse_band(band)
        return cls(alpha=numbers.real(alpha, field("alpha")), low=low, high=high,
                   mode=mode,  # type: ignore[arg-type]  # checked in __post_init__
                   levels=None if levels is None else numbers.whole(levels, field("levels")),
                   lambda_cutoff=(None if lambda_cutoff is None
                                  else numbers.real(lambda_cutoff, field("lambda_cutoff"))),
                   chroma_attenuation=(None if chroma_attenuation is None else
                                       numbers.real(chroma_attenuation,
                                                    field("chroma_attenuation"))),
                   kind=kind, skip_finest=skip_finest)  # type: ignore[arg-type]

    @property
    def chroma(self) -> float:
        """The share of alpha the chroma planes get."""
        if self.chroma_attenuation is not None:
            return self.chroma_attenuation
        return 1.0 if self.mode == "color" else 0.0


# -- the temporal band-pass ------------------------------------------------------------------

def _round(value: float) -> float:
    return float(f"{value:.{WEIGHT_DIGITS}g}")


def fir_delay(low: float, high: float, fps: float) -> int:
    """Half the FIR's length: the window must resolve the band's low edge (its transition,
    3.3 fps / n for a Hamming window, ends before LOW/3) and its width."""
    return math.ceil(max(1.25 * fps / low, fps / (high - low)))


def bandpass(kind: Kind, low: float, high: float, fps: float) -> tuple[list[float], int]:
    """The band-pass taps ``g[k]`` (applied to frame t-k) and the frame ``D`` they stand for
    (the output of time t is frame t-D). Zero sum; the FIR and the moving averages are
    symmetric about D and scaled to gain 1 at the band's centre; the IIR is EVM's, causal
    (D = 0), unscaled."""
    f1, f2 = low / fps, high / fps
    if kind == "fir":
        delay = fir_delay(low, high, fps)
        n = 2 * delay + 1
        taps, window = [], []
        for k in range(n):
            m = k - delay
            ideal = 2 * f2 * _sinc(2 * f2 * m) - 2 * f1 * _sinc(2 * f1 * m)
            win = 0.54 - 0.46 * math.cos(2 * math.pi * k / (n - 1))
            taps.append(ideal * win)
            window.append(win)
        dc = sum(taps) / sum(window)
        taps = [t - dc * w for t, w in zip(taps, window)]
    elif kind == "doma":
        short = max(1, round(fps / high)) | 1
        long_ = max(short + 2, round(fps / low) | 1)
        delay = long_ // 2
        taps = [0.0] * long_
        for k in range(long_):
            if abs(k - delay) <= short // 2:
                taps[k] += 1.0 / short
            taps[k] -= 1.0 / long_
    else:  # EVM: lowpass(r_high) - lowpass(r_low), y += r (x - y), causal
        r_high = 1 - math.exp(-2 * math.pi * f2)
        r_low = 1 - math.exp(-2 * math.pi * f1)
        taps = []
        for k in range(MAX_TAPS):
            value = r_high * (1 - r_high) ** k - r_low * (1 - r_low) ** k
            taps.append(value)
            if k > 2 and r_low * (1 - r_low) ** k < IIR_TAIL * r_low \
                    and r_high * (1 - r_high) ** k < IIR_TAIL * r_high:
                break
        return [_round(t) for t in taps], 0
    centre = (f1 + f2) / 2
    gain = sum(t * math.cos(2 * math.pi * centre * (k - delay)) for k, t in enumerate(taps))
    return [_round(t / gain) for t in taps], delay


def _sinc(x: float) -> float:
    return 1.0 if x == 0 else math.sin(math.pi * x) / (math.pi * x)


def response(taps: Sequence[float], delay: int, freq: float, fps: float) -> complex:
    """The band-pass's complex gain at ``freq`` Hz, relative to frame t-D."""
    w = 2 * math.pi * freq / fps
    return sum(t * complex(math.cos(w * (k - delay)), -math.sin(w * (k - delay)))
               for k, t in enumerate(taps))


def magnification(taps: Sequence[float], delay: int, alpha: float, freq: float,
                  fps: float) -> float:
    """How much larger a small motion at ``freq`` Hz comes out: |1 + alpha H(f)|."""
    return abs(1 + alpha * response(taps, delay, freq, fps))


# -- the spatial levels ------------------------------------------------------------------------

def level_alphas(alpha: float, levels: int, lambda_cutoff: Optional[float],
                 skip_finest: bool = False) -> list[float]:
    """The gain of each level 0 (finest) .. levels-1; the residual gets ``alpha``. EVM:
    alpha_l = min(alpha, (1 + alpha) lambda_l / lambda_c - 1), at least 0; ``skip_finest``:
    0 on level 0 (EVM's code ignores its finest band)."""
    if lambda_cutoff is None:
        gains = [alpha] * levels
    else:
        gains = [max(0.0, min(alpha, (1 + alpha) * level_wavelength(lv) / lambda_cutoff - 1))
                 for lv in range(levels)]
    if skip_finest and levels > 1:
        gains[0] = 0.0
    return gains


def level_betas(alpha: float, alphas: Sequence[float]) -> list[float]:
    """``P = sum_l beta_l G_l`` (G_0 the plane itself, G_levels the residual), with
    ``alpha P = sum_l alpha_l (G_l - G_l+1) + alpha G_levels``."""
    betas = [alphas[0] / alpha]
    betas += [(alphas[lv] - alphas[lv - 1]) / alpha for lv in range(1, len(alphas))]
    betas.append((alpha - alphas[-1]) / alpha)
    return [_round(b) for b in betas]


@dataclass(frozen=True)
class PlaneDesign:
    """One plane: its gain (0: only delayed) and its spatial mix ``betas`` (G_0..G_levels)."""

    alpha: float
    betas: tuple[float, ...]

    @property
    def weights(self) -> tuple[float, ...]:
        """Never used for alpha 0."""
        return self.betas

    @property
    def used_levels(self) -> int:
        """How many blurs the plane's mix needs (the deepest level with a weight)."""
        return max((lv for lv, b in enumerate(self.betas) if b), default=0)


@dataclass(frozen=True)
class MagnifyDesign:
    """The numbers of one magnify graph (per input frame rate and plane sizes)."""

    spec: MagnifySpec
    fps: float
    taps: tuple[float, ...]  # g[k]: weight of frame t-k
    delay: int  # D: output frame t shows input frame t-D
    levels: int
    planes: tuple[PlaneDesign, ...]  # Y (or gray), then U, V
    # the band-pass runs on a pyramid decimated 2^decimation times (pair averages, every
    # second sample; back up by bilinear steps): 4^decimation times fewer pixels in tmix.
    # Colour mode: levels - 2; motion mode: the leading levels lambda_cutoff silences
    # (:func:`pyramid_steps`)
    decimation: int = 0

    @property
    def frames(self) -> int:
        return len(self.taps)

    def tmix_weights(self, alpha: float) -> list[float]:
        """tmix's weights (oldest frame first) for a plane of gain ``alpha``: the delay D
        plus alpha times the band-pass."""
        n = len(self.taps)
        out = [_round(alpha * self.taps[n - 1 - i]) for i in range(n)]
        out[n - 1 - self.delay] = _round(out[n - 1 - self.delay] + 1.0)
        return out


def design(spec: MagnifySpec, fps: float, plane_sizes: Sequence[tuple[int, int]],
           frames: Optional[int] = None) -> MagnifyDesign:
    """The graph's numbers for a clip at ``fps`` whose planes are ``plane_sizes`` (w, h;
    luma first), refusing what makes no sense before ffmpeg starts: a band at or above
    Nyquist, a band too low for tmix's 1024 frames, more levels than the picture allows, a
    clip (``frames``) shorter than the filter."""
    nyquist = fps / 2
    if spec.high >= nyquist:
        raise UsageError(f"{field('band')} {spec.low:g}-{spec.high:g} Hz: the high edge must be "
                         f"below half the frame rate ({nyquist:g} Hz at {fps:g} fps)")
    if spec.kind == "fir" and 2 * fir_delay(spec.low, spec.high, fps) + 1 > MAX_TAPS:
        lowest = 1.25 * fps / ((MAX_TAPS - 1) // 2)
        raise UsageError(f"{field('band')} {spec.low:g}-{spec.high:g} Hz is too low or too "
                         f"narrow for {fps:g} fps: the filter would need more than {MAX_TAPS} "
                         f"frames (the low edge can be {lowest:.3g} Hz at the least, the band "
                         f"{fps / ((MAX_TAPS - 1) // 2):.3g} Hz wide)")
    taps, delay = bandpass(spec.kind, spec.low, spec.high, fps)
    if frames is not None and frames < len(taps):
        raise UsageError(f"{field('band')} {spec.low:g}-{spec.high:g} Hz needs a clip of at "
                         f"least {len(taps)} frames ({len(taps) / fps:.2f} s at {fps:g} fps): "
                         f"this one has {frames}")
    gains = [spec.alpha] + [spec.alpha * spec.chroma] * (len(plane_sizes) - 1)
    magnified = [min(size) for size, gain in zip(plane_sizes, gains) if gain > 0]
    allowed = max_levels(min(magnified)) if magnified else MAX_LEVELS
    if spec.levels is not None and spec.levels > allowed:
        raise UsageError(f"{field('levels')} {spec.levels}: a picture of "
                         f"{plane_sizes[0][0]}x{plane_sizes[0][1]} allows at most {allowed}")
    levels = spec.levels if spec.levels is not None else max(1, allowed)
    if allowed < 1 and (spec.mode == "color" or spec.lambda_cutoff is not None):
        raise UsageError(f"a picture of {plane_sizes[0][0]}x{plane_sizes[0][1]} is too small "
                         f"for spatial levels (at least 5 px a side)")
    if spec.mode == "color":
        betas = [0.0] * levels + [1.0]
    else:
        betas = level_betas(spec.alpha, level_alphas(spec.alpha, levels, spec.lambda_cutoff,
                                                     spec.skip_finest))
    planes = tuple(PlaneDesign(gain, tuple(betas)) for gain in gains)
    return MagnifyDesign(spec, fps, tuple(taps), delay, levels, planes,
                         pyramid_steps(betas, levels))


def pyramid_steps(betas: Sequence[float], levels: int) -> int:
    """How many times the band-pass's input can be decimated (by 2, as a pyramid): once per
    leading level that gets no gain (``beta`` 0: every level in colour mode, the finest ones
    that ``lambda_cutoff`` silences in motion mode, as EVM's own code does), keeping the last
    two levels a-trous at the coarse size; 0 leaves the band-pass at full size."""
    silent = 0
    while silent < len(betas) and not betas[silent]:
        silent += 1
    return max(0, min(silent, levels - 2))
