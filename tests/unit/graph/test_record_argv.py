"""The live page's recording argv (pure): JPEG frames on stdin, timed by count at the camera's
rate, the motion half (the right one) kept, stored losslessly in Matroska."""
from __future__ import annotations

from fractions import Fraction
from pathlib import Path

from ffmotion.graph.record import recording_command


def test_recording_keeps_the_motion_half_losslessly():
    argv = recording_command("ffmpeg", Fraction(30000, 1001), Path("/x/.tmp.mkv"))
    assert argv[argv.index("-f") + 1] == "mjpeg"
    assert argv[argv.index("-framerate") + 1] == "30000/1001"
    assert argv[argv.index("-vf") + 1] == "crop=iw/2:ih:iw/2:0"
    assert argv[argv.index("-c:v") + 1] == "ffv1"
    assert argv[-3:] == ["-f", "matroska", "/x/.tmp.mkv"]
