"""Terminal manners, as a user's terminal sees them (the program on a pty): a progress bar
and colour on a terminal; neither with TERM=dumb; no colour with NO_COLOR; no escape
sequence at all when stderr/stdout is a pipe; widths follow the terminal's."""
from __future__ import annotations

import fcntl
import os
import re
import struct
import subprocess
import sys
import termios
from pathlib import Path

import pytest

from helpers import bundled_ffmpeg, make_clip

ESCAPES = re.compile(r"\x1b\[|\r(?!\n)")  # CSI sequences, a line redrawn in place


def on_pty(argv: list[str], env: dict[str, str], columns: int = 80) -> str:
    """Run ``ffmotion ARGV`` with stdout and stderr on a pty of ``columns``; all it wrote."""
    master, slave = os.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 24, columns, 0, 0))
    proc = subprocess.Popen([sys.executable, "-m", "ffmotion", *argv], stdin=subprocess.DEVNULL,
                            stdout=slave, stderr=slave, env=env)
    os.close(slave)
    chunks = []
    while True:
        try:
            data = os.read(master, 65536)
        except OSError:  # EIO: the child's side closed
            break
        if not data:
            break
        chunks.append(data)
    os.close(master)
    assert proc.wait(timeout=120) == 0
    return b"".join(chunks).decode("utf-8", "replace")


@pytest.fixture()
def env(tmp_path: Path) -> dict[str, str]:
    base = {k: v for k, v in os.environ.items() if k not in ("NO_COLOR", "COLUMNS", "LINES")}
    return {**base, "FFMOTION_CACHE": str(tmp_path / "cache"), "TERM": "xterm-256color",
            "FFMOTION_FFMPEG": bundled_ffmpeg()}


@pytest.fixture(scope="module")
def clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("terminal") / "in.mkv"
    make_clip(bundled_ffmpeg(), path, frames=90)
    return path


def test_a_terminal_gets_the_bar_dumb_or_a_pipe_none(clip: Path, env: dict[str, str],
                                                      tmp_path: Path) -> None:
    argv = [str(clip), str(tmp_path / "out.mp4"), "-k", "2", "-y"]
    assert ESCAPES.search(on_pty(argv, env))  # the bar, redrawn in place (not a \r\n)
    dumb = on_pty(argv, {**env, "TERM": "dumb"})
    assert not ESCAPES.search(dumb) and "wrote" in dumb
    piped = subprocess.run([sys.executable, "-m", "ffmotion", *argv], capture_output=True,
                           text=True, env=env, timeout=120)
    assert piped.returncode == 0 and not ESCAPES.search(piped.stderr + piped.stdout)


def test_doctor_colour_unless_no_color_or_dumb_and_its_width(env: dict[str, str]) -> None:
    coloured = on_pty(["doctor"], env, columns=60)
    assert "\x1b[32mok     \x1b[0m" in coloured
    for other in ({**env, "NO_COLOR": "1"}, {**env, "TERM": "dumb"}):
        assert not ESCAPES.search(on_pty(["doctor"], other, columns=60))
    plain = re.sub(r"\x1b\[[0-9;]*m", "", coloured)
    features = plain[plain.index("features:"):plain.index("cameras:")].splitlines()[1:]
    assert features and max(len(line.rstrip("\r")) for line in features) <= 60
    wide = on_pty(["doctor"], {**env, "NO_COLOR": "1"}, columns=150)
    assert len(wide.splitlines()) < len(plain.splitlines())  # fewer lines wrapped
