"""A chunked run resumes only from segments made by the same run: the same input (path, size,
time, inode, a few blocks of content), the same chunk command and range, the same ffmpeg;
and each segment as it was when it was finished. Anything else is made again."""
from __future__ import annotations

import logging
import os
import shutil
from pathlib import Path

import pytest
from test_chunks import chunk_files, frames_md5

from ffmotion import api
from ffmotion.jobs import chunks as chunking
from ffmotion.pipeline import controller
from ffmotion.run import runner

from chunk_tools import FF, make_clip

K = 3


@pytest.fixture(scope="module")
def clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_clip(tmp_path_factory.mktemp("resume") / "in.mp4", 3)


@pytest.fixture(scope="module")
def single(clip: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[int, str]:
    tools = runner.tools(FF)
    out = tmp_path_factory.mktemp("single") / "single.mkv"
    controller.run(controller.prepare(api.make_request(clip, out, offset=K, lossless=True), tools), tools)
    return frames_md5(out)


def cuts(n: int) -> list[int]:
    return [0, 30, 60, n]  # chunks 1 and 2 hold 30 frames each


def plan(clip: Path, out: Path):
    tools = runner.tools(FF)
    return tools, controller.prepare(api.make_request(clip, out, offset=K, lossless=True,
                                               overwrite=True), tools)


def failed_run(clip: Path, out: Path) -> list[Path]:
    """A run whose third chunk cannot be written: the first two segments are kept for a
    rerun. Their paths."""
    tools, whole = plan(clip, out)
    segments = chunking.plan_chunks(whole, FF, 3, 1, cuts(whole.out_frames)).segments()
    segments[2].mkdir()
    with pytest.raises(Exception, match="chunk 3 of 3"):
        chunking.run_chunked(whole, tools, 3, jobs=1, cuts=cuts(whole.out_frames))
    segments[2].rmdir()
    assert segments[0].is_file() and segments[1].is_file()
    return segments


def rerun(clip: Path, out: Path):
    tools, whole = plan(clip, out)
    return chunking.run_chunked(whole, tools, 3, jobs=1, cuts=cuts(whole.out_frames))


def swap(a: Path, b: Path) -> None:
    tmp = a.with_name("swap")
    a.rename(tmp)
    b.rename(a)
    tmp.rename(b)


def test_the_finished_segments_of_a_failed_run_are_reused(clip, single, tmp_path):
    out = tmp_path / "out.mkv"
    failed_run(clip, out)
    result = rerun(clip, out)
    assert result.reused == 2
    assert frames_md5(out) == single
    assert chunk_files(tmp_path) == []


def test_swapped_segments_are_made_again(clip, single, tmp_path, caplog):
    out = tmp_path / "out.mkv"
    first, second, _ = failed_run(clip, out)
    swap(first, second)
    with caplog.at_level(logging.INFO, logger="ffmotion"):
        result = rerun(clip, out)
    assert result.reused == 0
    assert frames_md5(out) == single
    assert sum("made again" in r.getMessage() for r in caplog.records) == 2
    assert chunk_files(tmp_path) == []


def test_a_planted_segment_is_made_again(clip, single, tmp_path, caplog):
    out = tmp_path / "out.mkv"
    first, second, _ = failed_run(clip, out)
    for path in chunk_files(tmp_path):  # everything but the two segments themselves
        if tmp_path / path not in (first, second):
            (tmp_path / path).unlink()
    shutil.copyfile(second, first)  # the right frame count, the wrong frames
    with caplog.at_level(logging.INFO, logger="ffmotion"):
        result = rerun(clip, out)
    assert result.reused == 0
    assert frames_md5(out) == single
    assert chunk_files(tmp_path) == []


def test_a_segment_of_another_ffmpeg_is_made_again(clip, single, tmp_path, caplog):
    out = tmp_path / "out.mkv"
    failed_run(clip, out)
    other = tmp_path / "bin"
    other.mkdir()
    wrapper = other / "ffmpeg"
    wrapper.write_text(f"#!/bin/sh\nexec {FF} \"$@\"\n")
    wrapper.chmod(0o755)
    tools, whole = plan(clip, out)
    tools = runner.tools(str(wrapper))
    with caplog.at_level(logging.INFO, logger="ffmotion"):
        result = chunking.run_chunked(whole, tools, 3, jobs=1, cuts=cuts(whole.out_frames))
    assert result.reused == 0
    assert any("another ffmpeg" in r.getMessage() for r in caplog.records)
    assert frames_md5(out) == single
    shutil.rmtree(other)
    assert chunk_files(tmp_path) == []


def test_input_identity_follows_content_as_well_as_size_time_and_inode(tmp_path):
    src = tmp_path / "in.bin"
    src.write_bytes(bytes(range(256)) * 4096)  # 1 MiB
    before = chunking.input_identity(src)
    assert chunking.input_identity(src) == before
    st = os.stat(src)
    with open(src, "r+b") as handle:  # one byte in the middle, size and time kept
        handle.seek(512 * 1024 + 7)
        handle.write(b"\xff")
    os.utime(src, ns=(st.st_atime_ns, st.st_mtime_ns))
    assert os.stat(src).st_mtime_ns == st.st_mtime_ns and os.stat(src).st_size == st.st_size
    assert chunking.input_identity(src) != before
    moved = tmp_path / "copy.bin"
    shutil.copy2(src, moved)  # same content and time, another inode and path
    assert chunking.input_identity(moved) != chunking.input_identity(src)
