"""What the input is: decoded frames (not packets), the real video stream, the audio and
subtitle tracks kept or dropped, and outputs refused when they could hold unblended frames."""
from __future__ import annotations

import subprocess
import sys
from fractions import Fraction
from pathlib import Path

import pytest

from ffmotion.media import probe
from ffmotion.media.frames import DISCARD, FrameIndex, FrameTimes, Packet, index_frames
from ffmotion.run import runner

import corpus as corpus_module
from helpers import run_ffmpeg


def cli(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "ffmotion", *args], capture_output=True,
                          text=True, cwd=cwd, timeout=120)


def streams_of(ffmpeg: str, path: Path) -> list[str]:
    done = subprocess.run([ffmpeg, "-hide_banner", "-nostdin", "-i", str(path)],
                          capture_output=True, text=True)
    return [line.split(": ", 2)[1].split(":")[0] for line in done.stderr.splitlines()
            if line.strip().startswith("Stream #")]


def test_edit_list_cut_counts_decoded_frames_not_packets(corpus, gen_ffmpeg):
    path = corpus["mp4_edit_list"].path
    listed = subprocess.run([gen_ffmpeg, "-nostdin", "-i", str(path), "-map", "0:v", "-c",
                             "copy", "-f", "framecrc", "-"], capture_output=True, text=True)
    packets = sum(1 for line in listed.stdout.splitlines() if line and line[0] != "#")
    decoded = len(corpus_module.measure(gen_ffmpeg, path, audio=None).frame_times)
    info = probe.probe(path, runner.tools(gen_ffmpeg))
    assert info.frames == decoded == 75 < packets


def test_frames_from_packets_sorted_by_time_without_discarded():
    packets = [Packet(-2, 0x1 | DISCARD), Packet(-1, DISCARD), Packet(0, 0x1), Packet(3, 0),
               Packet(1, 0), Packet(2, 0), Packet(6, 0x1), Packet(4, 0), Packet(5, 0)]
    index = index_frames(packets, __import__("fractions").Fraction(1, 10))
    assert index.count == 7
    assert [int(t * 10) for t in index.times] == [0, 1, 2, 3, 4, 5, 6]
    assert index.keyframes == (0, 6)
    assert index.is_constant_rate(10) and not FrameIndex(
        tuple(index.times[:3]) + (index.times[4],), (0,), index.time_base).is_constant_rate(10)


def test_frame_times_read_as_fractions_and_compare_by_value():
    times = FrameTimes((0, 33, 67, 100), Fraction(1, 1000), origin=Fraction(1, 2))
    assert len(times) == 4
    assert times[1] == Fraction(533, 1000) and times[-1] == Fraction(3, 5)
    assert times[1:3] == (Fraction(533, 1000), Fraction(567, 1000))
    assert list(times) == [Fraction(1, 2), Fraction(533, 1000), Fraction(567, 1000), Fraction(3, 5)]
    # the same times in another unit, or as a tuple, are equal
    assert times == FrameTimes((0, 297, 603, 900), Fraction(1, 9000), origin=Fraction(1, 2))
    assert times == (Fraction(1, 2), Fraction(533, 1000), Fraction(567, 1000), Fraction(3, 5))
    assert times != FrameTimes((0, 33, 66, 100), Fraction(1, 1000), origin=Fraction(1, 2))
    assert hash(times) == hash(tuple(times))


@pytest.mark.parametrize("ticks,constant", [
    ((0, 33, 67, 100, 133), True),  # Matroska's 1 ms rounding of 30 fps: 33, 34, 33 ms
    ((0, 33, 67, 133, 167), False),  # a frame missing
    ((0, 33, 50, 83), False),  # a step of 17 ms
])
def test_constant_rate_from_ticks(ticks, constant):
    index = FrameIndex(FrameTimes(ticks, Fraction(1, 1000)), (0,), Fraction(1, 1000))
    assert index.is_constant_rate(Fraction(30)) is constant
    as_tuple = FrameIndex(tuple(FrameTimes(ticks, Fraction(1, 1000))), (0,), Fraction(1, 1000))
    assert as_tuple.is_constant_rate(Fraction(30)) is constant


@pytest.mark.parametrize("name,position", [("mkv_cover_first", 1), ("nut_thumbnail_first", 1),
                                           ("mp4_cover_art", 0)])
def test_cover_pictures_are_never_the_video(corpus, gen_ffmpeg, name, position):
    info = probe.probe(corpus[name].path, runner.tools(gen_ffmpeg))
    assert info.video_stream == position and info.frames == 120
    assert (info.width, info.height) == corpus_module.SIZE


def test_video_stream_flag_picks_and_checks(corpus, gen_ffmpeg, tmp_path):
    src = corpus["mkv_cover_first"].path
    done = cli(str(src), str(tmp_path / "o.mkv"), "-k", "3", "--video-stream", "0",
               "--ffmpeg", gen_ffmpeg, cwd=tmp_path)
    assert done.returncode == 2 and "needs more than the 1 frames" in done.stderr
    done = cli(str(src), str(tmp_path / "o.mkv"), "-k", "3", "--video-stream", "5",
               "--ffmpeg", gen_ffmpeg, cwd=tmp_path)
    assert done.returncode == 2 and "has 2 video stream(s)" in done.stderr
    assert done.stderr.count("\n") == 1 and not (tmp_path / "o.mkv").exists()


