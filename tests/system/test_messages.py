"""What the user reads: summary lines, -q, names of URLs and of failed batch inputs, the HDR
warning, the subcommand list (issue 21's smaller items)."""
from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from ffmotion import cli

from helpers import bundled_ffmpeg, make_clip, run_ffmpeg


def ffmotion(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "ffmotion", *args], cwd=cwd,
                          capture_output=True, text=True, timeout=120)


def test_summary_says_how_long_it_took_and_counts_in_words(clips, tmp_path, capsys):
    src = clips["yuv420p"].path  # 36 frames
    assert cli.main([str(src), str(tmp_path / "one.mkv"), "-k", "35"]) == 0
    err = capsys.readouterr().err
    assert re.search(r"wrote \S+one\.mkv \(1 frame at 30 fps in \d+\.\d s\)", err), err
    assert cli.main([str(src), str(tmp_path / "many.mkv"), "-k", "2"]) == 0
    err = capsys.readouterr().err
    assert re.search(r"\(34 frames at 30 fps in \d+\.\d s\)", err), err


def test_quiet_silences_warnings_too(tmp_path):
    src = tmp_path / "interlaced.mp4"
    run_ffmpeg(bundled_ffmpeg(), "-f", "lavfi", "-i", "testsrc2=s=64x48:d=0.4,setfield=tff",
               "-flags", "+ilme+ildct", "-c:v", "libx264", "-x264-params", "interlaced=1",
               str(src))
    loud = ffmotion(str(src), "a.mp4", cwd=tmp_path)
    assert loud.returncode == 0 and "is interlaced" in loud.stderr
    quiet = ffmotion(str(src), "b.mp4", "-q", cwd=tmp_path)
    assert quiet.returncode == 0 and quiet.stderr == ""


def test_a_url_input_is_named_as_typed(tmp_path):
    done = ffmotion("http://127.0.0.1:9/live.ts", "out.mkv", cwd=tmp_path)
    assert done.returncode != 0
    assert "http://127.0.0.1:9/live.ts" in done.stderr and "http:/1" not in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1


def test_a_failed_batch_input_is_named_once(tmp_path):
    short = tmp_path / "short.mkv"
    make_clip(bundled_ffmpeg(), short, frames=5)
    done = ffmotion("batch", str(short), "-o", "out", "-k", "12", cwd=tmp_path)
    assert done.returncode == 1
    failed = [line for line in done.stderr.splitlines() if "FAILED" in line or "failed:" in line]
    assert len(failed) == 2, done.stderr
    assert all(line.count("short.mkv") == 1 for line in failed), failed


@pytest.fixture(scope="module")
def pq_clip(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("hdr") / "pq.mkv"
    run_ffmpeg(bundled_ffmpeg(), "-f", "lavfi", "-i", "testsrc2=s=64x48:d=0.4,setparams="
               "color_primaries=bt2020:color_trc=smpte2084:colorspace=bt2020nc",
               "-pix_fmt", "yuv420p10le", "-c:v", "ffv1", str(path))
    return path


def test_hdr_into_8_bit_output_is_warned_with_the_flags_that_keep_it(pq_clip, tmp_path):
    done = ffmotion(str(pq_clip), "out.mp4", cwd=tmp_path)
    assert done.returncode == 0
    warning = next(line for line in done.stderr.splitlines() if "HDR" in line)
    assert "PQ" in warning and "--codec libx265 --pix-fmt yuv420p10le" in warning
    flags = warning.split(" add ", 1)[1].split(" (or", 1)[0].split()
    kept = ffmotion(str(pq_clip), "kept.mp4", *flags, cwd=tmp_path)
    assert kept.returncode == 0 and "HDR" not in kept.stderr, kept.stderr
    probe = subprocess.run([bundled_ffmpeg(), "-hide_banner", "-i", str(tmp_path / "kept.mp4")],
                           capture_output=True, text=True)
    assert "yuv420p10le" in probe.stderr and "smpte2084" in probe.stderr
    lossless = ffmotion(str(pq_clip), "exact.mkv", "--lossless", cwd=tmp_path)
    assert lossless.returncode == 0 and "HDR" not in lossless.stderr


def test_help_lists_every_subcommand(capsys):
    with pytest.raises(SystemExit):
        cli.main(["--help"])
    text = " ".join(capsys.readouterr().out.split())
    for name in cli.SUBCOMMANDS:
        assert re.search(rf"\b{name} ", text), name
