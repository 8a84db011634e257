"""Same options, byte-identical file: the printed command writes the same bytes wherever it
runs, also for rotated (portrait) input.

x264 chooses its thread count from the CPUs the process may use, at most one thread per two
macroblock rows, and its bytes depend on that count: the same command run with another CPU
count (another machine, a container's CPU limit, taskset, a Dask worker) wrote another file.
A 160x120 landscape clip has 8 rows, its portrait turn 10, so rotated clips showed it first.
ffmotion now writes the count x264 would choose on the planning machine into the command.
"""
from __future__ import annotations

import hashlib
import os
import re
import shlex
import subprocess
from pathlib import Path

import pytest

import ffmotion
from ffmotion import api, graph
from ffmotion.pipeline import controller
from ffmotion.run import runner

from helpers import run_ffmpeg

RUNS = 8


def one_cpu() -> None:
    os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})


@pytest.fixture(scope="module")
def rotated(tmp_path_factory: pytest.TempPathFactory, gen_ffmpeg: str) -> Path:
    """160x120 H.264 shown turned 90 degrees (120x160), with sound, like a phone clip."""
    folder = tmp_path_factory.mktemp("rotated")
    upright = folder / "upright.mp4"
    run_ffmpeg(gen_ffmpeg, "-f", "lavfi", "-i",
               "testsrc2=s=160x120:r=30:d=1,format=yuv444p,noise=alls=30:allf=t+u,format=yuv420p",
               "-f", "lavfi", "-i", "sine=d=1", "-c:v", "libx264", "-preset", "ultrafast",
               "-c:a", "aac", str(upright))
    turned = folder / "rotated.mp4"
    run_ffmpeg(gen_ffmpeg, "-display_rotation", "90", "-i", str(upright), "-c", "copy",
               str(turned))
    return turned


@pytest.mark.skipif(not hasattr(os, "sched_setaffinity"), reason="needs Linux CPU affinity")
def test_printed_command_writes_the_same_bytes_with_any_cpu_count(rotated, gen_ffmpeg,
                                                                   tmp_path):
    if len(os.sched_getaffinity(0)) < 2:
        pytest.skip("one CPU: the CPU count cannot vary")
    argv = ffmotion.build_command(rotated, tmp_path / "out.mp4", 3, ffmpeg=gen_ffmpeg)
    digests = set()
    for i in range(RUNS):
        out = tmp_path / f"run{i}.mp4"
        done = subprocess.run(argv[:-1] + [str(out)], capture_output=True, timeout=120,
                              preexec_fn=one_cpu if i % 2 else None)
        assert done.returncode == 0, done.stderr[-2000:]
        digests.add(hashlib.sha256(out.read_bytes()).hexdigest())
    assert len(digests) == 1, shlex.join(argv)


def test_repeated_runs_of_a_rotated_clip_are_identical(rotated, gen_ffmpeg, tmp_path):
    digests = set()
    for i in range(6):
        out = tmp_path / f"api{i}.mp4"
        ffmotion.extract(rotated, out, 3, ffmpeg=gen_ffmpeg)
        digests.add(hashlib.sha256(out.read_bytes()).hexdigest())
    assert len(digests) == 1


@pytest.mark.parametrize("tune", ["psnr", "zerolatency"])
@pytest.mark.parametrize("size", ["64x24", "64x48", "48x64", "160x120", "120x160", "320x240",
                                  "1280x720"])
def test_the_count_is_x264s_own_choice_here(gen_ffmpeg, tmp_path, size, tune):
    """x264's automatic choice (its settings string in the file) is the count ffmotion writes:
    files made on this machine are the bytes they were before (zerolatency: live outputs,
    slice threads)."""
    out = tmp_path / "auto.mp4"
    run_ffmpeg(gen_ffmpeg, "-f", "lavfi", "-i", f"testsrc2=s={size}:r=30:d=0.2", "-c:v",
               "libx264", "-tune", tune, "-pix_fmt", "yuv420p", str(out))
    chosen = int(re.search(rb"threads=(\d+)", out.read_bytes()).group(1))
    height = int(size.split("x")[1])
    assert graph.encoder_threads("libx264", height, runner.cpus(),
                                 sliced=tune == "zerolatency") == chosen


def test_the_count_goes_to_x264_only(rotated, gen_ffmpeg, tmp_path):
    found = runner.tools(gen_ffmpeg)
    for name, pinned in (("o.mp4", True), ("o.mkv", True), ("o.webm", False),
                         ("o.avi", False)):
        plan = controller.prepare(api.make_request(rotated, tmp_path / name, 3), found)
        assert ("-threads:v" in graph.command(plan, gen_ffmpeg)) == pinned, name
