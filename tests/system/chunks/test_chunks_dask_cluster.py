"""Chunked runs and batch on a Dask cluster started as a user starts one: ``dask scheduler``
and ``dask worker`` as separate processes (loopback only, started and stopped by PID, every
wait bounded), and ffmotion as a separate process with no Dask client of the test's around.

One cluster for the module (2 worker processes of 1 thread each, under a nanny that restarts
a killed one).
"""
from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
from pathlib import Path
from typing import Iterator, Optional

import pytest
from test_chunks import chunk_files, frames_md5

from chunk_tools import FF, finish, make_clip, run_cli, slow_ffmpeg, start_cli, writer_of_a_chunk

DASK = Path(sys.executable).parent / "dask"
START_S = 90  # the scheduler and both workers up


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _start(argv: list[str], log: Path) -> subprocess.Popen:
    """A process leading its own group (so the group is stopped with it), output to ``log``."""
    with open(log, "wb") as out:
        return subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=out, stderr=out,
                                start_new_session=True)


def _stop(proc: subprocess.Popen) -> None:
    """SIGTERM to the process group, SIGKILL after 10 s."""
    for sig, wait in ((signal.SIGTERM, 10), (signal.SIGKILL, 10)):
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            break
        try:
            proc.wait(timeout=wait)
            break
        except subprocess.TimeoutExpired:
            continue


def _workers_up(address: str, count: int, seconds: float) -> None:
    """Wait until ``count`` workers have joined (a client of its own, never the default)."""
    import distributed

    client = distributed.Client(address, timeout=seconds, set_as_default=False)
    try:
        client.wait_for_workers(count, timeout=seconds)
    finally:
        client.close()


class Cluster:
    def __init__(self, address: str, workers: subprocess.Popen) -> None:
        self.address, self.workers = address, workers

    def owns(self, pid: int) -> bool:
        """``pid`` is one of this cluster's worker processes (in the workers' group)."""
        try:
            return os.getpgid(pid) == self.workers.pid and pid != self.workers.pid
        except ProcessLookupError:
            return False


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    pytest.importorskip("distributed")
    if not DASK.is_file():
        pytest.skip(f"no dask command beside {sys.executable} (pip install distributed)")
    folder = tmp_path_factory.mktemp("cluster")
    port = _free_port()
    address = f"tcp://127.0.0.1:{port}"
    scheduler = _start([str(DASK), "scheduler", "--host", "127.0.0.1", "--port", str(port),
                        "--no-dashboard"], folder / "scheduler.log")
    workers: Optional[subprocess.Popen] = None
    try:
        workers = _start([str(DASK), "worker", address, "--nworkers", "2", "--nthreads", "1",
                          "--host", "127.0.0.1", "--no-dashboard", "--death-timeout", "60",
                          "--local-directory", str(folder / "work")], folder / "workers.log")
        _workers_up(address, 2, START_S)
        yield Cluster(address, workers)
    finally:
        if workers is not None:
            _stop(workers)
        _stop(scheduler)


@pytest.fixture(scope="module")
def clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_clip(tmp_path_factory.mktemp("clip") / "in.mp4", 2)


def single(src: Path, out: Path, *options: str) -> Path:
    done = run_cli(str(src), str(out), *options, "--ffmpeg", FF)
    assert done.returncode == 0, done.stderr
    return out


def test_chunks_on_a_separate_cluster_equal_the_single_pass(cluster, clip, tmp_path):
    out = tmp_path / "chunked.mkv"
    done = run_cli(str(clip), str(out), "-k", "3", "--lossless", "--chunks", "3",
                   "--scheduler", cluster.address, "--ffmpeg", FF)
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr and "3 chunks" in done.stderr
    one = single(clip, tmp_path / "single.mkv", "-k", "3", "--lossless")
    assert frames_md5(out) == frames_md5(one)
    assert chunk_files(tmp_path) == []


def test_batch_on_a_separate_cluster_equals_the_local_batch(cluster, clip, tmp_path):
    other = tmp_path / "b.mp4"
    other.write_bytes(clip.read_bytes())
    inputs = [str(clip), str(other)]
    local = run_cli("batch", *inputs, "-o", str(tmp_path / "local"), "-k", "2", "-j", "1",
                    "--ffmpeg", FF)
    assert local.returncode == 0, local.stderr
    done = run_cli("batch", *inputs, "-o", str(tmp_path / "dask"), "-k", "2",
                   "--scheduler", cluster.address, "--ffmpeg", FF)
    assert done.returncode == 0, done.stderr
    assert "2 done, 0 skipped, 0 failed" in done.stderr
    files = lambda d: {p.name: p.read_bytes() for p in (tmp_path / d).iterdir()}  # noqa: E731
    assert files("dask") == files("local") and len(files("local")) == 2


def test_a_worker_killed_mid_chunk(cluster, tmp_path):
    src = make_clip(tmp_path / "long.mp4", 4)
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    out = out_dir / "out.mkv"
    slow = slow_ffmpeg(tmp_path)
    proc = start_cli(str(src), str(out), "-k", "3", "--lossless", "--chunks", "4",
                     "--scheduler", cluster.address, "--ffmpeg", str(slow))
    try:
        pid = writer_of_a_chunk(out_dir, 60)
        assert pid is not None and cluster.owns(pid), pid
        os.kill(pid, signal.SIGKILL)
    finally:
        err = finish(proc)
    assert "Traceback" not in err
    if proc.returncode == 0:  # Dask ran the chunk again on a live worker
        one = single(src, tmp_path / "single.mkv", "-k", "3", "--lossless")
        assert frames_md5(out) == frames_md5(one), err
        assert chunk_files(out_dir) == []  # no segment, manifest, temporary or lock left
    else:  # one line; only finished segments (and manifests) kept, and said so
        errors = [line for line in err.splitlines() if line.startswith("ffmotion: error:")]
        assert len(errors) == 1, err
        assert not out.exists()
        left = chunk_files(out_dir)
        assert all(n.endswith((".ffmotion-chunk.nut", ".ffmotion-chunk.json")) for n in left)
        assert not left or "a rerun resumes from them" in errors[0]


def test_a_failed_run_resumes_on_the_cluster(cluster, clip, tmp_path):
    """Segments and manifests written by the workers are verified and reused by workers."""
    from ffmotion import api
    from ffmotion.jobs import chunks as chunking
    from ffmotion.pipeline import controller
    from ffmotion.run import runner

    out = tmp_path / "out.mkv"
    tools = runner.tools(FF)
    whole = controller.prepare(api.make_request(clip, out, offset=3, lossless=True), tools)
    blocked = chunking.plan_chunks(whole, FF, 3, 2).segments()[2]
    blocked.mkdir()  # chunk 3 cannot be written
    args = [str(clip), str(out), "-k", "3", "--lossless", "--chunks", "3",
            "--scheduler", cluster.address, "--ffmpeg", FF]
    failed = run_cli(*args)
    assert failed.returncode == 1
    assert "chunk 3 of 3" in failed.stderr and "a rerun resumes from them" in failed.stderr
    blocked.rmdir()
    again = run_cli(*args)
    assert again.returncode == 0, again.stderr
    assert "2 reused" in again.stderr
    one = single(clip, tmp_path / "single.mkv", "-k", "3", "--lossless")
    assert frames_md5(out) == frames_md5(one)
    assert chunk_files(tmp_path) == []
