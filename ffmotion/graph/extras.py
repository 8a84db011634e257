"""Graph pieces around the motion graph: the time range and stabilization.

Pure, like :mod:`ffmotion.graph`: names filters and builds argv lists, touches no file and
starts no process (the transforms cache and pass 1 are run by :mod:`ffmotion.pipeline.stabilize`).

*Range.* ``--start/--end/--duration`` become input options ``-ss``/``-t`` (ffmpeg seeks, and
audio follows the same range). Both are placed half a frame *before* the wanted frame
boundaries: frame timestamps are rounded to the container's time base (1 ms in Matroska, so
frame 1 at 30 fps is stored at 33 ms, before 1/30 s), and a cut exactly on the boundary
would drop or keep a frame by that rounding. With the half-frame margin the range is
exactly frames ``first .. first+count-1`` of a constant-frame-rate input.

*Stabilization.* vid.stab: ``vidstabdetect`` (pass 1, writes a transforms file) and
``vidstabtransform`` (pass 2, inside the motion graph); or ``deshake`` (one pass, weaker)
when the ffmpeg build has no vid.stab. Both work on 8-bit formats only: the frames are
converted to one explicitly (:func:`stabilize_pix_fmt`) rather than silently by ffmpeg.
"""
from __future__ import annotations

import bisect
import re
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any, Callable, Literal, Optional, Sequence, Union

import ffmpeg

from ffmotion.core.errors import UsageError, field
from ffmotion.core.request import InputSpec, StabilizeOptions
from ffmotion.core.units import FramesOrTime, format_fps
from ffmotion.graph.node import Stream
from ffmotion.graph.picture import prelude
from ffmotion.media.info import MediaInfo

Method = Literal["vidstab", "deshake"]
VIDSTAB_FILTERS = frozenset({"vidstabdetect", "vidstabtransform"})
VIDSTAB_ACCURACY = 15  # vid.stab's maximum (and default): the detect pass is cheap anyway


# -- time range -----------------------------------------------------------------------------

@dataclass(frozen=True)
class FrameRange:
    """Frames ``first .. first+count-1`` of an input with ``total`` frames."""

    first: int
    count: int
    total: int

    @property
    def is_whole(self) -> bool:
        return self.first == 0 and self.count == self.total


def frame_at(info: MediaInfo, point: FramesOrTime, base: int = 0) -> int:
    """The frame ``point`` names, counted from frame ``base``'s time: frames as given, a
    time to the nearest frame: by the frames' own times when the rate varies."""
    if point.frames is not None:
        return base + point.frames
    assert point.seconds is not None
    index = info.index
    if index is None or info.constant_rate:
        return base + point.to_frames(info.fps)
    target = index.times[base] + point.seconds
    after = bisect.bisect_left(index.times, target)
    if after >= index.count:
        return index.count + round((target - index.times[-1]) * info.fps)
    # the nearest frame; halfway between two, the later one (as to_frames rounds halves up)
    if after > 0 and target - index.times[after - 1] < index.times[after] - target:
        return after - 1
    return after


def frame_range(wanted: InputSpec, info: MediaInfo) -> FrameRange:
    """Resolve ``--start/--end/--duration`` to frames (times round to the nearest frame)."""
    total = info.frames
    first = frame_at(info, wanted.start) if wanted.start is not None else 0
    if first >= total:
        assert wanted.start is not None
        raise UsageError(f"{field('start')} {wanted.start.text} is at or past the end of "
                         f"{info.path.name} ({total} frames, {info.duration:.3f} s at "
                         f"{format_fps(info.fps)} fps)")
    if wanted.end is not None:
        last = min(frame_at(info, wanted.end), total)
        if last <= first:
            raise UsageError(f"{field('end')} {wanted.end.text} is not after {field('start')} "
                             f"{wanted.start.text if wanted.start else '0'} (frame {first})")
    elif wanted.duration is not None:
        count = frame_at(info, wanted.duration, first) - first
        if count < 1:
            raise UsageError(f"{field('duration')} {wanted.duration.text} is shorter than one frame "
                             f"at {format_fps(info.fps)} fps")
        last = min(first + count, total)
    else:
        last = total
    return FrameRange(first, last - first, total)


