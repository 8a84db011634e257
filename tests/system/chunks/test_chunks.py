"""Chunked runs (--chunks): real ffmpeg runs on small clips, the local pool and a real Dask
LocalCluster; the frames of a chunked run are compared with a single pass, bit for bit."""
from __future__ import annotations

import hashlib
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from ffmotion import api
from ffmotion.core import looks
from ffmotion.core.errors import UsageError
from ffmotion.graph.chunks import trail_warmup
from ffmotion.jobs import chunks as chunking
from ffmotion.pipeline import controller
from ffmotion.run import runner

from corpus import assert_in_sync, measure
from helpers import bundled_ffmpeg

FF = bundled_ffmpeg()
GOP = 12


def _make(path: Path, *args: str) -> Path:
    subprocess.run([FF, "-hide_banner", "-nostdin", "-v", "error", "-y", *args, str(path)],
                   check=True, timeout=120)
    return path


@pytest.fixture(scope="module")
def clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """3 s of noisy 96x64 H.264 (GOP 12, B-frames) with a tone."""
    folder = tmp_path_factory.mktemp("chunks")
    return _make(folder / "in.mp4", "-f", "lavfi", "-i", "testsrc2=s=96x64:r=30:d=3",
                 "-f", "lavfi", "-i", "sine=d=3", "-vf", "noise=alls=20:allf=t",
                 "-c:v", "libx264", "-g", str(GOP), "-bf", "2", "-pix_fmt", "yuv420p",
                 "-c:a", "aac", "-shortest")


def frames_md5(path: Path) -> tuple[int, str]:
    """(frames, hash of every decoded frame) of the first video stream."""
    out = subprocess.run([FF, "-v", "error", "-i", str(path), "-map", "0:v:0", "-f", "framemd5",
                          "-"], capture_output=True, text=True, check=True).stdout
    lines = [line.split(",")[-1].strip() for line in out.splitlines() if not line.startswith("#")]
    return len(lines), hashlib.md5("".join(lines).encode()).hexdigest()


def chunk_files(folder: Path) -> list[str]:
    return sorted(n for n in os.listdir(folder) if "ffmotion" in n)


def single_and_chunked(src: Path, folder: Path, cuts=None, chunks=3, client=None,
                       **kwargs) -> tuple[Path, Path, object]:
    tools = runner.tools(FF)
    one, many = folder / "single.mkv", folder / "chunked.mkv"
    controller.run(controller.prepare(api.make_request(src, one, lossless=True, **kwargs), tools), tools)
    plan = controller.prepare(api.make_request(src, many, lossless=True, **kwargs), tools)
    if callable(cuts):
        cuts = cuts(plan.out_frames)
    result = chunking.run_chunked(plan, tools, chunks, jobs=2, cuts=cuts, client=client)
    return one, many, result


# awkward boundaries: on a keyframe, one after it, K before the end (and a 1-frame chunk)
CASES = {
    "offset": ({"offset": 5}, lambda n: [0, GOP, GOP + 1, n - 5, n]),
    "freeze": ({"freeze": 40}, lambda n: [0, GOP, GOP + 1, n - 40, n]),
    "trails": ({"offset": 3, "look": "trails"}, lambda n: [0, GOP * 3, GOP * 3 + 1, n - 3, n]),
    "rgb-offsets": ({"offset": 2, "look": looks.resolve(None, rgb_offsets="1x,2x,3x")},
                    lambda n: [0, GOP, GOP + 1, n - 6, n]),
    "glow-dual": ({"offset": 6, "strategy": "dual", "look": looks.resolve(None, glow=0.5)},
                  lambda n: [0, 2 * GOP, n - 6, n]),
    "atadenoise": ({"offset": 3, "look": looks.resolve(None, denoise="atadenoise")},
                   lambda n: [0, 20, 41, n]),
    "range": ({"offset": 4, "start": "10f", "duration": "60f"}, lambda n: [0, GOP - 10, 30, n]),
}


