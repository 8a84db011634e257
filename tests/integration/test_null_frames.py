"""AVI null frames: zero-size packets that capture tools, DVRs and VirtualDub write for "show
the previous picture again". They decode to no frame, so they are not frames: the input's
frames are those that decode, at their own times, and the output plays as long as the input.

Expected values come from ffmpeg decoding the input (showinfo times, raw frames) and the
numpy reference, never from ffmotion.
"""
from __future__ import annotations

import subprocess
import sys
from fractions import Fraction
from pathlib import Path

import pytest

import ffmotion
from ffmotion.core.pixfmt import plane_layout
from ffmotion.media import probe
from ffmotion.media.frames import Packet, index_frames
from ffmotion.run import runner

import corpus as corpus_module
import reference
from helpers import assert_frames_equal, decode

K = 5
TREE = Path("/usr/share/doc/opencv-doc/examples/data/tree.avi")


@pytest.fixture(scope="module")
def avi(tmp_path_factory, gen_ffmpeg):
    return corpus_module.build(gen_ffmpeg, tmp_path_factory.mktemp("null"),
                               ["avi_null_frames"])["avi_null_frames"]


def _cli(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "ffmotion", *args], capture_output=True,
                          text=True, cwd=cwd, timeout=300)


def _packets(ffmpeg: str, path: Path) -> list[int]:
    """The sizes of the video packets ffmpeg lists (no decoding)."""
    done = subprocess.run([ffmpeg, "-hide_banner", "-nostdin", "-i", str(path), "-map", "0:v",
                           "-c", "copy", "-f", "framecrc", "-"], capture_output=True, text=True)
    return [int(line.split(",")[4]) for line in done.stdout.splitlines()
            if line and not line.startswith("#")]


def _times(ffmpeg: str, path: Path) -> list[float]:
    """The decoded frames' times, as ffmpeg shows them (showinfo)."""
    return list(corpus_module.measure(ffmpeg, path, audio=None).frame_times)


def test_zero_size_packets_are_not_frames():
    packets = [Packet(0, 1, 900), Packet(1, 0, 0), Packet(2, 0, 0), Packet(3, 0, 850),
               Packet(4, 0, 0), Packet(5, 0, 870)]
    index = index_frames(packets, Fraction(1, 15))
    assert list(index.times) == [0, Fraction(3, 15), Fraction(5, 15)]
    assert index.keyframes == (0,)
    assert not index.is_constant_rate(Fraction(15))


def test_the_corpus_file_has_null_frames(avi, gen_ffmpeg):
    sizes = _packets(gen_ffmpeg, avi.path)
    assert sizes.count(0) >= 10 and len(sizes) - sizes.count(0) == len(_times(gen_ffmpeg,
                                                                             avi.path))


def test_probe_counts_the_frames_that_decode_at_their_times(avi, gen_ffmpeg):
    info = probe.probe(avi.path, runner.tools(gen_ffmpeg))
    decoded = _times(gen_ffmpeg, avi.path)
    assert info.frames == len(decoded) < len(_packets(gen_ffmpeg, avi.path))
    assert [round(float(t), 6) for t in info.index.times] == [round(t, 6) for t in decoded]
    assert not info.constant_rate


def test_output_is_exact_and_keeps_the_frames_times(avi, ffmpeg_bin, tmp_path):
    out = tmp_path / "out.mkv"
    result = ffmotion.extract(avi.path, out, K, lossless=True, ffmpeg=ffmpeg_bin, audio=False)
    frames = decode(ffmpeg_bin, avi.path, "yuv420p", corpus_module.SIZE)
    want = list(reference.motion_frames(iter(frames), K, "offset", 255))
    assert result.frames == len(want) == len(frames) - K
    assert_frames_equal(decode(ffmpeg_bin, out, "yuv420p", corpus_module.SIZE), want)
    # frame i of the output is shown when input frame i is: the output is as long as the input
    source, written = _times(ffmpeg_bin, avi.path), _times(ffmpeg_bin, out)
    assert [round(t, 3) for t in written] == [round(t - source[0], 3)
                                              for t in source[:len(written)]]


def test_sound_stays_with_the_picture(avi, gen_ffmpeg, tmp_path):
    n = len(_times(gen_ffmpeg, avi.path))
    out = tmp_path / "out.mp4"
    ffmotion.extract(avi.path, out, K, ffmpeg=gen_ffmpeg)
    events = corpus_module.measure(gen_ffmpeg, out)
    assert len(events.frame_times) == n - K
    assert events.frame_times[-1] > 3.5  # not 8x too fast: the input plays 4 s
    corpus_module.assert_in_sync(events, expected_flashes=len(avi.events))


