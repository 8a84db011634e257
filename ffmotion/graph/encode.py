"""How the motion picture is written: encoder defaults per container, the user's encoding
options, sound, subtitles, frame rates the container takes, and the output's size and rate.

The defaults were chosen by measurement on real footage (docs/decisions.md). Pure: a plan
in, ffmpeg options out.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any, Optional

from ffmotion.core.caps import Caps
from ffmotion.core.errors import UsageError, field
from ffmotion.core.pixfmt import chroma_subsampling, plane_layout
from ffmotion.core.request import OutputSpec
from ffmotion.core.units import format_fps
from ffmotion.graph import outputs as outs
from ffmotion.graph.picture import output_args as picture_output_args
from ffmotion.graph.plan import Plan
from ffmotion.graph.timing import audio_needs_cut
from ffmotion.media.info import MediaInfo
from ffmotion.media.streams import TEXT_SUBTITLES, StreamInfo, choose_audio


@dataclass(frozen=True)
class Container:
    """Defaults for one output extension."""

    video: dict[str, Any]
    audio_copy: Optional[frozenset[str]]  # codecs the container takes as they are; None: any
    audio_codec: str  # what other audio is encoded to
    lossless_ok: bool = False
    audio_ok: bool = True  # False: the format holds no audio (y4m, GIF, images)
    audio_extra: Optional[dict[str, Any]] = None  # e.g. MXF takes 48 kHz PCM only


# x264: preset faster, tune psnr and the speed options, each chosen by measurement on real
# footage (docs/decisions.md, "Encoding"); the speed options belong to preset faster only
_X264_DEMO = {"c:v": "libx264", "crf": 18, "preset": "faster", "pix_fmt": "yuv420p"}
_X264_SPEED = "me=dia:subme=3:trellis=0:partitions=i8x8,i4x4"
_X264 = {**_X264_DEMO, "tune": "psnr", "x264-params": _X264_SPEED}
_MPEG2 = {"c:v": "mpeg2video", "q:v": 3, "pix_fmt": "yuv420p"}
_TS_AUDIO = frozenset({"aac", "mp3", "mp2", "ac3", "eac3", "opus"})

# libvpx-vp9 speed by --preset name (x264's names, so one --preset works for both), and no
# hidden libvpx options on top: both by measurement (docs/decisions.md, "Encoding")
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
    # a v4l2 output device (core/sinks.py, v4l2:/dev/videoN): raw 4:2:0, what v4l2loopback
    # readers (browsers, video-call apps, OBS) take
    # the live preview's feed (core/sinks.py, --format mpjpeg): JPEG frames a browser shows
    ".mjpeg": Container({"c:v": "mjpeg", "q:v": 5, "pix_fmt": "yuv420p"}, frozenset(), "",
                        audio_ok=False),
    ".v4l2": Container({"c:v": "rawvideo", "pix_fmt": "yuv420p"}, frozenset(), "",
                       audio_ok=False),
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
# Supported framerates; tests/integration/test_vfr_containers.py checks them against the binary).
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


def rate_rule(output: OutputSpec) -> Optional[RateRule]:
    """What constant frame rate ``output`` needs; None where frames keep their own
    times (MP4, Matroska, ... with an encoder that takes any time base)."""
    if output.encode.lossless or outs.output_kind(output.path) != "video":
        codec = "ffv1" if output.encode.lossless else None
    else:
        codec = output.encode.codec or video_codec_default(output.path)
    suffix = output.path.suffix.lower()
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
    rule = rate_rule(plan.output)
    if rule is None or plan.timing.variable is None or plan.output.encode.fps is not None:
        return None
    if rule.rates is None or plan.info.fps in rule.rates:
        return plan.info.fps
    return nearest_rate(rule.rates, plan.info.fps)


def check_rate(plan: Plan) -> None:
    """Refuse, before ffmpeg starts, a frame rate the output cannot hold (ffmpeg would fail
    late, or snap it to another rate and change the speed): one line naming ``--fps``."""
    rule = rate_rule(plan.output)
    if rule is None or rule.rates is None:
        return
    fps = shaping(plan)[1] or plan.info.fps
    if fps in rule.rates:
        return
    common = sorted(rule.rates & _BROADCAST_RATES)
    listed = ", ".join(format_fps(rate) for rate in common)
    given = field("fps") if plan.output.encode.fps is not None else plan.info.path.name
    raise UsageError(f"{rule.what} holds frame rates like {listed}, not the "
                     f"{format_fps(fps)} fps of {given}: add {field('fps')} "
                     f"{format_fps(nearest_rate(rule.rates, fps))} (frames repeated or dropped "
                     f"to that rate), or write .mp4 or .mkv")


# ffmpeg's y4m muxer takes planar YUV and gray (deep ones with -strict -1), not RGB
_Y4M_FORMATS = re.compile(r"^(yuv(444|422|420|411)p|gray)((9|1[0246])le)?$")


_CRF_CODECS = {"libx264", "libx264rgb", "libx265", "libvpx-vp9", "libvpx", "libaom-av1",
               "libsvtav1", "librav1e"}


_QSCALE_CODECS = {"mpeg4", "libxvid", "mpeg2video", "mpeg1video", "mjpeg"}


def check_output_format(output: OutputSpec) -> None:
    """Fail early on an output extension we cannot choose an encoder for."""
    problem = outs.image_name_problem(output.path)
    if problem:
        raise UsageError(problem)
    box = container(output.path, output.encode.codec is not None)
    enc = output.encode
    if enc.lossless and not box.lossless_ok:
        raise UsageError(
            f"{field('lossless')} writes FFV1, which {output.path.suffix or 'this output'} "
            "cannot hold: "
            "use a .mkv output"
        )
    if not box.audio_ok and (enc.audio_codec is not None or enc.audio_bitrate is not None):
        raise UsageError(f"{_kind_name(output.path)} holds no audio: drop "
                         f"{field('audio_codec')}/{field('audio_bitrate')}")
    codec = enc.codec or video_codec_default(output.path)
    if enc.preset is not None and codec == "libvpx-vp9" and enc.preset not in _VP9_SPEED:
        raise UsageError(f"{field('preset')} {enc.preset} has no VP9 speed: use one of "
                         f"{', '.join(_VP9_SPEED)}")


def _kind_name(dst: Path) -> str:
    kind = outs.output_kind(dst)
    return {"gif": "a GIF", "webp": "an animated WebP", "apng": "an APNG",
            "sequence": "an image sequence"}.get(kind, f"a {dst.suffix} file")


def video_codec_default(dst: Path) -> Optional[str]:
    found = CONTAINERS.get(dst.suffix.lower())
    return found.video.get("c:v") if found is not None else None


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
        f"use one of {known}, or pass {field('codec')}"
    )


def video_args(plan: Plan) -> dict[str, Any]:
    """Encoder options: the container's defaults, overridden by the user's."""
    enc = plan.output.encode
    dst = plan.output.path
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
                             f"{plan.working_pix_fmt}: write {field('lossless')} .mkv or an "
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
    if args.get("c:v") in HEVC_ENCODERS and plan.output.path.suffix.lower() in HVC1_CONTAINERS:
        args["tag:v"] = "hvc1"  # Apple players refuse hev1, ffmpeg's default tag in MP4/MOV
    from ffmotion.graph.stream import (
        encoder_args,  # graph.stream: loaded by a run that builds a command, not by importing the CLI
    )

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
    if curve is None or plan.output.encode.lossless:
        return None
    out_fmt = video_args(plan).get("pix_fmt") or plan.working_pix_fmt
    if plan_depth(out_fmt) > 8:
        return None
    return (f"{plan.info.path.name} is HDR ({curve}, {plan_depth(plan.working_pix_fmt)}-bit): "
            f"{out_fmt} output bands its gradients and loses the HDR signalling; for 10-bit "
            f"HDR output add {field('codec')} libx265 {field('pix_fmt')} yuv420p10le "
            f"{field('encoder_opts')} "
            f"x265-params=colorprim=bt2020:transfer={plan.info.transfer}:colormatrix=bt2020nc "
            f"(or {field('lossless')} for exact pixels)")


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


def check_quality(output: OutputSpec) -> None:
    """``--crf`` within the range of the encoder it goes to (a usage error naming it)."""
    enc = output.encode
    if enc.crf is None or enc.lossless:
        return
    crf = enc.crf
    codec = enc.codec or container(output.path, False).video["c:v"]
    limits = _QUALITY_RANGES.get(codec)
    what = "qscale" if codec in _QSCALE_CODECS else "CRF"
    if limits is not None and not limits[0] <= crf <= limits[1]:
        raise UsageError(f"{field('crf')} {_number(crf)} is outside the {what} range of {codec}: "
                         f"{_number(limits[0])} to {_number(limits[1])}")


def _quality_defaults(codec: str) -> dict[str, Any]:
    if codec in ("libx264", "libx264rgb"):
        return {"crf": 18, "preset": _X264["preset"], "tune": _X264["tune"],
                "x264-params": _X264_SPEED}
    if codec == "libx265":  # tune psnr: as for x264 (docs/decisions.md, "Encoding")
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
    box = container(plan.output.path, plan.output.encode.codec is not None)
    if not plan.output.audio or not box.audio_ok:
        return ()
    return choose_audio(plan.info.streams or _first_audio(plan.info),
                        plan.output.audio_stream)


def _first_audio(info: MediaInfo) -> tuple[StreamInfo, ...]:
    """A MediaInfo made by hand lists no streams: its one audio track, if any."""
    return (StreamInfo(1, "audio", info.audio_codec),) if info.audio_codec else ()


def audio_args(plan: Plan) -> dict[str, Any]:
    """Per kept track: ``--audio-codec``, else ``copy`` when the container takes the codec
    and the audio is not cut, else the container's encoder (cut PCM stays the same PCM)."""
    enc = plan.output.encode
    box = container(plan.output.path, enc.codec is not None)
    tracks = audio_tracks(plan)
    infos = [s for s in plan.info.streams if s.kind == "audio"] or list(_first_audio(plan.info))
    cut = audio_needs_cut(plan.timing)
    if cut and enc.audio_codec == "copy" and tracks:
        raise UsageError(f"{field('audio_codec')} copy cannot start the sound on the first frame "
                         "(a range, or a video that starts after its audio): drop "
                         f"{field('audio_codec')} copy")
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


