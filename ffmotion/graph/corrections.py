"""Stabilization corrections per frame, computed by ffmotion for chunked runs.

Pass 2 of a stabilized run reads vid.stab's per-frame motions (old text format, relative
transforms; see :func:`ffmotion.graph.extras.motions_command`) and turns them into one
correction per frame before the first frame is filtered: integrate, subtract a gaussian
average (the camera path), and zoom in by one static amount so that the borders stay
covered. That depends on the whole clip, so a chunk cannot do it on its own frames. A
chunked run therefore computes the corrections here, once, from the same motions file, and
gives each chunk the slice for the frames it reads, applied as they are
(``relative=0:smoothing=0:optzoom=0``). This module repeats vid.stab's arithmetic
(``cameraPathGaussian`` and ``optzoom=1`` of ``vsPreprocessTransforms``, libvidstab 1.1)
operation for operation in doubles, so a chunk applies exactly what the single pass does;
the tests hold chunked runs to the single pass bit for bit on both ffmpeg builds.

**Borders.** Where a pixel's source lies outside the frame, vid.stab's bilinear
interpolation (``interpolateBiLinBorder``) takes the nearest edge pixel, and past
:data:`BORDER_BLEND` pixels outside it blends in, with the default ``crop=keep``, that pixel
of the previous output frame: the only state pass 2 carries. A frame whose every source
lies within that band does not depend on it; a chunk therefore starts reading at the last
such frame at or before its first frame (:func:`warmup_start`).

Pure: text in, numbers and text out; no file, no process.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Optional, Sequence

# x, y (pixels), alpha (radians), zoom (percent): vid.stab's VSTransform without ``extra``
Correction = tuple[float, float, float, float]

MAX_ZOOM = 60.0  # vid.stab clamps the static zoom to ±60 %
# how far outside the frame a source may lie before the previous output frame is blended in
# (vid.stab's ``w = 10`` in interpolateBiLinBorder)
BORDER_BLEND = 10
# a safety margin on that (pixels): vid.stab's fixed-point arithmetic rounds each source
# coordinate by far less (2^-16 per term)
COVER_MARGIN = 0.1


def parse_motions(text: str) -> list[Correction]:
    """The relative transforms of a motions file: one per data line, ``# ...`` lines skipped.

    Lines are ``i x y alpha zoom extra`` (or ``i x y alpha extra``). The zoom is dropped, as
    vid.stab drops it (``smoothZoom`` is off in ffmpeg).
    """
    motions: list[Correction] = []
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip() or line.startswith("#"):
            continue
        fields = line.split()
        if len(fields) not in (5, 6):
            raise ValueError(f"line {number} of the motions is not 'i x y alpha [zoom] extra'")
        try:
            x, y, alpha = (float(v) for v in fields[1:4])
        except ValueError:
            raise ValueError(f"line {number} of the motions has a value that is not a "
                             "number") from None
        if not all(math.isfinite(v) for v in (x, y, alpha)):
            raise ValueError(f"line {number} of the motions is not finite")
        motions.append((x, y, alpha, 0.0))
    return motions


def camera_path(motions: Sequence[Correction], smoothing: int, width: int,
                height: int, relative: Optional[bool] = None) -> list[Correction]:
    """The correction vid.stab applies to each frame, from the ``motions``.

    ``relative`` (default: ``smoothing > 0``): the motions are frame to frame, and are
    summed into the camera path (vid.stab's ``relative=1``); else they are already absolute,
    against the first frame (tripod mode). ``smoothing`` > 0 then subtracts the gaussian
    average of the path over ``2 * smoothing + 1`` frames; 0 keeps the whole path (relative:
    vid.stab's simulated static camera). Then the static zoom (``optzoom=1``) for a
    ``width`` x ``height`` frame.
    """
    ts = [tuple(t) for t in motions]
    n = len(ts)
    if n == 0:
        return []
    if relative is None:
        relative = smoothing > 0
    if relative:
        total = ts[0]
        for i in range(1, n):  # relative to absolute
            ts[i] = _add(ts[i], total)
            total = ts[i]
    if smoothing > 0:
        path = list(ts)
        size = smoothing * 2 + 1
        mu = smoothing
        sigma2 = (mu / 2.0) * (mu / 2.0)
        kernel = [0.0] * size
        for i in range(mu + 1):
            kernel[i] = kernel[size - i - 1] = math.exp(-((i - mu) * (i - mu)) / sigma2)
        for i in range(n):
            weightsum = 0.0
            avg = (0.0, 0.0, 0.0, 0.0)
            for k in range(size):
                idx = i + k - mu
                if 0 <= idx < n:
                    weightsum += kernel[k]
                    avg = _add(avg, _mult(path[idx], kernel[k]))
            if weightsum > 0:
                avg = _mult(avg, 1.0 / weightsum)
                ts[i] = _sub(ts[i], avg)
    zoom = 0.0
    if n > 1:
        cut = n * 1 // 100  # vid.stab's cleanmaxmin: the 1 % extremes on each side ignored
        xs = sorted(t[0] for t in ts)
        ys = sorted(t[1] for t in ts)
        zx = 2 * max(xs[n - cut - 1], abs(xs[cut])) / width
        zy = 2 * max(ys[n - cut - 1], abs(ys[cut])) / height
        zoom = min(MAX_ZOOM, max(-MAX_ZOOM, 0.0 + 100 * max(zx, zy)))
    if zoom != 0:
        ts = [(x, y, a, z + zoom) for x, y, a, z in ts]
    return [(x, y, a, z) for x, y, a, z in ts]


def _add(a: Sequence[float], b: Sequence[float]) -> Correction:
    return (a[0] + b[0], a[1] + b[1], a[2] + b[2], a[3] + b[3])


def _sub(a: Sequence[float], b: Sequence[float]) -> Correction:
    return (a[0] - b[0], a[1] - b[1], a[2] - b[2], a[3] - b[3])


def _mult(a: Sequence[float], f: float) -> Correction:
    return (a[0] * f, a[1] * f, a[2] * f, a[3] * f)


def text(corrections: Sequence[Correction]) -> str:
    """vid.stab's old transforms format (``i x y alpha zoom extra``), every value written
    with the digits that read back as the same double."""
    lines = ["# ffmotion: stabilization corrections, one line per frame (absolute)"]
    lines += [f"{i} {x!r} {y!r} {a!r} {z!r} 0" for i, (x, y, a, z) in enumerate(corrections)]
    return "\n".join(lines) + "\n"


@dataclass(frozen=True)
class Geometry:
    """The frames vidstabtransform works on: size and chroma subsampling (log2)."""

    width: int
    height: int
    planes: int = 3
    chroma_shift: tuple[int, int] = (1, 1)

    def plane_sizes(self) -> list[tuple[int, int, int, int]]:
        """(width, height, x shift, y shift) of each plane."""
        sx, sy = self.chroma_shift
        sizes = [(self.width, self.height, 0, 0)]
        for _ in range(self.planes - 1):
            sizes.append((-(-self.width >> sx), -(-self.height >> sy), sx, sy))
        return sizes


def covered(t: Correction, geometry: Geometry) -> bool:
    """True when no output pixel of a frame corrected by ``t`` depends on the previous
    output frame: every source lies less than :data:`BORDER_BLEND` pixels outside the frame.

    The destination-to-source map is affine, so the four corners of each plane decide; each
    must land in ``[-BORDER_BLEND, size + BORDER_BLEND)``, ``COVER_MARGIN`` inside.
    """
    x, y, alpha, zoom = t
    if x == 0 and y == 0 and alpha == 0 and zoom == 0:
        return True  # vid.stab copies the frame as it is
    z = 1.0 - zoom / 100.0
    zcos, zsin = z * math.cos(-alpha), z * math.sin(-alpha)
    for width, height, sx, sy in geometry.plane_sizes():
        c_tx = width // 2 - x / (1 << sx)
        c_ty = height // 2 - y / (1 << sy)
        for xd in (0 - width // 2, width - 1 - width // 2):
            for yd in (0 - height // 2, height - 1 - height // 2):
                xs = zcos * xd + zsin * yd + c_tx
                ys = -zsin * xd + zcos * yd + c_ty
                low, reach = -BORDER_BLEND + COVER_MARGIN, BORDER_BLEND - COVER_MARGIN
                if not (low <= xs <= width + reach and low <= ys <= height + reach):
                    return False
    return True


def stale_share(t: Correction, geometry: Geometry, grid: int = 32) -> float:
    """The share of a frame corrected by ``t`` that vid.stab fills from the previous output
    frame: of a ``grid`` x ``grid`` lattice of luma positions, those whose source lies
    :data:`BORDER_BLEND` pixels or more outside the frame (0 for a covered frame)."""
    if covered(t, geometry):
        return 0.0
    x, y, alpha, zoom = t
    z = 1.0 - zoom / 100.0
    zcos, zsin = z * math.cos(-alpha), z * math.sin(-alpha)
    width, height = geometry.width, geometry.height
    c_tx, c_ty = width // 2 - x, height // 2 - y
    stale = 0
    for i in range(grid):
        xd = (i + 0.5) * width / grid - width // 2
        for j in range(grid):
            yd = (j + 0.5) * height / grid - height // 2
            xs = zcos * xd + zsin * yd + c_tx
            ys = -zsin * xd + zcos * yd + c_ty
            if not (-BORDER_BLEND <= xs <= width + BORDER_BLEND
                    and -BORDER_BLEND <= ys <= height + BORDER_BLEND):
                stale += 1
    return stale / (grid * grid)


def warmup_start(corrections: Sequence[Correction], first: int, geometry: Geometry) -> int:
    """The frame a chunk must start reading at for frame ``first`` (and every later one) to
    come out as in a single pass: the last fully covered frame at or before ``first``, or 0
    (the single pass's own start)."""
    for j in range(min(first, len(corrections) - 1), 0, -1):
        if covered(corrections[j], geometry):
            return j
    return 0
