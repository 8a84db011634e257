"""``ffmotion ffmpeg ARGS``: the ffmpeg ffmotion uses, run with ARGS as given (the manual's plain
ffmpeg commands run this way on a machine whose only ffmpeg is the bundled one)."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from helpers import bundled_ffmpeg


def _run(args: list[str], cwd: Path, env_extra: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    env = {**os.environ, "PATH": os.path.dirname(sys.executable)}  # no ffmpeg on PATH
    env.pop("FFMOTION_FFMPEG", None)
    env.update(env_extra or {})
    return subprocess.run([sys.executable, "-m", "ffmotion", "ffmpeg", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=60)


def test_runs_the_bundled_ffmpeg_with_the_arguments_as_given(tmp_path: Path) -> None:
    done = _run(["-hide_banner", "-f", "lavfi", "-i", "testsrc2=s=32x24:d=0.2", "-frames:v", "3",
                 "-y", "out%02d.png"], tmp_path)
    assert done.returncode == 0, done.stderr
    assert sorted(p.name for p in tmp_path.glob("out*.png")) == ["out01.png", "out02.png",
                                                                  "out03.png"]
    assert "Traceback" not in done.stderr


def test_exit_status_and_messages_are_ffmpegs(tmp_path: Path) -> None:
    done = _run(["-hide_banner", "-i", str(tmp_path / "missing.mp4")], tmp_path)
    assert done.returncode != 0
    assert "No such file or directory" in done.stderr
    assert "Traceback" not in done.stderr


def test_the_binary_named_by_the_environment_is_used(tmp_path: Path) -> None:
    fake = tmp_path / "ffmpeg-wrapper"
    fake.write_text(f"#!/bin/sh\necho wrapped \"$@\"\nexec {bundled_ffmpeg()} \"$@\"\n")
    fake.chmod(0o755)
    done = _run(["-hide_banner", "-version"], tmp_path, {"FFMOTION_FFMPEG": str(fake)})
    assert done.returncode == 0
    assert done.stdout.startswith("wrapped -hide_banner -version")
