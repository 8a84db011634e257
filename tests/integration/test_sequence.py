"""Image sequences and timelapses as inputs (folder, printf pattern, glob) in every command,
and batch names that mirror folders ({dir}, {relpath}) with image folders as inputs.

Sequences are generated at test time from lavfi clips (tiny PNG/JPEG files); the expected
pixels come from decoding each image on its own, in the order the test names (natural
order, gaps skipped), through the numpy reference - never from ffmotion's own listing.
"""
from __future__ import annotations

import os
import shutil
import struct
import subprocess
import sys
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest

import ffmotion
from ffmotion import api
from ffmotion.core.pixfmt import plane_layout
from ffmotion.core.source import Source
from ffmotion.media import sequence as seq
from ffmotion.media.images import read_header
from ffmotion.pipeline import controller, resolve
from ffmotion.run import runner

import reference
from helpers import assert_frames_equal, decode, make_clip, run_ffmpeg

N = 14  # images in a generated sequence
SIZE = (40, 30)


def cli(*args: str, cwd: Path | None = None) -> tuple[int, str, str]:
    done = subprocess.run([sys.executable, "-m", "ffmotion", *args], capture_output=True,
                          text=True, timeout=300, cwd=cwd)
    return done.returncode, done.stdout, done.stderr


def one_error_line(stderr: str, *words: str) -> str:
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("ffmotion: error: "), stderr
    assert "Traceback" not in stderr
    for word in words:
        assert word in lines[0], lines[0]
    return lines[0]


@pytest.fixture(scope="session")
def frames_png(tmp_path_factory: pytest.TempPathFactory, gen_ffmpeg: str) -> Path:
    """N noisy RGB frames as f01.png .. f14.png (the source of the sequences below)."""
    folder = tmp_path_factory.mktemp("pngs")
    clip = make_clip(gen_ffmpeg, folder / "clip.mkv", pix_fmt="rgb24", size=SIZE, frames=N)
    run_ffmpeg(gen_ffmpeg, "-i", str(clip), "-start_number", "1", str(folder / "f%02d.png"))
    clip.unlink()
    return folder


def make_sequence(frames_png: Path, folder: Path, names: dict[int, str]) -> list[Path]:
    """Copy source frame i (1-based) to ``folder/names[i]``; the files in the given order."""
    folder.mkdir(parents=True, exist_ok=True)
    made = []
    for i, name in names.items():
        shutil.copyfile(frames_png / f"f{i:02d}.png", folder / name)
        made.append(folder / name)
    return made


def images_reference(ffmpeg: str, files: list[Path], k: int, mode: str = "offset",
                     pix_fmt: str = "gbrp") -> list[reference.Frame]:
    """The reference motion of the images in this order, each decoded on its own."""
    frames = [decode(ffmpeg, f, pix_fmt, SIZE)[0] for f in files]
    layout = plane_layout(pix_fmt, *SIZE)
    return list(reference.motion_frames(iter(frames), k, mode, layout.max_value))  # type: ignore[arg-type]


def lossless(ffmpeg: str, src, tmp_path: Path, pix_fmt: str = "gbrp", **kwargs):
    out = tmp_path / "out.mkv"
    if out.exists():
        out.unlink()
    ffmotion.extract(src, out, lossless=True, ffmpeg=ffmpeg, **kwargs)
    return decode(ffmpeg, out, pix_fmt, SIZE)


# -- choosing the image2 input (no ffmpeg) -----------------------------------------------------

def test_natural_order() -> None:
    names = ["img10.png", "img2.png", "img1.png", "IMG3.png", "img02b.png"]
    assert sorted(names, key=seq.natural_key) == ["img1.png", "img2.png", "img02b.png",
                                                  "IMG3.png", "img10.png"]


def touch(folder: Path, *names: str) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for name in names:
        (folder / name).write_bytes(b"")


