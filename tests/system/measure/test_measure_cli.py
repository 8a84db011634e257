"""``ffmotion measure`` as a user runs it: the files it writes, and bad input as one line."""
from __future__ import annotations

import csv
import json
import subprocess
import sys
from pathlib import Path

import pytest

from helpers import bundled_ffmpeg, make_clip


def ffmotion(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "ffmotion", "measure", *args], cwd=cwd,
                          capture_output=True, text=True, timeout=120)


@pytest.fixture(scope="module")
def clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_clip(bundled_ffmpeg(), tmp_path_factory.mktemp("m") / "session.mkv",
                     size=(64, 48), frames=8)


ROIS = ["--roi", "patient=0,0,32,48", "--roi", "therapist=32,0,32,40", "--roi",
        "bg=30,40,20,8"]


def test_csv_sidecar_and_rois_file(clip, tmp_path):
    done = ffmotion(str(clip), *ROIS, "--background", "bg", "--csv", "s.csv",
                    "--save-rois", "rois.toml", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    rows = list(csv.reader((tmp_path / "s.csv").open()))
    assert rows[0] == ["frame", "time_s", "patient", "patient_share", "therapist",
                       "therapist_share"]
    assert len(rows) == 1 + 7
    side = json.loads((tmp_path / "s.csv.json").read_text())
    assert side["background"]["region"] == "bg" and side["mea"]["threshold"] >= 0
    assert side["ffmpeg"]["version"] and side["ffmotion"]
    assert len(side["commands"]) == 2 and "blend=all_mode=difference" in side["commands"][1]
    assert [r["name"] for r in side["regions"]] == ["patient", "therapist", "bg"]
    # the saved regions give the same numbers
    again = ffmotion(str(clip), "--rois", "rois.toml", "--csv", "t.csv", cwd=tmp_path)
    assert again.returncode == 0, again.stderr
    assert (tmp_path / "t.csv").read_text() == (tmp_path / "s.csv").read_text()


def test_mea_format_and_stdout(clip, tmp_path):
    done = ffmotion(str(clip), *ROIS[:4], "--format", "mea", "-o", "s.txt", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    lines = (tmp_path / "s.txt").read_text().splitlines()
    assert lines[0] == '"patient" "therapist"' and len(lines) == 8
    assert (tmp_path / "s.txt.json").exists()
    out = ffmotion(str(clip), *ROIS[:2], "-q", cwd=tmp_path)
    assert out.returncode == 0 and out.stdout.startswith("frame,time_s,patient,")


def test_batch_writes_one_table_each(clip, tmp_path):
    folder = tmp_path / "sessions"
    folder.mkdir()
    for name in ("a.mkv", "b.mkv"):
        (folder / name).write_bytes(clip.read_bytes())
    (tmp_path / "out").mkdir()
    done = ffmotion(str(folder), "--batch", "--out-dir", "out", *ROIS[:4], cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == [
        "a.csv", "a.csv.json", "b.csv", "b.csv.json"]


@pytest.mark.parametrize("args,message", [
    (["--roi", "a=0,0,65,10"], "reaches outside the 64x48 picture"),
    (["--roi", "a=0,0,0,10"], "zero size"),
    (["--roi", "a=0,0,10,10", "--roi", "a=5,5,10,10"], "given twice"),
    (["--roi", "a=0,0,10"], "give four numbers"),
    (["--roi", "a=0,0,10,10", "--background", "nope"], "is none of the regions"),
    (["--roi", "a=0,0,10,10", "--rois", "missing.toml"], "regions file not found"),
    (["--rois", "bad.toml"], "bad.toml:2:"),
    (["--roi", "a=0,0,10,10", "--threshold", "300"], "from 0 to 254"),
    (["--roi", "a=0,0,10,10", "--median", "4"], "must be one of"),
    ([], "give a region to measure"),
])
def test_bad_input_is_one_line(clip, tmp_path, args, message):
    (tmp_path / "bad.toml").write_text("[regions.a]\nx = 'one'\ny = 0\nw = 1\nh = 1\n")
    done = ffmotion(str(clip), *args, "--csv", "out.csv", cwd=tmp_path)
    assert done.returncode == 2, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("ffmotion: error:"), done.stderr
    assert message in lines[0], lines[0]
    assert not (tmp_path / "out.csv").exists() and not (tmp_path / "out.csv.json").exists()


def test_background_overlapping_a_region_warns(clip, tmp_path):
    done = ffmotion(str(clip), "--roi", "a=0,0,32,48", "--roi", "bg=20,20,20,8",
                    "--background", "bg", "--csv", "o.csv", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "overlaps the measured region a" in done.stderr


@pytest.mark.parametrize("args,message", [
    (["--displacement", "--scale", "100:412"], "write LENGTH:PIXELS"),
    (["--displacement", "--band", "60-5"], "LOW must be at least 0 and below HIGH"),
    (["--scale", "100mm:412px"], "are for --displacement"),
    (["--displacement", "--format", "mea", "-o", "x.txt"], "not with --displacement"),
])
def test_bad_displacement_input_is_one_line(clip, tmp_path, args, message):
    done = ffmotion(str(clip), "--roi", "a=0,0,32,32", *args, cwd=tmp_path)
    assert done.returncode == 2, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and message in lines[0], done.stderr


def test_displacement_csv(clip, tmp_path):
    done = ffmotion(str(clip), "--roi", "a=8,8,32,32", "--displacement", "--scale",
                    "10mm:40px", "--csv", "d.csv", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    rows = list(csv.reader((tmp_path / "d.csv").open()))
    assert rows[0] == ["frame", "time_s", "a_dx_px", "a_dy_px", "a_dx_mm", "a_dy_mm"]
    assert len(rows) == 1 + 8 and rows[1][2:4] == ["0.0000", "0.0000"]
    side = json.loads((tmp_path / "d.csv.json").read_text())
    assert side["method"] == "displacement" and "a" in side["displacement"]["regions"]
