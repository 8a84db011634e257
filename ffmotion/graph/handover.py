"""A steered live run whose output outlives its ffmpeg: the commands of the *held output*.

An offset change (or a new look preset) needs a new filter graph, so a new ffmpeg. Written by
that ffmpeg itself, the output would end and start again: a stream reader sees the stream
stop and a new one begin (OBS connects again), a file gets a second header. Instead, a held
run is two ffmpegs joined by ffmotion: the *source* runs the motion graph and writes raw
frames (YUV4MPEG on its stdout); the *sink* reads them on its stdin, encodes and writes the
output, once, for the whole job. A restart replaces the source only; while the new one
starts, the sink gets the last frame again at the frame rate (:mod:`ffmotion.run.held`), so
the output never stops and never shows a frame that is not blended.

The pixels are those of the one-ffmpeg run: the source converts to the encoder's pixel format
where the one-ffmpeg graph would (its last step), and the frames cross the pipe unchanged.

*The camera held too.* A new graph also needs the K frames before "now": opened again, the
source gives them only K/fps seconds later. Where the source's frames can cross a pipe
unchanged (YUV4MPEG formats, no prelude that must come first), a *capture* ffmpeg reads the
source once for the whole job and ffmotion keeps its last frames: a new graph is fed the K
frames before "now" at once, then the live ones, so its first frame is out as soon as it has
started (:func:`capture_command`, :func:`piped_plan`).

Pure: argv only.
"""
from __future__ import annotations

import os
from dataclasses import replace
from pathlib import Path
from typing import Optional

import ffmpeg

from ffmotion.core.request import EncodeOptions
from ffmotion.core.sinks import STDOUT_NAME, Sink
from ffmotion.core.source import Source
from ffmotion.graph import outputs as outs
from ffmotion.graph.argv import BITEXACT, GLOBAL_ARGS
from ffmotion.graph.command import command, encoder_kwargs, thread_args
from ffmotion.graph.encode import (
    audio_tracks,
    kept_subtitles,
    output_size,
    video_args,
)
from ffmotion.graph.plan import Plan
from ffmotion.graph.stream import output_target

RAW_FORMAT = "yuv4mpegpipe"
_Y4M_PIX_FMTS = frozenset({"yuv420p", "yuv422p", "yuv444p", "gray", "yuv420p10le",
                           "yuv422p10le", "yuv444p10le", "gray10le", "yuv420p12le",
                           "yuv422p12le", "yuv444p12le", "gray12le", "yuv420p16le",
                           "yuv422p16le", "yuv444p16le", "gray16le"})


def raw_pix_fmt(plan: Plan) -> str:
    """The pixel format the frames cross the pipe in: the encoder's (else the working one)."""
    return str(video_args(plan).get("pix_fmt") or plan.working_pix_fmt)


def why_not_held_after(plan: Plan, first: Plan) -> Optional[str]:
    """None when a restart may put ``plan`` in place of ``first`` on ``first``'s held output
    (the output's frames keep their size and format), else why not."""
    why = why_not_held(plan)
    if why is not None:
        return why
    if raw_pix_fmt(plan) != raw_pix_fmt(first) or output_size(plan) != output_size(first):
        return (f"its frames ({raw_pix_fmt(plan)}) are not the output's ({raw_pix_fmt(first)}, "
                "set when the job started)")
    return None


def why_not_held(plan: Plan) -> Optional[str]:
    """None when ``plan``'s output can be held across restarts, else why not (a few words)."""
    if plan.steer is None:
        return "the run is not steered"
    if plan.out_frames:
        return "the run counts its frames (--duration/--end)"
    sink = plan.output.sink
    if sink is not None and sink.kind == "hls":
        return "an HLS output"
    if sink is not None and sink.format == "mpjpeg":
        return "the page's own feed"
    if sink is None and outs.output_kind(plan.output.path) != "video":
        return "an image or animation output"
    if audio_tracks(plan) or kept_subtitles(plan):
        return "the source has sound or subtitles, which a restart cannot carry over"
    if plan.beside:
        return "the page's picture"
    if raw_pix_fmt(plan) not in _Y4M_PIX_FMTS:
        return f"frames in {raw_pix_fmt(plan)} (YUV4MPEG holds YUV and gray)"
    return None


# packed or semi-planar camera formats -> the planar format with the same samples (a lossless
# rearrangement: every sample kept, none computed)
_PLANAR = {"yuyv422": "yuv422p", "uyvy422": "yuv422p", "yvyu422": "yuv422p",
           "nv12": "yuv420p", "nv21": "yuv420p", "nv16": "yuv422p", "nv24": "yuv444p",
           "nv42": "yuv444p", "p010le": "yuv420p10le", "p016le": "yuv420p16le",
           "p210le": "yuv422p10le", "p410le": "yuv444p10le"}


