"""The "dual" strategy (input opened twice) gives the same pixels as the reference, and
"auto" switches to it when K decoded frames would exceed --max-buffer."""
from __future__ import annotations

import shlex
import subprocess
from fractions import Fraction
from pathlib import Path

import pytest
from test_exact import expected

import ffmotion
from ffmotion import cli, graph
from ffmotion.core.errors import UsageError
from ffmotion.core.request import DEFAULT_MAX_BUFFER, MotionRequest, parse_size
from ffmotion.core.units import FramesOrTime
from ffmotion.media.info import MediaInfo

from helpers import FRAMES, assert_frames_equal, decode, request


def extract_dual(ffmpeg: str, clip, tmp_path: Path, **kwargs) -> list:
    out = tmp_path / "dual.mkv"
    ffmotion.extract(clip.path, out, lossless=True, ffmpeg=ffmpeg, strategy="dual", **kwargs)
    return decode(ffmpeg, out, clip.pix_fmt, clip.size)


# -- pixels --------------------------------------------------------------------------------

@pytest.mark.parametrize("k", [1, 12, FRAMES - 1])
def test_dual_offsets_match_reference(ffmpeg_bin, clips, tmp_path, k):
    clip = clips["yuv420p"]
    got = extract_dual(ffmpeg_bin, clip, tmp_path, offset=k)
    assert len(got) == FRAMES - k
    assert_frames_equal(got, expected(ffmpeg_bin, clip, k))


@pytest.mark.parametrize("k", [0, 7, FRAMES - 1])
def test_dual_freeze_matches_reference(ffmpeg_bin, clips, tmp_path, k):
    clip = clips["yuv420p"]
    got = extract_dual(ffmpeg_bin, clip, tmp_path, freeze=k)
    assert len(got) == FRAMES
    assert_frames_equal(got, expected(ffmpeg_bin, clip, k, "freeze"))


def test_dual_variable_frame_rate_pairs_frames_by_index(ffmpeg_bin, clips, tmp_path):
    clip = clips["vfr"]
    got = extract_dual(ffmpeg_bin, clip, tmp_path, offset=4)
    assert_frames_equal(got, expected(ffmpeg_bin, clip, 4))


def test_dual_vfr_freeze(ffmpeg_bin, clips, tmp_path):
    clip = clips["vfr"]
    got = extract_dual(ffmpeg_bin, clip, tmp_path, freeze=9)
    assert_frames_equal(got, expected(ffmpeg_bin, clip, 9, "freeze"))


@pytest.mark.parametrize("name", ["yuv420p10le", "rgb24"])
def test_dual_other_pixel_formats(ffmpeg_bin, clips, tmp_path, name):
    clip = clips[name]
    got = extract_dual(ffmpeg_bin, clip, tmp_path, offset=5)
    assert_frames_equal(got, expected(ffmpeg_bin, clip, 5))


def test_threads_option_keeps_pixels(ffmpeg_bin, clips, tmp_path):
    clip = clips["yuv420p"]
    got = extract_dual(ffmpeg_bin, clip, tmp_path, offset=3, threads=1)
    assert_frames_equal(got, expected(ffmpeg_bin, clip, 3))


def test_dual_keeps_audio_trimmed_to_video(gen_ffmpeg, av_clip, tmp_path):
    out = tmp_path / "out.mp4"
    result = ffmotion.extract(av_clip, out, offset=6, strategy="dual", ffmpeg=gen_ffmpeg)
    assert result.frames == FRAMES - 6
    done = subprocess.run([gen_ffmpeg, "-hide_banner", "-nostdin", "-i", str(out), "-map", "0",
                           "-c", "copy", "-f", "framecrc", "-"],
                          capture_output=True, text=True, check=True)
    assert "Audio: aac" in done.stderr
    packets = [line.split(",")[0] for line in done.stdout.splitlines() if not line.startswith("#")]
    assert packets.count("0") == FRAMES - 6 and packets.count("1") > 0


# -- the printed command is what runs -------------------------------------------------------

def test_print_command_runs_the_same_dual_job(ffmpeg_bin, clips, tmp_path, capsys):
    clip = clips["vfr"]
    by_hand = tmp_path / "by_hand.mkv"
    assert cli.main([str(clip.path), str(by_hand), "-k", "4", "--lossless", "--strategy",
                     "dual", "--ffmpeg", ffmpeg_bin, "--print-command"]) == 0
    printed = capsys.readouterr().out.strip()
    argv = shlex.split(printed)
    assert argv.count("-i") == 2 and argv.count(str(clip.path)) == 2
    subprocess.run(argv, check=True, capture_output=True)
    ours = tmp_path / "ours.mkv"
    assert cli.main([str(clip.path), str(ours), "-k", "4", "--lossless", "--strategy", "dual",
                     "--ffmpeg", ffmpeg_bin, "-q"]) == 0
    assert ours.read_bytes() == by_hand.read_bytes()
    assert_frames_equal(decode(ffmpeg_bin, by_hand, clip.pix_fmt, clip.size),
                        expected(ffmpeg_bin, clip, 4))


