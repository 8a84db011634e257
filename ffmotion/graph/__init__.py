"""The graph: pure, every filter name and argument lives here (no I/O, no subprocess).

(request, MediaInfo) -> :class:`Plan` (:mod:`.plan`) -> the motion graph (:mod:`.motion`),
its encoding (:mod:`.encode`) -> argv (:mod:`.command`); the summary line
(:mod:`.describe`). The other modules build the graphs of the other passes: stabilization
(:mod:`.extras`), chunks, the contact sheet and energy (:mod:`.views`), maps, the preview.
"""
from __future__ import annotations

from ffmotion.graph.argv import BITEXACT, GLOBAL_ARGS
from ffmotion.graph.command import command, demo_command, demo_source, output, thread_args
from ffmotion.graph.describe import describe
from ffmotion.graph.encode import (
                                   CONTAINERS,
                                   ENCODER_RATES,
                                   KEEP_EXTENSION,
                                   ONE_RATE_CONTAINERS,
                                   audio_args,
                                   audio_tracks,
                                   check_output_format,
                                   check_quality,
                                   check_rate,
                                   check_toolchain,
                                   container,
                                   delivered_frames,
                                   encoder_threads,
                                   encoders_needed,
                                   frames_within,
                                   hdr_warning,
                                   kept_subtitles,
                                   output_size,
                                   shaping,
                                   subtitle_plan,
                                   video_args,
)
from ffmotion.graph.motion import motion_video, second_input
from ffmotion.graph.picture import prelude
from ffmotion.graph.plan import Plan, channel_offsets, dual_timing, plan, range_timing

__all__ = [
    "BITEXACT", "CONTAINERS", "ENCODER_RATES", "GLOBAL_ARGS", "KEEP_EXTENSION",
    "ONE_RATE_CONTAINERS", "Plan", "audio_args", "audio_tracks", "channel_offsets",
    "check_output_format", "check_quality", "check_rate", "check_toolchain", "command", "container",
    "delivered_frames", "demo_command", "demo_source", "describe", "dual_timing",
    "encoder_threads", "encoders_needed", "frames_within", "hdr_warning", "kept_subtitles",
    "motion_video", "output", "output_size", "plan", "prelude", "range_timing",
    "second_input", "shaping", "subtitle_plan", "thread_args", "video_args",
]
