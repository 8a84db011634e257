"""The numpy reference: the specification that ffmotion's ffmpeg output is held to, bit for bit.

Frames are decoded through a pipe in the working pixel format and combined in numpy,
streaming, with at most K+1 frames in memory:

* offset mode: ``out[i] = (f[i] + max - f[i+K]) >> 1`` for i in 0 .. N-K-1
* freeze mode: ``out[i] = (f[i] + max - f[K]) >> 1`` for i in 0 .. N-1

per plane, with ``max = 2**depth - 1`` (255 at 8 bits, 1023 at 10 bits). The looks (gain,
blur, difference, colour offsets, trails, overlay, gray) are :func:`look_frames`. This module
is for tests and benchmarks only, and an independent model: it imports nothing of ffmotion
(its plane layouts, its decoding and the looks' arithmetic are written out here again).
"""
from __future__ import annotations

import collections
import contextlib
import math
import re
import subprocess
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import IO, Any, Callable, Iterator, Literal, Optional, Sequence

import numpy as np

Frame = tuple[np.ndarray, ...]  # one array per plane, dtype uint8 or uint16
Mode = Literal["offset", "freeze"]
Look = Any  # a look: anything with the fields of ffmotion's Look (blend, gain, blur, ...)


@dataclass(frozen=True)
class PlaneLayout:
    """The planes of one raw frame of a planar format: (height, width) each."""

    pix_fmt: str
    width: int
    height: int
    depth: int
    planes: tuple[tuple[int, int], ...]

    @property
    def bytes_per_sample(self) -> int:
        return 1 if self.depth <= 8 else 2

    @property
    def max_value(self) -> int:
        return (1 << self.depth) - 1

    @property
    def frame_bytes(self) -> int:
        return sum(h * w for h, w in self.planes) * self.bytes_per_sample


_CHROMA = {"444": (0, 0), "422": (1, 0), "440": (0, 1), "420": (1, 1), "411": (2, 0),
           "410": (2, 1)}


def plane_layout(pix_fmt: str, width: int, height: int) -> PlaneLayout:
    """The planes of ``pix_fmt``: gray (one plane), gbrp (three full planes) or planar YUV
    (two chroma planes, subsampled and rounded up); ``...10le`` etc. for deeper samples."""
    found = re.fullmatch(r"(gray|gbrp|yuv(\d{3})p)(\d+le)?", pix_fmt)
    if found is None:
        raise ValueError(f"{pix_fmt} is not a planar format the reference lays out")
    depth = int(found.group(3)[:-2]) if found.group(3) else 8
    if found.group(1) == "gray":
        planes: tuple[tuple[int, int], ...] = ((height, width),)
    elif found.group(1) == "gbrp":
        planes = ((height, width),) * 3
    else:
        sx, sy = _CHROMA[found.group(2)]
        ch, cw = -((-height) >> sy), -((-width) >> sx)
        planes = ((height, width), (ch, cw), (ch, cw))
    return PlaneLayout(pix_fmt, width, height, depth, planes)


@contextlib.contextmanager
def _reading(argv: list[str]) -> Iterator[IO[bytes]]:
    """ffmpeg's stdout; its failure (once read to the end) raises."""
    proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE)
    assert proc.stdout is not None
    try:
        yield proc.stdout
        rest = proc.stdout.read()
        err = proc.stderr.read() if proc.stderr is not None else b""
        if proc.wait() != 0 and not rest:
            raise RuntimeError(f"{argv[0]} failed: {err.decode(errors='replace')[-500:]}")
    finally:
        proc.kill()
        proc.wait()
        for stream in (proc.stdout, proc.stderr):
            if stream is not None:
                stream.close()


@contextlib.contextmanager
def _writing(argv: list[str]) -> Iterator[IO[bytes]]:
    """ffmpeg's stdin; its failure raises."""
    proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE)
    assert proc.stdin is not None
    try:
        yield proc.stdin
        proc.stdin.close()
        err = proc.stderr.read() if proc.stderr is not None else b""
        if proc.wait() != 0:
            raise RuntimeError(f"{argv[0]} failed: {err.decode(errors='replace')[-500:]}")
    finally:
        proc.kill()
        proc.wait()


