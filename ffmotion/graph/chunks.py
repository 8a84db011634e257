"""Chunked runs, the pure part: what one chunk of a plan reads and keeps, and the join.

Pure like :mod:`ffmotion.graph`: plans and argv lists, no process, no file.

A chunk makes output frames ``[a, b)`` of the whole run (counted in the run's motion frames).
In offset mode it reads input frames ``[a, b + K)`` of the range (frame i pairs with i+K); in
freeze mode ``[a, b)``, and the reference frame K comes from a second input that reads it
alone. Where a stage of the graph has memory, the chunk starts earlier and/or ends later and
the extra motion frames are computed, then dropped (``trim``), so that the kept ones equal
the single pass bit for bit:

* a trail (``lagfun``: ``s = max(x, s_prev * D)``, output ``rint(s)``) forgets a value ``v``
  once ``v * D^n < 1/2``: any older contribution is then below every whole value and rounds
  to 0, so it can never change a pixel. With ``v <= max`` (255 at 8 bits, 1023 at 10) that is
  ``n > log(1/(2 max)) / log(D)``: 60 frames at D = 0.9 and 8 bits, 73 at 10 bits (plus one
  for float32 rounding). D = 1 never forgets: the warm-up is then everything before the chunk.
* deinterlacing (bwdif/yadif) looks one frame back and ahead: 2 frames each way.
* ``atadenoise`` averages a window of 9 frames (4 each way, 5 taken). ``hqdn3d``'s temporal
  part is a recursive average that never settles bit-exactly (64 frames of warm-up still
  differed on a static synthetic clip): its chunks read from the range's start (exact, and
  the decode is repeated, so chunking it gains little).

Segments are NUT files (exact time base 1/fps, every codec ffmotion writes); the join reads
them with the concat demuxer (``duration`` given per file, so each starts exactly where the
previous one ends) and copies the video; the audio is cut once from the input, as in a
single pass, and muxed there.
"""
from __future__ import annotations

import dataclasses
import hashlib
import math
from fractions import Fraction
from pathlib import Path
from typing import Any, Optional, Sequence

import ffmpeg

from ffmotion.core.errors import UsageError, field
from ffmotion.core.names import literal_input_args
from ffmotion.core.pixfmt import plane_layout
from ffmotion.graph import encode
from ffmotion.graph import outputs as graph_outputs
from ffmotion.graph.argv import GLOBAL_ARGS
from ffmotion.graph.corrections import Correction, Geometry, warmup_start
from ffmotion.graph.corrections import text as corrections_text
from ffmotion.graph.cut import JOIN_KEYS as JOIN_KEYS
from ffmotion.graph.cut import ChunkCut as ChunkCut
from ffmotion.graph.cut import kept as kept
from ffmotion.graph.extras import FrameRange, Stabilizer, check_filter_path
from ffmotion.graph.node import Stream
from ffmotion.graph.plan import range_timing
from ffmotion.graph.timing import audio_needs_cut, cut_audio, seconds_text

SEGMENT_SUFFIX = ".nut"
CORRECTIONS_SUFFIX = ".trf"  # a chunk's slice of the stabilization corrections
# encoder/container options that belong to the joined file, not to the segments
DEINTERLACE_REACH = 2
# input frames a denoiser reads (before, after); None: all of them
DENOISE_REACH: dict[str, tuple[Optional[int], int]] = {"atadenoise": (5, 5), "hqdn3d": (None, 0)}


class StabilizedChunks:
    """The stabilization corrections of a whole run (:mod:`ffmotion.graph.corrections`), cut into
    the slices its chunks read. Pure: it names each slice (beside the output, where workers
    see the segments too: a hidden name with the hash of its text, so any output name works)
    and keeps the texts in :attr:`files` for the caller to write."""

    def __init__(self, stab: Stabilizer, values: Sequence[Correction], geometry: Geometry,
                 folder: Path) -> None:
        self.stab, self.values, self.geometry = stab, list(values), geometry
        self.folder = folder
        self.files: dict[Path, str] = {}

    def start(self, first: int) -> int:
        """Where reading must start (index in the range) for frame ``first`` to come out
        exact: see :func:`ffmotion.graph.corrections.warmup_start`."""
        return warmup_start(self.values, first, self.geometry)

    def sliced(self, first: int, count: int) -> Stabilizer:
        """The stabilizer of a chunk input reading frames ``[first, first + count)`` of the
        range."""
        text = corrections_text(self.values[first:first + count])
        digest = hashlib.blake2b(text.encode(), digest_size=10).hexdigest()
        path = self.folder / f".ffmotion-stab-{digest}{CORRECTIONS_SUFFIX}"
        self.files[path] = text
        return dataclasses.replace(self.stab, corrections=path)


