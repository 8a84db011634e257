#!/usr/bin/env python3
"""Live latency: from a camera frame to the output frame that shows it, end to end.

A stand-in camera (this script) sends raw YUV4MPEG frames to ``ffmotion live - - -k K`` at
the frame rate and notes when each frame left; ffmotion's output frames (raw YUV4MPEG on its
stdout, no encoder) are read as they arrive. Output frame j blends camera frames j and j+K,
so it can only exist once frame j+K arrived: its latency is its arrival time minus the time
camera frame j+K was sent. (The picture also compares with a frame K/fps older: that is the
offset, not latency.)

    python scripts/bench_live.py                 # 640x360 at 30 fps, K = 1 and 15, 10 s each
    python scripts/bench.py --sections live      # the same, as a section of bench.py
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))]


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
            "p50_ms": round(statistics.median(lat), 1), "p95_ms": round(_percentile(lat, 0.95), 1),
            "max_ms": round(max(lat), 1), "first_frame_s": round(arrived[0] - sent[0], 2)
            if arrived and sent else None}


def run(ks: tuple[int, ...] = (1, 15), seconds: float = 10.0, width: int = 640,
        height: int = 360, fps: int = 30, ffmpeg: str | None = None) -> dict[str, Any]:
    """Every K in turn, with the machine's load average."""
    results = [measure(k, seconds, width, height, fps, ffmpeg) for k in ks]
    return {"runs": results, "loadavg": [round(x, 2) for x in os.getloadavg()]}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--k", type=lambda t: tuple(int(x) for x in t.split(",")), default=(1, 15))
    p.add_argument("--seconds", type=float, default=10.0)
    p.add_argument("--size", default="640x360")
    p.add_argument("--fps", type=int, default=30)
    p.add_argument("--ffmpeg")
    args = p.parse_args()
    w, h = (int(x) for x in args.size.split("x"))
    print(json.dumps(run(args.k, args.seconds, w, h, args.fps, args.ffmpeg), indent=2))


if __name__ == "__main__":
    main()
