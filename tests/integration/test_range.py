"""--start/--end/--duration: the frames processed, held to the reference on the same range."""
from __future__ import annotations

import subprocess
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest

import ffmotion
from ffmotion import cli
from ffmotion.core.errors import UsageError
from ffmotion.core.pixfmt import plane_layout
from ffmotion.core.units import FramesOrTime

import reference
from helpers import FRAMES, assert_frames_equal, decode, run_ffmpeg


def ranged_reference(ffmpeg: str, clip, first: int, count: int, k: int, mode: str) -> list:
    """The numpy reference applied to frames first .. first+count-1 of the whole decode."""
    layout = plane_layout(clip.pix_fmt, *clip.size)
    frames = list(reference.read_frames(ffmpeg, clip.path, layout))
    assert len(frames) == FRAMES
    return list(reference.motion_frames(iter(frames[first:first + count]), k, mode,
                                        layout.max_value))


@pytest.mark.parametrize("kwargs,first,count", [
    ({"offset": 4, "start": "0.2", "duration": "15f"}, 6, 15),      # 0.2 s = frame 6 at 30 fps
    ({"offset": 1, "start": "7f", "end": "1.0"}, 7, 23),            # frames 7..29
    ({"freeze": 2, "start": "0:00.4", "end": "500ms"}, 12, 3),  # 0.4 s .. 0.5 s
    ({"offset": 3, "end": "0.5s"}, 0, 15),                          # no seek, only -t
    ({"offset": 5, "start": "0.9", "end": "9s"}, 27, 9),            # end past the clip: clamped
])
def test_ranged_extraction_matches_reference_on_the_range(ffmpeg_bin, clips, tmp_path, kwargs,
                                                          first, count):
    clip = clips["yuv420p"]  # ffv1 in Matroska: 1 ms time base, so frame times are rounded
    out = tmp_path / "out.mkv"
    result = ffmotion.extract(clip.path, out, lossless=True, ffmpeg=ffmpeg_bin, **kwargs)
    got = decode(ffmpeg_bin, out, clip.pix_fmt, clip.size)
    mode = "freeze" if "freeze" in kwargs else "offset"
    k = kwargs.get("freeze", kwargs.get("offset"))
    want = ranged_reference(ffmpeg_bin, clip, first, count, k, mode)
    assert len(got) == result.frames == (count if mode == "freeze" else count - k)
    assert_frames_equal(got, want)


def test_range_on_h264_mp4_with_audio(ffmpeg_bin, av_clip, tmp_path):
    """An ordinary camera file: the ranged frames match, and audio ends with the video."""
    out = tmp_path / "out.mkv"
    result = ffmotion.extract(av_clip, out, offset=3, start="0.3", end="0.9", lossless=True,
                              ffmpeg=ffmpeg_bin)
    assert result.frames == 18 - 3
    clip = type("C", (), {"path": av_clip, "pix_fmt": "yuv420p", "size": (64, 48)})
    got = decode(ffmpeg_bin, out, "yuv420p", (64, 48))
    assert_frames_equal(got, ranged_reference(ffmpeg_bin, clip, 9, 18, 3, "offset"))
    audio = pcm(ffmpeg_bin, out)
    assert abs(len(audio) / 48000 - 15 / 30) < 0.05  # AAC: 1024-sample frames, priming


def pcm(ffmpeg: str, path: Path) -> np.ndarray:
    done = subprocess.run([ffmpeg, "-hide_banner", "-nostdin", "-v", "error", "-i", str(path),
                           "-map", "0:a:0", "-f", "s16le", "-ac", "1", "-ar", "48000", "-"],
                          capture_output=True, check=True)
    return np.frombuffer(done.stdout, dtype="<i2").astype(np.float64)