def trail_warmup(decay: float, depth: int) -> Optional[int]:
    """Motion frames a trail needs before a chunk to be exact; None: all of them (D = 1)."""
    if decay <= 0:
        return 0
    if decay >= 1:
        return None
    top = (1 << depth) - 1
    return math.floor(math.log(1 / (2 * top)) / math.log(decay)) + 2


def _deinterlace_reach(plan: Any) -> int:
    """Input frames the deinterlacer (before stabilization in the chain) reads back."""
    if plan.picture is not None and getattr(plan.picture, "deinterlace", None):
        return DEINTERLACE_REACH
    return 0


def reach(plan: Any) -> tuple[Optional[int], Optional[int], int]:
    """(motion warm-up, input frames before, input frames after) a chunk of ``plan`` needs.

    None (warm-up or frames before) means every frame before the chunk (a trail with D = 1,
    hqdn3d).
    """
    look = plan.motion.look
    depth = plane_layout(plan.working_pix_fmt, 2, 2).depth
    motion = trail_warmup(look.trail, depth) if look.trail else 0
    before: Optional[int] = _deinterlace_reach(plan)
    after = before or 0
    if look.denoise:
        more_before, more_after = DENOISE_REACH.get(look.denoise, (None, 8))
        before = None if more_before is None else (before or 0) + more_before
        after += more_after
    return motion, before, after


def check_chunkable(plan: Any) -> None:
    """Refuse what a chunked run cannot make equal to the single pass (one line each)."""

    output = plan.output
    if graph_outputs.output_kind(output.path) != "video" or output.path.suffix.lower() == ".y4m":
        raise UsageError(f"{field('chunks')} writes video files (not .y4m, GIF, WebP, APNG or "
                         f"image sequences): drop {field('chunks')}")
    if plan.timing.variable is not None:
        raise UsageError(f"{field('chunks')} needs a constant frame rate, and "
                         f"{plan.info.path.name} has frames at irregular times: drop "
                         f"{field('chunks')}")
    if encode.shaping(plan)[1] is not None:
        raise UsageError(f"{field('chunks')} with {field('fps')}: the fps filter picks frames "
                         "by time across the whole run: drop one of them")
    stab = plan.stabilizer
    if stab is not None and stab.method == "vidstab":  # its slices go beside the output
        check_filter_path(output.path.parent.absolute(),
                          "for the output: chunks read their stabilization beside it")
    if stab is not None and stab.method == "deshake" and stab.decided != "none":
        raise UsageError(f"{field('chunks')} with deshake (this ffmpeg has no vid.stab): "
                         "deshake follows "
                         "the camera frame by frame from the start: drop one of them, or use an "
                         "ffmpeg with vid.stab (the one imageio-ffmpeg ships has it)")


def chunk_plan(whole: Any, cut_first: int, cut_end: int, index: int,
               motion_warmup: int, before: int, after: int,
               stabilized: Optional[StabilizedChunks] = None) -> Stream:
    """The plan of one chunk making output frames ``[cut_first, cut_end)`` of ``whole``.

    ``stabilized``: the run's corrections; the chunk then starts (earlier) where vid.stab's
    kept borders are exact again and reads its own slice of them.
    """

    info, span = whole.info, whole.span
    ks = whole.channel_ks or (whole.k,)
    deepest = max(ks)
    warm = min(motion_warmup + before, cut_first)
    if stabilized is not None and stabilized.stab.decided != "none":
        # the chain is decode -> deinterlace -> stabilize -> denoise -> blend -> trail: the
        # first stabilized frame that must be exact is before the chunk by the warm-ups after
        # the stabilizer; reading starts at its last fully covered frame, less the
        # deinterlacer's reach before the stabilizer
        pre = _deinterlace_reach(whole)
        exact = cut_first - min(motion_warmup + before - pre, cut_first)
        warm = cut_first - max(0, stabilized.start(exact) - pre)
    start = span.first + cut_first - warm
    if whole.mode == "offset":
        stop = min(span.first + cut_end + deepest + after, span.first + span.count)
        count = stop - start
        out_frames = count - deepest
    else:
        stop = min(span.first + cut_end + after, span.first + span.count)
        count = stop - start
        out_frames = count
    rng = FrameRange(start, count, span.total)
    timing = range_timing(info, rng, out_frames if whole.mode == "offset" else None)
    k, channel_ks, reference = whole.k, whole.channel_ks, None
    stabilizer, reference_stabilizer = whole.stabilizer, None
    if whole.mode == "freeze":
        low = max(span.first, span.first + min(ks) - before)
        if stabilized is not None and stabilized.stab.decided != "none":  # as above
            pre = _deinterlace_reach(whole)
            exact = max(0, min(ks) - (before - pre))
            low = span.first + max(0, stabilized.start(exact) - pre)
        high = min(span.first + span.count, span.first + deepest + 1 + after)
        reference = range_timing(info, FrameRange(low, high - low, span.total), None)
        if stabilized is not None:
            reference_stabilizer = stabilized.sliced(low - span.first, high - low)
        shift = low - span.first
        k = whole.k - shift
        channel_ks = tuple(c - shift for c in whole.channel_ks) if whole.channel_ks else None
    if stabilized is not None:
        stabilizer = stabilized.sliced(start - span.first, count)
    cut = ChunkCut(index, cut_first, cut_end - cut_first, warm, reference, reference_stabilizer)
    return dataclasses.replace(whole, k=k, channel_ks=channel_ks, out_frames=out_frames,
                               frames=rng, timing=timing, cut=cut, stabilizer=stabilizer,
                               strategy="split" if whole.mode == "freeze" else whole.strategy)


