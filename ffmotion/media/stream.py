"""Unbounded inputs: ``-`` (stdin), URLs and live devices, and what can be learnt of them.

A stream cannot be read twice and has no known length, so it is never probed to its end:
only its head is, for the picture size, the frame rate, the pixel format and the audio
(:func:`probe_head`). What a plain file gets from its full probe (frame count, keyframes,
variable rate) stays unknown: ``MediaInfo.frames`` is 0 and ``index`` None.

*Which names are streams.* A name is a URL only with an explicit ``scheme://`` whose scheme
this module knows (:data:`URL_SCHEMES`); ``-`` is stdin. Everything else is a file, even
``a://b`` when that file exists: :func:`input_source` checks the file first. Devices
(``/dev/video0``, ``lavfi:...``) are only taken by ``ffmotion live`` (:mod:`ffmotion.media.live`).

*stdin.* The head cannot be read by one ffmpeg and then again by another, so ffmotion reads
it itself (:func:`read_stdin_head`: a few hundred KiB, more if the probe needs it), probes
those bytes, and the runner later relays the same head and then the rest of stdin to the
real ffmpeg through a pipe (compressed bytes as they came, never pixels:
:mod:`ffmotion.run.streaming`). An MP4/MOV whose index comes after its media data
(:func:`index_at_end`) cannot be read from a pipe at all (ffmpeg must seek back to the
data), so it is held seekably instead (:func:`hold_stdin`: stdin itself when it is a file,
else a memory file of the whole stream, up to :data:`HEAD_BYTES_MAX`) and ffmpeg reads it
as ``fd:``. *URLs* are opened twice: by the head probe (which stops
after a couple of frames) and then by the real run. A server that takes a single client
(``ffmpeg -listen 1``) therefore cannot be read by URL: pipe it into ``ffmotion -``.
"""
from __future__ import annotations

import os
import re
import struct
import sys
from dataclasses import replace
from pathlib import Path
from typing import Optional

from ffmotion.core.errors import MediaError, UsageError
from ffmotion.core.source import Source
from ffmotion.run import runner
from ffmotion.run.stdin import _HEAD, HEAD_BYTES_MAX, held_stdin, hold_stdin

STDIN = "-"
STDIN_NAME = "pipe:0"
# protocols and network demuxers ffmpeg opens by URL (those of both tested builds)
URL_SCHEMES = frozenset({
    "http", "https", "rtsp", "rtsps", "rtmp", "rtmps", "rtmpt", "rtmpe", "rtmpts", "srt",
    "udp", "udplite", "tcp", "rtp", "srtp", "rist", "tls", "ftp", "sftp", "mmsh", "mmst",
    "hls", "unix", "zmq", "ipfs", "ipns", "gopher", "gophers", "amqp", "sctp",
})
_URL = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*)://")
# frames of the video the head probe copies before it stops
HEAD_FRAMES = 2
# stdin: bytes read before the first probe, and the most read to find the stream's facts
HEAD_BYTES = 256 * 1024
HEAD_WAIT = 3.0  # seconds to wait for HEAD_BYTES before probing what came
STREAM_PROBE_TIMEOUT = 30.0  # seconds the head probe of a URL or device may take


def url_scheme(name: str) -> Optional[str]:
    """The scheme of ``name`` if it is a URL ffmotion passes to ffmpeg (``udp``...), else None."""
    found = _URL.match(name)
    if found is None or found.group(1).lower() not in URL_SCHEMES:
        return None
    return found.group(1).lower()


def is_stream_name(name: str) -> bool:
    """``-`` or a URL with a known scheme (a name is never a URL by accident: see
    :func:`input_source` for files that look like one)."""
    return name == STDIN or url_scheme(name) is not None


