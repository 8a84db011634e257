"""``--json``: ONE JSON object on stdout, valid against the packaged schema, for every
command that produces something; nothing else on stdout; errors reported too; the commands
listed are the ones that ran (rerun, they write the same bytes)."""
from __future__ import annotations

import csv
import io
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from ffmotion.cli import report

SCHEMA = json.loads(report.SCHEMA.read_text())
VALIDATOR = jsonschema.Draft202012Validator(SCHEMA)


def ffmotion(*argv: str, cwd: Path, code: int = 0) -> tuple[dict[str, Any], str]:
    """Run the program; its stdout must be exactly one JSON object, valid by the schema."""
    done = subprocess.run([sys.executable, "-m", "ffmotion", *argv], capture_output=True,
                          text=True, cwd=cwd, timeout=300)
    assert done.returncode == code, done.stderr
    lines = done.stdout.splitlines()
    assert len(lines) == 1, done.stdout  # one object, nothing else
    result = json.loads(lines[0])
    errors = sorted(VALIDATOR.iter_errors(result), key=str)
    assert not errors, [f"{list(e.absolute_path)}: {e.message}" for e in errors]
    assert result["exit_code"] == code and result["ok"] == (code == 0)
    return result, done.stderr


def test_schema_is_valid_and_shipped() -> None:
    jsonschema.Draft202012Validator.check_schema(SCHEMA)
    assert SCHEMA["properties"]["version"]["const"] == report.VERSION


def test_run(av_clip: Path, gen_ffmpeg: str, tmp_path: Path) -> None:
    out = tmp_path / "out.mp4"
    result, _ = ffmotion(str(av_clip), str(out), "-k", "3", "--look", "trails",
                         "--ffmpeg", gen_ffmpeg, "--json", cwd=tmp_path)
    assert result["command"] == "run" and result["input"] == str(av_clip)
    assert result["outputs"] == [{"path": str(out), "role": "motion", "streamed": False,
                                  "bytes": out.stat().st_size}]
    assert result["frames"] == 33 and result["offset"] == {"frames": 3, "mode": "offset"}
    assert result["look"]["name"] == "trails" and "--trail" in result["look"]["flags"]
    assert result["size"] == {"width": 64, "height": 48} and result["fps"] == "30"
    assert len(result["commands"]) == 1 and result["commands"][0]["frames"] == 33
    assert result["timings"]["total_s"] >= result["timings"]["ffmpeg_s"] > 0
    # the command listed is the one that ran: rerun into another name, the same bytes
    argv = result["commands"][0]["argv"]
    assert argv[0] == gen_ffmpeg
    temporary = Path(argv[-1])  # written under a temporary name beside it, then moved
    assert temporary.parent == out.parent and temporary.name.endswith(".ffmotion-tmp.mp4")
    again = tmp_path / "again.mp4"
    argv[-1] = str(again)
    subprocess.run(argv, check=True, capture_output=True, timeout=120)
    assert again.read_bytes() == out.read_bytes()


def test_print_command_plans_and_runs_nothing(av_clip: Path, gen_ffmpeg: str,
                                              tmp_path: Path) -> None:
    result, _ = ffmotion(str(av_clip), str(tmp_path / "o.mp4"), "--ffmpeg", gen_ffmpeg,
                         "--print-command", "--json", cwd=tmp_path)
    assert result["commands"] == [] and result["outputs"] == []
    assert result["planned"][0][0] == gen_ffmpeg and result["printed"]
    assert not (tmp_path / "o.mp4").exists()


def test_quiet_keeps_warnings_in_the_report(clips: dict, gen_ffmpeg: str,
                                            tmp_path: Path) -> None:
    """-q silences the warning on stderr; the report still has it."""
    result, err = ffmotion(str(clips["yuv420p"].path), str(tmp_path / "o.mp4"), "--deinterlace",
                           "-q", "--ffmpeg", gen_ffmpeg, "--json", cwd=tmp_path)
    assert err == ""
    assert any("progressive" in w or "deinterlac" in w for w in result["warnings"]), result


