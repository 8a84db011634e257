"""The ffmpeg command of a plan: the graph's input, prelude, motion and encoding, as argv.

Pure: builds the ffmpeg-python output node and its argv; starts no process.
"""
from __future__ import annotations

from fractions import Fraction
from pathlib import Path
from typing import Any, Optional

import ffmpeg

from ffmotion.core.pixfmt import chroma_subsampling
from ffmotion.graph import outputs as outs
from ffmotion.graph.argv import BITEXACT, GLOBAL_ARGS
from ffmotion.graph.cut import JOIN_KEYS, kept, reference_input
from ffmotion.graph.encode import (
    _X264_DEMO,
    _sliced_threads,
    audio_args,
    audio_tracks,
    encoder_threads,
    kept_subtitles,
    output_size,
    shaping,
    subtitle_args,
    video_args,
)
from ffmotion.graph.extras import stabilize_video
from ffmotion.graph.motion import motion_video
from ffmotion.graph.node import Stream
from ffmotion.graph.picture import prelude
from ffmotion.graph.plan import Plan, dual_timing
from ffmotion.graph.timing import audio_needs_cut, cut_audio, select


def output(plan: Plan, dst: Path) -> Stream:
    """The ffmpeg-python output node writing ``plan``'s result to ``dst``."""
    source = ffmpeg.input(plan.info.input.name, **thread_args(plan), **plan.input_args())
    video = prelude(plan.source_video(source), plan.picture)
    if plan.steer is not None:  # commands reach the graph as frames pass (graph.steer)
        video = video.filter("zmq", bind_address=plan.steer)
    original = None
    if plan.beside:  # the live page shows the camera's picture beside its motion
        tee = video.split()
        video, original = tee[0], tee[1]
    second = None
    # a chunk reads its own frames (the chunk's reach), never a seek to frame K
    at_k = dual_timing(plan) if plan.cut is None else None
    if plan.cut is not None and plan.cut.reference is not None:  # a chunk in freeze mode
        second = prelude(reference_input(plan.info.input.name, plan.info.video_stream,
                                          plan.cut.reference,
                                          {**thread_args(plan),
                                           **plan.info.input.input_args()}), plan.picture)
    elif plan.strategy == "dual":
        timing = at_k or plan.timing
        again = ffmpeg.input(plan.info.input.name, an=None, **thread_args(plan),
                             **plan.info.input.input_args(), **timing.input_args())
        second = prelude(select(again[f"v:{plan.info.video_stream}"], timing), plan.picture)
    if plan.stabilizer is not None:
        video = stabilize_video(video, plan.stabilizer)
        if second is not None:  # a chunk's reference input has its own corrections
            second = stabilize_video(second, plan.cut.reference_stabilizer if plan.cut
                                     and plan.cut.reference_stabilizer else plan.stabilizer)
    video = motion_video(video, plan.k, plan.info.fps, plan.mode, plan.working_pix_fmt,
                         look=plan.motion.look, channel_ks=plan.channel_ks, second=second,
                         timing=plan.timing.variable, second_at_k=at_k is not None,
                         steer=plan.steer is not None)
    encode = video_args(plan)
    if plan.cut is not None:  # a chunk: its own frames only; the container's keys go to the join
        video = kept(video, plan.cut)
        encode = {key: value for key, value in encode.items() if key not in JOIN_KEYS}
    size, fps = shaping(plan)
    ends_late = plan.mode == "freeze" and plan.out_frames > 0
    video = outs.shape(video, size, fps, plan.out_frames if ends_late else None)
    width, height = output_size(plan)
    video = _whole_chroma_size(video, width, height, encode.get("pix_fmt"))
    if original is not None:
        video = _beside(original, video, plan, width, height, encode.get("pix_fmt"))
    if outs.output_kind(plan.output.path) == "gif":
        enc = plan.output.encode
        video = outs.gif_palette(video, enc.gif_dither, enc.gif_stats)
    streams = [video]
    kwargs = encoder_kwargs(plan, encode, height)
    if plan.beside:  # the live page's feed: the JPEG encoder's frame threads held each frame
        kwargs["thread_type:v"] = "slice"  # back one frame (33 ms at 30 fps): docs/live.md
    if plan.timing.variable is not None and fps is None:
        # frames keep their own times: encode in the stream's time base, not 1/frame rate
        tb = plan.timing.variable.time_base
        kwargs["enc_time_base:v"] = f"{tb.numerator}/{tb.denominator}"
    for track in audio_tracks(plan) if plan.cut is None else ():  # chunks: audio at the join
        audio = source[f"a:{track}"]
        if audio_needs_cut(plan.timing):  # output time 0 is the first frame, for sound too
            audio = cut_audio(audio, plan.timing)
        streams.append(audio)
    if len(streams) > 1:
        kwargs.update(audio_args(plan))
        # audio would otherwise run K frames past the video; the last video frame ends here
        if plan.out_frames:
            kwargs["t"] = _seconds(plan.out_duration)
        else:  # a stream of unknown length: end with the video
            kwargs["shortest"] = None
    subtitles = kept_subtitles(plan) if plan.cut is None else ()
    for track in subtitles:
        streams.append(source[f"s:{track}"])
    if subtitles:
        kwargs.update(subtitle_args(plan))
    from ffmotion.graph.stream import (
        output_target,  # graph.stream: loaded by a run that builds a command, not by importing the CLI
    )

    name, muxer = output_target(plan, dst)
    return ffmpeg.output(*streams, name, **kwargs, **muxer)


