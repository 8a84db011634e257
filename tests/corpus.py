"""A corpus of camera-like files, generated at test time, with events to measure sync by.

Real footage breaks tools in ways synthetic clips do not: MPEG-TS whose video starts after its
audio, stream-copy cuts with edit lists, full range, cover pictures listed as the first video
track, display-matrix rotation, interlacing, variable frame rate, several tracks, a missing
frame. Each file here stands for one of them. All share one content:

* video: a dark frame with a box that moves every frame (so every frame differs from the
  next) and a full-white **flash** frame at each event;
* audio: silence with a 1 kHz **beep** starting at each event, one frame long.

In the source a flash and its beep start at the same instant. Motion extraction keeps that:
output frame i blends input frame i with i+K, so the flash frame F makes output frame F bright
(white against a dark inverted frame), shown at frame F's time. :func:`measure` finds the
bright frames and the beep onsets of any file with ffmpeg's own filters (``showinfo``,
``silencedetect``), on the file's own timeline, and :func:`sync_errors` pairs them up.

Use it through the session fixture ``corpus`` (conftest.py)::

    def test_something(corpus, gen_ffmpeg): item = corpus["ts_late_video"]
"""
from __future__ import annotations

import re
import subprocess
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Callable, Optional

FPS = 30
SIZE = (160, 120)
SECONDS = 4.0
# flash/beep frames of the source clip (30 fps): none on a GOP boundary, none before 0.5 s
EVENT_FRAMES = (20, 47, 83, 104)
BEEP_HZ = 1000
SAMPLE_RATE = 48000
# a frame counts as a flash when its mean luma (8-bit units) is at least this
FLASH_LUMA = 170.0


@dataclass(frozen=True)
class CorpusFile:
    """One camera-like file and what is true about it by construction."""

    name: str
    path: Path
    what: str  # which real-footage trait it stands for
    fps: Fraction  # nominal rate of the real video stream
    events: tuple[float, ...]  # flash/beep instants in the SOURCE timeline (seconds)
    has_audio: bool = True
    video_index: int = 0  # index of the real video among the file's video streams (0:v:N)
    traits: frozenset[str] = field(default_factory=frozenset)


def _run(ffmpeg: str, *args: str) -> None:
    done = subprocess.run([ffmpeg, "-hide_banner", "-nostdin", "-v", "error", "-y", *args],
                          capture_output=True, text=True, timeout=120)
    if done.returncode != 0:
        raise RuntimeError(f"making a corpus file failed: {' '.join(args)}\n{done.stderr}")


def event_times(fps: int = FPS) -> tuple[float, ...]:
    return tuple(f / fps for f in EVENT_FRAMES)


def video_source(fps: int = FPS, size: tuple[int, int] = SIZE, seconds: float = SECONDS,
                 flashes: tuple[int, ...] = EVENT_FRAMES) -> str:
    """lavfi graph: dark background, a box stepping every frame, white flash frames."""
    w, h = size
    flash = "+".join(f"eq(n\\,{n})" for n in flashes)
    return (f"color=c=0x202830:s={w}x{h}:r={fps}:d={seconds},"
            f"drawbox=x='mod(t*{3 * fps}\\,{w - 16})':y={h // 3}:w=16:h=16:c=0x80a060:t=fill,"
            f"drawbox=x=0:y=0:w={w}:h={h}:c=white:t=fill:enable='{flash}'")


def audio_source(seconds: float = SECONDS, events: tuple[float, ...] = (),
                 length: float = 1 / FPS) -> str:
    """lavfi graph: silence with a beep of ``length`` seconds at each event."""
    gate = "+".join(f"between(t\\,{t:.6f}\\,{t + length:.6f})" for t in events) or "0"
    return (f"aevalsrc=exprs='0.6*sin(2*PI*{BEEP_HZ}*t)*({gate})':s={SAMPLE_RATE}:d={seconds}")


def _flash_beep(ffmpeg: str, dst: Path, *video_args: str, audio_codec: str = "aac",
                vfilter: Optional[str] = None, extra: tuple[str, ...] = (),
                video_delay: float = 0.0) -> None:
    """Write the flash/beep content; ``video_delay`` starts the video that much after the
    audio (the beeps move with it, so flash and beep still coincide)."""
    video = video_source() + (f",{vfilter}" if vfilter else "")
    delay = ["-itsoffset", f"{video_delay}"] if video_delay else []
    events = tuple(t + video_delay for t in event_times())
    _run(ffmpeg, *delay, "-f", "lavfi", "-i", video, "-f", "lavfi", "-i",
         audio_source(seconds=SECONDS + video_delay, events=events), "-map", "0:v",
         "-map", "1:a", *video_args, "-c:a", audio_codec, *extra, str(dst))