def test_demo(gen_ffmpeg: str, tmp_path: Path) -> None:
    result, _ = ffmotion("demo", str(tmp_path / "d"), "--ffmpeg", gen_ffmpeg, "-q", "--json",
                         "--duration", "0.5", cwd=tmp_path)
    roles = {o["role"]: o for o in result["outputs"]}
    assert set(roles) == {"motion", "sample"} and all(o["bytes"] for o in roles.values())
    assert len(result["commands"]) == 2 and result["printed"]  # the sample, the motion


def test_live(gen_ffmpeg: str, tmp_path: Path) -> None:
    out = tmp_path / "live.mkv"
    result, _ = ffmotion("live", "lavfi:testsrc2=size=64x48:rate=30", str(out), "--duration",
                         "0.5", "--ffmpeg", gen_ffmpeg, "--json", cwd=tmp_path)
    assert result["command"] == "live" and result["frames"] == 14
    assert result["outputs"][0]["bytes"] == out.stat().st_size
    # steered: three commands that run together, piped (capture | graph | output)
    planned, _ = ffmotion("live", "lavfi:testsrc2=size=64x48:rate=30", str(out), "--control",
                          "127.0.0.1:0", "--print-command", "--json", "-y", cwd=tmp_path)
    assert planned["pipeline"] is True and len(planned["planned"]) == 3
    assert planned["planned"][1][planned["planned"][1].index("-i") + 1] == "pipe:0"


def test_sheet(av_clip: Path, gen_ffmpeg: str, tmp_path: Path) -> None:
    result, _ = ffmotion("sheet", str(av_clip), "-o", str(tmp_path / "s.png"), "--offsets",
                         "1,4", "--ffmpeg", gen_ffmpeg, "--json", cwd=tmp_path)
    assert result["outputs"][0]["role"] == "sheet" and result["result"]["rows"] == 3
    assert result["size"]["width"] > 0 and result["commands"]


def test_energy_values_are_the_csv(av_clip: Path, gen_ffmpeg: str, tmp_path: Path) -> None:
    """The report holds the table the CSV holds (no CSV on stdout under --json)."""
    result, _ = ffmotion("energy", str(av_clip), "-k", "1,3", "--ffmpeg", gen_ffmpeg, "--json",
                         cwd=tmp_path)
    table = subprocess.run([sys.executable, "-m", "ffmotion", "energy", str(av_clip), "-k",
                            "1,3", "--ffmpeg", gen_ffmpeg, "-q"], capture_output=True,
                           text=True, check=True, cwd=tmp_path).stdout
    rows = list(csv.DictReader(io.StringIO(table)))
    offsets = result["result"]["offsets"]
    assert [o["k"] for o in offsets] == [1, 3] and result["frames"] == len(rows)
    for o in offsets:
        column = [float(r[f"energy_k{o['k']}"]) for r in rows if r[f"energy_k{o['k']}"]]
        assert o["values"] == pytest.approx(column, abs=1e-4)
    assert result["result"]["times_s"] == pytest.approx([float(r["time_s"]) for r in rows])


def test_map(av_clip: Path, gen_ffmpeg: str, tmp_path: Path) -> None:
    result, _ = ffmotion("map", str(av_clip), "-o", str(tmp_path / "m.png"), "--ffmpeg",
                         gen_ffmpeg, "--json", cwd=tmp_path)
    assert result["outputs"][0]["role"] == "map" and result["result"]["legend"]


