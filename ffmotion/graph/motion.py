"""The motion-extraction filter graph proper.

The graph, for offset K (``mode="offset"``)::

    [in] format=W, settb=1/R, setpts=N, split ─┬──────────────────────────────────┐
                                               └ trim=start_frame=K, setpts=PTS-STARTPTS, negate ┘
                                                 blend=all_mode=average:shortest=1 -> out

so output frame i = (frame[i] + max - frame[i+K]) >> 1 per plane, N-K frames. ``settb``/
``setpts=N`` re-time every frame by its index (with ``-fps_mode passthrough``): ``blend``
pairs frames by timestamp, and on variable-frame-rate input only index timestamps pair
frame i with frame i+K. In freeze mode the second branch is the single frame K
(``trim=start_frame=K:end_frame=K+1``) and ``blend`` repeats it for all N frames.

``split`` makes ffmpeg hold the K frames between the branches (K x frame size: gigabytes at
4K). The "dual" strategy opens the input a second time instead and gives that decoder the
shifted branch (the same format/settb/setpts=N/trim chain), so memory stays flat whatever K,
for the price of a second decode; see :func:`branches`. Pure: builds ffmpeg-python streams.
"""
from __future__ import annotations

from fractions import Fraction
from pathlib import Path
from typing import Any, Optional

import ffmpeg

from ffmotion.core.looks import Look
from ffmotion.core.request import Mode
from ffmotion.graph import looks
from ffmotion.graph.node import Stream
from ffmotion.graph.timing import VariableTiming


def motion_video(video: Stream, k: int, fps: Fraction, mode: Mode = "offset",
                 pix_fmt: Optional[str] = None, look: Optional[Look] = None,
                 channel_ks: Optional[tuple[int, int, int]] = None, *, second: Stream = None,
                 timing: Optional[VariableTiming] = None, second_at_k: bool = False,
                 steer: bool = False) -> Stream:
    """Apply motion extraction to an ffmpeg-python video stream and return the result stream.

    ``video`` is any ffmpeg-python stream (e.g. ``ffmpeg.input(path).video``); ``fps`` is its
    frame rate (frames are re-timed as index / fps); ``pix_fmt`` is the working format, and
    should be :func:`ffmotion.core.pixfmt.working_pix_fmt` of the decoded format (for a look:
    :func:`ffmotion.core.looks.working_format` of that; required then). ``channel_ks`` are the
    red, green and blue offsets of ``look.rgb_offsets`` in frames. ``second``, the same video
    from a second input (see :func:`second_input`), selects the "dual" strategy: the shifted
    branch is decoded from it, and ffmpeg holds no frames between the branches. ``timing``
    keeps each frame's own timestamp while pairing by index (variable frame rate: see
    :mod:`ffmotion.graph.timing`); without it frame i is shown at i/fps. ``second_at_k``:
    ``second`` already starts at frame K (offset mode) or is frame K alone (freeze mode), see
    :func:`dual_timing`. ``steer``: the look's filters are named and the gain and blur are
    always there, so that a running ffmpeg can change them (:mod:`ffmotion.graph.steer`).
    """
    look = look if look is not None else Look()
    if not pix_fmt and (steer or not look.is_classic):
        raise ValueError("a look needs the working pixel format")
    indexed = _indexed(video, fps, pix_fmt, look, timing)
    original = None
    if looks.needs_original(look):
        tee = indexed.split()
        indexed, original = tee[0], tee[1]
    indexed = looks.prepare(indexed, look, steer)
    if steer and second is not None:
        raise ValueError("a steerable graph reads its input once (split strategy)")
    again = (looks.prepare(_indexed(second, fps, pix_fmt, look, timing), look)
             if second is not None else None)
    if channel_ks is not None:
        assert pix_fmt is not None
        gray = looks.channel_format(pix_fmt)
        seconds = looks.split_channels(again) if again is not None else [None, None, None]
        channels = [_pair(channel, kc, mode, look, gray, other, timing)
                    for channel, kc, other in zip(looks.split_channels(indexed), channel_ks,
                                                  seconds)]
        blended = looks.merge_channels(channels[0], channels[1], channels[2], pix_fmt)
    else:
        blended = _pair(indexed, k, mode, look, pix_fmt or "", again, timing, second_at_k)
    if steer or not look.is_classic:
        assert pix_fmt is not None
        blended = looks.finish(blended, original, look, pix_fmt, steer)
    if timing is not None:  # back to each frame's own time
        if not framesync_keeps(timing.time_base):  # the stride counts the stream's ticks
            tb = timing.time_base
            blended = blended.filter("settb", f"{tb.numerator}/{tb.denominator}")
        blended = blended.setpts(f"PTS-N*{timing.stride}")
    return blended