def test_audio_tracks_and_subtitles(corpus, gen_ffmpeg, tmp_path):
    src = corpus["mkv_multitrack"].path
    cases = {
        "default.mkv": ([], ["Video", "Audio", "Subtitle"], "audio track 0 of 2"),
        "all.mkv": (["--audio-stream", "all"], ["Video", "Audio", "Audio", "Subtitle"],
                    "all 2 audio tracks"),
        "none.mkv": (["--audio-stream", "none"], ["Video", "Subtitle"], "audio dropped"),
        "text.mp4": ([], ["Video", "Audio", "Subtitle"], "1 subtitle track kept"),
        "avi.avi": ([], ["Video", "Audio"], "subtitle track(s) dropped (the output cannot"),
        "range.mkv": (["--start", "10f"], ["Video", "Audio"], "range would shift their times"),
    }
    for name, (flags, kinds, said) in cases.items():
        out = tmp_path / name
        done = cli(str(src), str(out), "-k", "3", "--ffmpeg", gen_ffmpeg, *flags, cwd=tmp_path)
        assert done.returncode == 0, done.stderr
        assert said in done.stderr, (name, done.stderr)
        assert streams_of(gen_ffmpeg, out) == kinds, name
    second = tmp_path / "second.mkv"
    assert cli(str(src), str(second), "-k", "3", "--audio-stream", "1", "--ffmpeg", gen_ffmpeg,
               cwd=tmp_path).returncode == 0
    # track 1 is the 300 Hz commentary: no beeps in it
    assert not corpus_module.measure(gen_ffmpeg, second).beeps
    bad = cli(str(src), str(tmp_path / "x.mkv"), "--audio-stream", "7", "--ffmpeg", gen_ffmpeg,
              cwd=tmp_path)
    assert bad.returncode == 2 and "--audio-stream 7" in bad.stderr


def test_output_that_could_hold_unblended_frames_is_refused(gen_ffmpeg, tmp_path):
    """A damaged file lists 60 frames but decodes 54 (its first frames are zeroed). At K=55 the
    shifted branch gets no frame and blend would pass the input's own frames through: refused,
    nothing written. At K=10 every frame written is blended: kept, with a warning."""
    whole = tmp_path / "whole.mp4"
    run_ffmpeg(gen_ffmpeg, "-f", "lavfi", "-i",
               "testsrc2=s=64x48:r=30:d=2,format=yuv444p,noise=alls=30:allf=t+u,format=yuv420p",
               "-c:v", "mpeg4", "-g", "300", "-movflags", "+faststart", str(whole))
    data = bytearray(whole.read_bytes())
    start = data.find(b"mdat") + 4
    length = (len(data) - start) // 6
    data[start:start + length] = bytes(length)
    damaged = tmp_path / "damaged.mp4"
    damaged.write_bytes(bytes(data))
    out = tmp_path / "out.mkv"
    done = cli(str(damaged), str(out), "-k", "55", "--ffmpeg", gen_ffmpeg, cwd=tmp_path)
    assert done.returncode == 1, done.stderr
    assert "may include frames not blended" in done.stderr and "Traceback" not in done.stderr
    assert not out.exists() and sorted(p.name for p in tmp_path.iterdir()) == [
        "damaged.mp4", "whole.mp4"]
    kept = cli(str(damaged), str(out), "-k", "10", "--ffmpeg", gen_ffmpeg, cwd=tmp_path)
    assert kept.returncode == 0 and "damaged or ends early" in kept.stderr and out.exists()


def test_time_range_on_variable_rate_input_uses_frame_times(corpus, gen_ffmpeg):
    from ffmotion import api, graph

    src = corpus["mkv_vfr"].path
    info = probe.probe(src, runner.tools(gen_ffmpeg))
    assert not info.constant_rate
    plan = graph.plan(api.make_request(src, src.with_suffix(".x.mkv"), 2, start="1.5",
                                       end="2.5"), info)
    times = [float(t - info.index.times[0]) for t in info.index.times]
    first, count = plan.span.first, plan.span.count
    assert abs(times[first] - 1.5) <= min(abs(t - 1.5) for t in times) + 1e-9
    assert abs(times[first + count] - 2.5) <= 0.034  # the first frame not taken


def test_freeze_with_rgb_offsets_never_runs_the_stalling_dual_graph(clips, tmp_path):
    from ffmotion import api, graph
    from ffmotion.core import errors

    src = clips["yuv420p"].path
    options = api.make_request(src, tmp_path / "o.mkv", freeze=2, look="color")
    info = probe.probe(src, runner.tools())
    assert graph.plan(options, info).strategy == "split"
    with pytest.raises(errors.UsageError, match="stalls"):
        graph.plan(api.make_request(src, tmp_path / "o.mkv", freeze=2, look="color",
                                    strategy="dual"), info)
