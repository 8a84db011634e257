"""Live inputs for ``ffmotion live``: the platform's camera, a URL, stdin, or a lavfi stand-in.

``ffmotion live [SOURCE] OUT`` takes SOURCE as:

* nothing: the platform's default camera (:func:`default_device`): ``v4l2`` ``/dev/video0``
  on Linux, ``avfoundation`` ``0`` (the first camera, no audio) on macOS; on Windows
  ``dshow`` needs the camera's name (``dshow:video=NAME``; ``ffmpeg -list_devices true -f
  dshow -i dummy`` lists them);
* ``/dev/videoN`` or ``v4l2:/dev/videoN``; ``avfoundation:N``; ``dshow:video=NAME``;
* ``lavfi:GRAPH``, e.g. ``lavfi:testsrc2=size=640x360:rate=30``: a synthetic camera for
  tests and demos, paced to real time (``-re``);
* ``-`` (stdin) or a URL (``rtsp://camera/stream``, ``udp://@:5000``, ``srt://...``);

with the low-latency input flags (:data:`ffmotion.media.stream.LOW_LATENCY`; not for lavfi:
``-fflags nobuffer`` drops the frames ffmpeg reads while it analyses the input, which
for a camera only means starting a few frames later).
``--video-size``, ``--framerate`` and ``--input-format`` (e.g. ``mjpeg``) are passed to
the capture device (v4l2, avfoundation, dshow) as ``-video_size``, ``-framerate``,
``-input_format``/``-pixel_format``.
"""
from __future__ import annotations

import os
import stat
import sys
from typing import Optional

from ffmotion.core.errors import UsageError, field
from ffmotion.core.source import Source
from ffmotion.media.stream import LOW_LATENCY, input_source

DEVICE_FORMATS = ("v4l2", "avfoundation", "dshow", "lavfi")


def cameras(folder: str = "/dev") -> list[str]:
    """The video devices this machine has (``/dev/video*``, Linux's cameras and capture
    cards, in number order); none elsewhere."""
    try:
        names = [name for name in os.listdir(folder) if name.startswith("video")]
    except OSError:
        return []
    number = lambda name: (len(name), name)  # noqa: E731 - video2 before video10
    return [os.path.join(folder, name) for name in sorted(names, key=number)]


def default_device(platform: Optional[str] = None) -> str:
    """The SOURCE used when none is given, for ``platform`` (default: this one)."""
    platform = sys.platform if platform is None else platform
    if platform.startswith("linux"):
        return "v4l2:/dev/video0"
    if platform == "darwin":
        return "avfoundation:0"
    if platform in ("win32", "cygwin"):
        raise UsageError("ffmotion live: give the camera as dshow:video=NAME (ffmpeg "
                         "-list_devices true -f dshow -i dummy lists the names)")
    raise UsageError(f"ffmotion live: no default camera on {platform}: give a device or URL")


def live_source(text: Optional[str], *, video_size: Optional[str] = None,
                framerate: Optional[str] = None, input_format: Optional[str] = None,
                platform: Optional[str] = None) -> Source:
    """The :class:`Source` for ``ffmotion live``'s SOURCE (see the module docstring)."""
    name = default_device(platform) if text is None else text
    stream = input_source(name, live=True)
    if stream is not None:
        if video_size or framerate or input_format:
            raise UsageError(f"{field('video_size')}/{field('framerate')}/"
                             f"{field('input_format')} are for capture devices, not for stdin "
                             "or URLs")
        return stream
    kind, sep, rest = name.partition(":")
    if name.startswith("/dev/"):
        kind, rest, sep = "v4l2", name, ":"
    if not sep or kind not in DEVICE_FORMATS or not rest:
        raise UsageError(f"ffmotion live: {name!r} is not a camera: give /dev/videoN, "
                         "v4l2:/dev/videoN, avfoundation:N, dshow:video=NAME, lavfi:GRAPH, "
                         "a URL (rtsp://...) or - (stdin)")
    options: list[tuple[str, object]] = list(LOW_LATENCY)
    if kind == "lavfi":
        if video_size or framerate or input_format:
            raise UsageError("lavfi: set the size and rate in the graph (testsrc2=size=640x360:"
                             f"rate=30), not with {field('video_size')}/{field('framerate')}")
        # paced like a camera; no -fflags nobuffer: it drops the frames read while ffmpeg
        # analyses the input (a camera's first frames), and the stand-in must be exact
        options = [("re", None), ("f", "lavfi")]
    else:
        if kind == "v4l2" and not os.path.exists(rest):
            raise UsageError(f"ffmotion live: no camera at {rest} (ls /dev/video* lists them; "
                             "lavfi:testsrc2=size=640x360:rate=30 is a stand-in)")
        options.append(("f", kind))
        if framerate:
            options.append(("framerate", framerate))
        elif kind == "avfoundation":
            options.append(("framerate", "30"))  # its default 29.97 is refused by most cameras
        if video_size:
            options.append(("video_size", video_size))
        if input_format:
            options.append(("input_format" if kind == "v4l2" else "pixel_format", input_format))
    return Source("live", rest, tuple(options))


def check_v4l2_output(name: str, platform: Optional[str] = None,
                      sys_module: str = "/sys/module/v4l2loopback") -> None:
    """A ``v4l2:/dev/videoN`` output must be a video device that exists: one clear line
    when it or the v4l2loopback module that makes virtual cameras is missing."""
    platform = sys.platform if platform is None else platform
    device = name.partition(":")[2]
    if not platform.startswith("linux"):
        raise UsageError(f"{name}: v4l2 output devices exist on Linux only (on macOS and "
                         "Windows, OBS's virtual camera: see docs/live.md)")
    if not os.path.exists(device):
        if os.path.isdir(sys_module):
            why = ("v4l2loopback is loaded but made no such device (ls /sys/devices/virtual/"
                   "video4linux lists those it made)")
        else:
            why = ("the v4l2loopback module is not loaded: sudo modprobe v4l2loopback "
                   f"video_nr={device.removeprefix('/dev/video') or 10} card_label=ffmotion "
                   "exclusive_caps=1 (package v4l2loopback-dkms)")
        raise UsageError(f"ffmotion live: no video device at {device}: {why}")
    if not stat.S_ISCHR(os.stat(device).st_mode):
        raise UsageError(f"ffmotion live: {device} is not a video device")


__all__ = ["DEVICE_FORMATS", "check_v4l2_output", "default_device", "live_source"]
