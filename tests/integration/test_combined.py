"""Features from different rooms used together: the dual strategy with looks, a time range and
stabilization gives the same pixels as split (which the other tests hold to the reference)."""
from __future__ import annotations

import pytest

import ffmotion

from helpers import decode

COMBOS = {
    "blur+gain": dict(look=ffmotion.Look(blur=2, gain=3)),
    "difference+trail": dict(look=ffmotion.Look(blend="difference", trail=0.8)),
    "overlay": dict(look=ffmotion.Look(overlay=0.5)),
    "rgb offsets": dict(look="color"),
    "range": dict(start="5f", duration="20f"),
    "freeze+range+gray": dict(freeze=3, start="4f", look=ffmotion.Look(gray=True)),
}


@pytest.mark.parametrize("name", list(COMBOS))
def test_dual_equals_split(gen_ffmpeg, clips, tmp_path, name):
    kwargs = dict(COMBOS[name])
    if "freeze" not in kwargs:
        kwargs["offset"] = 4
    clip = clips["yuv420p"]
    outs = {}
    for strategy in ("split", "dual"):
        out = tmp_path / f"{strategy}.mkv"
        result = ffmotion.extract(clip.path, out, lossless=True, strategy=strategy,
                                  ffmpeg=gen_ffmpeg, **kwargs)
        assert (result.argv.count("-i") == 2) == (strategy == "dual")
        outs[strategy] = out
    size = (64, 48)
    split = decode(gen_ffmpeg, outs["split"], "gbrp" if name == "rgb offsets" else "yuv420p", size)
    dual = decode(gen_ffmpeg, outs["dual"], "gbrp" if name == "rgb offsets" else "yuv420p", size)
    assert len(split) == len(dual) > 0
    for a, b in zip(split, dual):
        for pa, pb in zip(a, b):
            assert (pa == pb).all()


def test_dual_with_stabilization_equals_split(gen_ffmpeg, clips, tmp_path, monkeypatch):
    monkeypatch.setenv("FFMOTION_CACHE", str(tmp_path / "cache"))
    clip = clips["yuv420p"]
    outs = []
    for strategy in ("split", "dual"):
        out = tmp_path / f"{strategy}.mkv"
        ffmotion.extract(clip.path, out, offset=3, lossless=True, strategy=strategy,
                         stabilize=True, ffmpeg=gen_ffmpeg)
        outs.append(out.read_bytes())
    assert outs[0] == outs[1]
