"""``ffmotion batch --scheduler``: a real Dask distributed LocalCluster, no mocks.

The cluster (2 worker processes, 1 thread each) is started once for the module; the batch
runs as a separate ``python -m ffmotion`` process, as a user would run it.
"""
from __future__ import annotations

import json
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from test_batch import BAD, GOOD, K, baseline, files_in, footage, interrupt_batch, long_clips, out_name  # noqa: F401


def run_batch(*argv: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "ffmotion", "batch", *argv],
                          stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=120)


@pytest.fixture(scope="module")
def scheduler() -> str:
    distributed = pytest.importorskip("distributed")
    cluster = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                       dashboard_address=None)
    try:
        yield cluster.scheduler_address
    finally:
        cluster.close()


def test_dask_gives_the_local_files_report_and_exit_code(footage, baseline, scheduler, tmp_path):
    local_out, _ = baseline
    out = tmp_path / "out"
    report = tmp_path / "report.json"
    done = run_batch(str(footage), "-o", str(out), "-k", str(K), "--scheduler", scheduler,
                     "--report", str(report))
    assert done.returncode == 1, done.stderr
    assert "3 done, 0 skipped, 3 failed" in done.stderr
    assert files_in(out) == files_in(local_out)  # byte for byte, no temporary files left

    data = json.loads(report.read_text())
    assert data["backend"] == "dask"
    jobs = {Path(j["input"]).name: j for j in data["jobs"]}
    for name in GOOD:
        job = jobs[Path(name).name]
        assert job["status"] == "done" and job["frames"] == 24 - K
        assert job["output"] == str(out / out_name(name))
    for name, reason in BAD.items():
        assert jobs[name]["status"] == "failed" and reason in jobs[name]["error"]
        assert any(name in line and reason in line for line in done.stderr.splitlines()
                   if line.startswith("  failed: "))

    # resume on the cluster: finished outputs are skipped, the bad inputs still fail
    (out / out_name("a.mkv")).write_bytes(b"kept")
    again = run_batch(str(footage), "-o", str(out), "-k", str(K), "--scheduler", scheduler,
                      "--report", str(report))
    assert again.returncode == 1
    assert "0 done, 3 skipped, 3 failed" in again.stderr
    assert (out / out_name("a.mkv")).read_bytes() == b"kept"
    statuses = [j["status"] for j in json.loads(report.read_text())["jobs"]]
    assert sorted(statuses) == ["failed"] * 3 + ["skipped"] * 3


def test_dask_all_good_exits_zero(footage, baseline, scheduler, tmp_path):
    local_out, _ = baseline
    done = run_batch(str(footage / "a.mkv"), str(footage / "b.mkv"), "-o", str(tmp_path),
                     "-k", str(K), "--scheduler", scheduler)
    assert done.returncode == 0, done.stderr
    assert "2 done, 0 skipped, 0 failed" in done.stderr
    names = [out_name("a.mkv"), out_name("b.mkv")]
    assert files_in(tmp_path) == {n: (local_out / n).read_bytes() for n in names}


@pytest.mark.skipif(not Path("/proc/self/cmdline").exists(), reason="needs /proc")
def test_dask_interrupt_stops_the_workers_ffmpeg(long_clips, gen_ffmpeg, scheduler, tmp_path):
    # SIGTERM reaches only the client; the workers' ffmpeg must stop through the cancel event
    interrupt_batch(gen_ffmpeg, long_clips, tmp_path / "out", "sigterm", "--scheduler", scheduler)


def test_unreachable_scheduler_is_one_clear_error(footage, tmp_path):
    pytest.importorskip("distributed")
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    done = run_batch(str(footage / "a.mkv"), "-o", str(tmp_path / "out"), "--scheduler",
                     f"tcp://127.0.0.1:{port}", "--connect-timeout", "1")
    assert done.returncode == 1
    assert done.stderr.startswith("ffmotion: error: cannot reach the Dask scheduler at tcp://")
    assert done.stderr.count("\n") == 1
    assert not (tmp_path / "out").exists()


def test_missing_dask_extra_is_one_clear_error(footage, tmp_path):
    # run ffmotion where `import distributed` fails, as on an install without ffmotion[dask]
    code = ("import sys; sys.modules['distributed'] = None; from ffmotion.cli import main; "
            f"sys.exit(main(['batch', {str(footage / 'a.mkv')!r}, '-o', {str(tmp_path)!r}, "
            "'--scheduler', 'tcp://127.0.0.1:8786']))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.returncode == 1
    assert done.stderr == ("ffmotion: error: --scheduler needs Dask distributed: "
                           "pip install 'ffmotion[dask]'\n")
