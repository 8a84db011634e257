"""``ffmotion magnify`` and ``ffmotion spectrum`` as a user runs them: one clear line for a
bad band, alpha or level count (before ffmpeg starts, nothing written), --print-command runs
as printed and writes the same bytes, the safe-write rule, the band finder."""
from __future__ import annotations

import shlex
import subprocess
import sys
from pathlib import Path

import magnify_reference as model
import pytest

from helpers import bundled_ffmpeg, run_ffmpeg

FPS = 30


def ffmotion(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "ffmotion", *args], cwd=cwd,
                          capture_output=True, text=True, timeout=120)


@pytest.fixture(scope="module")
def clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """2 s of 96x64 H.264 with AAC: an ordinary camera-like file."""
    path = tmp_path_factory.mktemp("magnify") / "clip.mp4"
    run_ffmpeg(bundled_ffmpeg(), "-f", "lavfi", "-i", f"testsrc2=s=96x64:r={FPS}:d=2",
               "-f", "lavfi", "-i", "sine=f=440:d=2", "-c:v", "libx264", "-pix_fmt", "yuv420p",
               "-c:a", "aac", "-shortest", str(path))
    return path


@pytest.mark.parametrize("flags, words", [
    (("--alpha", "10", "--band", "2-15"), "--band 2-15 Hz: the high edge must be below half "
                                          "the frame rate (15 Hz at 30 fps)"),
    (("--alpha", "10", "--band", "3-2"), "--band must be LOW-HIGH with 0 < LOW < HIGH"),
    (("--alpha", "0", "--band", "2-4"), "--alpha must be more than 0"),
    (("--alpha", "ten", "--band", "2-4"), "--alpha"),
    (("--alpha", "10", "--band", "2-4", "--levels", "5", "--mode", "color"),
     "--levels 5: a picture of 96x64 allows at most 3"),  # chroma planes 48x32
    (("--alpha", "10", "--band", "0.2-1"), "needs a clip of at least"),
])
def test_bad_values_one_line(clip: Path, tmp_path: Path, flags: tuple, words: str) -> None:
    done = ffmotion("magnify", str(clip), "out.mp4", *flags, cwd=tmp_path)
    assert done.returncode == 2, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("ffmotion: error:"), done.stderr
    assert words in lines[0], lines[0]
    assert not (tmp_path / "out.mp4").exists() and list(tmp_path.iterdir()) == []