@pytest.mark.parametrize("name", list(CASES))
def test_lossless_chunks_equal_the_single_pass(clip, tmp_path, name):
    kwargs, cuts = CASES[name]
    one, many, result = single_and_chunked(clip, tmp_path, cuts=cuts, **kwargs)
    assert result.chunks >= 3
    assert frames_md5(many) == frames_md5(one)
    assert chunk_files(tmp_path) == []  # no segment, listing or temporary left


def test_trail_warmup_is_needed_and_follows_decay_and_depth(clip, tmp_path, monkeypatch):
    assert trail_warmup(0.9, 8) == 61 and trail_warmup(0.9, 10) == 74
    assert trail_warmup(1.0, 8) is None and trail_warmup(0.5, 8) == 10
    monkeypatch.setattr("ffmotion.graph.chunks.trail_warmup", lambda decay, depth: 0)
    one, many, _ = single_and_chunked(clip, tmp_path, cuts=lambda n: [0, 40, n], offset=3,
                                      look="trails")
    assert frames_md5(many)[0] == frames_md5(one)[0]
    assert frames_md5(many) != frames_md5(one)  # without the warm-up the seam shows


def test_1080p_four_chunks_equal_the_single_pass(tmp_path):
    src = _make(tmp_path / "hd.mp4", "-f", "lavfi", "-i", "testsrc2=s=1920x1080:r=30:d=1",
                "-c:v", "libx264", "-preset", "ultrafast", "-g", "8", "-pix_fmt", "yuv420p")
    one, many, result = single_and_chunked(src, tmp_path, chunks=4, cuts=None, offset=3)
    assert result.chunks == 4
    assert frames_md5(many) == frames_md5(one)


@pytest.fixture(scope="module")
def dask_client():
    distributed = pytest.importorskip("distributed")
    cluster = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                       dashboard_address=None)
    client = distributed.Client(cluster)
    try:
        yield client
    finally:
        client.close()
        cluster.close()


@pytest.mark.parametrize("kwargs", [{"offset": 5}, {"freeze": 30, "look": "trails"}],
                         ids=["offset", "freeze-trails"])
def test_dask_local_cluster_chunks_equal_the_single_pass(clip, tmp_path, dask_client, kwargs):
    one, many, result = single_and_chunked(clip, tmp_path, cuts=lambda n: [0, GOP + 1, 50, n],
                                           client=dask_client, **kwargs)
    assert result.chunks == 3
    assert frames_md5(many) == frames_md5(one)
    assert chunk_files(tmp_path) == []


def run_cli(*argv: str, **kw) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "ffmotion", *argv, "--ffmpeg", FF],
                          capture_output=True, text=True, timeout=300, **kw)


def test_lossy_chunks_keep_count_timing_audio_and_quality(clip, tmp_path):
    exact = tmp_path / "exact.mkv"
    assert run_cli(str(clip), str(exact), "-k", "4", "--lossless").returncode == 0
    one, many = tmp_path / "one.mp4", tmp_path / "many.mp4"
    assert run_cli(str(clip), str(one), "-k", "4").returncode == 0
    done = run_cli(str(clip), str(many), "-k", "4", "--chunks", "3", "-j", "2")
    assert done.returncode == 0, done.stderr
    assert "3 chunks" in done.stderr

    def times(path: Path, stream: str) -> list[str]:
        out = subprocess.run([FF, "-v", "error", "-xerror", "-i", str(path), "-map", stream,
                              "-f", "framecrc", "-"], capture_output=True, text=True, check=True)
        return [",".join(line.split(",")[2:4]) for line in out.stdout.splitlines()
                if not line.startswith("#")]

    assert times(many, "0:v") == times(one, "0:v")  # same frames at the same times
    assert times(many, "0:a") == times(one, "0:a")  # the same audio, cut once

    def psnr(path: Path) -> list[float]:
        out = subprocess.run([FF, "-hide_banner", "-i", str(path), "-i", str(exact),
                              "-lavfi", "[0:v][1:v]psnr=stats_file=-", "-f", "null", "-"],
                             capture_output=True, text=True, check=True).stdout
        return [float(m) if m != "inf" else 99.0
                for m in re.findall(r"psnr_avg:(\S+)", out)]

    a, b = psnr(one), psnr(many)
    assert len(a) == len(b) == 86
    cuts = chunking.plan_chunks(controller.prepare(api.make_request(clip, many, offset=4,
                                                             overwrite=True),
                                            runner.tools(FF)), FF, 3, 2).cuts
    seams = [c + d for c in cuts[1:-1] for d in (-1, 0, 1)]
    mean = lambda xs: sum(xs) / len(xs)  # noqa: E731
    assert mean([b[i] for i in seams]) >= mean([a[i] for i in seams]) - 0.5, (a, b)


