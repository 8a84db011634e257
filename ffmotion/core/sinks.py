"""Where the output goes when it is not one file: stdout, a streaming URL, an HLS folder.

* ``-``: stdout, in a streamable muxer (default Matroska; ``--format nut|mpegts|y4m|flv``).
  Human messages stay on stderr, so ``ffmotion IN - | ffplay -`` works.
* ``udp://``, ``srt://``, ``tcp://``, ``rtmp://``, ``rtsp://``... : sent as it is made
  (MPEG-TS by default, FLV for RTMP, RTSP for rtsp://). There is nothing to make atomic:
  no temporary name, no rename.
* ``v4l2:/dev/videoN``: a video device written by ffmpeg's v4l2 output, raw YUV 4:2:0 (a
  v4l2loopback virtual camera that video calls and OBS see). Sent as it is made, like a URL;
  whether the device exists is checked where the run starts (``media.live``).
* ``DIR/NAME.m3u8``: an HLS playlist with its segments ``NAME00000.ts``... in ``DIR``
  (created if missing). ffmpeg writes every segment and the playlist to ``NAME.tmp`` and
  renames it when complete (``-hls_flags temp_file``), so a reader never sees half a
  segment; the playlist grows while the run goes (an EVENT playlist) and ends with
  ``#EXT-X-ENDLIST``. The safe-write rule for the folder (:func:`hls_output`): every name
  the run may write or delete (:func:`hls_set`) is checked as one set against the inputs
  (an input playlist brings the files it lists) and refused without ``--overwrite`` if it
  exists; links among them are refused. An older set is moved aside and comes back if the
  run fails; a run that fails removes what it wrote. ffmpeg's HLS muxer ignores write
  errors, so the result is read back (:func:`verify_hls`) before it counts as written. A
  run stopped by Ctrl-C keeps its (finalized, playable) playlist.

A name is a URL only with an explicit ``scheme://`` of :data:`OUTPUT_SCHEMES`; every other
name is a file, under :mod:`ffmotion.run.outputs`. The HLS folder's files are written under
the safe-write rule by :mod:`ffmotion.run.hls`. Pure: names in, values out.
"""
from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, Optional

from ffmotion.core.errors import UsageError, field

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
    "mpjpeg": ("mpjpeg", ".mjpeg"),  # JPEG frames in multipart parts: the live preview's feed
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


V4L2_PREFIX = "v4l2:"


def sink_for(name: str, format: Optional[str] = None) -> Optional[Sink]:
    """The :class:`Sink` for an output name, or None for an ordinary file (or image set).

    ``format`` is ``--format`` (stdout and URLs only).
    """
    if name.startswith(V4L2_PREFIX):
        device = name[len(V4L2_PREFIX):]
        if not device.startswith("/dev/"):
            raise UsageError(f"{name}: a v4l2 output is a device, v4l2:/dev/videoN")
        if format is not None and format.lower() != "v4l2":
            raise UsageError(f"{field('format')} is not for a v4l2 device (raw video)")
        return Sink("url", device, "v4l2", Path(os.devnull) / "stream.v4l2")
    scheme = output_scheme(name)
    if name != "-" and scheme is None:
        if format is not None:
            raise UsageError(f"{field('format')} is for '-' (stdout) and URL outputs: a file's "
                             "format follows its extension")
        if name.lower().endswith(HLS_SUFFIX):
            return Sink("hls", name, "hls")
        return None
    if format is not None:
        chosen = format.lower()
        if chosen in ("mp4", "mov", "m4v"):
            raise UsageError(f"{field('format')} {format}: MP4/MOV need a seekable file to finish "
                             "(use matroska, nut or mpegts for a stream)")
        if chosen not in FORMATS:
            raise UsageError(f"{field('format')} {format} is not one ffmotion streams: use one of "
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


def hls_segment_pattern(playlist: Path) -> Path:
    """Segment names beside ``playlist``: ``NAME00000.ts``, ``NAME00001.ts``..."""
    return playlist.with_name(f"{playlist.stem}%05d.ts")
