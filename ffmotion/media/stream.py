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
:mod:`ffmotion.run.streaming`). *URLs* are opened twice: by the head probe (which stops
after a couple of frames) and then by the real run. A server that takes a single client
(``ffmpeg -listen 1``) therefore cannot be read by URL: pipe it into ``ffmotion -``.
"""
from __future__ import annotations

import contextlib
import os
import re
import select
import sys
import time
from dataclasses import replace
from pathlib import Path
from typing import Optional

from ..run import runner
from ..errors import MediaError, UsageError
from .source import Source

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
HEAD_BYTES_MAX = 64 * 2**20
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
        return Source("live" if live else "stream", STDIN_NAME, flags)
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
    if source.name == STDIN_NAME:
        return "stdin"
    options = dict(source.options)
    if options.get("f") == "lavfi":
        return f"lavfi:{source.name}"
    return source.name


# -- stdin: the head, kept for the relay ---------------------------------------------------

class _StdinHead:
    """The bytes already taken from this process's stdin (it can be read once only)."""

    def __init__(self) -> None:
        self.data = b""
        self.ended = False

    def read_more(self, target: int, wait: float) -> None:
        """Read until ``target`` bytes are held, stdin ends, or ``wait`` seconds passed
        since the first byte (a slow live pipe must not stall the start)."""
        fd = sys.stdin.fileno()
        started: Optional[float] = None
        chunks = [self.data]
        held = len(self.data)
        while held < target and not self.ended:
            if started is not None:
                left = started + wait - time.monotonic()
                if left <= 0:
                    break
                with contextlib.suppress(OSError, ValueError):
                    ready, _, _ = select.select([fd], [], [], left)
                    if not ready:
                        break
            chunk = os.read(fd, min(1 << 20, target - held))
            if not chunk:
                self.ended = True
                break
            if started is None:
                started = time.monotonic()
            chunks.append(chunk)
            held += len(chunk)
        self.data = b"".join(chunks)

    def take(self) -> bytes:
        data, self.data = self.data, b""
        return data


_HEAD = _StdinHead()


def take_stdin_head() -> tuple[bytes, bool]:
    """The head read from stdin by the probe (given once), and whether stdin ended in it."""
    return _HEAD.take(), _HEAD.ended


def _check_stdin() -> None:
    try:
        fd = sys.stdin.fileno()
    except (AttributeError, ValueError, OSError):
        raise UsageError("input '-' is stdin, and there is none here") from None
    if os.isatty(fd):
        raise UsageError("input '-' reads a stream from stdin, but stdin is a terminal: pipe "
                         "one in (e.g. cat clip.mkv | ffmotion - out.mkv)")


# -- the head probe ------------------------------------------------------------------------

def probe_head(source: Source, tools: runner.Tools, video_stream: Optional[int] = None):  # type: ignore[no-untyped-def]
    """MediaInfo of a stream from its first frames (size, rate, pixel format, streams).

    ``frames`` is 0 (unknown) and there is no frame index; the rest is as for a file.
    """
    from .probe import parse_probe_output

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


def _probe_limit() -> float:
    return min(STREAM_PROBE_TIMEOUT, runner.procs.probe_timeout())


def _probe_input_argv(source: Source) -> list[str]:
    """The input options for the probe: those of the run, but never paced (``-re``)."""
    return Source(source.kind, source.name,
                  tuple((k, v) for k, v in source.options if k != "re")).input_argv()


__all__ = ["LOW_LATENCY", "STDIN", "STDIN_NAME", "URL_SCHEMES", "input_source",
           "is_stream_name", "probe_head", "shown_name", "take_stdin_head", "url_scheme"]
