"""Looks: the threshold's soft edge and matte on the original, and the glow's screen mode,
held to the numpy reference bit for bit (both ffmpeg builds, 8 and 10 bits)."""
from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
from test_looks import differs, expected, rgb_format, run_look

from ffmotion.core import looks
from ffmotion.core.errors import UsageError
from ffmotion.core.looks import Look
from ffmotion.pipeline import presets

from helpers import FRAMES, assert_frames_equal

NEW = {
    "soft-matte": Look(blend="difference", threshold=4, threshold_edge="soft", threshold_width=9),
    "soft-matte-average-gain": Look(gain=2, threshold=3, threshold_edge="soft", threshold_width=20),
    "hard-on-original": Look(blend="difference", gain=2, threshold=6, threshold_on="original"),
    "soft-on-original-grain": Look(blend="grainextract", threshold=2, threshold_edge="soft",
                                   threshold_width=7, threshold_on="original"),
    "soft-on-original-gray": Look(threshold=2, threshold_edge="soft", threshold_width=5,
                                  threshold_on="original", gray=True),
    "soft-matte-trail": Look(blend="difference", threshold=3, threshold_edge="soft",
                             threshold_width=6, trail=0.8),
    "glow-screen": Look(gain=2, glow=0.8, glow_radius=2, glow_mode="screen"),
    "glow-screen-difference-no-radius": Look(blend="difference", gain=3, glow=1.0, glow_radius=0,
                                             glow_mode="screen"),
    "glow-screen-soft-matte": Look(blend="difference", threshold=3, threshold_edge="soft",
                                   threshold_width=10, glow=0.6, glow_radius=1, glow_mode="screen"),
}


@pytest.mark.parametrize("depth", ["yuv420p", "yuv420p10le"])
@pytest.mark.parametrize("name", list(NEW))
def test_new_look_matches_reference(ffmpeg_bin, clips, tmp_path, name, depth):
    clip = clips[depth]
    look = NEW[name]
    want = expected(ffmpeg_bin, clip, look, clip.pix_fmt)
    assert differs(want, expected(ffmpeg_bin, clip, Look(), clip.pix_fmt))
    got = run_look(ffmpeg_bin, clip, tmp_path, look, clip.pix_fmt, offset=1)
    assert len(got) == FRAMES - 1
    assert_frames_equal(got, want)


@pytest.mark.parametrize("name", ["gbrp10le", "gray"])
def test_on_original_in_rgb_and_gray(ffmpeg_bin, clips, tmp_path, name):
    """lut2 on 10-bit RGB and on gray (where lut needs a detour): exact too."""
    clip = clips[name]
    look = Look(blend="difference", threshold=3, threshold_edge="soft", threshold_width=6,
                threshold_on="original")
    want = expected(ffmpeg_bin, clip, look, clip.pix_fmt)
    got = run_look(ffmpeg_bin, clip, tmp_path, look, clip.pix_fmt, offset=1)
    assert_frames_equal(got, want)


def test_rgb_offsets_on_original(gen_ffmpeg, clips, tmp_path):
    clip = clips["yuv420p"]
    look = Look.parse(rgb_offsets="1,2,3", blend="difference", threshold=5, threshold_on="original")
    working = rgb_format(clip.pix_fmt)
    want = expected(gen_ffmpeg, clip, look, working, channel_ks=(1, 2, 3))
    got = run_look(gen_ffmpeg, clip, tmp_path, look, working)
    assert_frames_equal(got, want)


def test_soft_edge_is_a_ramp_of_the_stated_width(gen_ffmpeg, clips):
    """The soft matte takes intermediate values; pixels changed by at most T are black and
    those changed by T + W or more are white (checked against the plain difference)."""
    clip = clips["yuv420p"]
    t, w = 4, 9
    soft = expected(gen_ffmpeg, clip, Look(blend="difference", threshold=t, threshold_edge="soft",
                                           threshold_width=w), clip.pix_fmt)
    plain = expected(gen_ffmpeg, clip, Look(blend="difference"), clip.pix_fmt)
    m = np.stack([f[0] for f in soft]).astype(int)
    d = np.stack([f[0] for f in plain]).astype(int)
    assert (m[d <= t] == 0).all() and (m[d >= t + w] == 255).all()
    between = (d > t) & (d < t + w)
    assert between.any() and ((m[between] > 0) & (m[between] < 255)).all()
    assert np.array_equal(m[between], np.floor((d[between] - t) * 255 / w + 0.5).astype(int))


