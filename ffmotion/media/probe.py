"""What we need to know about an input: its streams, and the video's decoded frames.

One ffmpeg run, no decoding: ``ffmpeg -copyts -i IN -map 0:v -c copy -f framecrc -`` lists
every packet of every video stream (pts and flags), and the header it logs describes every
stream (codec, size, pixel format, rates, dispositions, rotation, field order, range) and
the file's start time. ffprobe is not needed (imageio-ffmpeg ships none); the same parser
serves every build. See :mod:`ffmotion.media.frames` for how packets become frames and
:mod:`ffmotion.media.streams` for which streams are used.
"""
from __future__ import annotations

import dataclasses
import logging
import re
from fractions import Fraction
from pathlib import Path
from typing import Optional

from ffmotion.core.errors import MediaError, UsageError
from ffmotion.core.source import Source
from ffmotion.media import mp4index, picture
from ffmotion.media.frames import Packet, index_frames
from ffmotion.media.info import MediaInfo
from ffmotion.media.probe_commands import header_argv, packets_argv
from ffmotion.media.sequence import ImageSequence
from ffmotion.media.streams import StreamInfo, choose_video
from ffmotion.run import runner

log = logging.getLogger("ffmotion")


def probe(path: Path, tools: runner.Tools, video_stream: Optional[int] = None) -> MediaInfo:
    """Probe ``path`` with one ffmpeg run (no decoding).

    ``video_stream`` (``--video-stream N``) picks the video among the video streams; by
    default the largest moving picture that is not a cover (:func:`streams.choose_video`).
    """
    path = Path(path)
    if not path.exists():
        raise UsageError(f"input not found: {path}")
    if path.is_dir():
        raise UsageError(f"input is a folder, not a file: {path}")
    if not path.is_file():  # reading a FIFO would block for ever, a device never end
        raise UsageError(f"input is not a regular file (a FIFO, device or socket): {path}")
    return probe_source(Source.file(path), tools, video_stream)


def probe_sequence(sequence: ImageSequence, tools: runner.Tools) -> MediaInfo:
    """Probe an image sequence: one packet per image (image2 packets are images), frame i
    at i / framerate, shown as the EXIF orientation says (ffmpeg autorotates the decoded
    frames but logs no rotation for the stream)."""
    info = probe_source(sequence.source(), tools)
    if info.frames != len(sequence.files):
        raise MediaError(f"ffmpeg read {info.frames} of the {len(sequence.files)} images of "
                         f"{sequence.spec}: a file changed or cannot be read")
    return dataclasses.replace(info, path=sequence.folder, fps=sequence.framerate,
                               rotation=sequence.rotation)


def probe_source(source: Source, tools: runner.Tools,
                 video_stream: Optional[int] = None) -> MediaInfo:
    """Probe any :class:`Source` that can be read to its end (a file, an image sequence)
    with one ffmpeg run that copies the video packets (no decoding)."""
    try:
        return _with_ffmpeg(source, tools.ffmpeg, video_stream)
    finally:
        runner.ahead.discard()  # a probe started ahead for another command is of no use now


_STREAM = re.compile(r"^\s*Stream #0:(\d+)\S*?(?:\((\w+)\))?: "
                     r"(Video|Audio|Subtitle|Data|Attachment): (.*)$")
# stream, dts, pts, duration, size, crc[, F=flags]
_PACKET = re.compile(r"^\s*(\d+),\s*(-?\d+|NOPTS),\s*(-?\d+|NOPTS),\s*-?\d+,\s*(\d+),")
_FLAGS = re.compile(r"F=0x([0-9A-Fa-f]+)")
_TB = re.compile(r"^#tb (\d+): (\d+)/(\d+)")
_NOPTS = -(2**63) + 1  # AV_NOPTS_VALUE as framecrc prints it (INT64_MIN)
_START = re.compile(r"\bstart: (-?\d+(?:\.\d+)?)")


