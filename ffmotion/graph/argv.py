"""The words every ffmpeg command of ffmotion starts with, and the flags that make its files
byte-identical run after run."""
from __future__ import annotations

GLOBAL_ARGS = ["-hide_banner", "-nostdin"]


# Deterministic files: no random Matroska UIDs, no version strings; the same options give
# byte-identical output whether ffmotion or the printed command runs ffmpeg.
BITEXACT = {"fflags": "+bitexact", "flags:v": "+bitexact", "flags:a": "+bitexact"}
