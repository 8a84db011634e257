"""The corpus stands for what it claims: each file has its trait, and flashes meet beeps.

These check the fixture itself (with ffprobe-free ffmpeg runs), so that a product test that
passes on the corpus passes on the trait, not on a file that lost it on the way.
"""
from __future__ import annotations

import re
import subprocess

import pytest

import corpus as corpus_module


def _header(ffmpeg: str, path) -> str:
    done = subprocess.run([ffmpeg, "-hide_banner", "-nostdin", "-i", str(path)],
                          capture_output=True, text=True)
    return done.stderr


def _streams(ffmpeg: str, path) -> list[str]:
    return [line.strip() for line in _header(ffmpeg, path).splitlines()
            if line.strip().startswith("Stream #")]


@pytest.mark.parametrize("name", sorted(corpus_module.MAKERS))
def test_source_flashes_meet_beeps(corpus, gen_ffmpeg, name):
    item = corpus[name]
    events = corpus_module.measure(gen_ffmpeg, item.path, video=f"0:v:{item.video_index}")
    corpus_module.assert_in_sync(events, expected_flashes=len(item.events))


def test_late_video_starts_after_audio(corpus, gen_ffmpeg):
    item = corpus["ts_late_video"]
    done = subprocess.run([gen_ffmpeg, "-hide_banner", "-nostdin", "-i", str(item.path),
                           "-map", "0", "-c", "copy", "-f", "framecrc", "-"],
                          capture_output=True, text=True)
    firsts: dict[int, int] = {}
    for line in done.stdout.splitlines():
        if line.startswith("#"):
            continue
        stream, dts, pts = (int(x.strip()) for x in line.split(",")[:3])
        firsts.setdefault(stream, pts)
    tb = {int(m.group(1)): int(m.group(2)) for m in
          re.finditer(r"#tb (\d+): 1/(\d+)", done.stdout)}
    video_start, audio_start = firsts[0] / tb[0], firsts[1] / tb[1]
    assert 0.25 <= video_start - audio_start <= 0.40


def test_edit_list_cut_has_more_packets_than_frames(corpus, gen_ffmpeg):
    path = corpus["mp4_edit_list"].path
    packets = subprocess.run([gen_ffmpeg, "-nostdin", "-i", str(path), "-map", "0:v",
                              "-c", "copy", "-f", "framecrc", "-"], capture_output=True, text=True)
    count = sum(1 for line in packets.stdout.splitlines() if line and not line.startswith("#"))
    frames = corpus_module.measure(gen_ffmpeg, path, audio=None).frame_times
    assert count > len(frames) == 75


@pytest.mark.parametrize("name,needle", [
    ("mjpeg_full_range", "yuvj420p(pc"),
    ("h264_full_range", "(pc"),
    ("ts_interlaced_tff", "top first"),
    ("mp4_rotate_90", "rotation of 90.00 degrees"),
    ("mp4_rotate_180", "rotation of -180.00 degrees"),
    ("mp4_rotate_270", "rotation of -90.00 degrees"),
    ("mp4_cover_art", "(attached pic)"),
])
def test_trait_visible_in_header(corpus, gen_ffmpeg, name, needle):
    header = _header(gen_ffmpeg, corpus[name].path)
    assert needle in header


def test_picture_tracks_come_first(corpus, gen_ffmpeg):
    for name in ("mkv_cover_first", "nut_thumbnail_first"):
        streams = _streams(gen_ffmpeg, corpus[name].path)
        assert "Video: png" in streams[0] or "Video: ffv1" in streams[0]
        assert "Video:" in streams[1], streams


def test_vfr_and_gap_timestamps(corpus, gen_ffmpeg):
    vfr = corpus_module.measure(gen_ffmpeg, corpus["mkv_vfr"].path, audio=None)
    gaps = {round(b - a, 3) for a, b in zip(vfr.frame_times, vfr.frame_times[1:])}
    assert {0.033, 0.1} <= gaps or {0.033, 0.067, 0.1} & gaps, gaps
    gap = corpus_module.measure(gen_ffmpeg, corpus["mkv_missing_frame"].path, audio=None)
    assert len(gap.frame_times) == 119
    assert max(b - a for a, b in zip(gap.frame_times, gap.frame_times[1:])) > 0.06


def test_multitrack_has_two_audio_tracks_and_subtitles(corpus, gen_ffmpeg):
    streams = _streams(gen_ffmpeg, corpus["mkv_multitrack"].path)
    assert sum("Audio:" in s for s in streams) == 2
    assert any("Subtitle:" in s for s in streams)