def test_auto_switches_to_dual_past_max_buffer(clips, tmp_path, capsys):
    clip = clips["yuv420p"]
    # 64x48 yuv420p: 64*48 + 2 * 32*24 = 4608 bytes a frame; K = 10 holds 46080 bytes
    common = [str(clip.path), str(tmp_path / "o.mkv"), "-k", "10", "--print-command"]
    assert cli.main([*common, "--max-buffer", "46080"]) == 0
    assert shlex.split(capsys.readouterr().out).count("-i") == 1
    assert cli.main([*common, "--max-buffer", "46079"]) == 0
    assert shlex.split(capsys.readouterr().out).count("-i") == 2
    assert cli.main([*common, "--max-buffer", "0", "--strategy", "split"]) == 0
    assert shlex.split(capsys.readouterr().out).count("-i") == 1


# -- planning, without ffmpeg ---------------------------------------------------------------

def info(width: int = 1920, height: int = 1080, pix_fmt: str = "yuv420p") -> MediaInfo:
    return MediaInfo(path=Path("/in.mp4"), width=width, height=height, fps=Fraction(30),
                     frames=3600, pix_fmt=pix_fmt, video_codec="h264")


def options(k: int, **kwargs) -> MotionRequest:
    return request(src=Path("/in.mp4"), dst=Path("/out.mp4"), offset=FramesOrTime.offset(k),
                   **kwargs)


@pytest.mark.parametrize("k, pix_fmt, want", [
    (12, "yuv420p", "split"),       # 12 x 3,110,400 B = 36 MiB
    (86, "yuv420p", "split"),       # 255.2 MiB
    (87, "yuv420p", "dual"),        # 258.1 MiB
    (150, "yuv420p", "dual"),
    (40, "yuv420p10le", "split"),   # 2 bytes a sample: 237 MiB
    (44, "yuv420p10le", "dual"),    # 261 MiB
])
def test_auto_strategy_at_1080p(k, pix_fmt, want):
    assert DEFAULT_MAX_BUFFER == 256 * 1024 * 1024
    assert graph.plan(options(k), info(pix_fmt=pix_fmt)).strategy == want


def test_forced_strategies_ignore_the_buffer():
    assert graph.plan(options(600, strategy="split"), info()).strategy == "split"
    assert graph.plan(options(1, strategy="dual"), info()).strategy == "dual"
    assert graph.plan(options(1, max_buffer=0), info()).strategy == "dual"


def test_dual_argv_opens_the_input_twice_and_split_once():
    plan = graph.plan(options(12, strategy="dual", threads=3), info())
    argv = graph.command(plan, "ffmpeg")
    assert argv.count("-i") == 2
    first, second = [i for i, a in enumerate(argv) if a == "-i"]
    assert argv[first + 1] == argv[second + 1] == "/in.mp4"
    assert argv[first - 2:first] == ["-threads", "3"] and "-an" in argv[first:second]
    assert argv[second - 2:second] == ["-threads", "3"]
    assert argv.count("-threads") == 2  # decoders only: the encoder keeps its own (x264 bytes)
    graph_text = argv[argv.index("-filter_complex") + 1]
    assert "split" not in graph_text and "[1:v:0]" in graph_text
    assert "trim=start_frame=12" in graph_text
    assert argv[argv.index("-filter_complex_threads") + 1] == "3"
    split = graph.command(graph.plan(options(12, strategy="split"), info()), "ffmpeg")
    assert split.count("-i") == 1 and "split=2" in split[split.index("-filter_complex") + 1]
    assert "-threads" not in split and "-filter_complex_threads" not in split


@pytest.mark.parametrize("text, want", [
    ("256M", 256 * 2**20), ("1G", 2**30), ("1.5g", 3 * 2**29), ("512MiB", 512 * 2**20),
    ("100k", 102400), ("123", 123), ("0", 0), (4096, 4096),
])
def test_parse_size(text, want):
    assert parse_size(text) == want


@pytest.mark.parametrize("argv_tail", [
    ["--strategy", "triple"], ["--max-buffer", "lots"], ["--max-buffer", "-1M"],
    ["--threads", "0"], ["--threads", "two"],
])
def test_bad_performance_options_are_usage_errors(clips, tmp_path, capsys, argv_tail):
    code = cli.main([str(clips["yuv420p"].path), str(tmp_path / "o.mkv"), *argv_tail])
    err = capsys.readouterr().err
    assert code == 2 and err.startswith("ffmotion: error:") and "Traceback" not in err
    assert not (tmp_path / "o.mkv").exists()


def test_options_reject_bad_values():
    with pytest.raises(UsageError):
        options(3, strategy="both")
    with pytest.raises(UsageError):
        options(3, threads=-1)
    with pytest.raises(UsageError):
        options(3, max_buffer=-5)
