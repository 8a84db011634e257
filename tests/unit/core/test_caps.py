"""The toolchain's capabilities are a value (core.caps.Caps) the pure planner takes: every
choice that depends on the ffmpeg in use is made, and testable, without running ffmpeg."""
from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import pytest

from ffmotion import graph
from ffmotion.core.caps import Caps
from ffmotion.core.errors import UsageError
from ffmotion.core.request import EncodeOptions
from ffmotion.media.info import MediaInfo

from helpers import request

INFO = MediaInfo(path=Path("/in/clip.mp4"), width=1280, height=720, fps=Fraction(30),
                 frames=300, pix_fmt="yuv420p", video_codec="h264", field_order="tt")
FULL = frozenset({"bwdif", "yadif", "vidstabdetect", "vidstabtransform"})


def _plan(caps: Caps, dst: str = "/out/o.mp4", **fields) -> graph.Plan:
    return graph.plan(request(INFO.path, dst, 2, **fields), INFO, caps)


@pytest.mark.parametrize("filters, chosen", [
    (FULL, "bwdif"), (frozenset({"yadif"}), "yadif"), (None, "bwdif"),
])
def test_the_deinterlacer_is_one_this_ffmpeg_has(filters, chosen):
    plan = _plan(Caps(filters=filters), deinterlace=True)
    assert plan.picture is not None and plan.picture.deinterlace == chosen
    text = " ".join(graph.command(plan, "ffmpeg"))
    assert f"{chosen}=" in text or f"]{chosen}[" in text


def test_no_deinterlacer_in_this_ffmpeg_is_one_line():
    with pytest.raises(UsageError, match="bwdif or yadif"):
        _plan(Caps(filters=frozenset({"scale"})), deinterlace=True)


def test_an_encoder_this_ffmpeg_lacks_is_refused_by_name():
    caps = Caps(ffmpeg="/opt/ff", encoders=frozenset({"mpeg4", "aac"}))
    with pytest.raises(UsageError, match=r"unknown codec for this ffmpeg \(/opt/ff\): libx264"):
        graph.check_toolchain(_plan(caps), caps)
    with pytest.raises(UsageError, match=r"cannot write \.gif files: it has no gif encoder"):
        graph.check_toolchain(_plan(caps, "/out/o.gif"), caps)
    avi = _plan(caps, "/out/o.avi", audio=False)
    graph.check_toolchain(avi, caps)  # mpeg4 is there: no error


def test_a_pixel_format_this_ffmpeg_does_not_know_is_refused():
    caps = Caps(encoders=frozenset({"libx264", "aac"}), pix_fmts=frozenset({"yuv420p"}))
    plan = _plan(caps, encode=EncodeOptions(pix_fmt="yuv444p"))
    with pytest.raises(UsageError, match="unknown pixel format: yuv444p"):
        graph.check_toolchain(plan, caps)
    graph.check_toolchain(_plan(caps, encode=EncodeOptions(pix_fmt="yuv420p")), caps)


def test_x264s_thread_count_follows_the_cpus_the_run_may_use():
    def threads(cpus: int) -> str:
        argv = graph.command(_plan(Caps(cpus=cpus)), "ffmpeg")
        return argv[argv.index("-threads:v") + 1]

    one, many = threads(1), threads(8)
    assert one != many
    assert int(one) == graph.encoder_threads("libx264", 720, 1, {}) and \
        int(many) == graph.encoder_threads("libx264", 720, 8, {})
