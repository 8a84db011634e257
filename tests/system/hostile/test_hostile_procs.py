"""Hangs, resources, processes and signals: nothing blocks for ever, no child outlives us.

Every case runs the real command in a subprocess with a bound on its time, and checks the
exit code, the one-line message (no traceback), and that no process or temporary file is
left. Children are found by PID (``/proc/PID/task/*/children``), never by name: other
people run ffmpeg on this machine.
"""
from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Callable, Optional

import pytest

from helpers import run_ffmpeg

TEMP = ".ffmotion-tmp"
HAS_PROC = Path("/proc/self/task").is_dir()
needs_proc = pytest.mark.skipif(not HAS_PROC, reason="needs /proc (Linux)")
SLEEP = shutil.which("sleep") or "/bin/sleep"
HANGING = f"{SLEEP} 300 "  # the command line of a fake tool's hang


@pytest.fixture
def env(tmp_path: Path, gen_ffmpeg: str) -> dict[str, str]:
    return {**os.environ, "FFMOTION_FFMPEG": gen_ffmpeg, "FFMOTION_CACHE": str(tmp_path / "cache")}


def ffmotion(env: dict[str, str], *args: str, timeout: float = 120,
             stdout: Optional[int] = None) -> tuple[int, str, str]:
    done = subprocess.run([sys.executable, "-m", "ffmotion", *args], stdin=subprocess.DEVNULL,
                          stdout=stdout if stdout is not None else subprocess.PIPE,
                          stderr=subprocess.PIPE, env=env, timeout=timeout)
    return (done.returncode, (done.stdout or b"").decode("utf-8", "replace"),
            done.stderr.decode("utf-8", "replace"))


def one_line(err: str, *needles: str) -> None:
    """stderr has exactly one ``ffmotion: error:`` line, containing every needle, and no
    traceback (also none printed at interpreter shutdown)."""
    assert "Traceback" not in err and "Exception ignored" not in err, err
    lines = [line for line in err.splitlines() if line.startswith("ffmotion: error:")]
    assert len(lines) == 1, err
    for needle in needles:
        assert needle in lines[0], err


@pytest.fixture(scope="module")
def short_clip(tmp_path_factory: pytest.TempPathFactory, gen_ffmpeg: str) -> Path:
    path = tmp_path_factory.mktemp("short") / "short.mp4"
    run_ffmpeg(gen_ffmpeg, "-f", "lavfi", "-i", "testsrc2=s=160x120:r=30:d=1", "-c:v", "libx264",
               "-preset", "ultrafast", str(path))
    return path


@pytest.fixture(scope="module")
def long_clip(tmp_path_factory: pytest.TempPathFactory, gen_ffmpeg: str) -> Path:
    """320x240, long enough that a slow preset keeps ffmpeg busy while a test kills it."""
    path = tmp_path_factory.mktemp("long") / "long.mp4"
    run_ffmpeg(gen_ffmpeg, "-f", "lavfi", "-i", "testsrc2=s=320x240:r=30:d=30", "-c:v", "libx264",
               "-preset", "ultrafast", str(path))
    return path


# -- processes, by PID ------------------------------------------------------------------

def children(pid: int) -> set[int]:
    """PIDs of the direct children of ``pid`` (every thread's)."""
    found: set[int] = set()
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            found.update(int(p) for p in (task / "children").read_text().split())
        except OSError:
            pass
    return found


def cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode("utf-8", "replace")
    except OSError:
        return ""