# -- the corpus -------------------------------------------------------------------------------

def _ts_late_video(ffmpeg: str, folder: Path) -> CorpusFile:
    """MPEG-TS (camera/OBS): H.264 GOP 30 with B-frames, the video starting 0.3 s after the audio."""
    dst = folder / "late_video.ts"
    _flash_beep(ffmpeg, dst, "-c:v", "libx264", "-preset", "ultrafast", "-bf", "2", "-g", "30",
                "-pix_fmt", "yuv420p", video_delay=0.3, extra=("-f", "mpegts"))
    return CorpusFile("ts_late_video", dst, "MPEG-TS, video starts 0.3 s after audio, GOP 30, "
                      "B-frames", Fraction(FPS), tuple(t + 0.3 for t in event_times()),
                      traits=frozenset({"ts", "late_video", "bframes"}))


def _ts_gop(ffmpeg: str, folder: Path) -> CorpusFile:
    dst = folder / "camera.m2ts"
    _flash_beep(ffmpeg, dst, "-c:v", "libx264", "-preset", "ultrafast", "-bf", "3", "-g", "30",
                "-pix_fmt", "yuv420p", "-muxdelay", "0", extra=("-f", "mpegts"))
    return CorpusFile("ts_gop30", dst, "M2TS-like MPEG-TS, H.264 GOP 30, 3 B-frames",
                      Fraction(FPS), event_times(), traits=frozenset({"ts", "bframes"}))


def _ps(ffmpeg: str, folder: Path) -> CorpusFile:
    dst = folder / "dvd.mpg"
    _flash_beep(ffmpeg, dst, "-c:v", "mpeg2video", "-q:v", "3", "-bf", "2", "-g", "30",
                audio_codec="mp2", extra=("-f", "mpeg"))
    return CorpusFile("ps_mpeg2", dst, "MPEG-PS (.mpg/.vob), MPEG-2 GOP 30, B-frames",
                      Fraction(FPS), event_times(), traits=frozenset({"ps", "bframes"}))


def _edit_list(ffmpeg: str, folder: Path) -> CorpusFile:
    """A phone "trim": stream copy from 1.5 s, so the cut keeps packets behind an edit list."""
    full = folder / "phone_full.mp4"
    _flash_beep(ffmpeg, full, "-c:v", "libx264", "-preset", "ultrafast", "-g", "30",
                "-pix_fmt", "yuv420p")
    dst = folder / "phone_trimmed.mp4"
    _run(ffmpeg, "-ss", "1.5", "-i", str(full), "-c", "copy", str(dst))
    events = tuple(t - 1.5 for t in event_times() if t > 1.5)
    return CorpusFile("mp4_edit_list", dst, "stream-copy cut: edit list, more packets than "
                      "frames", Fraction(FPS), events, traits=frozenset({"edit_list"}))


def _full_range_mjpeg(ffmpeg: str, folder: Path) -> CorpusFile:
    dst = folder / "webcam.avi"
    _flash_beep(ffmpeg, dst, "-c:v", "mjpeg", "-q:v", "3", "-pix_fmt", "yuvj420p",
                audio_codec="pcm_s16le")
    return CorpusFile("mjpeg_full_range", dst, "MJPEG webcam, full range (yuvj420p)",
                      Fraction(FPS), event_times(), traits=frozenset({"full_range"}))


def _full_range_h264(ffmpeg: str, folder: Path) -> CorpusFile:
    dst = folder / "phone_full_range.mp4"
    _flash_beep(ffmpeg, dst, "-c:v", "libx264", "-preset", "ultrafast", "-g", "30",
                "-pix_fmt", "yuvj420p", "-color_range", "pc")
    return CorpusFile("h264_full_range", dst, "phone H.264, full range (pc)", Fraction(FPS),
                      event_times(), traits=frozenset({"full_range"}))


