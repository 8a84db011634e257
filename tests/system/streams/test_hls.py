"""HLS output under the safe-write rule: the names an HLS run may write or delete (playlist,
segments, their ``.tmp`` names) never include an input, links are never followed or
removed, a failed run keeps the older set, and a full disk fails in one line (ffmpeg's HLS
muxer ignores write errors, so ffmotion reads the result back).

Every ffmotion run is a subprocess under a time and memory limit.
"""
from __future__ import annotations

import contextlib
import os
import resource
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Iterator

import pytest

from ffmotion.core.errors import WriteFailed
from ffmotion.run.hls import verify_hls

from helpers import bundled_ffmpeg, make_clip

LIMIT = 60  # seconds any one command may take
MEMORY = 4 * 2**30  # address space of one ffmotion run (and its ffmpeg)


def _limits() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY, MEMORY))


def ffmotion(*args: str, stdin=subprocess.DEVNULL) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "ffmotion", *args], stdin=stdin,
                          capture_output=True, timeout=LIMIT, preexec_fn=_limits)


def one_line(done: subprocess.CompletedProcess) -> str:
    text = done.stderr.decode()
    errors = [line for line in text.splitlines() if "error" in line]
    assert len(errors) == 1 and "Traceback" not in text, text
    return errors[0]


def video_packets(path: Path) -> int:
    """Video packets ffmpeg reads from ``path`` (stream copy), counted here."""
    done = subprocess.run([bundled_ffmpeg(), "-hide_banner", "-nostdin", "-v", "error", "-i",
                           str(path), "-map", "0:v:0", "-c", "copy", "-f", "framecrc", "-"],
                          capture_output=True, text=True, timeout=LIMIT)
    assert done.returncode == 0, done.stderr
    return sum(1 for line in done.stdout.splitlines() if line and not line.startswith("#"))


def snapshot(folder: Path) -> dict[str, bytes]:
    """Every name in ``folder`` with its bytes (a link: its target, marked)."""
    found: dict[str, bytes] = {}
    for path in sorted(folder.iterdir()):
        found[path.name] = (b"->" + os.readlink(path).encode() if path.is_symlink()
                            else path.read_bytes())
    return found


@pytest.fixture(scope="module")
def ts_clip(tmp_path_factory) -> Path:
    """A 36-frame H.264 clip in MPEG-TS (what an HLS segment is)."""
    return make_clip(bundled_ffmpeg(), tmp_path_factory.mktemp("hls") / "clip.ts",
                     codec="libx264")


@pytest.fixture(scope="module")
def long_clip(tmp_path_factory) -> Path:
    """90 frames (3 s): an HLS output of two segments."""
    return make_clip(bundled_ffmpeg(), tmp_path_factory.mktemp("hls") / "long.mkv", frames=90)


# -- item 1: what an HLS run may delete or replace is never an input --------------------------

@pytest.mark.parametrize("overwrite", [True, False])
def test_an_input_named_like_a_segment_is_refused(ts_clip, tmp_path, overwrite):
    folder = tmp_path / "h"
    folder.mkdir()
    src = folder / "index00001.ts"
    shutil.copy(ts_clip, src)
    done = ffmotion(str(src), str(folder / "index.m3u8"), *(["-y"] if overwrite else []))
    assert done.returncode == 2
    line = one_line(done)
    assert "input" in line and "--overwrite" not in line
    assert snapshot(folder) == {"index00001.ts": ts_clip.read_bytes()}


def test_an_input_that_links_into_the_set_is_refused(ts_clip, tmp_path):
    folder = tmp_path / "h"
    folder.mkdir()
    shutil.copy(ts_clip, folder / "index00003.ts")
    link = tmp_path / "input.ts"
    link.symlink_to(folder / "index00003.ts")
    done = ffmotion(str(link), str(folder / "index.m3u8"), "-y")
    assert done.returncode == 2 and "input" in one_line(done)
    assert snapshot(folder) == {"index00003.ts": ts_clip.read_bytes()}


def test_a_hard_link_of_the_input_among_the_segments_is_refused(ts_clip, tmp_path):
    src = tmp_path / "input.ts"
    shutil.copy(ts_clip, src)
    folder = tmp_path / "h"
    folder.mkdir()
    os.link(src, folder / "index00000.ts")
    done = ffmotion(str(src), str(folder / "index.m3u8"), "-y")
    assert done.returncode == 2 and "input" in one_line(done)
    assert os.path.samefile(src, folder / "index00000.ts")
    assert src.read_bytes() == ts_clip.read_bytes()


@pytest.mark.parametrize("name", ["index00000.ts", "index00001.ts.tmp", "index.m3u8.tmp"])
def test_links_among_the_segments_are_left_alone(long_clip, tmp_path, name):
    victim = tmp_path / "victim.bin"
    victim.write_bytes(b"keep me")
    folder = tmp_path / "h"
    folder.mkdir()
    (folder / name).symlink_to(victim)
    done = ffmotion(str(long_clip), str(folder / "index.m3u8"), "-y")
    assert done.returncode == 2 and "not a regular file" in one_line(done)
    assert snapshot(folder) == {name: b"->" + str(victim).encode()}
    assert victim.read_bytes() == b"keep me"


