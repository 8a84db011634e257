"""Probing with ffprobe and with ffmpeg alone must agree with how the clips were made."""
from __future__ import annotations

from fractions import Fraction

import pytest

from ffmotion.core.errors import MediaError
from ffmotion.media import probe
from ffmotion.run import runner

from helpers import FRAMES, make_clip


def tools_without_ffprobe(ffmpeg: str) -> runner.Tools:
    return runner.Tools(ffmpeg=ffmpeg, source="test", version="?", ffprobe=None)


def expected_fields(clip_name: str):
    return {
        "yuv420p": ((64, 48), "yuv420p"), "yuv420p10le": ((64, 48), "yuv420p10le"),
        "gray": ((64, 48), "gray"), "rgb24": ((64, 48), "bgr0"), "gbrp": ((64, 48), "gbrp"),
        "odd_size": ((67, 41), "yuv420p"),
    }[clip_name]


@pytest.mark.parametrize("name", ["yuv420p", "yuv420p10le", "gray", "rgb24", "gbrp", "odd_size"])
def test_ffmpeg_only_probe(gen_ffmpeg, clips, name):
    got = probe.probe(clips[name].path, tools_without_ffprobe(gen_ffmpeg))
    size, pix_fmt = expected_fields(name)
    assert (got.width, got.height) == size
    assert got.pix_fmt == pix_fmt
    assert got.frames == FRAMES and got.fps == 30
    assert got.audio_codec is None


def test_ffmpeg_only_probe_with_audio_and_ntsc_rate(gen_ffmpeg, tmp_path, av_clip):
    got = probe.probe(av_clip, tools_without_ffprobe(gen_ffmpeg))
    assert got.audio_codec == "aac" and got.video_codec == "h264" and got.frames == FRAMES
    ntsc = make_clip(gen_ffmpeg, tmp_path / "ntsc.mkv", fps=30, frames=20)
    # re-stamp at 30000/1001 without changing frames
    from helpers import run_ffmpeg

    out = tmp_path / "ntsc2.mp4"
    run_ffmpeg(gen_ffmpeg, "-r", "30000/1001", "-i", str(ntsc), "-c:v", "libx264", "-preset",
               "ultrafast", str(out))
    got = probe.probe(out, tools_without_ffprobe(gen_ffmpeg))
    assert got.fps == Fraction(30000, 1001) and got.frames == 20


@pytest.mark.parametrize("name", ["yuv420p", "yuv420p10le", "rgb24", "odd_size", "vfr"])
def test_every_build_probes_alike(ffmpeg_bin, gen_ffmpeg, clips, name):
    """The header of ffmpeg 5.1 and 9.0 differ in wording; the facts read from them do not."""
    a = probe.probe(clips[name].path, tools_without_ffprobe(ffmpeg_bin))
    b = probe.probe(clips[name].path, tools_without_ffprobe(gen_ffmpeg))
    assert a == b and a.index.times == b.index.times


def test_not_media(tmp_path, gen_ffmpeg):
    junk = tmp_path / "junk.mp4"
    junk.write_bytes(b"\x00\x01garbage" * 100)
    with pytest.raises(MediaError, match="not a media file"):
        probe.probe(junk, tools_without_ffprobe(gen_ffmpeg))


def test_a_broken_ffprobe_does_not_matter(gen_ffmpeg, clips, tmp_path):
    broken = tmp_path / "ffprobe"
    broken.write_text("#!/bin/sh\necho 'not json'\nexit 0\n")
    broken.chmod(0o755)
    tools = runner.Tools(gen_ffmpeg, "test", "?", str(broken))
    got = probe.probe(clips["yuv420p"].path, tools)
    assert got.frames == FRAMES and got.fps == 30 and got.pix_fmt == "yuv420p"
