"""Every built-in look on variable-frame-rate input, held to the reference, bounded in time.

Frames that keep their own times take another graph than index-timed ones (trimmed top
branches, padded shifted ones); per-channel offsets there once made ffmpeg spin for ever.
"""
from __future__ import annotations

import subprocess
import sys

import pytest

from ffmotion.core import looks

import reference
from helpers import assert_frames_equal, decode

LIMIT_S = 60  # a look that hangs fails here instead of holding the suite


@pytest.mark.parametrize("name", sorted(looks.PRESETS))
def test_every_preset_on_variable_frame_rate(name, clips, gen_ffmpeg, tmp_path):
    clip = clips["vfr"]
    look = looks.PRESETS[name].look
    out = tmp_path / "out.mkv"
    done = subprocess.run([sys.executable, "-m", "ffmotion", str(clip.path), str(out), "-k", "2",
                           "--look", name, "--lossless", "-q", "--ffmpeg", gen_ffmpeg],
                          capture_output=True, text=True, timeout=LIMIT_S)
    assert done.returncode == 0, done.stderr
    working = looks.working_format(clip.pix_fmt, look)
    if look.denoise:  # the reference takes the denoiser's output from ffmpeg: not this test
        return
    channel_ks = None
    if look.rgb_offsets is not None:
        channel_ks = tuple(c.to_frames(2, 30) for c in look.rgb_offsets)
    want = list(reference.look_reference(gen_ffmpeg, clip.path, 2, "offset", working,
                                         *clip.size, look, channel_ks))
    assert_frames_equal(decode(gen_ffmpeg, out, working, clip.size), want)
