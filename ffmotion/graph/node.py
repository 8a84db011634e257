"""The type of an ffmpeg-python stream or node, named: ffmpeg-python ships no type hints, so a
stream is ``Any`` to the type checker; the name says what the value is."""
from __future__ import annotations

from typing import Any

Stream = Any  # an ffmpeg-python stream, node or output node
