"""The encoder defaults chosen on real footage (scripts/bench_encoders.py, README "Encoding the
motion picture") are in the command, the user's options still win, and what ffmotion writes is
what its printed command writes, byte for byte."""
from __future__ import annotations

import re
import shlex
import subprocess

import pytest

import ffmotion
from ffmotion import cli, graph
from ffmotion.options import EncodeOptions

from test_graph import arg_after, argv


@pytest.mark.parametrize("ext", [".mp4", ".m4v", ".mov", ".mkv", ".nut", ".ts", ".m2ts",
                                 ".flv"])
def test_x264_defaults_tune_psnr_preset_faster_crf_18(ext):
    args = argv(dst=f"/out/o{ext}")
    assert arg_after(args, "-c:v") == "libx264"
    assert arg_after(args, "-tune") == "psnr"
    assert arg_after(args, "-preset") == "faster" and arg_after(args, "-crf") == "18"


def test_libx264_asked_for_by_name_gets_the_same_tuning():
    args = argv(dst="/out/o.webm", encode=EncodeOptions(codec="libx264"))
    assert arg_after(args, "-tune") == "psnr" and arg_after(args, "-preset") == "faster"


def test_libx265_gets_tune_psnr_too():
    args = argv(dst="/out/o.mkv", encode=EncodeOptions(codec="libx265"))
    assert arg_after(args, "-tune") == "psnr" and arg_after(args, "-preset") == "medium"


def test_user_tune_and_preset_win():
    args = argv(encode=EncodeOptions(preset="slow", encoder_opts=(("tune", "film"),)))
    assert args.count("-tune") == 1 and arg_after(args, "-tune") == "film"
    assert arg_after(args, "-preset") == "slow"


@pytest.mark.parametrize("ext,codec", [(".avi", "mpeg4"), (".webm", "libvpx-vp9"),
                                       (".mpg", "mpeg2video")])
def test_other_encoders_get_no_x264_tune(ext, codec):
    args = argv(dst=f"/out/o{ext}")
    assert arg_after(args, "-c:v") == codec and "-tune" not in args


def test_the_demo_clip_is_unchanged(tmp_path):
    # the sample input is a stand-in for camera footage: no motion-picture tuning
    args = graph.demo_command("ffmpeg", tmp_path / "demo.mp4", overwrite=True)
    assert "-tune" not in args and arg_after(args, "-preset") == "faster"


def test_output_equals_the_printed_command_byte_for_byte(clips, gen_ffmpeg, tmp_path, capsys):
    clip = clips["yuv420p"]
    by_hand = tmp_path / "by_hand.mp4"
    assert cli.main([str(clip.path), str(by_hand), "-k", "3", "--ffmpeg", gen_ffmpeg,
                     "--print-command"]) == 0
    command = shlex.split(capsys.readouterr().out)
    assert arg_after(command, "-tune") == "psnr"
    subprocess.run(command, check=True, capture_output=True)
    ours = tmp_path / "ours.mp4"
    ffmotion.extract(clip.path, ours, offset=3, ffmpeg=gen_ffmpeg)
    assert ours.read_bytes() == by_hand.read_bytes()
    # and x264 was told: its settings string in the stream says AQ strength 0 and psy off
    data = ours.read_bytes()
    assert re.search(rb" aq=(0\b|\d:0\.00)", data) and b" psy=0 " in data
