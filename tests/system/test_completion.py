"""Shell completion as a shell runs it: the script ``ffmotion completion SHELL`` prints,
loaded in real bash (``COMP_*`` variables and the completion function, as bash calls it),
zsh (an interactive shell on a pty: Ctrl-D lists, Tab completes) and fish (``complete -C``),
each skipped where the shell is not installed."""
from __future__ import annotations

import os
import pty
import select
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

BUILT_IN = {"classic", "amplified", "difference", "trails", "matte"}
SUBCOMMANDS = {"demo", "batch", "looks", "sheet", "energy", "preview", "map", "live",
               "completion", "ffmpeg"}


@pytest.fixture(scope="module")
def place(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, str]]:
    """A folder to complete in: ``ffmotion`` on PATH (this interpreter's package), a user
    look (``mine``) and a project folder with its own look (``projlook``) and a clip."""
    root = tmp_path_factory.mktemp("completion")
    bin_dir = root / "bin"
    bin_dir.mkdir()
    program = bin_dir / "ffmotion"
    program.write_text(f"#!/bin/sh\nexec {sys.executable} -m ffmotion \"$@\"\n")
    program.chmod(0o755)
    (root / "cfg" / "ffmotion").mkdir(parents=True)
    (root / "cfg" / "ffmotion" / "looks.toml").write_text(
        '[looks.mine]\ndescription = "my look"\ngain = 3\n')
    (root / "proj").mkdir()
    (root / "proj" / "ffmotion.toml").write_text(
        '[looks.projlook]\ndescription = "the project\'s look"\nblur = 1\n')
    (root / "proj" / "clip.mp4").write_bytes(b"")
    env = {**os.environ, "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}",
           "XDG_CONFIG_HOME": str(root / "cfg"), "HOME": str(root), "TERM": "dumb",
           "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    env.pop("_ARGCOMPLETE", None)
    return root, env


def _script(shell: str, env: dict[str, str]) -> str:
    done = subprocess.run(["ffmotion", "completion", shell], capture_output=True, text=True,
                          env=env, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""
    return done.stdout


# -- bash: the completion function, called as bash calls it ----------------------------------

_BASH = r'''
source <(ffmotion completion bash)
COMP_LINE="$1"; COMP_POINT=${#COMP_LINE}
read -ra COMP_WORDS <<<"$COMP_LINE"
[[ "$COMP_LINE" == *" " ]] && COMP_WORDS+=("")
COMP_CWORD=$((${#COMP_WORDS[@]} - 1)); COMP_TYPE=9
_python_argcomplete ffmotion
printf '%s\n' "${COMPREPLY[@]}"
'''


def bash(line: str, place: tuple[Path, dict[str, str]]) -> set[str]:
    root, env = place
    done = subprocess.run(["bash", "-c", _BASH, "bash", line], capture_output=True, text=True,
                          env=env, cwd=root, timeout=60)
    assert done.returncode == 0, done.stderr
    return {word.strip() for word in done.stdout.splitlines() if word.strip()}


def test_bash_script_is_argcomplete(place: tuple[Path, dict[str, str]]) -> None:
    text = _script("bash", place[1])
    assert "_python_argcomplete" in text and "complete " in text and "ffmotion" in text


def test_bash_first_word_subcommands_and_files(place: tuple[Path, dict[str, str]]) -> None:
    got = bash("ffmotion ", place)
    assert SUBCOMMANDS | {"proj/", "bin/"} <= got
    assert not any(word.startswith("-") for word in got)  # options after a dash only
    assert bash("ffmotion sh", place) == {"sheet"}
    assert bash("ffmotion proj/", place) == {"proj/clip.mp4", "proj/ffmotion.toml"}


def test_bash_options_and_choices(place: tuple[Path, dict[str, str]]) -> None:
    assert bash("ffmotion --loo", place) == {"--look"}
    assert bash("ffmotion sheet --col", place) == {"--columns"}
    assert bash("ffmotion map --color ", place) == {"intensity", "time"}
    assert bash("ffmotion completion ", place) == {"bash", "zsh", "fish"}
    assert bash("ffmotion --strategy d", place) == {"dual"}


def test_bash_look_names_user_and_project(place: tuple[Path, dict[str, str]]) -> None:
    """Built-in and the user's looks anywhere; the project's once its input is typed."""
    plain = bash("ffmotion --look ", place)
    assert BUILT_IN | {"mine"} <= plain and "projlook" not in plain
    typed = bash("ffmotion proj/clip.mp4 out.mp4 --look ", place)
    assert BUILT_IN | {"mine", "projlook"} <= typed
    assert bash("ffmotion proj/clip.mp4 --look pro", place) == {"projlook"}
    assert bash("ffmotion looks --near proj --look proj", place) == {"projlook"}


def test_bash_file_and_folder_values(place: tuple[Path, dict[str, str]]) -> None:
    assert bash("ffmotion batch -o ", place) >= {"proj/", "bin/", "cfg/"}
    assert "proj/clip.mp4" not in bash("ffmotion batch -o proj/", place)
    assert bash("ffmotion energy proj/clip.mp4 --csv proj/c", place) == {"proj/clip.mp4"}
    assert bash("ffmotion -k ", place) == set()  # a number: nothing to offer


def test_completing_starts_no_run(place: tuple[Path, dict[str, str]]) -> None:
    """A completion request never runs the command it completes (no probe, no output)."""
    root, _ = place
    bash("ffmotion proj/clip.mp4 proj/out.mp4 --look ", place)
    assert not (root / "proj" / "out.mp4").exists()


# -- fish: its own completion call ----------------------------------------------------------

def fish(line: str, place: tuple[Path, dict[str, str]]) -> dict[str, str]:
    root, env = place
    done = subprocess.run(["fish", "--no-config", "-c",
                           f"ffmotion completion fish | source; complete -C{line!r}"],
                          capture_output=True, text=True, env=env, cwd=root, timeout=60)
    assert done.returncode == 0, done.stderr
    rows = (row.partition("\t") for row in done.stdout.splitlines() if row)
    return {word: about for word, _, about in rows}


@pytest.mark.skipif(shutil.which("fish") is None, reason="fish is not installed")
def test_fish(place: tuple[Path, dict[str, str]]) -> None:
    looks = fish("ffmotion proj/clip.mp4 out.mp4 --look ", place)
    assert BUILT_IN | {"mine", "projlook"} <= set(looks)
    assert looks["mine"] == "my look"  # descriptions shown beside the names
    assert set(fish("ffmotion sh", place)) == {"sheet"}
    assert set(fish("ffmotion proj/cl", place)) == {"proj/clip.mp4"}
    assert "--look" in fish("ffmotion --lo", place)


# -- zsh: an interactive shell on a pty -------------------------------------------------------

class _Pty:
    def __init__(self, argv: list[str], env: dict[str, str], cwd: Path) -> None:
        self.pid, self.fd = pty.fork()
        if self.pid == 0:  # the child: the shell
            try:
                os.chdir(cwd)
                os.execvpe(argv[0], argv, env)
            finally:
                os._exit(127)

    def send(self, data: bytes) -> None:
        os.write(self.fd, data)

    def until(self, marker: bytes, timeout: float = 30) -> bytes:
        seen = b""
        end = time.monotonic() + timeout
        while marker not in seen and time.monotonic() < end:
            ready, _, _ = select.select([self.fd], [], [], 0.2)
            if ready:
                try:
                    seen += os.read(self.fd, 65536)
                except OSError:
                    break
        return seen

    def close(self) -> None:
        os.kill(self.pid, 9)
        os.waitpid(self.pid, 0)
        os.close(self.fd)


@pytest.mark.skipif(shutil.which("zsh") is None, reason="zsh is not installed")
def test_zsh(place: tuple[Path, dict[str, str]]) -> None:
    root, env = place
    shell = _Pty(["zsh", "-f", "-i"], env, root)
    try:
        shell.send(b"PS1='> '; autoload -Uz compinit && compinit -u -d " + str(root).encode()
                   + b"/zcompdump; eval \"$(ffmotion completion zsh)\"; echo SET''UP\n")
        setup = shell.until(b"SETUP")
        assert b"SETUP" in setup
        # then the line editor's prompt: keys typed before it starts reach the terminal's
        # cooked mode instead (where Ctrl-D is end-of-file), which made this test flaky
        if b"> " not in setup.split(b"SETUP", 1)[1]:
            shell.until(b"> ", timeout=10)
        time.sleep(0.3)
        shell.send(b"ffmotion proj/clip.mp4 out.mp4 --look \x04")  # Ctrl-D: list the choices
        listed = shell.until(b"projlook")
        for name in ("classic", "trails", "mine", "projlook", "my look"):
            assert name.encode() in listed, listed
        shell.send(b"\x15ffmotion --loo\t")  # Ctrl-U clears the line; Tab completes it
        assert b"--look " in shell.until(b"--look ")
        shell.send(b"\x15ffmotion sh\t")
        assert b"sheet " in shell.until(b"sheet ")
    finally:
        shell.close()
