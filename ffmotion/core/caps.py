"""What the ffmpeg in use and this machine can do: a value the pure planner takes.

Read once per run by :func:`ffmotion.run.runner.caps` (the encoder list is remembered per
binary between runs; the filter and pixel-format lists are read only for a request that
needs them), and handed to :func:`ffmotion.graph.plan`, so that every choice that depends on
the toolchain (the deinterlacer, the stabilizer, whether an encoder or a pixel format
exists, x264's thread count) is made by pure code, and testable without ffmpeg.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Optional


@dataclass(frozen=True)
class Caps:
    """The toolchain's capabilities. ``None`` for a list means: not read (the request did
    not need it), and a planner that would need it assumes the usual build."""

    ffmpeg: str = "ffmpeg"
    version: str = ""
    encoders: Optional[frozenset[str]] = None
    filters: Optional[frozenset[str]] = None
    pix_fmts: Optional[frozenset[str]] = None
    cpus: int = 1  # the CPUs the run may use (x264 picks its thread count from them)

    def has_filter(self, name: str, assumed: bool = True) -> bool:
        """Whether this ffmpeg has the filter ``name`` (``assumed`` when the list is unread)."""
        return assumed if self.filters is None else name in self.filters
