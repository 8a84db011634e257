"""The plan: a request with every number resolved against the input.

:func:`plan` turns a :class:`~ffmotion.core.request.MotionRequest` and the input's
:class:`~ffmotion.media.info.MediaInfo` into a :class:`Plan`: the offset in frames, the frames
processed and written, the working pixel format, the strategy (``split`` holds K decoded
frames; ``dual`` opens the input twice, flat memory), the picture prelude and the timing.
Pure: no I/O, no process.
"""
from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from typing import Any, Optional

from ffmotion.core.caps import Caps
from ffmotion.core.errors import UsageError
from ffmotion.core.errors import field as named
from ffmotion.core.looks import working_format
from ffmotion.core.pixfmt import plane_layout, working_pix_fmt
from ffmotion.core.request import InputSpec, Mode, MotionRequest, MotionSpec, OutputSpec, Strategy
from ffmotion.core.units import FramesOrTime, format_fps
from ffmotion.graph.cut import ChunkCut
from ffmotion.graph.extras import FrameRange, Stabilizer, frame_range
from ffmotion.graph.node import Stream
from ffmotion.graph.picture import Picture, Resize, choose_deinterlacer, frame_size, picture_for
from ffmotion.graph.timing import Timing, plan_timing, select
from ffmotion.media.info import MediaInfo


@dataclass(frozen=True)
class Plan:
    """A job with every number resolved: what the graph and the runner act on."""

    request: MotionRequest
    info: MediaInfo
    k: int  # offset mode: distance between the frames blended; freeze mode: reference index
    out_frames: int
    working_pix_fmt: str
    channel_ks: Optional[tuple[int, int, int]] = None  # rgb_offsets: red, green, blue K
    frames: Optional[FrameRange] = None  # the part processed (start/end); None: all
    stabilizer: Optional[Stabilizer] = None
    strategy: Strategy = "split"  # resolved: see choose_strategy
    picture: Optional[Picture] = None  # the prelude: full range, deinterlacing (graph.picture)
    timing: Timing = Timing()  # seek, frame selection, timestamps (graph.timing)
    cut: Optional[ChunkCut] = None  # one chunk of a chunked run (graph.chunks); None: whole
    cpus: int = 1  # the CPUs the run may use (Caps.cpus): sets x264's thread count
    steer: Optional[str] = None  # a steerable graph: its zmq filter's address (graph.steer)
    beside: bool = False  # the original picture left of the motion (the live page's feed)

    @property
    def input(self) -> InputSpec:
        return self.request.input

    @property
    def motion(self) -> MotionSpec:
        return self.request.motion

    @property
    def output(self) -> OutputSpec:
        """The request's output (a plan made to write something)."""
        output = self.request.output
        if output is None:
            raise ValueError("this plan writes no output (made for frames or numbers only)")
        return output

    @property
    def mode(self) -> Mode:
        return self.request.motion.mode

    @property
    def span(self) -> FrameRange:
        """The frames processed (the whole input unless a range was given)."""
        if self.frames is not None:
            return self.frames
        return FrameRange(0, self.info.frames, self.info.frames)

    def input_args(self) -> dict[str, Any]:
        """Input options for the range (a seek to a keyframe, ``-t``), shared by every pass;
        and those that keep the input name literal (never an image2 pattern)."""
        return {**self.info.input.input_args(), **self.timing.input_args()}

    def source_video(self, source: Stream) -> Stream:
        """The processed frames of an input node: the chosen video stream, the range's
        frames selected by count (exact on every container)."""
        return select(source[f"v:{self.info.video_stream}"], self.timing)

    @property
    def out_duration(self) -> Fraction:
        """How long the output plays: from its first frame to the end of its last."""
        if self.timing.variable is None or self.info.index is None:
            return Fraction(self.out_frames) / self.info.fps
        first = self.span.first
        index = self.info.index
        return index.end_time(first + self.out_frames - 1, self.info.fps) - index.times[first]


