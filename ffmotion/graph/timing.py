"""Where the processed frames come from, and when they are shown: seeking, frame selection,
and timestamps that keep the sound in sync. Pure: numbers and filter chains, no process.

*Frame-exact ranges on every container.* ``-ss`` before ``-i`` is exact on MP4/MKV (decode from
the previous keyframe, drop up to the target) but on MPEG-TS/PS the demuxer lands on the
*next* keyframe. So ffmotion never relies on where a seek lands: it seeks to just before a
keyframe it knows from the probe (``keyframe time - half a frame``: every demuxer starts
decoding at that keyframe, and the accurate seek drops nothing after it), then selects the
range by counting decoded frames (``trim=start_frame=first-keyframe:end_frame=...``). The
input is read no further than a second past the range (``-t``).

*Sound in sync.* The graph's timeline is the input's (ffmpeg subtracts the file's start time
from every stream, and the seek time), on which the first processed frame is at
``start_time``: a TS whose video starts 0.3 s after its audio has ``start_time = 0.3``. The
audio is cut there (``atrim=start``, ``asetpts=PTS-start/TB``) so output time 0 is that frame
for both streams, and cut again where the last output frame ends (``-t``).

*Constant frame rate* (frame i shown at ``start + i/R``): the motion graph re-times frames by
index (``settb=1/R,setpts=N``), which pairs frames by index and shows frame i at i/R: its own
time. *Variable frame rate or a missing frame*: index timing would move frames off their
times and the sound drifts. Then frames keep their own times while still pairing by index,
with the index in the high part of the timestamp (:class:`VariableTiming`): the top branch gets
``N*B + (PTS-STARTPTS)``, the shifted branch ``N*B`` (blend pairs each top frame with the
latest shifted frame at or before it, so i with i+K), and after blending ``PTS - N*B`` restores
frame i's own time. ``B`` is a power of two above the range's span in the stream's time base,
and ``N*B`` stays below 2**53 (setpts evaluates in double precision). One subtlety: with
``shortest=1`` blend stops at the shifted branch's end, whose time is below the last top
frame's, and would drop it; so the shifted branch gets one clone of its last frame
(``tpad``) and the top branch is cut at the planned count (``trim=end_frame``). The encoder
then needs the stream's own time base (``-enc_time_base``): ffmpeg 9 would otherwise encode
in 1/frame rate and merge frames whose rounded times collide. Two-input filters (``blend``)
work in microseconds when that time base's denominator is 500000 or more (AVI stores 15 fps
as 66667/1000000 s): the blended frames are put back in the stream's time base (``settb``)
before ``N*B`` is taken off.
"""
from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from typing import Any, Optional, Sequence

from ffmotion.graph.node import Stream

EXACT_DOUBLE = 2**53
# a seek is worth it when it skips more than this much of the input
MIN_SEEK = Fraction(1, 2)
READ_PAST = Fraction(1)  # seconds read past the range's end (-t), for reordering and audio


@dataclass(frozen=True)
class VariableTiming:
    """Index pairing for frames that keep their own timestamps (see the module docstring)."""

    stride: int  # B: a power of two above the span, in time-base units
    top_frames: Optional[int]  # offset mode: frames of the top branch (= output frames)
    time_base: Fraction  # the stream's: frames keep their timestamps in it


@dataclass(frozen=True)
class Timing:
    """How a plan's frames are read and timed (all times in seconds)."""

    seek: Fraction = Fraction(0)  # -ss before -i (0: none)
    read: Optional[Fraction] = None  # -t before -i (None: to the end)
    skip: int = 0  # decoded frames after the seek before the range's first frame
    count: Optional[int] = None  # frames selected (None: all from skip on)
    start_time: Fraction = Fraction(0)  # graph time of the range's first frame
    variable: Optional[VariableTiming] = None  # None: constant rate, index timing

    def input_args(self) -> dict[str, Any]:
        args: dict[str, Any] = {}
        if self.seek > 0:
            args["ss"] = seconds_text(self.seek)
        if self.read is not None:
            args["t"] = seconds_text(self.read)
        return args

    @property
    def selects(self) -> bool:
        return self.skip > 0 or self.count is not None


def seconds_text(value: Fraction) -> str:
    """Seconds with microsecond precision (ffmpeg's own time base), no trailing zeros."""
    return f"{float(value):.6f}".rstrip("0").rstrip(".") or "0"


def plan_timing(times: Sequence[Fraction], keyframes: Sequence[int], fps: Fraction,
                first: int, count: int, total: int, constant: bool,
                out_frames: Optional[int], time_base: Fraction) -> Timing:
    """Seek, selection and timing for frames ``first .. first+count-1`` of ``total``.

    ``times`` are the frames' graph times from the probe, ``keyframes`` their keyframe
    indices; ``out_frames`` the top branch's frames in offset mode (None in freeze mode).
    """
    whole = first == 0 and count == total
    seek, skip = Fraction(0), first
    keyframe = max((k for k in keyframes if k <= first), default=0)
    if first > 0 and keyframe > 0 and times[keyframe] - times[0] > MIN_SEEK:
        step = times[keyframe] - times[keyframe - 1] if keyframe > 0 else 1 / fps
        seek = times[keyframe] - step / 2
        skip = first - keyframe
    read = None
    if not whole and first + count < total:
        read = times[first + count - 1] - seek + READ_PAST
    variable = None
    if not constant:
        span = times[first + count - 1] - times[first]
        ticks = int(span / time_base) + 2
        stride = 1 << ticks.bit_length()
        if stride * (count + 1) < EXACT_DOUBLE:
            variable = VariableTiming(stride, out_frames, time_base)
    return Timing(seek=seek, read=read, skip=skip, count=None if whole else count,
                  start_time=times[first] - seek, variable=variable)


def select(video: Stream, timing: Timing) -> Stream:
    """The range's frames of a decoded video stream, counted from the seek point."""
    if not timing.selects:
        return video
    args: dict[str, Any] = {"start_frame": timing.skip}
    if timing.count is not None:
        args["end_frame"] = timing.skip + timing.count
    return video.trim(**args)


def cut_audio(audio: Stream, timing: Timing) -> Stream:
    """Audio from the range's first frame on, output time 0 there (like the video)."""
    start = seconds_text(timing.start_time)
    return audio.filter("atrim", start=start).filter("asetpts", f"PTS-{start}/TB")


def audio_needs_cut(timing: Timing) -> bool:
    """True when the audio must be cut at the first frame (so it cannot be stream-copied):
    a seek, or a video that starts later than the audio by more than half a millisecond."""
    return timing.seek > 0 or timing.start_time > Fraction(1, 2000)