def _cover(ffmpeg: str, folder: Path) -> CorpusFile:
    """Matroska with a cover picture listed as video stream 0 (disposition attached_pic)."""
    clip = folder / "cover_clip.mkv"
    _flash_beep(ffmpeg, clip, "-c:v", "ffv1", audio_codec="flac")
    art = folder / "cover.png"
    _run(ffmpeg, "-f", "lavfi", "-i", "testsrc2=s=64x64:d=1", "-frames:v", "1", str(art))
    dst = folder / "with_cover.mkv"
    _run(ffmpeg, "-i", str(art), "-i", str(clip), "-map", "0:v", "-map", "1:v", "-map", "1:a",
         "-c", "copy", "-disposition:v:0", "attached_pic", "-disposition:v:1", "default",
         str(dst))
    return CorpusFile("mkv_cover_first", dst, "a one-frame picture track before the video",
                      Fraction(FPS), event_times(), video_index=1,
                      traits=frozenset({"cover"}))


def _cover_art(ffmpeg: str, folder: Path) -> CorpusFile:
    """MP4 with cover art (a ``covr`` picture: a video stream flagged attached_pic)."""
    clip = folder / "art_clip.mp4"
    _flash_beep(ffmpeg, clip, "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p")
    art = folder / "art.png"
    _run(ffmpeg, "-f", "lavfi", "-i", "testsrc2=s=200x200:d=1", "-frames:v", "1", str(art))
    dst = folder / "with_cover_art.mp4"
    _run(ffmpeg, "-i", str(art), "-i", str(clip), "-map", "0:v", "-map", "1:v", "-map", "1:a",
         "-c", "copy", "-disposition:v:0", "attached_pic", str(dst))
    return CorpusFile("mp4_cover_art", dst, "cover art (attached_pic, larger than the video)",
                      Fraction(FPS), event_times(), video_index=0, traits=frozenset({"cover"}))


def _thumbnail(ffmpeg: str, folder: Path) -> CorpusFile:
    """NUT with a one-frame thumbnail track (no attached_pic flag) before the real video."""
    clip = folder / "thumb_clip.nut"
    _flash_beep(ffmpeg, clip, "-c:v", "ffv1", audio_codec="pcm_s16le")
    thumb = folder / "thumb.nut"
    _run(ffmpeg, "-f", "lavfi", "-i", "testsrc2=s=64x48:r=30:d=1", "-frames:v", "1",
         "-c:v", "ffv1", str(thumb))
    dst = folder / "with_thumbnail.nut"
    _run(ffmpeg, "-i", str(thumb), "-i", str(clip), "-map", "0:v", "-map", "1:v", "-map", "1:a",
         "-c", "copy", str(dst))
    return CorpusFile("nut_thumbnail_first", dst, "one-frame thumbnail track before the video",
                      Fraction(FPS), event_times(), video_index=1,
                      traits=frozenset({"thumbnail"}))


def _rotated(ffmpeg: str, folder: Path, degrees: int) -> CorpusFile:
    clip = folder / f"upright_{degrees}.mp4"
    _flash_beep(ffmpeg, clip, "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p")
    dst = folder / f"rotated_{degrees}.mp4"
    _run(ffmpeg, "-display_rotation", str(degrees), "-i", str(clip), "-c", "copy", str(dst))
    return CorpusFile(f"mp4_rotate_{degrees}", dst, f"display matrix: rotate {degrees}",
                      Fraction(FPS), event_times(), traits=frozenset({"rotation"}))


def _interlaced(ffmpeg: str, folder: Path) -> CorpusFile:
    dst = folder / "interlaced.ts"
    _flash_beep(ffmpeg, dst, "-c:v", "mpeg2video", "-q:v", "3", "-g", "30",
                "-flags", "+ilme+ildct", audio_codec="mp2",
                vfilter="setfield=tff", extra=("-f", "mpegts"))
    return CorpusFile("ts_interlaced_tff", dst, "interlaced MPEG-2, top field first",
                      Fraction(FPS), event_times(), traits=frozenset({"ts", "interlaced"}))