# Measured with the bundled ffmpeg 9.0.2, text read back with its times (tests/integration/test_subtitles.py):
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
    if not plan.output.subtitles:
        return (), field("subtitles")
    rule = SUBTITLE_RULES.get(plan.output.path.suffix.lower())
    if rule is None or outs.output_kind(plan.output.path) != "video":
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
    return tuple(kept), f"{plan.output.path.suffix.lower()} takes {_subtitle_kinds(rule)} only"


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
    enc, info = plan.output.encode, plan.info
    kind = outs.output_kind(plan.output.path)
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
                         f"{field('fps')} or a longer range")
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


def check_toolchain(plan: Plan, caps: Caps) -> None:
    """Refuse a plan this ffmpeg cannot write (``caps``' encoders and pixel formats, where
    they were read): an encoder it lacks, a pixel format it does not know."""
    output = plan.output
    kind = outs.output_kind(output.path)
    for codec in encoders_needed(plan):
        if caps.encoders is None or codec in caps.encoders:
            continue
        if kind != "video" and output.encode.codec is None:
            raise UsageError(f"this ffmpeg ({caps.ffmpeg}) cannot write {output.path.suffix} "
                             f"files: it has no {codec} encoder")
        raise UsageError(f"unknown codec for this ffmpeg ({caps.ffmpeg}): {codec} "
                         "(ffmpeg -encoders lists the available ones)")
    wanted = output.encode.pix_fmt
    if wanted is not None and caps.pix_fmts is not None and wanted not in caps.pix_fmts:
        raise UsageError(f"unknown pixel format: {wanted} (ffmpeg -pix_fmts lists them)")
