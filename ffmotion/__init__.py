"""ffmotion: motion extraction as one ffmpeg filter graph.

Each output frame is input frame i blended 50% with the inverted frame i+K:
``(a + max - b) >> 1`` per plane, in the input's own pixel format.

The public names below load on first use (PEP 562), so that importing one small module of
the package (the program's launcher, :mod:`ffmotion.run.ahead`) does not load them all.
"""
from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

# public name -> the module that holds it
_PUBLIC = {
    "Result": "api", "build_command": "api", "extract": "api", "ffmpeg_path": "api",
    "make_request": "api", "motion_stream": "api", "magnify": "api", "spectrum": "api",
    "FfmotionError": "core.errors", "MediaError": "core.errors", "UsageError": "core.errors",
    "motion_video": "graph",
    "Look": "core.looks", "PRESETS": "core.looks", "__version__": "core.version",
    "EncodeOptions": "core.request", "FramesOrTime": "core.units", "MotionRequest": "core.request",
    "StabilizeOptions": "core.request",
}

__all__ = [  # what _PUBLIC holds, spelled out for linters and readers
    "EncodeOptions", "FfmotionError", "FramesOrTime", "Look", "MediaError", "MotionRequest",
    "PRESETS", "Result", "StabilizeOptions", "UsageError", "build_command", "extract",
    "ffmpeg_path", "magnify", "make_request", "motion_stream", "motion_video", "spectrum",
    "__version__",
]

if TYPE_CHECKING:
    from ffmotion.api import (
        Result,
        build_command,
        extract,
        ffmpeg_path,
        magnify,
        make_request,
        motion_stream,
        spectrum,
    )
    from ffmotion.core.errors import FfmotionError, MediaError, UsageError
    from ffmotion.core.looks import PRESETS, Look
    from ffmotion.core.request import EncodeOptions, MotionRequest, StabilizeOptions
    from ffmotion.core.units import FramesOrTime
    from ffmotion.core.version import __version__
    from ffmotion.graph import motion_video


def __getattr__(name: str) -> Any:
    home = _PUBLIC.get(name)
    if home is None:
        raise AttributeError(f"module 'ffmotion' has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{home}", __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_PUBLIC})