def test_contiguous_numbers_read_as_a_printf_pattern(tmp_path: Path) -> None:
    touch(tmp_path / "a", *[f"img{i}.png" for i in range(3, 12)])
    got = seq.resolve(tmp_path / "a", seq.SequenceRequest())
    assert (got.pattern_type, got.start_number) == ("sequence", 3)
    assert got.name == str(tmp_path / "a" / "img%d.png")
    assert [f.name for f in got.files] == [f"img{i}.png" for i in range(3, 12)]
    touch(tmp_path / "b", *[f"IMG_{i:04d}.JPG" for i in range(98, 103)])
    got = seq.resolve(tmp_path / "b", seq.SequenceRequest(Fraction(12)))
    assert (got.name, got.start_number) == (str(tmp_path / "b" / "IMG_%04d.JPG"), 98)
    assert ("framerate", "12") in got.source().options


def test_gaps_read_by_an_exact_glob_or_a_listed_one(tmp_path: Path) -> None:
    # zero-padded with gaps: byte order is natural order, one glob matches exactly these
    touch(tmp_path / "tl", *[f"tl_{i:04d}.png" for i in (1, 2, 5, 9, 10, 11, 30)])
    got = seq.resolve(tmp_path / "tl", seq.SequenceRequest())
    assert (got.pattern_type, got.name) == ("glob", str(tmp_path / "tl" / "tl_00*.png"))
    # unpadded with gaps: every name listed in natural order (glob keeps brace order)
    touch(tmp_path / "u", "s1.png", "s2.png", "s5.png", "s10.png", "s11.png")
    got = seq.resolve(str(tmp_path / "u" / "*.png"), seq.SequenceRequest())
    assert got.name == str(tmp_path / "u" / "s{1,2,5,10,11}.png")
    # a glob naming a subset: the printf pattern would read on into s12.png
    touch(tmp_path / "v", *[f"s{i}.png" for i in range(1, 13)])
    got = seq.resolve(str(tmp_path / "v" / "s[1-3].png"), seq.SequenceRequest())
    assert got.pattern_type == "glob" and [f.name for f in got.files] == ["s1.png", "s2.png",
                                                                          "s3.png"]


def test_special_characters_in_folder_names_are_escaped(tmp_path: Path) -> None:
    folder = tmp_path / "we[i]rd {x} 50%"
    touch(folder, "a1.png", "a2.png", "a3.png")
    got = seq.resolve(folder, seq.SequenceRequest())
    assert got.name == str(tmp_path / "we[i]rd {x} 50%%" / "a%d.png")
    touch(folder, "a5.png")
    got = seq.resolve(folder, seq.SequenceRequest())
    assert got.name == str(tmp_path) + "/we\\[i\\]rd \\{x\\} 50%/a*.png"


def test_a_plain_name_stays_one_file(tmp_path: Path) -> None:
    assert Source.file("img%04d.png").input_argv() == ["-f", "image2", "-pattern_type", "none",
                                                       "-i", "img%04d.png"]
    assert resolve.sequence_request(tmp_path / "img%04d.png") is None
    assert resolve.sequence_request(tmp_path) is not None  # a folder always is a sequence
    touch(tmp_path, "img0001.png", "img0002.png")
    code, _, err = cli(str(tmp_path / "img%04d.png"), str(tmp_path / "o.mp4"))
    assert code == 2
    one_error_line(err, "input not found", "--sequence")
    code, _, err = cli(str(tmp_path / "img0001.png"), str(tmp_path / "o.mp4"), "--sequence")
    assert code == 2
    one_error_line(err, "one file, not an image sequence")


