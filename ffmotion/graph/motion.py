"""The motion-extraction filter graph and the ffmpeg command around it.

Pure: builds ffmpeg-python streams and argv lists from :class:`Options` and
:class:`MediaInfo`; starts no process and touches no file. Every filter name lives here.

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
for the price of a second decode; see :func:`branches` and :func:`choose_strategy`.
"""
from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import TYPE_CHECKING, Any, Optional

import ffmpeg

from ffmotion.graph import looks, outputs as outs
from ffmotion.core.errors import UsageError
from ffmotion.core.looks import Look, working_format
from ffmotion.graph.extras import FrameRange, Stabilizer, frame_range, stabilize_video
from ffmotion.graph.timing import Timing, VariableTiming, audio_needs_cut, cut_audio, plan_timing, select
from ffmotion.graph.picture import (Picture, frame_size, output_args as picture_output_args, picture_for,
                      prelude)
from ffmotion.core.options import Mode, Options, Strategy, format_fps
from ffmotion.core.pixfmt import chroma_subsampling, plane_layout, working_pix_fmt
from ffmotion.media.streams import TEXT_SUBTITLES, StreamInfo, choose_audio
from ffmotion.media.info import MediaInfo

if TYPE_CHECKING:  # graph.chunks is imported by the chunked runs that use it
    from ffmotion.graph.chunks import ChunkCut

GLOBAL_ARGS = ["-hide_banner", "-nostdin"]
# Deterministic files: no random Matroska UIDs, no version strings; the same options give
# byte-identical output whether ffmotion or the printed command runs ffmpeg.
BITEXACT = {"fflags": "+bitexact", "flags:v": "+bitexact", "flags:a": "+bitexact"}


@dataclass(frozen=True)
class Container:
    """Defaults for one output extension."""

    video: dict[str, Any]
    audio_copy: Optional[frozenset[str]]  # codecs the container takes as they are; None: any
    audio_codec: str  # what other audio is encoded to
    lossless_ok: bool = False
    audio_ok: bool = True  # False: the format holds no audio (y4m, GIF, images)
    audio_extra: Optional[dict[str, Any]] = None  # e.g. MXF takes 48 kHz PCM only


# preset by measurement (scripts/bench.py --sections encoders): at CRF 18 on motion output
# "faster" matched medium's PSNR with smaller files for ~55% of its CPU time.
# tune psnr by rate-distortion on real footage (scripts/bench_encoders.py, README "Encoding
# the motion picture"): the motion picture is mid-gray plus the noise of two frames, and
# x264's adaptive quantization spends bits and time on that noise; without it files are
# 8-16 % smaller at equal PSNR on real footage (BD-rate), for 0-16 % less CPU.
# x264-params: part of that gain spent on speed, options a user does not see (README "Encoding
# the motion picture", scripts/bench_encoders.py X264_SPEED): diamond motion search, subme 3,
# no trellis, no inter sub-partitions; BD-rate still <= 0 against the default before tune psnr
# on every real clip, for 0.6-0.8x its CPU. Tuned for preset faster only: dropped with others.
_X264_DEMO = {"c:v": "libx264", "crf": 18, "preset": "faster", "pix_fmt": "yuv420p"}
_X264_SPEED = "me=dia:subme=3:trellis=0:partitions=i8x8,i4x4"
_X264 = {**_X264_DEMO, "tune": "psnr", "x264-params": _X264_SPEED}
_MPEG2 = {"c:v": "mpeg2video", "q:v": 3, "pix_fmt": "yuv420p"}
_TS_AUDIO = frozenset({"aac", "mp3", "mp2", "ac3", "eac3", "opus"})
# libvpx-vp9 speed by --preset name (x264's names, so one --preset works for both). Measured
# at 720p (scripts/measure_outputs.py vp9): "faster" = good/cpu-used 5 took ~0.6x the CPU of
# libvpx's default (good/1) for -0.4 dB PSNR and +17 % size; realtime 5..8 took ~0.25-0.3x
# for -0.8 to -1.3 dB and +68-90 % size (README "Outputs").
# No hidden libvpx options on top (scripts/bench_encoders.py VP9_SPEED, README "VP9 speed
# options"): in this one-pass constant-quality mode lag-in-frames, auto-alt-ref, arnr-* and
# enable-tpl leave the output byte-identical; aq-mode and error-resilient cost 4-16 % BD-rate,
# tile-columns 0 saves some CPU but costs 1.4-1.55x the wall time.
_VP9_SPEED: dict[str, dict[str, Any]] = {
    "veryslow": {"deadline": "good", "cpu-used": 0},
    "slower": {"deadline": "good", "cpu-used": 1},
    "slow": {"deadline": "good", "cpu-used": 2},
    "medium": {"deadline": "good", "cpu-used": 3},
    "fast": {"deadline": "good", "cpu-used": 4},
    "faster": {"deadline": "good", "cpu-used": 5},
    "veryfast": {"deadline": "realtime", "cpu-used": 5},
    "superfast": {"deadline": "realtime", "cpu-used": 7},
    "ultrafast": {"deadline": "realtime", "cpu-used": 8},
}
_MP4_AUDIO = frozenset({"aac", "mp3", "alac", "ac3", "eac3", "opus", "flac"})
CONTAINERS: dict[str, Container] = {
    ".mp4": Container({**_X264, "movflags": "+faststart"}, _MP4_AUDIO, "aac"),
    ".m4v": Container({**_X264, "movflags": "+faststart"}, _MP4_AUDIO, "aac"),
    ".mov": Container({**_X264, "movflags": "+faststart"},
                      _MP4_AUDIO | {"pcm_s16le", "pcm_s24le", "pcm_s16be", "pcm_s24be"}, "aac"),
    ".mkv": Container(dict(_X264), None, "aac", lossless_ok=True),
    ".avi": Container({"c:v": "mpeg4", "vtag": "xvid", "q:v": 3, "pix_fmt": "yuv420p"},
                      frozenset({"mp3", "ac3", "aac", "pcm_s16le", "pcm_u8"}), "aac",
                      lossless_ok=True),
    ".webm": Container({"c:v": "libvpx-vp9", "crf": 32, "b:v": 0, "row-mt": 1,
                        **_VP9_SPEED["faster"], "pix_fmt": "yuv420p"},
                       frozenset({"opus", "vorbis"}), "libopus"),
    ".nut": Container(dict(_X264), None, "aac", lossless_ok=True),
    # MPEG transport streams (broadcast, AVCHD cameras) and Flash video: H.264 + AAC
    ".ts": Container(dict(_X264), _TS_AUDIO, "aac"),
    ".m2ts": Container(dict(_X264), _TS_AUDIO, "aac"),
    ".mts": Container(dict(_X264), _TS_AUDIO, "aac"),
    ".flv": Container(dict(_X264), frozenset({"aac", "mp3"}), "aac"),
    # MPEG program streams and MXF (broadcast): MPEG-2 video; MXF takes 48 kHz PCM audio only
    ".mpg": Container(dict(_MPEG2), frozenset({"mp2", "mp3", "ac3"}), "mp2"),
    ".mpeg": Container(dict(_MPEG2), frozenset({"mp2", "mp3", "ac3"}), "mp2"),
    ".mxf": Container(dict(_MPEG2), frozenset(), "pcm_s16le", audio_extra={"ar": 48000}),
    ".ogv": Container({"c:v": "libtheora", "q:v": 7, "pix_fmt": "yuv420p"},
                      frozenset({"vorbis", "opus", "flac"}), "libvorbis"),
    # raw frames in the working format: exact, like FFV1, for pipes to other tools
    ".y4m": Container({"strict": -1}, frozenset(), "", audio_ok=False),
    # an HLS playlist (core/sinks.py): MPEG-TS segments
    ".m3u8": Container(dict(_X264), _TS_AUDIO, "aac"),
}
# batch's {ext}: input extensions kept for the output (H.264/VP9/mpeg4 defaults); MPEG-PS,
# MXF, Ogg and raw y4m inputs get .mp4 instead (MPEG-2/Theora/raw video; MPEG-2 and MXF hold
# few frame rates: ONE_RATE_CONTAINERS, ENCODER_RATES)
KEEP_EXTENSION = frozenset({".mp4", ".m4v", ".mov", ".mkv", ".avi", ".webm", ".nut", ".ts",
                            ".m2ts", ".mts", ".flv"})
