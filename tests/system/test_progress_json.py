"""``--progress json``: one JSON line per progress report on stderr, for wrappers; ``-q``
silences the messages but not the progress that was asked for; stdout stays free."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any


def run(*argv: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    done = subprocess.run([sys.executable, "-m", "ffmotion", *argv], capture_output=True,
                          text=True, cwd=cwd, timeout=300)
    assert done.returncode == 0, done.stderr
    return done


def lines(stderr: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in stderr.splitlines() if line.startswith("{")]


def test_quiet_json_progress_only(av_clip: Path, gen_ffmpeg: str, tmp_path: Path) -> None:
    done = run(str(av_clip), str(tmp_path / "o.mp4"), "-k", "3", "--ffmpeg", gen_ffmpeg,
               "-q", "--progress", "json", cwd=tmp_path)
    assert done.stdout == ""
    reports = lines(done.stderr)
    assert len(reports) == len(done.stderr.splitlines()) >= 1  # nothing but JSON lines
    last = reports[-1]
    assert last["event"] == "progress" and last["done"] is True
    assert last["frame"] == last["total"] == 33 and last["percent"] == 100.0
    assert last["eta_s"] == 0.0 and last["fps"] > 0
    for report in reports:
        assert set(report) == {"event", "run", "frame", "total", "percent", "fps", "eta_s",
                               "elapsed_s", "speed", "done"}


def test_messages_beside_the_progress(av_clip: Path, gen_ffmpeg: str, tmp_path: Path) -> None:
    done = run(str(av_clip), str(tmp_path / "o.mp4"), "--ffmpeg", gen_ffmpeg, "--progress",
               "json", cwd=tmp_path)
    text = [line for line in done.stderr.splitlines() if not line.startswith("{")]
    assert any(line.startswith("ffmotion: wrote") for line in text)
    assert lines(done.stderr)[-1]["done"]


def test_quiet_alone_is_silent(av_clip: Path, gen_ffmpeg: str, tmp_path: Path) -> None:
    done = run(str(av_clip), str(tmp_path / "o.mp4"), "--ffmpeg", gen_ffmpeg, "-q",
               cwd=tmp_path)
    assert done.stderr == "" and done.stdout == ""


def test_every_run_of_a_batch(av_clip: Path, gen_ffmpeg: str, tmp_path: Path) -> None:
    second = tmp_path / "second.mp4"
    second.write_bytes(av_clip.read_bytes())
    done = run("batch", str(av_clip), str(second), "-o", str(tmp_path / "outs"), "--ffmpeg",
               gen_ffmpeg, "-q", "--progress", "json", cwd=tmp_path)
    ends = [r for r in lines(done.stderr) if r["done"]]
    assert len({r["run"] for r in ends}) == 2 and all(r["frame"] == 35 for r in ends)


def test_explorers_report_too(av_clip: Path, gen_ffmpeg: str, tmp_path: Path) -> None:
    done = run("energy", str(av_clip), "--csv", str(tmp_path / "e.csv"), "--ffmpeg",
               gen_ffmpeg, "-q", "--progress", "json", cwd=tmp_path)
    assert lines(done.stderr)[-1]["done"]


def test_measure_reports_too(av_clip: Path, gen_ffmpeg: str, tmp_path: Path) -> None:
    """measure reads ffmpeg's frames itself: its count reaches --progress json as the
    runner's -progress reports do."""
    done = run("measure", str(av_clip), "--roi", "all=0,0,64,48", "--csv",
               str(tmp_path / "m.csv"), "--ffmpeg", gen_ffmpeg, "-q", "--progress", "json",
               cwd=tmp_path)
    reports = lines(done.stderr)
    assert len(reports) == len(done.stderr.splitlines()) >= 1
    assert reports[-1]["done"] and reports[-1]["frame"] == reports[-1]["total"] > 0