def _vfr(ffmpeg: str, folder: Path) -> CorpusFile:
    """Phone-like variable frame rate: 30 fps, then 10 fps for a second, then 30 again.

    Frames are dropped (timestamps kept) between 1.0 and 2.0 s except each third one; the
    flash frames are all kept, so every flash still sits at its beep's instant.
    """
    dst = folder / "phone_vfr.mkv"
    keep = "+".join(f"eq(n\\,{n})" for n in EVENT_FRAMES)
    select = f"select='lt(t\\,1)+gte(t\\,2)+not(mod(n\\,3))+{keep}'"
    _flash_beep(ffmpeg, dst, "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p",
                "-fps_mode", "passthrough", vfilter=select)
    return CorpusFile("mkv_vfr", dst, "variable frame rate: 30 -> 10 -> 30 fps",
                      Fraction(FPS), event_times(), traits=frozenset({"vfr"}))


def _gap(ffmpeg: str, folder: Path) -> CorpusFile:
    """A missing frame: frame 60 is dropped and the timestamps keep the hole."""
    dst = folder / "missing_frame.mkv"
    _flash_beep(ffmpeg, dst, "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p",
                "-fps_mode", "passthrough", vfilter="select='not(eq(n\\,60))'")
    return CorpusFile("mkv_missing_frame", dst, "one frame missing (a timestamp gap)",
                      Fraction(FPS), event_times(), traits=frozenset({"gap"}))


def _multitrack(ffmpeg: str, folder: Path) -> CorpusFile:
    """Two audio tracks (the second a commentary without beeps) and a subtitle track."""
    subs = folder / "subs.srt"
    subs.write_text("1\n00:00:00,500 --> 00:00:02,000\nhello\n\n"
                    "2\n00:00:02,500 --> 00:00:03,500\nworld\n", encoding="utf-8")
    dst = folder / "multitrack.mkv"
    _run(ffmpeg, "-f", "lavfi", "-i", video_source(), "-f", "lavfi", "-i",
         audio_source(events=event_times()), "-f", "lavfi", "-i",
         f"sine=f=300:d={SECONDS}:sample_rate={SAMPLE_RATE}", "-i", str(subs),
         "-map", "0:v", "-map", "1:a", "-map", "2:a", "-map", "3:s",
         "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p",
         "-c:a", "aac", "-c:s", "srt", "-metadata:s:a:0", "language=eng",
         "-metadata:s:a:1", "language=fra", str(dst))
    return CorpusFile("mkv_multitrack", dst, "two audio tracks and subtitles", Fraction(FPS),
                      event_times(), traits=frozenset({"multitrack", "subtitles"}))


def _null_frames(ffmpeg: str, folder: Path) -> CorpusFile:
    """AVI with zero-size "null" frames (capture tools, DVRs, VirtualDub): the phone-like
    30 -> 10 -> 30 fps of :func:`_vfr` written to AVI, whose muxer fills each gap with empty
    '00dc' chunks. Ut Video has no parser in ffmpeg, so the empty packets reach the packet
    listing (as Cinepak's do in real captures): 120 packets, 101 frames."""
    dst = folder / "capture_null_frames.avi"
    keep = "+".join(f"eq(n\\,{n})" for n in EVENT_FRAMES)
    select = f"select='lt(t\\,1)+gte(t\\,2)+not(mod(n\\,3))+{keep}'"
    _flash_beep(ffmpeg, dst, "-c:v", "utvideo", "-pix_fmt", "yuv420p", "-fps_mode",
                "passthrough", vfilter=select, audio_codec="pcm_s16le")
    return CorpusFile("avi_null_frames", dst, "AVI null frames (zero-size packets) where "
                      "frames were dropped", Fraction(FPS), event_times(),
                      traits=frozenset({"null_frames", "vfr"}))


# -- files whose packet listing lies: only decoding tells (not in MAKERS: see BROKEN) ---------

