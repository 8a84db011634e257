"""Frame identity: frame i is the i-th decoded frame of the video stream, in presentation order.

The probe lists the stream's packets (``ffmpeg -c copy -f framecrc``: no decoding). Packets
are not frames: a stream-copy cut ("trim" on a phone) keeps the packets before the cut
behind an edit list, and the demuxer flags them *discard* (``F=0x4``); the decoder drops
them. An AVI "null frame" (a zero-size packet that capture tools, DVRs and VirtualDub write
for "show the previous picture again") decodes to no frame either: the decoded frames keep
the times of the packets with data, so the stream has gaps (variable frame rate). So the
frames are the packets with data and without that flag, and their presentation times are
the packets' pts, sorted (B-frames are stored out of order).

Cost, measured with ffmpeg 9.0.2 on the 2-core development machine (under load): listing the
packets of a 120 s 1080p30 H.264 file (3600 frames, 234 MB) took 0.18 s (the file is read,
nothing is decoded); counting decoded frames instead (``-f null``) took 10.2 s. Frames that
are listed but cannot be decoded (a damaged file) are the one case this count gets wrong: the
run then writes fewer frames than planned, and counts the frames that decode
(:func:`ffmotion.pipeline.controller.run`), never a silent shortfall.

Times are on the timeline the filter graph sees (ffmpeg subtracts the file's start time from
every stream), so a video that starts 0.3 s after its audio has ``times[0] == 0.3``.
"""
from __future__ import annotations

from collections.abc import Sequence as SequenceABC
from dataclasses import dataclass
from fractions import Fraction
from typing import Iterator, Optional, Sequence, Union, overload

DISCARD = 0x4  # AV_PKT_FLAG_DISCARD: dropped by the decoder (edit lists)
KEY = 0x1


class FrameTimes(SequenceABC):
    """Frame times as integer ticks of one unit, ``origin + ticks[i] * unit`` seconds.

    The probe's work stays flat with the file's length: a time becomes a ``Fraction`` only
    when it is read (a plan reads a handful), and the constant-rate check compares the
    distinct tick steps, not every pair of Fractions (~5 ms per 1000 frames otherwise).
    """

    __slots__ = ("ticks", "unit", "origin")

    def __init__(self, ticks: Sequence[int], unit: Fraction, origin: Fraction = Fraction(0)):
        self.ticks = ticks
        self.unit = unit
        self.origin = origin

    def __len__(self) -> int:
        return len(self.ticks)

    @overload
    def __getitem__(self, i: int) -> Fraction: ...
    @overload
    def __getitem__(self, i: slice) -> tuple[Fraction, ...]: ...

    def __getitem__(self, i: Union[int, slice]) -> Union[Fraction, tuple[Fraction, ...]]:
        if isinstance(i, slice):
            return tuple(self.origin + t * self.unit for t in self.ticks[i])
        return self.origin + self.ticks[i] * self.unit

    def __iter__(self) -> Iterator[Fraction]:
        return (self.origin + t * self.unit for t in self.ticks)

    def steps(self) -> set[Fraction]:
        """The distinct intervals between consecutive frames, in seconds."""
        ticks = self.ticks
        return {d * self.unit for d in {b - a for a, b in zip(ticks, ticks[1:])}}

    def __eq__(self, other: object) -> bool:
        if isinstance(other, FrameTimes) and (other.unit, other.origin) == (self.unit, self.origin):
            return list(self.ticks) == list(other.ticks)
        if isinstance(other, (FrameTimes, tuple, list)):
            return len(self) == len(other) and all(a == b for a, b in zip(self, other))
        return NotImplemented

    def __hash__(self) -> int:
        return hash(tuple(self))

    def __repr__(self) -> str:
        return f"FrameTimes({len(self)} frames from {self.origin} s, unit {self.unit} s)"


@dataclass(frozen=True)
class SizeRun:
    """Frames from ``first`` on (up to the next run) have this size, as the graph sees them
    (after autorotation)."""

    first: int
    width: int
    height: int

    @property
    def size(self) -> tuple[int, int]:
        return self.width, self.height


