"""The subprocess chokepoint: progress, atomic output, failures."""
from __future__ import annotations

from pathlib import Path

import pytest

from ffmotion.core.errors import FFmpegFailed, UsageError
from ffmotion.run import runner


def lavfi_argv(ffmpeg: str, dst: Path, frames: int = 20) -> list[str]:
    return [ffmpeg, "-hide_banner", "-nostdin", "-y", "-f", "lavfi", "-i",
            f"testsrc2=s=64x48:r=30:d={frames / 30}", "-c:v", "ffv1", str(dst)]


def test_progress_reports_frames_up_to_the_total(gen_ffmpeg, tmp_path, capsys):
    seen: list[int] = []
    runner.run_ffmpeg(lavfi_argv(gen_ffmpeg, tmp_path / "o.mkv"), total_frames=20,
                      progress=True, on_frames=seen.append)
    assert seen and seen[-1] == 20 and seen == sorted(seen)
    assert "/20 frames" in capsys.readouterr().err  # the bar, forced on without a terminal


def test_atomic_output_commits_only_on_success(gen_ffmpeg, tmp_path):
    dst = tmp_path / "o.mkv"
    with runner.atomic_output(dst, overwrite=False) as tmp:
        assert tmp.parent == tmp_path and runner.TEMP_MARK in tmp.name and tmp.suffix == ".mkv"
        runner.run_ffmpeg(lavfi_argv(gen_ffmpeg, tmp))
    assert dst.stat().st_size > 0 and [p.name for p in tmp_path.iterdir()] == ["o.mkv"]

    failing = tmp_path / "f.mkv"
    with pytest.raises(FFmpegFailed, match="ffmpeg failed"):
        with runner.atomic_output(failing, overwrite=False) as tmp:
            runner.run_ffmpeg([gen_ffmpeg, "-hide_banner", "-nostdin", "-y", "-i",
                               str(tmp_path / "missing.mkv"), str(tmp)])
    assert [p.name for p in tmp_path.iterdir()] == ["o.mkv"]


def test_atomic_output_never_clobbers(tmp_path):
    dst = tmp_path / "o.mkv"
    dst.write_bytes(b"precious")
    with pytest.raises(UsageError, match="use overwrite to replace"):  # the CLI: --overwrite
        with runner.atomic_output(dst, overwrite=False):
            pass
    # appearing while we work: still not replaced
    other = tmp_path / "p.mkv"
    with pytest.raises(UsageError, match="use overwrite to replace"):  # the CLI: --overwrite
        with runner.atomic_output(other, overwrite=False) as tmp:
            tmp.write_bytes(b"new")
            other.write_bytes(b"someone else's")
    assert other.read_bytes() == b"someone else's" and dst.read_bytes() == b"precious"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["o.mkv", "p.mkv"]


def test_reading_stops_early_without_error(gen_ffmpeg, tmp_path):
    argv = [gen_ffmpeg, "-hide_banner", "-nostdin", "-f", "lavfi", "-i", "testsrc2=d=30",
            "-f", "rawvideo", "-"]
    with runner.reading(argv) as stdout:
        assert len(stdout.read(1000)) == 1000  # then leave: the child is killed, no error
