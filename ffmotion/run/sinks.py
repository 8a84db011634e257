"""Where the output goes when it is not one file: stdout, a streaming URL, an HLS folder.

* ``-``: stdout, in a streamable muxer (default Matroska; ``--format nut|mpegts|y4m|flv``).
  Human messages stay on stderr, so ``ffmotion IN - | ffplay -`` works.
* ``udp://``, ``srt://``, ``tcp://``, ``rtmp://``, ``rtsp://``... : sent as it is made
  (MPEG-TS by default, FLV for RTMP, RTSP for rtsp://). There is nothing to make atomic:
  no temporary name, no rename.
* ``DIR/NAME.m3u8``: an HLS playlist with its segments ``NAME00000.ts``... in ``DIR``
  (created if missing). ffmpeg writes every segment and the playlist to ``NAME.tmp`` and
  renames it when complete (``-hls_flags temp_file``), so a reader never sees half a
  segment; the playlist grows while the run goes (an EVENT playlist) and ends with
  ``#EXT-X-ENDLIST``. The safe-write rule for the folder (:func:`hls_output`): an existing
  playlist or segment of that name is refused without ``--overwrite`` (with it, they are
  removed first); a run that fails removes what it wrote, a run stopped by Ctrl-C keeps
  its (finalized, playable) playlist.

A name is a URL only with an explicit ``scheme://`` of :data:`OUTPUT_SCHEMES`; every other
name is a file, under :mod:`ffmotion.run.outputs`.
"""
from __future__ import annotations

import contextlib
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator, Literal, Optional

from ..errors import UsageError
from .outputs import check_name, check_name_length, shown

SinkKind = Literal["file", "stdout", "url", "hls"]
STDOUT_NAME = "pipe:1"
DEFAULT_STDOUT_FORMAT = "matroska"
# --format NAME -> (ffmpeg muxer, the extension whose encoder defaults apply)
FORMATS: dict[str, tuple[str, str]] = {
    "matroska": ("matroska", ".mkv"), "mkv": ("matroska", ".mkv"),
    "nut": ("nut", ".nut"),
    "mpegts": ("mpegts", ".ts"), "ts": ("mpegts", ".ts"),
    "flv": ("flv", ".flv"),
    "y4m": ("yuv4mpegpipe", ".y4m"), "yuv4mpegpipe": ("yuv4mpegpipe", ".y4m"),
    "rtsp": ("rtsp", ".ts"),
}
# output URL schemes and their default muxer
OUTPUT_SCHEMES: dict[str, str] = {
    "udp": "mpegts", "udplite": "mpegts", "srt": "mpegts", "tcp": "mpegts", "rist": "mpegts",
    "rtp": "rtp_mpegts", "http": "mpegts", "https": "mpegts", "unix": "mpegts",
    "rtmp": "flv", "rtmps": "flv", "rtmpt": "flv", "rtmpe": "flv", "rtmpts": "flv",
    "rtsp": "rtsp", "rtsps": "rtsp",
}
_SUFFIX = {"mpegts": ".ts", "rtp_mpegts": ".ts", "flv": ".flv", "rtsp": ".ts"}
_URL = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*)://")
HLS_SUFFIX = ".m3u8"
HLS_SEGMENT_SECONDS = 2


@dataclass(frozen=True)
class Sink:
    """An output as ffmpeg is told to write it: ``name`` after the options, muxer ``format``
    (None: by the file's extension); ``placeholder`` stands for it where the encoder
    defaults are chosen by extension (and is never written)."""

    kind: SinkKind
    name: str
    format: Optional[str] = None
    placeholder: Optional[Path] = None

    @property
    def shown(self) -> str:
        return "stdout" if self.kind == "stdout" else self.name

    @property
    def streams_out(self) -> bool:
        """Written as it is made (no temporary file): stdout and URLs."""
        return self.kind in ("stdout", "url")


def output_scheme(name: str) -> Optional[str]:
    found = _URL.match(name)
    if found is None or found.group(1).lower() not in OUTPUT_SCHEMES:
        return None
    return found.group(1).lower()


