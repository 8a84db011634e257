"""The frames of a video stream counted by decoding: where the packet listing lies.

The probe lists packets (:mod:`ffmotion.media.frames`): cheap, and right for files that
decode whole. Two kinds of file break that, and only decoding tells:

* **cut short or damaged** (a recording stopped by a full card or a crash, a partial
  download): the file lists frames that do not decode, so a run gets fewer frames than
  planned and frame i is no longer paired with i+K at the end;
* **the picture size changes mid-stream** (broadcast recordings, stream-copy concatenations
  of segments of different sizes): ffmpeg rebuilds the filter graph at the change, which
  restarts frame counting and makes ``blend`` refuse links of different sizes.

:func:`recount` decodes the stream once (``showinfo``, no checksums) and gives the index of
the frames that really decode, with their times and the sizes they come in. It runs only
where the listing is in doubt: when the listing itself reports damage (see
:func:`ffmotion.media.probe.probe`), or when a run got another count than planned or
frames of another size (see :func:`ffmotion.api.run`). A plan on a recounted index works
on the frames that exist, and scales frames of other sizes to one size
(:mod:`ffmotion.graph.picture`).
"""
from __future__ import annotations

import bisect
import dataclasses
import logging
import re
from fractions import Fraction
from typing import TYPE_CHECKING, Optional

from ffmotion.core.errors import MediaError
from ffmotion.core.source import Source
from ffmotion.media.frames import FrameIndex, FrameTimes, SizeRun
from ffmotion.run import runner

if TYPE_CHECKING:
    from ffmotion.media.info import MediaInfo

log = logging.getLogger("ffmotion")

_CONFIG = re.compile(r"config in time_base: (\d+)/(\d+)")
_START = re.compile(r"\bstart: (-?\d+(?:\.\d+)?)")
# showinfo writes these in one log call per frame (its checksums and the line's end come in
# later calls, between which a decoder thread's error message may land)
_FRAME = re.compile(r"\bn:\s*\d+\s+pts:\s*(-?\d+|NOPTS)\s+pts_time:\S+\s.*?\bs:(\d+)x(\d+)\b")


def decode_argv(ffmpeg: str, source: Source, stream: int) -> list[str]:
    """Decode video stream ``stream`` of ``source`` once and log every frame's time and size.

    ``-copyts``: the times as stored, put on the graph timeline as the listing's are (the
    file's start subtracted: ffmpeg would subtract the start of the streams mapped only).
    ``checksum=0`` spares showinfo's sums.
    """
    return [ffmpeg, "-hide_banner", "-nostdin", "-nostats", "-copyts", *source.input_argv(),
            "-filter_complex", f"[0:v:{stream}]showinfo=checksum=0[v]", "-map", "[v]",
            "-f", "null", "-"]


@dataclasses.dataclass
class _Decoded:
    ticks: list[int]
    time_base: Fraction
    sizes: list[SizeRun]


def _decode(ffmpeg: str, source: Source, stream: int) -> Optional[_Decoded]:
    """Every decoded frame's time (ticks of one time base) and the size runs; None when a
    frame has no time or the time base changes (then the listing is kept)."""
    ticks: list[int] = []
    sizes: list[SizeRun] = []
    bases: set[Fraction] = set()
    start = None
    with runner.log_lines(decode_argv(ffmpeg, source, stream)) as lines:
        for line in lines:
            if start is None and line.lstrip().startswith("Duration:"):
                found = _START.search(line)
                start = Fraction(found.group(1)) if found else Fraction(0)
            config = _CONFIG.search(line)
            if config:
                bases.add(Fraction(int(config.group(1)), int(config.group(2))))
                continue
            frame = _FRAME.search(line)
            if frame is None:
                continue
            if frame.group(1) == "NOPTS":
                return None
            width, height = int(frame.group(2)), int(frame.group(3))
            if not sizes or sizes[-1].size != (width, height):
                sizes.append(SizeRun(len(ticks), width, height))
            ticks.append(int(frame.group(1)))
    if len(bases) != 1:
        return None
    base = bases.pop()
    offset = round((start or 0) / base)
    return _Decoded([t - offset for t in ticks], base, sizes)