_ANIMATED_BOX = Container({}, frozenset(), "", audio_ok=False)

def _rates(text: str) -> frozenset[Fraction]:
    return frozenset(Fraction(rate) for rate in text.split())


# Encoders that code one frame rate from a list: ffmpeg's own ("ffmpeg -h encoder=NAME",
# Supported framerates; tests/test_vfr_containers.py checks them against the binary).
# ffmpeg snaps any other rate to the nearest in the list, so the file plays at another speed.
ENCODER_RATES: dict[str, frozenset[Fraction]] = {
    "mpeg2video": _rates(
        "1 2 3 4 5 6 8 9 10 12 15 16 18 20 24 25 30 32 36 40 45 48 50 60 72 75 80 90 96 100 120 "
        "150 180 200 240 750/1001 800/1001 960/1001 1000/1001 1200/1001 1250/1001 1500/1001 "
        "1600/1001 1875/1001 2000/1001 2400/1001 2500/1001 3000/1001 3750/1001 4000/1001 "
        "4800/1001 5000/1001 6000/1001 7500/1001 8000/1001 10000/1001 12000/1001 15000/1001 "
        "20000/1001 24000/1001 30000/1001 60000/1001"),
    "mpeg1video": _rates("24000/1001 24 25 30000/1001 30 50 60000/1001 60 15 5 10 12"),
}
# Containers that store one frame rate for the stream, not a time per frame: variable-rate
# input is written at a constant rate. MXF takes only its content-package rates (measured:
# the bundled ffmpeg's mxf muxer refuses 15, 12, 10 ... "Unsupported frame rate"); AVI, raw
# y4m and Ogg Theora take any rate (AVI writes a variable rate as empty "repeat" frames at
# 1/time base: a 1000 fps file for Matroska input; the mpeg4 encoder refuses 1/90000).
ONE_RATE_CONTAINERS: dict[str, Optional[frozenset[Fraction]]] = {
    ".avi": None, ".y4m": None, ".ogv": None,
    ".mxf": _rates("24 25 30 48 50 60 72 75 90 96 100 120 24000/1001 30000/1001 60000/1001"),
}


_BROADCAST_RATES = _rates("24000/1001 24 25 30000/1001 30 50 60000/1001 60")


@dataclass(frozen=True)
class RateRule:
    """The frame rates an output takes (its container's and its video encoder's)."""

    rates: Optional[frozenset[Fraction]]  # None: any constant rate
    what: str  # who sets the rule, for messages: ".mxf", ".mpg with mpeg2video"


def rate_rule(options: Options) -> Optional[RateRule]:
    """What constant frame rate ``options``' output needs; None where frames keep their own
    times (MP4, Matroska, ... with an encoder that takes any time base)."""
    if options.encode.lossless or outs.output_kind(options.dst) != "video":
        codec = "ffv1" if options.encode.lossless else None
    else:
        codec = options.encode.codec or video_codec_default(options.dst)
    suffix = options.dst.suffix.lower()
    by_codec = ENCODER_RATES.get(codec or "")
    if suffix not in ONE_RATE_CONTAINERS and by_codec is None:
        return None
    by_box = ONE_RATE_CONTAINERS.get(suffix)
    if by_box is not None and by_codec is not None:
        rates: Optional[frozenset[Fraction]] = by_box & by_codec
    else:
        rates = by_box if by_box is not None else by_codec
    what = suffix if by_codec is None or by_box is not None else f"{suffix} with {codec}"
    return RateRule(rates, what)


def nearest_rate(rates: frozenset[Fraction], fps: Fraction) -> Fraction:
    """The rate of ``rates`` closest to ``fps``, of its family where the list has one (NTSC
    rates like 29.97 for NTSC-like input, whole rates for others; 15 -> 24, not 23.976), the
    higher one on a tie (fewer frames dropped)."""
    ntsc = fps.denominator % 1001 == 0
    family = [rate for rate in rates if (rate.denominator % 1001 == 0) == ntsc] or list(rates)
    return min(family, key=lambda rate: (abs(rate - fps), -rate))


def constant_rate(plan: Plan) -> Optional[Fraction]:
    """The constant rate a variable-rate input is written at where the output stores one
    rate (:func:`rate_rule`): the stream's, or the nearest one the output takes; None when
    the frames keep their own times or ``--fps`` chose the rate."""
    rule = rate_rule(plan.options)
    if rule is None or plan.timing.variable is None or plan.options.encode.fps is not None:
        return None
    if rule.rates is None or plan.info.fps in rule.rates:
        return plan.info.fps
    return nearest_rate(rule.rates, plan.info.fps)


def check_rate(plan: Plan) -> None:
    """Refuse, before ffmpeg starts, a frame rate the output cannot hold (ffmpeg would fail
    late, or snap it to another rate and change the speed): one line naming ``--fps``."""
    rule = rate_rule(plan.options)
    if rule is None or rule.rates is None:
        return
    fps = shaping(plan)[1] or plan.info.fps
    if fps in rule.rates:
        return
    common = sorted(rule.rates & _BROADCAST_RATES)
    listed = ", ".join(format_fps(rate) for rate in common)
    given = "--fps" if plan.options.encode.fps is not None else plan.info.path.name
    raise UsageError(f"{rule.what} holds frame rates like {listed}, not the "
                     f"{format_fps(fps)} fps of {given}: add --fps "
                     f"{format_fps(nearest_rate(rule.rates, fps))} (frames repeated or dropped "
                     f"to that rate), or write .mp4 or .mkv")

# ffmpeg's y4m muxer takes planar YUV and gray (deep ones with -strict -1), not RGB
_Y4M_FORMATS = re.compile(r"^(yuv(444|422|420|411)p|gray)((9|1[0246])le)?$")
_CRF_CODECS = {"libx264", "libx264rgb", "libx265", "libvpx-vp9", "libvpx", "libaom-av1",
               "libsvtav1", "librav1e"}
_QSCALE_CODECS = {"mpeg4", "libxvid", "mpeg2video", "mpeg1video", "mjpeg"}


