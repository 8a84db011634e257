"""Streams and live inputs, stream outputs: real runs on loopback, bounded in time.

Every background process (a UDP sender, an HTTP server, ffmotion itself) is started here
and stopped by its PID in ``finally``.
"""
from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Iterator

import pytest

from ffmotion.core.errors import UsageError
from ffmotion.core.sinks import sink_for
from ffmotion.media.live import default_device, live_source
from ffmotion.media.stream import input_source, url_scheme

import reference
from helpers import FRAMES, SIZE, assert_frames_equal, bundled_ffmpeg, decode, make_clip

LIMIT = 60  # seconds any one command may take


def ffmotion(*args: str, stdin=subprocess.DEVNULL, cwd=None, **kw) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "ffmotion", *args], stdin=stdin,
                          capture_output=True, timeout=LIMIT, cwd=cwd, **kw)


@contextlib.contextmanager
def background(argv: list[str], **kw) -> Iterator[subprocess.Popen]:
    """A process that lives for the block only, stopped by its PID."""
    proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, **kw)
    try:
        yield proc
    finally:
        if proc.poll() is None:
            os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)


def free_port(kind: int = socket.SOCK_STREAM) -> int:
    with socket.socket(socket.AF_INET, kind) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def frame_count(path: Path | str) -> int:
    done = subprocess.run([bundled_ffmpeg(), "-hide_banner", "-nostdin", "-v", "error", "-i",
                           str(path), "-map", "0:v:0", "-f", "framecrc", "-"],
                          capture_output=True, text=True, timeout=LIMIT)
    assert done.returncode == 0, done.stderr
    return sum(1 for line in done.stdout.splitlines() if line and not line.startswith("#"))


def expected(ffmpeg: str, clip: Path, k: int, mode: str = "offset") -> list:
    return list(reference.reference(ffmpeg, clip, k, mode, "yuv420p", *SIZE))


@pytest.fixture(scope="session")
def clip(tmp_path_factory) -> Path:
    """A lossless FFV1 clip (yuv420p, 36 frames) to stream."""
    return make_clip(bundled_ffmpeg(), tmp_path_factory.mktemp("stream") / "clip.mkv")


# -- names ---------------------------------------------------------------------------------