def capture_pix_fmt(plan: Plan) -> Optional[str]:
    """The pixel format a capture passes the source's frames on in, for the whole job
    whatever the look: the source's own, or the planar format with its samples; None when
    the frames cannot cross a YUV4MPEG pipe unchanged, or must be read as they come (a
    range's first frames skipped, full range, rotation, a picture that changes size, a
    prelude that must see the camera's own format)."""
    info = plan.info
    if (plan.timing.skip or plan.stabilizer is not None or plan.strategy != "split"
            or info.rotation or info.color_range == "pc"
            or (info.index is not None and info.index.sizes)):
        return None
    if info.pix_fmt in _Y4M_PIX_FMTS:
        return info.pix_fmt
    picture = plan.picture
    no_prelude = picture is None or not (picture.resize or picture.relabel or picture.deinterlace)
    planar = _PLANAR.get(info.pix_fmt)
    return planar if no_prelude and planar in _Y4M_PIX_FMTS else None


def capture_command(plan: Plan, ffmpeg_bin: str) -> list[str]:
    """The source opened as the one-ffmpeg run opens it, its video as YUV4MPEG on stdout."""
    pix_fmt = capture_pix_fmt(plan)
    if pix_fmt is None:
        raise ValueError("this plan's source is read by its graph itself")
    source = ffmpeg.input(plan.info.input.name, **thread_args(plan), **plan.input_args())
    node = ffmpeg.output(source[f"v:{plan.info.video_stream}"], "pipe:1", f=RAW_FORMAT,
                         pix_fmt=pix_fmt, strict=-1, fps_mode="passthrough", flush_packets=1,
                         **BITEXACT)
    return [ffmpeg_bin, *GLOBAL_ARGS, "-y", *node.get_args()]


def piped_plan(plan: Plan, pix_fmt: Optional[str] = None) -> Plan:
    """``plan`` reading the capture's frames on stdin instead of the source (``pix_fmt``:
    the format the running capture passes them on in; default: :func:`capture_pix_fmt`)."""
    pix_fmt = pix_fmt or capture_pix_fmt(plan)
    if pix_fmt is None:
        raise ValueError("this plan's source is read by its graph itself")
    piped = Source("live", "pipe:0", (("f", RAW_FORMAT),))
    return replace(plan, info=replace(plan.info, source=piped, video_stream=0, index=None,
                                      pix_fmt=pix_fmt))


def source_plan(plan: Plan) -> Plan:
    """``plan`` writing raw frames to stdout instead of its output."""
    placeholder = Path(os.devnull) / "stream.y4m"
    output = replace(plan.output, path=placeholder, audio=False, subtitles=False,
                     sink=Sink("stdout", STDOUT_NAME, RAW_FORMAT, placeholder),
                     encode=EncodeOptions(pix_fmt=raw_pix_fmt(plan)))
    return replace(plan, request=replace(plan.request, output=output))


def source_command(plan: Plan, ffmpeg_bin: str, piped: bool = False,
                   pix_fmt: Optional[str] = None) -> list[str]:
    """The motion graph of ``plan``, its frames as YUV4MPEG on stdout (``piped``: read from
    a capture on stdin, :func:`piped_plan`, in ``pix_fmt``)."""
    return command(source_plan(piped_plan(plan, pix_fmt) if piped else plan), ffmpeg_bin,
                   overwrite=True)


def colour_tags(plan: Plan) -> dict[str, str]:
    """The camera's matrix, primaries and transfer for the sink's encoder: YUV4MPEG carries
    none of them, while the one-ffmpeg run's output keeps the camera's (measured: a look
    worked in RGB too)."""
    space, primaries, transfer = plan.info.colorimetry
    tags = {"colorspace": space, "color_primaries": primaries, "color_trc": transfer}
    return {key: value for key, value in tags.items() if value}


def sink_command(plan: Plan, ffmpeg_bin: str, dst: Optional[Path] = None,
                 overwrite: Optional[bool] = None) -> list[str]:
    """YUV4MPEG frames from stdin, encoded and written as ``plan``'s one-ffmpeg run writes
    them (the same encoder options and muxer); ``dst``: a file output's temporary name;
    ``overwrite``: -y or -n (default: the options' ``--overwrite``)."""
    encode = video_args(plan)
    kwargs = encoder_kwargs(plan, encode, output_size(plan)[1])
    kwargs.update(colour_tags(plan))
    name, muxer = output_target(plan, dst if dst is not None else plan.output.path)
    frames = ffmpeg.input("pipe:0", f=RAW_FORMAT)
    node = ffmpeg.output(frames, name, **kwargs, **muxer)
    replace_it = plan.output.overwrite if overwrite is None else overwrite
    return [ffmpeg_bin, *GLOBAL_ARGS, "-y" if replace_it else "-n", *node.get_args()]


__all__ = ["RAW_FORMAT", "capture_command", "capture_pix_fmt", "piped_plan", "raw_pix_fmt",
           "sink_command", "source_command", "source_plan", "why_not_held",
           "why_not_held_after"]