@dataclass(frozen=True)
class Plan:
    """A job with every number resolved: what the graph and the runner act on."""

    options: Options
    info: MediaInfo
    k: int  # offset mode: distance between the frames blended; freeze mode: reference index
    out_frames: int
    working_pix_fmt: str
    channel_ks: Optional[tuple[int, int, int]] = None  # --rgb-offsets: red, green, blue K
    frames: Optional[FrameRange] = None  # the part processed (--start/--end); None: all
    stabilizer: Optional[Stabilizer] = None
    strategy: Strategy = "split"  # resolved: see choose_strategy
    picture: Optional[Picture] = None  # the prelude: full range, deinterlacing (graph.picture)
    timing: Timing = Timing()  # seek, frame selection, timestamps (graph.timing)
    cut: Optional[ChunkCut] = None  # one chunk of a chunked run (graph.chunks); None: whole
    cpus: int = field(default_factory=lambda: usable_cpus())  # sets x264's thread count

    @property
    def mode(self) -> Mode:
        return self.options.mode

    @property
    def span(self) -> FrameRange:
        """The frames processed (the whole input unless a range was given)."""
        if self.frames is not None:
            return self.frames
        return FrameRange(0, self.info.frames, self.info.frames)

    def input_args(self) -> dict[str, Any]:
        """Input options for the range (a seek to a keyframe, ``-t``), shared by every pass;
        and those that keep the input name literal (never an image2 pattern)."""
        return {**self.info.input.input_args(), **self.timing.input_args()}

    def source_video(self, source: Any) -> Any:
        """The processed frames of an input node: the chosen video stream, the range's
        frames selected by count (exact on every container)."""
        return select(source[f"v:{self.info.video_stream}"], self.timing)

    @property
    def out_duration(self) -> Fraction:
        """How long the output plays: from its first frame to the end of its last."""
        if self.timing.variable is None or self.info.index is None:
            return Fraction(self.out_frames) / self.info.fps
        first = self.span.first
        index = self.info.index
        return index.end_time(first + self.out_frames - 1, self.info.fps) - index.times[first]

    def describe(self) -> str:
        """One human line: what will be blended with what."""
        fps = format_fps(self.info.fps)
        if self.mode == "freeze":
            what = f"every frame blended with inverted frame {self.k}"
        else:
            what = f"offset {self.k} frame{'s' if self.k != 1 else ''}"
        if self.options.offset.is_duration:
            what += f" ({self.options.offset.text} at {fps} fps)"
        if self.channel_ks is not None:
            what = "red/green/blue {} {}/{}/{}".format(
                "frozen frames" if self.mode == "freeze" else "offsets", *self.channel_ks)
        look = self.options.look
        if not look.is_classic:
            what += f", look: {look.describe()}"
        span = self.span
        stream = not self.info.input.seekable
        if not span.is_whole and not stream:
            what += (f", frames {span.first}-{span.first + span.count - 1} of "
                     f"{self.info.frames}")
        if self.stabilizer is not None and self.stabilizer.decided != "none":
            what += f", stabilized ({self.stabilizer.method})"
        if self.strategy == "dual":
            what += ", input decoded twice (dual strategy)"
        if self.picture is not None and self.picture.describe():
            what += f", {self.picture.describe()}"
        if self.info.rotation:
            what += f", rotated {self.info.rotation}° (shown {self.info.display_size[0]}x{self.info.display_size[1]})"
        rate, rule = constant_rate(self), rate_rule(self.options)
        if rate is not None and rule is not None:
            what += (f", written at a constant {format_fps(rate)} fps ({rule.what} holds one "
                     "frame rate, the input's varies)")
        what += self.describe_streams()
        if stream:
            from ffmotion.graph.stream import describe_count

            return f"{what}, {describe_count(self)}, {self.working_pix_fmt}"
        return f"{what}, {self.out_frames} of {span.count} frames, {self.working_pix_fmt}"

    def describe_streams(self) -> str:
        """What is taken from the input and what is left out, for the summary line."""
        info, parts = self.info, []
        videos = info.video_streams
        if len(videos) > 1:
            parts.append(f"video stream {info.video_stream} of {len(videos)}")
        audios = info.audio_streams
        kept = audio_tracks(self)
        if audios and len(kept) < len(audios):
            if not kept:
                parts.append("audio dropped" if not self.options.audio
                             or self.options.audio_stream == "none" else "no audio")
            else:
                parts.append(f"audio track {kept[0]} of {len(audios)} "
                             "(--audio-stream all keeps every track)")
        elif len(audios) > 1:
            parts.append(f"all {len(audios)} audio tracks")
        subs = info.subtitle_streams
        if subs:
            copied, why = subtitle_plan(self)
            if why is None:
                parts.append(f"{len(subs)} subtitle track{'s' if len(subs) > 1 else ''} kept")
            else:
                parts.append(f"{len(subs) - len(copied)} of {len(subs)} subtitle track(s) "
                             f"dropped ({why})")
        return "".join(f", {p}" for p in parts)


def plan(options: Options, info: MediaInfo) -> Plan:
    """Resolve the offset against the input; reject offsets the input is too short for."""
    if not info.input.seekable:  # stdin, a URL, a device: length unknown
        from ffmotion.graph.stream import plan_stream

        return plan_stream(options, info)
    k = options.offset.to_frames(info.fps)
    span = frame_range(options, info)
    n = span.count
    # the frames read (from the seek's keyframe) may change size: scale them to one
    read_from = span.first - range_timing(info, span, None).skip
    info, resize = frame_size(info, read_from, span.first, span.first + n)
    if options.mode == "offset":
        if k < 1:
            raise UsageError(
                f"offset {options.offset.text} is shorter than one frame at {format_fps(info.fps)} fps"
            )
        if k >= n:
            raise UsageError(
                f"offset {_frames_text(options.offset.text, k)} needs more than the {n} frames "
                f"of {info.path.name}{_ranged(span)} (at most {n - 1})"
            )
        out_frames = n - k
    else:
        if k >= n:
            raise UsageError(
                f"freeze frame {_frames_text(options.offset.text, k)} is past the last frame "
                f"of {info.path.name}{_ranged(span)} (frames 0 to {n - 1})"
            )
        out_frames = n
    channel_ks = channel_offsets(options, info, k, n)
    if channel_ks is not None and options.mode == "offset":
        out_frames = n - max(channel_ks)
    working = working_format(working_pix_fmt(info.pix_fmt), options.look)
    deepest = max(channel_ks) if channel_ks is not None else k
    return Plan(options, info, k, out_frames, working, channel_ks,
                frames=None if span.is_whole else span,
                strategy=choose_strategy(options, info, deepest, working),
                picture=picture_for(info, options.deinterlace, resize),
                timing=range_timing(info, span, out_frames if options.mode == "offset" else None))


def range_timing(info: MediaInfo, span: FrameRange, out_frames: Optional[int]) -> Timing:
    """How the frames of ``span`` are read: the seek, the trim by count, the timestamps."""
    index = info.index
    if index is None:  # a MediaInfo made by hand: constant rate from 0
        times = tuple(Fraction(i) / info.fps for i in range(info.frames))
        return plan_timing(times, (0,), info.fps, span.first, span.count, span.total, True,
                           out_frames, 1 / info.fps)
    return plan_timing(index.times, index.keyframes, info.fps, span.first, span.count,
                       span.total, info.constant_rate, out_frames, index.time_base)