def test_bad_sequences_are_one_line(tmp_path: Path, frames_png: Path) -> None:
    mixed = tmp_path / "mixed"
    make_sequence(frames_png, mixed, {1: "a1.png", 2: "a2.png"})
    shutil.copyfile(frames_png / "f03.png", mixed / "a3.jpg")
    code, _, err = cli(str(mixed), str(tmp_path / "o.mp4"))
    assert code == 2
    one_error_line(err, "mixed image formats", ".jpg", ".png")
    sizes = tmp_path / "sizes"
    make_sequence(frames_png, sizes, {1: "a1.png", 2: "a2.png", 3: "a3.png"})
    run_ffmpeg(runner.tools().ffmpeg, "-i", str(frames_png / "f04.png"), "-vf", "scale=20:16",
               "-update", "1", str(sizes / "a4.png"))
    code, _, err = cli(str(sizes), str(tmp_path / "o.mp4"))
    assert code == 1
    one_error_line(err, "mixed pictures", "a4.png", "20x16", "40x30")
    code, _, err = cli("--framerate", "0", str(sizes), str(tmp_path / "o.mp4"))
    assert code == 2
    one_error_line(err, "--framerate")
    code, _, err = cli(str(tmp_path / "empty*.png"), str(tmp_path / "o.mp4"), "--sequence")
    assert code == 2
    one_error_line(err, "no images match")
    assert not (tmp_path / "o.mp4").exists()


def test_outputs_never_write_over_the_input_images(tmp_path: Path, frames_png: Path) -> None:
    files = make_sequence(frames_png, tmp_path, {i: f"m{i:04d}.png" for i in range(1, 6)})
    before = [f.read_bytes() for f in files]
    for out in ("m%04d.png", "m0003.png"):
        code, _, err = cli("--sequence", str(tmp_path / "m%04d.png"), str(tmp_path / out),
                           "--overwrite")
        assert code == 2
        one_error_line(err, "input")
    assert [f.read_bytes() for f in files] == before


# -- exact against the reference, both builds ------------------------------------------------

def test_timelapse_folder_with_gaps_is_exact(ffmpeg_bin: str, frames_png: Path,
                                             tmp_path: Path) -> None:
    kept = [1, 2, 3, 5, 6, 9, 10, 11, 12, 14]  # 4, 7, 8, 13 deleted from the card
    files = make_sequence(frames_png, tmp_path / "tl", {i: f"TL_{i:04d}.png" for i in kept})
    info = controller.probe(api.make_request(tmp_path / "tl", tmp_path / "o.mkv"),
                           runner.tools(ffmpeg_bin))
    assert (info.frames, info.fps, info.width, info.height) == (len(kept), 25, *SIZE)
    got = lossless(ffmpeg_bin, tmp_path / "tl", tmp_path, offset=3)
    assert len(got) == len(kept) - 3
    assert_frames_equal(got, images_reference(ffmpeg_bin, files, 3))


def test_glob_in_natural_order_with_gaps_freeze_and_range(ffmpeg_bin: str, frames_png: Path,
                                                          tmp_path: Path) -> None:
    # unpadded numbers: byte order would put s10 before s2
    names = {1: "s1.png", 2: "s2.png", 4: "s4.png", 9: "s9.png", 10: "s10.png",
             11: "s11.png", 12: "s12.png", 14: "s20.png"}
    files = make_sequence(frames_png, tmp_path / "shots", names)
    src = str(tmp_path / "shots" / "*.png")
    got = lossless(ffmpeg_bin, src, tmp_path, offset=2, sequence=True)
    assert_frames_equal(got, images_reference(ffmpeg_bin, files, 2))
    got = lossless(ffmpeg_bin, src, tmp_path, freeze=1, sequence=True, start="2f", end="7f")
    assert_frames_equal(got, images_reference(ffmpeg_bin, files[2:7], 1, "freeze"))


def test_printf_pattern_from_a_high_number_at_a_given_rate(ffmpeg_bin: str, frames_png: Path,
                                                           tmp_path: Path) -> None:
    files = make_sequence(frames_png, tmp_path, {i: f"DSC{i + 4990}.png" for i in range(1, 15)})
    src = tmp_path / "DSC%d.png"
    options = api.make_request(src, tmp_path / "o.mkv", framerate="30000/1001")
    info = controller.probe(options, runner.tools(ffmpeg_bin))
    assert (info.frames, info.fps) == (N, Fraction(30000, 1001))
    got = lossless(ffmpeg_bin, src, tmp_path, offset=5, framerate="30000/1001")
    assert_frames_equal(got, images_reference(ffmpeg_bin, files, 5))


