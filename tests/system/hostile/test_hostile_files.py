"""Hostile file names and places: nothing touched that is not ours, nothing injected.

Every case runs the real command in a subprocess and checks the exit code, the one-line
message (no traceback), and that every file outside the intended output is unchanged.
"""
from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Iterator, Optional, Union

import pytest

from helpers import make_clip, run_ffmpeg

Arg = Union[str, bytes, Path]


@pytest.fixture
def env(tmp_path: Path, gen_ffmpeg: str) -> dict[str, str]:
    """The bundled ffmpeg for every run (and emitted line), and a private cache."""
    return {**os.environ, "FFMOTION_FFMPEG": gen_ffmpeg, "FFMOTION_CACHE": str(tmp_path / "cache")}


def ffmotion(env: dict[str, str], *args: Arg, cwd: Optional[Path] = None,
             stdout: Optional[int] = None) -> tuple[int, str, str]:
    argv: list[Arg] = [sys.executable, "-m", "ffmotion", *args]
    done = subprocess.run(argv, capture_output=stdout is None, stdout=stdout,
                          stderr=subprocess.PIPE if stdout is not None else None,
                          env=env, cwd=cwd, timeout=300)
    out = (done.stdout or b"").decode("utf-8", "replace")
    return done.returncode, out, done.stderr.decode("utf-8", "replace")


def one_line(err: str, *needles: str) -> None:
    """stderr is exactly one ``ffmotion: error:`` line containing every needle."""
    assert "Traceback" not in err, err
    lines = [line for line in err.splitlines() if line.startswith("ffmotion: error:")]
    assert len(lines) == 1, err
    for needle in needles:
        assert needle in lines[0], err


def tree(root: Path, skip: tuple[Path, ...] = ()) -> dict[bytes, str]:
    """Hash of every file below ``root`` (links as their target name), except under ``skip``."""
    found = {}
    for folder, _dirs, files in os.walk(os.fsencode(root)):
        for name in files:
            path = Path(os.fsdecode(os.path.join(folder, name)))
            if any(path == s or s in path.parents for s in skip):
                continue
            key = os.fsencode(path.relative_to(root))
            if path.is_symlink():
                found[key] = "link:" + os.readlink(path)
            else:
                found[key] = hashlib.sha256(path.read_bytes()).hexdigest()
    return found


@pytest.fixture(scope="module")
def clip(tmp_path_factory: pytest.TempPathFactory, gen_ffmpeg: str) -> Path:
    return make_clip(gen_ffmpeg, tmp_path_factory.mktemp("clip") / "clip.mkv", frames=12)


@pytest.fixture
def work(tmp_path: Path, clip: Path) -> Path:
    """A folder with two clips, a.mkv and b.mkv."""
    folder = tmp_path / "work"
    folder.mkdir()
    shutil.copy(clip, folder / "a.mkv")
    shutil.copy(clip, folder / "b.mkv")
    return folder


# -- report and emitted commands never replace an input ---------------------------------------

@pytest.mark.parametrize("extra", [[], ["--overwrite"]])
def test_report_name_forgotten_never_eats_a_clip(env, work, extra):
    before = tree(work)
    # `ffmotion batch -o motion --report *.mkv`: the shell gives a.mkv to --report
    code, _, err = ffmotion(env, "batch", "-o", "motion", *extra, "--report", "a.mkv", "b.mkv",
                            cwd=work)
    assert code == 2
    one_line(err, "a.mkv")
    assert tree(work) == before and not (work / "motion").exists()


@pytest.mark.parametrize("option", ["--report", "--emit-commands"])
def test_report_or_script_over_an_input_the_search_found(env, work, option):
    os.rename(work / "b.mkv", work / "b.sh")
    name = "b.sh" if option == "--emit-commands" else "a.mkv"
    before = tree(work)
    code, _, err = ffmotion(env, "batch", "a.mkv", "b.sh", "-o", "motion", option, name,
                            "--overwrite", cwd=work)
    assert code == 2
    one_line(err, "is an input")
    assert tree(work) == before