def test_names_are_files_unless_they_are_urls_or_dash(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert input_source("clip.mkv") is None
    assert input_source("cam:1.mkv") is None  # a colon is no scheme
    assert input_source("nosuch://x") is None  # an unknown scheme is a file name
    assert input_source("-").name == "pipe:0"
    assert input_source("udp://127.0.0.1:5000").name == "udp://127.0.0.1:5000"
    assert url_scheme("RTSP://cam/s") == "rtsp"
    (tmp_path / "udp:").mkdir()
    (tmp_path / "udp:" / "x.mkv").write_bytes(b"")
    assert input_source("udp://x.mkv") is None  # it exists: a file


def test_output_names():
    assert sink_for("out.mkv") is None
    stdout = sink_for("-")
    assert (stdout.kind, stdout.format, stdout.placeholder.suffix) == ("stdout", "matroska", ".mkv")
    assert sink_for("-", "nut").format == "nut"
    assert sink_for("udp://127.0.0.1:5000").format == "mpegts"
    assert sink_for("rtmp://host/app/key").format == "flv"
    assert sink_for("out/index.m3u8").kind == "hls"
    with pytest.raises(UsageError, match="seekable"):
        sink_for("-", "mp4")
    with pytest.raises(UsageError, match="format is for"):  # the field (the CLI: --format)
        sink_for("out.mkv", "nut")


def test_live_sources(tmp_path):
    assert default_device("linux") == "v4l2:/dev/video0"
    assert default_device("darwin") == "avfoundation:0"
    with pytest.raises(UsageError, match="dshow:video=NAME"):
        default_device("win32")
    lavfi = live_source("lavfi:testsrc2=size=64x48:rate=30")
    assert lavfi.kind == "live" and lavfi.name == "testsrc2=size=64x48:rate=30"
    assert ("re", None) in lavfi.options and ("f", "lavfi") in lavfi.options
    assert "-re" in lavfi.input_argv() and "None" not in lavfi.input_argv()
    assert ("fflags", "nobuffer") in live_source("udp://127.0.0.1:5000").options
    assert live_source("avfoundation:0", platform="darwin").input_argv()[-2:] == ["-i", "0"]
    with pytest.raises(UsageError, match="no camera at"):
        live_source(f"v4l2:{tmp_path / 'video9'}")
    with pytest.raises(UsageError, match="not a camera"):
        live_source("clip.mkv")


# -- pipes ---------------------------------------------------------------------------------

def test_stdin_to_file_matches_reference(ffmpeg_bin, clip, tmp_path):
    out = tmp_path / "out.mkv"
    with open(clip, "rb") as stdin:
        done = ffmotion("-", str(out), "-k", "4", "--lossless", "--ffmpeg", ffmpeg_bin,
                        stdin=stdin)
    assert done.returncode == 0, done.stderr
    assert b"stdin" in done.stderr and done.stdout == b""
    got = decode(ffmpeg_bin, out, "yuv420p", SIZE)
    assert_frames_equal(got, expected(ffmpeg_bin, clip, 4))


def test_file_to_stdout_matches_reference(clip, tmp_path):
    ffmpeg = bundled_ffmpeg()
    done = ffmotion(str(clip), "-", "-k", "5", "--lossless", "--format", "nut")
    assert done.returncode == 0, done.stderr
    out = tmp_path / "out.nut"
    out.write_bytes(done.stdout)
    assert out.read_bytes()[:8] == b"nut/mult"  # only the video is on stdout
    assert b"sent to stdout" in done.stderr
    assert_frames_equal(decode(ffmpeg, out, "yuv420p", SIZE), expected(ffmpeg, clip, 5))


def test_stdin_to_stdout_freeze(clip, tmp_path):
    ffmpeg = bundled_ffmpeg()
    with open(clip, "rb") as stdin:
        done = ffmotion("-", "-", "--freeze", "6", "--lossless", stdin=stdin)
    assert done.returncode == 0, done.stderr
    out = tmp_path / "out.mkv"  # the default muxer on stdout is Matroska
    out.write_bytes(done.stdout)
    assert_frames_equal(decode(ffmpeg, out, "yuv420p", SIZE),
                        expected(ffmpeg, clip, 6, "freeze"))


def test_short_stream_is_refused(tmp_path):
    short = make_clip(bundled_ffmpeg(), tmp_path / "short.mkv", frames=6)
    out = tmp_path / "out.mkv"
    for args in (["-k", "8"], ["--freeze", "7"]):
        with open(short, "rb") as stdin:
            done = ffmotion("-", str(out), *args, stdin=stdin)
        assert done.returncode == 1, done.stderr
        assert b"not blended" in done.stderr
        assert not out.exists() and not [p for p in tmp_path.iterdir() if "tmp" in p.name]


def test_stdin_range_counts_frames(clip, tmp_path):
    out = tmp_path / "out.mkv"
    with open(clip, "rb") as stdin:
        done = ffmotion("-", str(out), "-k", "2", "--start", "5f", "--duration", "10f",
                        "--lossless", stdin=stdin)
    assert done.returncode == 0, done.stderr
    ffmpeg = bundled_ffmpeg()
    whole = expected(ffmpeg, clip, 2)  # frame i of the range is frame 5+i of the clip
    assert_frames_equal(decode(ffmpeg, out, "yuv420p", SIZE), whole[5:5 + 8])


def test_a_file_that_looks_like_a_url_stays_a_file(clip, tmp_path):
    folder = tmp_path / "udp:"
    folder.mkdir()
    (folder / "clip.mkv").write_bytes(clip.read_bytes())
    done = ffmotion("udp://clip.mkv", "out.mkv", "-k", "3", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert b"33 of 36 frames" in done.stderr  # fully probed, as a file
    assert frame_count(tmp_path / "out.mkv") == FRAMES - 3


# -- network streams on loopback ---------------------------------------------------------

def test_udp_stream_read_for_a_second(tmp_path):
    port = free_port(socket.SOCK_DGRAM)
    sender = [bundled_ffmpeg(), "-hide_banner", "-nostdin", "-v", "error", "-re", "-f", "lavfi",
              "-i", "testsrc2=size=96x64:rate=30", "-t", "40", "-c:v", "mpeg2video", "-g", "10",
              "-f", "mpegts", f"udp://127.0.0.1:{port}?pkt_size=1316"]
    out = tmp_path / "out.mkv"
    with background(sender):
        done = ffmotion(f"udp://127.0.0.1:{port}", str(out), "-k", "3", "--duration", "1")
    assert done.returncode == 0, done.stderr
    assert b"27 frames from 30 of the stream" in done.stderr
    assert frame_count(out) == 27


def test_http_stream_read_to_its_end_matches_reference(clip, tmp_path):
    port = free_port()
    server = [sys.executable, "-m", "http.server", str(port), "--bind", "127.0.0.1",
              "--directory", str(clip.parent)]
    out = tmp_path / "out.mkv"
    with background(server):
        url = f"http://127.0.0.1:{port}/{clip.name}"
        for _ in range(100):  # until it listens (bounded: 10 s)
            with socket.socket() as s:
                if s.connect_ex(("127.0.0.1", port)) == 0:
                    break
            time.sleep(0.1)
        done = ffmotion(url, str(out), "-k", "7", "--lossless")
    assert done.returncode == 0, done.stderr
    assert b"until the stream ends" in done.stderr
    ffmpeg = bundled_ffmpeg()
    assert_frames_equal(decode(ffmpeg, out, "yuv420p", SIZE), expected(ffmpeg, clip, 7))


# -- live ----------------------------------------------------------------------------------

def test_live_lavfi_matches_reference(tmp_path):
    ffmpeg = bundled_ffmpeg()
    graph = "testsrc2=size=64x48:rate=30,format=yuv420p"  # the camera's format, fixed
    recorded = tmp_path / "camera.mkv"  # what the stand-in camera shows, recorded
    subprocess.run([ffmpeg, "-v", "error", "-f", "lavfi", "-i", graph, "-frames:v", "20",
                    "-c:v", "ffv1", str(recorded)], check=True, timeout=LIMIT)
    out = tmp_path / "out.mkv"
    done = ffmotion("live", f"lavfi:{graph}", str(out), "-k", "3", "--duration", "20f",
                    "--lossless")
    assert done.returncode == 0, done.stderr
    assert_frames_equal(decode(ffmpeg, out, "yuv420p", SIZE), expected(ffmpeg, recorded, 3))


def test_live_print_command_is_low_latency():
    done = ffmotion("live", "lavfi:testsrc2=size=64x48:rate=30", "out.mkv", "-k", "2",
                    "--print-command")
    assert done.returncode == 0, done.stderr
    line = done.stdout.decode()
    for part in ("-re", "-f lavfi", "-tune zerolatency", "-preset veryfast"):
        assert part in line


def test_live_without_camera_is_one_line(tmp_path):
    done = ffmotion("live", f"v4l2:{tmp_path / 'video7'}", str(tmp_path / "o.mkv"))
    assert done.returncode == 2
    assert done.stderr.decode().count("\n") == 1 and b"no camera at" in done.stderr


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_stopping_a_stream_keeps_a_playable_file(tmp_path, sig):
    out = tmp_path / "out.mkv"
    proc = subprocess.Popen([sys.executable, "-m", "ffmotion", "live",
                             "lavfi:testsrc2=size=64x48:rate=30", str(out), "-k", "2"],
                            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:  # until ffmpeg has written something
            temps = [p for p in tmp_path.iterdir() if "ffmotion-tmp" in p.name]
            if temps and temps[0].stat().st_size > 4000:
                break
            time.sleep(0.1)
        else:
            pytest.fail("no output appeared")
        os.kill(proc.pid, sig)
        _, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)
    assert proc.returncode == 0, err
    assert f"stopped by {sig.name}".encode() in err
    written = int(err.decode().split(" frames at")[0].rsplit("(", 1)[1])
    assert written > 2 and frame_count(out) == written
    assert [p.name for p in tmp_path.iterdir()] == ["out.mkv"]


# -- HLS -----------------------------------------------------------------------------------

def test_hls_output_plays_to_the_end(clip, tmp_path):
    playlist = tmp_path / "hls" / "index.m3u8"
    done = ffmotion(str(clip), str(playlist), "-k", "3")
    assert done.returncode == 0, done.stderr
    text = playlist.read_text()
    assert text.rstrip().endswith("#EXT-X-ENDLIST")
    assert frame_count(playlist) == FRAMES - 3
    assert not [p for p in playlist.parent.iterdir() if p.suffix == ".tmp"]
    again = ffmotion(str(clip), str(playlist), "-k", "3")
    assert again.returncode == 2 and b"--overwrite" in again.stderr
    replaced = ffmotion(str(clip), str(playlist), "-k", "5", "--overwrite")
    assert replaced.returncode == 0, replaced.stderr
    assert frame_count(playlist) == FRAMES - 5


def test_live_to_hls(tmp_path):
    playlist = tmp_path / "live" / "index.m3u8"
    done = ffmotion("live", "lavfi:testsrc2=size=64x48:rate=30", str(playlist), "-k", "2",
                    "--duration", "30f")
    assert done.returncode == 0, done.stderr
    assert frame_count(playlist) == 28
    assert "#EXT-X-PLAYLIST-TYPE:EVENT" in playlist.read_text()


def test_failed_hls_run_leaves_nothing(tmp_path):
    short = make_clip(bundled_ffmpeg(), tmp_path / "short.mkv", frames=6)
    playlist = tmp_path / "hls" / "index.m3u8"
    with open(short, "rb") as stdin:
        done = ffmotion("-", str(playlist), "-k", "8", stdin=stdin)
    assert done.returncode == 1, done.stderr
    assert not playlist.parent.exists()