def test_audio_stays_in_sync(corpus, tmp_path):
    item = corpus["ts_late_video"]
    out = tmp_path / "out.mp4"
    done = run_cli(str(item.path), str(out), "-k", "2", "--chunks", "3", "-j", "2")
    assert done.returncode == 0, done.stderr
    assert_in_sync(measure(FF, out))


def _wait_for(predicate, seconds: float = 120) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return False


@pytest.fixture(scope="module")
def long_clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("long")
    return _make(folder / "long.mp4", "-f", "lavfi", "-i", "testsrc2=s=320x240:r=30:d=8",
                 "-c:v", "libx264", "-preset", "ultrafast", "-g", "10", "-pix_fmt", "yuv420p")


def _finished_segments(folder: Path) -> list[str]:
    return [n for n in os.listdir(folder) if n.endswith(".ffmotion-chunk.nut")]


def test_a_killed_run_resumes_from_its_finished_chunks(long_clip, tmp_path):
    out = tmp_path / "out.mkv"
    argv = [sys.executable, "-m", "ffmotion", str(long_clip), str(out), "-k", "3", "--lossless",
            "--chunks", "8", "-j", "1", "--ffmpeg", FF]
    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        assert _wait_for(lambda: len(_finished_segments(tmp_path)) >= 2)
        os.kill(proc.pid, signal.SIGKILL)  # the worker: no clean-up runs
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert not out.exists()
    kept = _finished_segments(tmp_path)
    assert len(kept) >= 2
    # a finished chunk that was damaged since is not taken as finished
    damaged = tmp_path / sorted(kept)[0]
    damaged.write_bytes(damaged.read_bytes()[:200])
    again = run_cli(str(long_clip), str(out), "-k", "3", "--lossless", "--chunks", "8", "-j", "1")
    assert again.returncode == 0, again.stderr
    reused = int(re.search(r"(\d+) reused", again.stderr).group(1))
    assert 1 <= reused == len(kept) - 1
    assert "not whole: made again" in again.stderr
    single = tmp_path / "single.mkv"
    assert run_cli(str(long_clip), str(single), "-k", "3", "--lossless").returncode == 0
    assert frames_md5(out) == frames_md5(single)
    assert chunk_files(tmp_path) == []


def test_a_failing_chunk_fails_the_run_with_its_reason(clip, tmp_path):
    out = tmp_path / "out.mkv"
    tools = runner.tools(FF)
    plan = controller.prepare(api.make_request(clip, out, offset=5, lossless=True), tools)
    planned = chunking.plan_chunks(plan, FF, 3, 2)
    Path(planned.tasks[1].segment).mkdir()  # chunk 2 cannot be written
    with pytest.raises(Exception) as failed:
        chunking.run_chunked(plan, tools, 3, jobs=2)
    assert "chunk 2 of 3" in str(failed.value) and "is a folder" in str(failed.value)
    assert not out.exists()
    Path(planned.tasks[1].segment).rmdir()
    done = run_cli(str(clip), str(out), "-k", "5", "--lossless", "--chunks", "3", "-j", "2")
    assert done.returncode == 0, done.stderr
    assert chunk_files(tmp_path) == []