def encoder_kwargs(plan: Plan, encode: dict[str, Any], height: int) -> dict[str, Any]:
    """The video encoder's output options: ``encode`` (:func:`video_args`), frames passed
    with their own times, bit-exact muxing, and the encoder's thread count for a picture
    ``height`` rows high (rounded up to whole chroma rows)."""
    kwargs: dict[str, Any] = {**encode, "fps_mode": "passthrough", **BITEXACT}
    pix_fmt = encode.get("pix_fmt")
    rows = height + (-height % (1 << chroma_subsampling(pix_fmt)[1]) if pix_fmt else 0)
    threads = encoder_threads(encode.get("c:v"), rows, plan.cpus, _sliced_threads(encode))
    if threads is not None:
        kwargs["threads:v"] = threads
    return kwargs


def _whole_chroma_size(video: Stream, width: int, height: int, pix_fmt: Optional[str]) -> Stream:
    """Grow an odd-sized picture to whole chroma samples when the output is subsampled.

    x264, x265 and mpeg4 refuse 4:2:0 at odd sizes; the added column/row repeats its
    neighbour (``fillborders`` smear), so no look gets a coloured edge.
    """
    if not pix_fmt:
        return video
    sx, sy = chroma_subsampling(pix_fmt)
    right, bottom = -width % (1 << sx), -height % (1 << sy)
    if not right and not bottom:
        return video
    return (video.filter("pad", w=width + right, h=height + bottom)
                 .filter("fillborders", right=right, bottom=bottom, mode="smear"))


def _beside(original: Stream, motion: Stream, plan: Plan, width: int, height: int,
            pix_fmt: Optional[str]) -> Stream:
    """Input frame i left of output frame i (``hstack`` pairs them by time: both are
    re-timed by index, so the K frames the motion waits for are held, not dropped)."""
    tb = 1 / Fraction(plan.info.fps)
    if (plan.info.width, plan.info.height) != (width, height):
        original = original.filter("scale", width, height)
    if pix_fmt:
        original = original.filter("format", pix_fmt)
        motion = motion.filter("format", pix_fmt)
    original = _whole_chroma_size(original, width, height, pix_fmt)
    pair = [stream.filter("settb", f"{tb.numerator}/{tb.denominator}").setpts("N")
            for stream in (original, motion)]
    return ffmpeg.filter(pair, "hstack", inputs=2, shortest=1)