def channel_offsets(options: Options, info: MediaInfo, k: int,
                     n: int) -> Optional[tuple[int, int, int]]:
    """``--rgb-offsets`` in frames, checked against the input like the offset itself."""
    channels = options.look.rgb_offsets
    if channels is None:
        return None
    frames = []
    for name, channel in zip(("red", "green", "blue"), channels):
        kc = channel.to_frames(k, info.fps)
        if options.mode == "offset" and kc < 1:
            raise UsageError(f"--rgb-offsets: the {name} offset {channel.text} is shorter than one "
                             f"frame (each must be at least 1 frame)")
        if options.mode == "offset" and kc >= n:
            raise UsageError(f"--rgb-offsets: the {name} offset {_frames_text(channel.text, kc)} "
                             f"needs more than the {n} frames of {info.path.name} (at most {n - 1})")
        if options.mode == "freeze" and kc >= n:
            raise UsageError(f"--rgb-offsets: the {name} frame {_frames_text(channel.text, kc)} is "
                             f"past the last frame of {info.path.name} (frames 0 to {n - 1})")
        frames.append(kc)
    return frames[0], frames[1], frames[2]


def _ranged(span: FrameRange) -> str:
    return "" if span.is_whole else f" in the range given (from frame {span.first})"


def buffer_bytes(info: MediaInfo, k: int, pix_fmt: str) -> int:
    """What "split" makes ffmpeg hold: K decoded frames in the working format.

    The top branch waits for frame K of the shifted one in both modes, so frames 0..K-1 queue.
    """
    return k * plane_layout(pix_fmt, *info.display_size).frame_bytes


def choose_strategy(options: Options, info: MediaInfo, k: int, pix_fmt: str) -> Strategy:
    """The strategy asked for, or with "auto": "dual" when K frames exceed ``max_buffer``.

    Freeze mode with ``--rgb-offsets`` holds only the three reference frames in "split", and
    its "dual" graph stalls in ffmpeg 9.0.2 (three one-frame branches of a second input): it
    always runs "split".
    """
    if options.mode == "freeze" and options.look.rgb_offsets is not None:
        if options.strategy == "dual":
            raise UsageError("--strategy dual with --freeze and --rgb-offsets stalls in ffmpeg; "
                             "split holds only the three reference frames: drop --strategy")
        return "split"
    if options.strategy != "auto":
        return options.strategy
    return "dual" if buffer_bytes(info, k, pix_fmt) > options.max_buffer else "split"


def check_output_format(options: Options) -> None:
    """Fail early on an output extension we cannot choose an encoder for."""
    problem = outs.image_name_problem(options.dst)
    if problem:
        raise UsageError(problem)
    box = container(options.dst, options.encode.codec is not None)
    enc = options.encode
    if enc.lossless and not box.lossless_ok:
        raise UsageError(
            f"--lossless writes FFV1, which {options.dst.suffix or 'this output'} cannot hold: "
            "use a .mkv output"
        )
    if not box.audio_ok and (enc.audio_codec is not None or enc.audio_bitrate is not None):
        raise UsageError(f"{_kind_name(options.dst)} holds no audio: drop --audio-codec/"
                         "--audio-bitrate")
    codec = enc.codec or video_codec_default(options.dst)
    if enc.preset is not None and codec == "libvpx-vp9" and enc.preset not in _VP9_SPEED:
        raise UsageError(f"--preset {enc.preset} has no VP9 speed: use one of "
                         f"{', '.join(_VP9_SPEED)}")


def _kind_name(dst: Path) -> str:
    kind = outs.output_kind(dst)
    return {"gif": "a GIF", "webp": "an animated WebP", "apng": "an APNG",
            "sequence": "an image sequence"}.get(kind, f"a {dst.suffix} file")


def video_codec_default(dst: Path) -> Optional[str]:
    found = CONTAINERS.get(dst.suffix.lower())
    return found.video.get("c:v") if found is not None else None


def _frames_text(text: str, k: int) -> str:
    return f"{text} = {k} frames" if not text.isdigit() else f"{k} frames"


def container(dst: Path, codec_given: bool) -> Container:
    """The defaults for ``dst``'s extension (a codec of the user's makes any extension work)."""
    if outs.output_kind(dst) != "video":
        return _ANIMATED_BOX  # GIF/WebP/APNG and image sequences: video_args knows them
    found = CONTAINERS.get(dst.suffix.lower())
    if found is not None:
        return found
    if codec_given:
        return Container({}, None, "aac")
    known = ", ".join([*CONTAINERS, *outs.ANIMATED, "out%04d.png/.tif/.jpg"])
    raise UsageError(
        f"cannot choose an encoder for {dst.suffix or 'outputs without an extension'}: "
        f"use one of {known}, or pass --codec"
    )


def motion_video(video: Any, k: int, fps: Fraction, mode: Mode = "offset",
                 pix_fmt: Optional[str] = None, look: Optional[Look] = None,
                 channel_ks: Optional[tuple[int, int, int]] = None, *, second: Any = None,
                 timing: Optional[VariableTiming] = None, second_at_k: bool = False) -> Any:
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
    :func:`dual_timing`.
    """
    look = look if look is not None else Look()
    if not pix_fmt and not look.is_classic:
        raise ValueError("a look needs the working pixel format")
    indexed = _indexed(video, fps, pix_fmt, look, timing)
    original = None
    if looks.needs_original(look):
        tee = indexed.split()
        indexed, original = tee[0], tee[1]
    indexed = looks.prepare(indexed, look)
    again = (looks.prepare(_indexed(second, fps, pix_fmt, look, timing), look)
             if second is not None else None)
    if channel_ks is not None:
        assert pix_fmt is not None
        gray = looks.channel_format(pix_fmt)
        seconds = looks.split_channels(again) if again is not None else [None, None, None]
        channels = [_pair(channel, kc, mode, look, gray, other, timing)
                    for channel, kc, other in zip(looks.split_channels(indexed), channel_ks,
                                                  seconds)]
        blended = looks.merge_channels(*channels, pix_fmt)
    else:
        blended = _pair(indexed, k, mode, look, pix_fmt or "", again, timing, second_at_k)
    if not look.is_classic:
        assert pix_fmt is not None
        blended = looks.finish(blended, original, look, pix_fmt)
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


def _pair(indexed: Any, k: int, mode: Mode, look: Look, pix_fmt: str,
          second: Any = None, timing: Optional[VariableTiming] = None,
          second_at_k: bool = False) -> Any:
    """Frame i combined with frame i+K (offset mode) or with frame K (freeze mode)."""
    top, shifted = branches(indexed, k, mode, second, timing, second_at_k)
    blend_args: dict[str, Any] = {} if mode == "freeze" else {"shortest": 1}
    return looks.combine(top, shifted, look.blend, pix_fmt, **blend_args)


def branches(indexed: Any, k: int, mode: Mode = "offset", second: Any = None,
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


def _indexed(video: Any, fps: Fraction, pix_fmt: Optional[str], look: Look,
             timing: Optional[VariableTiming] = None) -> Any:
    """The working format, re-timed for pairing by index: timestamps 0, 1, 2... in units of
    1/fps, or (``timing``) ``N*B`` plus the frame's own time since the first frame."""
    if pix_fmt:
        video = looks.convert(video, look, pix_fmt).filter("format", pix_fmt)
    if timing is not None:
        return video.setpts(f"N*{timing.stride}+(PTS-STARTPTS)")
    tb = 1 / Fraction(fps)
    return video.filter("settb", f"{tb.numerator}/{tb.denominator}").setpts("N")


