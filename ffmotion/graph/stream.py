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
camera, plus the processing latency measured by ``benchmarks/bench_live.py``.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

from ffmotion.core.sinks import HLS_SEGMENT_SECONDS, hls_segment_pattern
from ffmotion.graph.plan import Plan
from ffmotion.media.info import MediaInfo

# x264 for live inputs: no lookahead or B-frame delay, and fast enough for real time
LIVE_X264 = {"tune": "zerolatency", "preset": "veryfast"}


def is_stream_input(info: MediaInfo) -> bool:
    """The input has no known length (stdin, a URL, a device)."""
    return not info.input.seekable


def is_unbounded(plan: Plan) -> bool:
    """The output's frame count is unknown: a stream read until it ends or is stopped."""
    return is_stream_input(plan.info) and plan.out_frames == 0


def describe_count(plan: Plan) -> str:
    """The frames part of the summary line, for a stream input."""
    first = plan.timing.skip
    skipped = f" after skipping {first}" if first else ""
    if plan.out_frames:
        return f"{plan.out_frames} frames from {plan.timing.count} of the stream{skipped}"
    return f"frames until the stream ends or Ctrl-C{skipped}"


def encoder_args(plan: Plan, args: dict[str, Any]) -> dict[str, Any]:
    """Encoder options for a live input or an HLS output, added to ``args``: x264 without
    latency for live inputs (unless the user chose a preset), keyframes on HLS segment
    boundaries."""
    extra: dict[str, Any] = {}
    if plan.info.input.kind == "live" and args.get("c:v") == "libx264":
        extra["tune"] = LIVE_X264["tune"]
        if plan.output.encode.preset is None:
            extra["preset"] = LIVE_X264["preset"]
    sink = plan.output.sink
    if sink is not None and sink.kind == "hls" and args.get("c:v"):
        extra["force_key_frames"] = f"expr:gte(t,n_forced*{HLS_SEGMENT_SECONDS})"
    return extra


def output_target(plan: Plan, dst: Path) -> tuple[str, dict[str, Any]]:
    """The output name ffmpeg gets and the muxer options for the plan's sink."""
    sink = plan.output.sink
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
           "output_target"]
