"""Recording names: fresh in their folder, never an existing file's."""
from __future__ import annotations

from ffmotion.pipeline.record import fresh_name


def test_a_taken_name_gets_a_number(tmp_path):
    first = fresh_name(tmp_path, "20260101-000000")
    assert first.name == "ffmotion-live-20260101-000000.mkv"
    first.write_bytes(b"x")
    assert fresh_name(tmp_path, "20260101-000000").name == "ffmotion-live-20260101-000000-2.mkv"