def alive(pid: int, command: str) -> bool:
    """``pid`` still runs ``command`` (and is not a zombie waiting to be reaped)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state != "Z" and cmdline(pid) == command


def wait_for(test: Callable[[], bool], seconds: float = 60) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if test():
            return True
        time.sleep(0.05)
    return test()


def temps(folder: Path) -> list[Path]:
    return [p for p in folder.iterdir() if TEMP in p.name]


def encoding_children(pid: int, folder: Path) -> dict[int, str]:
    """The children of ``pid`` writing a temporary file in ``folder``, with their command."""
    found = {}
    for child in children(pid):
        command = cmdline(child)
        if str(folder) in command and TEMP in command:
            found[child] = command
    return found


def start_encoding(env: dict[str, str], src: Path, out: Path,
                   *extra: str) -> tuple[subprocess.Popen, dict[int, str]]:
    """Start ``ffmotion SRC OUT`` with a slow preset; return once its ffmpeg has written
    frames to the temporary file, with that ffmpeg's PID and command."""
    proc = subprocess.Popen([sys.executable, "-m", "ffmotion", str(src), str(out), "-k", "2",
                             "--preset", "veryslow", *extra], stdin=subprocess.DEVNULL,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    found: dict[int, str] = {}

    def writing() -> bool:
        found.update(encoding_children(proc.pid, out.parent))
        return bool(found) and any(p.stat().st_size > 0 for p in temps(out.parent))

    if not wait_for(writing):
        proc.kill()
        proc.communicate()
        pytest.fail("ffmpeg never started writing")
    return proc, found


# -- hangs -------------------------------------------------------------------------------

def test_fifo_input_is_refused_not_read(env, tmp_path):
    fifo = tmp_path / "clip.mp4"
    os.mkfifo(fifo)
    code, _, err = ffmotion(env, str(fifo), str(tmp_path / "o.mp4"), timeout=60)
    assert code == 2
    one_line(err, "not a regular file", "clip.mp4")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["clip.mp4"]


def test_fifo_in_a_batch_folder_is_skipped_and_named_fails(env, tmp_path, short_clip):
    folder = tmp_path / "in"
    folder.mkdir()
    shutil.copy(short_clip, folder / "a.mp4")
    os.mkfifo(folder / "b.mp4")
    out = tmp_path / "out"
    code, _, err = ffmotion(env, "batch", str(folder), "-o", str(out), "-q", timeout=60)
    assert code == 0, err
    assert "1 done, 0 skipped, 0 failed" in err
    assert sorted(p.name for p in out.iterdir()) == ["a_motion_k1.mp4"]
    code, _, err = ffmotion(env, "batch", str(folder / "b.mp4"), str(folder / "a.mp4"),
                            "-o", str(out), "-q", timeout=60)
    assert code == 1 and "Traceback" not in err, err
    failed = [line for line in err.splitlines() if line.startswith("  failed: ")]
    assert len(failed) == 1 and "b.mp4" in failed[0] and "not a regular file" in failed[0], err


def write_script(path: Path, body: str) -> Path:
    path.write_text("#!/bin/sh\n" + body)
    path.chmod(0o755)
    return path


def pids_in(path: Path) -> list[int]:
    return [int(p) for p in path.read_text().split()] if path.exists() else []


@needs_proc
def test_a_hanging_ffprobe_is_never_started(env, tmp_path, gen_ffmpeg, short_clip):
    tools = tmp_path / "bin"
    tools.mkdir()
    (tools / "ffmpeg").symlink_to(gen_ffmpeg)
    started = tmp_path / "pids"
    write_script(tools / "ffprobe", f'echo $$ >> "{started}"\nexec {SLEEP} 300\n')
    run = {**env, "FFMOTION_FFMPEG": str(tools / "ffmpeg"), "FFMOTION_PROBE_TIMEOUT": "1"}
    code, _, err = ffmotion(run, str(short_clip), str(tmp_path / "o.mp4"), timeout=60)
    # the probe is one ffmpeg run: an ffprobe beside it, hanging or not, is never started
    assert code == 0, err
    assert not pids_in(started) and (tmp_path / "o.mp4").exists()


@needs_proc
def test_ffmpeg_that_hangs_after_version_times_out(env, tmp_path, short_clip):
    started = tmp_path / "pids"
    fake = write_script(tmp_path / "ffmpeg", f"""
for arg in "$@"; do
  if [ "$arg" = -version ]; then echo "ffmpeg version 9.9-fake Copyright"; exit 0; fi
  if [ "$arg" = -encoders ]; then echo "ffmpeg version 9.9-fake Copyright" >&2
    printf ' ------\n V....D libx264 H.264\n'; exit 0; fi
done
echo $$ >> "{started}"
exec {SLEEP} 300
""")
    run = {**env, "FFMOTION_HELPER_TIMEOUT": "1", "FFMOTION_PROBE_TIMEOUT": "1",
           "PATH": str(tmp_path)}  # no ffprobe: ffmpeg probes too
    run.pop("FFMOTION_FFMPEG")
    code, _, err = ffmotion(run, "--ffmpeg", str(fake), str(short_clip), str(tmp_path / "o.mp4"),
                            timeout=60)
    assert code == 1
    one_line(err, "did not finish within 1 s")
    code, _, err = ffmotion(run, "batch", "--ffmpeg", str(fake), str(short_clip), "-o",
                            str(tmp_path / "out"), timeout=60)
    assert code == 1 and "Traceback" not in err, err
    failed = [line for line in err.splitlines() if line.startswith("  failed: ")]
    assert len(failed) == 1 and "did not finish within 1 s" in failed[0], err
    assert len(pids_in(started)) >= 2
    assert not any(alive(p, HANGING) for p in pids_in(started))
    assert not (tmp_path / "o.mp4").exists()


def test_glob_over_a_looping_link_terminates(env, tmp_path, short_clip):
    folder = tmp_path / "tree" / "a"
    folder.mkdir(parents=True)
    shutil.copy(short_clip, folder / "x.mp4")
    (folder / "up").symlink_to("..")
    (folder / "top").symlink_to("../..")
    for pattern in (f"{tmp_path}/tree/**/*.mp4", f"{tmp_path}/tree/**"):
        code, out, err = ffmotion(env, "batch", pattern, "-o", str(tmp_path / "out"),
                                  "--emit-commands", "-", "-q", timeout=60)
        assert code == 0, err
        jobs = [line for line in out.splitlines() if not line.startswith("#") and line.strip()]
        assert len(jobs) == 1 and "x.mp4" in jobs[0], out


def test_input_list_is_bounded(env, tmp_path):
    code, _, err = ffmotion(env, "batch", "--input-list", "/dev/zero", "-o", str(tmp_path / "o"),
                            timeout=60)
    assert code == 2
    one_line(err, "/dev/zero", "longer than 16 MiB")
    assert not (tmp_path / "o").exists()


# -- processes and signals ---------------------------------------------------------------

@needs_proc
def test_sigkill_takes_ffmpeg_along_and_a_rerun_removes_the_temp(env, tmp_path, long_clip):
    out = tmp_path / "o.mp4"
    proc, ffmpegs = start_encoding(env, long_clip, out)
    proc.kill()
    proc.communicate()
    assert wait_for(lambda: not any(alive(p, c) for p, c in ffmpegs.items()), 10), ffmpegs
    left = temps(tmp_path)
    assert len(left) == 1 and f"{proc.pid}@" in left[0].name  # the writer, named
    # a rerun (of the same output) removes what the killed run left
    code, _, err = ffmotion(env, str(long_clip), str(out), "-k", "2", "--duration", "5f")
    assert code == 0, err
    assert temps(tmp_path) == [] and out.exists()


def start_batch(env: dict[str, str], clip: Path,
                tmp_path: Path) -> tuple[subprocess.Popen, dict[int, str], Path]:
    """A local batch of two slow jobs at once (ffmpeg started from pool threads), returned
    once both ffmpeg write frames."""
    inputs = tmp_path / "in"
    inputs.mkdir()
    for name in ("a.mp4", "b.mp4"):
        os.link(clip, inputs / name)
    out = tmp_path / "out"
    proc = subprocess.Popen([sys.executable, "-m", "ffmotion", "batch", str(inputs), "-o", str(out),
                             "-j", "2", "-k", "2", "--preset", "veryslow"],
                            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, env=env)
    found: dict[int, str] = {}

    def writing() -> bool:
        found.update(encoding_children(proc.pid, out))
        return (len(found) == 2 and out.is_dir()
                and sum(p.stat().st_size > 0 for p in temps(out)) == 2)

    if not wait_for(writing):
        proc.kill()
        proc.communicate()
        pytest.fail("the batch's ffmpeg never started writing")
    return proc, found, out


@needs_proc
def test_batch_sigkill_takes_the_pool_threads_ffmpeg_along(env, tmp_path, long_clip):
    proc, ffmpegs, out = start_batch(env, long_clip, tmp_path)
    proc.kill()
    proc.communicate()
    assert wait_for(lambda: not any(alive(p, c) for p, c in ffmpegs.items()), 10), ffmpegs
    assert len(temps(out)) == 2


@needs_proc
def test_batch_sighup_stops_every_ffmpeg(env, tmp_path, long_clip):
    proc, ffmpegs, out = start_batch(env, long_clip, tmp_path)
    proc.send_signal(signal.SIGHUP)
    _, err = proc.communicate(timeout=60)
    text = err.decode("utf-8", "replace")
    assert proc.returncode == 130, text
    one_line(text, "interrupted", "(SIGHUP)")
    assert not any(alive(p, c) for p, c in ffmpegs.items())
    assert list(out.iterdir()) == []


@needs_proc
def test_watchdog_kills_ffmpeg_without_the_parent_death_signal(env, tmp_path, long_clip):
    """Where prctl is missing (not Linux), a watchdog process beside each child kills it when
    ffmotion is gone; FFMOTION_WATCHDOG=1 uses it on Linux instead of prctl."""
    out = tmp_path / "o.mp4"
    proc, ffmpegs = start_encoding({**env, "FFMOTION_WATCHDOG": "1"}, long_clip, out)
    dogs = {pid: cmdline(pid) for pid in children(proc.pid) if "killpg" in cmdline(pid)}
    assert dogs, children(proc.pid)
    proc.kill()
    proc.communicate()
    assert wait_for(lambda: not any(alive(p, c) for p, c in ffmpegs.items()), 10), ffmpegs
    assert wait_for(lambda: not any(alive(p, c) for p, c in dogs.items()), 10), dogs


@needs_proc
def test_a_live_writers_temporary_is_kept(env, tmp_path, short_clip):
    # another batch writing into the same folder: its temporary (a live PID) stays
    out = tmp_path / "out"
    out.mkdir()
    live = out / f".x_motion_k1.{os.getpid()}@{os.uname().nodename.split('.')[0]}.abcd1234{TEMP}.mp4"
    live.write_bytes(b"in progress")
    code, _, err = ffmotion(env, "batch", str(short_clip), "-o", str(out), "-q")
    assert code == 0, err
    assert live.read_bytes() == b"in progress"
    assert "temporary file(s) of an interrupted run" in err


@needs_proc
@pytest.mark.parametrize("signum", [signal.SIGHUP, signal.SIGQUIT, signal.SIGTERM],
                         ids=["SIGHUP", "SIGQUIT", "SIGTERM"])
def test_stop_signals_stop_ffmpeg_and_remove_the_temp(env, tmp_path, long_clip, signum):
    out = tmp_path / "o.mp4"
    proc, ffmpegs = start_encoding(env, long_clip, out)
    proc.send_signal(signum)
    _, err = proc.communicate(timeout=60)
    text = err.decode("utf-8", "replace")
    assert proc.returncode == 130, text
    one_line(text, "interrupted", f"({signum.name})")
    assert not any(alive(p, c) for p, c in ffmpegs.items())
    assert list(tmp_path.iterdir()) == []


@needs_proc
def test_second_sigterm_during_exit(env, tmp_path, long_clip):
    out = tmp_path / "o.mp4"
    proc, ffmpegs = start_encoding(env, long_clip, out)
    proc.send_signal(signal.SIGTERM)
    for _ in range(5):
        time.sleep(0.01)
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=60)
    text = err.decode("utf-8", "replace")
    assert proc.returncode == 130, text
    one_line(text, "interrupted")
    assert not any(alive(p, c) for p, c in ffmpegs.items())
    assert list(tmp_path.iterdir()) == []


