"""The independent model of ``ffmotion magnify`` (imports nothing of ffmotion): synthetic
clips with a known sub-pixel motion, rendered analytically; the measurement of the motion in
a clip (edge position, blob centre, sine fit at f0); and a numpy model of the magnify graph,
written out from its specification:

* X = 128 x (x: an 8-bit sample); per level the a-trous blur G_l+1 = round(h_l * G_l) along
  rows then columns (h: [1 4 6 4 1]/16 dilated 1, 2, 4, 8; [1 2 1]/4 dilated 16; mirrored
  borders; ``floor(sum / 2^k + 0.5)``);
* P = sum beta_l G_l (float32, lrint), beta from EVM's alpha_l = clamp((1 + alpha) 4 * 2^l /
  lambda_c - 1, 0, alpha) (all alpha without lambda_c), or G_levels alone (color mode);
* the band-pass: a Hamming-windowed sinc of 2D + 1 taps, D = ceil(max(1.25 fps / lo,
  fps / (hi - lo))), zero DC, gain 1 at the band centre; frames past the ends are the first /
  last frame repeated;
* out = X(t) - P(t) + [P(t) + alpha BP(P)(t)] where the bracket is one float32 weighted sum
  (oldest frame first, lrint, clipped to 16 bits), the highpass offset by 32768 and clipped,
  then min((2 o + 128) >> 8, 255);
* where the first k levels get no gain (k = min(leading zero betas, levels - 2) > 0: colour
  mode with more than 2 levels, motion mode when lambda_c or skip_finest silences the finest
  levels), P is computed on a pyramid (edge-padded to a multiple of 2^k; k times:
  [1 5 10 10 5 1 0]/32, the blur [1 4 6 4 1]/16 and the pair average x[i-1] + x[i] rounded
  once, then the odd samples; then the remaining levels a-trous at that size, mixed by their
  betas), the band-pass runs there and the band comes back up by bilinear steps (each sample
  twice, [1 2 1]/4), then is added to X(t - D).
"""
from __future__ import annotations

import math
import subprocess
from typing import Optional, Sequence

import numpy as np

# -- synthetic clips ---------------------------------------------------------------------------


def _phi(z: np.ndarray) -> np.ndarray:
    erf = np.vectorize(math.erf)
    return 0.5 * (1 + erf(z / math.sqrt(2)))


def edge_clip(frames: int, fps: float, f0: float, amplitude: float, size: tuple[int, int] = (96, 64),
              sigma: float = 3.0, low: float = 60.0, high: float = 190.0,
              seed: int = 1) -> np.ndarray:
    """A vertical edge blurred by a Gaussian of ``sigma`` px, at x = w/2 + A sin(2 pi f0 t),
    rendered analytically, dithered (uniform, +-0.5 level) to 8 bits: (frames, h, w) uint8."""
    width, height = size
    rng = np.random.default_rng(seed)
    x = np.arange(width) + 0.5
    out = np.empty((frames, height, width), np.uint8)
    for t in range(frames):
        centre = width / 2 + amplitude * math.sin(2 * math.pi * f0 * t / fps)
        row = low + (high - low) * _phi((x - centre) / sigma)
        noisy = row[None, :] + rng.uniform(-0.5, 0.5, (height, width))
        out[t] = np.clip(np.floor(noisy + 0.5), 0, 255).astype(np.uint8)
    return out


def blob_clip(frames: int, fps: float, f0: float, amplitude: float, size: tuple[int, int] = (96, 64),
              sigma: float = 4.0, peak: float = 120.0, base: float = 60.0,
              seed: int = 2) -> np.ndarray:
    """A Gaussian blob of ``sigma`` px moving along x and y (A sin(2 pi f0 t) each),
    dithered to 8 bits."""
    width, height = size
    rng = np.random.default_rng(seed)
    xs = np.arange(width) + 0.5
    ys = np.arange(height) + 0.5
    out = np.empty((frames, height, width), np.uint8)
    for t in range(frames):
        shift = amplitude * math.sin(2 * math.pi * f0 * t / fps)
        gx = np.exp(-0.5 * ((xs - width / 2 - shift) / sigma) ** 2)
        gy = np.exp(-0.5 * ((ys - height / 2 - shift) / sigma) ** 2)
        picture = base + peak * gy[:, None] * gx[None, :]
        noisy = picture + rng.uniform(-0.5, 0.5, (height, width))
        out[t] = np.clip(np.floor(noisy + 0.5), 0, 255).astype(np.uint8)
    return out


