"""``ffmotion batch``: many inputs, skip/resume, report, emitted commands, --jobs, interrupts.

Real ffmpeg on tiny generated clips. Outputs of different runs are compared byte for byte
(the core writes with +bitexact, so identical options must give identical files).
"""
from __future__ import annotations

import io
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

import ffmotion
from ffmotion import cli
from ffmotion.jobs import batch

import reference
from helpers import assert_frames_equal, decode, make_clip, run_ffmpeg

K = 4
FRAMES = 24
GOOD = {  # name -> (size, the pixel format ffmotion works in)
    "a.mkv": ((64, 48), "yuv420p"),
    "b.mkv": ((48, 32), "yuv444p"),
    "sub/c.MP4": ((64, 48), "yuv420p"),  # H.264 + AAC, upper-case extension, in a subfolder
}
BAD = {  # name -> a piece of the one-line reason
    "bad.mp4": "not a media file",
    "short.mkv": "needs more than the 3 frames",
    "audio_only.mkv": "no video stream",
}


def out_name(name: str) -> str:
    """The default output name (written out here, not computed by ffmotion)."""
    stem, ext = Path(name).stem, Path(name).suffix.lower()
    return f"{stem}_motion_k{K}{ext}"


@pytest.fixture(scope="module")
def footage(tmp_path_factory: pytest.TempPathFactory, gen_ffmpeg: str) -> Path:
    """A folder of three good clips, a corrupt file, a too-short clip and an audio-only file."""
    folder = tmp_path_factory.mktemp("footage")
    (folder / "sub").mkdir()
    make_clip(gen_ffmpeg, folder / "a.mkv", frames=FRAMES)
    make_clip(gen_ffmpeg, folder / "b.mkv", frames=FRAMES, size=(48, 32), pix_fmt="yuv444p")
    make_clip(gen_ffmpeg, folder / "sub/c.MP4", frames=FRAMES, codec="libx264", audio="aac")
    (folder / "bad.mp4").write_bytes(b"\x00\x00\x00\x18ftypisom" + os.urandom(3000))
    make_clip(gen_ffmpeg, folder / "short.mkv", frames=3)
    run_ffmpeg(gen_ffmpeg, "-f", "lavfi", "-i", "sine=d=0.5", "-c:a", "flac",
               str(folder / "audio_only.mkv"))
    (folder / "notes.txt").write_text("not a video: a folder search skips it")
    return folder


def run_cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str]:
    """``ffmotion batch ...`` in this process; returns (exit code, stderr)."""
    code = cli.main(["batch", *argv])
    return code, capsys.readouterr().err


