"""Which look changes a running graph takes (graph.steer), and the steerable graph's names."""
from __future__ import annotations

from fractions import Fraction

import ffmpeg
import pytest

from ffmotion.core.looks import Look, resolve
from ffmotion.graph import steer
from ffmotion.graph.motion import motion_video


def test_gain_and_blur_change_while_running():
    sent = steer.commands(Look(), Look(gain=Fraction(4), blur=2), "yuv420p")
    assert sent == [f"lut@ffm_gain c{i} clip(127+round((val-127)*4/1),0,255)" for i in range(3)] \
        + ["avgblur@ffm_blur sizeX 2", "avgblur@ffm_blur sizeY 2", "avgblur@ffm_blur planes 15"]
    assert steer.commands(Look(blur=3), Look(), "yuv420p") == [
        "avgblur@ffm_blur sizeX 1", "avgblur@ffm_blur sizeY 1", "avgblur@ffm_blur planes 0"]
    assert steer.commands(Look(), Look(), "yuv420p") == []


def test_difference_gain_keeps_its_chroma_neutral():
    old, new = Look(blend="difference"), Look(blend="difference", gain=Fraction(5, 2))
    assert steer.commands(old, new, "yuv420p") == [
        "lut@ffm_gain c0 clip(0+round((val-0)*5/2),0,255)",
        "lut@ffm_gain c1 clip(128+round((val-128)*5/2),0,255)",
        "lut@ffm_gain c2 clip(128+round((val-128)*5/2),0,255)"]


@pytest.mark.parametrize("old, new", [
    (Look(), Look(blend="difference")),            # mode
    (Look(), Look(trail=0.5)),                     # a strength from 0
    (Look(overlay=0.5), Look()),                   # ... or to 0
    (Look(), resolve("glow")),                     # a preset that adds filters
    (Look(), Look(gray=True)),
    (Look(), Look(denoise="hqdn3d")),
])
def test_shape_changes_need_a_restart(old, new):
    assert steer.commands(old, new, "yuv420p") is None


def test_strengths_above_zero_change_while_running():
    trails = steer.commands(Look(trail=0.9), Look(trail=0.5), "yuv420p")
    assert trails == ["lagfun@ffm_trail decay 0.5", "lagfun@ffm_trail2 decay 0.5"]
    assert steer.commands(Look(blend="difference", threshold=10, trail=0.9),
                          Look(blend="difference", threshold=10, trail=0.8), "gray") == [
        "lagfun@ffm_trail decay 0.8"]
    assert steer.commands(Look(overlay=0.5), Look(overlay=0.25), "yuv420p") == [
        "blend@ffm_overlay all_opacity 0.25"]
    matte = steer.commands(Look(threshold=10), Look(threshold=20, threshold_edge="soft"),
                           "yuv420p")
    assert matte is not None and matte[0].startswith("lut@ffm_threshold c0 clip(floor(")


def _graph(look: Look, steer_on: bool) -> str:
    video = ffmpeg.input("in.mkv").video
    out = motion_video(video, 2, Fraction(30), pix_fmt="yuv420p", look=look, steer=steer_on)
    return " ".join(ffmpeg.output(out, "o.mkv").get_args())


def test_the_steerable_graph_names_every_target_once():
    look = Look(gain=Fraction(2), trail=0.9, overlay=0.5)
    text = _graph(look, True)
    for name in ("lut@ffm_gain=", "avgblur@ffm_blur=", "lagfun@ffm_trail=", "lagfun@ffm_trail2=",
                 "blend@ffm_overlay="):
        assert text.count(name) == 1, name
    plain = _graph(look, False)
    assert "@" not in plain and "avgblur" not in plain
