"""Regions and the measurement's values (pure)."""
from __future__ import annotations

import pytest

from ffmotion.core.errors import UsageError
from ffmotion.core.measure import MeasureSpec, Scale, majority, parse_band
from ffmotion.core.regions import Region, check_inside, check_names, union


def test_parse_and_text_round_trip():
    region = Region.parse(" patient = 0, 10 ,640,720 ")
    assert region == Region("patient", 0, 10, 640, 720)
    assert Region.parse(region.text()) == region
    assert region.area == 640 * 720 and region.right == 640 and region.bottom == 730


@pytest.mark.parametrize("text", ["patient", "p=1,2,3", "p=1,2,3,x", "1p=0,0,1,1",
                                  "p=0,0,0,5", "p=-1,0,4,4", "p=0,0,1.5,4"])
def test_bad_regions(text):
    with pytest.raises(UsageError):
        Region.parse(text)


def test_names_and_inside():
    with pytest.raises(UsageError, match="given twice"):
        check_names([Region("a", 0, 0, 1, 1), Region("a", 1, 1, 1, 1)])
    with pytest.raises(UsageError, match="give a region"):
        check_names([])
    check_inside([Region("a", 0, 0, 64, 48)], (64, 48))
    with pytest.raises(UsageError, match="outside the 48x64 picture"):
        check_inside([Region("a", 0, 0, 64, 48)], (48, 64), rotation=90)


def test_union_grows_by_the_margin_within_the_picture():
    assert union([Region("a", 1, 1, 5, 5), Region("b", 20, 30, 4, 4)], 2, (22, 40)) == (
        0, 0, 22, 36)


def test_spec_checks_its_values():
    with pytest.raises(UsageError):
        MeasureSpec(threshold=255)
    with pytest.raises(UsageError):
        MeasureSpec(median=4)
    assert majority(5) == 13 and majority(3) == 5


def test_scale_and_band():
    scale = Scale.parse("100mm:412px")
    assert scale.mm_per_px == pytest.approx(100 / 412)
    assert Scale.parse("2 cm : 50 px").mm_per_px == pytest.approx(0.4)
    for bad in ("100:412", "100mm:0px", "mm:4px", "100mm/412px"):
        with pytest.raises(UsageError):
            Scale.parse(bad)
    assert parse_band("5-60") == (5.0, 60.0)
    for bad in ("60-5", "5", "a-b"):
        with pytest.raises(UsageError):
            parse_band(bad)
