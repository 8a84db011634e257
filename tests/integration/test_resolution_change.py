"""The picture size changes mid-stream (broadcast recordings, stream-copy concatenations of
segments of different sizes): every frame is scaled to the size of the range's first frame
(and the summary says so), and a range whose frames all have one size is not scaled at all.

The reference is independent of ffmotion: the frames ffmpeg decodes and scales the same way
(``-reinit_filter 0``, ``scale``) in a separate run, or, after the change, the frames of the
second segment itself (the joined file holds its packets unchanged).
"""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import ffmotion
from ffmotion import api, graph
from ffmotion.core.pixfmt import plane_layout
from ffmotion.graph import views
from ffmotion.media import decoded, probe
from ffmotion.media.frames import FrameIndex, FrameTimes, SizeRun
from ffmotion.pipeline import controller
from ffmotion.run import runner

import corpus as corpus_module
import reference
from helpers import assert_frames_equal, decode

K = 5
FIRST = corpus_module.SIZE
SECOND = corpus_module.SECOND_SIZE
CHANGE = corpus_module.CHANGE_AT


@pytest.fixture(scope="module")
def joined(tmp_path_factory, gen_ffmpeg):
    return corpus_module.build(gen_ffmpeg, tmp_path_factory.mktemp("sizes"),
                               ["ts_size_change"])["ts_size_change"]


def _cli(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "ffmotion", *args], capture_output=True,
                          text=True, cwd=cwd, timeout=300)


def _scaled(ffmpeg: str, path: Path, size: tuple[int, int]) -> list:
    """Every frame decoded by ffmpeg, scaled to ``size`` without rebuilding the graph."""
    argv = [ffmpeg, "-hide_banner", "-nostdin", "-v", "error", "-reinit_filter", "0", "-i",
            str(path), "-map", "0:v:0", "-fps_mode", "passthrough", "-vf",
            f"scale={size[0]}:{size[1]}", "-f", "rawvideo", "-pix_fmt", "yuv420p", "-"]
    raw = subprocess.run(argv, capture_output=True, check=True).stdout
    layout = plane_layout("yuv420p", *size)
    flat = np.frombuffer(raw, dtype=np.uint8)
    assert flat.size % layout.frame_bytes == 0
    return [reference.split_planes(flat[i:i + layout.frame_bytes], layout)
            for i in range(0, flat.size, layout.frame_bytes)]


def _expected(frames: list, k: int = K) -> list:
    return list(reference.motion_frames(iter(frames), k, "offset", 255))


def test_the_corpus_file_changes_size(joined, gen_ffmpeg):
    sizes = [line.split(" s:")[1].split()[0] for line in subprocess.run(
        [gen_ffmpeg, "-hide_banner", "-nostdin", "-i", str(joined.path), "-map", "0:v",
         "-vf", "showinfo", "-f", "null", "-"], capture_output=True, text=True).stderr.splitlines()
        if "Parsed_showinfo" in line and " n:" in line]
    assert sizes[CHANGE - 1] == "160x120" and sizes[CHANGE] == "128x96" and len(sizes) == 120


def test_size_runs_of_a_range():
    index = FrameIndex(FrameTimes(range(10), 1), (0, 5), 1, decoded=True,
                       sizes=(SizeRun(0, 64, 48), SizeRun(5, 48, 32)))
    assert index.sizes_between(0, 5) == (SizeRun(0, 64, 48),)
    assert index.sizes_between(4, 6) == index.sizes
    assert index.sizes_between(5, 10) == (SizeRun(5, 48, 32),)


