"""Plans and output options for streams: inputs of unknown length, outputs that are not a file.

Pure like :mod:`ffmotion.graph`: numbers, filter arguments and muxer options, no I/O.

*Input of unknown length* (stdin, a URL, a live device: ``info.frames == 0``). There is no
frame index, so no seek and no variable-rate timing: frames are paired by index (``settb,
setpts=N``) as on a constant-rate file. ``--start``/``--end``/``--duration`` count decoded
frames (``trim``), exact whatever the source; a time becomes frames at the probed rate.
Without an end the output frame count is unknown (``out_frames == 0``) and the run ends
when the stream does, or on Ctrl-C/SIGTERM. Only ``split`` is possible (a stream cannot be
read twice), and nothing that needs two passes (``--stabilize``).

*Live timing.* Output frame i blends input frames i and i+K, so it can exist only once
frame i+K has arrived: the motion picture is always K frames (K/fps seconds) behind the
camera, plus the processing latency measured by ``scripts/bench_live.py``.
"""
from __future__ import annotations

import math
from fractions import Fraction
from pathlib import Path
from typing import TYPE_CHECKING, Any, Optional

from ffmotion.core.errors import UsageError
from ffmotion.graph.timing import Timing
from ffmotion.core.options import Options, TimePoint, format_fps
from ffmotion.media.info import MediaInfo
from ffmotion.core.sinks import HLS_SEGMENT_SECONDS, hls_segment_pattern

if TYPE_CHECKING:
    from ffmotion.graph.motion import Plan

# x264 for live inputs: no lookahead or B-frame delay, and fast enough for real time
LIVE_X264 = {"tune": "zerolatency", "preset": "veryfast"}


def is_stream_input(info: MediaInfo) -> bool:
    """The input has no known length (stdin, a URL, a device)."""
    return not info.input.seekable


def is_unbounded(plan: "Plan") -> bool:
    """The output's frame count is unknown: a stream read until it ends or is stopped."""
    return is_stream_input(plan.info) and plan.out_frames == 0


def _frames(point: TimePoint, fps: Fraction) -> int:
    if point.frames is not None:
        return point.frames
    assert point.seconds is not None
    return math.floor(point.seconds * fps + Fraction(1, 2))


def plan_stream(options: Options, info: MediaInfo) -> "Plan":
    """The :class:`~ffmotion.graph.Plan` for an input of unknown length."""
    from ffmotion import graph
    from ffmotion.graph.picture import picture_for
    from ffmotion.core.looks import working_format
    from ffmotion.core.pixfmt import working_pix_fmt

    if options.stabilize is not None:
        raise UsageError("--stabilize needs two passes over the input: a stream is read once "
                         "(record it to a file first)")
    if options.strategy == "dual":
        raise UsageError("--strategy dual opens the input twice: a stream is read once (split)")
    fps = info.fps
    k = options.offset.to_frames(fps)
    first = _frames(options.start, fps) if options.start is not None else 0
    count: Optional[int] = None
    if options.duration is not None:
        count = _frames(options.duration, fps)
    elif options.end is not None:
        count = _frames(options.end, fps) - first
    if count is not None and count < 1:
        raise UsageError("the range given holds no frame")
    if options.mode == "offset" and k < 1:
        raise UsageError(f"offset {options.offset.text} is shorter than one frame at "
                         f"{format_fps(fps)} fps")
    limit = count if count is not None else 2**31
    if k >= limit:
        what = "offset" if options.mode == "offset" else "freeze frame"
        raise UsageError(f"{what} {options.offset.text} needs more than the {limit} frames "
                         f"of the range given (at most {limit - 1})")
    channel_ks = graph.channel_offsets(options, info, k, limit)
    deepest = max(channel_ks) if channel_ks is not None else k
    out_frames = 0
    if count is not None:
        out_frames = count - deepest if options.mode == "offset" else count
    working = working_format(working_pix_fmt(info.pix_fmt), options.look)
    timing = Timing(skip=first, count=count, start_time=Fraction(first) / fps)
    return graph.Plan(options, info, k, out_frames, working, channel_ks, frames=None,
                      strategy="split", picture=picture_for(info, options.deinterlace),
                      timing=timing)


def describe_count(plan: "Plan") -> str:
    """The frames part of the summary line, for a stream input."""
    first = plan.timing.skip
    skipped = f" after skipping {first}" if first else ""
    if plan.out_frames:
        return f"{plan.out_frames} frames from {plan.timing.count} of the stream{skipped}"
    return f"frames until the stream ends or Ctrl-C{skipped}"


def encoder_args(plan: "Plan", args: dict[str, Any]) -> dict[str, Any]:
    """Encoder options for a live input or an HLS output, added to ``args``: x264 without
    latency for live inputs (unless the user chose a preset), keyframes on HLS segment
    boundaries."""
    extra: dict[str, Any] = {}
    if plan.info.input.kind == "live" and args.get("c:v") == "libx264":
        extra["tune"] = LIVE_X264["tune"]
        if plan.options.encode.preset is None:
            extra["preset"] = LIVE_X264["preset"]
    sink = plan.options.sink
    if sink is not None and sink.kind == "hls" and args.get("c:v"):
        extra["force_key_frames"] = f"expr:gte(t,n_forced*{HLS_SEGMENT_SECONDS})"
    return extra


def output_target(plan: "Plan", dst: Path) -> tuple[str, dict[str, Any]]:
    """The output name ffmpeg gets and the muxer options for the plan's sink."""
    sink = plan.options.sink
    if sink is None or sink.kind == "file":
        # a live recording reaches the disk as it is made (a reader can follow it, and a
        # crash loses seconds, not everything since the last 32 KiB)
        return str(dst), ({"flush_packets": 1} if plan.info.input.kind == "live" else {})
    if sink.kind == "hls":
        return str(dst), {
            "f": "hls", "hls_time": HLS_SEGMENT_SECONDS, "hls_list_size": 0,
            "hls_playlist_type": "event", "hls_flags": "temp_file",
            "hls_segment_filename": str(hls_segment_pattern(dst)),
        }
    extra: dict[str, Any] = {"f": sink.format}
    if sink.kind == "stdout" or plan.info.input.kind == "live":
        extra["flush_packets"] = 1  # every packet leaves at once (a player waits otherwise)
    return sink.name, extra


__all__ = ["LIVE_X264", "describe_count", "encoder_args", "is_stream_input", "is_unbounded",
           "output_target", "plan_stream"]
