"""Frame identity: frame i is the i-th decoded frame of the video stream, in presentation order.

The probe lists the stream's packets (``ffmpeg -c copy -f framecrc``: no decoding). Packets
are not frames: a stream-copy cut ("trim" on a phone) keeps the packets before the cut
behind an edit list, and the demuxer flags them *discard* (``F=0x4``); the decoder drops
them. So the frames are the packets without that flag, and their presentation times are the
packets' pts, sorted (B-frames are stored out of order).

Cost, measured with ffmpeg 9.0.2 on the 2-core development machine (under load): listing the
packets of a 120 s 1080p30 H.264 file (3600 frames, 234 MB) took 0.18 s (the file is read,
nothing is decoded); counting decoded frames instead (``-f null``) took 10.2 s. Frames that are listed but cannot be decoded
(a damaged file) are the one case this count gets wrong: the run then writes fewer frames
than planned, which is an error (see :func:`ffmotion.api.run`), never a silent shortfall.

Times are on the timeline the filter graph sees (ffmpeg subtracts the file's start time from
every stream), so a video that starts 0.3 s after its audio has ``times[0] == 0.3``.
"""
from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from typing import Optional, Sequence

DISCARD = 0x4  # AV_PKT_FLAG_DISCARD: dropped by the decoder (edit lists)
KEY = 0x1


@dataclass(frozen=True)
class FrameIndex:
    """The decoded frames of one video stream: their times and which ones are keyframes."""

    times: tuple[Fraction, ...]  # presentation time of frame i, seconds, graph timeline
    keyframes: tuple[int, ...]  # indices of keyframes (where a decoder can start)
    time_base: Fraction  # the stream's time base

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
        return all(abs((b - a) - step) <= slack for a, b in zip(self.times, self.times[1:]))

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


def index_frames(packets: Sequence[Packet], time_base: Fraction, offset: int = 0,
                 frame_step: Fraction = Fraction(1, 30)) -> FrameIndex:
    """The decoded frames of a stream from its packets (in file order).

    ``offset`` is subtracted from every pts (in ``time_base`` units) to put the times on the
    graph timeline. ``frame_step`` (1/fps) spaces the frames when packets lack a pts.
    """
    kept = [p for p in packets if not p.flags & DISCARD]
    if any(p.pts is None for p in kept):
        # MPEG-PS/TS may carry a pts on some packets only: presentation order cannot be
        # rebuilt, so frames are taken as constant-rate from the earliest known pts, and
        # only frame 0 counts as a place to start decoding (ranges then decode from there)
        known = [p.pts for p in kept if p.pts is not None]
        first = (min(known) - offset) * time_base if known else Fraction(0)
        return FrameIndex(tuple(first + i * frame_step for i in range(len(kept))), (0,),
                          time_base)
    order = sorted(range(len(kept)), key=lambda i: kept[i].pts)  # type: ignore[arg-type,return-value]
    times = tuple((kept[i].pts - offset) * time_base for i in order)  # type: ignore[operator]
    keys = tuple(rank for rank, i in enumerate(order) if kept[i].flags & KEY)
    return FrameIndex(times, keys, time_base)