def second_input(path: Path, stream: str = "v:0", **input_args: Any) -> Any:
    """The video of ``path`` opened as another ffmpeg input, for the "dual" strategy.

    ``-an`` (audio is never read from it) also keeps ffmpeg-python from merging it with a
    first input of the same file: identical input nodes collapse into one.
    """
    return ffmpeg.input(str(path), an=None, **input_args)[stream]


def video_args(plan: Plan) -> dict[str, Any]:
    """Encoder options: the container's defaults, overridden by the user's."""
    enc = plan.options.encode
    dst = plan.options.dst
    kind = outs.output_kind(dst)
    if enc.lossless:
        return {"c:v": "ffv1", "level": 3, "g": 1,
                **picture_output_args(plan.picture, plan.working_pix_fmt, None),
                **dict(enc.encoder_opts)}
    if kind == "sequence":
        args = outs.sequence_args(dst.suffix, plan.working_pix_fmt)
    elif kind != "video":
        args = outs.animated_args(kind)
    else:
        args = dict(container(dst, enc.codec is not None).video)
    if dst.suffix.lower() == ".y4m" and enc.codec is None:
        if not _Y4M_FORMATS.match(plan.working_pix_fmt) and enc.pix_fmt is None:
            raise UsageError(f".y4m holds YUV and gray only, and this input works in "
                             f"{plan.working_pix_fmt}: write --lossless .mkv or an "
                             f"out%04d.png sequence for exact pixels")
        args["pix_fmt"] = plan.working_pix_fmt
    if enc.codec is not None and enc.codec != args.get("c:v"):
        playable = enc.codec in (_CRF_CODECS | _QSCALE_CODECS) - {"libx264rgb"}
        args = {"c:v": enc.codec, **({"pix_fmt": args["pix_fmt"]} if playable and "pix_fmt" in args else {})}
        args.update(_quality_defaults(enc.codec))
    codec = args.get("c:v")
    if enc.crf is not None:
        args.pop("crf", None)
        args.pop("q:v", None)
        if codec in _QSCALE_CODECS:
            args["q:v"] = _number(enc.crf)
        else:
            args["crf"] = _number(enc.crf)
            if codec in ("libvpx-vp9", "libvpx"):
                args["b:v"] = 0
    if enc.preset is not None and codec == "libvpx-vp9":
        args.update(_VP9_SPEED[enc.preset] if enc.preset in _VP9_SPEED else {"preset": enc.preset})
    elif enc.preset is not None:
        args["preset"] = enc.preset
    if enc.pix_fmt is not None:
        args["pix_fmt"] = enc.pix_fmt
    args.update(picture_output_args(plan.picture, plan.working_pix_fmt, args.get("pix_fmt")))
    if args.get("c:v") in HEVC_ENCODERS and plan.options.dst.suffix.lower() in HVC1_CONTAINERS:
        args["tag:v"] = "hvc1"  # Apple players refuse hev1, ffmpeg's default tag in MP4/MOV
    from ffmotion.graph.stream import encoder_args  # live inputs, HLS outputs

    args.update(encoder_args(plan, args))
    args.update(dict(enc.encoder_opts))  # checked against the encoder's options beforehand
    if args.get("x264-params") == _X264_SPEED and args.get("preset") != _X264["preset"]:
        del args["x264-params"]  # speed options for preset faster; --preset X means X's own
    return args


def hdr_warning(plan: Plan) -> Optional[str]:
    """The warning for HDR input (PQ or HLG) written at 8 bits (bands in its gradients, and
    players show it as SDR), with the flags that keep it 10-bit; None where that is not so."""
    from ffmotion.media.picture import HDR_TRANSFERS

    curve = HDR_TRANSFERS.get(plan.info.transfer)
    if curve is None or plan.options.encode.lossless:
        return None
    out_fmt = video_args(plan).get("pix_fmt") or plan.working_pix_fmt
    if plan_depth(out_fmt) > 8:
        return None
    return (f"{plan.info.path.name} is HDR ({curve}, {plan_depth(plan.working_pix_fmt)}-bit): "
            f"{out_fmt} output bands its gradients and loses the HDR signalling; for 10-bit "
            f"HDR output add --codec libx265 --pix-fmt yuv420p10le --encoder-opt "
            f"x265-params=colorprim=bt2020:transfer={plan.info.transfer}:colormatrix=bt2020nc "
            f"(or --lossless for exact pixels)")


def plan_depth(pix_fmt: str) -> int:
    """Bits per sample of ``pix_fmt``."""
    return plane_layout(pix_fmt, 2, 2).depth


HEVC_ENCODERS = frozenset({"libx265", "hevc_nvenc", "hevc_qsv", "hevc_vaapi", "hevc_amf",
                           "hevc_videotoolbox", "hevc_v4l2m2m", "hevc_mf", "hevc_vulkan"})
HVC1_CONTAINERS = frozenset({".mp4", ".mov", ".m4v"})


# --crf ranges the encoders accept (ffmpeg clamps some silently, refuses others late)
_QUALITY_RANGES: dict[str, tuple[float, float]] = {
    "libx264": (0, 51), "libx264rgb": (0, 51), "libx265": (0, 51),
    "libvpx-vp9": (0, 63), "libvpx": (0, 63), "libaom-av1": (0, 63), "libsvtav1": (0, 63),
    "librav1e": (0, 255),
    "mpeg4": (1, 31), "libxvid": (1, 31), "mpeg2video": (1, 31), "mpeg1video": (1, 31),
    "mjpeg": (1, 31),
}


def check_quality(options: Options) -> None:
    """``--crf`` within the range of the encoder it goes to (a usage error naming it)."""
    enc = options.encode
    if enc.crf is None or enc.lossless:
        return
    crf = enc.crf
    codec = enc.codec or container(options.dst, False).video["c:v"]
    limits = _QUALITY_RANGES.get(codec)
    what = "qscale" if codec in _QSCALE_CODECS else "CRF"
    if limits is not None and not limits[0] <= crf <= limits[1]:
        raise UsageError(f"--crf {_number(crf)} is outside the {what} range of {codec}: "
                         f"{_number(limits[0])} to {_number(limits[1])}")


def _quality_defaults(codec: str) -> dict[str, Any]:
    if codec in ("libx264", "libx264rgb"):
        return {"crf": 18, "preset": _X264["preset"], "tune": _X264["tune"],
                "x264-params": _X264_SPEED}
    if codec == "libx265":  # tune psnr: as for x264 (scripts/bench_encoders.py --sections x265)
        return {"crf": 20, "preset": "medium", "tune": "psnr"}
    if codec in ("libvpx-vp9",):
        return {"crf": 32, "b:v": 0, "row-mt": 1, **_VP9_SPEED["faster"]}
    if codec in _QSCALE_CODECS:
        return {"q:v": 3}
    return {}