def test_ctrl_c_leaves_no_chunk_files(long_clip, tmp_path):
    out = tmp_path / "out.mkv"
    proc = subprocess.Popen([sys.executable, "-m", "ffmotion", str(long_clip), str(out), "-k", "3",
                             "--lossless", "--chunks", "8", "-j", "1", "--ffmpeg", FF],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        assert _wait_for(lambda: len(_finished_segments(tmp_path)) >= 1)
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 130, err
    assert "Traceback" not in err
    assert chunk_files(tmp_path) == [] and not out.exists()


def test_print_command_shows_chunks_and_join_and_runs_as_printed(clip, tmp_path):
    out = tmp_path / "printed.mkv"
    done = run_cli(str(clip), str(out), "-k", "5", "--lossless", "--chunks", "3", "-j", "2",
                   "--print-command")
    assert done.returncode == 0, done.stderr
    line = done.stdout.strip()
    assert line.count(".ffmotion-chunk.nut") >= 6 and "-f concat" in line and "-c:v copy" in line
    subprocess.run(["bash", "-c", line], check=True, capture_output=True, timeout=120)
    single = tmp_path / "single.mkv"
    assert run_cli(str(clip), str(single), "-k", "5", "--lossless").returncode == 0
    assert frames_md5(out) == frames_md5(single)
    assert chunk_files(tmp_path) == []


def test_a_newline_in_the_output_folder(clip, tmp_path):
    """The concat script names the segments by their file names alone: any folder works."""
    folder = tmp_path / "card\n2"
    folder.mkdir()
    one, many, result = single_and_chunked(clip, folder, cuts=lambda n: [0, GOP, n], offset=5)
    assert result.chunks == 2
    assert frames_md5(many) == frames_md5(one)
    assert chunk_files(folder) == []


def test_refusals_and_auto(clip, tmp_path):
    bad = run_cli(str(clip), str(tmp_path / "o.gif"), "-k", "5", "--chunks", "3")
    assert bad.returncode == 2 and "--chunks writes video files" in bad.stderr
    assert len(bad.stderr.strip().splitlines()) == 1
    with pytest.raises(UsageError):
        chunking.parse_chunks("0")
    tools = runner.tools(FF)
    plan = controller.prepare(api.make_request(clip, tmp_path / "a.mkv", offset=5), tools)
    # a 3 s 96x64 clip is too short to pay for several ffmpeg starts: auto runs one chunk
    assert chunking.auto_chunks(plan, 8, 0) == 1
    assert chunking.min_chunk_frames(plan, 0) > plan.out_frames


def test_hqdn3d_warmup_makes_seams_exact(long_clip, tmp_path):
    one, many, result = single_and_chunked(long_clip, tmp_path, cuts=lambda n: [0, 100, n],
                                           offset=3, look=looks.resolve(None, denoise="hqdn3d"))
    assert result.chunks == 2
    assert frames_md5(many) == frames_md5(one)


def test_dask_run_survives_a_killed_worker(long_clip, tmp_path, dask_client):
    """A worker process killed by PID mid-chunk: Dask runs the chunk again elsewhere, the
    dead writer's temporary is removed, and the output still equals the single pass."""
    import threading

    tools = runner.tools(FF)
    out = tmp_path / "out.mkv"
    plan = controller.prepare(api.make_request(long_clip, out, offset=3, lossless=True), tools)
    pids = dask_client.run(os.getpid)
    result: dict = {}

    def go() -> None:
        try:
            result["value"] = chunking.run_chunked(plan, tools, 6, client=dask_client)
        except Exception as exc:  # noqa: BLE001 - reported below
            result["error"] = exc

    thread = threading.Thread(target=go)
    thread.start()
    assert _wait_for(lambda: any(".ffmotion-tmp" in n for n in os.listdir(tmp_path)), 60)
    os.kill(next(iter(pids.values())), signal.SIGKILL)
    thread.join(timeout=240)
    assert "error" not in result, result.get("error")
    single = tmp_path / "single.mkv"
    assert run_cli(str(long_clip), str(single), "-k", "3", "--lossless").returncode == 0
    assert frames_md5(out) == frames_md5(single)
    assert chunk_files(tmp_path) == []


def test_python_api_extract_with_chunks(clip, tmp_path):
    import ffmotion

    result = ffmotion.extract(clip, tmp_path / "api.mkv", 5, chunks=3, jobs=2, lossless=True,
                              ffmpeg=FF)
    assert (result.chunks, result.reused, result.frames) == (3, 0, 85)
    single = ffmotion.extract(clip, tmp_path / "one.mkv", 5, lossless=True, ffmpeg=FF)
    assert frames_md5(result.output) == frames_md5(single.output)
