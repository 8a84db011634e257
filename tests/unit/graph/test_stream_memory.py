"""A stream is read once, so the K frames before the first pair wait in ffmpeg's memory:
an offset past --max-buffer is refused in one line before anything starts (it was taken,
and a live run, or a steered one's restart, then grew without bound)."""
from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import pytest

from ffmotion import graph
from ffmotion.core.caps import Caps
from ffmotion.core.errors import UsageError
from ffmotion.core.source import Source
from ffmotion.media.info import MediaInfo

from helpers import request

CAMERA = Source("live", "testsrc2=size=1280x720:rate=30", (("f", "lavfi"),))
INFO = MediaInfo(path=Path("/dev/null/lavfi"), width=1280, height=720, fps=Fraction(30),
                 frames=0, pix_fmt="yuv420p", video_codec="wrapped_avframe", source=CAMERA)


def test_an_offset_past_the_buffer_is_refused_on_a_stream():
    plan = graph.plan(request(INFO.path, "/out/o.mkv", 150, source=CAMERA), INFO, Caps())
    assert plan.k == 150  # 150 frames of 1280x720 4:2:0: 198 MiB, under the 256 MiB
    with pytest.raises(UsageError, match=r"offset 100000 frames would hold 131836 MiB.*"
                                         r"max.buffer"):
        graph.plan(request(INFO.path, "/out/o.mkv", 100000, source=CAMERA), INFO, Caps())
    with pytest.raises(UsageError, match=r"offset 10s = 300 frames would hold 396 MiB"):
        graph.plan(request(INFO.path, "/out/o.mkv", "10s", source=CAMERA), INFO, Caps())
    bigger = request(INFO.path, "/out/o.mkv", "10s", source=CAMERA, max_buffer=2**30)
    assert graph.plan(bigger, INFO, Caps()).k == 300