# -- Dask --------------------------------------------------------------------------------

def test_scheduler_address_and_timeout_are_checked_at_once(env, tmp_path, short_clip):
    pytest.importorskip("distributed")
    for extra, needle in ((["--scheduler", "foo://127.0.0.1:1"], "unknown address scheme 'foo'"),
                          (["--scheduler", "tcp://127.0.0.1:1", "--connect-timeout", "nan"],
                           "--connect-timeout"),
                          (["--scheduler", "tcp://127.0.0.1:1", "--connect-timeout", "inf"],
                           "--connect-timeout"),
                          (["--scheduler", "tcp://127.0.0.1:1", "--connect-timeout", "-1"],
                           "--connect-timeout")):
        # bounded well below distributed's 20 s stall
        code, _, err = ffmotion(env, "batch", str(short_clip), "-o", str(tmp_path / "o"), *extra,
                                timeout=15)
        assert code == 2, err
        one_line(err, needle)


@contextlib.contextmanager
def dask_batch(env: dict[str, str], tmp_path: Path, clip: Path):
    """A ``dask scheduler`` and a ``dask worker`` (no nanny) as processes, and a batch of
    three slow jobs on them, yielded once the worker's ffmpeg writes frames:
    ``(address, scheduler, worker, batch, ffmpegs, out)``."""
    pytest.importorskip("distributed")
    info = tmp_path / "scheduler.json"
    quiet: dict = {"stdin": subprocess.DEVNULL, "stdout": subprocess.DEVNULL,
                   "stderr": subprocess.DEVNULL, "env": env}
    scheduler = subprocess.Popen([sys.executable, "-m", "distributed.cli.dask_scheduler",
                                  "--host", "127.0.0.1", "--port", "0", "--no-dashboard",
                                  "--scheduler-file", str(info)], **quiet)
    worker = batch = None
    try:
        assert wait_for(lambda: info.exists() and info.stat().st_size > 0, 30)
        time.sleep(0.2)
        address = json.loads(info.read_text())["address"]
        worker = subprocess.Popen([sys.executable, "-m", "distributed.cli.dask_worker", address,
                                   "--nthreads", "2", "--no-nanny", "--no-dashboard"], **quiet)
        inputs = tmp_path / "in"
        inputs.mkdir()
        for name in ("a.mp4", "b.mp4", "c.mp4"):
            os.link(clip, inputs / name)  # three inputs, no copies
        out = tmp_path / "out"
        batch = subprocess.Popen([sys.executable, "-m", "ffmotion", "batch", str(inputs), "-o",
                                  str(out), "-k", "2", "--preset", "veryslow", "--scheduler",
                                  address], stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                 stderr=subprocess.PIPE, env=env)
        ffmpegs: dict[int, str] = {}

        def writing() -> bool:
            ffmpegs.update(encoding_children(worker.pid, out))
            return bool(ffmpegs) and out.is_dir() and any(p.stat().st_size > 0 for p in temps(out))

        assert wait_for(writing, 60), "the worker never started ffmpeg"
        yield address, scheduler, worker, batch, ffmpegs, out
    finally:
        for proc in (batch, worker, scheduler):
            if proc is not None and proc.poll() is None:
                proc.kill()
                proc.wait()


