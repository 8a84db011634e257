from __future__ import annotations

import dataclasses
from fractions import Fraction
from pathlib import Path

import pytest

from ffmotion.core.errors import UsageError
from ffmotion.core.request import EncodeOptions
from ffmotion.core.units import FramesOrTime

from helpers import request


@pytest.mark.parametrize("text,frames,seconds", [
    ("12", 12, None), ("12f", 12, None), ("0.5s", None, Fraction(1, 2)),
    ("500ms", None, Fraction(1, 2)), ("2sec", None, Fraction(2)), (" 3 ", 3, None),
])
def test_parse(text, frames, seconds):
    parsed = FramesOrTime.offset(text)
    assert parsed.frames == frames and parsed.seconds == seconds


@pytest.mark.parametrize("bad", ["abc", "-3", "1.5", "", "12x", "s", "nan", "1e3"])
def test_parse_rejects(bad):
    with pytest.raises(UsageError):
        FramesOrTime.offset(bad)


def test_to_frames_rounds_half_up():
    assert FramesOrTime.offset("0.5s").to_frames(Fraction(25)) == 13  # 12.5
    assert FramesOrTime.offset("1s").to_frames(Fraction(30000, 1001)) == 30
    assert FramesOrTime.offset("7").to_frames(Fraction(60)) == 7


def test_zero_offset_rejected_but_freeze_zero_allowed():
    with pytest.raises(UsageError):
        request(src=Path("a"), dst=Path("b"), offset="0")
    assert request(src=Path("a"), dst=Path("b"), offset="0", mode="freeze").motion.offset.frames == 0


def test_options_are_frozen_and_absolute():
    options = request(src=Path("a.mp4"), dst=Path("b.mp4"), offset=3)
    assert options.input.path.is_absolute()
    with pytest.raises(dataclasses.FrozenInstanceError):
        options.motion.offset = FramesOrTime.offset("4")  # type: ignore[misc]


def test_encode_conflicts():
    with pytest.raises(UsageError):
        EncodeOptions(codec="libx264", lossless=True)
    with pytest.raises(UsageError):
        EncodeOptions(crf=-1)
    with pytest.raises(UsageError):
        EncodeOptions(codec="x;rm -rf")