def test_report_over_a_planned_output(env, work):
    code, _, err = ffmotion(env, "batch", "a.mkv", "-o", "motion", "-k", "1", "--report",
                            "motion/a_motion_k1.mkv", cwd=work)
    assert code == 2
    one_line(err, "the same file")


def test_report_replaces_its_own_earlier_report_only(env, work):
    code, _, err = ffmotion(env, "batch", "a.mkv", "-o", "m", "-k", "1", "--report", "r.json",
                            cwd=work)
    assert code == 0, err
    code, _, err = ffmotion(env, "batch", "a.mkv", "-o", "m", "-k", "1", "--report", "r.json",
                            cwd=work)
    assert code == 0, err  # the rerun (resume) rewrites its own report
    assert json.loads((work / "r.json").read_text())["summary"]["skipped"] == 1
    (work / "notes.json").write_text("mine\n")
    code, _, err = ffmotion(env, "batch", "a.mkv", "-o", "m", "-k", "1", "--report",
                            "notes.json", cwd=work)
    assert code == 2
    one_line(err, "exists")
    assert (work / "notes.json").read_text() == "mine\n"


# -- emitted scripts --------------------------------------------------------------------------

def job_lines(script: Path) -> list[str]:
    return [line for line in script.read_text().splitlines() if not line.startswith("#")]


def test_emitted_line_run_twice_at_once_gives_one_valid_output(env, work, tmp_path):
    code, _, err = ffmotion(env, "batch", "a.mkv", "-o", "ran", "-k", "2", cwd=work)
    assert code == 0, err
    script = tmp_path / "jobs.sh"
    code, _, err = ffmotion(env, "batch", "a.mkv", "-o", "emitted", "-k", "2",
                            "--emit-commands", script, cwd=work)
    assert code == 0, err
    (line,) = job_lines(script)
    runs = [subprocess.Popen(["sh", "-c", line], stderr=subprocess.PIPE) for _ in range(3)]
    codes = [run.wait(timeout=120) for run in runs]
    for run in runs:
        run.stderr.close()
    assert 0 in codes  # one commits; the others fail on `ln` (exists) or skip
    name = "a_motion_k2.mkv"
    assert (work / "emitted" / name).read_bytes() == (work / "ran" / name).read_bytes()
    assert sorted(os.listdir(work / "emitted")) == [name]  # no temporary folder left


NEWLINE_NAME = "x\ntouch pwned\n.mkv"