def test_printed_command_runs_as_printed(gen_ffmpeg: str, frames_png: Path,
                                         tmp_path: Path) -> None:
    make_sequence(frames_png, tmp_path / "in put", {i: f"p{i}.png" for i in (1, 2, 3, 5, 8, 13)})
    out = tmp_path / "mine.mkv"
    args = [str(tmp_path / "in put" / "*.png"), "--framerate", "12", "-k", "2", "--lossless",
            "--ffmpeg", gen_ffmpeg]
    code, _, err = cli(*args[:1], str(out), *args[1:])
    assert code == 0, err
    code, line, err = cli(*args[:1], str(tmp_path / "printed.mkv"), *args[1:],
                          "--print-command")
    assert code == 0, err
    done = subprocess.run(line, shell=True, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "printed.mkv").read_bytes() == out.read_bytes()


def test_16bit_png_sequence_from_a_10bit_source(ffmpeg_bin: str, gen_ffmpeg: str,
                                                tmp_path: Path) -> None:
    """16-bit PNGs work at 16 bits, exact against the reference; PNGs holding a 10-bit
    value v as v << 6 give the 10-bit source's own motion exactly at 10 bits (>> 6)."""
    clip = make_clip(gen_ffmpeg, tmp_path / "src.mkv", pix_fmt="gbrp10le", size=SIZE, frames=N)
    src10 = decode(gen_ffmpeg, clip, "gbrp10le", SIZE)
    k = 3
    # ffmpeg's own conversion (v << 6 | v >> 4)
    run_ffmpeg(gen_ffmpeg, "-i", str(clip), "-pix_fmt", "rgb48be", str(tmp_path / "a%03d.png"))
    files = sorted(tmp_path.glob("a*.png"))
    assert read_header(files[0]).layout == "rgb 16-bit"
    got = lossless(ffmpeg_bin, tmp_path / "a%03d.png", tmp_path, "gbrp16le", offset=k,
                   sequence=True)
    assert_frames_equal(got, images_reference(ffmpeg_bin, files, k, pix_fmt="gbrp16le"))
    assert any(np.any(p & 0x3F) for frame in got for p in frame)  # deeper than 10 bits
    # v << 6 exactly: the motion at 16 bits, >> 6, is the 10-bit motion of the source
    raw = tmp_path / "shifted.gbrp16"
    raw.write_bytes(b"".join(np.concatenate([(p.astype("<u2") << 6).ravel() for p in f])
                             .tobytes() for f in src10))
    (tmp_path / "b").mkdir()
    run_ffmpeg(gen_ffmpeg, "-f", "rawvideo", "-pix_fmt", "gbrp16le", "-s", f"{SIZE[0]}x{SIZE[1]}",
               "-i", str(raw), "-pix_fmt", "rgb48be", str(tmp_path / "b" / "b%03d.png"))
    got = lossless(ffmpeg_bin, tmp_path / "b", tmp_path, "gbrp16le", offset=k)
    want10 = list(reference.motion_frames(iter(src10), k, "offset", 1023))
    assert len(got) == len(want10) == N - k
    for frame16, frame10 in zip(got, want10):
        for p16, p10 in zip(frame16, frame10):
            assert np.array_equal(p16 >> 6, p10)


def exif_rotated(jpeg: bytes, orientation: int) -> bytes:
    tiff = (b"MM\x00\x2a" + struct.pack(">I", 8) + struct.pack(">H", 1)
            + struct.pack(">HHIHH", 0x0112, 3, 1, orientation, 0) + struct.pack(">I", 0))
    body = b"Exif\x00\x00" + tiff
    return jpeg[:2] + b"\xff\xe1" + struct.pack(">H", len(body) + 2) + body + jpeg[2:]


