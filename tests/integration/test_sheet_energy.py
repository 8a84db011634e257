"""ffmotion sheet / ffmotion energy: choosing the offset by looking."""
from __future__ import annotations

import csv
import importlib.util
import io
import logging
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from ffmotion import cli
from ffmotion.core.pixfmt import plane_layout
from ffmotion.pipeline import explore

import reference
from helpers import FRAMES, run_ffmpeg

SIZE = (64, 48)
MOVING = range(12, 21)  # the square moves between these frames (4 px per frame), else still


def square_x(n: int) -> int:
    """The mover's x in frame n: still at 8, moves 4 px a frame from 12 to 20, still at 40."""
    return 8 + 4 * min(max(n - 12, 0), 8)


@pytest.fixture(scope="session")
def scenes(tmp_path_factory: pytest.TempPathFactory, gen_ffmpeg: str) -> dict[str, Path]:
    """Lossless 64x48 clips of a frozen textured scene: 'static', and 'mover' (a white 8x8
    square that moves only during frames 12-20)."""
    folder = tmp_path_factory.mktemp("scenes")
    background = ("color=c=0x607080:s=64x48:r=30:d=1.2,noise=alls=60:allf=u,gblur=sigma=1,"
                  "drawbox=x=40:y=4:w=16:h=12:c=0x203040:t=fill")
    made = {}
    for name, graph in {
        "static": f"{background},format=yuv420p",
        "mover": f"{background}[bg];color=c=white:s=8x8:r=30:d=1.2[sq];"
                 "[bg][sq]overlay=x='8+4*clip(round(t*30)-12,0,8)':y=30,format=yuv420p",
    }.items():
        path = folder / f"{name}.mkv"
        run_ffmpeg(gen_ffmpeg, "-filter_complex", graph, "-frames:v", str(FRAMES),
                   "-c:v", "ffv1", str(path))
        made[name] = path
    return made


def read_png(ffmpeg: str, path: Path) -> np.ndarray:
    """The PNG as an (h, w, 3) uint8 array, decoded by ffmpeg."""
    done = subprocess.run([ffmpeg, "-hide_banner", "-nostdin", "-v", "error", "-i", str(path),
                           "-f", "rawvideo", "-pix_fmt", "rgb24", "-"], capture_output=True,
                          check=True)
    info = subprocess.run([ffmpeg, "-hide_banner", "-nostdin", "-i", str(path)],
                          capture_output=True, text=True).stderr
    w, h = next(tok for tok in info.replace(",", " ").split()
                if "x" in tok and tok.split("x")[0].isdigit()).split("x")
    return np.frombuffer(done.stdout, np.uint8).reshape(int(h), int(w), 3)


def is_gray(pixels: np.ndarray) -> bool:
    """Neutral gray after yuv -> rgb: Y=U=V=127 comes out within a few levels of 128."""
    return bool((np.abs(pixels.astype(int) - 128) <= 4).all())


# -- sheet ----------------------------------------------------------------------------------------

def test_sheet_grid_and_gray_rows(ffmpeg_bin, scenes, tmp_path):
    out = tmp_path / "sheet.png"
    result = explore.sheet(scenes["mover"], out, "1,2", labels=False, ffmpeg=ffmpeg_bin)
    sheet = read_png(ffmpeg_bin, out)
    # 5 columns of 64 px with 2 px margins (4 between cells); 3 rows: original, K=1, K=2
    assert sheet.shape == (3 * (48 + 4), 5 * (64 + 4), 3)
    assert (result.layout.width, result.layout.height) == (340, 156)
    # columns at frames 3, 10, 17, 23, 30 (34 usable frames for K=2, centred in 5 slots)
    assert result.layout.columns == (3, 10, 17, 23, 30)
    for row in range(3):
        for col in range(5):
            y, x = 2 + row * 52, 2 + col * 68
            cell = sheet[y:y + 48, x:x + 64]
            if row == 0:
                assert not is_gray(cell), "the original row shows the scene"
            elif col == 2:  # frame 17: the square is moving
                assert not is_gray(cell), f"K={row}: the moving square must show"
                assert is_gray(cell[:24]), "the static top half stays gray"
            else:
                assert is_gray(cell), f"row {row} column {col}: nothing moves there"
    # the gaps between cells are black
    assert (sheet[:, 66:70] == 0).all() and (sheet[50:54] == 0).all()


def test_static_scene_sheet_is_gray_below_the_original(gen_ffmpeg, scenes, tmp_path):
    out = tmp_path / "sheet.png"
    explore.sheet(scenes["static"], out, "1,5,0.5s", columns=3, cell_width=32, labels=False,
                  ffmpeg=gen_ffmpeg)
    sheet = read_png(gen_ffmpeg, out)
    assert sheet.shape == (4 * (24 + 4), 3 * (32 + 4), 3)  # cells scaled to 32x24
    assert not is_gray(sheet[2:26, 2:34])
    for row in range(1, 4):
        for col in range(3):
            assert is_gray(sheet[2 + row * 28:26 + row * 28, 2 + col * 36:34 + col * 36])


