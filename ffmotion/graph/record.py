"""The live page's recording: the JPEG frames the page shows, the motion half kept.

The page's feed is one picture per frame, the camera's left of its motion (``Plan.beside``,
``-f mpjpeg``). A recording takes those JPEG frames on stdin as they come (``-f mjpeg``,
timed by count at the camera's rate), keeps the right half (the motion) and stores it
losslessly (FFV1 in Matroska: playable while written, and after a stop or a crash).

Pure: numbers in, argv out.
"""
from __future__ import annotations

from fractions import Fraction
from pathlib import Path

from ffmotion.graph.argv import GLOBAL_ARGS

RECORD_SUFFIX = ".mkv"


def recording_command(ffmpeg: str, fps: Fraction, dst: Path) -> list[str]:
    """argv reading JPEG frames on stdin and writing their right half to ``dst``
    (``-y``: ``dst`` is the empty temporary file of the safe-write rule)."""
    return [ffmpeg, *GLOBAL_ARGS[:1], "-loglevel", "error", "-y", "-f", "mjpeg",
            "-framerate", f"{fps.numerator}/{fps.denominator}", "-i", "pipe:0",
            "-vf", "crop=iw/2:ih:iw/2:0", "-c:v", "ffv1", "-level", "3",
            "-f", "matroska", str(dst)]


__all__ = ["RECORD_SUFFIX", "recording_command"]
