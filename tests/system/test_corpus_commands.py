"""Every command over the camera-like corpus (tests/corpus.py): exact pixels, exact ranges,
sound in sync, nothing written on error.

Expected values never come from ffmotion: pixels from the numpy reference on the frames ffmpeg
decodes (edit lists applied, display rotation applied, the real video stream), sync from the
flashes and beeps measured in the output itself.
"""
from __future__ import annotations

import os
import shlex
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import ffmotion
from ffmotion.core.pixfmt import plane_layout

import corpus as corpus_module
import reference

ALL = sorted(corpus_module.MAKERS)
K = 5


def _first_frame(ffmpeg: str, path: Path, stream: str) -> tuple[str, tuple[int, int]]:
    """The decoded pixel format and size (display rotation applied) of ``stream``."""
    done = subprocess.run([ffmpeg, "-hide_banner", "-nostdin", "-i", str(path), "-map", stream,
                           "-frames:v", "1", "-vf", "showinfo", "-f", "null", "-"],
                          capture_output=True, text=True)
    info = next(line for line in done.stderr.splitlines() if "n:   0" in line and "fmt:" in line)
    fields = dict(part.split(":", 1) for part in info.split() if ":" in part)
    w, h = fields["s"].split("x")
    return fields["fmt"], (int(w), int(h))


def _native_pix_fmt(ffmpeg: str, path: Path, stream: str) -> str:
    return _first_frame(ffmpeg, path, stream)[0]


def _size(ffmpeg: str, path: Path, stream: str) -> tuple[int, int]:
    return _first_frame(ffmpeg, path, stream)[1]


