"""``bench.py --sections chunks``: one input over several workers (ffmotion --chunks).

* per-chunk overhead: the same clip as 1 chunk and as N chunks on ONE worker (sequential):
  (sum of chunk times - single pass) / (N - 1) is what each extra chunk costs (ffmpeg start,
  seek, the K-frame overlap and warm-up decoded twice); the join is timed on its own; and
  directly: chunks of 1 and 31 frames on a keyframe and mid-GOP (fixed cost, per frame).
* speed-up: a Dask LocalCluster with W single-threaded workers (processes), W = 1 and 2 (or
  --chunk-workers), each chunk's ffmpeg pinned to one thread (decoder/filter ``--threads 1``,
  x264 ``threads=1``), the run cut into W chunks; and the model it implies: time(W) = max over
  workers of their chunks' time + join.
"""
from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

from ffmotion import api
from ffmotion.run import runner
from ffmotion.jobs import chunks as chunking
from ffmotion.jobs.executors import LocalExecutor


def _plan(src: Path, dst: Path, k: int, tools: runner.Tools) -> Any:
    options = api.make_options(src, dst, k, threads=1, overwrite=True, audio=False,
                               encoder_opts={"x264-params": "threads=1"})
    return api.prepare(options, tools)


def _model(chunk_seconds: tuple[float, ...], workers: int, join: float) -> float:
    """Longest-first greedy assignment of the measured chunk times to W workers + join."""
    loads = [0.0] * workers
    for s in sorted(chunk_seconds, reverse=True):
        loads[loads.index(min(loads))] += s
    return max(loads) + join


def run(src: Path, work: Path, tools: runner.Tools, k: int = 12, overhead_chunks: int = 8,
        workers: tuple[int, ...] = (1, 2)) -> dict[str, Any]:
    out: dict[str, Any] = {"clip": src.name, "k": k, "loadavg_start": os.getloadavg()}
    dst = work / "chunks-out.mp4"
    plan = _plan(src, dst, k, tools)
    started = time.perf_counter()
    api.run(plan, tools)
    single = time.perf_counter() - started
    out["single_pass_s"] = round(single, 2)
    print(f"bench chunks: single pass {single:.1f} s", flush=True)

    planned = chunking.plan_chunks(plan, tools.ffmpeg, overhead_chunks, 1)
    with LocalExecutor(1) as ex:
        started = time.perf_counter()
        done = chunking.execute(planned, tools, ex)
        total = time.perf_counter() - started
    extra = (sum(done.chunk_seconds) - single) / (len(done.chunk_seconds) - 1)
    out["sequential"] = {"chunks": len(done.chunk_seconds), "total_s": round(total, 2),
                         "chunk_s": done.chunk_seconds, "join_s": done.join_seconds,
                         "overhead_per_chunk_s": round(extra, 3),
                         "decoded_fraction": float(chunking.chunk_fraction(planned))}
    per_frame = single / plan.out_frames
    out["min_chunk_frames_for_5pct"] = (round(extra / (0.05 * per_frame)) if extra > 0 else 1)
    out["auto_min_chunk_frames"] = chunking.min_chunk_frames(plan, 0)
    print(f"bench chunks: {overhead_chunks} chunks on 1 worker {total:.1f} s, overhead per chunk "
          f"{extra:.2f} s, join {done.join_seconds:.2f} s", flush=True)

    out["direct"] = direct_overhead(plan, tools)
    print(f"bench chunks: direct per-chunk overhead {out['direct']}", flush=True)

    import distributed

    runs = []
    for w in workers:
        cluster = distributed.LocalCluster(n_workers=w, threads_per_worker=1, processes=True,
                                           dashboard_address=None)
        client = distributed.Client(cluster)
        try:
            chunked = chunking.plan_chunks(plan, tools.ffmpeg, max(workers), w)
            from ffmotion.jobs.executors import DaskExecutor

            with DaskExecutor(client) as ex:
                started = time.perf_counter()
                done = chunking.execute(chunked, tools, ex)
                wall = time.perf_counter() - started
        finally:
            client.close()
            cluster.close()
        runs.append({"workers": w, "chunks": len(done.chunk_seconds), "wall_s": round(wall, 2),
                     "chunk_s": done.chunk_seconds, "join_s": done.join_seconds,
                     "model_s": round(_model(done.chunk_seconds, w, done.join_seconds), 2),
                     "loadavg": os.getloadavg()})
        print(f"bench chunks: {w} Dask worker(s), {len(done.chunk_seconds)} chunks: {wall:.1f} s "
              f"(chunks {done.chunk_seconds}, join {done.join_seconds:.2f} s)", flush=True)
    base = runs[0]["wall_s"]
    for r in runs:
        r["speedup"] = round(base / r["wall_s"], 2)
        # the model from the 1-worker run's chunk times, spread over W workers
        r["model_speedup"] = round(base / _model(tuple(runs[0]["chunk_s"]), r["workers"],
                                                 runs[0]["join_s"]), 2)
    out["dask"] = runs
    out["loadavg_end"] = os.getloadavg()
    return out


def direct_overhead(plan: Any, tools: runner.Tools, repeats: int = 3) -> dict[str, float]:
    """Chunks of 1 and 31 output frames in the middle of the clip, starting on a keyframe and
    half a GOP after one (medians): the fixed cost of a chunk, the cost of a frame, and of
    starting mid-GOP (frames decoded and dropped after the seek)."""
    import statistics

    keys = plan.info.index.keyframes
    n = plan.out_frames
    middle = len(keys) // 2
    k0 = keys[middle] if 0 < keys[middle] < n - 40 else n // 3  # a short clip: no keyframe
    k1 = keys[middle + 1] if middle + 1 < len(keys) else min(n - 40, k0 + 60)
    found: dict[tuple[int, str], float] = {}
    for keep in (1, 31):
        for where, first in (("keyframe", k0), ("mid-gop", k0 + (k1 - k0) // 2)):
            if not 0 < first < first + keep < n:
                continue
            run = chunking.plan_chunks(plan, tools.ffmpeg, 3, 1, cuts=[0, first, first + keep, n])
            task = run.tasks[1]
            times = []
            for _ in range(repeats):
                Path(task.segment).unlink(missing_ok=True)
                started = time.perf_counter()
                chunking.render_chunk(task, tools.ffmpeg)
                times.append(time.perf_counter() - started)
            Path(task.segment).unlink(missing_ok=True)
            found[(keep, where)] = statistics.median(times)
    per_frame = (found[(31, "keyframe")] - found[(1, "keyframe")]) / 30
    return {"chunk_of_1_frame_s": round(found[(1, "keyframe")], 3),
            "per_output_frame_s": round(per_frame, 4),
            "fixed_s": round(found[(1, "keyframe")] - per_frame, 3),
            "mid_gop_extra_s": round(found.get((1, "mid-gop"), found[(1, "keyframe")])
                                     - found[(1, "keyframe")], 3),
            "loadavg": os.getloadavg()[0]}