def _seconds(value: Fraction) -> str:
    return f"{float(value):.6f}".rstrip("0").rstrip(".")


def command(plan: Plan, ffmpeg_bin: str, dst: Optional[Path] = None,
            overwrite: Optional[bool] = None) -> list[str]:
    """The full ffmpeg argv for ``plan``, writing to ``dst`` (default: the plan's output).

    ``overwrite`` chooses ``-y`` or ``-n`` (default: the options' ``--overwrite``).
    """
    target = plan.output.path if dst is None else dst
    replace = plan.output.overwrite if overwrite is None else overwrite
    threads = plan.request.threads
    graph_threads = ["-filter_complex_threads", str(threads)] if threads else []
    return [ffmpeg_bin, *GLOBAL_ARGS, *graph_threads, "-y" if replace else "-n",
            *output(plan, target).get_args()]


def thread_args(plan: Plan) -> dict[str, Any]:
    """Decoder threads (an input option) when the options cap ffmpeg's threads.

    The encoder keeps its own default: x264's thread count changes its output bytes, while
    decoder and filter threads do not, so a capped command writes the same file.
    """
    return {"threads": plan.request.threads} if plan.request.threads else {}


def _lavfi(name: str, **params: Any) -> Stream:
    spec = ":".join(f"{key}={value}" for key, value in params.items())
    return ffmpeg.input(f"{name}={spec}" if spec else name, f="lavfi")


def demo_source(dst: Path, seconds: float = 6.0, size: tuple[int, int] = (640, 360),
                fps: int = 30) -> Stream:
    """Output node for the synthetic demo clip: a static scene, a few movers, sensor noise.

    A grid and boxes stay put (they must vanish to gray); a test pattern sweeps across,
    a small square circles fast, a tall bar creeps slowly (visible only at larger offsets),
    and temporal noise stands in for a real sensor. A 440 Hz tone shows that audio is kept.
    """
    w, h = size
    common = {"r": fps, "d": seconds}
    scene = (
        _lavfi("color", c="0x2f4f6f", s=f"{w}x{h}", **common)
        .filter("drawgrid", w=40, h=40, t=1, c="white@0.25")
        .filter("drawbox", x=w // 10, y=h // 2, w=w // 5, h=h // 3, c="0xc8a050", t="fill")
        .filter("drawbox", x=w * 6 // 10, y=h // 6, w=w // 4, h=h // 5, c="0x80b060", t="fill")
    )
    sweeper = _lavfi("testsrc2", s=f"{w // 8}x{w // 8}", **common)
    circler = _lavfi("color", c="0xe04040", s=f"{w // 24}x{w // 24}", **common)
    creeper = _lavfi("color", c="0xf0f0f0", s=f"{w // 40}x{h // 3}", **common)
    video = ffmpeg.overlay(scene, sweeper, x=f"mod(t*{w // 3},W+w)-w", y=h // 8)
    video = ffmpeg.overlay(video, circler, x="W/2+W/6*cos(2*t)-w/2", y="H/2+H/5*sin(2*t)-h/2")
    video = ffmpeg.overlay(video, creeper, x=f"W/3+t*{max(1, w // 60)}", y=h // 2)
    video = video.filter("noise", alls=5, allf="t").filter("format", "yuv420p")
    tone = _lavfi("sine", f=440, d=seconds)
    return ffmpeg.output(video, tone, str(dst), **{
        **_X264_DEMO, "movflags": "+faststart", "c:a": "aac", "t": seconds, **BITEXACT})


def demo_command(ffmpeg_bin: str, dst: Path, overwrite: bool) -> list[str]:
    """argv writing the demo clip to ``dst``."""
    return [ffmpeg_bin, *GLOBAL_ARGS, "-y" if overwrite else "-n", *demo_source(dst).get_args()]