def _number(value: float) -> Any:
    return int(value) if float(value).is_integer() else value


def audio_tracks(plan: Plan) -> tuple[int, ...]:
    """The audio tracks kept (positions as in ``0:a:N``): ``--audio-stream``, or none."""
    box = container(plan.options.dst, plan.options.encode.codec is not None)
    if not plan.options.audio or not box.audio_ok:
        return ()
    return choose_audio(plan.info.streams or _first_audio(plan.info),
                        plan.options.audio_stream)


def _first_audio(info: MediaInfo) -> tuple[StreamInfo, ...]:
    """A MediaInfo made by hand lists no streams: its one audio track, if any."""
    return (StreamInfo(1, "audio", info.audio_codec),) if info.audio_codec else ()


def audio_args(plan: Plan) -> dict[str, Any]:
    """Per kept track: ``--audio-codec``, else ``copy`` when the container takes the codec
    and the audio is not cut, else the container's encoder (cut PCM stays the same PCM)."""
    enc = plan.options.encode
    box = container(plan.options.dst, enc.codec is not None)
    tracks = audio_tracks(plan)
    infos = [s for s in plan.info.streams if s.kind == "audio"] or list(_first_audio(plan.info))
    cut = audio_needs_cut(plan.timing)
    if cut and enc.audio_codec == "copy" and tracks:
        raise UsageError("--audio-codec copy cannot start the sound on the first frame (a range, "
                         "or a video that starts after its audio): drop --audio-codec copy")
    args: dict[str, Any] = {}
    for out_no, track in enumerate(tracks):
        codec = infos[track].codec
        fits = box.audio_copy is None or codec in box.audio_copy
        suffix = "" if len(tracks) == 1 else f":{out_no}"
        if enc.audio_codec is not None and enc.audio_codec != "copy":
            chosen, rate = enc.audio_codec, enc.audio_bitrate
        elif enc.audio_codec == "copy" or (fits and not cut and not enc.audio_bitrate):
            args[f"c:a{suffix}"] = "copy"
            continue
        elif fits and codec.startswith("pcm_"):
            chosen, rate = codec, None
        else:
            chosen = box.audio_codec
            rate = enc.audio_bitrate or ("192k" if box.audio_codec == "aac" else None)
        args[f"c:a{suffix}"] = chosen
        if rate:
            args[f"b:a{suffix}"] = rate
        for key, value in (box.audio_extra or {}).items():
            args[f"{key}{suffix}"] = value
    return args


@dataclass(frozen=True)
class SubtitleRule:
    """What one output container does with subtitle tracks."""

    copy: frozenset[str]  # codecs it takes as they are
    text_to: Optional[str]  # the encoder other text subtitles are converted to; None: dropped


# Measured with the bundled ffmpeg 9.0.2, text read back with its times (tests/test_subtitles.py):
# Matroska takes SRT/ASS/WebVTT/plain text and the bitmap kinds but not mov_text; WebM takes
# WebVTT only; MP4/MOV mov_text only (text is converted to it, bitmaps dropped). NUT refuses
# SRT/WebVTT, writes mov_text it cannot read back and drops ASS end times; TS, FLV, MPEG-PS,
# AVI, Ogg and MXF keep no text subtitles: none of them is given any.
_MKV_SUBTITLES = frozenset({"subrip", "ass", "ssa", "webvtt", "text", "dvd_subtitle",
                            "hdmv_pgs_subtitle", "dvb_subtitle"})
SUBTITLE_RULES: dict[str, SubtitleRule] = {
    ".mkv": SubtitleRule(_MKV_SUBTITLES, "srt"),
    ".webm": SubtitleRule(frozenset({"webvtt"}), "webvtt"),
    ".mp4": SubtitleRule(frozenset(), "mov_text"),
    ".m4v": SubtitleRule(frozenset(), "mov_text"),
    ".mov": SubtitleRule(frozenset(), "mov_text"),
}


def subtitle_plan(plan: Plan) -> tuple[tuple[tuple[int, str], ...], Optional[str]]:
    """The subtitle tracks kept, as (position as in ``0:s:N``, ``copy`` or the encoder), and
    why the others are dropped (None when every track is kept).

    None are kept with ``--no-subtitles``, when the output's container holds none in a form
    that keeps their times, or when the range would shift their times (copied subtitles keep
    the input's times, off by the cut).
    """
    subs = plan.info.subtitle_streams
    if not subs:
        return (), None
    if not plan.options.subtitles:
        return (), "--no-subtitles"
    rule = SUBTITLE_RULES.get(plan.options.dst.suffix.lower())
    if rule is None or outs.output_kind(plan.options.dst) != "video":
        return (), "the output cannot hold them"
    if subtitles_shifted(plan):
        return (), "the range would shift their times"
    kept = []
    for position, stream in enumerate(subs):
        if stream.codec in rule.copy:
            kept.append((position, "copy"))
        elif rule.text_to is not None and stream.codec in TEXT_SUBTITLES:
            kept.append((position, rule.text_to))
    if len(kept) == len(subs):
        return tuple(kept), None
    return tuple(kept), f"{plan.options.dst.suffix.lower()} takes {_subtitle_kinds(rule)} only"


def _subtitle_kinds(rule: SubtitleRule) -> str:
    """The subtitles a container takes, in words, for the summary line."""
    if rule.copy == _MKV_SUBTITLES:
        return "text, DVD/Blu-ray/DVB subtitles"
    return "text subtitles"


def kept_subtitles(plan: Plan) -> tuple[int, ...]:
    """Subtitle tracks kept (positions as in ``0:s:N``), see :func:`subtitle_plan`."""
    return tuple(position for position, _ in subtitle_plan(plan)[0])


def subtitles_shifted(plan: Plan) -> bool:
    """True when output time 0 is not the input's start (a range, or a video that starts
    more than a frame after the audio): copied subtitles would show at the wrong times."""
    timing = plan.timing
    return timing.seek > 0 or timing.selects or timing.start_time > 1 / plan.info.fps


def subtitle_args(plan: Plan) -> dict[str, Any]:
    """Output options for the kept subtitle tracks: one ``-c:s`` when every track goes the
    same way (``copy``, or the container's text encoder), else one per track (``-c:s:N``)."""
    kept = subtitle_plan(plan)[0]
    codecs = {codec for _, codec in kept}
    if len(codecs) == 1:
        return {"c:s": codecs.pop()}
    return {f"c:s:{out_no}": codec for out_no, (_, codec) in enumerate(kept)}


def keeps_audio(plan: Plan) -> bool:
    return bool(audio_tracks(plan))


def shaping(plan: Plan) -> tuple[Optional[tuple[int, int]], Optional[Fraction]]:
    """(size, fps) the motion output is scaled/re-timed to; None for what stays as it is."""
    enc, info = plan.options.encode, plan.info
    kind = outs.output_kind(plan.options.dst)
    width, height = info.display_size  # what the graph sees (rotation applied)
    want_w, want_fps = outs.animated_defaults(kind, width, info.fps, enc.width, enc.height,
                                              enc.scale, enc.fps)
    if want_fps is None:
        want_fps = constant_rate(plan)
    if want_w is None and enc.height is None and enc.scale is None:
        size = None
    else:
        pix_fmt = video_args(plan).get("pix_fmt") or plan.working_pix_fmt
        size = outs.shaped_size(width, height, want_w, enc.height, enc.scale,
                                even=chroma_subsampling(pix_fmt) != (0, 0))
        if size == (width, height):
            size = None
    # frames at their own times (variable rate) are re-timed even to the stream's own rate
    retime = want_fps is not None and (want_fps != info.fps or plan.timing.variable is not None)
    return size, (want_fps if retime else None)


