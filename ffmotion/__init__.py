"""ffmotion: motion extraction as one ffmpeg filter graph.

Each output frame is input frame i blended 50% with the inverted frame i+K:
``(a + max - b) >> 1`` per plane, in the input's own pixel format.
"""
from __future__ import annotations

__version__ = "0.1.0"

from .api import (Result, build_command, extract, ffmpeg_path, make_options,  # noqa: E402
                  motion_stream)
from .errors import FfmotionError, MediaError, UsageError  # noqa: E402
from .graph import motion_video  # noqa: E402
from .looks import PRESETS, Look  # noqa: E402
from .options import EncodeOptions, FrameOffset, Options  # noqa: E402

__all__ = [
    "EncodeOptions", "FfmotionError", "FrameOffset", "MediaError", "Options", "Result",
    "UsageError", "build_command", "extract", "ffmpeg_path", "make_options", "motion_stream", "motion_video",
]
__all__ += ["Look", "PRESETS"]
