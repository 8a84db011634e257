"""The graph of ``ffmotion spectrum``: one number per frame, the mean luma of a region, computed
by ffmpeg (``crop``, ``format=gray``, ``signalstats`` YAVG printed by ``metadata`` to a file).
Pure: builds argv, runs nothing."""
from __future__ import annotations

from pathlib import Path
from typing import Optional

import ffmpeg

from ffmotion.graph.argv import GLOBAL_ARGS
from ffmotion.graph.command import thread_args
from ffmotion.graph.extras import check_filter_path, stabilize_video
from ffmotion.graph.picture import prelude
from ffmotion.graph.plan import Plan

MEAN_KEY = "lavfi.signalstats.YAVG"  # printed with 6 significant digits ("%g")


def command(plan: Plan, roi: Optional[tuple[int, int, int, int]], values: Path,
            ffmpeg_bin: str) -> list[str]:
    """argv printing each frame's mean luma over ``roi`` (x, y, w, h; None: the whole
    picture) into the file ``values``."""
    check_filter_path(values)
    source = ffmpeg.input(plan.info.input.name, **thread_args(plan), **plan.input_args())
    video = prelude(plan.source_video(source), plan.picture)
    if plan.stabilizer is not None:
        video = stabilize_video(video, plan.stabilizer)
    if roi is not None:
        x, y, w, h = roi
        video = video.filter("crop", w, h, x, y)
    video = (video.filter("format", "gray").filter("signalstats")
                  .filter("metadata", mode="print", key=MEAN_KEY, file=str(values)))
    out = ffmpeg.output(video, "-", f="null", fps_mode="passthrough")
    return [ffmpeg_bin, *GLOBAL_ARGS, "-y", *out.get_args()]


def parse_means(text: str) -> list[float]:
    """The per-frame means of a ``metadata=mode=print`` file, in frame order."""
    values: dict[int, float] = {}
    frame = None
    for line in text.splitlines():
        if line.startswith("frame:"):
            frame = int(line.split()[0].split(":", 1)[1])
        elif line.startswith(MEAN_KEY + "=") and frame is not None:
            values[frame] = float(line.split("=", 1)[1])
    if sorted(values) != list(range(len(values))):
        raise ValueError("spectrum: the frames are not numbered 0..n-1")
    return [values[i] for i in range(len(values))]
