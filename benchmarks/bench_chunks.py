"""One input over several workers (ffmotion --chunks); also ``bench --sections chunks``.

* per-chunk overhead: the same clip as 1 chunk and as N chunks on ONE worker (sequential):
  (sum of chunk times - single pass) / (N - 1) is what each extra chunk costs (ffmpeg start,
  seek, the K-frame overlap and warm-up decoded twice); the join is timed on its own; and
  directly: chunks of 1 and 31 frames on a keyframe and mid-GOP (fixed cost, per frame).
* speed-up: a Dask LocalCluster with W single-threaded workers (processes), W = 1 and 2 (or
  --workers), each chunk's ffmpeg pinned to one thread (decoder/filter ``--threads 1``,
  x264 ``threads=1``), the run cut into W chunks; and the model it implies: time(W) = max over
  workers of their chunks' time + join.

    python -m benchmarks.bench_chunks --quick --out /tmp/ffmotion-quick   # 360p, 4 s
    python -m benchmarks.bench_chunks           # 1080p, 60 s: bench-chunks.json/.md
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Optional

from benchmarks.common import ClipSpec, add_arguments, ensure_clip, parse_ints, parse_size, publish, table
from benchmarks.common import tools as find_tools
from ffmotion import api
from ffmotion.jobs import chunks as chunking
from ffmotion.jobs.executors import LocalExecutor
from ffmotion.pipeline import controller
from ffmotion.run import runner


def _plan(src: Path, dst: Path, k: int, tools: runner.Tools) -> Any:
    request = api.make_request(src, dst, k, threads=1, overwrite=True, audio=False,
                               encoder_opts={"x264-params": "threads=1"})
    return controller.prepare(request, tools)


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
    controller.run(plan, tools)
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


def markdown(report: dict[str, Any]) -> str:
    seq, direct = report["sequential"], report["direct"]
    out = [f"{report['clip']}, K={report['k']}: single pass {report['single_pass_s']} s; "
           f"{seq['chunks']} chunks on one worker {seq['total_s']} s (join {seq['join_s']} s, "
           f"overhead per extra chunk {seq['overhead_per_chunk_s']} s, decoded fraction "
           f"{seq['decoded_fraction']:.3f}); chunks of at least "
           f"{report['min_chunk_frames_for_5pct']} frames keep it under 5 % (auto: "
           f"{report['auto_min_chunk_frames']}).", "",
           f"Direct, per chunk: {direct['chunk_of_1_frame_s']} s for 1 frame, "
           f"{direct['per_output_frame_s']} s per output frame, fixed {direct['fixed_s']} s, "
           f"mid-GOP start +{direct['mid_gop_extra_s']} s.", ""]
    out.append(table(["Dask workers", "chunks", "wall s", "speed-up", "model s",
                      "model speed-up", "join s", "load"],
                     [[r["workers"], r["chunks"], r["wall_s"], r["speedup"], r["model_s"],
                       r["model_speedup"], r["join_s"], round(r["loadavg"][0], 2)]
                      for r in report["dask"]]))
    return "\n".join(out) + "\n"


def main(argv: Optional[list[str]] = None) -> int:
    p = argparse.ArgumentParser(prog="python -m benchmarks.bench_chunks",
                                description=__doc__.split("\n\n")[0])
    add_arguments(p, "bench-chunks", quick="a 360p 4 s clip, 4 chunks, K 6")
    p.add_argument("--size", type=parse_size, default=None, help="default 1080p")
    p.add_argument("--seconds", type=int, default=None, help="clip length (default 60)")
    p.add_argument("--offset", type=int, default=None, help="K (default 12)")
    p.add_argument("--chunks", type=int, default=None,
                   help="chunks of the sequential run (default 8)")
    p.add_argument("--workers", type=parse_ints, default=[1, 2],
                   help="Dask workers to compare (default 1,2)")
    args = p.parse_args(argv)
    quick = args.quick
    size = args.size or ((640, 360) if quick else (1920, 1080))
    seconds = args.seconds or (4 if quick else 60)
    k = args.offset or (6 if quick else 12)
    tools = find_tools(args.ffmpeg)
    src = ensure_clip(ClipSpec(*size, seconds), args.cache, tools.ffmpeg)
    with tempfile.TemporaryDirectory(prefix="ffmotion-bench-chunks-") as tmp:
        found = run(src, Path(tmp), tools, k=k, overhead_chunks=args.chunks or (4 if quick else 8),
                    workers=tuple(args.workers))
    return publish(args, tools, found, markdown)


if __name__ == "__main__":
    sys.exit(main())
