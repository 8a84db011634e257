"""v4l2:/dev/videoN outputs: the sink, and the one line when the device or module is missing."""
from __future__ import annotations

import pytest

from ffmotion.core.errors import UsageError
from ffmotion.core.sinks import sink_for
from ffmotion.media.live import check_v4l2_output


def test_v4l2_output_is_a_raw_device_sink():
    sink = sink_for("v4l2:/dev/video10")
    assert sink is not None and sink.kind == "url" and sink.name == "/dev/video10"
    assert sink.format == "v4l2" and sink.placeholder is not None
    assert sink.placeholder.suffix == ".v4l2"
    with pytest.raises(UsageError, match="device"):
        sink_for("v4l2:video10")
    with pytest.raises(UsageError):
        sink_for("v4l2:/dev/video10", "mpegts")


def test_missing_device_says_whether_the_module_is_loaded(tmp_path):
    device = f"v4l2:{tmp_path / 'video10'}"
    with pytest.raises(UsageError, match="module is not loaded: sudo modprobe v4l2loopback"):
        check_v4l2_output(device, "linux", str(tmp_path / "no-module"))
    with pytest.raises(UsageError, match="loaded but made no such device"):
        check_v4l2_output(device, "linux", str(tmp_path))
    (tmp_path / "video10").write_text("")
    with pytest.raises(UsageError, match="not a video device"):
        check_v4l2_output(device, "linux", str(tmp_path))
    with pytest.raises(UsageError, match="Linux only"):
        check_v4l2_output(device, "darwin")