def test_hard_on_original_is_motion_or_original(gen_ffmpeg, clips):
    clip = clips["yuv420p"]
    look = Look(blend="difference", threshold=6, threshold_on="original")
    got = expected(gen_ffmpeg, clip, look, clip.pix_fmt)
    plain = expected(gen_ffmpeg, clip, Look(blend="difference"), clip.pix_fmt)
    from ffmotion.core.pixfmt import plane_layout

    import reference

    originals = list(reference.read_frames(gen_ffmpeg, clip.path, plane_layout(clip.pix_fmt,
                                                                               *clip.size)))
    moved = 0
    for out, motion, orig in zip(got, plain, originals):
        here = motion[0].astype(int) > 6
        moved += here.sum()
        assert np.array_equal(out[0][here], motion[0][here])
        assert np.array_equal(out[0][~here], orig[0][~here])
        assert np.array_equal(out[1], orig[1]) and np.array_equal(out[2], orig[2])
    assert moved > 0


def test_screen_never_darker_than_original_and_below_add(gen_ffmpeg, clips):
    clip = clips["yuv420p"]
    add = expected(gen_ffmpeg, clip, Look(gain=2, glow=0.8, glow_radius=2), clip.pix_fmt)
    screen = expected(gen_ffmpeg, clip, Look(gain=2, glow=0.8, glow_radius=2, glow_mode="screen"),
                      clip.pix_fmt)
    a = np.stack([f[0] for f in add]).astype(int)
    s = np.stack([f[0] for f in screen]).astype(int)
    assert (s <= a).all() and (s < a).any()


@pytest.mark.parametrize("kwargs, match", [
    # the library names fields (the command line spells them as flags: --glow-mode)
    ({"threshold_edge": "soft"}, "need threshold"),
    ({"threshold_on": "original"}, "need threshold"),
    ({"threshold": 5, "threshold_edge": "fuzzy"}, "threshold_edge"),
    ({"threshold": 5, "threshold_width": 0}, "threshold_width"),
    ({"threshold": 5, "threshold_on": "original", "trail": 0.5}, "does not combine"),
    ({"threshold": 5, "threshold_on": "original", "glow": 0.5}, "does not combine"),
    ({"glow_mode": "screen"}, "glow_mode needs glow"),
    ({"glow": 0.5, "glow_mode": "multiply"}, "glow_mode"),
])
def test_bad_combinations_are_refused(kwargs, match):
    with pytest.raises(UsageError, match=match):
        Look(**kwargs)


def test_presets_list_and_round_trip(tmp_path, monkeypatch):
    for name in ("soft-matte", "keyed", "screen-glow"):
        assert name in looks.PRESETS
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    done = subprocess.run([sys.executable, "-m", "ffmotion", "looks", "--save", "mine", "--look",
                           "keyed", "--threshold-width", "20", "--threshold-edge", "soft"],
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    saved = presets.load_file(tmp_path / "ffmotion" / "looks.toml")["mine"].look
    assert saved == Look(blend="difference", gain=2, threshold=10, threshold_edge="soft",
                         threshold_width=20, threshold_on="original")
    listing = subprocess.run([sys.executable, "-m", "ffmotion", "looks"], capture_output=True,
                             text=True).stdout
    assert "screen-glow" in listing and "keyed" in listing and "mine" in listing
    assert saved.flags() == ["--mode", "difference", "--gain", "2", "--threshold", "10",
                             "--threshold-edge", "soft", "--threshold-width", "20",
                             "--threshold-on", "original"]