def test_print_command_runs_as_printed(clip: Path, tmp_path: Path) -> None:
    flags = ("--alpha", "15", "--band", "2-5", "--start", "0.2", "--end", "1.9",
             "--lambda-cutoff", "16", "--crf", "20")
    done = ffmotion("magnify", str(clip), "ran.mp4", *flags, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    printed = ffmotion("magnify", str(clip), "printed.mp4", *flags, "--print-command",
                       cwd=tmp_path)
    assert printed.returncode == 0 and not (tmp_path / "printed.mp4").exists()
    shell = subprocess.run(printed.stdout, shell=True, cwd=tmp_path, capture_output=True)
    assert shell.returncode == 0, shell.stderr[-500:]
    assert (tmp_path / "ran.mp4").read_bytes() == (tmp_path / "printed.mp4").read_bytes()
    argv = shlex.split(printed.stdout)
    assert "tmix" in argv[argv.index("-filter_complex") + 1]
    frames = subprocess.run([bundled_ffmpeg(), "-v", "error", "-i", str(tmp_path / "ran.mp4"),
                             "-map", "0:v", "-f", "framecrc", "-"], capture_output=True,
                            text=True, check=True).stdout
    assert sum(1 for line in frames.splitlines() if line.startswith("0,")) == 51  # 0.2-1.9 s
    audio = subprocess.run([bundled_ffmpeg(), "-v", "error", "-i", str(tmp_path / "ran.mp4"),
                            "-map", "0:a", "-f", "null", "-"], capture_output=True)
    assert audio.returncode == 0  # the sound is kept


def test_overwrite_rule(clip: Path, tmp_path: Path) -> None:
    (tmp_path / "out.mp4").write_bytes(b"keep")
    done = ffmotion("magnify", str(clip), "out.mp4", "--alpha", "5", "--band", "2-5",
                    cwd=tmp_path)
    assert done.returncode != 0 and "exists" in done.stderr
    assert (tmp_path / "out.mp4").read_bytes() == b"keep"
    again = ffmotion("magnify", str(clip), "out.mp4", "--alpha", "5", "--band", "2-5", "-y",
                     "-q", cwd=tmp_path)
    assert again.returncode == 0 and (tmp_path / "out.mp4").stat().st_size > 1000
    same = ffmotion("magnify", str(clip), str(clip), "--alpha", "5", "--band", "2-5", "-y",
                    cwd=tmp_path)
    assert same.returncode == 2 and len(same.stderr.strip().splitlines()) == 1


def test_stabilize_warns_about_the_camera(clip: Path, tmp_path: Path) -> None:
    done = ffmotion("magnify", str(clip), "out.mp4", "--alpha", "5", "--band", "2-5",
                    "--stabilize", "--stabilize-smoothing", "0", "--print-command",
                    cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "magnification needs a still camera" in done.stderr
    assert "vidstabtransform" in done.stdout or "deshake" in done.stdout


def test_spectrum_finds_7_hz(tmp_path: Path) -> None:
    """A blob oscillating at 7 Hz, 30 fps, 150 frames (bins of 0.2 Hz): the peak within a
    bin, and a band around it that magnify takes."""
    frames = model.blob_clip(150, FPS, 7.0, 0.3, (96, 64))
    model.write_y4m_gray(str(tmp_path / "seven.y4m"), frames, FPS)
    done = ffmotion("spectrum", "seven.y4m", "--roi", "40,20,20,24", "--csv", "s.csv",
                    cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    peak = next(line for line in done.stderr.splitlines() if " peak " in line)
    hz = float(peak.split(" peak ")[1].split(" Hz")[0])
    assert abs(hz - 7.0) <= FPS / 150, peak
    assert "suggested: --band 4.9-9.1" in done.stderr
    rows = (tmp_path / "s.csv").read_text().splitlines()
    assert rows[0] == "frequency_hz,amplitude" and len(rows) == 1 + 76
    again = ffmotion("spectrum", "seven.y4m", "--csv", "s.csv", cwd=tmp_path)
    assert again.returncode != 0 and "exists" in again.stderr  # the safe-write rule
    bad = ffmotion("spectrum", "seven.y4m", "--roi", "90,0,20,20", cwd=tmp_path)
    assert bad.returncode == 2 and "reaches past the picture (96x64)" in bad.stderr


def test_batch_magnifies_every_input(clip: Path, tmp_path: Path) -> None:
    """``ffmotion batch --magnify-alpha A --magnify-band LO-HI``: each input magnified, named
    {stem}_magnified{ext}, the same bytes as ffmotion magnify writes; the report has the argv."""
    other = tmp_path / "other.mp4"
    other.write_bytes(clip.read_bytes())
    done = ffmotion("batch", str(clip), str(other), "-o", "out", "--magnify-alpha", "6",
                    "--magnify-band", "2-5", "--report", "report.json", "-q", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    made = sorted(p.name for p in (tmp_path / "out").iterdir())
    assert made == ["clip_magnified.mp4", "other_magnified.mp4"]
    single = ffmotion("magnify", str(clip), "single.mp4", "--alpha", "6", "--band", "2-5",
                      "-q", cwd=tmp_path)
    assert single.returncode == 0
    assert (tmp_path / "out" / "clip_magnified.mp4").read_bytes() == \
        (tmp_path / "single.mp4").read_bytes()
    assert "tmix" in (tmp_path / "report.json").read_text()
    half = ffmotion("batch", str(clip), "-o", "out2", "--magnify-alpha", "6", cwd=tmp_path)
    assert half.returncode == 2 and "--magnify-alpha and --magnify-band go together" in half.stderr
    # --skip-finest: the same bytes as the single run with it, and not those without it
    fast = ffmotion("batch", str(clip), "-o", "out3", "--magnify-alpha", "6", "--magnify-band",
                    "2-5", "--skip-finest", "-q", cwd=tmp_path)
    assert fast.returncode == 0, fast.stderr
    single = ffmotion("magnify", str(clip), "fast.mp4", "--alpha", "6", "--band", "2-5",
                      "--skip-finest", "-q", cwd=tmp_path)
    assert single.returncode == 0, single.stderr
    made = (tmp_path / "out3" / "clip_magnified.mp4").read_bytes()
    assert made == (tmp_path / "fast.mp4").read_bytes()
    assert made != (tmp_path / "single.mp4").read_bytes()
    alone = ffmotion("batch", str(clip), "-o", "out4", "--skip-finest", cwd=tmp_path)
    assert alone.returncode == 2 and "--skip-finest needs --magnify-alpha" in alone.stderr


def test_library_entry_points(clip: Path, tmp_path: Path) -> None:
    import ffmotion

    done = ffmotion.magnify(clip, tmp_path / "lib.mp4", 5, (2, 5))
    assert done.frames == 60 and (tmp_path / "lib.mp4").exists()
    line = ffmotion.magnify(clip, tmp_path / "p.mp4", 5, "2-5", print_command=True)
    assert "tmix" in line and not (tmp_path / "p.mp4").exists()
    found = ffmotion.spectrum(clip, "0,0,32,32")
    assert len(found.means) == 60 and found.fps == 30


def test_json_and_progress(clip: Path, tmp_path: Path) -> None:
    """--json: one object on stdout (the file with its size, the frames, the design, the
    command that ran); --progress json with -q: only JSON lines on stderr, the last one done."""
    import json

    done = ffmotion("magnify", str(clip), "out.mp4", "--alpha", "5", "--band", "2-5", "-q",
                    "--json", "--progress", "json", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    (line,) = done.stdout.splitlines()
    result = json.loads(line)
    out = tmp_path / "out.mp4"
    assert result["command"] == "magnify" and result["ok"] is True
    assert result["outputs"] == [{"path": str(out), "role": "magnified", "streamed": False,
                                  "bytes": out.stat().st_size}]
    assert result["frames"] == 60 and result["result"]["band_hz"] == [2, 5]
    assert result["result"]["taps"] == 2 * result["result"]["delay_frames"] + 1
    assert len(result["commands"]) == 1 and result["commands"][0]["frames"] == 60
    progress = [json.loads(text) for text in done.stderr.splitlines()]
    assert progress and progress[-1]["done"] and progress[-1]["frame"] == 60


def test_spectrum_json(tmp_path: Path) -> None:
    import json

    model.write_y4m_gray(str(tmp_path / "seven.y4m"), model.blob_clip(150, FPS, 7.0, 0.3,
                                                                      (96, 64)), FPS)
    done = ffmotion("spectrum", "seven.y4m", "--roi", "40,20,20,24", "--json", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    peak = result["result"]["peaks"][0]["hz"]
    assert abs(peak - 7.0) <= result["result"]["resolution_hz"]
    assert result["frames"] == 150 and result["result"]["suggested_band_hz"] == [4.9, 9.1]
