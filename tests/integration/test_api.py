"""The Python API: extract, build_command, motion_stream."""
from __future__ import annotations

import subprocess

import pytest

import ffmotion

import reference
from helpers import FRAMES, assert_frames_equal, decode


def test_build_command_is_the_argv_extract_runs(gen_ffmpeg, clips, tmp_path):
    out = tmp_path / "o.mkv"
    argv = ffmotion.build_command(clips["yuv420p"].path, out, offset=3, lossless=True,
                                  ffmpeg=gen_ffmpeg)
    assert argv[0] == gen_ffmpeg and argv[-1] == str(out) and "-filter_complex" in argv
    assert not out.exists()
    subprocess.run(argv, check=True, capture_output=True)
    by_hand = out.read_bytes()
    out.unlink()
    result = ffmotion.extract(clips["yuv420p"].path, out, offset=3, lossless=True,
                              ffmpeg=gen_ffmpeg)
    assert result.frames == FRAMES - 3 and result.k == 3 and result.argv == argv
    assert out.read_bytes() == by_hand


def test_motion_stream_can_be_extended(gen_ffmpeg, clips, tmp_path):
    clip = clips["gray"]
    stream = ffmotion.motion_stream(clip.path, offset=2, ffmpeg=gen_ffmpeg)
    out = tmp_path / "o.mkv"
    (stream.filter("negate")
           .output(str(out), vcodec="ffv1", fps_mode="passthrough")
           .global_args("-nostdin", "-loglevel", "error")
           .run(cmd=gen_ffmpeg))
    got = decode(gen_ffmpeg, out, "gray", clip.size)
    want = [tuple(255 - plane for plane in frame)
            for frame in reference.reference(gen_ffmpeg, clip.path, 2, "offset", "gray",
                                             *clip.size)]
    assert_frames_equal(got, want)


def test_api_errors_raise_ffmotion_errors(clips, tmp_path, gen_ffmpeg):
    with pytest.raises(ffmotion.UsageError, match="at most"):
        ffmotion.extract(clips["gray"].path, tmp_path / "o.mp4", offset=FRAMES, ffmpeg=gen_ffmpeg)
    with pytest.raises(ffmotion.UsageError, match="not both"):
        ffmotion.build_command(clips["gray"].path, tmp_path / "o.mp4", offset=2, freeze=1)
    assert list(tmp_path.iterdir()) == []