@pytest.mark.parametrize("runner", ["line-per-job", "sh", "bash"])
def test_newline_in_a_name_stays_one_command(env, tmp_path, clip, runner):
    if shutil.which(runner if runner != "line-per-job" else "sh") is None:
        pytest.skip(f"no {runner}")
    src = tmp_path / NEWLINE_NAME
    shutil.copy(clip, src)
    script = tmp_path / "jobs.sh"
    code, _, err = ffmotion(env, "batch", src, "-o", tmp_path / "out", "-k", "1",
                            "--emit-commands", script)
    assert code == 0, err
    lines = job_lines(script)
    assert len(lines) == 1 and not any(ord(c) < 32 for c in lines[0])
    runner_dir = tmp_path / "runner"
    runner_dir.mkdir()
    if runner == "line-per-job":  # what `parallel < jobs.sh` and xargs do: one line, one job
        command = ["sh", "-c", 'while IFS= read -r line; do sh -c "$line"; done < "$1"', "x",
                   str(script)]
    else:
        command = [runner, str(script)]
    done = subprocess.run(command, cwd=runner_dir, capture_output=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert not (runner_dir / "pwned").exists()  # the second line of the name never ran
    assert (tmp_path / "out" / "x\ntouch pwned\n_motion_k1.mkv").stat().st_size > 0


def test_error_naming_a_newline_file_is_one_line(env, tmp_path):
    code, _, err = ffmotion(env, "missing\nfile.mkv", "out.mkv", cwd=tmp_path)
    assert code == 2
    assert err.count("\n") == 1 and "missing\\nfile.mkv" in err, err


def test_emitted_script_with_stabilization_keeps_the_cache_out(env, work, tmp_path):
    script = tmp_path / "jobs.sh"
    code, _, err = ffmotion(env, "batch", "a.mkv", "-o", "emitted", "-k", "1", "--stabilize",
                            "--emit-commands", script, cwd=work)
    assert code == 0, err
    code, _, err = ffmotion(env, "batch", "a.mkv", "-o", "ran", "-k", "1", "--stabilize",
                            cwd=work)
    assert code == 0, err
    done = subprocess.run(["sh", str(script)], capture_output=True, timeout=120)
    assert done.returncode == 0, done.stderr
    name = "a_motion_k1.mkv"
    assert (work / "emitted" / name).read_bytes() == (work / "ran" / name).read_bytes()
    assert os.listdir(work / "emitted") == [name]


# -- resume with the output folder among the inputs -----------------------------------------

def outputs_of(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.rglob("*_motion_*"))


@pytest.mark.parametrize("layout", ["same-folder", "glob-subfolder", "shell-glob"])
def test_output_folder_inside_the_inputs_resumes(env, work, layout):
    if layout == "same-folder":
        args = ["batch", "work", "-o", "work"]
    elif layout == "glob-subfolder":
        args = ["batch", "work/**/*.mkv", "-o", "work/motion"]
    else:  # what the shell gives for `batch work/*.mkv -o work` on a rerun
        args = ["batch", *sorted(str(p.relative_to(work.parent)) for p in work.rglob("*.mkv")),
                "-o", "work"]
    cwd = work.parent
    code, _, err = ffmotion(env, *args, "-k", "1", cwd=cwd)
    assert code == 0, err
    first = outputs_of(work)
    assert first == ["a_motion_k1.mkv", "b_motion_k1.mkv"]
    before = tree(work)
    if layout == "shell-glob":
        args = ["batch", *sorted(str(p.relative_to(work.parent)) for p in work.rglob("*.mkv")),
                "-o", "work"]
        assert len(args) == 7  # batch, 4 files, -o, work
    code, _, err = ffmotion(env, *args, "-k", "1", cwd=cwd)
    assert code == 0, err
    assert "2 skipped" in err and "0 done" in err
    assert tree(work) == before
    code, _, err = ffmotion(env, *args, "-k", "2", "--report", "r.json", cwd=cwd)
    assert code == 0, err
    assert outputs_of(work) == sorted(first + ["a_motion_k2.mkv", "b_motion_k2.mkv"])
    report = json.loads((cwd / "r.json").read_text())
    assert sorted(Path(j["input"]).name for j in report["jobs"]) == ["a.mkv", "b.mkv"]


# -- input names are file names ---------------------------------------------------------------

def test_input_named_like_an_image_pattern_is_read_literally(env, tmp_path, gen_ffmpeg):
    for n in (1, 2, 3, 4):  # what image2 would read for img%d.png
        run_ffmpeg(gen_ffmpeg, "-f", "lavfi", "-i", f"testsrc2=s=32x32:r=1:d=1,hue=h={n * 40}",
                   "-frames:v", "1", str(tmp_path / f"img{n}.png"))
    run_ffmpeg(gen_ffmpeg, "-f", "lavfi", "-i", "color=c=red:s=32x32:d=1", "-frames:v", "1",
               "-update", "1", str(tmp_path / "img%d.png"))  # -update: the muxer expands %d too
    before = tree(tmp_path)
    code, _, err = ffmotion(env, "img%d.png", "out.mkv", "-k", "1", cwd=tmp_path)
    # the literal file is one frame: too short for an offset; the sequence would be 4 frames
    assert code == 2
    one_line(err, "1 frames")
    code, _, err = ffmotion(env, "energy", "img%d.png", cwd=tmp_path)
    assert code == 2
    one_line(err, "1 frames")
    assert tree(tmp_path) == before


# -- the stabilization cache is not trusted -----------------------------------------------------

@pytest.mark.parametrize("damage", ["truncated", "garbage", "symlink", "no-sidecar"])
def test_damaged_cache_entry_is_removed_and_recomputed(env, work, tmp_path, damage):
    cache = tmp_path / "cache"
    code, _, err = ffmotion(env, "a.mkv", "first.mkv", "-k", "1", "--stabilize", "--lossless",
                            cwd=work)
    assert code == 0, err
    (trf,) = cache.glob("*.trf")
    assert (cache / (trf.name + ".json")).is_file()
    good = trf.read_bytes()  # vidstab's file differs run to run: compare outputs only
    secret = tmp_path / "secret.txt"
    secret.write_text("SECRET-FIRST-LINE\nmore\n")
    if damage == "truncated":
        trf.write_bytes(good[: len(good) // 2])
    elif damage == "garbage":
        trf.write_bytes(bytes(reversed(good)))
    elif damage == "symlink":
        trf.unlink()
        trf.symlink_to(secret)
    else:
        (cache / (trf.name + ".json")).unlink()
    code, _, err = ffmotion(env, "a.mkv", "second.mkv", "-k", "1", "--stabilize", "--lossless",
                            cwd=work)
    assert code == 0, err
    assert "Traceback" not in err and "SECRET" not in err
    assert "removed, analysing again" in err and "rm -r" in err
    assert (work / "second.mkv").read_bytes() == (work / "first.mkv").read_bytes()
    assert trf.stat().st_size > 0 and not trf.is_symlink()
    assert secret.read_text() == "SECRET-FIRST-LINE\nmore\n"


# -- names that are not UTF-8 ------------------------------------------------------------------

BAD = b"bad\xff"


@pytest.mark.parametrize("command", ["single-input", "single-output", "sheet", "energy",
                                     "energy-csv", "demo"])
def test_non_utf8_names_are_one_line(env, work, command):
    bad_clip = os.fsencode(work) + b"/" + BAD + b".mkv"
    shutil.copy(work / "a.mkv", os.fsdecode(bad_clip))
    before = tree(work)
    args: list[Arg] = {
        "single-input": [bad_clip, "out.mkv", "-k", "1"],
        "single-output": ["a.mkv", BAD + b".mkv", "-k", "1"],
        "sheet": ["sheet", bad_clip],
        "energy": ["energy", bad_clip],
        "energy-csv": ["energy", "a.mkv", "--csv", BAD + b".csv"],
        "demo": ["demo", BAD + b".mp4"],
    }[command]
    code, _, err = ffmotion(env, *args, cwd=work)
    assert code == 2
    one_line(err, "not valid UTF-8", "bad\\xff")
    assert tree(work) == before


def test_non_utf8_name_in_a_batch_fails_that_input_only(env, work):
    shutil.copy(work / "a.mkv", os.fsdecode(os.fsencode(work) + b"/" + BAD + b".mkv"))
    before = tree(work)
    code, _, err = ffmotion(env, "batch", ".", "-o", "../out", "-k", "1", "--report",
                            "../r.json", cwd=work)
    assert code == 1
    assert "Traceback" not in err
    assert "2 done, 0 skipped, 1 failed" in err and "not valid UTF-8" in err
    report = json.loads((work.parent / "r.json").read_text())
    assert report["summary"] == {"done": 2, "skipped": 0, "failed": 1}
    assert tree(work) == before


# -- name lengths ------------------------------------------------------------------------------

def test_output_names_up_to_255_bytes_work_and_longer_are_one_line(env, work):
    longest = "é" * 124 + "x" * 3 + ".mkv"  # 248 + 3 + 4 = 255 bytes
    assert len(longest.encode()) == 255
    code, _, err = ffmotion(env, "a.mkv", longest, "-k", "1", cwd=work)
    assert code == 0, err
    assert (work / longest).stat().st_size > 0
    before = tree(work)
    too_long = "x" * 252 + ".mkv"
    code, _, err = ffmotion(env, "a.mkv", too_long, "-k", "1", cwd=work)
    assert code == 2
    one_line(err, "256 bytes", "255")
    code, _, err = ffmotion(env, "batch", "a.mkv", "-o", "m", "--name",
                            "{stem}" + "y" * 251 + "{ext}", cwd=work)
    assert code == 2
    one_line(err, "bytes")
    assert tree(work) == before


@pytest.mark.parametrize("template", ["{stem:d}{ext}", "{stem:>9999999999}{ext}",
                                      "{stem:>{offset}}{ext}", "{stem!z}{ext}"])
def test_a_format_spec_in_the_name_template_is_one_line(env, work, template):
    code, _, err = ffmotion(env, "batch", "a.mkv", "-o", "m", "--name", template, cwd=work)
    assert code == 2
    one_line(err, "--name")
    assert not (work / "m").exists()


# -- disk full ---------------------------------------------------------------------------------

@contextlib.contextmanager
def full_disk(folder: Path) -> Iterator[Path]:
    """A 64 KiB tmpfs at ``folder``, filled up (root only)."""
    folder.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(folder)],
                          capture_output=True)
    if done.returncode != 0:
        pytest.skip("cannot mount a small tmpfs here (needs root)")
    try:
        fd = os.open(folder / "filler", os.O_WRONLY | os.O_CREAT)
        try:
            with contextlib.suppress(OSError):
                while os.write(fd, b"\0" * 1024):
                    pass
        finally:
            os.close(fd)
        yield folder
    finally:
        subprocess.run(["umount", str(folder)], check=True)


@pytest.mark.parametrize("what", ["report", "emit", "csv"])
def test_disk_full_is_one_line_and_no_partial_file(env, work, tmp_path, what):
    with full_disk(tmp_path / "full") as full:
        args: list[Arg] = {
            "report": ["batch", "a.mkv", "-o", "m", "-k", "1", "--report", full / "r.json"],
            "emit": ["batch", "a.mkv", "-o", "m", "-k", "1", "--emit-commands", full / "j.sh"],
            "csv": ["energy", "a.mkv", "--csv", full / "e.csv"],
        }[what]
        code, _, err = ffmotion(env, *args, cwd=work)
        assert code == 1
        one_line(err, "No space left on device", "nothing was written")
        assert sorted(os.listdir(full)) == ["filler"]  # no partial file, no temporary
        if what == "report":
            assert "1 done" in err  # the summary was still shown


def test_csv_to_a_full_stdout_is_one_line(env, work):
    with open("/dev/full", "wb") as full:
        code, _, err = ffmotion(env, "energy", "a.mkv", cwd=work, stdout=full.fileno())
    assert code == 1
    assert "Traceback" not in err and "Exception ignored" not in err
    one_line(err, "stdout")


# -- demo ----------------------------------------------------------------------------------------

def test_demo_into_an_existing_file_is_one_line(env, tmp_path):
    (tmp_path / "notes").write_text("keep\n")
    (tmp_path / "taken.mp4").write_text("keep\n")
    before = tree(tmp_path)
    for target in ("notes", "taken.mp4"):
        code, _, err = ffmotion(env, "demo", target, cwd=tmp_path)
        assert code == 2
        one_line(err, target)
    assert tree(tmp_path) == before


@contextlib.contextmanager
def read_only(folder: Path) -> Iterator[None]:
    """A folder nobody may write: chmod for users; root bypasses that, so chattr +i."""
    if os.geteuid() != 0:
        folder.chmod(0o555)
        try:
            yield
        finally:
            folder.chmod(0o755)
        return
    if shutil.which("chattr") is None or subprocess.run(
            ["chattr", "+i", str(folder)], capture_output=True).returncode != 0:
        pytest.skip("running as root, and chattr +i is not available here")
    try:
        yield
    finally:
        subprocess.run(["chattr", "-i", str(folder)], check=True)


@pytest.mark.parametrize("target", [".", "sub", "clip.mp4"])
def test_demo_into_a_read_only_folder_is_one_line(env, tmp_path, target):
    folder = tmp_path / "ro"
    folder.mkdir()
    (folder / "keep").write_text("keep\n")
    before = tree(tmp_path)
    with read_only(folder):
        code, _, err = ffmotion(env, "demo", target, cwd=folder)
    assert code == 2
    one_line(err)
    assert tree(tmp_path) == before