def test_sheet_energy_and_map_use_the_frames_own_times(avi, gen_ffmpeg, tmp_path):
    decoded = _times(gen_ffmpeg, avi.path)
    sheet = _cli("sheet", str(avi.path), "-o", str(tmp_path / "s.png"), "--offsets", "1,4",
                 "--ffmpeg", gen_ffmpeg, "--no-labels", cwd=tmp_path)
    assert sheet.returncode == 0, sheet.stderr
    # the legend's column times are the frames' own times
    columns = sheet.stderr.split("input time ", 1)[1].split(".\n", 1)[0]
    for shown in (float(t.rstrip("s")) for t in columns.split(", ")):
        assert min(abs(shown - t) for t in decoded) < 1e-3, (shown, columns)
    assert max(float(t.rstrip("s")) for t in columns.split(", ")) > 3.0
    energy = _cli("energy", str(avi.path), "-k", "4", "--ffmpeg", gen_ffmpeg, "-q",
                  cwd=tmp_path)
    assert energy.returncode == 0, energy.stderr
    rows = [line.split(",") for line in energy.stdout.strip().splitlines()[1:]]
    assert len(rows) == len(decoded) - 4
    assert [round(float(r[1]), 4) for r in rows] == [round(t - decoded[0], 4)
                                                     for t in decoded[:len(rows)]]
    motion_map = _cli("map", str(avi.path), "-o", str(tmp_path / "m.png"), "-k", "4",
                      "--ffmpeg", gen_ffmpeg, cwd=tmp_path)
    assert motion_map.returncode == 0, motion_map.stderr
    assert f"over {len(decoded) - 4} motion frames" in motion_map.stderr


def test_avi_rate_in_microseconds_keeps_the_frames_times(gen_ffmpeg, tmp_path):
    """Old capture tools store 15 fps as 66667/1000000 s per frame: a time base whose
    denominator makes ffmpeg's two-input filters work in microseconds. The frames keep their
    own times all the same."""
    src = tmp_path / "dvr.avi"
    subprocess.run([gen_ffmpeg, "-hide_banner", "-nostdin", "-v", "error", "-f", "lavfi", "-i",
                    "testsrc2=s=64x48:r=1000000/66667:d=2,format=yuv420p,"
                    "select='lt(t\\,0.5)+gte(t\\,1.2)+not(mod(n\\,4))'",
                    "-c:v", "utvideo", "-fps_mode", "passthrough", str(src)], check=True)
    assert 0 in _packets(gen_ffmpeg, src)
    out = tmp_path / "out.mkv"
    ffmotion.extract(src, out, 2, lossless=True, ffmpeg=gen_ffmpeg)
    frames = decode(gen_ffmpeg, src, "yuv420p", (64, 48))
    assert_frames_equal(decode(gen_ffmpeg, out, "yuv420p", (64, 48)),
                        list(reference.motion_frames(iter(frames), 2, "offset", 255)))
    source, written = _times(gen_ffmpeg, src), _times(gen_ffmpeg, out)
    assert [round(t, 3) for t in written] == [round(t, 3) for t in source[:len(frames) - 2]]


# -- the real clip (Debian's opencv-doc): 29.6 s, 444 packets, 68 frames --------------------

needs_tree = pytest.mark.skipif(not TREE.is_file(),
                                reason=f"{TREE} is absent (Debian package opencv-doc)")


@needs_tree
def test_real_capture_counts_68_frames_at_their_times(gen_ffmpeg):
    info = probe.probe(TREE, runner.tools(gen_ffmpeg))
    decoded = _times(gen_ffmpeg, TREE)
    assert info.frames == len(decoded) == 68
    assert [round(float(t), 4) for t in info.index.times] == [round(t, 4) for t in decoded]


@needs_tree
def test_real_capture_output_is_exact_and_lasts_as_long(ffmpeg_bin, tmp_path):
    out = tmp_path / "tree.mkv"
    ffmotion.extract(TREE, out, 1, lossless=True, ffmpeg=ffmpeg_bin)
    size = (320, 240)
    frames = list(reference.read_frames(ffmpeg_bin, TREE, plane_layout("gbrp", *size)))
    want = list(reference.motion_frames(iter(frames), 1, "offset", 255))
    got = list(reference.read_frames(ffmpeg_bin, out, plane_layout("gbrp", *size)))
    assert_frames_equal(got, want)
    source, written = _times(ffmpeg_bin, TREE), _times(ffmpeg_bin, out)
    assert len(written) == 67
    assert [round(t, 3) for t in written] == [round(t, 3) for t in source[:67]]
    assert written[-1] > 29.0  # 29.6 s of input, not 3.5 s


@needs_tree
def test_real_capture_sheet_and_map_write(gen_ffmpeg, tmp_path):
    for args in (["sheet", str(TREE), "-o", str(tmp_path / "s.png"), "--no-labels"],
                 ["map", str(TREE), "-o", str(tmp_path / "m.png")]):
        done = _cli(*args, "--ffmpeg", gen_ffmpeg, cwd=tmp_path)
        assert done.returncode == 0, done.stderr
        assert (tmp_path / Path(args[3]).name).stat().st_size > 0
