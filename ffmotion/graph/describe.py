"""The summary line of a plan: what will be blended with what, and what is left out."""
from __future__ import annotations

from ffmotion.core.errors import field
from ffmotion.core.units import format_fps
from ffmotion.graph.encode import audio_tracks, constant_rate, rate_rule, subtitle_plan
from ffmotion.graph.plan import Plan


def describe(plan: Plan) -> str:
    """One human line: what will be blended with what."""
    info = plan.info
    fps = format_fps(info.fps)
    if plan.mode == "freeze":
        what = f"every frame blended with inverted frame {plan.k}"
    else:
        what = f"offset {plan.k} frame{'s' if plan.k != 1 else ''}"
    offset = plan.motion.offset
    if offset.is_duration:
        what += f" ({offset.text} at {fps} fps)"
    if plan.channel_ks is not None:
        what = "red/green/blue {} {}/{}/{}".format(
            "frozen frames" if plan.mode == "freeze" else "offsets", *plan.channel_ks)
    look = plan.motion.look
    if not look.is_classic:
        what += f", look: {look.describe()}"
    span = plan.span
    stream = not info.input.seekable
    if not span.is_whole and not stream:
        what += f", frames {span.first}-{span.first + span.count - 1} of {info.frames}"
    if plan.stabilizer is not None and plan.stabilizer.decided != "none":
        what += f", stabilized ({plan.stabilizer.method})"
    if plan.strategy == "dual":
        what += ", input decoded twice (dual strategy)"
    if plan.picture is not None and plan.picture.describe():
        what += f", {plan.picture.describe()}"
    if info.rotation:
        what += (f", rotated {info.rotation}° (shown {info.display_size[0]}x"
                 f"{info.display_size[1]})")
    if plan.request.output is not None:
        rate, rule = constant_rate(plan), rate_rule(plan.output)
        if rate is not None and rule is not None:
            what += (f", written at a constant {format_fps(rate)} fps ({rule.what} holds one "
                     "frame rate, the input's varies)")
        what += describe_streams(plan)
    if stream:
        from ffmotion.graph.stream import (
            describe_count,  # graph.stream: loaded by a run that builds a command, not by importing the CLI
        )

        return f"{what}, {describe_count(plan)}, {plan.working_pix_fmt}"
    return f"{what}, {plan.out_frames} of {span.count} frames, {plan.working_pix_fmt}"


def describe_streams(plan: Plan) -> str:
    """What is taken from the input and what is left out, for the summary line."""
    info, parts = plan.info, []
    videos = info.video_streams
    if len(videos) > 1:
        parts.append(f"video stream {info.video_stream} of {len(videos)}")
    audios = info.audio_streams
    kept = audio_tracks(plan)
    if audios and len(kept) < len(audios):
        if not kept:
            parts.append("audio dropped" if not plan.output.audio
                         or plan.output.audio_stream == "none" else "no audio")
        else:
            parts.append(f"audio track {kept[0]} of {len(audios)} "
                         f"({field('audio_stream')} all keeps every track)")
    elif len(audios) > 1:
        parts.append(f"all {len(audios)} audio tracks")
    subs = info.subtitle_streams
    if subs:
        copied, why = subtitle_plan(plan)
        if why is None:
            parts.append(f"{len(subs)} subtitle track{'s' if len(subs) > 1 else ''} kept")
        else:
            parts.append(f"{len(subs) - len(copied)} of {len(subs)} subtitle track(s) "
                         f"dropped ({why})")
    return "".join(f", {p}" for p in parts)