def _decode(ffmpeg: str, path: Path, stream: str, pix_fmt: str) -> tuple[list, tuple[int, int]]:
    """Every decoded frame of ``stream`` (rotation applied) as planes, and its (w, h)."""
    size = _size(ffmpeg, path, stream)
    layout = plane_layout(pix_fmt, *size)
    argv = [ffmpeg, "-hide_banner", "-nostdin", "-v", "error", "-i", str(path), "-map", stream,
            "-fps_mode", "passthrough", "-f", "rawvideo", "-pix_fmt", pix_fmt, "-"]
    raw = subprocess.run(argv, capture_output=True, check=True).stdout
    dtype = np.dtype("<u2") if layout.bytes_per_sample == 2 else np.dtype("u1")
    flat = np.frombuffer(raw, dtype=dtype)
    per = layout.frame_bytes // dtype.itemsize
    assert flat.size % per == 0
    return [reference.split_planes(flat[i * per:(i + 1) * per], layout)
            for i in range(flat.size // per)], size


def _expected(frames: list, k: int, mode: str, pix_fmt: str) -> list:
    depth = plane_layout(pix_fmt, 2, 2).depth
    return list(reference.motion_frames(iter(frames), k, mode, (1 << depth) - 1))


def _assert_equal(got: list, want: list) -> None:
    assert len(got) == len(want), f"{len(got)} frames, expected {len(want)}"
    for i, (g, w) in enumerate(zip(got, want)):
        for p, (gp, wp) in enumerate(zip(g, w)):
            if not np.array_equal(gp, wp):
                diff = np.abs(gp.astype(int) - wp.astype(int))
                raise AssertionError(f"frame {i} plane {p}: {np.count_nonzero(diff)} samples "
                                     f"differ, max {diff.max()}")


def _source(ffmpeg: str, item) -> tuple[list, str, tuple[int, int]]:
    stream = f"0:v:{item.video_index}"
    pix_fmt = _native_pix_fmt(ffmpeg, item.path, stream)
    frames, size = _decode(ffmpeg, item.path, stream, pix_fmt)
    return frames, pix_fmt, size


# -- pixels ---------------------------------------------------------------------------------

@pytest.mark.parametrize("name", ALL)
def test_lossless_equals_reference(corpus, ffmpeg_bin, tmp_path, name):
    item = corpus[name]
    frames, pix_fmt, _ = _source(ffmpeg_bin, item)
    out = tmp_path / "out.mkv"
    ffmotion.extract(item.path, out, K, lossless=True, ffmpeg=ffmpeg_bin, audio=False)
    got, _ = _decode(ffmpeg_bin, out, "0:v:0", _native_pix_fmt(ffmpeg_bin, out, "0:v:0"))
    _assert_equal(got, _expected(frames, K, "offset", pix_fmt))


@pytest.mark.parametrize("name", ["mp4_edit_list", "ts_gop30", "mkv_vfr", "mkv_cover_first",
                                  "mjpeg_full_range", "mp4_rotate_90"])
def test_freeze_and_dual_equal_reference(corpus, gen_ffmpeg, tmp_path, name):
    item = corpus[name]
    frames, pix_fmt, _ = _source(gen_ffmpeg, item)
    out = tmp_path / "freeze.mkv"
    ffmotion.extract(item.path, out, freeze=3, lossless=True, ffmpeg=gen_ffmpeg, audio=False)
    got, _ = _decode(gen_ffmpeg, out, "0:v:0", _native_pix_fmt(gen_ffmpeg, out, "0:v:0"))
    _assert_equal(got, _expected(frames, 3, "freeze", pix_fmt))
    dual = tmp_path / "dual.mkv"
    ffmotion.extract(item.path, dual, K, lossless=True, ffmpeg=gen_ffmpeg, audio=False,
                     strategy="dual")
    got, _ = _decode(gen_ffmpeg, dual, "0:v:0", _native_pix_fmt(gen_ffmpeg, dual, "0:v:0"))
    _assert_equal(got, _expected(frames, K, "offset", pix_fmt))


@pytest.mark.parametrize("name", ALL)
def test_chunked_runs_equal_reference(corpus, gen_ffmpeg, tmp_path, name):
    """--chunks 3 on every camera-like file: the pixels of the reference (or, with frames at
    irregular times, one line refusing it and nothing written)."""
    item = corpus[name]
    out = tmp_path / "chunked.mkv"
    if item.traits & {"vfr", "gap"}:
        with pytest.raises(ffmotion.core.errors.UsageError, match="irregular times"):
            ffmotion.extract(item.path, out, K, lossless=True, ffmpeg=gen_ffmpeg, chunks=3,
                             jobs=2)
        assert not out.exists()
        return
    frames, pix_fmt, _ = _source(gen_ffmpeg, item)
    result = ffmotion.extract(item.path, out, K, lossless=True, ffmpeg=gen_ffmpeg, audio=False,
                              chunks=3, jobs=2)
    assert result.chunks == 3
    got, _ = _decode(gen_ffmpeg, out, "0:v:0", _native_pix_fmt(gen_ffmpeg, out, "0:v:0"))
    _assert_equal(got, _expected(frames, K, "offset", pix_fmt))
    assert not [n for n in os.listdir(tmp_path) if n.startswith(".")]


@pytest.mark.parametrize("name", ["ts_late_video", "ts_gop30", "ps_mpeg2", "mp4_edit_list",
                                  "mkv_vfr", "mkv_missing_frame"])
def test_range_gives_exactly_the_named_frames(corpus, gen_ffmpeg, tmp_path, name):
    item = corpus[name]
    frames, pix_fmt, _ = _source(gen_ffmpeg, item)
    first, last = 31, 67  # frames 31..66: off every keyframe
    out = tmp_path / "range.mkv"
    ffmotion.extract(item.path, out, K, lossless=True, ffmpeg=gen_ffmpeg, audio=False,
                     start=f"{first}f", end=f"{last}f")
    got, _ = _decode(gen_ffmpeg, out, "0:v:0", _native_pix_fmt(gen_ffmpeg, out, "0:v:0"))
    _assert_equal(got, _expected(frames[first:last], K, "offset", pix_fmt))


# -- sync -----------------------------------------------------------------------------------

def _flash_indices(ffmpeg: str, item) -> list[int]:
    events = corpus_module.measure(ffmpeg, item.path, video=f"0:v:{item.video_index}",
                                   audio=None)
    return [i for i, mean in enumerate(events.frame_means) if mean >= corpus_module.FLASH_LUMA]


@pytest.mark.parametrize("name", ALL)
def test_sound_in_sync_offset_mode(corpus, gen_ffmpeg, tmp_path, name):
    item = corpus[name]
    n = len(corpus_module.measure(gen_ffmpeg, item.path, video=f"0:v:{item.video_index}",
                                  audio=None).frame_times)
    flashes = [i for i in _flash_indices(gen_ffmpeg, item) if i < n - K]
    out = tmp_path / "out.mp4"
    ffmotion.extract(item.path, out, K, ffmpeg=gen_ffmpeg)
    events = corpus_module.measure(gen_ffmpeg, out)
    assert len(events.frame_times) == n - K
    corpus_module.assert_in_sync(events, expected_flashes=len(flashes))


@pytest.mark.parametrize("name", ["ts_late_video", "mp4_edit_list", "mkv_vfr", "ps_mpeg2"])
def test_sound_in_sync_freeze_and_range(corpus, gen_ffmpeg, tmp_path, name):
    item = corpus[name]
    flashes = _flash_indices(gen_ffmpeg, item)
    out = tmp_path / "freeze.mp4"
    ffmotion.extract(item.path, out, freeze=0, ffmpeg=gen_ffmpeg)
    corpus_module.assert_in_sync(corpus_module.measure(gen_ffmpeg, out),
                                 expected_flashes=len(flashes))
    first, last = 12, 72  # the last output frame is no flash (its beep would be cut short)
    ranged = tmp_path / "range.mp4"
    ffmotion.extract(item.path, ranged, K, ffmpeg=gen_ffmpeg, start=f"{first}f", end=f"{last}f")
    events = corpus_module.measure(gen_ffmpeg, ranged)
    assert len(events.frame_times) == last - first - K
    corpus_module.assert_in_sync(
        events, expected_flashes=sum(first <= i < last - K for i in flashes))


@pytest.mark.parametrize("name", ["ts_late_video", "mp4_edit_list", "mp4_rotate_90",
                                  "h264_full_range", "ts_interlaced_tff", "mkv_cover_first"])
def test_stabilized_chunks_on_camera_files(corpus, gen_ffmpeg, tmp_path, name, monkeypatch):
    """--stabilize (smoothing 10) with --chunks 3: the frames of the stabilized single pass,
    and the sound against the picture within a frame."""
    monkeypatch.setenv("FFMOTION_CACHE", str(tmp_path / "cache"))
    item = corpus[name]
    opts = dict(ffmpeg=gen_ffmpeg, stabilize=ffmotion.core.request.StabilizeOptions(smoothing=10),
                deinterlace="interlaced" in item.traits)
    one, many = tmp_path / "one.mkv", tmp_path / "many.mkv"
    ffmotion.extract(item.path, one, K, lossless=True, audio=False, **opts)
    result = ffmotion.extract(item.path, many, K, lossless=True, audio=False, chunks=3, jobs=2,
                              **opts)
    assert result.chunks == 3
    pix_fmt = _native_pix_fmt(gen_ffmpeg, one, "0:v:0")
    _assert_equal(_decode(gen_ffmpeg, many, "0:v:0", pix_fmt)[0],
                  _decode(gen_ffmpeg, one, "0:v:0", pix_fmt)[0])
    out = tmp_path / "out.mp4"
    ffmotion.extract(item.path, out, K, chunks=3, jobs=2, **opts)
    corpus_module.assert_in_sync(corpus_module.measure(gen_ffmpeg, out))
    assert not [n for n in os.listdir(tmp_path) if n.startswith(".")]


# -- the other commands ---------------------------------------------------------------------

def _cli(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "ffmotion", *args], capture_output=True,
                          text=True, cwd=cwd, timeout=120)


@pytest.mark.parametrize("name", ALL)
def test_sheet_and_energy_run(corpus, gen_ffmpeg, tmp_path, name):
    item = corpus[name]
    _, _, (w, h) = _source(gen_ffmpeg, item)
    sheet = tmp_path / "sheet.png"
    done = _cli("sheet", str(item.path), "-o", str(sheet), "--offsets", "1,4",
                "--ffmpeg", gen_ffmpeg, "--no-labels", "-q", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    sheet_w, sheet_h = _size(gen_ffmpeg, sheet, "0:v:0")
    # 5 columns x 3 rows (original, K=1, K=4) of cells with 2 px margins on every side
    cell = (sheet_w // 5 - 4, sheet_h // 3 - 4)
    assert (cell[0] > cell[1]) == (w > h) or w == h, (cell, (w, h))  # portrait stays portrait
    energy = _cli("energy", str(item.path), "-k", "4", "--ffmpeg", gen_ffmpeg, "-q",
                  "--start", "10f", "--end", "70f", cwd=tmp_path)
    assert energy.returncode == 0, energy.stderr
    rows = energy.stdout.strip().splitlines()
    assert rows[0].startswith("frame,")
    assert len(rows) - 1 == 60 - 4


def test_batch_over_the_corpus(corpus, gen_ffmpeg, tmp_path):
    folder = tmp_path / "card"  # the corpus files alone (their folder also holds parts)
    folder.mkdir()
    for item in corpus.values():
        os.link(item.path, folder / item.path.name)
    out = tmp_path / "motion"
    done = _cli("batch", str(folder), "-o", str(out), "-k", "3", "--ffmpeg", gen_ffmpeg, "-q",
                "--report", str(tmp_path / "report.json"), cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr


@pytest.mark.parametrize("name", ["ts_late_video", "mp4_edit_list", "mkv_multitrack"])
def test_printed_command_reproduces_output(corpus, gen_ffmpeg, tmp_path, name):
    item = corpus[name]
    ours = tmp_path / "ours.mkv"
    ffmotion.extract(item.path, ours, K, ffmpeg=gen_ffmpeg)
    printed = tmp_path / "printed.mkv"
    argv = ffmotion.build_command(item.path, printed, K, ffmpeg=gen_ffmpeg)
    subprocess.run(argv, check=True, capture_output=True)
    assert ours.read_bytes() == printed.read_bytes(), shlex.join(argv)
