"""The magnify design (pure): the band-pass, the level weights, and what is refused before
ffmpeg starts."""
from __future__ import annotations

import math

import magnify_reference as model
import numpy as np
import pytest

from ffmotion.core import magnify
from ffmotion.core.errors import UsageError
from ffmotion.core.magnify import MagnifySpec, design

SIZES = [(320, 240), (160, 120), (160, 120)]


def test_parse_band() -> None:
    assert magnify.parse_band("0.5-3") == (0.5, 3.0)
    assert magnify.parse_band(" 1 - 2Hz") == (1.0, 2.0)
    for bad in ("3-1", "0-2", "x-2", "2", "1-1"):
        with pytest.raises(UsageError, match="band"):
            magnify.parse_band(bad)


@pytest.mark.parametrize("kwargs, words", [
    ({"alpha": "0"}, "alpha must be more than 0"),
    ({"alpha": "-3"}, "alpha must be more than 0"),
    ({"alpha": "nan"}, "alpha"),
    ({"levels": "9"}, "levels must be a whole number from 1 to 5"),
    ({"lambda_cutoff": "0"}, "lambda_cutoff"),
    ({"chroma_attenuation": "-1"}, "chroma_attenuation"),
    ({"mode": "colour"}, "mode must be one of motion, color"),
])
def test_spec_refuses(kwargs: dict, words: str) -> None:
    given = {"alpha": "10", "band": "1-2", **kwargs}
    with pytest.raises(UsageError, match=words):
        MagnifySpec.parse(given.pop("alpha"), given.pop("band"), **given)


def test_design_refuses() -> None:
    spec = MagnifySpec.parse("10", "1-15")
    with pytest.raises(UsageError, match=r"below half the frame rate \(15 Hz at 30 fps\)"):
        design(spec, 30.0, SIZES)
    with pytest.raises(UsageError, match="more than 1023 frames"):
        design(MagnifySpec.parse("10", "0.05-1"), 30.0, SIZES)
    with pytest.raises(UsageError, match="needs a clip of at least 39 frames"):
        design(MagnifySpec.parse("10", "2-4"), 30.0, SIZES, frames=30)
    with pytest.raises(UsageError, match="levels 5: a picture of 40x30 allows at most 3"):
        design(MagnifySpec.parse("10", "2-4", levels=5), 30.0, [(40, 30)])


def test_fir_matches_the_model_and_its_promise() -> None:
    taps, delay = magnify.bandpass("fir", 2.0, 4.0, 30.0)
    expected, expected_delay = model.fir(2.0, 4.0, 30.0)
    assert delay == expected_delay == 19
    assert np.allclose(taps, expected, rtol=0, atol=1e-8)
    assert abs(sum(taps)) < 1e-7  # no DC: a still picture is not changed
    assert abs(magnify.response(taps, delay, 3.0, 30.0) - 1) < 1e-6  # in phase, gain 1
    for f in (12.0, 2 / 3):  # 3x above the top, a third of the bottom
        assert abs(magnify.response(taps, delay, f, 30.0)) < 0.01


def test_iir_is_causal_and_far_from_one() -> None:
    """EVM's IIR on a 2-4 Hz band: gain 0.33 at 3 Hz, 11 degrees late (so 1 + alpha H is
    not 1 + alpha), and it leaks below the band: the reasons the FIR is the default."""
    taps, delay = magnify.bandpass("iir", 2.0, 4.0, 30.0)
    assert delay == 0 and len(taps) <= magnify.MAX_TAPS
    h = magnify.response(taps, delay, 3.0, 30.0)
    assert abs(abs(h) - 0.33) < 0.01
    assert 10 < math.degrees(math.atan2(h.imag, h.real)) < 12


def test_level_weights() -> None:
    assert magnify.level_alphas(20, 3, None) == [20, 20, 20]
    alphas = magnify.level_alphas(20, 4, 16)  # lambda 4, 8, 16, 32 px
    assert alphas == [4.25, 9.5, 20, 20]
    betas = magnify.level_betas(20, alphas)
    assert abs(sum(betas) - 1) < 1e-8 and min(betas) >= 0
    assert betas == pytest.approx(model.betas(20, 4, 16, False))
    chosen = design(MagnifySpec.parse("20", "1-2", mode="color", levels=3), 30.0, SIZES)
    assert chosen.planes[0].betas == (0, 0, 0, 1)
    assert [p.alpha for p in chosen.planes] == [20, 20, 20]
    motion = design(MagnifySpec.parse("20", "1-2"), 30.0, SIZES)
    assert [p.alpha for p in motion.planes] == [20, 0, 0]


def test_tmix_weights() -> None:
    chosen = design(MagnifySpec.parse("10", "2-4"), 30.0, SIZES)
    weights = chosen.tmix_weights(10)
    assert len(weights) == 39 and abs(sum(weights) - 1) < 1e-6
