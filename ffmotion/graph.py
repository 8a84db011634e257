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

from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any, Optional

import ffmpeg

from . import looks
from .errors import UsageError
from .looks import Look
from .graph_extras import FrameRange, Stabilizer, frame_range, range_input_args, stabilize_video
from .options import Mode, Options, Strategy, format_fps
from .pixfmt import chroma_subsampling, plane_layout, working_pix_fmt
from .probe import MediaInfo
from .run.names import literal_input_args

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


# preset by measurement (scripts/bench.py --sections encoders): at CRF 18 on motion output
# "faster" matched medium's PSNR with smaller files for ~55% of its CPU time.
_X264 = {"c:v": "libx264", "crf": 18, "preset": "faster", "pix_fmt": "yuv420p"}
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
                        "pix_fmt": "yuv420p"}, frozenset({"opus", "vorbis"}), "libopus"),
    ".nut": Container(dict(_X264), None, "aac", lossless_ok=True),
}
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
        """Input options for the range (``-ss``/``-t``), shared by every pass; and those that
        keep the input name literal (never an image2 pattern)."""
        return {**literal_input_args(self.info.path), **range_input_args(self.span, self.info.fps)}

    @property
    def out_duration(self) -> Fraction:
        return Fraction(self.out_frames) / self.info.fps

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
        if not span.is_whole:
            what += (f", frames {span.first}-{span.first + span.count - 1} of "
                     f"{self.info.frames}")
        if self.stabilizer is not None:
            what += f", stabilized ({self.stabilizer.method})"
        if self.strategy == "dual":
            what += ", input decoded twice (dual strategy)"
        return f"{what}, {self.out_frames} of {span.count} frames, {self.working_pix_fmt}"


def plan(options: Options, info: MediaInfo) -> Plan:
    """Resolve the offset against the input; reject offsets the input is too short for."""
    k = options.offset.to_frames(info.fps)
    span = frame_range(options, info)
    n = span.count
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
    channel_ks = _channel_offsets(options, info, k, n)
    if channel_ks is not None and options.mode == "offset":
        out_frames = n - max(channel_ks)
    working = looks.working_format(working_pix_fmt(info.pix_fmt), options.look)
    deepest = max(channel_ks) if channel_ks is not None else k
    return Plan(options, info, k, out_frames, working, channel_ks,
                frames=None if span.is_whole else span,
                strategy=choose_strategy(options, info, deepest, working))


