"""Which ffmpeg is used: --ffmpeg, then $FFMOTION_FFMPEG, then PATH, then imageio-ffmpeg's."""
from __future__ import annotations

import os
import stat
from pathlib import Path

import imageio_ffmpeg
import pytest

from ffmotion.core.errors import ToolError
from ffmotion.run import binaries, runner


def fake_ffmpeg(folder: Path, name: str = "ffmpeg") -> Path:
    """A wrapper script that runs the real (bundled) ffmpeg."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(f'#!/bin/sh\nexec "{imageio_ffmpeg.get_ffmpeg_exe()}" "$@"\n')
    path.chmod(path.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    return path


def test_order(tmp_path, monkeypatch):
    explicit = fake_ffmpeg(tmp_path / "explicit")
    from_env = fake_ffmpeg(tmp_path / "env")
    on_path = fake_ffmpeg(tmp_path / "path")
    monkeypatch.setenv("PATH", str(on_path.parent))
    monkeypatch.setenv(binaries.ENV_VAR, str(from_env))
    assert binaries.locate_ffmpeg(str(explicit)) == binaries.Located(str(explicit), "--ffmpeg")
    assert binaries.locate_ffmpeg() == binaries.Located(str(from_env), binaries.ENV_VAR)
    monkeypatch.delenv(binaries.ENV_VAR)
    assert binaries.locate_ffmpeg() == binaries.Located(str(on_path), "PATH")
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    found = binaries.locate_ffmpeg()
    assert found.source == "imageio-ffmpeg"
    assert os.path.samefile(found.path, imageio_ffmpeg.get_ffmpeg_exe())


def test_named_binary_that_does_not_exist_is_an_error(tmp_path, monkeypatch):
    with pytest.raises(ToolError, match="named by ffmpeg "):  # the field (the CLI: --ffmpeg)
        binaries.locate_ffmpeg(str(tmp_path / "nope"))
    monkeypatch.setenv(binaries.ENV_VAR, str(tmp_path / "nope"))
    with pytest.raises(ToolError, match=binaries.ENV_VAR):
        binaries.locate_ffmpeg()


def test_ffprobe_beside_ffmpeg_is_preferred(tmp_path, monkeypatch):
    ffmpeg = fake_ffmpeg(tmp_path / "bin")
    ffprobe = fake_ffmpeg(tmp_path / "bin", "ffprobe")
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    assert binaries.locate_ffprobe(str(ffmpeg)) == str(ffprobe)
    assert binaries.locate_ffprobe(imageio_ffmpeg.get_ffmpeg_exe()) is None


def test_tools_verifies_the_binary(tmp_path):
    broken = tmp_path / "ffmpeg"
    broken.write_text("#!/bin/sh\nexit 3\n")
    broken.chmod(0o755)
    with pytest.raises(ToolError, match="does not look like a working ffmpeg"):
        runner.tools(str(broken))
    good = runner.tools(imageio_ffmpeg.get_ffmpeg_exe())
    assert good.version and good.source == "--ffmpeg"


def test_binary_facts_are_remembered_per_binary(tmp_path, monkeypatch):
    """One -encoders run checks a binary, gives its version and encoders; a later run of
    ffmotion trusts what it found until the binary changes."""
    monkeypatch.setenv("FFMOTION_CACHE", str(tmp_path / "cache"))
    calls = tmp_path / "calls"
    fake = tmp_path / "bin" / "ffmpeg"
    fake.parent.mkdir()
    fake.write_text(f'#!/bin/sh\necho "$@" >> "{calls}"\n'
                    'echo "ffmpeg version 7.7-fake Copyright" >&2\n'
                    "printf ' ------\\n V....D libx264 H.264\\n A....D aac AAC\\n'\n")
    fake.chmod(0o755)

    def fresh() -> runner.Tools:
        runner._banner_and_encoders.cache_clear()  # as in a new process
        return runner.tools(str(fake))

    found = fresh()
    runner.remember_checked()  # what the command line does after a command succeeded
    assert found.version == "7.7-fake"
    assert runner.encoders(str(fake)) == frozenset({"libx264", "aac"})
    assert calls.read_text().split() == ["-nostdin", "-encoders"]
    assert fresh().version == "7.7-fake" and runner.encoders(str(fake)) == {"libx264", "aac"}
    assert len(calls.read_text().splitlines()) == 1  # remembered: not run again
    os.utime(fake, ns=(1, 1))  # a replaced binary is checked again
    fresh()
    runner.remember_checked()
    assert len(calls.read_text().splitlines()) == 2
    real = runner.tools(imageio_ffmpeg.get_ffmpeg_exe())
    assert "libx264" in runner.encoders(real.ffmpeg) and real.version[0] in "n0123456789"