def _with_ffmpeg(source: Source, ffmpeg: str, wanted: Optional[int] = None) -> MediaInfo:
    path = source.path if source.path is not None else Path(source.name)
    indexed = _from_mp4_index(path, ffmpeg) if source.kind == "file" else None
    if indexed is not None:
        return _media_info(path, source, *indexed, wanted)
    done = runner.capture(packets_argv(ffmpeg, source), timeout=runner.procs.probe_timeout(),
                          what=f"probing {source.shown} with ffmpeg")
    info = parse_probe_output(path, source, done, wanted)
    if source.kind == "file" and _listing_damaged(done, info):
        return checked_by_decoding(info, ffmpeg)
    return info


# what ffmpeg's demuxers say while listing a file that is cut short or damaged: about one
# stream (its input index), or about the file
_STREAM_DAMAGE = re.compile(r"Packet corrupt \(stream = (\d+)|corrupt input packet in stream "
                            r"(\d+)|stream (\d+), offset \S+: partial file")
_FILE_DAMAGE = ("File ended prematurely", "Truncating packet")
CORRUPT = 0x2  # AV_PKT_FLAG_CORRUPT
_CORRUPT_FLAGS = re.compile(rb"F=0x[0-9A-Fa-f]*[2367abefABEF]\b")


def _listing_damaged(done: runner.Completed, info: MediaInfo) -> bool:
    """True when listing the packets reported damage to the video stream (or the file): the
    listed frames may not all decode."""
    if any(words in done.stderr for words in _FILE_DAMAGE):
        return True
    video = info.video_streams[info.video_stream].index if info.video_streams else 0
    for m in _STREAM_DAMAGE.finditer(done.stderr):
        if int(next(g for g in m.groups() if g is not None)) == video:
            return True
    if not _CORRUPT_FLAGS.search(done.stdout):
        return False
    packets, _ = _packets(done.stdout.decode("ascii", "replace"))
    return any(p.flags & CORRUPT for p in packets.get(info.video_stream, []))


def checked_by_decoding(info: MediaInfo, ffmpeg: str) -> MediaInfo:
    """``info`` with the frames that really decode (:func:`decoded.recount`), each difference
    from the listing said in one warning line."""
    from ffmotion.media import decoded

    if info.index is not None and info.index.decoded:
        return info
    log.info("%s: counting the frames that decode (the file may be damaged or change "
             "picture size)", info.path.name)
    checked = decoded.recount(info, ffmpeg)
    for line in decoded.differences(info, checked):
        log.warning("%s", line)
    return checked


def parse_probe_output(path: Path, source: Source, done: runner.Completed,
                       wanted: Optional[int] = None) -> MediaInfo:
    """MediaInfo from a finished ``-c copy -f framecrc`` run over ``source`` (its header on
    stderr, its packets on stdout); ``path`` names the input in messages. Also used for
    the head of a stream (:mod:`ffmotion.media.stream`)."""
    header = _checked_header(path if source.path is not None else source.shown, done)
    packets, bases = _packets(done.stdout.decode("ascii", "replace"))
    return _media_info(path, source, header, packets, bases, wanted)