def files_in(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


def frame_count(ffmpeg: str, path: Path, size: tuple[int, int], pix_fmt: str) -> int:
    return len(decode(ffmpeg, path, pix_fmt, size))


@pytest.fixture(scope="module")
def baseline(footage: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict]:
    """One ``--jobs 1`` run over the footage folder (with its report): the reference run."""
    out = tmp_path_factory.mktemp("baseline") / "out"
    report = out.parent / "report.json"
    code = cli.main(["batch", str(footage), "-o", str(out), "-k", str(K), "--jobs", "1",
                     "--report", str(report), "-q"])
    assert code == 1  # three inputs fail
    return out, json.loads(report.read_text())


def test_failing_inputs_do_not_stop_the_others(footage, baseline, gen_ffmpeg, capsys, tmp_path):
    out, report = baseline
    assert sorted(files_in(out)) == sorted(out_name(n) for n in GOOD)  # nothing else, no temp
    for name, (size, pix_fmt) in GOOD.items():
        assert frame_count(gen_ffmpeg, out / out_name(name), size, pix_fmt) == FRAMES - K

    jobs = {Path(j["input"]).name: j for j in report["jobs"]}
    assert report["summary"] == {"done": 3, "skipped": 0, "failed": 3}
    assert report["backend"] == "local" and report["interrupted"] is False
    assert sorted(jobs) == sorted(Path(n).name for n in [*GOOD, *BAD])  # notes.txt not taken
    for name in GOOD:
        job = jobs[Path(name).name]
        assert job["status"] == "done" and job["error"] is None
        assert job["output"] == str(out / out_name(name))
        assert job["frames"] == FRAMES - K and job["k"] == K and job["seconds"] > 0
        assert job["argv"][0].endswith("ffmpeg") or "ffmpeg" in Path(job["argv"][0]).name
        assert str(footage / name) in job["argv"] and job["argv"][-1] == job["output"]
    for name, reason in BAD.items():
        job = jobs[name]
        assert job["status"] == "failed" and reason in job["error"], job
        assert "\n" not in job["error"]
        assert not Path(job["output"]).exists()
    assert jobs["short.mkv"]["argv"] is None and jobs["bad.mp4"]["frames"] is None

    # the same run on the command line: summary with each failure's reason, exit code 1
    code, err = run_cli(capsys, str(footage), "-o", str(tmp_path / "o"), "-k", str(K))
    assert code == 1
    assert "ffmotion batch: 3 done, 0 skipped, 3 failed" in err
    for name, reason in BAD.items():
        assert any(line.startswith("  failed: ") and name in line and reason in line
                   for line in err.splitlines()), err
    assert "Traceback" not in err


def test_report_argv_reproduces_the_output(baseline, tmp_path):
    out, report = baseline
    job = next(j for j in report["jobs"] if j["input"].endswith("a.mkv"))
    argv = [tmp_path / "again.mkv" if arg == job["output"] else arg for arg in job["argv"]]
    done = subprocess.run([str(a) for a in argv], capture_output=True)
    assert done.returncode == 0, done.stderr[-500:]
    assert (tmp_path / "again.mkv").read_bytes() == Path(job["output"]).read_bytes()


def test_batch_output_is_the_single_file_output(footage, baseline, tmp_path):
    out, _ = baseline
    single = tmp_path / "single.mkv"
    ffmotion.extract(footage / "a.mkv", single, offset=K)
    assert single.read_bytes() == (out / out_name("a.mkv")).read_bytes()


def test_lossless_batch_matches_reference(footage, gen_ffmpeg, capsys, tmp_path):
    code, _ = run_cli(capsys, str(footage / "a.mkv"), str(footage / "b.mkv"), "-o",
                      str(tmp_path), "-k", str(K), "--lossless", "--jobs", "2")
    assert code == 0
    for name in ("a.mkv", "b.mkv"):
        size, pix_fmt = GOOD[name]
        got = decode(gen_ffmpeg, tmp_path / out_name(name), pix_fmt, size)
        want = list(reference.reference(gen_ffmpeg, footage / name, K, "offset", pix_fmt, *size))
        assert len(got) == FRAMES - K
        assert_frames_equal(got, want)


def test_jobs_and_emitted_commands_reproduce_the_outputs(footage, baseline, capsys, tmp_path):
    out, _ = baseline
    expected = files_in(out)

    code, _ = run_cli(capsys, str(footage), "-o", str(tmp_path / "j2"), "-k", str(K),
                      "--jobs", "2")
    assert code == 1
    assert files_in(tmp_path / "j2") == expected

    script = tmp_path / "cmds.sh"
    code, err = run_cli(capsys, str(footage), "-o", str(tmp_path / "sh"), "-k", str(K),
                        "--emit-commands", str(script))
    assert code == 1 and "3 emitted" in err  # the three bad inputs fail at probing
    assert files_in(tmp_path / "sh") == {}  # nothing run yet
    commands = [line for line in script.read_text().splitlines() if not line.startswith("#")]
    assert len(commands) == 3
    done = subprocess.run(["sh", str(script)], capture_output=True)
    assert done.returncode == 0, done.stderr[-500:]
    assert files_in(tmp_path / "sh") == expected

    lines = tmp_path / "cmds.jsonl"
    code, _ = run_cli(capsys, str(footage), "-o", str(tmp_path / "jl"), "-k", str(K),
                      "--emit-commands", str(lines))
    records = [json.loads(line) for line in lines.read_text().splitlines()]
    assert sorted(Path(r["input"]).name for r in records) == sorted(Path(n).name for n in GOOD)
    for record in records:
        assert set(record) == {"input", "output", "argv"}
        assert record["argv"][-1] == record["output"]
        done = subprocess.run(record["argv"], capture_output=True)
        assert done.returncode == 0, done.stderr[-500:]
    assert files_in(tmp_path / "jl") == expected


def test_resume_skips_outputs_and_ignores_stale_temporaries(footage, baseline, capsys, tmp_path):
    out, _ = baseline
    inputs = [str(footage / "a.mkv"), str(footage / "b.mkv")]
    target = tmp_path / "out"
    target.mkdir()
    (target / out_name("a.mkv")).write_bytes(b"finished earlier")
    # what a killed run leaves: a partial file under a temporary name, never an output name
    stale = target / f".{Path(out_name('b.mkv')).stem}.k3x9q2.ffmotion-tmp.mkv"
    stale.write_bytes(b"partial")
    report = tmp_path / "r.json"

    code, err = run_cli(capsys, *inputs, "-o", str(target), "-k", str(K), "--report", str(report))
    assert code == 0
    assert (target / out_name("a.mkv")).read_bytes() == b"finished earlier"
    assert (target / out_name("b.mkv")).read_bytes() == (out / out_name("b.mkv")).read_bytes()
    assert stale.read_bytes() == b"partial"
    assert "1 temporary file" in err and "1 done, 1 skipped, 0 failed" in err
    statuses = {Path(j["input"]).name: j["status"] for j in json.loads(report.read_text())["jobs"]}
    assert statuses == {"a.mkv": "skipped", "b.mkv": "done"}

    code, err = run_cli(capsys, *inputs, "-o", str(target), "-k", str(K))
    assert code == 0 and "0 done, 2 skipped, 0 failed" in err

    code, err = run_cli(capsys, *inputs, "-o", str(target), "-k", str(K), "--overwrite")
    assert code == 0 and "2 done, 0 skipped" in err
    assert files_in(target)[out_name("a.mkv")] == (out / out_name("a.mkv")).read_bytes()


def test_inputs_are_found_in_folders_patterns_and_lists(footage, tmp_path, monkeypatch):
    tree = tmp_path / "tree"
    shutil.copytree(footage, tree)
    (tree / ".hidden.mkv").write_bytes(b"x")  # e.g. macOS ._ files: skipped by folder search
    (tree / ".c_motion_k4.ab12.ffmotion-tmp.mkv").write_bytes(b"x")
    (tree / "motion").mkdir()
    (tree / "motion" / "a_motion_k4.mkv").write_bytes(b"an earlier output")
    names = sorted(["a.mkv", "b.mkv", "c.MP4", "bad.mp4", "short.mkv", "audio_only.mkv"])

    found = batch.find_inputs([str(tree)], exclude=tree / "motion")
    assert sorted(p.name for p in found) == names
    found = batch.find_inputs([str(tree / "*.mkv"), str(tree / "a.mkv")], exclude=None)
    assert [p.name for p in found] == ["a.mkv", "audio_only.mkv", "b.mkv", "short.mkv"]
    found = batch.find_inputs([str(tree / "**" / "*.MP4")])
    assert [p.name for p in found] == ["c.MP4"]

    listing = f"{tree / 'b.mkv'}\n\n{tree / 'sub'}\n"
    monkeypatch.setattr(sys, "stdin", io.StringIO(listing))
    assert batch.read_input_list("-") == [str(tree / "b.mkv"), str(tree / "sub")]
    (tmp_path / "list.txt").write_text(listing.replace("\n", "\r\n"))
    assert batch.read_input_list(str(tmp_path / "list.txt")) == [str(tree / "b.mkv"),
                                                                 str(tree / "sub")]


def test_input_list_from_stdin_on_the_command_line(footage, tmp_path):
    listing = f"{footage / 'b.mkv'}\n{footage / 'sub'}\n"
    done = subprocess.run(
        [sys.executable, "-m", "ffmotion", "batch", "--input-list", "-", "-o", str(tmp_path),
         "-k", str(K), "--emit-commands", str(tmp_path / "c.jsonl")],
        input=listing, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    inputs = [json.loads(line)["input"] for line in (tmp_path / "c.jsonl").read_text().splitlines()]
    assert inputs == [str(footage / "b.mkv"), str(footage / "sub" / "c.MP4")]


@pytest.mark.parametrize("case", ["collision", "missing", "field", "pattern", "input_is_output",
                                  "no_inputs"])
def test_bad_requests_fail_before_any_work(footage, capsys, tmp_path, case):
    out = tmp_path / "new" / "out"
    other = tmp_path / "other"
    other.mkdir()
    shutil.copy(footage / "a.mkv", other / "a.mkv")
    args, message = {
        "collision": ([str(footage / "a.mkv"), str(other / "a.mkv")], "would both write"),
        "missing": ([str(footage / "a.mkv"), str(tmp_path / "nope.mkv")], "input not found"),
        "field": ([str(footage / "a.mkv"), "--name", "{stem}_{offest}{ext}"], "unknown field"),
        "pattern": ([str(footage / "a.mkv"), str(tmp_path / "*.mov")], "no files match"),
        "input_is_output": ([str(other / "a.mkv"), "--name", "{stem}{ext}"],
                            "would be the input"),
        "no_inputs": ([], "no inputs"),
    }[case]
    if case == "input_is_output":
        out = other
    code, err = run_cli(capsys, *args, "-o", str(out), "-k", str(K))
    assert code == 2
    assert message in err and err.count("\n") == 1 and err.startswith("ffmotion: error: ")
    if case != "input_is_output":
        assert not (tmp_path / "new").exists()  # validation made no folder and wrote nothing
    assert sorted(os.listdir(other)) == ["a.mkv"]


def test_status_line_counts_files_frames_and_eta():
    now = [100.0]
    stream = io.StringIO()
    display = batch.Display(total=4, live=True, stream=stream, clock=lambda: now[0])
    display.progress(0, 0, 20)
    display.progress(1, 10, 20)
    now[0] = 110.0
    display.finished(0, batch.Record("/x/a.mkv", "/o/a_m.mkv", "done", frames=20, seconds=9.5))
    # work: 4 files; done 1 + half of another = 1.5 in 10 s -> 2.5 left take 16.7 s
    assert display.status_line() == "ffmotion: [1/4], 1 running, 30 frames, ETA 0:17"
    display.finished(2, batch.Record("/x/c.mkv", "/o/c_m.mkv", "skipped"))
    display.finished(3, batch.Record("/x/d.mkv", "/o/d_m.mkv", "failed", error="no video stream"))
    text = stream.getvalue()
    assert "done     /x/a.mkv -> /o/a_m.mkv (20 frames in 9.5 s)\n" in text
    assert "FAILED   /x/d.mkv: no video stream\n" in text
    assert "\r\x1b[K" in text  # the status line is redrawn in place
    # a skipped file is no work; a failed one needs no more: 2.5 of 3 in 10 s -> 2 s left
    assert display.status_line() == "ffmotion: [3/4], 1 running, 30 frames, 1 failed, ETA 0:02"


# -- interrupting ------------------------------------------------------------------------

def _ffmpeg_mentioning(text: str) -> list[int]:
    """Pids of live ffmpeg processes whose command line contains ``text`` (via /proc)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            argv = (entry / "cmdline").read_bytes().decode("utf-8", "replace").split("\0")
            state = next((line for line in (entry / "status").read_text().splitlines()
                          if line.startswith("State:")), "")
        except OSError:
            continue
        if ("ffmpeg" in Path(argv[0]).name and any(text in arg for arg in argv)
                and "zombie" not in state):
            found.append(int(entry.name))
    return found


@pytest.fixture(scope="module")
def long_clips(tmp_path_factory: pytest.TempPathFactory, gen_ffmpeg: str) -> Path:
    folder = tmp_path_factory.mktemp("long")
    run_ffmpeg(gen_ffmpeg, "-f", "lavfi", "-i", "testsrc2=s=320x240:r=30:d=20", "-c:v", "mpeg4",
               "-q:v", "20", str(folder / "l1.mp4"))
    for name in ("l2.mp4", "l3.mp4"):
        shutil.copy(folder / "l1.mp4", folder / name)
    return folder


def interrupt_batch(gen_ffmpeg: str, inputs: Path, out: Path, how: str, *options: str) -> None:
    """Start a batch, signal it while two ffmpeg write, check that it cleaned up after itself."""
    report = out.parent / "report.json"
    proc = subprocess.Popen(
        [sys.executable, "-m", "ffmotion", "batch", str(inputs), "-o", str(out),
         "--preset", "veryslow", "--report", str(report), *options],
        stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        start_new_session=True)  # its own process group, like a shell job
    try:
        deadline = time.monotonic() + 30
        running: list[int] = []
        while time.monotonic() < deadline and proc.poll() is None:
            temps = [p for p in out.iterdir() if ".ffmotion-tmp" in p.name] if out.is_dir() else []
            running = _ffmpeg_mentioning(str(out))
            if len(temps) >= 2 and len(running) >= 2 and all(p.stat().st_size for p in temps):
                break
            time.sleep(0.05)
        assert len(running) >= 2, "two ffmpeg should be writing when the signal comes"
        if how == "ctrl-c":  # a terminal sends SIGINT to the whole foreground group
            os.killpg(proc.pid, signal.SIGINT)
        else:  # a job system: SIGTERM to ffmotion alone
            proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=40)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    err_text = err.decode()
    assert proc.returncode == 130, err_text
    assert "interrupted" in err_text and "Traceback" not in err_text
    time.sleep(0.2)
    assert _ffmpeg_mentioning(str(out)) == []
    leftovers = sorted(p.name for p in out.iterdir())
    assert not [n for n in leftovers if ".ffmotion-tmp" in n]
    for name in leftovers:  # anything that is there finished before the signal: whole
        assert frame_count(gen_ffmpeg, out / name, (320, 240), "yuv420p") == 599
    records = json.loads(report.read_text())
    assert records["interrupted"] is True
    assert {j["status"] for j in records["jobs"]} <= {"done", "interrupted"}
    assert sum(j["status"] == "interrupted" for j in records["jobs"]) >= 2


@pytest.mark.skipif(not Path("/proc/self/cmdline").exists(), reason="needs /proc")
@pytest.mark.parametrize("how", ["ctrl-c", "sigterm"])
def test_interrupt_leaves_no_partial_output_and_no_ffmpeg(long_clips, gen_ffmpeg, tmp_path, how):
    interrupt_batch(gen_ffmpeg, long_clips, tmp_path / "out", how, "--jobs", "2")


def test_emitted_stabilized_job_runs_both_passes(tmp_path, gen_ffmpeg, monkeypatch):
    """With --stabilize a job is pass 1 && pass 2 on one line, runnable with an empty cache."""
    src = make_clip(gen_ffmpeg, tmp_path / "shaky.mp4", codec="libx264", frames=20)
    monkeypatch.setenv("FFMOTION_CACHE", str(tmp_path / "cache-run"))
    assert cli.main(["batch", str(src), "-o", str(tmp_path / "ran"), "-k", "2", "--stabilize",
                     "-q"]) == 0
    monkeypatch.setenv("FFMOTION_CACHE", str(tmp_path / "cache-emit" / "nested"))
    script = tmp_path / "jobs.sh"
    assert cli.main(["batch", str(src), "-o", str(tmp_path / "emitted"), "-k", "2",
                     "--stabilize", "--emit-commands", str(script), "-q"]) == 0
    job_lines = [line for line in script.read_text().splitlines() if not line.startswith("#")]
    assert len(job_lines) == 1
    if "vidstabdetect" in job_lines[0]:
        assert " && " in job_lines[0]
    subprocess.run(["sh", str(script)], check=True, capture_output=True)
    name = "shaky_motion_k2.mp4"
    assert (tmp_path / "emitted" / name).read_bytes() == (tmp_path / "ran" / name).read_bytes()


def test_emitted_stabilized_sequence_job_leaves_only_the_images(tmp_path, gen_ffmpeg,
                                                                 monkeypatch):
    """Pass 1, the motions step and the motion graph in the job's own folder: only the images
    reach the output folder (the transforms and motions stay behind and go with the folder)."""
    src = make_clip(gen_ffmpeg, tmp_path / "shaky.mp4", codec="libx264", frames=12)
    monkeypatch.setenv("FFMOTION_CACHE", str(tmp_path / "cache"))
    script = tmp_path / "jobs.sh"
    assert cli.main(["batch", str(src), "-o", str(tmp_path / "emitted"), "-k", "2",
                     "--stabilize", "--stabilize-smoothing", "5", "--name", "{stem}_%03d.png",
                     "--emit-commands", str(script), "-q"]) == 0
    (line,) = [x for x in script.read_text().splitlines() if not x.startswith("#")]
    assert "vidstabdetect" in line and "debug=1" in line
    subprocess.run(["sh", str(script)], check=True, capture_output=True, timeout=120)
    names = sorted(p.name for p in (tmp_path / "emitted").iterdir())
    assert names == [f"shaky_{i:03d}.png" for i in range(1, 11)]
    ran = tmp_path / "ran"
    ran.mkdir()
    assert cli.main([str(src), str(ran / "shaky_%03d.png"), "-k", "2", "--stabilize",
                     "--stabilize-smoothing", "5", "-q"]) == 0
    for name in names:
        assert (ran / name).read_bytes() == (tmp_path / "emitted" / name).read_bytes()


def test_batch_applies_looks_and_ranges_like_a_single_run(footage, capsys, tmp_path):
    """Every single-file option reaches each job: a look preset plus a flag and a range."""
    flags = ["-k", str(K), "--look", "amplified", "--gain", "3", "--start", "2f", "--lossless"]
    code, err = run_cli(capsys, str(footage / "a.mkv"), "-o", str(tmp_path / "out"), *flags, "-q")
    assert code == 0, err
    single = tmp_path / "single.mkv"
    assert cli.main([str(footage / "a.mkv"), str(single), *flags, "-q"]) == 0
    batch_out = tmp_path / "out" / out_name("a.mkv")
    assert batch_out.read_bytes() == single.read_bytes()
    plain = tmp_path / "plain.mkv"
    assert cli.main([str(footage / "a.mkv"), str(plain), "-k", str(K), "--lossless", "-q"]) == 0
    assert plain.read_bytes() != single.read_bytes()  # the look was not ignored


def test_emitted_script_killed_halfway_leaves_no_output(tmp_path, gen_ffmpeg, capsys):
    """The script writes a temporary file and renames it: a failed job leaves no output."""
    src = make_clip(gen_ffmpeg, tmp_path / "gone.mkv", frames=FRAMES)
    script = tmp_path / "jobs.sh"
    code, err = run_cli(capsys, str(src), "-o", str(tmp_path / "out"), "-k", str(K),
                        "--emit-commands", str(script))
    assert code == 0, err
    line = [x for x in script.read_text().splitlines() if not x.startswith("#")][0]
    assert ".ffmotion-tmp" in line and " && ln " in line
    src.write_bytes(src.read_bytes()[:2000])  # the input breaks before the script runs
    done = subprocess.run(["sh", str(script)], capture_output=True)
    assert done.returncode != 0
    assert not (tmp_path / "out" / out_name("gone.mkv")).exists()
