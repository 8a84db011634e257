"""The held output's commands (graph.handover): which steered runs hold their output and
camera across restarts, and what the three ffmpegs are told. Pure: no ffmpeg runs."""
from __future__ import annotations

from dataclasses import replace
from fractions import Fraction
from pathlib import Path

import pytest

from ffmotion import graph
from ffmotion.core.caps import Caps
from ffmotion.core.request import EncodeOptions
from ffmotion.core.sinks import sink_for
from ffmotion.core.source import Source
from ffmotion.graph import handover
from ffmotion.media.info import MediaInfo
from ffmotion.media.streams import StreamInfo

from helpers import request

CAPS = Caps(ffmpeg="ffmpeg", cpus=4)
CAMERA = Source("live", "testsrc2=size=1280x720:rate=30", (("f", "lavfi"), ("re", None)))
STEER = "ipc:///run/ffmotion/zmq-1-ab.sock"


def _info(**changes) -> MediaInfo:
    base = dict(path=Path("/dev/null/lavfi"), width=1280, height=720, fps=Fraction(30),
                frames=0, pix_fmt="yuv420p", video_codec="wrapped_avframe", source=CAMERA,
                streams=(StreamInfo(0, "video", "wrapped_avframe", 1280, 720),))
    base.update(changes)
    return MediaInfo(**base)


def _plan(out: str = "srt://127.0.0.1:9000?mode=listener", info: MediaInfo | None = None,
          steer: str | None = STEER, **fields) -> graph.Plan:
    info = info or _info()
    sink = sink_for(out)
    made = request(info.path, out if sink is None or sink.kind == "hls" else "/out/s.mkv", 2,
                   source=info.source, **fields)
    if sink is not None and sink.kind == "hls":
        made = made.with_output(sink=sink)
    elif sink is not None:
        assert sink.placeholder is not None
        made = made.with_output(sink=sink, path=sink.placeholder)
    return replace(graph.plan(made, info, CAPS), steer=steer)


def test_held_only_where_a_restart_can_keep_the_output():
    assert handover.why_not_held(_plan()) is None
    assert handover.why_not_held(_plan("/out/o.mkv")) is None  # a file: one header, held
    assert handover.why_not_held(_plan("-")) is None  # any stdout muxer
    assert "not steered" in (handover.why_not_held(_plan(steer=None)) or "")
    assert "image" in (handover.why_not_held(_plan("/out/o.gif")) or "")
    assert "HLS" in (handover.why_not_held(_plan("/out/live.m3u8")) or "")
    sound = _info(audio_codec="aac", streams=(StreamInfo(0, "video", "h264", 1280, 720),
                                              StreamInfo(1, "audio", "aac")))
    assert "sound" in (handover.why_not_held(_plan(info=sound)) or "")
    rgb = handover.why_not_held(_plan("/out/o.mkv", info=_info(pix_fmt="gbrp"),
                                      encode=EncodeOptions(lossless=True)))
    assert rgb is not None and "YUV4MPEG" in rgb


def test_the_three_commands_split_the_one_ffmpeg_run():
    plan = _plan()
    one = graph.command(plan, "ffmpeg")
    capture = handover.capture_command(plan, "ffmpeg")
    source = handover.source_command(plan, "ffmpeg", piped=True)
    sink = handover.sink_command(plan, "ffmpeg")
    # the capture opens the camera as the one run does, and only passes its frames on
    assert capture[capture.index("-i") - 3:capture.index("-i") + 2] == [
        "-f", "lavfi", "-re", "-i", "testsrc2=size=1280x720:rate=30"]
    assert "-filter_complex" not in capture and capture[-1] == "pipe:1"
    # the graph reads them from stdin, runs the same filters, writes raw frames
    assert source[source.index("-i") - 2:source.index("-i") + 2] == [
        "-f", "yuv4mpegpipe", "-i", "pipe:0"]
    assert "-re" not in source
    graph_of = lambda argv: argv[argv.index("-filter_complex") + 1]  # noqa: E731
    assert graph_of(source) == graph_of(one)
    assert "zmq=bind_address=ipc" in graph_of(source)
    assert source[source.index("-f", source.index("-map")) + 1] == "yuv4mpegpipe"
    # the sink encodes and sends as the one run does
    after_map = one[one.index("-map") + 2:]
    assert sink[sink.index("pipe:0") + 1:] == after_map
    assert sink[sink.index("-i") - 2:sink.index("-i") + 2] == ["-f", "yuv4mpegpipe", "-i",
                                                               "pipe:0"]


def test_the_camera_is_held_only_where_its_frames_cross_unchanged():
    assert handover.capture_pix_fmt(_plan()) == "yuv420p"
    # a packed camera format: converted where the graph's first step converts it anyway
    assert handover.capture_pix_fmt(_plan(info=_info(pix_fmt="yuyv422"))) == "yuv422p"
    assert handover.capture_pix_fmt(_plan(info=_info(pix_fmt="yuvj422p", color_range="pc"))) \
        is None  # full range: read by the graph itself
    assert handover.capture_pix_fmt(_plan(info=_info(rotation=90))) is None
    piped = handover.piped_plan(_plan())
    assert piped.info.input.name == "pipe:0" and piped.info.video_stream == 0
    with pytest.raises(ValueError):
        handover.capture_command(_plan(info=_info(rotation=90)), "ffmpeg")


def test_the_output_gets_the_cameras_colour_description_the_pipe_loses():
    from ffmotion.core.looks import resolve
    from ffmotion.media.picture import colorimetry_of

    assert colorimetry_of("yuv420p(tv, bt709)") == ("bt709", "bt709", "bt709")
    assert colorimetry_of("yuv420p(tv, bt470bg/unknown/smpte170m, progressive)") == (
        "bt470bg", "", "smpte170m")
    assert colorimetry_of("yuv420p(progressive)") == ("", "", "")
    tagged = _info(colorimetry=("bt470bg", "", "smpte170m"))
    sink = handover.sink_command(_plan(info=tagged), "ffmpeg")
    assert sink[sink.index("-colorspace") + 1] == "bt470bg"
    assert sink[sink.index("-color_trc") + 1] == "smpte170m"
    assert "-color_primaries" not in sink
    # a look worked in RGB: the one-ffmpeg run's output keeps the tags too (measured)
    rgb = handover.sink_command(_plan(info=tagged, look=resolve("color")), "ffmpeg")
    assert rgb[rgb.index("-colorspace") + 1] == "bt470bg"
    assert "-colorspace" not in handover.sink_command(_plan(), "ffmpeg")