def _channel_offsets(options: Options, info: MediaInfo, k: int,
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
    return k * plane_layout(pix_fmt, info.width, info.height).frame_bytes


def choose_strategy(options: Options, info: MediaInfo, k: int, pix_fmt: str) -> Strategy:
    """The strategy asked for, or with "auto": "dual" when K frames exceed ``max_buffer``."""
    if options.strategy != "auto":
        return options.strategy
    return "dual" if buffer_bytes(info, k, pix_fmt) > options.max_buffer else "split"


def check_output_format(options: Options) -> None:
    """Fail early on an output extension we cannot choose an encoder for."""
    box = container(options.dst, options.encode.codec is not None)
    if options.encode.lossless and not box.lossless_ok:
        raise UsageError(
            f"--lossless writes FFV1, which {options.dst.suffix or 'this output'} cannot hold: "
            "use a .mkv output"
        )


def _frames_text(text: str, k: int) -> str:
    return f"{text} = {k} frames" if not text.isdigit() else f"{k} frames"


def container(dst: Path, codec_given: bool) -> Container:
    """The defaults for ``dst``'s extension (a codec of the user's makes any extension work)."""
    found = CONTAINERS.get(dst.suffix.lower())
    if found is not None:
        return found
    if codec_given:
        return Container({}, None, "aac")
    known = ", ".join(CONTAINERS)
    raise UsageError(
        f"cannot choose an encoder for {dst.suffix or 'outputs without an extension'}: "
        f"use one of {known}, or pass --codec"
    )


def motion_video(video: Any, k: int, fps: Fraction, mode: Mode = "offset",
                 pix_fmt: Optional[str] = None, look: Optional[Look] = None,
                 channel_ks: Optional[tuple[int, int, int]] = None, *, second: Any = None) -> Any:
    """Apply motion extraction to an ffmpeg-python video stream and return the result stream.

    ``video`` is any ffmpeg-python stream (e.g. ``ffmpeg.input(path).video``); ``fps`` is its
    frame rate (frames are re-timed as index / fps); ``pix_fmt`` is the working format, and
    should be :func:`ffmotion.pixfmt.working_pix_fmt` of the decoded format (for a look:
    :func:`ffmotion.looks.working_format` of that; required then). ``channel_ks`` are the
    red, green and blue offsets of ``look.rgb_offsets`` in frames. ``second``, the same video
    from a second input (see :func:`second_input`), selects the "dual" strategy: the shifted
    branch is decoded from it, and ffmpeg holds no frames between the branches.
    """
    look = look if look is not None else Look()
    if not pix_fmt and not look.is_classic:
        raise ValueError("a look needs the working pixel format")
    indexed = _indexed(video, fps, pix_fmt, look)
    original = None
    if looks.needs_original(look):
        tee = indexed.split()
        indexed, original = tee[0], tee[1]
    indexed = looks.prepare(indexed, look)
    again = looks.prepare(_indexed(second, fps, pix_fmt, look), look) if second is not None else None
    if channel_ks is not None:
        assert pix_fmt is not None
        gray = looks.channel_format(pix_fmt)
        seconds = looks.split_channels(again) if again is not None else [None, None, None]
        channels = [_pair(channel, kc, mode, look, gray, other)
                    for channel, kc, other in zip(looks.split_channels(indexed), channel_ks,
                                                  seconds)]
        blended = looks.merge_channels(*channels, pix_fmt)
    else:
        blended = _pair(indexed, k, mode, look, pix_fmt or "", again)
    if look.is_classic:
        return blended
    assert pix_fmt is not None
    return looks.finish(blended, original, look, pix_fmt)


def _pair(indexed: Any, k: int, mode: Mode, look: Look, pix_fmt: str,
          second: Any = None) -> Any:
    """Frame i combined with frame i+K (offset mode) or with frame K (freeze mode)."""
    top, shifted = branches(indexed, k, mode, second)
    blend_args: dict[str, Any] = {} if mode == "freeze" else {"shortest": 1}
    return looks.combine(top, shifted, look.blend, pix_fmt, **blend_args)


def branches(indexed: Any, k: int, mode: Mode = "offset", second: Any = None) -> tuple[Any, Any]:
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
    if mode == "freeze":
        shifted = source.trim(start_frame=k, end_frame=k + 1)
    else:
        shifted = source.trim(start_frame=k)
    return top, shifted.setpts("PTS-STARTPTS")


def _indexed(video: Any, fps: Fraction, pix_fmt: Optional[str], look: Look) -> Any:
    """The working format, re-timed by frame index: timestamps 0, 1, 2... in units of 1/fps."""
    if pix_fmt:
        video = looks.convert(video, look, pix_fmt).filter("format", pix_fmt)
    tb = 1 / Fraction(fps)
    return video.filter("settb", f"{tb.numerator}/{tb.denominator}").setpts("N")


def second_input(path: Path, **input_args: Any) -> Any:
    """The video of ``path`` opened as another ffmpeg input, for the "dual" strategy.

    ``-an`` (audio is never read from it) also keeps ffmpeg-python from merging it with a
    first input of the same file: identical input nodes collapse into one.
    """
    return ffmpeg.input(str(path), an=None, **input_args)["v:0"]


def video_args(plan: Plan) -> dict[str, Any]:
    """Encoder options: the container's defaults, overridden by the user's."""
    enc = plan.options.encode
    if enc.lossless:
        return {"c:v": "ffv1", "level": 3, "g": 1}
    args = dict(container(plan.options.dst, enc.codec is not None).video)
    if enc.codec is not None and enc.codec != args.get("c:v"):
        playable = enc.codec in (_CRF_CODECS | _QSCALE_CODECS) - {"libx264rgb"}
        args = {"c:v": enc.codec, **({"pix_fmt": args["pix_fmt"]} if playable and "pix_fmt" in args else {})}
        args.update(_quality_defaults(enc.codec))
    codec = args["c:v"]
    if enc.crf is not None:
        args.pop("crf", None)
        args.pop("q:v", None)
        if codec in _QSCALE_CODECS:
            args["q:v"] = _number(enc.crf)
        else:
            args["crf"] = _number(enc.crf)
            if codec in ("libvpx-vp9", "libvpx"):
                args["b:v"] = 0
    if enc.preset is not None:
        args["preset"] = enc.preset
    if enc.pix_fmt is not None:
        args["pix_fmt"] = enc.pix_fmt
    return args


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
        return {"crf": 18, "preset": _X264["preset"]}
    if codec == "libx265":
        return {"crf": 20, "preset": "medium"}
    if codec in ("libvpx-vp9",):
        return {"crf": 32, "b:v": 0, "row-mt": 1}
    if codec in _QSCALE_CODECS:
        return {"q:v": 3}
    return {}


def _number(value: float) -> Any:
    return int(value) if float(value).is_integer() else value


def audio_args(plan: Plan) -> dict[str, Any]:
    """``-c:a copy`` when the container takes the input's audio codec, else an encoder."""
    box = container(plan.options.dst, plan.options.encode.codec is not None)
    codec = plan.info.audio_codec
    fits = box.audio_copy is None or codec in box.audio_copy
    if fits and not audio_lead(plan):
        return {"c:a": "copy"}
    if fits and codec and codec.startswith("pcm_"):  # trimmed PCM stays the same PCM
        return {"c:a": codec}
    return {"c:a": box.audio_codec, **({"b:a": "192k"} if box.audio_codec == "aac" else {})}


def audio_lead(plan: Plan) -> Fraction:
    """Audio before the range's first frame that the input seek keeps (0 without a start).

    Trimming it needs decoded audio, so ranged audio is re-encoded, not copied (a copied
    stream would also start at a packet boundary, up to ~0.1 s early).
    """
    if plan.span.first == 0:
        return Fraction(0)
    return Fraction(1, 2) / plan.info.fps


def keeps_audio(plan: Plan) -> bool:
    return plan.options.audio and plan.info.has_audio


def encoders_needed(plan: Plan) -> list[str]:
    """The encoders the command uses (to check the ffmpeg build has them)."""
    needed = [video_args(plan)["c:v"]]
    if keeps_audio(plan):
        codec = audio_args(plan)["c:a"]
        if codec != "copy":
            needed.append(codec)
    return needed


def output(plan: Plan, dst: Path) -> Any:
    """The ffmpeg-python output node writing ``plan``'s result to ``dst``."""
    source = ffmpeg.input(str(plan.info.path), **thread_args(plan), **plan.input_args())
    video = source["v:0"]
    second = None
    if plan.strategy == "dual":
        second = second_input(plan.info.path, **thread_args(plan), **plan.input_args())
    if plan.stabilizer is not None:
        video = stabilize_video(video, plan.stabilizer)
        if second is not None:
            second = stabilize_video(second, plan.stabilizer)
    video = motion_video(video, plan.k, plan.info.fps, plan.mode, plan.working_pix_fmt,
                         look=plan.options.look, channel_ks=plan.channel_ks, second=second)
    encode = video_args(plan)
    video = _whole_chroma_size(video, plan.info.width, plan.info.height, encode.get("pix_fmt"))
    streams = [video]
    kwargs: dict[str, Any] = {**encode, "fps_mode": "passthrough", **BITEXACT}
    if keeps_audio(plan):
        audio = source["a:0"]
        lead = audio_lead(plan)
        if lead:  # the seek stopped half a frame early: start the audio with the first frame
            audio = audio.filter("atrim", start=_seconds(lead)).filter("asetpts", "PTS-STARTPTS")
        streams.append(audio)
        kwargs.update(audio_args(plan))
        # audio would otherwise run K frames past the video; the last video frame ends here
        kwargs["t"] = _seconds(plan.out_duration)
    return ffmpeg.output(*streams, str(dst), **kwargs)


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
        **_X264, "movflags": "+faststart", "c:a": "aac", "t": seconds, **BITEXACT})


def demo_command(ffmpeg_bin: str, dst: Path, overwrite: bool) -> list[str]:
    """argv writing the demo clip to ``dst``."""
    return [ffmpeg_bin, *GLOBAL_ARGS, "-y" if overwrite else "-n", *demo_source(dst).get_args()]
