"""The live page's feed (``Plan.beside``, JPEG frames): slice-threaded JPEG encoding, so no
frame waits in the encoder's frame threads; any other plan's command is unchanged."""
from __future__ import annotations

from dataclasses import replace
from fractions import Fraction
from pathlib import Path

from ffmotion import graph
from ffmotion.core.caps import Caps
from ffmotion.media.info import MediaInfo
from ffmotion.media.streams import StreamInfo

from helpers import request

INFO = MediaInfo(path=Path("/in/camera.mkv"), width=1280, height=720, fps=Fraction(30),
                 frames=300, pix_fmt="yuv420p", video_codec="rawvideo", audio_codec=None,
                 streams=(StreamInfo(0, "video", "rawvideo", 1280, 720),))


def _argv(beside: bool) -> list[str]:
    plan = graph.plan(request(INFO.path, "/out/feed.mjpeg", 2), INFO, Caps(ffmpeg="ffmpeg",
                                                                            cpus=2))
    return graph.command(replace(plan, beside=beside), "ffmpeg")


def test_the_page_feed_encodes_jpeg_with_slice_threads_only_beside():
    fed = _argv(True)
    assert "hstack" in " ".join(fed)
    at = fed.index("-thread_type:v")
    assert fed[at + 1] == "slice" and "mjpeg" in fed
    plain = _argv(False)
    assert "-thread_type:v" not in plain and "hstack" not in " ".join(plain)