@dataclass(frozen=True)
class FrameIndex:
    """The decoded frames of one video stream: their times and which ones are keyframes."""

    times: Sequence[Fraction]  # presentation time of frame i, seconds, graph timeline
    keyframes: tuple[int, ...]  # indices of keyframes (where a decoder can start)
    time_base: Fraction  # the stream's time base
    # counted by decoding (ffmotion.media.decoded), not listed from the packets
    decoded: bool = False
    # where the picture size changes (decoded indexes only): one run per size, in order;
    # empty when every frame has the stream's size
    sizes: tuple[SizeRun, ...] = ()
    listed: Optional[int] = None  # decoded indexes: the frames the packets listed

    def sizes_between(self, first: int, end: int) -> tuple[SizeRun, ...]:
        """The size runs that frames ``first .. end-1`` fall in."""
        return tuple(run for n, run in enumerate(self.sizes)
                     if run.first < end and (n + 1 == len(self.sizes)
                                             or self.sizes[n + 1].first > first))

    @property
    def count(self) -> int:
        return len(self.times)

    def is_constant_rate(self, fps: Fraction) -> bool:
        """True when every frame is one 1/fps after the previous (within the container's
        timestamp rounding): then frame i's time is ``times[0] + i / fps``."""
        if self.count < 2:
            return True
        step = 1 / fps
        # Matroska rounds to 1 ms, so 30 fps is stored as 33, 34, 33 ms: allow the rounding
        slack = min(max(self.time_base, Fraction(1, 1000)), step / 4) + Fraction(1, 10**6)
        times = self.times
        steps = (times.steps() if isinstance(times, FrameTimes)
                 else {b - a for a, b in zip(times, times[1:])})
        return all(abs(d - step) <= slack for d in steps)

    def keyframe_at_or_before(self, index: int) -> int:
        """The last keyframe index <= ``index`` (0 when none is known)."""
        best = 0
        for k in self.keyframes:
            if k > index:
                break
            best = k
        return best

    def end_time(self, index: int, fps: Fraction) -> Fraction:
        """When frame ``index`` stops showing: the next frame's time, or one frame duration
        after the last frame."""
        if index + 1 < self.count:
            return self.times[index + 1]
        if self.count >= 2:
            return self.times[-1] + min(self.times[-1] - self.times[-2], 1 / fps)
        return self.times[-1] + 1 / fps


@dataclass(frozen=True)
class Packet:
    pts: Optional[int]
    flags: int
    size: Optional[int] = None  # bytes (None: not known); 0 is an AVI "null frame"


def index_frames(packets: Sequence[Packet], time_base: Fraction, offset: int = 0,
                 frame_step: Fraction = Fraction(1, 30)) -> FrameIndex:
    """The decoded frames of a stream from its packets (in file order).

    ``offset`` is subtracted from every pts (in ``time_base`` units) to put the times on the
    graph timeline. ``frame_step`` (1/fps) spaces the frames when packets lack a pts.
    """
    kept = [p for p in packets if not p.flags & DISCARD and p.size != 0]
    if any(p.pts is None for p in kept):
        # MPEG-PS/TS may carry a pts on some packets only: presentation order cannot be
        # rebuilt, so frames are taken as constant-rate from the earliest known pts, and
        # only frame 0 counts as a place to start decoding (ranges then decode from there)
        known = [p.pts for p in kept if p.pts is not None]
        first = (min(known) - offset) * time_base if known else Fraction(0)
        return FrameIndex(FrameTimes(range(len(kept)), frame_step, first), (0,), time_base)
    order = sorted(range(len(kept)), key=lambda i: kept[i].pts)  # type: ignore[arg-type,return-value]
    ticks = tuple(kept[i].pts - offset for i in order)  # type: ignore[operator]
    keys = tuple(rank for rank, i in enumerate(order) if kept[i].flags & KEY)
    return FrameIndex(FrameTimes(ticks, time_base), keys, time_base)