def test_batch(av_clip: Path, gen_ffmpeg: str, tmp_path: Path) -> None:
    (tmp_path / "broken.mp4").write_text("not a video")
    result, _ = ffmotion("batch", str(av_clip), str(tmp_path / "broken.mp4"), "-o",
                         str(tmp_path / "outs"), "--ffmpeg", gen_ffmpeg, "-q", "--json",
                         cwd=tmp_path, code=1)
    statuses = sorted(job["status"] for job in result["result"]["jobs"])
    assert statuses == ["done", "failed"] and result["error"] is None
    assert len(result["outputs"]) == 1 and result["outputs"][0]["bytes"] > 0


def test_looks(tmp_path: Path) -> None:
    result, _ = ffmotion("looks", "--json", cwd=tmp_path)
    names = {look["name"] for look in result["result"]["looks"]}
    assert {"classic", "trails", "matte"} <= names


def test_errors_are_reported(tmp_path: Path) -> None:
    result, err = ffmotion(str(tmp_path / "none.mp4"), str(tmp_path / "o.mp4"), "--json",
                           cwd=tmp_path, code=2)
    assert "not found" in result["error"] and f"ffmotion: error: {result['error']}" in err


@pytest.mark.parametrize("argv", [["in.mp4", "out.mp4", "--bogus"], ["sheet"],
                                  ["energy", "in.mp4", "--offsets", "--json"]])
def test_refused_by_argparse_still_reported(argv: list[str], tmp_path: Path) -> None:
    result, err = ffmotion(*argv, "--json", cwd=tmp_path, code=2)
    assert result["error"] and f"ffmotion: error: {result['error']}" in err
    assert result["command"] == ("run" if argv[0] == "in.mp4" else argv[0])


def test_no_report_where_json_is_not_an_option(tmp_path: Path) -> None:
    done = subprocess.run([sys.executable, "-m", "ffmotion", "completion", "--json"],
                          capture_output=True, text=True, cwd=tmp_path, timeout=60)
    assert done.returncode == 2 and done.stdout == "" and "ffmotion: error:" in done.stderr


@pytest.mark.parametrize("argv", [["IN", "-"], ["energy", "IN", "--csv", "-"],
                                  ["batch", "IN", "-o", "D", "--report", "-"]])
def test_stdout_is_the_reports_alone(argv: list[str], av_clip: Path, tmp_path: Path) -> None:
    argv = [str(av_clip) if a == "IN" else str(tmp_path / "d") if a == "D" else a for a in argv]
    result, _ = ffmotion(*argv, "--json", cwd=tmp_path, code=2)
    assert "--json writes its report on stdout" in result["error"]


def test_measure_rows_are_the_csv(av_clip: Path, gen_ffmpeg: str, tmp_path: Path) -> None:
    """measure --json: the report holds each frame's counts as the CSV has them, the sidecar
    is listed with its size, and no CSV goes to stdout."""
    table = tmp_path / "m.csv"
    result, _ = ffmotion("measure", str(av_clip), "--roi", "left=0,0,32,48", "--roi",
                         "right=32,0,32,48", "--csv", str(table), "--ffmpeg", gen_ffmpeg,
                         "--json", cwd=tmp_path)
    rows = list(csv.reader(io.StringIO(table.read_text())))
    assert result["result"]["columns"] == rows[0]
    assert [[str(c) for c in r] for r in result["result"]["rows"]] == rows[1:]
    assert result["frames"] == len(rows) - 1 > 0
    roles = {Path(o["path"]).name: (o["role"], o["bytes"]) for o in result["outputs"]}
    assert roles == {"m.csv": ("table", table.stat().st_size),
                     "m.csv.json": ("sidecar", (tmp_path / "m.csv.json").stat().st_size)}
    assert result["commands"] and result["commands"][0]["frames"] == result["frames"]
    # with no file asked the table is in the report only
    result, _ = ffmotion("measure", str(av_clip), "--roi", "all=0,0,64,48", "--ffmpeg",
                         gen_ffmpeg, "--json", cwd=tmp_path)
    assert result["outputs"] == [] and len(result["result"]["rows"]) == result["frames"]