def recount(info: "MediaInfo", ffmpeg: str) -> "MediaInfo":
    """``info`` with the index of the frames that decode (see the module docstring).

    Keyframes are the listed ones that decode (a seek lands where the demuxer knows a
    keyframe). The listing is kept when decoding gives no usable times; no frame at all is
    a :class:`MediaError`.
    """
    source = info.input
    decoded = _decode(ffmpeg, source, info.video_stream)
    if decoded is None:
        log.debug("%s: decoding gave no usable frame times; the listing is kept", info.path)
        return info
    if not decoded.ticks:
        raise MediaError(f"no frame of the video of {info.path.name} decodes "
                         "(the file is damaged or not a video)")
    times = FrameTimes(tuple(decoded.ticks), decoded.time_base)
    keys = _decoded_keyframes(info, times)
    sizes = tuple(decoded.sizes) if len(decoded.sizes) > 1 else ()
    index = FrameIndex(times, keys, decoded.time_base, decoded=True, sizes=sizes,
                       listed=info.frames)
    return dataclasses.replace(info, frames=index.count, index=index)


def _decoded_keyframes(info: "MediaInfo", times: FrameTimes) -> tuple[int, ...]:
    """The decoded frames at the times of listed keyframes (within a tenth of a frame)."""
    listed = info.index
    if listed is None:
        return (0,)
    tolerance = 1 / (10 * info.fps)
    found = []
    for k in listed.keyframes:
        if k >= listed.count:
            continue
        at = listed.times[k]
        i = bisect.bisect_left(times, at - tolerance)
        if i < len(times) and abs(times[i] - at) <= tolerance:
            found.append(i)
    return tuple(sorted(set(found))) or (0,)


def differences(listed: "MediaInfo", decoded: "MediaInfo") -> list[str]:
    """What decoding found that the listing did not say, one plain line each (empty: the
    listing was right)."""
    lines: list[str] = []
    name = listed.path.name
    a, b = listed.index, decoded.index
    if a is None or b is None or not b.decoded:
        return lines
    if b.count != a.count or any(x != y for x, y in zip(a.times, b.times)):
        lines.append(_missing_line(name, listed, decoded))
    if b.sizes:
        changes = ", ".join(f"at frame {run.first} ({b.sizes[n].width}x{b.sizes[n].height} "
                            f"-> {run.width}x{run.height})"
                            for n, run in enumerate(b.sizes[1:]))
        lines.append(f"{name}: the picture size changes {changes}")
    return lines


def _missing_line(name: str, listed: "MediaInfo", decoded: "MediaInfo") -> str:
    """Which listed frames do not decode (by time: their numbers would not be the frames'),
    and the last frame that does."""
    a, b = listed.index, decoded.index
    assert a is not None and b is not None
    last = b.count - 1
    end = f"the last is frame {last}, at {float(b.times[last]):.3f} s"
    found = set(b.times)
    missing = [t for t in a.times if t not in found]
    if missing and missing[0] > b.times[last]:
        return (f"{name}: the input is damaged or ends early: the frames it lists from "
                f"{float(missing[0]):.3f} s on do not decode (it is cut short there); the "
                f"{b.count} frames that do are used ({end})")
    if not missing:
        what = f"its {b.count} frames decode at other times than listed"
    else:
        times = ", ".join(f"{float(t):.3f}" for t in missing[:3])
        more = f" and {len(missing) - 3} more" if len(missing) > 3 else ""
        what = (f"{len(missing)} of the frames it lists (at {times} s{more}) "
                f"{'do' if len(missing) > 1 else 'does'} not decode")
    return (f"{name}: the input is damaged or ends early: {what}; the {b.count} frames that "
            f"decode are used ({end})")


def same_frames(a: "MediaInfo", b: "MediaInfo") -> bool:
    """True when two indexes give the same frames at the same times and sizes."""
    if a.index is None or b.index is None:
        return a.frames == b.frames
    return (a.index.count == b.index.count and a.index.sizes == b.index.sizes
            and all(x == y for x, y in zip(a.index.times, b.index.times)))