def test_exif_orientation_of_a_jpeg_sequence(ffmpeg_bin: str, gen_ffmpeg: str,
                                             frames_png: Path, tmp_path: Path) -> None:
    """ffmpeg 5.1 and 9.0.2 turn an orientation-6 JPEG upright (measured); the probe says so
    (the stream line does not) and the output is portrait."""
    folder = tmp_path / "photos"
    folder.mkdir()
    for i in range(1, 6):
        plain = tmp_path / f"plain{i}.jpg"
        run_ffmpeg(gen_ffmpeg, "-i", str(frames_png / f"f{i:02d}.png"), "-update", "1",
                   str(plain))
        (folder / f"P{i:03d}.jpg").write_bytes(exif_rotated(plain.read_bytes(), 6))
    assert read_header(folder / "P001.jpg").orientation == 6
    # ffmpeg honours the orientation, mirrors too (what the README says, on this build)
    plain = decode(ffmpeg_bin, tmp_path / "plain1.jpg", "gray", SIZE)[0][0]
    turned = {6: np.rot90(plain, -1), 2: plain[:, ::-1], 5: plain.T, 8: np.rot90(plain, 1)}
    for orientation, want in turned.items():
        path = tmp_path / f"o{orientation}.jpg"
        path.write_bytes(exif_rotated((tmp_path / "plain1.jpg").read_bytes(), orientation))
        got = decode(ffmpeg_bin, path, "gray", (want.shape[1], want.shape[0]))[0][0]
        assert np.array_equal(got, want), orientation
    out = tmp_path / "out.mkv"
    code, _, err = cli(str(folder), str(out), "-k", "1", "--lossless", "--ffmpeg", ffmpeg_bin)
    assert code == 0, err
    assert "rotated 270" in err and "shown 30x40" in err
    frames = decode(ffmpeg_bin, out, "yuv420p", (30, 40))
    assert len(frames) == 4


# -- every command ------------------------------------------------------------------------

def test_sheet_energy_map_and_preview_take_a_sequence(gen_ffmpeg: str, frames_png: Path,
                                                      tmp_path: Path) -> None:
    make_sequence(frames_png, tmp_path / "tl", {i: f"t{i:03d}.png" for i in (1, 2, 3, 6, 7, 8,
                                                                            9, 10, 12, 14)})
    code, _, err = cli("sheet", str(tmp_path / "tl"), "--offsets", "1,2", "--cell-width", "40",
                       "--no-labels", "-o", str(tmp_path / "s.png"), "--ffmpeg", gen_ffmpeg)
    assert code == 0, err
    assert "3 rows x 5 columns" in err and read_header(tmp_path / "s.png").format == "png"
    code, out, err = cli("energy", "--sequence", str(tmp_path / "tl" / "t*.png"), "-k", "3",
                         "--ffmpeg", gen_ffmpeg)
    assert code == 0, err
    rows = out.strip().splitlines()
    assert rows[0] == "frame,time_s,energy_k3" and len(rows) == 1 + 10 - 3
    assert rows[2].startswith("1,0.04,")  # 25 fps by default
    code, _, err = cli("map", str(tmp_path / "tl"), "-k", "2", "-o", str(tmp_path / "m.png"),
                       "--framerate", "5", "--ffmpeg", gen_ffmpeg)
    assert code == 0, err
    assert read_header(tmp_path / "m.png").shown_size == SIZE

    from ffmotion.preview.session import Session, parse_settings

    session = Session(tmp_path / "tl", runner.tools(gen_ffmpeg), width=32)
    try:
        assert session.info.frames == 10
        data, meta = session.frame(parse_settings({"offset": "2"}), 0)
        assert len(data) > 0
        assert "--framerate" in session.describe(parse_settings({"offset": "2"}))["cli"]
    finally:
        session.close()


# -- batch -------------------------------------------------------------------------------------

@pytest.fixture
def card(tmp_path: Path, gen_ffmpeg: str, frames_png: Path) -> Path:
    """A camera card with repeated names, and two timelapse folders."""
    root = tmp_path / "card"
    for folder in ("DCIM/100CANON", "DCIM/101CANON"):
        (root / folder).mkdir(parents=True)
        make_clip(gen_ffmpeg, root / folder / "MVI_0001.MP4", size=SIZE, frames=6,
                  codec="libx264")
    make_sequence(frames_png, root / "TL" / "day1", {i: f"IMG_{i:04d}.png" for i in (1, 2, 4, 5)})
    make_sequence(frames_png, root / "TL" / "day2", {i: f"IMG_{i:04d}.png" for i in range(1, 7)})
    return root


