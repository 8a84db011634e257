"""Which streams of an input are used: the real video, the audio tracks, the subtitles.

A cover picture or thumbnail can be listed as the first video stream (Matroska, NUT, MP4
cover art): ``0:v:0`` would take it for the video. The video is the largest picture among
the video streams that are neither flagged attached pictures nor a single frame (ffmpeg's own
default choice is the largest picture too), unless ``--video-stream N`` names one. Audio is
the first track unless ``--audio-stream N|all|none`` says otherwise. What is not kept is
reported in the job's summary line, never dropped silently.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, Optional, Sequence

from ffmotion.core.errors import MediaError, UsageError, field
from ffmotion.core.request import AudioChoice

Kind = Literal["video", "audio", "subtitle", "data", "attachment"]
# text subtitles ffmpeg converts to mov_text for MP4/MOV; bitmap ones (dvd, pgs) it cannot
TEXT_SUBTITLES = frozenset({"subrip", "srt", "ass", "ssa", "mov_text", "webvtt", "text"})


@dataclass(frozen=True)
class StreamInfo:
    """One stream of the input as ``ffmpeg -i`` lists it."""

    index: int  # absolute stream index (0:N)
    kind: Kind
    codec: str
    width: int = 0
    height: int = 0
    attached_pic: bool = False
    default: bool = False
    packets: int = 0  # video streams: packets listed by the probe
    language: str = ""

    def describe(self) -> str:
        extra = f" ({self.language})" if self.language else ""
        return f"#{self.index} {self.kind} {self.codec}{extra}"


def choose_video(streams: Sequence[StreamInfo], wanted: Optional[int] = None) -> int:
    """The position (among video streams, as in ``0:v:N``) of the video to process."""
    videos = [s for s in streams if s.kind == "video"]
    if not videos:
        raise MediaError("no video stream")
    if wanted is not None:
        if not 0 <= wanted < len(videos):
            raise UsageError(f"{field('video_stream')} {wanted}: the input has {len(videos)} video "
                             f"stream(s), numbered 0 to {len(videos) - 1}")
        return wanted
    moving = [i for i, s in enumerate(videos) if not s.attached_pic and s.packets > 1]
    candidates = moving or [i for i, s in enumerate(videos) if not s.attached_pic]
    if not candidates:
        raise MediaError("the only video stream is a still picture (cover art)")
    return max(candidates, key=lambda i: (videos[i].width * videos[i].height, -i))


def choose_audio(streams: Sequence[StreamInfo], wanted: AudioChoice = 0) -> tuple[int, ...]:
    """Positions (among audio streams, as in ``0:a:N``) of the audio tracks to keep."""
    count = sum(1 for s in streams if s.kind == "audio")
    if wanted == "none" or count == 0:
        return ()
    if wanted == "all":
        return tuple(range(count))
    assert isinstance(wanted, int)
    if not 0 <= wanted < count:
        raise UsageError(f"{field('audio_stream')} {wanted}: the input has {count} audio stream(s), "
                         f"numbered 0 to {count - 1}")
    return (wanted,)