def write_y4m_gray(path: str, frames: np.ndarray, fps: int) -> None:
    """Frames as a lossless gray FFV1 needs ffmpeg; a raw .y4m (mono) needs nothing."""
    height, width = frames.shape[1:]
    with open(path, "wb") as out:
        out.write(f"YUV4MPEG2 W{width} H{height} F{fps}:1 Ip A1:1 Cmono\n".encode())
        for frame in frames:
            out.write(b"FRAME\n")
            out.write(frame.tobytes())


def decode_gray(ffmpeg: str, path: str, size: tuple[int, int]) -> np.ndarray:
    """Every frame of ``path`` as 8-bit luma (the Y plane as stored: no conversion)."""
    done = subprocess.run([ffmpeg, "-v", "error", "-i", path, "-map", "0:v:0", "-fps_mode",
                           "passthrough", "-vf", "extractplanes=y", "-f", "rawvideo",
                           "-pix_fmt", "gray", "-"], capture_output=True, check=True)
    width, height = size
    return np.frombuffer(done.stdout, np.uint8).reshape(-1, height, width)


# -- measuring the motion ------------------------------------------------------------------------


def edge_positions(frames: np.ndarray, low: float = 60.0, high: float = 190.0) -> np.ndarray:
    """Per frame: where the row-averaged profile crosses the middle level (linear
    interpolation between the two samples around it), in px."""
    middle = (low + high) / 2
    positions = []
    for frame in frames.astype(np.float64):
        profile = frame.mean(axis=0)
        above = np.nonzero(profile >= middle)[0]
        i = int(above[0])
        a, b = profile[i - 1], profile[i]
        positions.append(i - 1 + 0.5 + (middle - a) / (b - a))
    return np.array(positions)


def blob_positions(frames: np.ndarray, base: float = 60.0) -> np.ndarray:
    """Per frame: the blob's x centre from a Gaussian fit (a least-squares parabola through
    the log of the column sums at the 7 columns around the maximum)."""
    positions = []
    for frame in frames.astype(np.float64):
        column = (frame - base).sum(axis=0).clip(1e-3)
        i = int(np.argmax(column[3:-3])) + 3
        xs = np.arange(i - 3, i + 4)
        a, b, _ = np.polyfit(xs - i, np.log(column[xs]), 2)
        positions.append(i + 0.5 - b / (2 * a))
    return np.array(positions)


def sine_amplitude(signal: np.ndarray, f0: float, fps: float, skip: int = 0) -> float:
    """Least-squares amplitude of a sine at ``f0`` (with an offset and a linear drift),
    leaving out ``skip`` frames at either end."""
    t = np.arange(len(signal)) / fps
    keep = slice(skip, len(signal) - skip if skip else None)
    basis = np.stack([np.sin(2 * np.pi * f0 * t), np.cos(2 * np.pi * f0 * t),
                      np.ones_like(t), t], axis=1)[keep]
    coef, *_ = np.linalg.lstsq(basis, signal[keep], rcond=None)
    return float(math.hypot(coef[0], coef[1]))


# -- the model of the graph ------------------------------------------------------------------------

KERNELS = [((1, 4, 6, 4, 1), 1), ((1, 4, 6, 4, 1), 2), ((1, 4, 6, 4, 1), 4),
           ((1, 4, 6, 4, 1), 8), ((1, 2, 1), 16)]