def _decoded_until(ffmpeg: str, path: Path) -> tuple[int, list[float], tuple[float, ...]]:
    """(video packets listed, the times of the frames that decode, beep onsets). Frames are
    counted from framecrc of the decoded frames: a damaged file's decoder errors can land in
    the middle of a showinfo line, not in framecrc's output."""
    def run(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([ffmpeg, "-hide_banner", "-nostdin", *args], capture_output=True,
                              text=True, timeout=120)

    listed = run("-copyts", "-i", str(path), "-map", "0:v", "-c", "copy", "-f", "framecrc", "-")
    count = sum(1 for line in listed.stdout.splitlines() if line and not line.startswith("#"))
    frames = run("-i", str(path), "-map", "0:v:0", "-fps_mode", "passthrough", "-f", "framecrc",
                 "-").stdout.splitlines()
    tb = next((line for line in frames if line.startswith("#tb 0:")), "#tb 0: 1/1")
    num, den = (int(x) for x in tb.split(":")[1].strip().split("/"))
    times = [int(line.split(",")[2]) * num / den for line in frames
             if line and not line.startswith("#")]
    return count, times, measure(ffmpeg, path, video="0:v:0").beeps


def _cut_short(ffmpeg: str, whole: Path, dst: Path, mid_packet: bool, regular: bool) -> None:
    """``whole`` truncated (its bytes cut, as a recording stopped by a full card) after the
    third event and before the fourth, with the third beep in; ``mid_packet``: where a video
    packet is listed but does not decode (the file ends inside it); ``regular``: where the
    frames that decode are evenly spaced (no B-frame lost before the cut's last frame)."""
    data = whole.read_bytes()
    third, fourth = (f / FPS for f in EVENT_FRAMES[2:4])
    for step in range(60, 100):
        dst.write_bytes(data[:len(data) * step // 100])
        try:
            listed, times, beeps = _decoded_until(ffmpeg, dst)
        except (RuntimeError, ValueError):
            continue
        if not times:
            continue
        steps = [b - a for a, b in zip(times, times[1:])]
        even = max(steps) - min(steps) < 0.002
        heard = any(abs(b - third) < 0.01 for b in beeps)
        if (third + 0.2 < times[-1] < fourth - 0.05 and heard
                and (listed > len(times)) == mid_packet and (even or not regular)):
            return
    raise RuntimeError(f"no cut of {whole.name} ends between the third and fourth events")


def _mp4_cut_short(ffmpeg: str, folder: Path) -> CorpusFile:
    """A phone MP4 (index first: +faststart; variable rate as :func:`_vfr`) cut short: its
    index lists every frame, the bytes of the last ones are gone, and the file ends inside a
    video packet, which ffmpeg lists but cannot decode."""
    whole = folder / "phone_whole.mp4"
    keep = "+".join(f"eq(n\\,{n})" for n in EVENT_FRAMES)
    select = f"select='lt(t\\,1)+gte(t\\,2)+not(mod(n\\,3))+{keep}',noise=alls=12:allf=t"
    _flash_beep(ffmpeg, whole, "-c:v", "libx264", "-preset", "ultrafast", "-g", "30",
                "-pix_fmt", "yuv420p", "-fps_mode", "passthrough", "-movflags", "+faststart",
                vfilter=select)
    dst = folder / "phone_cut_short.mp4"
    _cut_short(ffmpeg, whole, dst, mid_packet=True, regular=False)
    return CorpusFile("mp4_cut_short", dst, "MP4 cut short: the index lists frames that are "
                      "gone", Fraction(FPS), event_times()[:3],
                      traits=frozenset({"cut_short", "vfr"}))


def _mkv_cut_short(ffmpeg: str, folder: Path) -> CorpusFile:
    """An MKV recording (OBS-like: H.264 with B-frames, GOP 30) cut short after 3 s."""
    whole = folder / "recording_whole.mkv"
    _flash_beep(ffmpeg, whole, "-c:v", "libx264", "-preset", "ultrafast", "-g", "30",
                "-bf", "2", "-pix_fmt", "yuv420p", vfilter="noise=alls=12:allf=t")
    dst = folder / "recording_cut_short.mkv"
    _cut_short(ffmpeg, whole, dst, mid_packet=False, regular=True)
    return CorpusFile("mkv_cut_short", dst, "MKV cut short (the last cluster incomplete)",
                      Fraction(FPS), event_times()[:3], traits=frozenset({"cut_short"}))


CHANGE_AT = 60  # the frame where :func:`_size_change` changes size
SECOND_SIZE = (128, 96)


def _size_change(ffmpeg: str, folder: Path) -> CorpusFile:
    """Two MPEG-TS recordings of different sizes (160x120, then 128x96 from frame 60)
    joined by stream copy (the concat protocol), as broadcast recordings and concatenated
    segments are. The second segment stays beside it (``segment_b.ts``): its frames are
    those of the joined file from frame 60 on."""
    parts = []
    split = CHANGE_AT / FPS
    for name, size, flashes in (("segment_a.ts", SIZE, EVENT_FRAMES[:2]),
                                ("segment_b.ts", SECOND_SIZE,
                                 tuple(f - CHANGE_AT for f in EVENT_FRAMES[2:]))):
        part = folder / name
        video = video_source(size=size, seconds=split, flashes=flashes) + ",noise=alls=12:allf=t"
        _run(ffmpeg, "-f", "lavfi", "-i", video,
             "-f", "lavfi", "-i", audio_source(seconds=split, events=tuple(
                 f / FPS for f in flashes)),
             "-c:v", "libx264", "-preset", "ultrafast", "-g", "30", "-bf", "2",
             "-pix_fmt", "yuv420p", "-c:a", "aac", "-f", "mpegts", str(part))
        parts.append(part)
    dst = folder / "size_change.ts"
    _run(ffmpeg, "-i", "concat:" + "|".join(str(p) for p in parts), "-map", "0", "-c", "copy",
         "-f", "mpegts", str(dst))
    return CorpusFile("ts_size_change", dst, "MPEG-TS whose picture size changes at frame "
                      "60 (160x120 -> 128x96)", Fraction(FPS), event_times(),
                      traits=frozenset({"ts", "size_change", "bframes"}))


def _mov_text(ffmpeg: str, folder: Path) -> CorpusFile:
    """A phone/drone MP4 with a mov_text caption track (Matroska cannot hold mov_text)."""
    subs = folder / "captions.srt"
    subs.write_text("1\n00:00:00,500 --> 00:00:02,000\nALT 120 m\n\n"
                    "2\n00:00:02,500 --> 00:00:03,500\nALT 121 m\n", encoding="utf-8")
    clip = folder / "captioned_source.mp4"
    _flash_beep(ffmpeg, clip, "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p")
    dst = folder / "captioned.mp4"
    _run(ffmpeg, "-i", str(clip), "-i", str(subs), "-map", "0", "-map", "1", "-c:v", "copy",
         "-c:a", "copy", "-c:s", "mov_text", str(dst))
    return CorpusFile("mp4_mov_text", dst, "a mov_text (3GPP timed text) caption track",
                      Fraction(FPS), event_times(), traits=frozenset({"subtitles", "mov_text"}))


MAKERS: dict[str, Callable[[str, Path], CorpusFile]] = {
    "ts_late_video": _ts_late_video,
    "ts_gop30": _ts_gop,
    "ps_mpeg2": _ps,
    "mp4_edit_list": _edit_list,
    "mjpeg_full_range": _full_range_mjpeg,
    "h264_full_range": _full_range_h264,
    "mkv_cover_first": _cover,
    "mp4_cover_art": _cover_art,
    "nut_thumbnail_first": _thumbnail,
    "mp4_rotate_90": lambda ffmpeg, folder: _rotated(ffmpeg, folder, 90),
    "mp4_rotate_180": lambda ffmpeg, folder: _rotated(ffmpeg, folder, 180),
    "mp4_rotate_270": lambda ffmpeg, folder: _rotated(ffmpeg, folder, 270),
    "ts_interlaced_tff": _interlaced,
    "mkv_vfr": _vfr,
    "mkv_missing_frame": _gap,
    "mkv_multitrack": _multitrack,
    "avi_null_frames": _null_frames,
    "mp4_cut_short": _mp4_cut_short,
    "mkv_cut_short": _mkv_cut_short,
    "mp4_mov_text": _mov_text,
}
# files whose frames are not all the same size: the reference decode of tests over MAKERS
# assumes one size, so their tests are their own (tests/integration/test_resolution_change.py)
BROKEN: dict[str, Callable[[str, Path], CorpusFile]] = {
    "ts_size_change": _size_change,
}


def build(ffmpeg: str, folder: Path, names: Optional[list[str]] = None) -> dict[str, CorpusFile]:
    """Make the corpus (or the files named) in ``folder``; seconds in all."""
    folder.mkdir(parents=True, exist_ok=True)
    makers = {**MAKERS, **BROKEN}
    return {name: makers[name](ffmpeg, folder) for name in (names or list(MAKERS))}


# -- measuring events in any file ---------------------------------------------------------------

@dataclass(frozen=True)
class Events:
    """Flashes and beeps found in one file, on its own (decoded) timeline, in seconds."""

    flashes: tuple[float, ...]  # pts of frames with mean luma >= FLASH_LUMA
    beeps: tuple[float, ...]  # onsets of sound after silence
    frame_times: tuple[float, ...]  # pts of every video frame, in order
    frame_means: tuple[float, ...]  # mean luma of every frame (8-bit units)

    @property
    def frame_duration(self) -> float:
        """The median gap between frames."""
        gaps = sorted(b - a for a, b in zip(self.frame_times, self.frame_times[1:]))
        return gaps[len(gaps) // 2] if gaps else 0.0


# showinfo logs a frame in several calls (time first, statistics later): on a damaged file a
# decoder thread's error can land between them, so each mean goes to the last frame seen
_SHOWINFO = re.compile(r"\bn:\s*(\d+)\s+pts:\s*(-?\d+)\s+pts_time:\s*(-?[\d.e+-]+)"
                       r"|\bmean:\[(\d+)")
_SILENCE_END = re.compile(r"silence_end:\s*(-?[\d.]+)")
_SILENCE_START = re.compile(r"silence_start:\s*(-?[\d.]+)")


def measure(ffmpeg: str, path: Path, video: str = "0:v:0", audio: Optional[str] = "0:a:0",
            depth: int = 8) -> Events:
    """Decode ``path`` once with ffmpeg's own filters and find its flashes and beeps.

    Times are the decoded timestamps ffmpeg gives both streams of one file (the same offset
    applied to each), so a flash and its beep can be compared directly.
    """
    graph = f"[{video}]showinfo[v]"
    maps = ["-map", "[v]"]
    if audio is not None:
        graph += f";[{audio}]silencedetect=n=-30dB:d=0.015[a]"
        maps += ["-map", "[a]"]
    done = subprocess.run([ffmpeg, "-hide_banner", "-nostdin", "-i", str(path),
                           "-filter_complex", graph, *maps, "-f", "null", "-"],
                          capture_output=True, text=True, timeout=120)
    if done.returncode != 0:
        raise RuntimeError(f"measuring {path} failed:\n{done.stderr[-2000:]}")
    times, means = [], []
    scale = 1 << (depth - 8)
    for m in _SHOWINFO.finditer(done.stderr):
        if m.group(3) is not None:
            times.append(float(m.group(3)))
        elif len(means) < len(times):
            means.append(int(m.group(4)) / scale)
    times = times[:len(means)]
    flashes = tuple(t for t, mean in zip(times, means) if mean >= FLASH_LUMA)
    beeps: list[float] = []
    if audio is not None:
        # silence_end is a beep's onset when a silence_start (the beep's end) follows it; the
        # last silence_end of a file that ends silent is only the end of the stream. Audio that
        # starts inside a beep has no onset to measure: keep ranges off the beeps.
        marks = sorted([(float(x), "end") for x in _SILENCE_END.findall(done.stderr)]
                       + [(float(x), "start") for x in _SILENCE_START.findall(done.stderr)])
        beeps = [t for (t, kind), (_, after) in zip(marks, marks[1:] + [(0.0, "")])
                 if kind == "end" and after == "start"]
    return Events(flashes, tuple(beeps), tuple(times), tuple(means))


def sync_errors(events: Events) -> list[float]:
    """For each flash, the signed time to the nearest beep onset (video minus audio)."""
    if not events.beeps:
        return [float("inf") for _ in events.flashes]
    return [min((flash - beep for beep in events.beeps), key=abs) for flash in events.flashes]


def assert_in_sync(events: Events, expected_flashes: Optional[int] = None,
                   tolerance_frames: float = 1.0) -> None:
    """Every flash within ``tolerance_frames`` frames of a beep, and vice versa."""
    assert events.flashes, "no flash frame found (mean luma >= %s)" % FLASH_LUMA
    if expected_flashes is not None:
        assert len(events.flashes) == expected_flashes, (
            f"{len(events.flashes)} flash frames at {events.flashes}, expected {expected_flashes}")
    limit = tolerance_frames * events.frame_duration + 1e-6
    errors = sync_errors(events)
    worst = max(errors, key=abs)
    assert abs(worst) <= limit, (
        f"flash and beep {worst * 1000:+.1f} ms apart (limit {limit * 1000:.1f} ms); "
        f"flashes {events.flashes}, beeps {events.beeps}")
    for beep in events.beeps:
        nearest = min(abs(beep - flash) for flash in events.flashes)
        assert nearest <= limit, f"beep at {beep:.3f} s has no flash within a frame"