@needs_proc
def test_scheduler_killed_mid_batch(env, tmp_path, long_clip):
    with dask_batch(env, tmp_path, long_clip) as (address, scheduler, worker, batch, ffmpegs, out):
        scheduler.kill()
        _, err = batch.communicate(timeout=30)
        text = err.decode("utf-8", "replace")
        assert batch.returncode == 1, text
        assert "Traceback" not in text and "NoneType" not in text, text
        failed = [line for line in text.splitlines() if line.startswith("  failed: ")]
        assert len(failed) == 3, text
        assert all(f"lost the Dask scheduler at {address}" in line for line in failed), text
        # the worker stops its tasks' ffmpeg when it loses the scheduler, and then exits
        assert wait_for(lambda: not any(alive(p, c) for p, c in ffmpegs.items()), 20), ffmpegs
        assert wait_for(lambda: worker.poll() is not None, 30)
        assert temps(out) == []


@needs_proc
def test_dask_worker_killed_takes_its_ffmpeg_along(env, tmp_path, long_clip):
    with dask_batch(env, tmp_path, long_clip) as (address, scheduler, worker, batch, ffmpegs, out):
        worker.kill()
        worker.wait()
        assert wait_for(lambda: not any(alive(p, c) for p, c in ffmpegs.items()), 10), ffmpegs
        batch.kill()  # its tasks wait for a worker that will not come
        batch.wait()
        left = temps(out)
        assert left and all(f"{worker.pid}@" in p.name for p in left)
        # a rerun removes what the killed worker left (same host, writer dead)
        code, _, err = ffmotion(env, "batch", str(tmp_path / "in"), "-o", str(out),
                                "--emit-commands", str(tmp_path / "jobs.sh"), "-q")
        assert code == 0, err
        assert temps(out) == [] and f"removed {len(left)} temporary file(s)" in err