def _media_info(path: Path, source: Source, header: list[str],
                packets: dict[int, list[Packet]], bases: dict[int, Fraction],
                wanted: Optional[int]) -> MediaInfo:
    lines = [(m, i) for i, m in enumerate(map(_STREAM.match, header)) if m]
    streams, described = [], []
    video_no = 0
    for match, line_no in lines:
        kind = match.group(3).lower()
        desc = match.group(4)
        parts = _top_level_split(desc)
        codec = parts[0].split()[0] if parts else ""
        size = next((m for m in (re.match(r"^(\d+)x(\d+)", f) for f in parts[1:]) if m), None)
        info = StreamInfo(
            index=int(match.group(1)), kind=kind, codec=codec,  # type: ignore[arg-type]
            width=int(size.group(1)) if size else 0, height=int(size.group(2)) if size else 0,
            attached_pic="(attached pic)" in desc, default="(default)" in desc,
            packets=len(packets.get(video_no, [])) if kind == "video" else 0,
            language=(match.group(2) or "") if match.group(2) not in (None, "und") else "")
        if kind == "video":
            video_no += 1
        streams.append(info)
        described.append((info, parts, line_no))
    chosen = choose_video(streams, wanted)
    video, fields, line_no = [d for d in described if d[0].kind == "video"][chosen]
    pix_fmt = fields[1].split("(")[0].strip() if len(fields) > 1 else ""
    fps = _decimal_rate(fields, "fps") or _decimal_rate(fields, "tbr")
    start = _START.search("\n".join(header))
    file_start = Fraction(start.group(1)) if start else Fraction(0)
    base = bases.get(chosen, Fraction(1, 1000))
    index = index_frames(packets.get(chosen, []), base, offset=round(file_start / base),
                         frame_step=1 / fps if fps else Fraction(1, 30))
    audios = [s for s in streams if s.kind == "audio"]
    block = _stream_block_at(header, line_no)
    return _checked(
        path,
        width=video.width,
        height=video.height,
        fps=fps,
        frames=index.count,
        pix_fmt=pix_fmt,
        video_codec=video.codec,
        audio_codec=audios[0].codec if audios else None,
        video_stream=chosen,
        streams=tuple(streams),
        index=index,
        source=None if source.kind == "file" else source,
        **picture.from_ffmpeg_log(fields[1] if len(fields) > 1 else "", block),
        transfer=picture.transfer_of(fields[1] if len(fields) > 1 else ""),
        colorimetry=picture.colorimetry_of(fields[1] if len(fields) > 1 else ""),
    )


def _checked_header(path: "Path | str", done: runner.Completed) -> list[str]:
    """The input section of ffmpeg's log; a file ffmpeg cannot read is a MediaError."""
    header = _input_section(done.stderr)
    lines = [m for m in map(_STREAM.match, header) if m]
    if done.returncode != 0 and not lines:
        raise MediaError(f"not a media file ffmpeg can read: {path} ({_last_line(done.stderr)})")
    if not any(m.group(3) == "Video" for m in lines):
        raise MediaError(f"no video stream in {path}")
    if done.returncode != 0:
        raise MediaError(f"cannot read the video of {path} ({_last_line(done.stderr)})")
    return header


_NO_OUTPUT = "At least one output file must be specified"


def _from_mp4_index(path: Path, ffmpeg: str) -> Optional[
        tuple[list[str], dict[int, list[Packet]], dict[int, Fraction]]]:
    """Header from ``ffmpeg -i`` (no packet read) and packets from the MP4 index, when
    :mod:`ffmotion.media.mp4index` certainly gives what framecrc would; else None."""
    if not mp4index.is_mp4(path):
        return None
    tracks = mp4index.video_tracks(path)
    if not tracks:
        return None
    done = runner.capture(header_argv(ffmpeg, path), timeout=runner.procs.probe_timeout(),
                          what=f"probing {path} with ffmpeg")
    if _NO_OUTPUT not in done.stderr:
        return None  # ffmpeg failed on the input itself: framecrc says how
    header = _input_section(done.stderr)
    videos = [m for m in map(_STREAM.match, header) if m and m.group(3) == "Video"]
    if len(videos) != len(tracks):
        return None  # cover art (a covr picture), or a track ffmpeg does not list
    for match, track in zip(videos, tracks):
        desc = match.group(4)
        parts = _top_level_split(desc)
        if ("(attached pic)" in desc or not parts or parts[0].split()[0] != track.codec
                or not any(f.startswith(f"{track.width}x{track.height}") for f in parts[1:])):
            return None
    packets = {i: list(t.packets) for i, t in enumerate(tracks)}
    bases = {i: t.time_base for i, t in enumerate(tracks)}
    return header, packets, bases


