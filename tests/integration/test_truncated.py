"""Recordings cut short (a full card, a crash, a partial copy): the file lists frames that do
not decode. ffmotion counts the frames that do, says in one line which are missing and
which is the last that decodes, and works on those: exact pixels, sound in sync.

Expected values never come from ffmotion: frames and times from ffmpeg decoding the input,
pixels from the numpy reference.
"""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

import ffmotion
from ffmotion.core.errors import FfmotionError
from ffmotion.media import probe
from ffmotion.run import runner

import corpus as corpus_module
import reference
from helpers import assert_frames_equal, decode

K = 5
NAMES = ["mp4_cut_short", "mkv_cut_short"]


@pytest.fixture(scope="module")
def files(tmp_path_factory, gen_ffmpeg):
    return corpus_module.build(gen_ffmpeg, tmp_path_factory.mktemp("cut"), NAMES)


@pytest.fixture(scope="module")
def zero_tail(files, tmp_path_factory, gen_ffmpeg):
    """A phone MP4 whose media data is zeros from the first video frame after 3 s on (space
    written but never filled, as a camera that lost power leaves it): its index lists every
    frame, every byte is there, and ffmpeg's listing reports nothing wrong; only decoding
    finds the frames missing. (From a frame's first byte: a frame zeroed halfway decodes to
    a concealed picture that differs from one decode to the next.)"""
    whole = files["mp4_cut_short"].path.with_name("phone_whole.mp4")
    listing = subprocess.run([gen_ffmpeg, "-hide_banner", "-nostdin", "-i", str(whole),
                              "-map", "0:v", "-c", "copy", "-f", "framecrc", "-"],
                             capture_output=True, text=True, check=True).stdout
    tb = next(line for line in listing.splitlines() if line.startswith("#tb 0:"))
    num, den = (int(x) for x in tb.split(":")[1].strip().split("/"))
    packets = [(int(f[2]) * num / den, int(f[4])) for f in
               (line.split(",") for line in listing.splitlines() if line and line[0] != "#")]
    payload = subprocess.run([gen_ffmpeg, "-hide_banner", "-nostdin", "-i", str(whole),
                              "-map", "0:v", "-c", "copy", "-f", "data", "-"],
                             capture_output=True, check=True).stdout
    first = next(i for i, (t, _) in enumerate(packets) if t > 3.0)
    at = sum(size for _, size in packets[:first])
    data = bytearray(whole.read_bytes())
    tail = data.find(payload[at:at + packets[first][1]])
    assert tail > 0
    data[tail:] = bytes(len(data) - tail)
    dst = tmp_path_factory.mktemp("zeros") / "zero_tail.mp4"
    dst.write_bytes(bytes(data))
    return dst


def _cli(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "ffmotion", *args], capture_output=True,
                          text=True, cwd=cwd, timeout=300)


def _listed(ffmpeg: str, path: Path) -> int:
    done = subprocess.run([ffmpeg, "-hide_banner", "-nostdin", "-i", str(path), "-map", "0:v",
                           "-c", "copy", "-f", "framecrc", "-"], capture_output=True, text=True)
    return sum(1 for line in done.stdout.splitlines() if line and not line.startswith("#"))


def _times(ffmpeg: str, path: Path) -> tuple[float, ...]:
    """The times of the frames ffmpeg decodes (framecrc of the decoded frames: a damaged
    file's decoder errors cannot garble it as they can a log line)."""
    done = subprocess.run([ffmpeg, "-hide_banner", "-nostdin", "-v", "error", "-i", str(path),
                           "-map", "0:v:0", "-fps_mode", "passthrough", "-f", "framecrc", "-"],
                          capture_output=True, text=True, check=True)
    tb = next(line for line in done.stdout.splitlines() if line.startswith("#tb 0:"))
    num, den = (int(x) for x in tb.split(":")[1].strip().split("/"))
    return tuple(int(line.split(",")[2]) * num / den for line in done.stdout.splitlines()
                 if line and not line.startswith("#"))


def _check_exact(ffmpeg: str, src: Path, out: Path) -> None:
    frames = decode(ffmpeg, src, "yuv420p", corpus_module.SIZE)
    assert_frames_equal(decode(ffmpeg, out, "yuv420p", corpus_module.SIZE),
                        list(reference.motion_frames(iter(frames), K, "offset", 255)))


def test_mp4_cut_short_lists_a_frame_that_does_not_decode(files, gen_ffmpeg):
    path = files["mp4_cut_short"].path
    assert _listed(gen_ffmpeg, path) == len(_times(gen_ffmpeg, path)) + 1


