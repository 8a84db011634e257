"""batch's ``{ext}``: which input extensions an output keeps (written out here, not taken
from ffmotion's table)."""
from __future__ import annotations

from pathlib import Path

import pytest

from ffmotion.jobs import batch

KEPT = [".mp4", ".m4v", ".mov", ".mkv", ".avi", ".webm", ".nut", ".ts", ".m2ts", ".mts", ".flv"]
TO_MP4 = [".mxf", ".ogv", ".mpg", ".mpeg", ".y4m", ".wmv", ".3gp"]


@pytest.mark.parametrize("ext", KEPT + [e.upper() for e in KEPT])
def test_h264_vp9_mpeg4_containers_keep_their_extension(ext):
    assert batch.output_name("{stem}{ext}", Path(f"clip{ext}"), "offset", "1", False) == \
        f"clip{ext.lower()}"


@pytest.mark.parametrize("ext", TO_MP4 + [".MXF", ".OGV"])
def test_mpeg2_mxf_theora_raw_and_unknown_become_mp4(ext):
    assert batch.output_name("{stem}{ext}", Path(f"clip{ext}"), "offset", "1", False) == \
        "clip.mp4"


@pytest.mark.parametrize("ext, want", [(".mp4", ".mkv"), (".mxf", ".mkv"), (".avi", ".avi"),
                                       (".nut", ".nut"), (".mkv", ".mkv"), (".mov", ".mkv")])
def test_lossless_takes_a_container_that_holds_ffv1(ext, want):
    assert batch.output_name("{stem}{ext}", Path(f"clip{ext}"), "offset", "1", True) == \
        f"clip{want}"