def output_size(plan: Plan) -> tuple[int, int]:
    """The size of the frames the output gets: the displayed size (rotation applied), or the
    one ``--width/--height/--scale`` (or an animated format's default) shapes it to."""
    return shaping(plan)[0] or plan.info.display_size


def delivered_frames(plan: Plan) -> int:
    """Frames the output gets: the motion frames, re-timed by ``--fps`` if given (or an
    animated image's default rate); a usage error when that leaves none."""
    fps = shaping(plan)[1]
    count = outs.frames_at(plan.out_frames, plan.info.fps, fps, last_frame_time(plan))
    if count < 1 and plan.out_frames > 0 and fps is not None:
        raise UsageError(f"the {plan.out_frames} motion frame{'s' if plan.out_frames > 1 else ''} "
                         f"last less than one frame at {format_fps(fps)} fps: give a higher "
                         f"--fps or a longer range")
    return count


def frames_within(plan: Plan, seconds: Fraction) -> int:
    """How many of the output's frames an animation ``seconds`` long shows (an animated
    WebP's length: its last frame lasts as long as the frames before it on average)."""
    fps = shaping(plan)[1]
    if fps is not None:  # the fps filter's constant rate
        return int((seconds * fps + Fraction(1, 2)) // 1)
    if plan.timing.variable is None or plan.info.index is None:
        return int((seconds * plan.info.fps + Fraction(1, 2)) // 1)
    index, first = plan.info.index, plan.span.first
    start = index.times[first]
    return sum(1 for t in index.times[first:first + plan.out_frames] if t - start < seconds)


def last_frame_time(plan: Plan) -> Fraction:
    """When the last motion frame is shown, after the first (seconds): its own time where
    frames keep their timestamps (variable frame rate), else its index over the frame rate."""
    if plan.out_frames < 1:
        return Fraction(0)
    if plan.timing.variable is None or plan.info.index is None:
        return Fraction(plan.out_frames - 1) / plan.info.fps
    index, first = plan.info.index, plan.span.first
    return index.times[first + plan.out_frames - 1] - index.times[first]


def encoders_needed(plan: Plan) -> list[str]:
    """The encoders the command uses (to check the ffmpeg build has them)."""
    codec = video_args(plan).get("c:v")
    needed = [codec] if codec else []
    for key, codec in audio_args(plan).items():
        if key.startswith("c:a") and codec != "copy" and codec not in needed:
            needed.append(codec)
    return needed


def output(plan: Plan, dst: Path) -> Any:
    """The ffmpeg-python output node writing ``plan``'s result to ``dst``."""
    source = ffmpeg.input(plan.info.input.name, **thread_args(plan), **plan.input_args())
    video = prelude(plan.source_video(source), plan.picture)
    second = None
    # a chunk reads its own frames (the chunk's reach), never a seek to frame K
    at_k = dual_timing(plan) if plan.cut is None else None
    if plan.cut is not None:
        from ffmotion.graph.chunks import JOIN_KEYS, kept, reference_input  # a chunk of a chunked run
    if plan.cut is not None and plan.cut.reference is not None:  # a chunk in freeze mode
        second = prelude(reference_input(plan.info.input.name, plan.info.video_stream,
                                          plan.cut.reference,
                                          {**thread_args(plan),
                                           **plan.info.input.input_args()}), plan.picture)
    elif plan.strategy == "dual":
        timing = at_k or plan.timing
        again = ffmpeg.input(plan.info.input.name, an=None, **thread_args(plan),
                             **plan.info.input.input_args(), **timing.input_args())
        second = prelude(select(again[f"v:{plan.info.video_stream}"], timing), plan.picture)
    if plan.stabilizer is not None:
        video = stabilize_video(video, plan.stabilizer)
        if second is not None:  # a chunk's reference input has its own corrections
            second = stabilize_video(second, plan.cut.reference_stabilizer if plan.cut
                                     and plan.cut.reference_stabilizer else plan.stabilizer)
    video = motion_video(video, plan.k, plan.info.fps, plan.mode, plan.working_pix_fmt,
                         look=plan.options.look, channel_ks=plan.channel_ks, second=second,
                         timing=plan.timing.variable, second_at_k=at_k is not None)
    encode = video_args(plan)
    if plan.cut is not None:  # a chunk: its own frames only; the container's keys go to the join
        video = kept(video, plan.cut)
        encode = {key: value for key, value in encode.items() if key not in JOIN_KEYS}
    size, fps = shaping(plan)
    ends_late = plan.mode == "freeze" and plan.out_frames > 0
    video = outs.shape(video, size, fps, plan.out_frames if ends_late else None)
    width, height = output_size(plan)
    video = _whole_chroma_size(video, width, height, encode.get("pix_fmt"))
    if outs.output_kind(plan.options.dst) == "gif":
        enc = plan.options.encode
        video = outs.gif_palette(video, enc.gif_dither, enc.gif_stats)
    streams = [video]
    kwargs: dict[str, Any] = {**encode, "fps_mode": "passthrough", **BITEXACT}
    pix_fmt = encode.get("pix_fmt")
    rows = height + (-height % (1 << chroma_subsampling(pix_fmt)[1]) if pix_fmt else 0)
    threads = encoder_threads(encode.get("c:v"), rows, plan.cpus, _sliced_threads(encode))
    if threads is not None:
        kwargs["threads:v"] = threads
    if plan.timing.variable is not None and fps is None:
        # frames keep their own times: encode in the stream's time base, not 1/frame rate
        tb = plan.timing.variable.time_base
        kwargs["enc_time_base:v"] = f"{tb.numerator}/{tb.denominator}"
    for track in audio_tracks(plan) if plan.cut is None else ():  # chunks: audio at the join
        audio = source[f"a:{track}"]
        if audio_needs_cut(plan.timing):  # output time 0 is the first frame, for sound too
            audio = cut_audio(audio, plan.timing)
        streams.append(audio)
    if len(streams) > 1:
        kwargs.update(audio_args(plan))
        # audio would otherwise run K frames past the video; the last video frame ends here
        if plan.out_frames:
            kwargs["t"] = _seconds(plan.out_duration)
        else:  # a stream of unknown length: end with the video
            kwargs["shortest"] = None
    subtitles = kept_subtitles(plan) if plan.cut is None else ()
    for track in subtitles:
        streams.append(source[f"s:{track}"])
    if subtitles:
        kwargs.update(subtitle_args(plan))
    from ffmotion.graph.stream import output_target  # stdout, URLs, HLS

    name, muxer = output_target(plan, dst)
    return ffmpeg.output(*streams, name, **kwargs, **muxer)


def usable_cpus() -> int:
    """The CPUs this process may run on: what x264 counts for its automatic thread count."""
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):  # not Linux
        return os.cpu_count() or 1


# Encoders whose bytes depend on their thread count (frame threads), and which choose that
# count from the machine when not told: x264 takes 1.5 frame threads per CPU the process may
# use (sched_getaffinity), at most one per two macroblock rows; slice threads one per CPU, at
# most one per four rows (x264's validate_parameters).
_THREAD_DEPENDENT = frozenset({"libx264", "libx264rgb"})


def encoder_threads(codec: Optional[str], height: int, cpus: int,
                    sliced: bool = False) -> Optional[int]:
    """The thread count written into the command for ``codec`` (None: the encoder's own).

    The count x264 would choose on this machine, given explicitly, so the command writes the
    same bytes on any machine (another core count, a container's CPU limit, taskset, a Dask
    worker) and this machine's file does not change. ``sliced``: slice threads (tune
    zerolatency, live outputs), one per CPU instead of 1.5.
    """
    if codec not in _THREAD_DEPENDENT:
        return None
    rows = (height + 15) // 16
    if sliced:  # one slice per thread, at least 4 macroblock rows each
        return max(1, min(cpus, rows // 4))
    return max(1, min(cpus * 3 // 2, rows // 2))


def _sliced_threads(encode: dict[str, Any]) -> bool:
    """x264 runs slice threads instead of frame threads (tune zerolatency, sliced-threads)."""
    return ("zerolatency" in str(encode.get("tune", ""))
            or "sliced-threads=1" in str(encode.get("x264-params", "")))


def dual_timing(plan: Plan) -> Optional[Timing]:
    """The dual strategy's second input, read from frame K on (a seek), where that is exact.

    The second decoder need not decode and drop the K frames before the shifted branch: it
    seeks like a range does (:mod:`ffmotion.graph.timing`: to just before a keyframe the probe
    listed, then frames counted), which gives the same frames on every container. Not where
    the frames before K change the frames after it: temporal denoising, deinterlacing (the
    field before), stabilization (transforms by frame number), per-channel offsets (three Ks
    from one input); and not where it would skip less than the first input's own seek.
    None: the second input is read like the first and trimmed by K.
    """
    index = plan.info.index
    if (plan.strategy != "dual" or index is None or plan.channel_ks is not None
            or (plan.stabilizer is not None and plan.stabilizer.active)
            or plan.options.look.denoise
            or (plan.picture is not None and plan.picture.deinterlace is not None)):
        return None
    span = plan.span
    first = span.first + plan.k
    count = span.count - plan.k if plan.mode == "offset" else 1
    if count < 1 or first >= span.total:
        return None
    at_k = plan_timing(index.times, index.keyframes, plan.info.fps, first, count, span.total,
                       True, None, index.time_base)
    if at_k.seek <= plan.timing.seek:
        return None
    return at_k


def _whole_chroma_size(video: Any, width: int, height: int, pix_fmt: Optional[str]) -> Any:
    """Grow an odd-sized picture to whole chroma samples when the output is subsampled.

    x264, x265 and mpeg4 refuse 4:2:0 at odd sizes; the added column/row repeats its
    neighbour (``fillborders`` smear), so no look gets a coloured edge.
    """
    if not pix_fmt:
        return video
    sx, sy = chroma_subsampling(pix_fmt)
    right, bottom = -width % (1 << sx), -height % (1 << sy)
    if not right and not bottom:
        return video
    return (video.filter("pad", w=width + right, h=height + bottom)
                 .filter("fillborders", right=right, bottom=bottom, mode="smear"))


def _seconds(value: Fraction) -> str:
    return f"{float(value):.6f}".rstrip("0").rstrip(".")


def command(plan: Plan, ffmpeg_bin: str, dst: Optional[Path] = None,
            overwrite: Optional[bool] = None) -> list[str]:
    """The full ffmpeg argv for ``plan``, writing to ``dst`` (default: the plan's output).

    ``overwrite`` chooses ``-y`` or ``-n`` (default: the options' ``--overwrite``).
    """
    target = plan.options.dst if dst is None else dst
    replace = plan.options.overwrite if overwrite is None else overwrite
    threads = plan.options.threads
    graph_threads = ["-filter_complex_threads", str(threads)] if threads else []
    return [ffmpeg_bin, *GLOBAL_ARGS, *graph_threads, "-y" if replace else "-n",
            *output(plan, target).get_args()]


def thread_args(plan: Plan) -> dict[str, Any]:
    """Decoder threads (an input option) when the options cap ffmpeg's threads.

    The encoder keeps its own default: x264's thread count changes its output bytes, while
    decoder and filter threads do not, so a capped command writes the same file.
    """
    return {"threads": plan.options.threads} if plan.options.threads else {}


# -- the built-in demo clip ---------------------------------------------------------------

def _lavfi(name: str, **params: Any) -> Any:
    spec = ":".join(f"{key}={value}" for key, value in params.items())
    return ffmpeg.input(f"{name}={spec}" if spec else name, f="lavfi")


def demo_source(dst: Path, seconds: float = 6.0, size: tuple[int, int] = (640, 360),
                fps: int = 30) -> Any:
    """Output node for the synthetic demo clip: a static scene, a few movers, sensor noise.

    A grid and boxes stay put (they must vanish to gray); a test pattern sweeps across,
    a small square circles fast, a tall bar creeps slowly (visible only at larger offsets),
    and temporal noise stands in for a real sensor. A 440 Hz tone shows that audio is kept.
    """
    w, h = size
    common = {"r": fps, "d": seconds}
    scene = (
        _lavfi("color", c="0x2f4f6f", s=f"{w}x{h}", **common)
        .filter("drawgrid", w=40, h=40, t=1, c="white@0.25")
        .filter("drawbox", x=w // 10, y=h // 2, w=w // 5, h=h // 3, c="0xc8a050", t="fill")
        .filter("drawbox", x=w * 6 // 10, y=h // 6, w=w // 4, h=h // 5, c="0x80b060", t="fill")
    )
    sweeper = _lavfi("testsrc2", s=f"{w // 8}x{w // 8}", **common)
    circler = _lavfi("color", c="0xe04040", s=f"{w // 24}x{w // 24}", **common)
    creeper = _lavfi("color", c="0xf0f0f0", s=f"{w // 40}x{h // 3}", **common)
    video = ffmpeg.overlay(scene, sweeper, x=f"mod(t*{w // 3},W+w)-w", y=h // 8)
    video = ffmpeg.overlay(video, circler, x="W/2+W/6*cos(2*t)-w/2", y="H/2+H/5*sin(2*t)-h/2")
    video = ffmpeg.overlay(video, creeper, x=f"W/3+t*{max(1, w // 60)}", y=h // 2)
    video = video.filter("noise", alls=5, allf="t").filter("format", "yuv420p")
    tone = _lavfi("sine", f=440, d=seconds)
    return ffmpeg.output(video, tone, str(dst), **{
        **_X264_DEMO, "movflags": "+faststart", "c:a": "aac", "t": seconds, **BITEXACT})


def demo_command(ffmpeg_bin: str, dst: Path, overwrite: bool) -> list[str]:
    """argv writing the demo clip to ``dst``."""
    return [ffmpeg_bin, *GLOBAL_ARGS, "-y" if overwrite else "-n", *demo_source(dst).get_args()]
