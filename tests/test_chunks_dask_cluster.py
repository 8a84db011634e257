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
import stat
import subprocess
import sys
import time
from pathlib import Path
from typing import Iterator, Optional

import pytest

from conftest import bundled_ffmpeg
from test_chunks import chunk_files, frames_md5

FF = bundled_ffmpeg()
DASK = Path(sys.executable).parent / "dask"
START_S = 90  # the scheduler and both workers up
RUN_S = 180  # one ffmotion run


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


def run_cli(*argv: str, timeout: float = RUN_S) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "ffmotion", *argv], stdin=subprocess.DEVNULL,
                          capture_output=True, text=True, timeout=timeout)


def _make(path: Path, seconds: float, size: str = "96x64") -> Path:
    subprocess.run([FF, "-hide_banner", "-nostdin", "-v", "error", "-y", "-f", "lavfi", "-i",
                    f"testsrc2=s={size}:r=30:d={seconds}", "-vf", "noise=alls=20:allf=t",
                    "-c:v", "libx264", "-preset", "ultrafast", "-g", "10", "-pix_fmt", "yuv420p",
                    str(path)], check=True, timeout=60)
    return path


@pytest.fixture(scope="module")
def clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _make(tmp_path_factory.mktemp("clip") / "in.mp4", 2)


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


def _slow_ffmpeg(folder: Path) -> Path:
    """An ffmpeg that renders chunks at the input's own rate (``-re``: 1 s for 30 frames, the
    pixels unchanged), so that a worker can be killed while its chunk is half-written."""
    script = folder / "slow-ffmpeg"
    script.write_text(f"#!/bin/sh\ncase \"$*\" in *ffmotion-tmp.nut*) exec {FF} -re \"$@\";; "
                      f"esac\nexec {FF} \"$@\"\n")
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    return script


def _writer_of_a_chunk(folder: Path, seconds: float) -> Optional[int]:
    """The PID in the name of a chunk's temporary (``.NAME.PID@HOST.XXXX.ffmotion-tmp.nut``)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        for name in os.listdir(folder):
            if name.endswith(".ffmotion-tmp.nut"):
                return int(name.rsplit("@", 1)[0].rsplit(".", 1)[1])
        time.sleep(0.02)
    return None


def test_a_worker_killed_mid_chunk(cluster, tmp_path):
    src = _make(tmp_path / "long.mp4", 4)
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    out = out_dir / "out.mkv"
    slow = _slow_ffmpeg(tmp_path)
    proc = subprocess.Popen([sys.executable, "-m", "ffmotion", str(src), str(out), "-k", "3",
                             "--lossless", "--chunks", "4", "--scheduler", cluster.address,
                             "--ffmpeg", str(slow)],
                            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    try:
        pid = _writer_of_a_chunk(out_dir, 60)
        assert pid is not None and cluster.owns(pid), pid
        os.kill(pid, signal.SIGKILL)
        _, err = proc.communicate(timeout=RUN_S)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=10)
    assert "Traceback" not in err
    if proc.returncode == 0:  # Dask ran the chunk again on a live worker
        one = single(src, tmp_path / "single.mkv", "-k", "3", "--lossless")
        assert frames_md5(out) == frames_md5(one), err
    else:
        errors = [line for line in err.splitlines() if line.startswith("ffmotion: error:")]
        assert len(errors) == 1, err
        assert not out.exists()
    assert chunk_files(out_dir) == []  # no segment, temporary or lock left either way
