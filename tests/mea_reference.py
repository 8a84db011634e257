"""The numpy model of ``ffmotion measure``: Altmann's MEA and MGT-python's descriptors,
written out again from their definitions. Imports nothing of ffmotion.

* gray g: the decoded luma Y (8-bit) as a full-range gray level,
  ``clip(floor((Y - 16) * 255 / 219 + 0.5), 0, 255)`` for limited-range (TV) YUV input, Y
  itself for full-range input (or ``gray="luma"``);
* d(t) = |g(t + K) - g(t)|, frames paired by index;
* m = the 5x5 (``median``) median of d, the picture padded with zeros beyond its edges
  (MATLAB ``medfilt2``'s default);
* count(region) = #{pixels of the region with m > threshold}.
"""
from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Iterator, Optional, Sequence

import numpy as np

Box = tuple[str, int, int, int, int]  # name, x, y, w, h


def luma_frames(ffmpeg: str, src: Path, width: int, height: int,
                extra: Sequence[str] = (), full_range: bool = False) -> Iterator[np.ndarray]:
    """The decoded Y plane of each frame (uint8, height x width): yuv444p (yuvj444p for a
    full-range input) through a pipe, so the luma is the decoder's own (no scaling of Y)."""
    argv = [ffmpeg, "-hide_banner", "-nostdin", "-v", "error", *extra, "-i", str(src),
            "-map", "0:v:0", "-f", "rawvideo", "-pix_fmt",
            "yuvj444p" if full_range else "yuv444p", "-fps_mode", "passthrough", "pipe:"]
    size = width * height
    with subprocess.Popen(argv, stdout=subprocess.PIPE) as proc:
        assert proc.stdout is not None
        while True:
            data = proc.stdout.read(3 * size)
            if len(data) < 3 * size:
                break
            yield np.frombuffer(data[:size], np.uint8).reshape(height, width)
    assert proc.returncode == 0


def gray(y: np.ndarray, stretch: bool) -> np.ndarray:
    if not stretch:
        return y.astype(np.int32)
    # floor(x + 0.5) with x = (Y-16)*255/219, in exact integers: floor((2*(Y-16)*255 + 219) / 438)
    v = (2 * (y.astype(np.int64) - 16) * 255 + 219) // 438
    return np.clip(v, 0, 255).astype(np.int32)


def median_zero_pad(d: np.ndarray, size: int) -> np.ndarray:
    """size x size median of d, zeros beyond the edges (medfilt2's default)."""
    if size == 1:
        return d
    r = size // 2
    padded = np.pad(d, r, mode="constant", constant_values=0)
    windows = np.lib.stride_tricks.sliding_window_view(padded, (size, size))
    return np.median(windows.reshape(*d.shape, size * size), axis=-1)


def changed_masks(frames: Sequence[np.ndarray], k: int, threshold: int, median: int,
                  stretch: bool) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """(b, d) per motion frame t: b the changed pixels (bool), d = |g(t+K) - g(t)|."""
    grays = [gray(f, stretch) for f in frames]
    for t in range(len(grays) - k):
        d = np.abs(grays[t + k] - grays[t])
        yield median_zero_pad(d, median) > threshold, d


def mea(frames: Sequence[np.ndarray], boxes: Sequence[Box], *, k: int = 1, threshold: int = 15,
        median: int = 5, stretch: bool = True) -> np.ndarray:
    """counts (motion frames, regions)."""
    rows = []
    for b, _ in changed_masks(frames, k, threshold, median, stretch):
        rows.append([int(b[y:y + h, x:x + w].sum()) for _, x, y, w, h in boxes])
    return np.array(rows, dtype=np.int64).reshape(-1, len(boxes))


def descriptors(frames: Sequence[np.ndarray], boxes: Sequence[Box], *, k: int = 1,
                threshold: int = 15, median: int = 5, stretch: bool = True
                ) -> list[list[dict[str, Optional[float]]]]:
    """Per motion frame and region, MGT-python's quantities on the changed pixels b:
    count (of b), mean_change (sum of |d| on b / region area), com_x/com_y (the mean x, y of
    b weighted by |d|, picture coordinates; None when that weight is 0), aom (x1, y1, x2, y2:
    the bounding box of b)."""
    out = []
    for b, d in changed_masks(frames, k, threshold, median, stretch):
        row = []
        for _, x, y, w, h in boxes:
            rb = b[y:y + h, x:x + w]
            rd = d[y:y + h, x:x + w]
            ys, xs = np.nonzero(rb)
            weight = rd[ys, xs].astype(np.float64)
            total = float(weight.sum())
            item: dict[str, Optional[float]] = {
                "count": float(rb.sum()),
                "mean_change": total / (w * h),
                "com_x": x + float((xs * weight).sum()) / total if total else None,
                "com_y": y + float((ys * weight).sum()) / total if total else None,
            }
            if len(xs):
                item.update(aom_x1=x + xs.min(), aom_y1=y + ys.min(), aom_x2=x + xs.max(),
                            aom_y2=y + ys.max())
            row.append(item)
        out.append(row)
    return out


def background_threshold(frames: Sequence[np.ndarray], box: Box, *, k: int = 1,
                         quantile: float = 0.999, stretch: bool = True) -> int:
    """The smallest level T such that at least ``quantile`` of the background's changes d
    (all pixels, all motion frames, before the median) are <= T."""
    grays = [gray(f, stretch) for f in frames]
    _, x, y, w, h = box
    values = np.concatenate([np.abs(grays[t + k] - grays[t])[y:y + h, x:x + w].ravel()
                             for t in range(len(grays) - k)])
    hist = np.bincount(values, minlength=256)
    below = np.cumsum(hist)
    return min(254, int(np.nonzero(below >= quantile * values.size)[0][0]))