def decode_argv(ffmpeg: str, src: Path, pix_fmt: str,
                sws_flags: Optional[str] = None, vf: Optional[str] = None) -> list[str]:
    """Decode the first video stream to raw frames on stdout: every frame, no dup/drop.

    ``sws_flags`` sets swscale's flags for a conversion to ``pix_fmt``; ``vf`` is a filter
    chain ffmpeg applies first (a stage the reference takes from ffmpeg, like ``--denoise``).
    """
    flags = ["-sws_flags", sws_flags] if sws_flags else []
    flags += ["-vf", vf] if vf else []
    return [ffmpeg, "-hide_banner", "-nostdin", "-v", "error", "-i", str(src), "-map", "0:v:0",
            "-fps_mode", "passthrough", *flags, "-f", "rawvideo", "-pix_fmt", pix_fmt, "-"]


def read_frames(ffmpeg: str, src: Path, layout: PlaneLayout,
                sws_flags: Optional[str] = None, vf: Optional[str] = None) -> Iterator[Frame]:
    """Yield the decoded frames of ``src`` as planes in ``layout``'s pixel format."""
    dtype = np.dtype("<u2") if layout.bytes_per_sample == 2 else np.dtype("u1")
    size = layout.frame_bytes
    with _reading(decode_argv(ffmpeg, src, layout.pix_fmt, sws_flags, vf)) as stdout:
        while True:
            data = stdout.read(size)
            if not data:
                return
            if len(data) != size:
                raise ValueError(f"truncated frame: {len(data)} of {size} bytes")
            yield split_planes(np.frombuffer(data, dtype=dtype), layout)


def split_planes(flat: np.ndarray, layout: PlaneLayout) -> Frame:
    """Cut one raw frame into its planes."""
    planes, start = [], 0
    for h, w in layout.planes:
        planes.append(flat[start:start + h * w].reshape(h, w))
        start += h * w
    return tuple(planes)


def blend(a: Frame, b: Frame, max_value: int) -> Frame:
    """``(a + max - b) >> 1`` per plane: frame a blended 50% with inverted frame b."""
    return tuple(
        ((pa.astype(np.int32) + max_value - pb.astype(np.int32)) >> 1).astype(pa.dtype)
        for pa, pb in zip(a, b)
    )


def motion_frames(frames: Iterator[Frame], k: int, mode: Mode, max_value: int) -> Iterator[Frame]:
    """The expected output frames, streaming with a ring buffer of K+1 frames."""
    if mode == "freeze":
        head: list[Frame] = []
        for frame in frames:
            head.append(frame)
            if len(head) == k + 1:
                break
        if len(head) < k + 1:
            return
        reference = head[k]
        for frame in head:
            yield blend(frame, reference, max_value)
        for frame in frames:
            yield blend(frame, reference, max_value)
        return
    ring: collections.deque[Frame] = collections.deque(maxlen=k + 1)
    for frame in frames:
        ring.append(frame)
        if len(ring) == k + 1:
            yield blend(ring[0], ring[-1], max_value)


def reference(ffmpeg: str, src: Path, k: int, mode: Mode, pix_fmt: str, width: int,
              height: int) -> Iterator[Frame]:
    """Expected motion-extracted frames of ``src`` in working format ``pix_fmt``."""
    layout = plane_layout(pix_fmt, width, height)
    return motion_frames(read_frames(ffmpeg, src, layout), k, mode, layout.max_value)


# -- looks (see ffmotion/core/looks.py for the definitions in words) -------------------------------
#
# These functions restate each look's arithmetic from the Look's fields alone; they share no
# code with the filter chains.

def look_reference(ffmpeg: str, src: Path, k: int, mode: Mode, pix_fmt: str, width: int,
                   height: int, look: Look,
                   channel_ks: Optional[tuple[int, int, int]] = None) -> Iterator[Frame]:
    """Expected frames of ``src`` with ``look``, decoded as ``pix_fmt`` by ffmpeg.

    ``pix_fmt`` is the format the look works in (``gbrp*`` for rgb offsets, ``gray*`` for
    gray on an RGB input, else the input's working format): ffmpeg's own conversion to it,
    with the swscale flags the graph uses, is the starting point. ``channel_ks`` are the red,
    green and blue offsets in frames when ``look.rgb_offsets`` is set.
    """
    layout = plane_layout(pix_fmt, width, height)
    # --denoise: ffmpeg's temporal denoisers have no exact numpy model here, so that stage's
    # output is taken from ffmpeg itself (the same filter, default settings, after the same
    # conversion); everything after it is restated below
    vf = f"format={pix_fmt},{look.denoise}" if look.denoise else None
    frames = read_frames(ffmpeg, src, layout, LOOK_SWS_FLAGS, vf)
    return look_frames(frames, k, mode, layout, look, channel_ks)


