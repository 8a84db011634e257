"""Saved look presets: save -> list -> use round trip, precedence, bad files as one line."""
from __future__ import annotations

import os
import subprocess
import sys
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest

from ffmotion.core.errors import UsageError
from ffmotion.core.looks import Look
from ffmotion.pipeline import presets

from helpers import decode


def run(env_home: Path, *args: str, cwd: Path | None = None) -> tuple[int, str, str]:
    env = dict(os.environ, XDG_CONFIG_HOME=str(env_home))
    done = subprocess.run([sys.executable, "-m", "ffmotion", *args], capture_output=True,
                          text=True, timeout=300, env=env, cwd=cwd)
    return done.returncode, done.stdout, done.stderr


@pytest.fixture
def home(tmp_path, monkeypatch) -> Path:
    config = tmp_path / "config"
    monkeypatch.setenv("XDG_CONFIG_HOME", str(config))
    return config


def test_save_list_use_round_trip(home, clips, gen_ffmpeg, tmp_path):
    code, _, err = run(home, "looks", "--save", "soft", "--mode", "difference", "--gain", "2.5",
                       "--threshold", "5", "--description", 'with "quotes" \\ and more')
    assert code == 0, err
    saved = home / "ffmotion" / "looks.toml"
    assert saved.is_file()
    code, out, _ = run(home, "looks")
    line = next(row for row in out.splitlines() if row.startswith("soft "))
    assert 'with "quotes" \\ and more' in line and str(saved) in line
    assert "--mode difference --gain 2.5 --threshold 5" in line
    assert presets.load_file(saved)["soft"].look == Look(blend="difference", gain=Fraction(5, 2),
                                                          threshold=5)
    # used: the same pixels as the flags themselves
    clip = clips["yuv420p"]
    a, b = tmp_path / "a.mkv", tmp_path / "b.mkv"
    assert run(home, str(clip.path), str(a), "-k", "1", "--lossless", "--look", "soft")[0] == 0
    assert run(home, str(clip.path), str(b), "-k", "1", "--lossless", "--mode",
               "difference", "--gain", "2.5", "--threshold", "5")[0] == 0
    fa, fb = (decode(gen_ffmpeg, p, "yuv420p", clip.size) for p in (a, b))
    assert len(fa) == len(fb) > 0
    assert all(np.array_equal(x, y) for f, g in zip(fa, fb) for x, y in zip(f, g))


def test_save_refuses_overwrite_and_keeps_other_presets(home):
    assert run(home, "looks", "--save", "one", "--gain", "2")[0] == 0
    assert run(home, "looks", "--save", "two", "--blur", "1")[0] == 0
    code, _, err = run(home, "looks", "--save", "one", "--gain", "3")
    assert code == 2 and "--overwrite" in err and len(err.strip().splitlines()) == 1
    assert run(home, "looks", "--save", "one", "--gain", "3", "--overwrite")[0] == 0
    found = presets.load_file(home / "ffmotion" / "looks.toml")
    assert found["one"].look == Look(gain=3) and found["two"].look == Look(blur=1)


def test_project_overrides_user_overrides_builtin(home, tmp_path):
    project = tmp_path / "shoot"
    project.mkdir()
    clip = project / "clip.mp4"
    clip.write_bytes(b"")
    assert presets.resolve("amplified", clip) == Look(gain=4, blur=1)  # built-in
    presets.save(presets.user_file(), "amplified", Look(gain=6))
    assert presets.resolve("amplified", clip) == Look(gain=6)
    presets.save(project / "ffmotion.toml", "amplified", Look(gain=8), "project's")
    assert presets.resolve("amplified", clip) == Look(gain=8)
    assert presets.resolve("amplified", clip, blur=2) == Look(gain=8, blur=2)
    assert presets.available(clip)["amplified"].source == str(project / "ffmotion.toml")
    assert presets.resolve("amplified", None) == Look(gain=6)


@pytest.mark.parametrize("text, line, words", [
    ("[looks.a]\ngain = 2\nblur = \"x\"\n", 3, "blur must be a whole number"),
    ("[looks.a]\ngain = 2\n\n[looks.b]\ncolour = 1\n", 5, "unknown key 'colour'"),
    ("[looks.a]\ngain = 2\n[looks.b\n", 3, "]"),
    ("[looks.a]\ntrail = 3\n", 2, "--trail must be a number from 0 to 1"),
    ("[looks.a]\nmode = \"fancy\"\n", 2, "--mode must be one of"),
])
def test_bad_file_gives_one_line_with_file_and_line(home, tmp_path, text, line, words):
    path = home / "ffmotion" / "looks.toml"
    path.parent.mkdir(parents=True)
    path.write_text(text)
    with pytest.raises(UsageError) as caught:
        presets.available()
    assert str(caught.value).startswith(f"{path}:{line}: ") and words in str(caught.value)
    code, out, err = run(home, "looks")
    assert code == 2 and out == ""
    assert err.strip() == f"ffmotion: error: {caught.value}"


def test_toml_written_is_safe_for_odd_descriptions(home):
    odd = 'tab\tquote" backslash\\ newline\n [looks.evil]'
    presets.save(presets.user_file(), "odd", Look(overlay=0.5), odd)
    assert presets.load_file(presets.user_file())["odd"].description == odd
    assert set(presets.load_file(presets.user_file())) == {"odd"}