def _packets(text: str) -> tuple[dict[int, list[Packet]], dict[int, Fraction]]:
    """framecrc lines -> packets per output stream (i-th video stream), and time bases."""
    packets: dict[int, list[Packet]] = {}
    bases: dict[int, Fraction] = {}
    for line in text.splitlines():
        if line.startswith("#"):
            tb = _TB.match(line)
            if tb:
                bases[int(tb.group(1))] = Fraction(int(tb.group(2)), int(tb.group(3)))
            continue
        m = _PACKET.match(line)
        if not m:
            continue
        flags = _FLAGS.search(line)
        # framecrc prints F= only when the flags are not just "key"
        value = int(flags.group(1), 16) if flags else 1
        pts = None if m.group(3) == "NOPTS" else int(m.group(3))
        if pts is not None and pts <= _NOPTS:
            pts = None
        packets.setdefault(int(m.group(1)), []).append(Packet(pts, value, int(m.group(4))))
    return packets, bases


def _stream_block_at(lines: list[str], line_no: int) -> list[str]:
    """The lines logged under the stream line at ``line_no`` (metadata, side data), up to
    the next stream line."""
    block = []
    for line in lines[line_no + 1:]:
        if re.match(r"^\s*Stream #", line):
            break
        block.append(line)
    return block


def _checked(path: Path, *, fps: Optional[Fraction], frames: int, width: int, height: int,
             **rest) -> MediaInfo:
    source = rest.get("source")
    shown = source.shown if source is not None and source.path is None else path
    if frames < 1:
        raise MediaError(f"no video frames in {shown}")
    if not fps or fps <= 0:
        raise MediaError(f"cannot tell the frame rate of {shown}")
    if width < 1 or height < 1 or not rest.get("pix_fmt"):
        raise MediaError(f"cannot tell the picture size and pixel format of {shown}")
    return MediaInfo(path=path, width=width, height=height, fps=fps, frames=frames, **rest)


def _input_section(stderr: str) -> list[str]:
    lines = stderr.splitlines()
    for i, line in enumerate(lines):
        if line.startswith(("Output #", "Stream mapping:")):
            return lines[:i]
    return lines


def _top_level_split(text: str) -> list[str]:
    """Split an ffmpeg stream description on commas outside parentheses/brackets."""
    parts: list[str] = []
    depth = 0
    current: list[str] = []
    for ch in text:
        if ch in "([":
            depth += 1
        elif ch in ")]":
            depth -= 1
        if ch == "," and depth == 0:
            parts.append("".join(current).strip())
            current = []
        else:
            current.append(ch)
    parts.append("".join(current).strip())
    return parts


def _decimal_rate(fields: list[str], unit: str) -> Optional[Fraction]:
    """ffmpeg prints rates rounded to 2 decimals (``29.97 fps``, ``30 tbr``, ``1k tbn``)."""
    for field in fields:
        m = re.fullmatch(r"(\d+(?:\.\d+)?)(k?) " + unit, field)
        if m:
            value = Fraction(m.group(1)) * (1000 if m.group(2) else 1)
            return _snap_rate(value) if value > 0 else None
    return None


def _snap_rate(value: Fraction) -> Fraction:
    """Undo the 2-decimal rounding for the usual rates: 29.97 -> 30000/1001."""
    for candidate in (Fraction(round(value)), Fraction(round(value * 1001 / 1000) * 1000, 1001)):
        if candidate > 0 and abs(candidate - value) <= Fraction(1, 200):
            return candidate
    return value


def _last_line(stderr: str) -> str:
    lines = [line.strip() for line in stderr.splitlines() if line.strip()]
    if not lines:
        return "no message"
    line = lines[-1]
    if line.startswith("[") and "] " in line:
        line = line.split("] ", 1)[1]
    if line.startswith(("/", ".")) and ": " in line:  # "path: Invalid data found ..."
        line = line.rsplit(": ", 1)[1]
    return line