def test_batch_relpath_keeps_the_card_folders(card: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    code, _, err = cli("batch", str(card), "-o", str(out), "--name", "{stem}{ext}", "-q")
    assert code == 2
    one_error_line(err, "MVI_0001.MP4", "would both write", "{relpath}")
    assert not out.exists()
    code, _, err = cli("batch", str(card), "-o", str(out), "--name", "{relpath}_motion{ext}",
                       "--sequences", "--framerate", "10", "-k", "1")
    assert code == 0, err
    made = sorted(str(p.relative_to(out)) for p in out.rglob("*") if p.is_file())
    assert made == ["DCIM/100CANON/MVI_0001_motion.mp4", "DCIM/101CANON/MVI_0001_motion.mp4",
                    "TL/day1_motion.mp4", "TL/day2_motion.mp4"]
    ffmpeg = runner.tools().ffmpeg
    assert len(decode(ffmpeg, out / "TL" / "day1_motion.mp4", "yuv420p", SIZE)) == 3
    assert len(decode(ffmpeg, out / "TL" / "day2_motion.mp4", "yuv420p", SIZE)) == 5
    code, _, err = cli("batch", str(card), "-o", str(out), "--name", "{relpath}_motion{ext}",
                       "--sequences", "--framerate", "10", "-k", "1")
    assert code == 0 and "4 skipped" in err, err  # resumable


def test_batch_dir_field_and_names_that_would_leave_the_folder(card: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    code, listing, err = cli("batch", str(card / "DCIM" / "*" / "*.MP4"), "-o", str(out),
                             "--name", "{dir}_{stem}{ext}", "--emit-commands", "-", "-q")
    assert code == 0, err
    assert str(out / "100CANON_MVI_0001.mp4") in listing
    assert str(out / "101CANON_MVI_0001.mp4") in listing
    code, _, err = cli("batch", str(card / "DCIM"), "-o", str(out), "--name",
                       "../{relpath}{ext}", "-q")
    assert code == 2
    one_error_line(err, "inside the output folder")
    # a link planted where a sub-folder goes is never followed
    out.mkdir(exist_ok=True)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    os.symlink(elsewhere, out / "DCIM")
    code, _, err = cli("batch", str(card), "-o", str(out), "--name", "{relpath}{ext}", "-q")
    assert code == 2
    one_error_line(err, "link")
    assert list(elsewhere.iterdir()) == []


def test_batch_without_sequences_ignores_image_folders(card: Path, tmp_path: Path) -> None:
    code, _, err = cli("batch", str(card / "TL"), "-o", str(tmp_path / "o"), "-q")
    assert code == 2
    one_error_line(err, "no video files", "--sequences")


def test_stabilize_and_auto_threshold_read_the_sequence(gen_ffmpeg: str, frames_png: Path,
                                                        tmp_path: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FFMOTION_CACHE", str(tmp_path / "cache"))
    make_sequence(frames_png, tmp_path / "tl", {i: f"t{i}.png" for i in (1, 2, 3, 5, 8, 13, 14)})
    code, out, err = cli(str(tmp_path / "tl"), str(tmp_path / "s.mkv"), "--stabilize",
                         "--stabilize-smoothing", "0", "-k", "1",
                         "--print-command", "--ffmpeg", gen_ffmpeg)
    assert code == 0, err
    assert out.count("-pattern_type glob") == 2  # pass 1 reads the images too
    code, _, err = cli(str(tmp_path / "tl"), str(tmp_path / "s.mkv"), "--stabilize", "-k", "1",
                       "--lossless", "--ffmpeg", gen_ffmpeg)
    assert code == 0, err
    assert len(decode(gen_ffmpeg, tmp_path / "s.mkv", "gbrp", SIZE)) == 6
    code, _, err = cli(str(tmp_path / "tl"), str(tmp_path / "t.mkv"), "--threshold", "auto",
                       "--ffmpeg", gen_ffmpeg)
    assert code == 0, err
    assert "--threshold auto: " in err
