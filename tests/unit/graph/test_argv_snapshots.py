"""The pure planner's commands over the option matrix, locked as plain-text snapshots.

Each case plans a request on a MediaInfo made by hand (no file, no ffmpeg) with fixed
capabilities, and compares the argv, one word a line, with ``tests/snapshots/<case>.txt``.
The slow tests hold the pixels of these commands to the numpy reference; these hold the
commands themselves, so a change to any filter, option or order shows here first, in
milliseconds. After a deliberate change, rewrite them with
``FFMOTION_UPDATE_SNAPSHOTS=1 python -m pytest tests/unit/graph/test_argv_snapshots.py`` and read the diff.
"""
from __future__ import annotations

import os
from fractions import Fraction
from pathlib import Path

import pytest

from ffmotion import graph
from ffmotion.core import looks
from ffmotion.core.caps import Caps
from ffmotion.core.request import EncodeOptions, StabilizeOptions
from ffmotion.core.units import FramesOrTime
from ffmotion.media.info import MediaInfo
from ffmotion.media.streams import StreamInfo

from helpers import request

SNAPSHOTS = Path(__file__).parent / "snapshots"
UPDATE = os.environ.get("FFMOTION_UPDATE_SNAPSHOTS") == "1"
CAPS = Caps(ffmpeg="ffmpeg", cpus=4)
STREAMS = (StreamInfo(0, "video", "h264", 1280, 720), StreamInfo(1, "audio", "aac"))


def _info(**changes) -> MediaInfo:
    base = dict(path=Path("/in/clip.mp4"), width=1280, height=720, fps=Fraction(30),
                frames=300, pix_fmt="yuv420p", video_codec="h264", audio_codec="aac",
                streams=STREAMS)
    base.update(changes)
    return MediaInfo(**base)


INFOS = {
    "h264": _info(),
    "10bit": _info(pix_fmt="yuv420p10le", video_codec="hevc", audio_codec=None,
                   streams=(StreamInfo(0, "video", "hevc", 1280, 720),)),
    "rotated": _info(rotation=90),
    "fullrange": _info(pix_fmt="yuvj420p", color_range="pc"),
    "interlaced": _info(field_order="tt"),
    "rgb": _info(pix_fmt="gbrp", video_codec="ffv1", audio_codec=None,
                 streams=(StreamInfo(0, "video", "ffv1", 1280, 720),)),
}

# case name -> (info, output, offset, request fields)
CASES = {
    "offset": ("h264", "o.mp4", 12, {}),
    "offset-time": ("h264", "o.mp4", "0.5s", {}),
    "freeze": ("h264", "o.mp4", 0, {"mode": "freeze"}),
    "lossless": ("h264", "o.mkv", 3, {"encode": EncodeOptions(lossless=True)}),
    "webm": ("h264", "o.webm", 3, {"encode": EncodeOptions(crf=30, preset="slow")}),
    "gif": ("h264", "o.gif", 3, {}),
    "webp": ("h264", "o.webp", 3, {}),
    "apng": ("h264", "o.apng", 3, {"encode": EncodeOptions(width=80)}),
    "png-sequence": ("h264", "f%04d.png", 3, {}),
    "avi": ("h264", "o.avi", 3, {}),
    "mpg": ("h264", "o.mpg", 3, {}),
    "y4m": ("h264", "o.y4m", 3, {}),
    "hevc-mov": ("h264", "o.mov", 3, {"encode": EncodeOptions(codec="libx265")}),
    "shaped": ("h264", "o.mp4", 3, {"encode": EncodeOptions(scale=Fraction(1, 2),
                                                            fps=Fraction(15))}),
    "audio-reencoded": ("h264", "o.mp4", 3, {"encode": EncodeOptions(
        audio_codec="aac", audio_bitrate="96k", encoder_opts=(("tune", "film"),))}),
    "no-audio": ("h264", "o.mp4", 3, {"audio": False}),
    "range": ("h264", "o.mp4", 3, {"start": FramesOrTime.time("1.5"),
                                   "end": FramesOrTime.time("5")}),
    "dual": ("h264", "o.mp4", 200, {"strategy": "dual"}),
    "threads": ("h264", "o.mp4", 3, {"strategy": "dual", "threads": 2}),
    "10bit-lossless": ("10bit", "o.mkv", 3, {"encode": EncodeOptions(lossless=True)}),
    "10bit-hevc": ("10bit", "o.mp4", 3, {"encode": EncodeOptions(codec="libx265",
                                                                 pix_fmt="yuv420p10le")}),
    "rotated": ("rotated", "o.mp4", 3, {}),
    "full-range-lossless": ("fullrange", "o.mkv", 3, {"encode": EncodeOptions(lossless=True)}),
    "deinterlaced": ("interlaced", "o.mp4", 3, {"deinterlace": True}),
    "rgb-lossless": ("rgb", "o.mkv", 3, {"encode": EncodeOptions(lossless=True)}),
    "stream-out": ("h264", "-", 3, {}),
    **{f"look-{name}": ("h264", "o.mp4", 4, {"look": preset.look})
       for name, preset in looks.PRESETS.items() if name != "classic"},
    "look-rgb-freeze": ("h264", "o.mp4", 2, {"mode": "freeze", "look": looks.PRESETS["color"].look}),
}


def _argv(case: str) -> list[str]:
    info_name, dst, offset, fields = CASES[case]
    fields = dict(fields)
    threads = fields.pop("threads", None)
    made = request(INFOS[info_name].path, f"/out/{dst}" if dst != "-" else "/out/stream.mkv",
                   offset, threads=threads, **fields)
    if dst == "-":
        from ffmotion.core.sinks import sink_for

        sink = sink_for("-")
        assert sink is not None and sink.placeholder is not None
        made = made.with_output(sink=sink, path=sink.placeholder)
    plan = graph.plan(made, INFOS[info_name], CAPS)
    return graph.command(plan, "ffmpeg")


@pytest.mark.parametrize("case", sorted(CASES))
def test_planned_command_matches_its_snapshot(case):
    text = "\n".join(_argv(case)) + "\n"
    path = SNAPSHOTS / f"{case}.txt"
    if UPDATE or not path.exists():
        if not UPDATE:
            pytest.fail(f"no snapshot {path.name}: run with FFMOTION_UPDATE_SNAPSHOTS=1")
        path.write_text(text)
    assert text == path.read_text(), f"{case}: the planned command changed (see {path})"


def test_every_snapshot_has_its_case():
    assert sorted(p.stem for p in SNAPSHOTS.glob("*.txt")) == sorted(CASES)


def test_stabilized_plan_refuses_a_stream_input():
    """A stream is read once: the plan refuses two-pass stabilization before anything runs."""
    from ffmotion.core.errors import UsageError
    from ffmotion.core.source import Source

    info = _info(frames=0, source=Source("stream", "pipe:0"))
    with pytest.raises(UsageError, match="two passes"):
        graph.plan(request("/in/stdin", "/out/o.mkv", 3, stabilize=StabilizeOptions(),
                           source=Source("stream", "pipe:0")), info, CAPS)
