"""Live latency: from a camera frame to the output frame that shows it, end to end.

A stand-in camera (this script) sends raw YUV4MPEG frames to ``ffmotion live - - -k K`` at
the frame rate and notes when each frame left; ffmotion's output frames (raw YUV4MPEG on its
stdout, no encoder) are read as they arrive. Output frame j blends camera frames j and j+K,
so it can only exist once frame j+K arrived: its latency is its arrival time minus the time
camera frame j+K was sent. (The picture also compares with a frame K/fps older: that is the
offset, not latency.)

    python -m benchmarks.bench_live --quick --out /tmp/ffmotion-quick   # K = 1 and 15, 3 s
    python -m benchmarks.bench_live          # 640x360 at 30 fps, K = 1 and 15, 10 s each
    python -m benchmarks.bench --sections live   # the same, as a section of bench
"""
from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import threading
import time
from typing import Any, Optional

import numpy as np

from benchmarks.common import add_arguments, loadavg, percentile, publish, table
from benchmarks.common import tools as find_tools


def _frames(width: int, height: int, count: int = 8) -> list[bytes]:
    """A few moving noise frames (cycled), YUV 4:2:0."""
    rng = np.random.default_rng(1)
    out = []
    for n in range(count):
        y = rng.integers(0, 256, (height, width), dtype=np.uint8)
        y[:, (n * 8) % width:(n * 8) % width + 32] = 255  # a bar that moves
        uv = np.full((height // 2) * (width // 2) * 2, 128, np.uint8)
        out.append(y.tobytes() + uv.tobytes())
    return out


def measure(k: int, seconds: float, width: int, height: int, fps: int,
            ffmpeg: str | None = None) -> dict[str, Any]:
    """One run: latencies of the output frames after the first second."""
    argv = [sys.executable, "-m", "ffmotion", "live", "-", "-", "-k", str(k), "--quiet",
            "--format", "y4m"]
    if ffmpeg:
        argv += ["--ffmpeg", ffmpeg]
    proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, env={**os.environ, "PYTHONUNBUFFERED": "1"})
    frames = _frames(width, height)
    total = int(seconds * fps)
    sent: list[float] = []
    arrived: list[float] = []

    def camera() -> None:
        assert proc.stdin is not None
        try:
            proc.stdin.write(f"YUV4MPEG2 W{width} H{height} F{fps}:1 Ip A1:1 C420jpeg\n".encode())
            start = time.monotonic()
            for n in range(total):
                due = start + n / fps
                delay = due - time.monotonic()
                if delay > 0:
                    time.sleep(delay)
                proc.stdin.write(b"FRAME\n" + frames[n % len(frames)])
                proc.stdin.flush()
                sent.append(time.monotonic())
        except BrokenPipeError:
            pass
        finally:
            proc.stdin.close()

    frame_bytes = width * height * 3 // 2
    writer = threading.Thread(target=camera, daemon=True)
    writer.start()
    assert proc.stdout is not None
    header = proc.stdout.readline()  # YUV4MPEG2 ...; then FRAME lines, each before its planes
    while header.startswith(b"YUV4MPEG2"):
        line = proc.stdout.readline()
        data = proc.stdout.read(frame_bytes) if line.startswith(b"FRAME") else b""
        if len(data) < frame_bytes:
            break
        arrived.append(time.monotonic())
    if not arrived:
        proc.kill()
        raise SystemExit(f"no output frames: {header[:60]!r} {proc.stderr.read()[-500:]!r}")  # type: ignore[union-attr]
    writer.join(timeout=seconds + 30)
    proc.wait(timeout=60)
    skip = fps  # the first second: probing the stream's head, starting up
    lat = [(arrived[j] - sent[j + k]) * 1000 for j in range(skip, len(arrived))
           if j + k < len(sent)]
    return {"k": k, "size": f"{width}x{height}", "fps": fps, "sent": len(sent),
            "output_frames": len(arrived), "measured": len(lat),
            "p50_ms": round(statistics.median(lat), 1), "p95_ms": round(percentile(lat, 0.95), 1),
            "max_ms": round(max(lat), 1), "first_frame_s": round(arrived[0] - sent[0], 2)
            if arrived and sent else None}


def run(ks: tuple[int, ...] = (1, 15), seconds: float = 10.0, width: int = 640,
        height: int = 360, fps: int = 30, ffmpeg: str | None = None) -> dict[str, Any]:
    """Every K in turn, with the machine's load average."""
    results = [measure(k, seconds, width, height, fps, ffmpeg) for k in ks]
    return {"runs": results, "loadavg": loadavg()}


def markdown(report: dict[str, Any]) -> str:
    """The latencies (ms, camera frame sent to output frame read) as a table."""
    return table(["K", "size", "fps", "frames sent", "output frames", "measured", "p50 ms",
                  "p95 ms", "max ms", "first frame s"],
                 [[r["k"], r["size"], r["fps"], r["sent"], r["output_frames"], r["measured"],
                   r["p50_ms"], r["p95_ms"], r["max_ms"], r["first_frame_s"]]
                  for r in report["runs"]]) + f"\n\nload average {report['loadavg']}\n"


def main(argv: Optional[list[str]] = None) -> int:
    p = argparse.ArgumentParser(prog="python -m benchmarks.bench_live", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    add_arguments(p, "bench-live", quick="3 s per K", cache=False)
    p.add_argument("--k", type=lambda t: tuple(int(x) for x in t.split(",")), default=(1, 15))
    p.add_argument("--seconds", type=float, default=None, help="per K (default 10)")
    p.add_argument("--size", default="640x360")
    p.add_argument("--fps", type=int, default=30)
    args = p.parse_args(argv)
    w, h = (int(x) for x in args.size.split("x"))
    tools = find_tools(args.ffmpeg)
    found = run(args.k, args.seconds or (3.0 if args.quick else 10.0), w, h, args.fps,
                tools.ffmpeg)
    return publish(args, tools, found, markdown)


if __name__ == "__main__":
    sys.exit(main())
