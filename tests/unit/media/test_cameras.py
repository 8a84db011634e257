"""media/live.cameras: the video devices of a folder, in number order."""
from __future__ import annotations

from pathlib import Path

from ffmotion.media.live import cameras


def test_video_devices_in_number_order(tmp_path: Path) -> None:
    for name in ("video10", "video2", "video0", "audio0", "vbi0"):
        (tmp_path / name).touch()
    assert cameras(str(tmp_path)) == [str(tmp_path / n) for n in ("video0", "video2", "video10")]


def test_none_where_the_folder_is_missing(tmp_path: Path) -> None:
    assert cameras(str(tmp_path / "absent")) == []
    assert cameras(str(tmp_path)) == []