def strip_has_text(sheet: np.ndarray, row: int, label_height: int = 12) -> bool:
    y = 2 + row * (48 + label_height + 4) + 48
    return bool((sheet[y:y + label_height, 2:66] > 150).any())


def test_labels_drawn(ffmpeg_bin, scenes, tmp_path):
    out = tmp_path / "sheet.png"
    result = explore.sheet(scenes["mover"], out, "2", columns=2, ffmpeg=ffmpeg_bin)
    if not result.labelled:
        pytest.skip("no font for drawtext on this machine (the no-label path is tested below)")
    sheet = read_png(ffmpeg_bin, out)
    assert sheet.shape == (2 * (48 + 12 + 4), 2 * (64 + 4), 3)  # a 12 px label strip per cell
    assert strip_has_text(sheet, 0) and strip_has_text(sheet, 1)


def no_fonts(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A machine where fontconfig knows no font, and no usual font file exists."""
    conf = tmp_path / "fonts.conf"
    conf.write_text('<?xml version="1.0"?><fontconfig></fontconfig>')
    monkeypatch.setenv("FONTCONFIG_FILE", str(conf))
    monkeypatch.delenv("FFMOTION_FONTFILE", raising=False)
    monkeypatch.setattr(explore, "FONT_CANDIDATES", ())


def test_no_font_gives_unlabelled_sheet_and_legend(ffmpeg_bin, scenes, tmp_path, monkeypatch,
                                                   caplog):
    no_fonts(tmp_path, monkeypatch)
    caplog.set_level(logging.WARNING, logger="ffmotion")
    out = tmp_path / "sheet.png"
    result = explore.sheet(scenes["mover"], out, "2", columns=2, ffmpeg=ffmpeg_bin)
    assert not result.labelled
    assert read_png(ffmpeg_bin, out).shape == (2 * (48 + 4), 2 * (64 + 4), 3)
    assert "cannot draw labels" in caplog.text
    assert "Rows from the top: 1: original; 2: K=2 (0.067s)" in caplog.text
    assert "input time 0.266667s, 0.833333s" in caplog.text  # frames 8 and 25 of 34 usable


def test_font_file_from_environment(ffmpeg_bin, scenes, tmp_path, monkeypatch):
    font = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")
    if not font.is_file():
        pytest.skip("no DejaVuSans.ttf here")
    no_fonts(tmp_path, monkeypatch)
    monkeypatch.setenv("FFMOTION_FONTFILE", str(font))
    out = tmp_path / "sheet.png"
    result = explore.sheet(scenes["mover"], out, "2", columns=2, ffmpeg=ffmpeg_bin)
    assert result.labelled
    assert strip_has_text(read_png(ffmpeg_bin, out), 1)


def test_sheet_is_one_ffmpeg_pass(scenes, tmp_path, capsys):
    out = tmp_path / "sheet.png"
    code = cli.main(["sheet", str(scenes["mover"]), "--offsets", "1,4", "-o", str(out),
                     "--print-command"])
    lines = capsys.readouterr().out.splitlines()
    assert code == 0 and len(lines) == 1
    assert "tile=" in lines[0] and "vstack=" in lines[0] and "blend=" in lines[0]
    assert not out.exists()


@pytest.mark.parametrize("args,message", [
    (["--offsets", "1,36"], "needs more than the 36 frames"),
    (["--offsets", "1,x"], "not a whole number of frames or a duration"),
    (["--offsets", "0"], "at least 1 frame"),
    (["--columns", "0"], "--columns must be from 1 to 50"),
])
def test_sheet_errors(scenes, tmp_path, capsys, args, message):
    out = tmp_path / "sheet.png"
    code = cli.main(["sheet", str(scenes["mover"]), "-o", str(out), *args])
    err = capsys.readouterr().err
    assert code == 2 and message in err and err.count("\n") == 1
    assert not out.exists()


def test_sheet_keeps_existing_output_and_wants_png(scenes, tmp_path, capsys):
    out = tmp_path / "sheet.png"
    out.write_bytes(b"mine")
    assert cli.main(["sheet", str(scenes["mover"]), "-o", str(out)]) == 2
    assert out.read_bytes() == b"mine" and "--overwrite" in capsys.readouterr().err
    assert cli.main(["sheet", str(scenes["mover"]), "-o", str(tmp_path / "s.jpg")]) == 2
    assert "PNG" in capsys.readouterr().err


# -- energy ---------------------------------------------------------------------------------------

def numpy_energy(ffmpeg: str, src: Path, pix_fmt: str, size: tuple[int, int], k: int) -> list:
    """Mean |first plane - neutral| of each reference motion frame, in 8-bit levels."""
    layout = plane_layout(pix_fmt, *size)
    neutral = layout.max_value >> 1
    frames = reference.motion_frames(reference.read_frames(ffmpeg, src, layout), k, "offset",
                                     layout.max_value)
    return [float(np.abs(f[0].astype(np.int64) - neutral).mean()) / (1 << (layout.depth - 8))
            for f in frames]


def test_energy_is_zero_when_nothing_moves(ffmpeg_bin, scenes):
    table = explore.energy(scenes["static"], "1,7", ffmpeg=ffmpeg_bin)
    assert [len(v) for v in table.values] == [FRAMES - 1, FRAMES - 7]
    assert max(max(v) for v in table.values) == 0


def test_energy_rises_exactly_where_the_square_moves(ffmpeg_bin, scenes):
    k = 2
    (energy,) = explore.energy(scenes["mover"], k, ffmpeg=ffmpeg_bin).values
    # frame i blends i with i+2: they differ when the square moved in between
    moved = [i for i in range(FRAMES - k) if square_x(i) != square_x(i + k)]
    assert moved == list(range(11, 20))
    still = [i for i in range(FRAMES - k) if i not in moved]
    assert all(energy[i] == 0 for i in still)
    assert min(energy[i] for i in moved) > 0.5
    assert max(energy) == max(energy[i] for i in moved)


@pytest.mark.parametrize("name", ["yuv420p", "yuv420p10le", "rgb24", "gray"])
def test_energy_equals_numpy_on_the_reference_frames(ffmpeg_bin, clips, name):
    """ffmpeg's signalstats numbers = the mean deviation computed here from the reference."""
    clip = clips[name]
    (got,) = explore.energy(clip.path, 5, ffmpeg=ffmpeg_bin).values
    want = numpy_energy(ffmpeg_bin, clip.path, clip.pix_fmt, clip.size, 5)
    assert len(got) == len(want) == FRAMES - 5
    assert np.allclose(got, want, rtol=0, atol=1.5e-4), (got[:3], want[:3])
    assert min(want) > 1  # the noisy clips move everywhere: the comparison is not 0 == 0


def test_energy_on_a_range_is_the_same_frames(gen_ffmpeg, scenes):
    whole = explore.energy(scenes["mover"], "3", ffmpeg=gen_ffmpeg)
    part = explore.energy(scenes["mover"], "3", start="10f", duration="12f", ffmpeg=gen_ffmpeg)
    assert part.first == 10 and len(part.values[0]) == 12 - 3
    assert part.values[0] == whole.values[0][10:19]
    lines = part.csv().splitlines()
    assert lines[0] == "frame,time_s,energy_k3"
    assert lines[1].startswith("10,0.333333,")


def test_energy_cli_csv_on_stdout(scenes):
    done = subprocess.run([sys.executable, "-m", "ffmotion", "energy", str(scenes["mover"]), "-k",
                           "2,5"], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    rows = list(csv.DictReader(io.StringIO(done.stdout)))
    assert len(rows) == FRAMES - 2
    assert [r["frame"] for r in rows[:3]] == ["0", "1", "2"]
    assert rows[-1]["energy_k5"] == "" and rows[FRAMES - 6]["energy_k5"] != ""
    assert float(rows[15]["energy_k2"]) > 0.5 and float(rows[0]["energy_k2"]) == 0
    assert "peak" in done.stderr


def test_energy_plot_needs_matplotlib(scenes, tmp_path, monkeypatch, capsys):
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *a: None if name == "matplotlib" else real(name, *a))
    out_csv, out_png = tmp_path / "e.csv", tmp_path / "e.png"
    code = cli.main(["energy", str(scenes["mover"]), "--csv", str(out_csv), "--plot",
                     str(out_png)])
    err = capsys.readouterr().err
    assert code == 2 and "pip install 'ffmotion[plot]'" in err and err.count("\n") == 1
    assert not out_csv.exists() and not out_png.exists()  # failed before doing any work


def test_energy_plot_and_csv_files(scenes, tmp_path, capsys):
    pytest.importorskip("matplotlib")
    out_csv, out_png = tmp_path / "e.csv", tmp_path / "e.png"
    code = cli.main(["energy", str(scenes["mover"]), "-k", "1,4", "--csv", str(out_csv),
                     "--plot", str(out_png), "-q"])
    assert code == 0, capsys.readouterr().err
    assert capsys.readouterr().out == ""  # files asked for: nothing on stdout
    assert out_png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert out_csv.read_text().splitlines()[0] == "frame,time_s,energy_k1,energy_k4"
    assert cli.main(["energy", str(scenes["mover"]), "--csv", str(out_csv)]) == 2  # exists
