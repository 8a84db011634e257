"""What we need to know about an input: frame rate, frame count, size, pixel format, audio.

Uses ffprobe when one is available, and ffmpeg alone otherwise (imageio-ffmpeg ships no
ffprobe): ``ffmpeg -i IN -map 0:v:0 -c copy -f framecrc -`` lists every video packet without
decoding, and the stream lines of its log give size, pixel format and rates.
"""
from __future__ import annotations

import json
import logging
import re
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Optional

from . import runner
from .run.names import literal_input_argv
from .errors import MediaError, UsageError

log = logging.getLogger("ffmotion")


@dataclass(frozen=True)
class MediaInfo:
    """The facts about one input file that the graph depends on."""

    path: Path
    width: int
    height: int
    fps: Fraction
    frames: int
    pix_fmt: str
    video_codec: str
    audio_codec: Optional[str] = None

    @property
    def has_audio(self) -> bool:
        return self.audio_codec is not None

    @property
    def duration(self) -> float:
        return float(self.frames / self.fps)


def probe(path: Path, tools: runner.Tools) -> MediaInfo:
    """Probe ``path`` with ffprobe if ``tools`` has one, else with ffmpeg alone."""
    path = Path(path)
    if not path.exists():
        raise UsageError(f"input not found: {path}")
    if path.is_dir():
        raise UsageError(f"input is a folder, not a file: {path}")
    if not path.is_file():  # reading a FIFO would block for ever, a device never end
        raise UsageError(f"input is not a regular file (a FIFO, device or socket): {path}")
    if tools.ffprobe:
        try:
            return _with_ffprobe(path, tools.ffprobe)
        except (MediaError, OSError, ValueError, TypeError) as exc:
            # a broken ffprobe, or a file it cannot read: ffmpeg has the last word (and the
            # error message, when the file really is unusable)
            log.debug("ffprobe failed on %s (%s); probing with ffmpeg", path, exc)
    return _with_ffmpeg(path, tools.ffmpeg)


def _with_ffprobe(path: Path, ffprobe: str) -> MediaInfo:
    done = runner.capture([
        ffprobe, "-v", "error", "-count_packets",
        "-show_entries",
        "stream=index,codec_type,codec_name,width,height,pix_fmt,r_frame_rate,avg_frame_rate,nb_read_packets",
        "-of", "json", *literal_input_argv(path), "--", str(path),
    ], timeout=runner.procs.probe_timeout(), what=f"probing {path} with ffprobe")
    if done.returncode != 0:
        raise MediaError(f"not a media file ffmpeg can read: {path} ({_last_line(done.stderr)})")
    parsed = json.loads(done.stdout or b"{}")
    streams = (parsed.get("streams") if isinstance(parsed, dict) else None) or []
    streams = [s for s in streams if isinstance(s, dict)] if isinstance(streams, list) else []
    videos = [s for s in streams if s.get("codec_type") == "video"]
    audios = [s for s in streams if s.get("codec_type") == "audio"]
    if not videos:
        raise MediaError(f"no video stream in {path}")
    video = videos[0]
    fps = _rate(video.get("avg_frame_rate")) or _rate(video.get("r_frame_rate"))
    return _checked(
        path,
        width=int(video.get("width") or 0),
        height=int(video.get("height") or 0),
        fps=fps,
        frames=int(video.get("nb_read_packets") or 0),
        pix_fmt=video.get("pix_fmt") or "",
        video_codec=video.get("codec_name") or "",
        audio_codec=(audios[0].get("codec_name") or "unknown") if audios else None,
    )


_STREAM = re.compile(r"^\s*Stream #0:\d+\S*: (Video|Audio): (.*)$")


def _with_ffmpeg(path: Path, ffmpeg: str) -> MediaInfo:
    done = runner.capture([
        ffmpeg, "-hide_banner", "-nostdin", *literal_input_argv(path), "-i", str(path),
        "-map", "0:v:0?", "-c", "copy", "-f", "framecrc", "-",
    ], timeout=runner.procs.probe_timeout(), what=f"probing {path} with ffmpeg")
    streams = [m.groups() for m in map(_STREAM.match, _input_section(done.stderr)) if m]
    if done.returncode != 0 and not streams:
        raise MediaError(f"not a media file ffmpeg can read: {path} ({_last_line(done.stderr)})")
    videos = [desc for kind, desc in streams if kind == "Video"]
    audios = [desc for kind, desc in streams if kind == "Audio"]
    if not videos:
        raise MediaError(f"no video stream in {path}")
    if done.returncode != 0:
        raise MediaError(f"cannot read the video of {path} ({_last_line(done.stderr)})")
    fields = _top_level_split(videos[0])
    codec = fields[0].split()[0] if fields else ""
    pix_fmt = fields[1].split("(")[0].strip() if len(fields) > 1 else ""
    size = next((m for m in (re.match(r"^(\d+)x(\d+)", f) for f in fields[2:]) if m), None)
    fps = _decimal_rate(fields, "fps") or _decimal_rate(fields, "tbr")
    packets = sum(
        1 for line in done.stdout.decode("ascii", "replace").splitlines()
        if line and not line.startswith("#")
    )
    audio_codec = _top_level_split(audios[0])[0].split()[0] if audios else None
    return _checked(
        path,
        width=int(size.group(1)) if size else 0,
        height=int(size.group(2)) if size else 0,
        fps=fps,
        frames=packets,
        pix_fmt=pix_fmt,
        video_codec=codec,
        audio_codec=audio_codec,
    )


def _checked(path: Path, *, fps: Optional[Fraction], frames: int, width: int, height: int,
             **rest) -> MediaInfo:  # type: ignore[no-untyped-def]
    if frames < 1:
        raise MediaError(f"no video frames in {path}")
    if not fps or fps <= 0:
        raise MediaError(f"cannot tell the frame rate of {path}")
    if width < 1 or height < 1 or not rest.get("pix_fmt"):
        raise MediaError(f"cannot tell the picture size and pixel format of {path}")
    return MediaInfo(path=path, width=width, height=height, fps=fps, frames=frames, **rest)


def _input_section(stderr: str) -> list[str]:
    lines = stderr.splitlines()
    for i, line in enumerate(lines):
        if line.startswith(("Output #", "Stream mapping:")):
            return lines[:i]
    return lines


def _top_level_split(text: str) -> list[str]:
    """Split an ffmpeg stream description on commas outside parentheses/brackets."""
    parts, depth, current = [], 0, []
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


def _rate(text: Optional[str]) -> Optional[Fraction]:
    if not text or "/" not in text:
        return None
    num, den = text.split("/", 1)
    if not num.isdigit() or not den.isdigit() or int(den) == 0 or int(num) == 0:
        return None
    return Fraction(int(num), int(den))


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