def test_probe_counts_the_frames_that_decode(files, zero_tail, gen_ffmpeg):
    tools = runner.tools(gen_ffmpeg)
    for path in (files["mp4_cut_short"].path, files["mkv_cut_short"].path):
        decoded = _times(gen_ffmpeg, path)
        info = probe.probe(path, tools)
        assert info.frames == len(decoded)
        assert [round(float(t), 3) for t in info.index.times] == [round(t, 3) for t in decoded]
    # the zeroed tail: only decoding tells (the probe alone lists every frame)
    assert probe.probe(zero_tail, tools).frames > len(_times(gen_ffmpeg, zero_tail))


@pytest.mark.parametrize("name", NAMES)
def test_output_is_exact_and_names_the_last_frame(files, ffmpeg_bin, tmp_path, name):
    src = files[name].path
    decoded = _times(ffmpeg_bin, src)
    out = tmp_path / "out.mkv"
    done = _cli(str(src), str(out), "-k", str(K), "--lossless", "--no-audio",
                "--ffmpeg", ffmpeg_bin, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr
    if _listed(ffmpeg_bin, src) > len(decoded):
        assert (f"the last is frame {len(decoded) - 1}, at {decoded[-1]:.3f} s"
                in done.stderr), done.stderr
    _check_exact(ffmpeg_bin, src, out)


def test_frames_missing_only_when_decoded_are_found_by_the_run(zero_tail, gen_ffmpeg,
                                                               tmp_path):
    decoded = _times(gen_ffmpeg, zero_tail)
    out = tmp_path / "out.mkv"
    done = _cli(str(zero_tail), str(out), "-k", str(K), "--lossless", "--no-audio",
                "--ffmpeg", gen_ffmpeg, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert (f"do not decode (it is cut short there); the {len(decoded)} frames that do are used "
            f"(the last is frame {len(decoded) - 1}, at {decoded[-1]:.3f} s)") in done.stderr
    _check_exact(gen_ffmpeg, zero_tail, out)
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]


def test_offset_longer_than_what_decodes_is_one_plain_line(zero_tail, gen_ffmpeg, tmp_path):
    n = len(_times(gen_ffmpeg, zero_tail))
    out = tmp_path / "out.mkv"
    done = _cli(str(zero_tail), str(out), "-k", str(n + 2), "--ffmpeg", gen_ffmpeg,
                cwd=tmp_path)
    assert done.returncode != 0
    errors = [line for line in done.stderr.splitlines() if "error:" in line]
    assert len(errors) == 1 and f"the {n} frames" in errors[0] and "Traceback" not in done.stderr
    assert f"(at most {n - 1})" in errors[0]
    assert not out.exists() and sorted(p.name for p in tmp_path.iterdir()) == []
    with pytest.raises(FfmotionError, match=f"at most {n - 1}"):
        ffmotion.extract(zero_tail, out, n + 2, ffmpeg=gen_ffmpeg)
    assert not out.exists()


@pytest.mark.parametrize("name", NAMES)
def test_sound_stays_with_the_picture(files, gen_ffmpeg, tmp_path, name):
    item = files[name]
    n = len(_times(gen_ffmpeg, item.path))
    out = tmp_path / "out.mp4"
    ffmotion.extract(item.path, out, K, ffmpeg=gen_ffmpeg)
    events = corpus_module.measure(gen_ffmpeg, out)
    assert len(events.frame_times) == n - K
    corpus_module.assert_in_sync(events, expected_flashes=len(item.events))


@pytest.mark.parametrize("name", NAMES)
def test_sheet_energy_and_map(files, zero_tail, gen_ffmpeg, tmp_path, name):
    for src in (files[name].path, zero_tail):
        n = len(_times(gen_ffmpeg, src))
        sheet = _cli("sheet", str(src), "-o", str(tmp_path / "s.png"), "--offsets", "1,4",
                     "--ffmpeg", gen_ffmpeg, "-y", cwd=tmp_path)
        assert sheet.returncode == 0, sheet.stderr
        energy = _cli("energy", str(src), "-k", "4", "--ffmpeg", gen_ffmpeg, "-q",
                      cwd=tmp_path)
        assert energy.returncode == 0, energy.stderr
        assert len(energy.stdout.strip().splitlines()) - 1 == n - 4
        motion_map = _cli("map", str(src), "-o", str(tmp_path / "m.png"), "-k", "4", "-y",
                          "--ffmpeg", gen_ffmpeg, cwd=tmp_path)
        assert motion_map.returncode == 0, motion_map.stderr
        assert f"over {n - 4} motion frames" in motion_map.stderr