def plan(request: MotionRequest, info: MediaInfo, caps: Caps = Caps()) -> Plan:
    """Resolve the offset against the input; reject offsets the input is too short for;
    choose what depends on the toolchain (``caps``: the deinterlacer this ffmpeg has, the
    CPUs x264 counts)."""
    cpus = caps.cpus
    if not info.input.seekable:  # stdin, a URL, a device: length unknown
        return plan_stream(request, info, caps)
    motion = request.motion
    k = motion.offset.to_frames(info.fps)
    span = frame_range(request.input, info)
    n = span.count
    # the frames read (from the seek's keyframe) may change size: scale them to one
    read_from = span.first - range_timing(info, span, None).skip
    info, resize = frame_size(info, read_from, span.first, span.first + n)
    if motion.mode == "offset":
        if k < 1:
            raise UsageError(
                f"offset {motion.offset.text} is shorter than one frame at {format_fps(info.fps)} fps"
            )
        if k >= n:
            raise UsageError(
                f"offset {_frames_text(motion.offset.text, k)} needs more than the {n} frames "
                f"of {info.path.name}{_ranged(span)} (at most {n - 1})"
            )
        out_frames = n - k
    else:
        if k >= n:
            raise UsageError(
                f"freeze frame {_frames_text(motion.offset.text, k)} is past the last frame "
                f"of {info.path.name}{_ranged(span)} (frames 0 to {n - 1})"
            )
        out_frames = n
    channel_ks = channel_offsets(motion, info, k, n)
    if channel_ks is not None and motion.mode == "offset":
        out_frames = n - max(channel_ks)
    working = working_format(working_pix_fmt(info.pix_fmt), motion.look)
    deepest = max(channel_ks) if channel_ks is not None else k
    return Plan(request, info, k, out_frames, working, channel_ks,
                frames=None if span.is_whole else span,
                strategy=choose_strategy(motion, info, deepest, working),
                picture=_picture(info, request.input.deinterlace, caps, resize),
                timing=range_timing(info, span, out_frames if motion.mode == "offset" else None),
                cpus=cpus)


def _frames(point: FramesOrTime, fps: Fraction) -> int:
    return point.to_frames(fps)


def _picture(info: MediaInfo, deinterlace: bool, caps: Caps,
             resize: Optional[Resize] = None) -> Picture:
    """The picture prelude, with a deinterlacer this ffmpeg has."""
    chosen = picture_for(info, deinterlace, resize)
    return choose_deinterlacer(chosen, caps.filters) if caps.filters is not None else chosen


def plan_stream(request: MotionRequest, info: MediaInfo, caps: Caps = Caps()) -> Plan:
    """The :class:`Plan` for an input of unknown length (stdin, a URL, a device)."""
    motion, wanted = request.motion, request.input
    if motion.stabilize is not None:
        raise UsageError(f"{named('stabilize')} needs two passes over the input: a stream is "
                         "read once (record it to a file first)")
    if motion.strategy == "dual":
        raise UsageError(f"{named('strategy')} dual opens the input twice: a stream is read "
                         "once (split)")
    fps = info.fps
    k = motion.offset.to_frames(fps)
    first = _frames(wanted.start, fps) if wanted.start is not None else 0
    count: Optional[int] = None
    if wanted.duration is not None:
        count = _frames(wanted.duration, fps)
    elif wanted.end is not None:
        count = _frames(wanted.end, fps) - first
    if count is not None and count < 1:
        raise UsageError("the range given holds no frame")
    if motion.mode == "offset" and k < 1:
        raise UsageError(f"offset {motion.offset.text} is shorter than one frame at "
                         f"{format_fps(fps)} fps")
    limit = count if count is not None else 2**31
    if k >= limit:
        what = "offset" if motion.mode == "offset" else "freeze frame"
        raise UsageError(f"{what} {motion.offset.text} needs more than the {limit} frames "
                         f"of the range given (at most {limit - 1})")
    channel_ks = channel_offsets(motion, info, k, limit)
    deepest = max(channel_ks) if channel_ks is not None else k
    out_frames = 0
    if count is not None:
        out_frames = count - deepest if motion.mode == "offset" else count
    working = working_format(working_pix_fmt(info.pix_fmt), motion.look)
    held = buffer_bytes(info, deepest, working)
    if held > motion.max_buffer:  # read once: the K frames before the first pair wait in memory
        what = "offset" if motion.mode == "offset" else "freeze frame"
        raise UsageError(
            f"{what} {_frames_text(motion.offset.text, deepest)} would hold {held / 2**20:.0f} MiB "
            f"of decoded frames in memory on a stream (read once, so they wait there), more "
            f"than {named('max_buffer')} allows ({motion.max_buffer / 2**20:.0f} MiB): choose a "
            f"smaller offset, or raise it (e.g. {named('max_buffer')} 1G)")
    timing = Timing(skip=first, count=count, start_time=Fraction(first) / fps)
    return Plan(request, info, k, out_frames, working, channel_ks, frames=None,
                strategy="split", picture=_picture(info, wanted.deinterlace, caps),
                timing=timing, cpus=caps.cpus)


