"""Shared test code (pytest imports conftest.py; everything else lives here)."""
from __future__ import annotations

from pathlib import Path
from typing import Any, Optional, Union

from ffmotion.core.request import EncodeOptions, InputSpec, MotionRequest, MotionSpec, OutputSpec
from ffmotion.core.units import FramesOrTime

_INPUT = ("start", "end", "duration", "deinterlace", "video_stream", "sequence", "source")
_MOTION = ("mode", "look", "stabilize", "strategy", "max_buffer")
_OUTPUT = ("encode", "audio", "audio_stream", "subtitles", "overwrite", "sink")


def request(src: Union[str, Path], dst: Optional[Union[str, Path]] = None,
            offset: Any = 1, threads: Optional[int] = None, **fields: Any) -> MotionRequest:
    """A request from flat field names (``offset``, ``mode``, ``look``, ``start``,
    ``encode``...), made without looking at the disk: for the pure planner's tests."""
    unknown = set(fields) - set(_INPUT) - set(_MOTION) - set(_OUTPUT)
    assert not unknown, f"not a request field: {unknown}"
    wanted = InputSpec.parse(src, **{k: fields[k] for k in _INPUT if k in fields})
    motion = MotionSpec(offset=FramesOrTime.offset(offset),
                        **{k: fields[k] for k in _MOTION if k in fields})
    output = None
    if dst is not None:
        output = OutputSpec(path=Path(dst).absolute(),
                            **{k: fields[k] for k in _OUTPUT if k in fields})
    return MotionRequest(wanted, motion, output, threads)


__all__ = ["EncodeOptions", "request"]