# blend, lut2 and mergeplanes (framesync) keep their inputs' time base when its denominator
# is below this, and work in microseconds otherwise (AVI rates like 66667/1000000 s)
FRAMESYNC_MAX_DEN = 500000


def framesync_keeps(time_base: Fraction) -> bool:
    """True when a two-input filter outputs frames in ``time_base`` (else in 1/1000000 s)."""
    return time_base.denominator < FRAMESYNC_MAX_DEN


def _pair(indexed: Stream, k: int, mode: Mode, look: Look, pix_fmt: str,
          second: Stream = None, timing: Optional[VariableTiming] = None,
          second_at_k: bool = False) -> Stream:
    """Frame i combined with frame i+K (offset mode) or with frame K (freeze mode)."""
    top, shifted = branches(indexed, k, mode, second, timing, second_at_k)
    blend_args: dict[str, Any] = {} if mode == "freeze" else {"shortest": 1}
    return looks.combine(top, shifted, look.blend, pix_fmt, **blend_args)


def branches(indexed: Stream, k: int, mode: Mode = "offset", second: Stream = None,
             timing: Optional[VariableTiming] = None,
             second_at_k: bool = False) -> tuple[Any, Any]:
    """The (top, shifted) pair of index-timed branches, before they are combined.

    Both carry timestamps 0, 1, 2... (in units of 1/fps); ``shifted`` starts at frame K (freeze
    mode: is frame K alone). Without ``second`` both come from ``indexed`` through ``split``
    (ffmpeg then holds K frames); with ``second`` (the same frames decoded again) ``shifted``
    comes from it.
    """
    if second is None:
        pair = indexed.split()
        top, source = pair[0], pair[1]
    else:
        top, source = indexed, second
    if second is not None and second_at_k:
        shifted = source  # the second input was read from frame K on (dual_timing)
    elif mode == "freeze":
        shifted = source.trim(start_frame=k, end_frame=k + 1)
    else:
        shifted = source.trim(start_frame=k)
    if timing is None:
        return top, shifted.setpts("PTS-STARTPTS")
    # own times (graph.timing): shifted frame j at j*B, at or before top frame j (j*B + t_j)
    shifted = shifted.setpts(f"N*{timing.stride}")
    if mode == "offset":
        # blend's shortest=1 would stop before the last top frame: one clone extends the
        # shifted branch past it, and the top branch ends at the planned count
        shifted = shifted.filter("tpad", stop=1, stop_mode="clone")
        if timing.top_frames is not None:
            top = top.trim(end_frame=timing.top_frames)
    return top, shifted


def _indexed(video: Stream, fps: Fraction, pix_fmt: Optional[str], look: Look,
             timing: Optional[VariableTiming] = None) -> Stream:
    """The working format, re-timed for pairing by index: timestamps 0, 1, 2... in units of
    1/fps, or (``timing``) ``N*B`` plus the frame's own time since the first frame."""
    if pix_fmt:
        video = looks.convert(video, look, pix_fmt).filter("format", pix_fmt)
    if timing is not None:
        return video.setpts(f"N*{timing.stride}+(PTS-STARTPTS)")
    tb = 1 / Fraction(fps)
    return video.filter("settb", f"{tb.numerator}/{tb.denominator}").setpts("N")


def second_input(path: Path, stream: str = "v:0", **input_args: Any) -> Stream:
    """The video of ``path`` opened as another ffmpeg input, for the "dual" strategy.

    ``-an`` (audio is never read from it) also keeps ffmpeg-python from merging it with a
    first input of the same file: identical input nodes collapse into one.
    """
    return ffmpeg.input(str(path), an=None, **input_args)[stream]
