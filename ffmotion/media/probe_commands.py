"""The ffmpeg commands that probe a file, apart from the parsing of what they print, so
that :mod:`ffmotion.run.ahead` can start the probe before the rest of ffmotion is imported."""
from __future__ import annotations

from pathlib import Path

from ffmotion.core.names import literal_input_argv
from ffmotion.core.source import Source
from ffmotion.media import mp4index


def header_argv(ffmpeg: str, path: Path) -> list[str]:
    """``ffmpeg -i PATH`` with no output: the streams on stderr, no packet read."""
    return [ffmpeg, "-hide_banner", "-nostdin", *literal_input_argv(path), "-i", str(path)]


def packets_argv(ffmpeg: str, source: Source) -> list[str]:
    """Every video packet of ``source`` copied (not decoded) and listed by framecrc on stdout;
    the header on stderr. ``-copyts``: the times as stored."""
    return [ffmpeg, "-hide_banner", "-nostdin", "-copyts", *source.input_argv(),
            "-map", "0:v?", "-c", "copy", "-f", "framecrc", "-"]


def first_argv(ffmpeg: str, path: Path) -> list[str]:
    """The command a probe of the regular file ``path`` most likely starts with: the header
    of an MP4/QuickTime file (its packets come from the index), the packet listing of any
    other (:func:`ffmotion.media.probe.probe` decides for certain)."""
    if mp4index.is_mp4(path):
        return header_argv(ffmpeg, path)
    return packets_argv(ffmpeg, Source.file(path))