def test_audio_follows_the_range(ffmpeg_bin, gen_ffmpeg, tmp_path):
    """Silence for 0.5 s, then a tone: from --start 0.5 the audio starts with the tone, on the
    first video frame's sample (the seek's half-frame margin is trimmed off the audio)."""
    src = tmp_path / "late_tone.mkv"
    run_ffmpeg(gen_ffmpeg, "-f", "lavfi", "-i", "testsrc2=s=32x32:r=30:d=1.2",
               "-f", "lavfi", "-i", "aevalsrc='if(gte(t,0.5),0.5*sin(2*PI*440*t),0)':s=48000:d=1.2",
               "-c:v", "ffv1", "-c:a", "pcm_s16le", str(src))
    whole, ranged = tmp_path / "whole.mkv", tmp_path / "ranged.mkv"
    ffmotion.extract(src, whole, offset=2, lossless=True, ffmpeg=ffmpeg_bin)
    ffmotion.extract(src, ranged, offset=2, start="0.5", lossless=True, ffmpeg=ffmpeg_bin)
    loud_whole = np.flatnonzero(np.abs(pcm(gen_ffmpeg, whole)) > 100)
    audio = pcm(gen_ffmpeg, ranged)
    loud = np.flatnonzero(np.abs(audio) > 100)
    assert loud_whole[0] in range(24000, 24004)  # the tone starts at 0.5 s in the input
    # ... and at the very start of the ranged output: within 1 ms (48 samples; Matroska
    # stores timestamps in whole milliseconds, so sub-millisecond alignment is not kept)
    assert loud[0] <= 48
    assert len(audio) == (21 - 2) * 48000 // 30  # PCM stays PCM, ends with the last frame


def test_range_selects_frames_by_count_and_seeks_only_to_a_keyframe(clips, tmp_path,
                                                                    gen_ffmpeg):
    # near the start: no seek, the range's frames are counted from the first decoded frame
    argv = ffmotion.build_command(clips["yuv420p"].path, tmp_path / "o.mkv", 4, start="0.2",
                                  duration="15f", lossless=True, ffmpeg=gen_ffmpeg)
    assert "-ss" not in argv
    graph = argv[argv.index("-filter_complex") + 1]
    assert "trim=end_frame=21:start_frame=6" in graph  # frame 6 is 0.2 s at 30 fps
    # further in: a seek to half a frame before the last keyframe (FFV1 here: one every 12
    # frames) at or before the range, then frames counted from it; the input is read a
    # second past the range
    later = ffmotion.build_command(clips["yuv420p"].path, tmp_path / "o.mkv", 4, start="26f",
                                   duration="6f", lossless=True, ffmpeg=gen_ffmpeg)
    i = later.index("-i")
    seek = float(later[later.index("-ss") + 1])
    assert 23.4 / 30 <= seek <= 23.6 / 30
    assert later.index("-ss") < i and later.index("-t") < i
    assert "trim=end_frame=8:start_frame=2" in later[later.index("-filter_complex") + 1]
    whole = ffmotion.build_command(clips["yuv420p"].path, tmp_path / "o.mkv", 4,
                                   lossless=True, ffmpeg=gen_ffmpeg)
    assert "-ss" not in whole and whole.count("-t") == 0 and "trim=end_frame" not in whole[
        whole.index("-filter_complex") + 1]


@pytest.mark.parametrize("text,frames,seconds", [
    ("2.5", None, Fraction(5, 2)), ("2.5s", None, Fraction(5, 2)), ("500ms", None, Fraction(1, 2)),
    ("1:30", None, Fraction(90)), ("1:00:01.5", None, Fraction(7203, 2)), ("30f", 30, None),
    (" 12 frames ", 12, None), ("0", None, Fraction(0)),
])
def test_time_parse(text, frames, seconds):
    point = FramesOrTime.time(text)
    assert (point.frames, point.seconds) == (frames, seconds)


@pytest.mark.parametrize("bad", ["", "abc", "-1", "1.5f", "1:2:3:4", "5x"])
def test_time_parse_rejects(bad):
    with pytest.raises(UsageError):
        FramesOrTime.time(bad, "--start")


@pytest.mark.parametrize("args,message", [
    (["--start", "2"], "--start 2 is at or past the end"),
    (["--start", "0.5", "--end", "0.4"], "--end 0.4 must be after --start 0.5"),
    (["--start", "10f", "--end", "0.2"], "--end 0.2 is not after --start 10f"),
    (["--end", "1", "--duration", "1"], "not allowed with argument"),
    (["--duration", "0"], "--duration must be more than 0"),
    (["--start", "0.5", "-k", "21"], "needs more than the 21 frames of"),
    (["--start", "1:xx"], "is not a time like"),
])
def test_range_errors(clips, tmp_path, capsys, args, message):
    out = tmp_path / "o.mkv"
    code = cli.main([str(clips["yuv420p"].path), str(out), *args])
    err = capsys.readouterr().err
    assert code == 2, err
    assert message in err and err.count("\n") == 1
    assert not out.exists()