# -- one line, never a traceback ---------------------------------------------------------

def test_ffprobe_with_null_streams(env, tmp_path, gen_ffmpeg, short_clip):
    tools = tmp_path / "bin"
    tools.mkdir()
    (tools / "ffmpeg").symlink_to(gen_ffmpeg)
    write_script(tools / "ffprobe", "echo '{\"streams\": null}'\n")
    run = {**env, "FFMOTION_FFMPEG": str(tools / "ffmpeg")}
    out = tmp_path / "o.mp4"
    code, _, err = ffmotion(run, str(short_clip), str(out), "-q")
    assert code == 0 and "Traceback" not in err, err  # ffmpeg alone has the last word
    assert out.stat().st_size > 0


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="needs /dev/full")
def test_stdout_on_dev_full(env, tmp_path, short_clip):
    with open("/dev/full", "wb") as full:
        for argv in ([str(short_clip), str(tmp_path / "o.mp4"), "--print-command"],
                     ["energy", str(short_clip), "-q"],
                     ["looks"]):
            code, _, err = ffmotion(env, *argv, stdout=full.fileno())
            assert code == 1, (argv, err)
            one_line(err, "stdout", "No space left on device")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.filterwarnings("error::pytest.PytestUnhandledThreadExceptionWarning")
def test_ffmpeg_first_error_line_is_never_lost(tmp_path):
    """The stderr reader must read everything before the pipe is closed (it used to be
    closed under it: the first line, the root cause, was sometimes lost)."""
    from ffmotion.core.errors import FFmpegFailed
    from ffmotion.run import runner

    fake = write_script(tmp_path / "ffmpeg", 'echo "[in#0] Error opening input: boom" >&2\nexit 1\n')
    for _ in range(200):
        with pytest.raises(FFmpegFailed) as failed:
            runner.run_ffmpeg([str(fake), "-i", "x"])
        assert str(failed.value) == "ffmpeg failed (exit 1): Error opening input: boom"


@pytest.mark.parametrize("name, crf, needle", [
    ("o.mp4", "52", "0 to 51"), ("o.webm", "64", "0 to 63"), ("o.avi", "0", "1 to 31"),
])
def test_crf_outside_the_encoder_range(env, tmp_path, short_clip, name, crf, needle):
    code, _, err = ffmotion(env, str(short_clip), str(tmp_path / name), "--crf", crf)
    assert code == 2
    one_line(err, f"--crf {crf}", needle)
    code, _, err = ffmotion(env, "batch", str(short_clip), "-o", str(tmp_path / "out"), "--crf", crf,
                            "--name", "{stem}" + Path(name).suffix)
    assert code == 2  # before any job runs
    one_line(err, f"--crf {crf}", needle)
    assert list(tmp_path.iterdir()) == []


def test_threads_ffmpeg_would_refuse(env, tmp_path, short_clip):
    for argv in ([str(short_clip), str(tmp_path / "o.mp4")],
                 ["batch", str(short_clip), "-o", str(tmp_path / "out")]):
        code, _, err = ffmotion(env, *argv, "--threads", "3000000000")
        assert code == 2
        one_line(err, "--threads must be 1 to 1024")
    assert list(tmp_path.iterdir()) == []