def range_timing(info: MediaInfo, span: FrameRange, out_frames: Optional[int]) -> Timing:
    """How the frames of ``span`` are read: the seek, the trim by count, the timestamps."""
    index = info.index
    if index is None:  # a MediaInfo made by hand: constant rate from 0
        times = tuple(Fraction(i) / info.fps for i in range(info.frames))
        return plan_timing(times, (0,), info.fps, span.first, span.count, span.total, True,
                           out_frames, 1 / info.fps)
    return plan_timing(index.times, index.keyframes, info.fps, span.first, span.count,
                       span.total, info.constant_rate, out_frames, index.time_base)


def channel_offsets(motion: MotionSpec, info: MediaInfo, k: int,
                    n: int) -> Optional[tuple[int, int, int]]:
    """``rgb_offsets`` in frames, checked against the input like the offset itself."""
    channels = motion.look.rgb_offsets
    if channels is None:
        return None
    frames = []
    for name, channel in zip(("red", "green", "blue"), channels):
        kc = channel.to_frames(k, info.fps)
        if motion.mode == "offset" and kc < 1:
            raise UsageError(f"{named('rgb_offsets')}: the {name} offset {channel.text} is shorter than one "
                             f"frame (each must be at least 1 frame)")
        if motion.mode == "offset" and kc >= n:
            raise UsageError(f"{named('rgb_offsets')}: the {name} offset {_frames_text(channel.text, kc)} "
                             f"needs more than the {n} frames of {info.path.name} (at most {n - 1})")
        if motion.mode == "freeze" and kc >= n:
            raise UsageError(f"{named('rgb_offsets')}: the {name} frame {_frames_text(channel.text, kc)} is "
                             f"past the last frame of {info.path.name} (frames 0 to {n - 1})")
        frames.append(kc)
    return frames[0], frames[1], frames[2]


def _ranged(span: FrameRange) -> str:
    return "" if span.is_whole else f" in the range given (from frame {span.first})"


def buffer_bytes(info: MediaInfo, k: int, pix_fmt: str) -> int:
    """What "split" makes ffmpeg hold: K decoded frames in the working format.

    The top branch waits for frame K of the shifted one in both modes, so frames 0..K-1 queue.
    """
    return k * plane_layout(pix_fmt, *info.display_size).frame_bytes


def choose_strategy(motion: MotionSpec, info: MediaInfo, k: int, pix_fmt: str) -> Strategy:
    """The strategy asked for, or with "auto": "dual" when K frames exceed ``max_buffer``.

    Freeze mode with ``--rgb-offsets`` holds only the three reference frames in "split", and
    its "dual" graph stalls in ffmpeg 9.0.2 (three one-frame branches of a second input): it
    always runs "split".
    """
    if motion.mode == "freeze" and motion.look.rgb_offsets is not None:
        if motion.strategy == "dual":
            raise UsageError(f"{named('strategy')} dual with {named('freeze')} and "
                             f"{named('rgb_offsets')} stalls in ffmpeg; split holds only the "
                             f"three reference frames: drop {named('strategy')}")
        return "split"
    if motion.strategy != "auto":
        return motion.strategy
    return "dual" if buffer_bytes(info, k, pix_fmt) > motion.max_buffer else "split"


def _frames_text(text: str, k: int) -> str:
    return f"{text} = {k} frames" if not text.isdigit() else f"{k} frames"


def dual_timing(plan: Plan) -> Optional[Timing]:
    """The dual strategy's second input, read from frame K on (a seek), where that is exact.

    The second decoder need not decode and drop the K frames before the shifted branch: it
    seeks like a range does (:mod:`ffmotion.graph.timing`: to just before a keyframe the probe
    listed, then frames counted), which gives the same frames on every container. Not where
    the frames before K change the frames after it: temporal denoising, deinterlacing (the
    field before), stabilization (transforms by frame number), per-channel offsets (three Ks
    from one input); and not where it would skip less than the first input's own seek.
    None: the second input is read like the first and trimmed by K.
    """
    index = plan.info.index
    if (plan.strategy != "dual" or index is None or plan.channel_ks is not None
            or (plan.stabilizer is not None and plan.stabilizer.active)
            or plan.motion.look.denoise
            or (plan.picture is not None and plan.picture.deinterlace is not None)):
        return None
    span = plan.span
    first = span.first + plan.k
    count = span.count - plan.k if plan.mode == "offset" else 1
    if count < 1 or first >= span.total:
        return None
    at_k = plan_timing(index.times, index.keyframes, plan.info.fps, first, count, span.total,
                       True, None, index.time_base)
    if at_k.seek <= plan.timing.seek:
        return None
    return at_k