# The conversion a look starts from (to gbrp for rgb offsets, to gray for gray RGB): ffmpeg's
# own, with these swscale flags, which give the same pixels with SIMD on and off.
LOOK_SWS_FLAGS = "bicubic+accurate_rnd"


def look_frames(frames: Iterator[Frame], k: int, mode: Mode, layout: PlaneLayout, look: Look,
                channel_ks: Optional[tuple[int, int, int]] = None) -> Iterator[Frame]:
    """The look applied to decoded frames, streaming (at most max(K)+1 frames held)."""
    nplanes = len(layout.planes)
    if channel_ks is not None:
        red, green, blue = channel_ks
        ks: tuple[int, ...] = (green, blue, red)  # gbrp plane order
    else:
        ks = (k,) * nplanes
    yuv = layout.pix_fmt.startswith("yuv")
    chroma = tuple(yuv and p > 0 for p in range(nplanes))
    mx = layout.max_value
    half = (mx + 1) // 2
    if look.blend == "average":
        neutral = (mx >> 1,) * nplanes
    elif look.blend == "grainextract":
        neutral = (half,) * nplanes
    else:
        neutral = tuple(half if c else 0 for c in chroma)
    radius = _blur_radii(layout, look.blur)
    if look.threshold:
        matte_neutral = tuple(half if c else 0 for c in chroma)
    trail = _Trail(np.float32(look.trail), matte_neutral if look.threshold else neutral) \
        if look.trail else None
    weight = math.floor(look.overlay * 256 + 0.5)

    def blurred(frame: Frame) -> Frame:
        return tuple(box_blur(p, *radius) for p in frame) if look.blur else frame

    for original, first, partners in _paired(frames, ks, mode, blurred):
        out = []
        for p in range(nplanes):
            a = first[p].astype(np.int64)
            b = partners[p].astype(np.int64)
            if look.blend == "average":
                v = (a + mx - b) >> 1
            elif look.blend == "grainextract" or chroma[p]:
                v = np.clip(a - b + half, 0, mx)
            else:
                v = np.abs(a - b)
            v = apply_gain(v, neutral[p], look.gain, mx)
            if look.threshold:
                o = original[p].astype(np.int64)
                if look.threshold_on == "original":
                    m = matte(v, neutral[p], look, mx)
                    v = o if chroma[p] else ((v * m + o * (mx - m)) * 2 + mx) // (2 * mx)
                else:
                    v = np.full_like(v, half) if chroma[p] else matte(v, neutral[p], look, mx)
            out.append(v)
        if trail is not None:
            out = trail.step(out)
        if weight:
            out = [(m * weight + o.astype(np.int64) * (256 - weight)) >> 8
                   for m, o in zip(out, original)]
        if look.glow:
            gw = math.floor(look.glow * 256 + 0.5)
            gr = _blur_radii(layout, look.glow_radius)
            base = matte_neutral if look.threshold else neutral
            glowed = []
            for p in range(nplanes):
                o = original[p].astype(np.int64)
                if chroma[p]:
                    glowed.append(o)
                    continue
                e = np.abs(out[p].astype(np.int64) - base[p])
                if look.glow_radius:
                    e = box_blur(e, *gr).astype(np.int64)
                g = (e * gw) // 256
                glowed.append(np.clip(o + g, 0, mx) if look.glow_mode == "add"
                              else mx - ((mx - o) * (mx - g)) // mx)
            out = glowed
        if look.gray and yuv:
            out = [out[0]] + [np.full_like(plane, half) for plane in out[1:]]
        yield tuple(plane.astype(first[0].dtype) for plane in out)


def matte(v: np.ndarray, neutral: int, look: Look, max_value: int) -> np.ndarray:
    """The threshold matte of ``v``: hard (``max`` where ``|v - n| > T``) or a soft linear ramp
    of width W (``clip(floor(((d - T) * 2 * max + W) / (2 * W)), 0, max)``)."""
    d = np.abs(v.astype(np.int64) - neutral)
    if look.threshold_edge == "hard":
        return np.where(d > look.threshold, max_value, 0)
    w = look.threshold_width
    return np.clip(((d - look.threshold) * 2 * max_value + w) // (2 * w), 0, max_value)


def apply_gain(v: np.ndarray, neutral: int, gain: Fraction, max_value: int) -> np.ndarray:
    """``clip(n + round((v - n) * gain))``, rounding halves away from zero, in integers."""
    if gain == 1:
        return v
    num = (v.astype(np.int64) - neutral) * gain.numerator
    den = gain.denominator
    rounded = np.sign(num) * ((2 * np.abs(num) + den) // (2 * den))
    return np.clip(neutral + rounded, 0, max_value)


def box_blur(plane: np.ndarray, rx: int, ry: int) -> np.ndarray:
    """Mean over a (2rx+1)x(2ry+1) box, edges replicated, rounded down."""
    padded = np.pad(plane.astype(np.int64), ((ry, ry), (rx, rx)), mode="edge")
    table = np.pad(padded.cumsum(0).cumsum(1), ((1, 0), (1, 0)))
    h, w = 2 * ry + 1, 2 * rx + 1
    sums = table[h:, w:] - table[:-h, w:] - table[h:, :-w] + table[:-h, :-w]
    return (sums // (h * w)).astype(plane.dtype)


def _blur_radii(layout: PlaneLayout, radius: int) -> tuple[int, int]:
    """avgblur limits the radius to half the chroma plane (plane 1; plane 0 without one)."""
    ch, cw = layout.planes[1] if len(layout.planes) > 1 else layout.planes[0]
    return min(radius, cw // 2), min(radius, ch // 2)


class _Trail:
    """Fading trails: deviations above and below neutral each held by ``max(x, s * decay)``."""

    def __init__(self, decay: np.float32, neutral: tuple[int, ...]) -> None:
        self.decay = decay
        self.neutral = neutral
        self.above: Optional[list[np.ndarray]] = None
        self.below: Optional[list[np.ndarray]] = None

    def step(self, planes: list[np.ndarray]) -> list[np.ndarray]:
        above = [np.maximum(v - n, 0).astype(np.float32) for v, n in zip(planes, self.neutral)]
        below = [np.maximum(n - v, 0).astype(np.float32) for v, n in zip(planes, self.neutral)]
        if self.above is not None and self.below is not None:
            above = [np.maximum(x, s * self.decay) for x, s in zip(above, self.above)]
            below = [np.maximum(x, s * self.decay) for x, s in zip(below, self.below)]
        self.above, self.below = above, below
        # rint: round half to even, like lrintf
        return [n + np.rint(a).astype(np.int64) - np.rint(b).astype(np.int64)
                for n, a, b in zip(self.neutral, above, below)]


def _paired(frames: Iterator[Frame], ks: tuple[int, ...], mode: Mode,
            prepare: Callable[[Frame], Frame]) -> Iterator[tuple[Frame, Frame, Frame]]:
    """(original frame i, prepared frame i, prepared partner planes) for every output frame.

    Plane p's partner is frame i + ks[p] (offset mode) or frame ks[p] (freeze mode).
    """
    reach = max(ks)
    if mode == "freeze":
        head: list[tuple[Frame, Frame]] = []
        for frame in frames:
            head.append((frame, prepare(frame)))
            if len(head) == reach + 1:
                break
        if len(head) < reach + 1:
            return
        partners = tuple(head[kp][1][p] for p, kp in enumerate(ks))
        for frame, ready in head:
            yield frame, ready, partners
        for frame in frames:
            yield frame, prepare(frame), partners
        return
    ring: collections.deque[tuple[Frame, Frame]] = collections.deque(maxlen=reach + 1)
    for frame in frames:
        ring.append((frame, prepare(frame)))
        if len(ring) == reach + 1:
            frame0, ready0 = ring[0]
            yield frame0, ready0, tuple(ring[kp][1][p] for p, kp in enumerate(ks))


def encode_argv(ffmpeg: str, layout: PlaneLayout, fps: str, dst: Path,
                codec_args: Sequence[str]) -> list[str]:
    """Encode raw frames from stdin (for the numpy-pipeline benchmark)."""
    return [ffmpeg, "-hide_banner", "-nostdin", "-v", "error", "-y", "-f", "rawvideo",
            "-pix_fmt", layout.pix_fmt, "-s", f"{layout.width}x{layout.height}", "-r", fps,
            "-i", "-", *codec_args, str(dst)]


def write(frames: Iterator[Frame], ffmpeg: str, layout: PlaneLayout, fps: str, dst: Path,
          codec_args: Optional[Sequence[str]] = None) -> int:
    """Pipe ``frames`` into an ffmpeg encoder; return how many were written."""
    count = 0
    args = list(codec_args) if codec_args is not None else ["-c:v", "ffv1"]
    with _writing(encode_argv(ffmpeg, layout, fps, dst, args)) as stdin:
        for frame in frames:
            for plane in frame:
                stdin.write(np.ascontiguousarray(plane).tobytes())
            count += 1
    return count
