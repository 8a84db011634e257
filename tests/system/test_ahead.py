"""Probing ahead (ffmotion.run.ahead): the program starts the input's probe before its
imports; the run uses it only where it is the very command the probe makes, and nothing
started ahead outlives the run.

The time it saves is measured in ``benchmarks/bench.py --sections startup``, not here.
"""
from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from ffmotion import cli, launch
from ffmotion.core.source import Source
from ffmotion.media.probe_commands import header_argv, packets_argv
from ffmotion.run import ahead

from helpers import make_clip


def _program(*args: str, cwd: Path | None = None,
             env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """``python -m ffmotion ARGS``: ffmotion as the program, as a user starts it."""
    return subprocess.run([sys.executable, "-m", "ffmotion", *args], capture_output=True,
                          text=True, timeout=120, cwd=cwd,
                          env=None if env is None else {**os.environ, **env})


def _python(code: str, *args: str) -> subprocess.CompletedProcess[str]:
    """``python -c CODE ARGS`` in a fresh interpreter."""
    return subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True,
                          timeout=120)


@pytest.fixture(scope="module")
def ts_clip(tmp_path_factory: pytest.TempPathFactory, gen_ffmpeg: str) -> Path:
    return make_clip(gen_ffmpeg, tmp_path_factory.mktemp("ts") / "clip.ts", codec="libx264")


def test_guess_is_the_probe_command(av_clip: Path, ts_clip: Path, gen_ffmpeg: str,
                                    tmp_path: Path) -> None:
    """The guess is the first word naming a regular file, probed the way probe.py probes it:
    an MP4 by its header (packets from the index), anything else by its packet listing."""
    out = str(tmp_path / "out.mp4")
    ff = ["--ffmpeg", gen_ffmpeg]
    assert launch.guess([str(av_clip), out, "-k", "2", *ff]) == header_argv(gen_ffmpeg, av_clip)
    assert launch.guess(["-k", "2", *ff, str(ts_clip), out]) == packets_argv(
        gen_ffmpeg, Source.file(ts_clip))
    # the literal argv: a word like an image2 pattern is read as a plain name, as probe.py does
    assert header_argv(gen_ffmpeg, av_clip)[-2:] == ["-i", str(av_clip)]


def test_guess_skips_option_values_and_uses_the_named_ffmpeg(av_clip: Path, gen_ffmpeg: str,
                                                             tmp_path: Path) -> None:
    look = tmp_path / "mine.toml"
    look.write_text("[look]\n")
    named = tmp_path / "ffmpeg-link"
    named.symlink_to(gen_ffmpeg)
    got = launch.guess([f"--ffmpeg={named}", "--look", str(look), str(av_clip), "out.mp4"])
    assert got == header_argv(str(named), av_clip)
    got = launch.guess(["--ffmpeg", str(named), str(av_clip), "out.mp4"])
    assert got is not None and got[0] == str(named)


def test_no_guess_where_reading_ahead_could_hurt(tmp_path: Path, av_clip: Path) -> None:
    fifo = tmp_path / "pipe.mp4"
    os.mkfifo(fifo)
    assert launch.guess([str(fifo), "out.mp4"]) is None  # ffmpeg would take what it reads
    assert launch.guess([str(tmp_path / "missing.mp4"), "out.mp4"]) is None
    assert launch.guess([str(tmp_path), "out.mp4"]) is None  # a folder: an image sequence
    assert launch.guess(["-", "out.mp4"]) is None
    assert launch.guess(["batch", str(av_clip)], ["batch", "sheet"], ["sheet"]) is None
    assert launch.guess(["--", str(av_clip), "out.mp4"]) is None
    assert launch.guess([str(av_clip), "out.mp4", "--ffmpeg", str(tmp_path / "no-ffmpeg")]) is None


def test_launcher_knows_every_subcommand() -> None:
    assert set(launch.SUBCOMMANDS) == set(cli.SUBCOMMANDS)
    assert set(launch.PROBING) < set(launch.SUBCOMMANDS)


