"""The numpy reference: the specification that ffmotion's ffmpeg output is held to, bit for bit.

Frames are decoded through a pipe in the working pixel format and combined in numpy,
streaming, with at most K+1 frames in memory:

* offset mode: ``out[i] = (f[i] + max - f[i+K]) >> 1`` for i in 0 .. N-K-1
* freeze mode: ``out[i] = (f[i] + max - f[K]) >> 1`` for i in 0 .. N-1

per plane, with ``max = 2**depth - 1`` (255 at 8 bits, 1023 at 10 bits). This module is for
tests and benchmarks only; the product path never imports numpy.
"""
from __future__ import annotations

import collections
from pathlib import Path
from typing import Iterator, Optional, Sequence

import numpy as np

from . import runner
from .options import Mode
from .pixfmt import PlaneLayout, plane_layout

Frame = tuple[np.ndarray, ...]  # one array per plane, dtype uint8 or uint16


def decode_argv(ffmpeg: str, src: Path, pix_fmt: str) -> list[str]:
    """Decode the first video stream to raw frames on stdout: every frame, no dup/drop."""
    return [ffmpeg, "-hide_banner", "-nostdin", "-v", "error", "-i", str(src), "-map", "0:v:0",
            "-fps_mode", "passthrough", "-f", "rawvideo", "-pix_fmt", pix_fmt, "-"]


def read_frames(ffmpeg: str, src: Path, layout: PlaneLayout) -> Iterator[Frame]:
    """Yield the decoded frames of ``src`` as planes in ``layout``'s pixel format."""
    dtype = np.dtype("<u2") if layout.bytes_per_sample == 2 else np.dtype("u1")
    size = layout.frame_bytes
    with runner.reading(decode_argv(ffmpeg, src, layout.pix_fmt)) as stdout:
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
    with runner.writing(encode_argv(ffmpeg, layout, fps, dst, args)) as stdin:
        for frame in frames:
            for plane in frame:
                stdin.write(np.ascontiguousarray(plane).tobytes())
            count += 1
    return count
