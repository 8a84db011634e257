"""Looks: grainextract mode and the threshold matte, held to the numpy reference bit for bit.

Each test runs on both ffmpeg builds (``ffmpeg_bin``) on 8-bit and 10-bit inputs, and checks
that the look changes the picture, so an option that was silently ignored would fail.
"""
from __future__ import annotations

import sys

import numpy as np
import pytest
from test_looks import differs, expected, run_look

from ffmotion.core import looks
from ffmotion.core.looks import Look

from helpers import FRAMES, assert_frames_equal

NEW = {
    "grainextract": Look(blend="grainextract"),
    "grainextract-gain-trail": Look.parse(blend="grainextract", gain="1.5", trail=0.8),
    "threshold": Look(blend="difference", threshold=6),
    "threshold-average-gain": Look(gain=2, threshold=9),
    "glow": Look(glow=0.6, glow_radius=3),
    "glow-difference-gain-no-radius": Look(blend="difference", gain=3, glow=1.0, glow_radius=0),
    "glow-threshold-grain": Look(blend="grainextract", threshold=5, glow=0.5, glow_radius=2),
    "denoise-hqdn3d": Look(denoise="hqdn3d", gain=2),
    "denoise-atadenoise-difference": Look(blend="difference", denoise="atadenoise", blur=1),
    "threshold-grain-trail-overlay": Look(blend="grainextract", threshold=4, trail=0.7, overlay=0.25),
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


def test_grainextract_neutral_is_exact_half():
    assert looks.neutrals("yuv420p", "grainextract") == (128, 128, 128)
    assert looks.neutrals("yuv420p10le", "grainextract") == (512, 512, 512)
    assert looks.neutrals("gbrp", "grainextract") == (128, 128, 128)


def test_threshold_matte_is_binary(clips, gen_ffmpeg):
    clip = clips["yuv420p"]
    frames = expected(gen_ffmpeg, clip, Look(blend="difference", threshold=6), clip.pix_fmt)
    luma = np.stack([f[0] for f in frames])
    assert set(np.unique(luma)) <= {0, 255} and luma.max() == 255 and luma.min() == 0
    assert all(np.all(f[1] == 128) for f in frames)


@pytest.mark.parametrize("bad", [-1, 5000, True, 2.5])
def test_threshold_rejects_bad_values(bad):
    with pytest.raises(looks.UsageError):
        Look(threshold=bad)


def test_presets_list_new_looks():
    assert looks.PRESETS["grain"].look.blend == "grainextract"
    assert looks.PRESETS["matte"].look.threshold == 12


def test_threshold_auto_sits_above_the_noise_floor(gen_ffmpeg, tmp_path):
    import subprocess

    from ffmotion.pipeline import explore

    from helpers import run_ffmpeg

    src = tmp_path / "noisy.mkv"
    run_ffmpeg(gen_ffmpeg, "-f", "lavfi", "-i", "color=gray:s=64x48:r=10:d=2,noise=alls=12:allf=t",
               "-c:v", "ffv1", "-pix_fmt", "yuv420p", str(src))
    chosen, values = explore.noise_threshold(src, gen_ffmpeg)
    raw = subprocess.run([gen_ffmpeg, "-v", "error", "-i", str(src), "-f", "rawvideo", "-pix_fmt",
                          "gray", "-"], capture_output=True, check=True).stdout
    g = np.frombuffer(raw, np.uint8).reshape(-1, 48, 64).astype(int)
    d = np.abs(g[1:] - g[:-1])[:len(values)]
    # numpy's own 90th percentile of each pair's change, within a level of signalstats' bins
    want = [np.percentile(x, 90) for x in d]
    assert all(abs(v - w) <= 1 for v, w in zip(values, want))
    assert chosen == sorted(values)[len(values) // 2] + 1
    assert 1 < chosen < 60
    assert (d > chosen).mean() < 0.1  # the noise stays black in the matte
    done = subprocess.run([sys.executable, "-m", "ffmotion", str(src), str(tmp_path / "o.mkv"),
                           "-k", "1", "--mode", "difference", "--threshold", "auto"],
                          capture_output=True, text=True)
    assert done.returncode == 0 and f"--threshold auto: {chosen} " in done.stderr


@pytest.mark.parametrize("kwargs", [{"offset": 3, "strategy": "dual"}, {"freeze": 4}])
def test_denoise_same_in_every_strategy(ffmpeg_bin, clips, tmp_path, kwargs):
    """Both branches see the same denoised sequence (a temporal filter from the range start)."""
    clip = clips["yuv420p"]
    look = Look(denoise="hqdn3d", blend="difference")
    k, mode = (kwargs["offset"], "offset") if "offset" in kwargs else (kwargs["freeze"], "freeze")
    want = expected(ffmpeg_bin, clip, look, clip.pix_fmt, k=k, mode=mode)
    got = run_look(ffmpeg_bin, clip, tmp_path, look, clip.pix_fmt, **kwargs)
    assert_frames_equal(got, want)


def test_hqdn3d_refused_on_rgb():
    with pytest.raises(looks.UsageError, match="atadenoise"):
        looks.working_format("gbrp", Look(denoise="hqdn3d"))
    with pytest.raises(looks.UsageError, match="atadenoise"):
        looks.working_format("yuv420p", Look.parse(denoise="hqdn3d", rgb_offsets="1,2,3"))
    assert looks.working_format("gbrp", Look(denoise="hqdn3d", gray=True)) == "gray"
    assert looks.working_format("gbrp", Look(denoise="atadenoise")) == "gbrp"