def seconds_text(value: Fraction) -> str:
    """Seconds with microsecond precision (ffmpeg's own time base), no trailing zeros."""
    return f"{float(value):.6f}".rstrip("0").rstrip(".")


# -- stabilization ------------------------------------------------------------------------------

# how the camera is corrected: locked (tripod), smoothed, held frame to frame, or not at all
Transform = Literal["tripod", "smooth", "static", "none"]


@dataclass(frozen=True)
class Stabilizer:
    """A resolved stabilization: which filter, in which format, with which transforms file."""

    method: Method
    options: StabilizeOptions
    pix_fmt: str  # the 8-bit format the stabilizer runs in
    transforms: Optional[Path] = None  # vidstab: the cached pass-1 result
    ascii: bool = False  # pass 1 writes ASCII transforms (fileformat=ascii: auto reads them)
    # what --stabilize auto chose after its analysis (options then hold the concrete
    # smoothing); "static": smoothing 0 on the frame-to-frame path (the whole camera path
    # removed, vid.stab's simulated static camera); "none": no transform at all
    decided: Optional[Transform] = None
    content: str = ""  # the input's content hash (the cache key of a second pass 1)
    # vid.stab's per-frame motions from the transforms (old text format, relative): what
    # pass 2 reads, so that a chunked run can apply the very same corrections
    motions: Optional[Path] = None
    # a chunk's own slice of the corrections (absolute, one line per frame it reads)
    corrections: Optional[Path] = None
    # --stabilize auto's measurement: residual motion energy without stabilization, and with
    # its choice (with the camera path's choice where none won)
    residual: Optional[tuple[float, float]] = None
    reason: str = ""  # --stabilize auto: what the camera path showed
    shortlist: tuple[Transform, ...] = ()  # --stabilize auto: the candidates it measures, in order
    # the plan's working format without stabilization: what it runs in when auto decides
    # on none (the 8-bit pix_fmt is then only for the analysis)
    plain_pix_fmt: str = ""

    @property
    def active(self) -> bool:
        """Whether pass 2 changes the frames (False: --stabilize auto decided on none, and
        the plan is the plain one)."""
        return self.decided != "none"

    @property
    def tripod(self) -> bool:
        """vid.stab's tripod mode (pass 1 against the first frame): smoothing 0, except for
        auto's static camera (smoothing 0 on the frame-to-frame analysis)."""
        return self.options.smoothing == 0 and self.decided != "static"


_VIDSTAB_YUV = {"444", "422", "420", "411", "410", "440"}
_DESHAKE_YUV = {"444", "422", "420", "411", "410", "440"}


def stabilize_pix_fmt(working: str, method: Method) -> str:
    """The 8-bit format stabilization runs in, for input whose working format is ``working``.

    Planar YUV keeps its subsampling (yuvj* becomes yuv*, higher depths 8 bits); gray stays
    gray for vid.stab; everything else (RGB; gray for deshake, which takes only YUV) goes to
    yuv444p, and the motion graph then works in that format.
    """
    match = re.match(r"^yuvj?(\d{3})p", working)
    if match and match.group(1) in (_VIDSTAB_YUV if method == "vidstab" else _DESHAKE_YUV):
        return f"yuv{match.group(1)}p"
    if method == "vidstab" and working.startswith("gray"):
        return "gray"
    # vid.stab lists packed rgb24 too, but libvidstab 1.1.0 (Debian's) aborts on it
    # (frameinfo.c: Assertion `fi->planes==1' failed): RGB goes through yuv444p
    return "yuv444p"


def choose_method(available_filters: frozenset[str]) -> Method:
    """vid.stab when the build has both its filters, else deshake (a warning is the caller's)."""
    if VIDSTAB_FILTERS <= available_filters:
        return "vidstab"
    if "deshake" in available_filters:
        return "deshake"
    raise UsageError(f"{field('stabilize')} needs ffmpeg's vidstab or deshake filter, and this "
                     "ffmpeg has neither (try the ffmpeg that comes with imageio-ffmpeg)")