def fir(low: float, high: float, fps: float) -> tuple[np.ndarray, int]:
    """The band-pass taps (symmetric, so their order does not matter) and D."""
    delay = math.ceil(max(1.25 * fps / low, fps / (high - low)))
    n = 2 * delay + 1
    m = np.arange(n) - delay
    f1, f2 = low / fps, high / fps
    ideal = 2 * f2 * np.sinc(2 * f2 * m) - 2 * f1 * np.sinc(2 * f1 * m)
    window = np.hamming(n)
    taps = ideal * window
    taps -= window * taps.sum() / window.sum()
    centre = (f1 + f2) / 2
    taps /= (taps * np.cos(2 * np.pi * centre * m)).sum()
    return taps, delay


def blur(plane: np.ndarray, level: int) -> np.ndarray:
    kernel, dilation = KERNELS[level]
    radius = (len(kernel) // 2) * dilation
    div = sum(kernel)
    out = plane.astype(np.int64)
    for axis in (1, 0):
        padded = np.pad(out, [(radius, radius) if a == axis else (0, 0) for a in (0, 1)],
                        mode="reflect")
        total = np.zeros_like(out)
        for i, value in enumerate(kernel):
            start = i * dilation
            total += value * np.take(padded, np.arange(start, start + out.shape[axis]), axis=axis)
        out = np.floor(total / div + 0.5).astype(np.int64)
    return out


def betas(alpha: float, levels: int, lambda_cutoff: Optional[float], color: bool,
          skip_finest: bool = False) -> list[float]:
    if color:
        return [0.0] * levels + [1.0]
    if lambda_cutoff is None:
        gains = [alpha] * levels
    else:
        gains = [max(0.0, min(alpha, (1 + alpha) * 2 ** (lv + 2) / lambda_cutoff - 1))
                 for lv in range(levels)]
    if skip_finest and levels > 1:  # EVM's code: the finest band gets no gain
        gains[0] = 0.0
    out = [gains[0] / alpha] + [(gains[lv] - gains[lv - 1]) / alpha for lv in range(1, levels)]
    return out + [(alpha - gains[-1]) / alpha]


def _conv(plane: np.ndarray, kernel: Sequence[int], div: int) -> np.ndarray:
    """An odd kernel along rows then columns (kernel[0] on x[i - r]), mirrored borders,
    floor(sum / div + 0.5)."""
    radius = len(kernel) // 2
    out = plane.astype(np.int64)
    for axis in (1, 0):
        padded = np.pad(out, [(radius, radius) if a == axis else (0, 0) for a in (0, 1)],
                        mode="reflect")
        total = np.zeros_like(out)
        for i, value in enumerate(kernel):
            total += value * np.take(padded, np.arange(i, i + out.shape[axis]), axis=axis)
        out = np.floor(total / div + 0.5).astype(np.int64)
    return out


def _mixed(level_images: Sequence[np.ndarray], mix: Sequence[float]) -> np.ndarray:
    """sum beta_l G_l: the one G_l a single weight picks, else a float32 sum, lrint."""
    used = [lv for lv, b in enumerate(mix) if b]
    if len(used) == 1:
        return level_images[used[0]]
    acc = np.zeros(level_images[0].shape, np.float32)
    for lv in used:
        acc = acc + level_images[lv].astype(np.float32) * np.float32(mix[lv])
    return np.clip(np.rint(acc), 0, 65535).astype(np.int64)


def _decimated(frames: np.ndarray, alpha: float, taps: np.ndarray, delay: int,
               levels: int, mix: Sequence[float], k: int) -> np.ndarray:
    """The band-pass on a pyramid 2^k times smaller (k: the leading levels of weight 0, at
    most levels - 2): out(t) = X(t - D) + up(tmix(P) - P(t - D) + 32768) - 32768, P the mix
    of the remaining levels, a-trous at the coarse size."""
    factor = 1 << k
    x = frames.astype(np.int64) * 128
    count, height, width = x.shape
    lows = []
    for frame in x:
        g = np.pad(frame, ((0, -height % factor), (0, -width % factor)), mode="edge")
        for _ in range(k):  # [1 4 6 4 1] and pair averages (x[i-1] + x[i]) as one kernel,
            g = _conv(g, (1, 5, 10, 10, 5, 1, 0), 32)[1::2, 1::2]  # rounded once; odd samples
        level_images = [g]
        for level in range(levels - k):  # the rest a-trous at the coarse size
            level_images.append(blur(level_images[-1], level))
        lows.append(_mixed(level_images, mix[k:]))
    n = len(taps)
    weights = (alpha * taps).astype(np.float64)
    weights[delay] += 1.0
    weights32 = weights.astype(np.float32)
    out = []
    for t in range(count):
        acc = np.zeros(lows[0].shape, np.float32)
        for i in range(n):
            source = min(max(t + delay - (n - 1) + i, 0), count - 1)
            acc = acc + lows[source].astype(np.float32) * weights32[i]
        amplified = np.clip(np.rint(acc), 0, 65535).astype(np.int64)
        band = np.clip(amplified - lows[t] + 32768, 0, 65535)
        for _ in range(k):  # each sample twice, then [1 2 1]/4
            band = _conv(np.repeat(np.repeat(band, 2, axis=0), 2, axis=1), (1, 2, 1), 4)
        band = band[:height, :width]
        merged = np.clip(x[t] + band - 32768, 0, 65535)
        out.append(np.minimum((np.minimum(2 * merged, 65535) + 128) >> 8, 255))
    return np.array(out, np.uint8)


def magnify_plane(frames: np.ndarray, alpha: float, low: float, high: float, fps: float,
                  levels: int, lambda_cutoff: Optional[float] = None,
                  color: bool = False, skip_finest: bool = False) -> np.ndarray:
    """The model of one magnified 8-bit plane: (N, h, w) uint8 -> (N, h, w) uint8."""
    taps, delay = fir(low, high, fps)
    mix = [float(f"{b:.9g}") for b in betas(alpha, levels, lambda_cutoff, color, skip_finest)]
    silent = next((lv for lv, b in enumerate(mix) if b), len(mix))
    if min(silent, levels - 2) > 0:
        return _decimated(frames, alpha, taps, delay, levels, mix, min(silent, levels - 2))
    n = len(taps)
    x = frames.astype(np.int64) * 128
    simple = mix[0] == 1 and not any(mix[1:])
    lows = []
    for frame in x:
        if simple:
            lows.append(frame)
            continue
        level_images = [frame]
        for level in range(levels):
            level_images.append(blur(level_images[-1], level))
        used = [lv for lv, b in enumerate(mix) if b]
        if len(used) == 1:
            lows.append(level_images[used[0]])
        else:
            acc = np.zeros(frame.shape, np.float32)
            for lv in used:
                acc = acc + level_images[lv].astype(np.float32) * np.float32(mix[lv])
            lows.append(np.clip(np.rint(acc), 0, 65535).astype(np.int64))
    weights = (alpha * taps).astype(np.float64)
    weights[delay] += 1.0
    weights32 = weights.astype(np.float32)  # symmetric: oldest-first order is the same
    frames_out = []
    count = len(x)
    for t in range(count):
        acc = np.zeros(x.shape[1:], np.float32)
        for i in range(n):  # tmix: oldest frame first; past the ends, the end frames
            source = min(max(t + delay - (n - 1) + i, 0), count - 1)
            acc = acc + lows[source].astype(np.float32) * weights32[i]
        amplified = np.clip(np.rint(acc), 0, 65535).astype(np.int64)
        if simple:
            merged = amplified
        else:
            high_pass = np.clip(x[t] - lows[t] + 32768, 0, 65535)
            merged = np.clip(high_pass + amplified - 32768, 0, 65535)
        frames_out.append(np.minimum((np.minimum(2 * merged, 65535) + 128) >> 8, 255))
    return np.array(frames_out, np.uint8)


def gain_table_row(measured: Sequence[float]) -> str:
    return " | ".join(f"{v:.3g}" for v in measured)