@pytest.mark.parametrize("strategy", ["split", "dual"])
def test_whole_input_scaled_to_one_size_is_exact(joined, gen_ffmpeg, tmp_path, strategy):
    out = tmp_path / "out.mkv"
    done = _cli(str(joined.path), str(out), "-k", str(K), "--lossless", "--no-audio",
                "--strategy", strategy, "--ffmpeg", gen_ffmpeg, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "the picture size changes at frame 60 (160x120 -> 128x96)" in done.stderr
    assert "frames scaled to 160x120" in done.stderr
    assert "Traceback" not in done.stderr
    assert_frames_equal(decode(gen_ffmpeg, out, "yuv420p", FIRST),
                        _expected(_scaled(gen_ffmpeg, joined.path, FIRST)))


def test_range_after_the_change_is_exact_without_scaling(joined, gen_ffmpeg, tmp_path):
    tools = runner.tools(gen_ffmpeg)
    info = probe.checked_by_decoding(probe.probe(joined.path, tools), tools.ffmpeg)
    options = api.make_request(joined.path, tmp_path / "range.mkv", K, lossless=True,
                               audio=False, start=f"{CHANGE + 10}f")
    plan = controller.prepare(options, tools, info)
    assert plan.info.display_size == SECOND
    assert "scale=" not in " ".join(graph.command(plan, gen_ffmpeg))
    controller.run(plan, tools)
    second = decode(gen_ffmpeg, joined.path.with_name("segment_b.ts"), "yuv420p", SECOND)
    assert_frames_equal(decode(gen_ffmpeg, tmp_path / "range.mkv", "yuv420p", SECOND),
                        _expected(second[10:]))


def test_range_across_the_change_scales_to_its_first_frame(joined, gen_ffmpeg, tmp_path):
    out = tmp_path / "across.mkv"
    ffmotion.extract(joined.path, out, K, lossless=True, audio=False, ffmpeg=gen_ffmpeg,
                     start="40f", end="90f")
    assert_frames_equal(decode(gen_ffmpeg, out, "yuv420p", FIRST),
                        _expected(_scaled(gen_ffmpeg, joined.path, FIRST)[40:90]))


def test_sound_stays_with_the_picture(joined, gen_ffmpeg, tmp_path):
    out = tmp_path / "out.mp4"
    result = ffmotion.extract(joined.path, out, K, ffmpeg=gen_ffmpeg)
    events = corpus_module.measure(gen_ffmpeg, out)
    assert result.frames == len(events.frame_times) == 120 - K
    corpus_module.assert_in_sync(events, expected_flashes=len(joined.events))


def test_sheet_energy_and_map(joined, gen_ffmpeg, tmp_path):
    sheet = tmp_path / "sheet.png"
    done = _cli("sheet", str(joined.path), "-o", str(sheet), "--offsets", "1,4",
                "--ffmpeg", gen_ffmpeg, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "picture size changes" in done.stderr
    # every cell got its frame (a row flushed half done at the change leaves cells black)
    rgb = subprocess.run([gen_ffmpeg, "-v", "error", "-i", str(sheet), "-f", "rawvideo",
                          "-pix_fmt", "rgb24", "-"], capture_output=True, check=True).stdout
    plan = graph.plan(api.make_request(joined.path, tmp_path / "x.mkv", 1),
                      probe.checked_by_decoding(probe.probe(joined.path,
                                                            runner.tools(gen_ffmpeg)),
                                                gen_ffmpeg))
    cells = views.sheet_layout(plan, [("K=1", 1), ("K=4", 4)], 5, 320, labels=True)
    assert views.empty_cells(rgb, cells) == []
    energy = _cli("energy", str(joined.path), "-k", "4", "--ffmpeg", gen_ffmpeg, "-q",
                  cwd=tmp_path)
    assert energy.returncode == 0, energy.stderr
    assert len(energy.stdout.strip().splitlines()) - 1 == 120 - 4
    motion_map = _cli("map", str(joined.path), "-o", str(tmp_path / "m.png"), "-k", "4",
                      "--ffmpeg", gen_ffmpeg, cwd=tmp_path)
    assert motion_map.returncode == 0, motion_map.stderr
    assert "over 116 motion frames" in motion_map.stderr


def test_decoding_finds_the_sizes_and_keeps_the_keyframes(joined, gen_ffmpeg):
    listed = probe.probe(joined.path, runner.tools(gen_ffmpeg))
    found = decoded.recount(listed, gen_ffmpeg)
    assert found.index.sizes == (SizeRun(0, *FIRST), SizeRun(CHANGE, *SECOND))
    assert found.index.keyframes == listed.index.keyframes
    assert list(found.index.times) == list(listed.index.times)
    assert found.input.input_argv()[:2] == ["-reinit_filter", "0"]
