"""An MP4 with its index (``moov``) at the end on stdin: ffmpeg cannot read it from a pipe
beyond its read buffer, since it must seek back to the media data. ffmotion holds such a
stream seekably (stdin itself when it is a file, else a memory file up to HEAD_BYTES_MAX)
and reads it as ``fd:``; a longer pipe is refused in one line naming
``-movflags +faststart``.

Every run is a subprocess bounded in time and memory.
"""
from __future__ import annotations

import resource
import subprocess
import sys
from pathlib import Path

import pytest

from ffmotion.media.stream import index_at_end

import reference
from helpers import SIZE, assert_frames_equal, bundled_ffmpeg, decode, make_clip, run_ffmpeg

LIMIT = 60
MEMORY = 4 * 2**30
FRAMES = 120  # 64x48 noise in H.264: ~200 KB, far past what ffmpeg reads from a pipe


def _limits() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY, MEMORY))


def piped(argv: list[str], data_from: Path) -> subprocess.CompletedProcess:
    """``argv`` with ``data_from`` written into its stdin by another process (a real pipe)."""
    producer = subprocess.Popen(["cat", str(data_from)], stdout=subprocess.PIPE,
                                stdin=subprocess.DEVNULL)
    try:
        done = subprocess.run(argv, stdin=producer.stdout, capture_output=True, timeout=LIMIT,
                              preexec_fn=_limits)
    finally:
        producer.stdout.close()
        if producer.poll() is None:
            producer.kill()
        producer.wait(timeout=10)
    return done


@pytest.fixture(scope="module")
def mp4s(tmp_path_factory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("mp4")
    ffmpeg = bundled_ffmpeg()
    made = {"late": make_clip(ffmpeg, folder / "late.mp4", frames=FRAMES, codec="libx264")}
    made["fast"] = folder / "fast.mp4"
    run_ffmpeg(ffmpeg, "-i", str(made["late"]), "-c", "copy", "-movflags", "+faststart",
               str(made["fast"]))
    made["mkv"] = make_clip(ffmpeg, folder / "clip.mkv", frames=6)
    return made


def test_index_at_end_is_told_from_the_head(mp4s):
    head = {name: path.read_bytes()[:4096] for name, path in mp4s.items()}
    assert index_at_end(head["late"]) and not index_at_end(head["fast"])
    assert not index_at_end(head["mkv"]) and not index_at_end(b"") and not index_at_end(b"\0" * 64)


def test_plain_ffmpeg_cannot_read_it_from_a_pipe(mp4s):
    """What makes the case: the same bytes ffmotion reads below, ffmpeg alone cannot."""
    done = piped([bundled_ffmpeg(), "-v", "error", "-i", "pipe:0", "-f", "null", "-"],
                 mp4s["late"])
    assert done.returncode != 0


@pytest.mark.parametrize("how", ["pipe", "file"])
def test_an_mp4_with_its_index_at_the_end_is_read_from_stdin(mp4s, tmp_path, how):
    out = tmp_path / "out.mkv"
    argv = [sys.executable, "-m", "ffmotion", "-", str(out), "-k", "3", "--lossless"]
    if how == "pipe":
        done = piped(argv, mp4s["late"])
    else:  # stdin redirected from the file: seekable, read as it is at any size
        with open(mp4s["late"], "rb") as stdin:
            done = subprocess.run(argv, stdin=stdin, capture_output=True, timeout=LIMIT,
                                  preexec_fn=_limits)
    assert done.returncode == 0, done.stderr
    ffmpeg = bundled_ffmpeg()
    expected = list(reference.reference(ffmpeg, mp4s["late"], 3, "offset", "yuv420p", *SIZE))
    assert len(expected) == FRAMES - 3
    assert_frames_equal(decode(ffmpeg, out, "yuv420p", SIZE), expected)


def test_a_pipe_longer_than_what_is_held_is_refused_in_one_line(mp4s, tmp_path):
    out = tmp_path / "out.mkv"
    run = ("import sys; from ffmotion.media import stream; from ffmotion.run import stdin; "
           "stream.HEAD_BYTES_MAX = stdin.HEAD_BYTES_MAX = 64 * 1024; "
           "from ffmotion.cli import main; sys.exit(main(sys.argv[1:]))")
    done = piped([sys.executable, "-c", run, "-", str(out)], mp4s["late"])
    assert done.returncode == 1, done.stderr
    err = done.stderr.decode()
    assert err.count("\n") == 1 and err.startswith("ffmotion: error: "), err
    assert "-movflags +faststart" in err and "give it as a file" in err
    assert list(tmp_path.iterdir()) == []