def segment_duration(keep: int, fps: Fraction) -> Fraction:
    return Fraction(keep) / fps


def concat_listing(segments: list[tuple[Path, Fraction]]) -> str:
    """The concat demuxer's script: each file and its exact duration."""
    lines = ["ffconcat version 1.0"]
    for path, duration in segments:
        quoted = str(path).replace("'", "'\\''")
        lines.append(f"file '{quoted}'")
        lines.append(f"duration {seconds_text(duration)}")
    return "\n".join(lines) + "\n"


def join_command(whole: Any, ffmpeg_bin: str, listing: Path, dst: Path,
                 overwrite: bool) -> list[str]:
    """argv joining the segments listed in ``listing`` into ``dst`` (video copied), with the
    audio (and subtitles) of ``whole`` cut once from the input as the single pass cuts them."""
    concat = ffmpeg.input(str(listing), f="concat", safe=0)
    streams = [concat["v:0"]]
    video = encode.video_args(whole)
    kwargs: dict[str, Any] = {"c:v": "copy", "fflags": "+bitexact"}
    kwargs.update({key: video[key] for key in JOIN_KEYS if key in video})
    tracks = encode.audio_tracks(whole)
    subtitles = encode.kept_subtitles(whole)
    if tracks or subtitles:
        source = ffmpeg.input(str(whole.info.path), **literal_input_args(whole.info.path),
                              **whole.timing.input_args())
        for track in tracks:
            audio = source[f"a:{track}"]
            if audio_needs_cut(whole.timing):
                audio = cut_audio(audio, whole.timing)
            streams.append(audio)
        if tracks:
            kwargs.update(encode.audio_args(whole))
            kwargs["flags:a"] = "+bitexact"
            kwargs["t"] = seconds_text(whole.out_duration)
        for track in subtitles:
            streams.append(source[f"s:{track}"])
        if subtitles:
            kwargs.update(encode.subtitle_args(whole))
    out = ffmpeg.output(*streams, str(dst), **kwargs)
    return [ffmpeg_bin, *GLOBAL_ARGS, "-y" if overwrite else "-n", *out.get_args()]


def boundaries(whole: Any, chunks: int, motion_warmup: int, before: int) -> list[int]:
    """Output-frame boundaries ``[0, b1, ..., out_frames]`` for ``chunks`` chunks of about
    equal length, each moved to where its first read frame is a keyframe (no frames decoded
    and dropped after the seek) when one is within a tenth of a chunk."""
    total = whole.out_frames
    chunks = max(1, min(chunks, total))
    index = whole.info.index
    keys = index.keyframes if index is not None else (0,)
    first = whole.span.first
    cuts = [0]
    for i in range(1, chunks):
        ideal = round(i * total / chunks)
        slack = max(1, total // chunks // 10)
        read = first + ideal - motion_warmup - before
        near = [k for k in keys if abs(k - read) <= slack]
        if near:
            best = min(near, key=lambda k: abs(k - read))
            ideal = best - first + motion_warmup + before
        if cuts[-1] < ideal < total:
            cuts.append(ideal)
    cuts.append(total)
    return cuts


def check_boundaries(cuts: list[int], total: int) -> None:
    if cuts[0] != 0 or cuts[-1] != total or any(b <= a for a, b in zip(cuts, cuts[1:])):
        raise UsageError(f"chunk boundaries must rise from 0 to {total}: {cuts}")
