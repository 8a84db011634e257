"""rois.toml: read, written, and refused as FILE:LINE: problem."""
from __future__ import annotations

import pytest

from ffmotion.core.errors import UsageError
from ffmotion.core.regions import Region
from ffmotion.pipeline import rois


def test_round_trip(tmp_path):
    regions = [Region("patient", 0, 0, 640, 720), Region("bg", 600, 650, 80, 60)]
    path = tmp_path / "rois.toml"
    rois.save(path, regions, "bg", overwrite=False)
    assert rois.load(path) == (regions, "bg")


@pytest.mark.parametrize("text,message", [
    ("[regions.a]\nx = 0\ny = 0\nw = 4\n", "h is missing"),
    ("[regions.a]\nx = 0\ny = 0\nw = 4\nh = 4\nz = 1\n", ":6: region 'a': unknown key"),
    ("[regions.a]\nx = 0\ny = 0\nw = 4\nh = 0\n", "zero size"),
    ("[regions.a]\nx = 0\ny = 0\nw = 4\nh = 4\n[other]\n", "unknown key"),
    ('background = "b"\n[regions.a]\nx = 0\ny = 0\nw = 4\nh = 4\n', "none of the regions"),
    ("[regions.a\n", "rois.toml:1:"),
    ("", "no regions"),
])
def test_refused(tmp_path, text, message):
    path = tmp_path / "rois.toml"
    path.write_text(text)
    with pytest.raises(UsageError, match=message.replace("(", r"\(")) as caught:
        rois.load(path)
    assert "\n" not in str(caught.value)


def test_binary_and_missing(tmp_path):
    (tmp_path / "bin.toml").write_bytes(b"\xff\xfe\x00")
    with pytest.raises(UsageError, match="not UTF-8"):
        rois.load(tmp_path / "bin.toml")
    with pytest.raises(UsageError, match="not found"):
        rois.load(tmp_path / "none.toml")