def sink_for(name: str, format: Optional[str] = None) -> Optional[Sink]:
    """The :class:`Sink` for an output name, or None for an ordinary file (or image set).

    ``format`` is ``--format`` (stdout and URLs only).
    """
    scheme = output_scheme(name)
    if name != "-" and scheme is None:
        if format is not None:
            raise UsageError("--format is for '-' (stdout) and URL outputs: a file's format "
                             "follows its extension")
        if name.lower().endswith(HLS_SUFFIX):
            return Sink("hls", name, "hls")
        return None
    if format is not None:
        chosen = format.lower()
        if chosen in ("mp4", "mov", "m4v"):
            raise UsageError(f"--format {format}: MP4/MOV need a seekable file to finish "
                             "(use matroska, nut or mpegts for a stream)")
        if chosen not in FORMATS:
            raise UsageError(f"--format {format} is not one ffmotion streams: use one of "
                             f"{', '.join(sorted(FORMATS))}")
        muxer, suffix = FORMATS[chosen]
    elif scheme is not None:
        muxer = OUTPUT_SCHEMES[scheme]
        suffix = _SUFFIX[muxer]
    else:
        muxer, suffix = FORMATS[DEFAULT_STDOUT_FORMAT]
    placeholder = Path(os.devnull) / f"stream{suffix}"  # under a file: can never be written
    if name == "-":
        return Sink("stdout", STDOUT_NAME, muxer, placeholder)
    return Sink("url", name, muxer, placeholder)


# -- HLS: the folder under the safe-write rule -----------------------------------------------

def hls_segment_pattern(playlist: Path) -> Path:
    """Segment names beside ``playlist``: ``NAME00000.ts``, ``NAME00001.ts``..."""
    return playlist.with_name(f"{playlist.stem}%05d.ts")


def _segments(playlist: Path) -> list[Path]:
    pattern = re.compile(re.escape(playlist.stem) + r"\d{5,}\.ts(\.tmp)?$")
    try:
        names = os.listdir(playlist.parent)
    except OSError:
        return []
    return sorted(playlist.parent / n for n in names if pattern.match(n))


def hls_files(playlist: Path) -> list[Path]:
    """The playlist and segments of that name that exist now (with ffmpeg's ``.tmp`` ones)."""
    found = [p for p in (playlist, playlist.with_name(playlist.name + ".tmp")) if os.path.lexists(p)]
    return found + _segments(playlist)


def check_hls(playlist: Path, overwrite: bool) -> None:
    """Fail early if the HLS output cannot be written (see the module docstring)."""
    check_name(playlist, "output")
    check_name_length(playlist, "output")
    if "%" in playlist.name:
        raise UsageError(f"HLS playlist name {shown(playlist.name)} must not contain '%'")
    folder = playlist.parent
    if not folder.is_dir():
        if os.path.lexists(folder):
            raise UsageError(f"HLS output folder {shown(folder)} exists and is not a folder")
        if not folder.parent.is_dir():
            raise UsageError(f"output folder does not exist: {shown(folder.parent)} (ffmotion "
                             "creates the playlist's folder, not its parents)")
        return
    if not os.access(folder, os.W_OK):
        raise UsageError(f"output folder is not writable: {shown(folder)}")
    if playlist.is_dir() or (os.path.lexists(playlist) and not playlist.is_file()):
        raise UsageError(f"output {shown(playlist)} exists and is not a regular file")
    found = hls_files(playlist)
    if found and not overwrite:
        more = f" and {len(found) - 1} more" if len(found) > 1 else ""
        raise UsageError(f"output exists: {shown(found[0])}{more} (use --overwrite to replace "
                         "the playlist and its segments)")


@contextlib.contextmanager
def hls_output(playlist: Path, overwrite: bool) -> Iterator[Path]:
    """Prepare the folder of an HLS playlist and yield the playlist path.

    The folder is created if missing; with ``overwrite`` an older playlist and its segments
    are removed first. If the block fails, what it wrote is removed (and the folder, if this
    created it and it is left empty); when it returns, only ffmpeg's leftover ``.tmp`` files
    are removed.
    """
    check_hls(playlist, overwrite)
    created = False
    if not playlist.parent.is_dir():
        try:
            playlist.parent.mkdir()
        except OSError as exc:
            raise UsageError(f"cannot create the folder {shown(playlist.parent)}: "
                             f"{exc.strerror or exc}") from None
        created = True
    for old in hls_files(playlist):
        old.unlink(missing_ok=True)
    try:
        yield playlist
    except BaseException:
        for made in hls_files(playlist):
            made.unlink(missing_ok=True)
        if created:
            with contextlib.suppress(OSError):
                playlist.parent.rmdir()
        raise
    for left in hls_files(playlist):
        if left.name.endswith(".tmp"):
            left.unlink(missing_ok=True)


__all__ = ["DEFAULT_STDOUT_FORMAT", "FORMATS", "OUTPUT_SCHEMES", "Sink", "check_hls",
           "hls_files", "hls_output", "hls_segment_pattern", "output_scheme", "sink_for"]
