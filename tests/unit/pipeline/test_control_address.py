"""The control channel's address and settings, without a job."""
from __future__ import annotations

import pytest

from ffmotion.core.errors import UsageError
from ffmotion.pipeline import control


@pytest.mark.parametrize("text, want", [("127.0.0.1:5555", ("127.0.0.1", 5555)),
                                        ("localhost:80", ("127.0.0.1", 80)),
                                        (":0", ("127.0.0.1", 0)), ("127.0.0.2:9", ("127.0.0.2", 9))])
def test_loopback_addresses(text, want):
    assert control.parse_address(text) == want


@pytest.mark.parametrize("text", ["0.0.0.0:5555", "192.168.1.2:5555", "[::1]:5555",
                                  "example.com:5555", "127.0.0.1:99999", "127.0.0.1"])
def test_other_addresses_are_refused(text):
    with pytest.raises(UsageError):
        control.parse_address(text)


def test_settings_by_field_flag_or_query_name():
    preset, fields, offset = control.parse_changes(
        [("gain", "4"), ("mode", "difference"), ("glow-radius", "3"), ("look", "glow"),
         ("offset", "6")])
    assert preset == "glow" and offset == "6"
    assert fields == {"gain": "4", "blend": "difference", "glow_radius": "3"}
    with pytest.raises(UsageError, match="unknown setting"):
        control.parse_changes([("speed", "2")])
