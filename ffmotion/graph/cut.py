"""One chunk's cut of a whole run: what a chunk's plan reads and keeps (see
:mod:`ffmotion.graph.chunks` for how a run is cut). Pure."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Optional

import ffmpeg

from ffmotion.graph.extras import Stabilizer
from ffmotion.graph.node import Stream
from ffmotion.graph.timing import Timing, select

# container options that belong to the joined file, not to a chunk's segment
JOIN_KEYS = ("movflags", "tag:v", "vtag")

@dataclass(frozen=True)
class ChunkCut:
    """What a chunk's plan keeps of the motion frames it computes."""

    index: int
    first: int  # first output frame of the whole run this chunk makes
    keep: int  # output frames it makes
    warmup: int  # motion frames computed before ``first`` and dropped
    reference: Optional[Timing] = None  # freeze mode: the second input with the reference
    # stabilized freeze mode: the reference input's own slice of the corrections
    reference_stabilizer: Optional[Stabilizer] = None


def kept(video: Stream, cut: ChunkCut) -> Stream:
    """The chunk's own output frames of its motion frames (warm-up and look-ahead dropped)."""
    return video.trim(start_frame=cut.warmup, end_frame=cut.warmup + cut.keep).setpts(
        "PTS-STARTPTS")


def reference_input(name: str, stream: int, reference: Timing, input_args: dict[str, Any]) -> Stream:
    """Freeze mode: the reference frame(s) read by a second input of their own (``name``
    opened as the plan's input is)."""
    node = ffmpeg.input(name, an=None, **input_args, **reference.input_args())
    return select(node[f"v:{stream}"], reference)