def input_source(name: str, live: bool = False) -> Optional[Source]:
    """The :class:`Source` for a stream input name, or None for a file.

    ``-`` is stdin; ``scheme://...`` a URL, unless a file of exactly that name exists (a
    plain name stays a file). ``live`` adds the low-latency input flags.
    """
    if name != STDIN and (url_scheme(name) is None or os.path.lexists(name)):
        return None
    flags: tuple[tuple[str, object], ...] = LOW_LATENCY if live else ()
    if name == STDIN:
        # a pipe holds what was sent, nothing is "late": -fflags nobuffer would drop the
        # packets ffmpeg reads while it analyses the input (the recording's first frames)
        kept = tuple(flag for flag in flags if flag[0] != "fflags")
        return Source("live" if live else "stream", STDIN_NAME, kept)
    # ffmpeg waits its whole analyzeduration (5 s) on an MPEG-TS over UDP for streams that
    # may still appear, twice (probe, run): 1 s finds audio and video of any usual stream
    return Source("live" if live else "stream", name,
                  (*flags, *URL_ANALYZE, silence_option(url_scheme(name) or "")))


URL_ANALYZE: tuple[tuple[str, object], ...] = (("analyzeduration", 1_000_000),)
# A stream that goes silent (a UDP sender that stopped: UDP has no end) ends the input after
# this long, and the output is finished as at the stream's end, instead of waiting for ever.
STREAM_SILENCE_S = 10
# the protocols whose own "timeout" is the read timeout (UDP has no end; ffmpeg's generic
# rw_timeout does not reach them); the others take rw_timeout
_OWN_TIMEOUT = frozenset({"udp", "udplite", "rtp", "rtsp", "rtsps", "srt"})


def silence_option(scheme: str) -> tuple[str, object]:
    """The input option ending a URL stream after :data:`STREAM_SILENCE_S` without data."""
    return ("timeout" if scheme in _OWN_TIMEOUT else "rw_timeout", STREAM_SILENCE_S * 1_000_000)


# no input buffering in the demuxer, no frame reordering delay in the decoder
LOW_LATENCY: tuple[tuple[str, object], ...] = (("fflags", "nobuffer"), ("flags", "low_delay"))


def shown_name(source: Source) -> str:
    """How messages name the input: ``stdin``, the URL, or the device."""
    return source.shown


# -- MP4/MOV with the index at the end --------------------------------------------------------

HELD_NAME = "fd:"  # ffmpeg's fd protocol: its stdin, seekable where the descriptor is
_BOX = struct.Struct(">I4s")
_FIRST_BOXES = {b"ftyp", b"wide", b"free", b"skip", b"pnot", b"mdat"}


def index_at_end(head: bytes) -> bool:
    """``head`` starts an MP4/MOV file whose index (``moov``) comes after its media data
    (``mdat``, no ``-movflags +faststart``): ffmpeg reads such a file from a pipe only while
    the whole of it fits its read buffer (tens of KiB), since it must seek back."""
    pos = 0
    while pos + _BOX.size <= len(head):
        size, kind = _BOX.unpack_from(head, pos)
        if pos == 0 and kind not in _FIRST_BOXES:
            return False
        if kind == b"moov":
            return False
        if kind == b"mdat":
            return True
        if size == 1 and pos + 16 <= len(head):
            size = struct.unpack_from(">Q", head, pos + 8)[0]
        if size < _BOX.size:
            return False  # to the end of the file, or not a box: no mdat before a moov here
        pos += size
    return False


def _check_stdin() -> None:
    try:
        fd = sys.stdin.fileno()
    except (AttributeError, ValueError, OSError):
        raise UsageError("input '-' is stdin, and there is none here") from None
    if os.isatty(fd):
        raise UsageError("input '-' reads a stream from stdin, but stdin is a terminal: pipe "
                         "one in (e.g. cat clip.mkv | ffmotion - out.mkv)")


# -- the head probe ------------------------------------------------------------------------