def detect_args(stab: Stabilizer) -> dict[str, Any]:
    """``vidstabdetect`` options: what the transforms file depends on (besides the frames)."""
    args: dict[str, Any] = {"shakiness": stab.options.strength, "accuracy": VIDSTAB_ACCURACY}
    if stab.tripod:
        args["tripod"] = 1  # reference = frame 1 of the stream, i.e. the range's first frame
    if stab.ascii:
        args["fileformat"] = "ascii"
    return args


def stabilize_video(video: Stream, stab: Stabilizer) -> Stream:
    """Pass 2 (or deshake's only pass) on an ffmpeg-python stream; 8-bit ``stab.pix_fmt`` out.

    Where --stabilize auto decided on none, ``video`` as it is: the plain graph, in the plain
    working format."""
    if not stab.active:
        return video
    video = video.filter("format", stab.pix_fmt)
    if stab.method == "deshake":
        reach = min(64, max(4, round(16 * stab.options.strength / 5)))
        return video.filter("deshake", rx=reach, ry=reach)
    if stab.transforms is None or stab.motions is None:
        raise ValueError("vidstab needs its transforms and motions files")
    check_filter_path(stab.motions)
    if stab.options.auto:
        raise UsageError(f"{field('stabilize')} auto decides after its analysis pass: run "
                         "ffmotion.pipeline.stabilize.settle(plan, tools) before building commands")
    # the gaussian camera path on every build (newer vid.stab defaults to an L1 path that
    # ffmotion cannot slice into chunks); the same one ffmotion.graph.corrections computes
    if stab.corrections is not None:  # a chunk: its frames' corrections, applied as they are
        check_filter_path(stab.corrections)
        return video.filter("vidstabtransform", input=str(stab.corrections), relative=0,
                            smoothing=0, optzoom=0, optalgo="gauss")
    if stab.tripod:
        return video.filter("vidstabtransform", input=str(stab.motions), tripod=1,
                            optalgo="gauss")
    if stab.decided == "static":  # the frame-to-frame path integrated, all of it removed
        return video.filter("vidstabtransform", input=str(stab.motions), relative=1,
                            smoothing=0, optalgo="gauss")
    return video.filter("vidstabtransform", input=str(stab.motions),
                        smoothing=stab.options.smoothing, optalgo="gauss")


MOTIONS_FILE = "global_motions.trf"  # the name vidstabtransform's debug mode writes, in its cwd


def motions_command(ffmpeg_bin: str, stab: Stabilizer, size: tuple[int, int]) -> list[str]:
    """vid.stab's per-frame motions from pass 1's transforms: ``vidstabtransform`` in debug
    mode writes them to :data:`MOTIONS_FILE` in the current folder while it reads the
    transforms, so one blank frame of the stabilized size is all it needs to see.

    Pass 2 then reads the motions (vid.stab's old text format, 6 decimals), so that the
    corrections ffmotion computes from the same file for a chunked run are the ones pass 2
    applies (:mod:`ffmotion.graph.corrections`).
    """
    if stab.transforms is None:
        raise ValueError("the motions come from pass 1's transforms")
    check_filter_path(stab.transforms)
    width, height = size
    blank = (ffmpeg.input(f"color=c=gray:s={width}x{height}:r=25:d=1", f="lavfi")
             .filter("format", stab.pix_fmt)
             .filter("vidstabtransform", input=str(stab.transforms), debug=1, optalgo="gauss"))
    out = ffmpeg.output(blank, "-", f="null", **{"frames:v": 1})
    return [ffmpeg_bin, "-hide_banner", "-nostdin", "-loglevel", "error", *out.get_args()]