def test_program_uses_the_probe_started_ahead(av_clip: Path, gen_ffmpeg: str,
                                              tmp_path: Path) -> None:
    """As the program, the probe's ffmpeg is the one started ahead, and the printed command
    is the one a call of ``cli.main(argv)`` (which starts nothing ahead) prints."""
    args = [str(av_clip), str(tmp_path / "out.mp4"), "-k", "3", "--ffmpeg", gen_ffmpeg,
            "--print-command"]
    done = _program(*args, "-vv")
    assert done.returncode == 0, done.stderr
    assert "(started ahead, during the imports)" in done.stderr
    assert "not the probe this run made" not in done.stderr
    in_process = _python("import sys; from ffmotion.cli import main; "
                         "sys.exit(main(sys.argv[1:]))", *args, "-vv")
    assert in_process.returncode == 0, in_process.stderr
    assert "started ahead" not in in_process.stderr
    assert done.stdout == in_process.stdout and "blend" in done.stdout


def test_a_wrong_guess_is_stopped_and_the_run_probes_its_own(av_clip: Path, gen_ffmpeg: str,
                                                             tmp_path: Path) -> None:
    """A file named like the offset's value: the guess probes it, the run probes its input
    with its own ffmpeg, and the guess is stopped as soon as the probe is done."""
    (tmp_path / "3").write_bytes(b"not a video")
    done = _program("-k", "3", str(av_clip), "out.mp4", "--ffmpeg", gen_ffmpeg,
                    "--print-command", "-vv", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "started ahead" not in done.stderr
    stopped = [line for line in done.stderr.splitlines() if "not the probe this run made" in line]
    assert len(stopped) == 1 and stopped[0].endswith(" -i 3 -map '0:v?' -c copy -f framecrc -")
    assert "blend" in done.stdout


def _ffmpeg_reading(path: Path) -> list[str]:
    """ffmpeg processes whose command line names ``path``."""
    found = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            words = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if any(str(path).encode() == w for w in words) and b"ffmpeg" in words[0]:
            found.append(pid)
    return found


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_nothing_started_ahead_outlives_a_run_that_stops_early(tmp_path: Path,
                                                                gen_ffmpeg: str) -> None:
    """A long input whose probe is started ahead, then a usage error before the probe: the
    run exits 2 at once and leaves no ffmpeg behind."""
    # a 60 s MPEG-TS: its packet listing runs far longer than the run takes to fail
    long_ts = tmp_path / "long.ts"
    subprocess.run([gen_ffmpeg, "-v", "error", "-f", "lavfi", "-i",
                    "testsrc2=s=320x240:r=30:d=60", "-c:v", "mpeg2video", "-q:v", "20",
                    str(long_ts)], check=True, timeout=120)
    assert launch.guess([str(long_ts), "out.mp4", "--ffmpeg", gen_ffmpeg]) is not None
    done = _program(str(long_ts), str(tmp_path / "out.mp4"), "--ffmpeg", gen_ffmpeg,
                    "--offset", "banana")
    assert done.returncode == 2 and done.stderr.count("\n") == 1, done.stderr
    deadline = time.monotonic() + 5
    while _ffmpeg_reading(long_ts) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert _ffmpeg_reading(long_ts) == []


def test_cli_main_as_a_function_starts_nothing_ahead(av_clip: Path, gen_ffmpeg: str,
                                                     tmp_path: Path) -> None:
    code = cli.main([str(av_clip), str(tmp_path / "o.mp4"), "--ffmpeg", gen_ffmpeg,
                     "--print-command"])
    assert code == 0
    assert ahead._started == {}


def test_public_names_load_on_first_use() -> None:
    """``import ffmotion`` alone loads none of the package's modules (the launcher's probe
    starts before them); each public name still comes from its module."""
    code = ("import sys, ffmotion\n"
            "print(sorted(m for m in sys.modules if m.startswith('ffmotion.')))\n"
            "from ffmotion import extract, MotionRequest, PRESETS\n"
            "from ffmotion.api import extract as e\n"
            "print(extract is e, ffmotion.MotionRequest.__module__, 'classic' in PRESETS)")
    done = _python(code)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == ["[]", "True ffmotion.core.request True"]
    import ffmotion

    assert sorted(ffmotion.__all__) == sorted(ffmotion._PUBLIC)
    with pytest.raises(AttributeError):
        ffmotion.no_such_name  # noqa: B018


def test_ctrl_c_during_the_imports_is_one_line(av_clip: Path, gen_ffmpeg: str,
                                               tmp_path: Path) -> None:
    """SIGINT while the launcher imports the command line (the probe already started):
    exit 130, one line, no traceback, no ffmpeg left."""
    code = ("import sys, ffmotion.run.ahead as ahead, builtins\n"
            "real = builtins.__import__\n"
            "def hook(name, *a, **k):\n"
            "    if name in ('cli', 'ffmotion.cli'):\n"
            "        raise KeyboardInterrupt\n"
            "    return real(name, *a, **k)\n"
            "builtins.__import__ = hook\n"
            "from ffmotion.launch import main\n"
            f"sys.argv = ['ffmotion', {str(av_clip)!r}, {str(tmp_path / 'o.mp4')!r}, "
            f"'--ffmpeg', {gen_ffmpeg!r}]\n"
            "code = main()\n"
            "builtins.__import__ = real\n"
            "print('left', len(ahead._started))\n"
            "sys.exit(code)")
    done = _python(code)
    assert done.returncode == 130
    assert done.stderr == "ffmotion: interrupted (SIGINT)\n"
    assert done.stdout == "left 0\n"
    assert not (tmp_path / "o.mp4").exists()


def test_an_unchecked_binary_is_checked_ahead_too(av_clip: Path, gen_ffmpeg: str,
                                                   tmp_path: Path) -> None:
    """With no remembered facts for the binary (a first run, a fresh container), its check
    (``ffmpeg -encoders``) starts ahead beside the probe; once remembered, only the probe."""
    env = {"FFMOTION_CACHE": str(tmp_path / "cache")}
    args = [str(av_clip), str(tmp_path / "out.mp4"), "--ffmpeg", gen_ffmpeg, "--print-command",
            "-vv"]
    first = _program(*args, env=env)
    assert first.returncode == 0, first.stderr
    lines = first.stderr.splitlines()
    check = next(i for i, line in enumerate(lines) if line.endswith(" -nostdin -encoders"))
    probe = next(i for i, line in enumerate(lines) if line.endswith(f" -i {av_clip}"))
    assert "started ahead" in lines[check + 1] and "started ahead" in lines[probe + 1]
    assert list((tmp_path / "cache").glob("ffmpeg-*.json"))  # remembered after the run
    second = _program(*args, env=env)
    assert second.returncode == 0, second.stderr
    assert "-encoders" not in second.stderr
    assert second.stderr.count("started ahead") == 1
    assert second.stdout == first.stdout


@pytest.mark.parametrize("form", [["sheet", "-o", "s.png"], ["energy"], ["map", "-o", "m.png"]])
def test_subcommands_that_probe_one_input_probe_it_ahead(av_clip: Path, gen_ffmpeg: str,
                                                          tmp_path: Path,
                                                          form: list[str]) -> None:
    guessed = launch.guess([form[0], str(av_clip), "--ffmpeg", gen_ffmpeg], launch.SUBCOMMANDS,
                          launch.PROBING)
    assert guessed == header_argv(gen_ffmpeg, av_clip)
    done = _program(form[0], str(av_clip), *form[1:], "--ffmpeg", gen_ffmpeg,
                    "--print-command", "-vv", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    lines = done.stderr.splitlines()
    probe = next(i for i, line in enumerate(lines) if line.endswith(f" -i {av_clip}"))
    assert "started ahead" in lines[probe + 1]
    assert "not the probe this run made" not in done.stderr
