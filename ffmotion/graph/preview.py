"""The preview's graphs: the proxy (decode, stabilize, scale, raw) and its exact frames.

Pure: builds argv, runs nothing. Which proxy frames feed which graph (``Window``), and why
that gives the CLI's exact pixels, is in :mod:`ffmotion.graph.proxy`; the preview runs these
commands.
"""
from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import ffmpeg

from ffmotion.core.pixfmt import working_pix_fmt
from ffmotion.graph.argv import GLOBAL_ARGS
from ffmotion.graph.extras import stabilize_video
from ffmotion.graph.motion import motion_video, second_input
from ffmotion.graph.picture import prelude
from ffmotion.graph.plan import Plan

if TYPE_CHECKING:
    from ffmotion.graph.proxy import Proxy, Window

SCALE_FLAGS = "bicubic"


def proxy_pix_fmt(plan: Plan) -> str:
    """The format the motion graph receives before any look conversion."""
    if plan.stabilizer is not None:
        return working_pix_fmt(plan.stabilizer.pix_fmt)
    return working_pix_fmt(plan.info.pix_fmt)


def proxy_command(ffmpeg_bin: str, plan: Plan, size: tuple[int, int], dst: Path,
                  ranged: bool = False) -> list[str]:
    """Decode (the range when stabilizing or ``ranged``, else the whole input), stabilize,
    scale, write raw."""
    stabilized = plan.stabilizer is not None
    if stabilized or ranged:  # the range's frames, exactly as the motion graph gets them
        source = ffmpeg.input(plan.info.input.name, **plan.input_args())
        video = plan.source_video(source)
    else:  # the whole input: frames are picked by index later
        source = ffmpeg.input(plan.info.input.name, **plan.info.input.input_args())
        video = source[f"v:{plan.info.video_stream}"]
    video = prelude(video, plan.picture)
    if plan.stabilizer is not None:
        video = stabilize_video(video, plan.stabilizer)
    video = (video.filter("scale", size[0], size[1], flags=SCALE_FLAGS)
                  .filter("format", proxy_pix_fmt(plan)))
    out = ffmpeg.output(video, str(dst), f="rawvideo", fps_mode="passthrough")
    return [ffmpeg_bin, *GLOBAL_ARGS, "-y", *out.get_args()]


def window_command(ffmpeg_bin: str, plan: Plan, proxy: Proxy, win: Window) -> list[str]:
    """ffmpeg argv writing the window's frames (warm-up first) as raw frames to stdout."""
    raw: dict[str, Any] = {"f": "rawvideo", "pixel_format": proxy.pix_fmt,
                           "video_size": (proxy.width, proxy.height),
                           "framerate": f"{proxy.fps.numerator}/{proxy.fps.denominator}"}
    top = ffmpeg.input(str(proxy.path), skip_initial_bytes=win.a * proxy.frame_bytes, **raw)["v:0"]
    second = None
    if win.b is not None:
        second = second_input(proxy.path, skip_initial_bytes=win.b * proxy.frame_bytes,
                                    **raw)
    video = motion_video(top, win.k, plan.info.fps, plan.mode, plan.working_pix_fmt,
                               look=plan.motion.look, channel_ks=win.channel_ks, second=second)
    out = ffmpeg.output(video, "pipe:1", f="rawvideo", pix_fmt=plan.working_pix_fmt,
                        fps_mode="passthrough", **{"frames:v": win.skip + win.count})
    return [ffmpeg_bin, *GLOBAL_ARGS, "-v", "error", *out.get_args()]