def detect_command(ffmpeg_bin: str, src: Union[str, Path], input_args: dict[str, Any], stab: Stabilizer,
                   result: Path, picture: Any = None,
                   source_video: Optional[Callable[[Any], Any]] = None,
                   sample: Optional[Sequence[tuple[int, int]]] = None) -> list[str]:
    """Pass 1: analyse the same frames pass 2 will see, writing transforms to ``result``.

    ``picture`` is the plan's prelude (:mod:`ffmotion.graph.picture`), applied as in pass 2;
    ``source_video`` picks the video stream and the range's frames from the input node
    (:meth:`ffmotion.graph.Plan.source_video`; default: the first video stream, all frames);
    ``sample``: only these windows of frames (:func:`select_windows`).
    """
    check_filter_path(result)
    node = ffmpeg.input(str(src), **input_args)
    video = prelude(source_video(node) if source_video else node["v:0"], picture)
    if sample is not None:
        video = select_windows(video, sample)
    video = (video.filter("format", stab.pix_fmt)
             .filter("vidstabdetect", result=str(result), **detect_args(stab)))
    out = ffmpeg.output(video, "-", f="null", fps_mode="passthrough")
    return [ffmpeg_bin, "-hide_banner", "-nostdin", *out.get_args()]


def select_windows(video: Stream, windows: Sequence[tuple[int, int]]) -> Stream:
    """Only the frames of ``windows`` (``[first, end)`` by frame number, in order): a
    ``select`` whose expression has no commas (ffmpeg-python would not escape them at the
    filtergraph level): ``not(floor((n-a)/L))`` is 1 on frames a .. a+L-1 only."""
    expr = "+".join(f"not(floor((n-{a})/{b - a}))" for a, b in windows)
    return video.filter("select", expr)


# $1: where the motions go; the rest: the ffmpeg argv, run in a folder of its own beside them;
# the zoom column is zeroed (see clean_motions)
_MOTIONS_SCRIPT = ('t=$1; shift; d=$(mktemp -d "$t.XXXXXX") || exit 1; '
                   '(cd "$d" || exit 1; exec "$@") || { rm -rf "$d"; exit 1; }; '
                   "awk '/^#/ {print; next} NF == 6 {$5 = 0} {print}' "
                   '"$d/' + MOTIONS_FILE + '" > "$d/m" || { rm -rf "$d"; exit 1; }; '
                   'mv -f "$d/m" "$t"; s=$?; rm -rf "$d"; exit $s')


def clean_motions(text: str) -> str:
    """The motions with their zoom column zeroed, line for line as the printed step's awk
    writes them. vid.stab writes the zoom its search found and then ignores it (ffmpeg has
    no ``smoothZoom``), but read back from this file it would be applied (libvidstab 1.1
    writes it; newer ones write 0)."""
    lines = []
    for line in text.splitlines():
        fields = line.split()
        if not line.startswith("#") and len(fields) == 6:
            fields[4] = "0"
            line = " ".join(fields)
        lines.append(line)
    return "\n".join(lines) + "\n"


def motions_shell(target: Path, argv: list[str]) -> list[str]:
    """The motions step as one command that runs as printed (``sh -c``): ``argv`` (from
    :func:`motions_command`; a relative transforms path in it must be relative to the folder
    it makes, one level down) runs in a fresh folder beside ``target``, and its file is moved
    to ``target`` only when ffmpeg succeeded."""
    return ["sh", "-c", _MOTIONS_SCRIPT, "ffmotion-motions", str(target), *argv]


# ffmpeg-python escapes filter arguments (\ ' = :) but not the filtergraph level: a path with
# one of these would split the graph.
_GRAPH_SPECIALS = set("[],;'\\\n")


def check_filter_path(path: Path,
                      advice: str = "(for the stabilization cache: set FFMOTION_CACHE)") -> None:
    """Reject a path that cannot be passed as a filter argument (vidstab, metadata, fonts)."""
    bad = sorted(_GRAPH_SPECIALS & set(str(path)))
    if bad:
        raise UsageError(f"ffmpeg filters cannot take the path {path} (it contains "
                         f"{' '.join(repr(c) for c in bad)}): choose another folder {advice}")
