"""The MP4 index reader gives exactly what ffmpeg's framecrc listing gives, or nothing.

Probing reads an MP4's packets from its ``moov`` index instead of from the whole file
(:mod:`ffmotion.media.mp4index`). For every MP4/MOV of the camera-like corpus and for more
variants made here (B-frames with and without an edit list, stream-copy cuts, VFR, HEVC,
MPEG-4, several video tracks, fragmented, a cut-off file, negative composition offsets), the
MediaInfo from the index path must equal, field for field and frame time for frame time, the
one from framecrc -- with each ffmpeg build -- and the reader must decline the files it does not
certainly understand.
"""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from ffmotion.media import mp4index, probe
from ffmotion.run import runner

from helpers import run_ffmpeg

SRC = "testsrc2=s=96x64:r=30:d=3"


def _framecrc_info(path: Path, ffmpeg: str, monkeypatch: pytest.MonkeyPatch) -> probe.MediaInfo:
    with monkeypatch.context() as patch:
        patch.setattr(probe, "_from_mp4_index", lambda *_: None)
        return probe.probe(path, runner.tools(ffmpeg))


def _index_used(path: Path, ffmpeg: str) -> bool:
    return probe._from_mp4_index(path, ffmpeg) is not None


def _same(path: Path, ffmpeg: str, monkeypatch: pytest.MonkeyPatch) -> bool:
    """Both paths agree on everything the plan uses; returns whether the index was used."""
    expected = _framecrc_info(path, ffmpeg, monkeypatch)
    got = probe.probe(path, runner.tools(ffmpeg))
    assert got == expected
    assert got.index is not None and expected.index is not None
    assert got.index.times == expected.index.times
    assert got.index.keyframes == expected.index.keyframes
    assert got.index.time_base == expected.index.time_base
    assert [s.packets for s in got.streams] == [s.packets for s in expected.streams]
    return _index_used(path, ffmpeg)


MP4_CORPUS = ["mp4_edit_list", "h264_full_range", "mp4_cover_art", "mp4_rotate_90",
              "mp4_rotate_180", "mp4_rotate_270"]


@pytest.mark.parametrize("name", MP4_CORPUS)
def test_corpus_mp4_index_equals_framecrc(corpus, ffmpeg_bin, monkeypatch, name):
    _same(corpus[name].path, ffmpeg_bin, monkeypatch)


def test_plain_corpus_files_take_the_index(corpus, gen_ffmpeg):
    for name in ("h264_full_range", "mp4_rotate_90"):
        assert _index_used(corpus[name].path, gen_ffmpeg), name


def test_a_stream_copy_cut_falls_back(corpus, gen_ffmpeg):
    # frames before the cut are kept behind the edit list, flagged discard: framecrc knows
    assert mp4index.video_tracks(corpus["mp4_edit_list"].path) is None