def test_an_input_playlist_and_the_files_it_lists_are_inputs(long_clip, tmp_path):
    folder = tmp_path / "h"
    made = ffmotion(str(long_clip), str(folder / "index.m3u8"), "-k", "2")
    assert made.returncode == 0, made.stderr
    (folder / "index.m3u8").rename(folder / "old.m3u8")  # its segments keep their names
    before = snapshot(folder)
    assert len([n for n in before if n.endswith(".ts")]) == 2
    for args in ([str(folder / "old.m3u8"), str(folder / "index.m3u8")],  # its segments' names
                 [str(folder / "old.m3u8"), str(folder / "old.m3u8")],  # itself
                 [str(folder / "old.m3u8"), str(folder / "index00001.ts")]):  # a file output
        done = ffmotion(*args, "-y")
        assert done.returncode == 2, (args, done.stderr)
        assert "input" in one_line(done)
        assert snapshot(folder) == before


# -- the older set survives a failed run --------------------------------------------------------

def test_a_failed_run_keeps_the_older_playlist(long_clip, tmp_path):
    folder = tmp_path / "h"
    made = ffmotion(str(long_clip), str(folder / "index.m3u8"), "-k", "2")
    assert made.returncode == 0, made.stderr
    before = snapshot(folder)
    short = make_clip(bundled_ffmpeg(), tmp_path / "short.mkv", frames=6)
    with open(short, "rb") as stdin:  # refused after the run: at most K frames
        done = ffmotion("-", str(folder / "index.m3u8"), "-k", "8", "-y", stdin=stdin)
    assert done.returncode == 1 and "not blended" in one_line(done)
    assert snapshot(folder) == before
    assert not [p for p in tmp_path.iterdir() if "ffmotion-tmp" in p.name]


# -- item 2: a full disk ------------------------------------------------------------------------

@contextlib.contextmanager
def small_disk(folder: Path, size: str = "200k") -> Iterator[Path]:
    """A real file system of ``size`` mounted at ``folder`` (tmpfs; root only)."""
    folder.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(folder)],
                          capture_output=True, text=True, timeout=LIMIT)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a small tmpfs here: {done.stderr.strip() or done.returncode}")
    try:
        yield folder
    finally:
        subprocess.run(["umount", "-l", str(folder)], capture_output=True, timeout=LIMIT)


def test_hls_on_a_full_disk_fails_in_one_line_and_keeps_the_older_set(long_clip, tmp_path):
    noisy = make_clip(bundled_ffmpeg(), tmp_path / "noisy.mkv", size=(160, 120), frames=90)
    with small_disk(tmp_path / "disk") as disk:
        playlist = disk / "h" / "index.m3u8"
        short = ffmotion(str(long_clip), str(playlist), "-k", "2", "--duration", "20f")
        assert short.returncode == 0, short.stderr  # an older set that fits
        before = snapshot(playlist.parent)
        done = ffmotion(str(noisy), str(playlist), "-y")
        assert done.returncode == 1, done.stderr
        assert "no space left" in one_line(done) and "wrote" not in done.stderr.decode()
        assert snapshot(playlist.parent) == before
        assert [p.name for p in disk.iterdir()] == ["h"]
        fresh = disk / "new" / "index.m3u8"
        again = ffmotion(str(noisy), str(fresh))
        assert again.returncode == 1 and "no space left" in one_line(again)
        assert not fresh.parent.exists()


# -- the read-back itself -----------------------------------------------------------------------

def _damaged(src: Path, dst: Path, how: str) -> Path:
    shutil.copytree(src, dst)
    playlist = dst / "index.m3u8"
    segment = dst / "index00001.ts"
    if how == "no endlist":
        playlist.write_text(playlist.read_text().replace("#EXT-X-ENDLIST", ""))
    elif how == "empty playlist":
        playlist.write_bytes(b"")
    elif how == "missing segment":
        segment.unlink()
    elif how == "empty segment":
        segment.write_bytes(b"")
    elif how == "cut at a packet boundary":  # what a full disk can leave: whole TS packets
        data = segment.read_bytes()
        segment.write_bytes(data[:len(data) // 2 // 188 * 188])
    elif how == "cut mid-packet":
        segment.write_bytes(segment.read_bytes()[:-100])
    return playlist


@pytest.mark.parametrize("how", ["no endlist", "empty playlist", "missing segment",
                                 "empty segment", "cut at a packet boundary", "cut mid-packet"])
def test_the_read_back_finds_what_a_failed_write_leaves(long_clip, tmp_path, how):
    good = tmp_path / "good"
    made = ffmotion(str(long_clip), str(good / "index.m3u8"), "-k", "2")
    assert made.returncode == 0, made.stderr
    frames = video_packets(good / "index.m3u8")
    assert frames == 88
    verify_hls(good / "index.m3u8", frames, bundled_ffmpeg())  # whole: passes
    with pytest.raises(WriteFailed, match="nothing was written"):
        verify_hls(good / "index.m3u8", frames + 1, bundled_ffmpeg())
    playlist = _damaged(good, tmp_path / "bad", how)
    with pytest.raises(WriteFailed, match="nothing was written"):
        verify_hls(playlist, frames, bundled_ffmpeg())