def probe_head(source: Source, tools: runner.Tools, video_stream: Optional[int] = None):
    """MediaInfo of a stream from its first frames (size, rate, pixel format, streams).

    ``frames`` is 0 (unknown) and there is no frame index; the rest is as for a file.
    """
    from ffmotion.media.probe import parse_probe_output

    # lavfi gives wrapped_avframe packets on ffmpeg 9, which a stream copy never counts
    # towards -frames:v (the probe would run for ever): those frames are written raw
    lavfi = dict(source.options).get("f") == "lavfi"
    argv = [tools.ffmpeg, "-hide_banner", "-nostdin", *_probe_input_argv(source),
            "-map", "0:v?", *(["-c:v", "rawvideo"] if lavfi else ["-c", "copy"]),
            "-frames:v", str(HEAD_FRAMES), "-f", "framecrc", "-"]
    shown = shown_name(source)
    if source.name != STDIN_NAME:
        done = runner.capture(argv, timeout=_probe_limit(), what=f"probing {shown} with ffmpeg")
        info = parse_probe_output(Path(shown), source, done, video_stream)
        return replace(info, frames=0, index=None)
    _check_stdin()
    target = HEAD_BYTES
    while True:
        _HEAD.read_more(target, HEAD_WAIT)
        if not _HEAD.data:
            raise MediaError("stdin is empty: no stream to read")
        if _HEAD.held is not None or index_at_end(_HEAD.data):
            return _probe_held(source, tools, video_stream)
        done = runner.capture(argv, timeout=_probe_limit(), what="probing stdin with ffmpeg",
                              input=_HEAD.data)
        try:
            info = parse_probe_output(Path("stdin"), source, done, video_stream)
            if info.frames < 1:
                raise MediaError("no video frames in the head of stdin")
            return replace(info, frames=0, index=None)
        except MediaError:
            if _HEAD.ended or len(_HEAD.data) >= HEAD_BYTES_MAX:
                raise
            target = min(HEAD_BYTES_MAX, max(target, len(_HEAD.data)) * 4)


def _probe_held(source: Source, tools: runner.Tools, video_stream: Optional[int]):
    """:func:`probe_head` of stdin held seekably (:func:`hold_stdin`); the MediaInfo's
    input is ffmpeg's ``fd:``, which the run reads the same way."""
    from ffmotion.media.probe import parse_probe_output

    hold_stdin(_probe_limit())
    held = Source(source.kind, HELD_NAME, source.options)
    argv = [tools.ffmpeg, "-hide_banner", "-nostdin", *_probe_input_argv(held), "-map", "0:v?",
            "-c", "copy", "-frames:v", str(HEAD_FRAMES), "-f", "framecrc", "-"]
    done = runner.capture(argv, timeout=_probe_limit(), what="probing stdin with ffmpeg",
                          stdin=held_stdin())
    if done.returncode != 0 and "Protocol not found" in done.stderr:  # ffmpeg before 6.1
        raise MediaError(f"stdin is an MP4/MOV with its index at the end, and this ffmpeg "
                         f"({tools.ffmpeg}) has no fd: protocol to read it seekably: give it "
                         "as a file, or remux it once with -movflags +faststart")
    info = parse_probe_output(Path("stdin"), held, done, video_stream)
    if info.frames < 1:
        raise MediaError("no video frames in stdin")
    return replace(info, frames=0, index=None)


def _probe_limit() -> float:
    return min(STREAM_PROBE_TIMEOUT, runner.procs.probe_timeout())


def _probe_input_argv(source: Source) -> list[str]:
    """The input options for the probe: those of the run, but never paced (``-re``)."""
    return Source(source.kind, source.name,
                  tuple((k, v) for k, v in source.options if k != "re")).input_argv()


__all__ = ["HELD_NAME", "LOW_LATENCY", "STDIN", "STDIN_NAME", "URL_SCHEMES",
           "index_at_end", "input_source", "is_stream_name", "probe_head", "shown_name",
           "url_scheme"]