@pytest.fixture(scope="session")
def variants(tmp_path_factory: pytest.TempPathFactory, gen_ffmpeg: str) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("mp4variants")
    made: dict[str, Path] = {}

    def make(name: str, *args: str) -> Path:
        made[name] = folder / name
        run_ffmpeg(gen_ffmpeg, *args, str(made[name]))
        return made[name]

    x264 = ["-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p"]
    bframes = make("bframes.mp4", "-f", "lavfi", "-i", SRC, "-f", "lavfi", "-i", "sine=d=3",
                   *x264, "-preset", "veryfast", "-bf", "3", "-g", "25", "-c:a", "aac")
    make("bframes_noedit.mp4", "-f", "lavfi", "-i", SRC, *x264, "-preset", "veryfast",
         "-bf", "2", "-g", "20", "-use_editlist", "0")
    make("negative_cts.mp4", "-f", "lavfi", "-i", SRC, *x264, "-preset", "veryfast",
         "-bf", "2", "-movflags", "+negative_cts_offsets")
    make("cut_keyframe.mp4", "-ss", "1", "-i", str(bframes), "-c", "copy")
    make("cut_middle.mp4", "-ss", "1.4", "-i", str(bframes), "-c", "copy")
    make("vfr.mp4", "-f", "lavfi", "-i", SRC, "-vf",
         "select='lt(t\\,1)+gte(t\\,2)+not(mod(n\\,3))'", "-fps_mode", "passthrough", *x264)
    make("timescale90k.mov", "-f", "lavfi", "-i", SRC, *x264, "-bf", "2", "-preset",
         "veryfast", "-video_track_timescale", "90000")
    make("mpeg4.mp4", "-f", "lavfi", "-i", SRC, "-c:v", "mpeg4", "-bf", "1", "-q:v", "4")
    make("two_videos.mp4", "-f", "lavfi", "-i", SRC, "-f", "lavfi", "-i",
         "testsrc=s=64x48:r=25:d=2", "-map", "0:v", "-map", "1:v", *x264)
    make("fragmented.mp4", "-f", "lavfi", "-i", SRC, *x264, "-movflags",
         "+frag_keyframe+empty_moov")
    make("faststart.mp4", "-f", "lavfi", "-i", SRC, *x264, "-bf", "2", "-preset", "veryfast",
         "-movflags", "+faststart")
    make("mjpeg.mov", "-f", "lavfi", "-i", SRC, "-c:v", "mjpeg")
    try:
        make("hevc.mp4", "-f", "lavfi", "-i", SRC, "-c:v", "libx265", "-preset", "ultrafast",
             "-x265-params", "log-level=error:bframes=2", "-pix_fmt", "yuv420p")
    except Exception:  # noqa: BLE001 - a build without libx265
        pass
    cut = folder / "truncated.mp4"
    data = (folder / "faststart.mp4").read_bytes()
    cut.write_bytes(data[: len(data) * 2 // 3])  # moov at the front, media data cut off
    made["truncated.mp4"] = cut
    shutil.copy(bframes, folder / "renamed.bin")
    made["renamed.bin"] = folder / "renamed.bin"
    return made


INDEXED = ["bframes.mp4", "bframes_noedit.mp4", "vfr.mp4", "timescale90k.mov", "mpeg4.mp4",
           "two_videos.mp4", "faststart.mp4", "renamed.bin", "hevc.mp4"]
DECLINED = ["negative_cts.mp4", "cut_middle.mp4", "fragmented.mp4", "mjpeg.mov",
            "truncated.mp4"]


@pytest.mark.parametrize("name", INDEXED + DECLINED + ["cut_keyframe.mp4"])
def test_variant_index_equals_framecrc(variants, ffmpeg_bin, monkeypatch, name):
    if name not in variants:
        pytest.skip(f"{name}: the bundled ffmpeg cannot make it")
    if name == "truncated.mp4":
        # a cut file: the reader declines, and probing behaves as before (framecrc)
        assert mp4index.video_tracks(variants[name]) is None
        return
    used = _same(variants[name], ffmpeg_bin, monkeypatch)
    if name in INDEXED:
        assert used, f"{name}: the index reader should handle it"
    if name in DECLINED:
        assert not used, f"{name}: the index reader should decline it"


def test_bframes_index_is_reordered(variants, gen_ffmpeg):
    # presentation order differs from file order, and frame 0 is shown at 0
    tracks = mp4index.video_tracks(variants["bframes.mp4"])
    assert tracks is not None and len(tracks) == 1
    pts = [p.pts for p in tracks[0].packets]
    assert pts != sorted(pts) and min(pts) == 0 and len(pts) == 90


def test_print_command_starts_one_ffmpeg(variants, gen_ffmpeg, tmp_path):
    """Start-up: the binary's facts are remembered after a command that succeeded, and an MP4
    is probed from its index: a second --print-command runs ffmpeg once, reading the header."""
    import os
    import subprocess
    import sys

    calls = tmp_path / "calls"
    wrapper = tmp_path / "bin" / "ffmpeg"
    wrapper.parent.mkdir()
    wrapper.write_text(f'#!/bin/sh\necho "$@" >> "{calls}"\nexec "{gen_ffmpeg}" "$@"\n')
    wrapper.chmod(0o755)
    env = {**os.environ, "FFMOTION_CACHE": str(tmp_path / "cache")}
    argv = [sys.executable, "-m", "ffmotion", str(variants["bframes.mp4"]),
            str(tmp_path / "o.mp4"), "--ffmpeg", str(wrapper), "--print-command"]
    first = subprocess.run(argv, env=env, capture_output=True, text=True, check=True)
    assert len(calls.read_text().splitlines()) == 2  # -encoders (version + list), the probe
    calls.unlink()
    second = subprocess.run(argv, env=env, capture_output=True, text=True, check=True)
    (only,) = calls.read_text().splitlines()
    assert only.endswith(f"-i {variants['bframes.mp4']}") and "framecrc" not in only
    assert second.stdout == first.stdout


def test_garbage_after_ftyp_is_declined_quickly(tmp_path):
    junk = tmp_path / "junk.mp4"
    # an ftyp, then a million 8-byte boxes: never walked one by one
    junk.write_bytes(b"\x00\x00\x00\x10ftypisom\x00\x00\x02\x00" + b"\x00\x00\x00\x08free" * 10**6)
    assert mp4index.is_mp4(junk) and mp4index.video_tracks(junk) is None
