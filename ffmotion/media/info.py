"""What the graph knows of an input: :class:`MediaInfo`, made by :mod:`ffmotion.media.probe`.

A value (frozen, no I/O): the graph is planned from it without running anything.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from dataclasses import field as dataclass_field
from fractions import Fraction
from pathlib import Path
from typing import Optional

from ffmotion.core.source import Source
from ffmotion.media.frames import FrameIndex
from ffmotion.media.streams import StreamInfo


@dataclass(frozen=True)
class MediaInfo:
    """The facts about one input file that the graph depends on."""

    path: Path
    width: int
    height: int
    fps: Fraction
    frames: int  # decoded frames of the video stream (see ffmotion.media.frames)
    pix_fmt: str
    video_codec: str
    audio_codec: Optional[str] = None  # the first audio track's codec (None: no audio)
    # picture facts (see ffmotion/media/picture.py): how the decoded frames are to be read
    rotation: int = 0  # display-matrix rotation, 0/90/180/270 (counterclockwise)
    field_order: str = "progressive"  # progressive, tt, bb, tb, bt (or unknown)
    color_range: str = "tv"  # "pc" (full range: yuvj*, MJPEG, phone H.264) or "tv"
    transfer: str = ""  # transfer characteristic as ffmpeg names it (smpte2084: PQ HDR); "" unknown
    # the frames' matrix, primaries and transfer as ffmpeg names them ("": not given)
    colorimetry: tuple[str, str, str] = ("", "", "")
    # streams and frame identity
    video_stream: int = 0  # position of the video among the video streams (0:v:N)
    streams: tuple[StreamInfo, ...] = ()
    index: Optional[FrameIndex] = dataclass_field(default=None, compare=False, repr=False)
    # how ffmpeg opens the input (None: the file at ``path``, read literally)
    source: Optional[Source] = None

    @property
    def input(self) -> Source:
        """How every graph opens this input (``ffmpeg.input(name, **input_args())``).

        Where the picture size changes mid-stream (:mod:`ffmotion.media.decoded`), ffmpeg must
        not rebuild the graph at the change (``-reinit_filter 0``): the graph scales the
        frames to one size itself (:mod:`ffmotion.graph.picture`).
        """
        source = self.source if self.source is not None else Source.file(self.path)
        if self.index is not None and self.index.sizes:
            source = dataclasses.replace(source, options=(*source.options, ("reinit_filter", 0)))
        return source

    @property
    def has_audio(self) -> bool:
        return self.audio_codec is not None

    @property
    def display_size(self) -> tuple[int, int]:
        """Width and height of the frames the graph sees: ffmpeg autorotates before it."""
        if self.rotation in (90, 270):
            return self.height, self.width
        return self.width, self.height

    @property
    def interlaced(self) -> bool:
        return self.field_order in ("tt", "bb", "tb", "bt")

    @property
    def full_range(self) -> bool:
        return self.color_range == "pc" or self.pix_fmt.startswith("yuvj")

    @property
    def duration(self) -> float:
        return float(self.frames / self.fps)

    @property
    def audio_streams(self) -> tuple[StreamInfo, ...]:
        return tuple(s for s in self.streams if s.kind == "audio")

    @property
    def subtitle_streams(self) -> tuple[StreamInfo, ...]:
        return tuple(s for s in self.streams if s.kind == "subtitle")

    @property
    def video_streams(self) -> tuple[StreamInfo, ...]:
        return tuple(s for s in self.streams if s.kind == "video")

    @property
    def constant_rate(self) -> bool:
        """Frame i is shown at ``start + i / fps`` (no variable rate, no missing frame)."""
        return self.index is None or self.index.is_constant_rate(self.fps)

    def input_time(self, i: int) -> Fraction:
        """When frame ``i`` is shown, counted from the first frame: ``i / fps`` at a constant
        rate, the frame's own time where frames are not 1/fps apart (a variable rate, AVI
        null frames)."""
        if self.constant_rate or self.index is None or not 0 <= i < self.index.count:
            return Fraction(i) / self.fps
        return self.index.times[i] - self.index.times[0]

    def frame_time(self, i: int) -> Fraction:
        """When frame ``i`` is shown, in seconds on the graph's timeline (input start = 0)."""
        if self.index is None:
            return Fraction(i) / self.fps
        return self.index.times[i]
