"""Steering a live run: how soon a change shows, and how long a restart silences a stream.

*Change delay.* ``ffmotion live lavfi:testsrc2 - --format y4m --control ...`` (raw frames on
a pipe, no encoder) is read as it runs; every ``--every`` frames the gain flips between 1
and 4 through :func:`ffmotion.pipeline.control.send`, sent from a thread while the reading
goes on. A frame's mean |Y - 127| jumps by about 4x (or drops) where the new gain applies;
the delay is that frame's index minus the number of frames read when the change was sent
(0: the very next frame). The exact pixels are held to the reference by
``tests/system/streams/test_live_control.py``.

*Restart gap.* The same camera to MPEG-TS on stdout (x264 zerolatency); every 2 s the offset
changes, which restarts ffmpeg; the gap is the longest silence on the pipe (bytes arrive per
frame, ``-flush_packets 1``) in the 1.5 s after the change was sent, beside the steady
frame interval. It is ffmpeg's start plus the K+1 frames the new graph needs first.

    python -m benchmarks.bench_live_control --quick --out /tmp/q   # 320x180, few changes
    python -m benchmarks.bench_live_control                         # 1280x720 at 30 fps
"""
from __future__ import annotations

import argparse
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from typing import Any, Optional

import numpy as np

from benchmarks.common import add_arguments, loadavg, percentile, publish, table
from benchmarks.common import tools as find_tools
from ffmotion.pipeline import control


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _job(size: str, fps: int, port: int, *out: str) -> subprocess.Popen:
    argv = [sys.executable, "-m", "ffmotion", "live", f"lavfi:testsrc2=size={size}:rate={fps},"
            "format=yuv420p", "-", *out, "-k", "2", "--quiet", "--control", f"127.0.0.1:{port}"]
    return subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, bufsize=0)


def _wait_token(port: int, proc: subprocess.Popen) -> None:
    deadline = time.monotonic() + 30
    while not control.token_path(port).exists():
        if proc.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError("the live job did not start")
        time.sleep(0.05)


def change_delay(size: str, fps: int, changes: int, every: int) -> dict[str, Any]:
    width, height = (int(x) for x in size.split("x"))
    frame_bytes = width * height * 3 // 2
    port = _port()
    proc = _job(size, fps, port, "--format", "y4m")
    deviation: list[float] = []
    sent_at: list[int] = []
    senders: list[threading.Thread] = []
    try:
        _wait_token(port, proc)
        assert proc.stdout is not None
        proc.stdout.readline()
        gain = 1
        while len(sent_at) < changes or len(deviation) < (sent_at[-1] + every if sent_at else 0):
            if not proc.stdout.readline():
                break
            data = b""
            while len(data) < frame_bytes:
                chunk = proc.stdout.read(frame_bytes - len(data))
                if not chunk:
                    break
                data += chunk
            luma = np.frombuffer(data[:width * height], np.uint8)
            deviation.append(float(np.abs(luma.astype(np.int16) - 127).mean()))
            if len(deviation) % every == 0 and len(deviation) > fps and len(sent_at) < changes:
                gain = 5 - gain  # 1 <-> 4
                sent_at.append(len(deviation))
                senders.append(threading.Thread(target=control.send, args=(
                    f"127.0.0.1:{port}", [("gain", str(gain))])))
                senders[-1].start()
    finally:
        os.kill(proc.pid, signal.SIGTERM)
        proc.communicate(timeout=30)
        for sender in senders:
            sender.join(timeout=10)
    delays = []
    for n, at in enumerate(sent_at):
        up = n % 2 == 0
        ratios = [deviation[i] / max(deviation[i - 1], 1e-9) for i in range(at, at + every)]
        hit = next((i for i, r in enumerate(ratios) if (r > 2 if up else r < 0.5)), None)
        delays.append(hit if hit is not None else every)
    return {"size": size, "fps": fps, "changes": len(delays), "delays": delays,
            "p50": percentile(delays, 0.5), "p95": percentile(delays, 0.95), "max": max(delays)}


def restart_gap(size: str, fps: int, restarts: int) -> dict[str, Any]:
    port = _port()
    proc = _job(size, fps, port, "--format", "mpegts")
    arrived: list[float] = []

    def read() -> None:
        assert proc.stdout is not None
        while proc.stdout.read(65536):
            arrived.append(time.monotonic())
    reader = threading.Thread(target=read, daemon=True)
    sent: list[float] = []
    try:
        _wait_token(port, proc)
        reader.start()
        time.sleep(3)
        for k in [6, 3, 12, 2, 8, 4, 10, 5][:restarts]:
            sent.append(time.monotonic())
            control.send(f"127.0.0.1:{port}", [("offset", str(k))])
            time.sleep(2)
    finally:
        os.kill(proc.pid, signal.SIGTERM)
        proc.communicate(timeout=30)
        reader.join(timeout=10)
    a = np.array(arrived)
    d = np.diff(a)
    steady = d[(a[1:] > a[0] + 1) & (a[1:] < sent[0])]
    gaps = [float(d[(a[1:] > t) & (a[1:] < t + 1.5)].max()) * 1000 for t in sent]
    return {"size": size, "fps": fps, "restarts": len(gaps), "gaps_ms": [round(g) for g in gaps],
            "gap_p50_ms": round(percentile(gaps, 0.5)), "gap_max_ms": round(max(gaps)),
            "steady_p50_ms": round(float(np.median(steady)) * 1000, 1),
            "steady_max_ms": round(float(steady.max()) * 1000, 1)}


def markdown(report: dict[str, Any]) -> str:
    c, r = report["change"], report["restart"]
    return ("Look change (gain 1 <-> 4) to the first output frame that shows it, in frames "
            "(0: the next frame after sending):\n\n"
            + table(["size", "fps", "changes", "p50", "p95", "max"],
                    [[c["size"], c["fps"], c["changes"], c["p50"], c["p95"], c["max"]]])
            + "\n\nOffset change (a restart), longest silence on the MPEG-TS pipe:\n\n"
            + table(["size", "fps", "restarts", "gap p50 ms", "gap max ms", "steady frame "
                     "interval p50 ms", "steady max ms"],
                    [[r["size"], r["fps"], r["restarts"], r["gap_p50_ms"], r["gap_max_ms"],
                      r["steady_p50_ms"], r["steady_max_ms"]]])
            + f"\n\nload average {report['loadavg']} (a shared 2-core machine)\n")


def main(argv: Optional[list[str]] = None) -> int:
    p = argparse.ArgumentParser(prog="python -m benchmarks.bench_live_control", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    add_arguments(p, "bench-live-control", quick="320x180, 6 changes, 2 restarts", cache=False)
    p.add_argument("--size", default=None, help="camera size (default 1280x720)")
    p.add_argument("--fps", type=int, default=30)
    p.add_argument("--changes", type=int, default=None, help="gain changes (default 20)")
    p.add_argument("--every", type=int, default=10, help="frames between changes")
    p.add_argument("--restarts", type=int, default=None, help="offset changes (default 6)")
    args = p.parse_args(argv)
    size = args.size or ("320x180" if args.quick else "1280x720")
    found = {"change": change_delay(size, args.fps, args.changes or (6 if args.quick else 20),
                                    args.every),
             "restart": restart_gap(size, args.fps, args.restarts or (2 if args.quick else 6)),
             "loadavg": loadavg()}
    return publish(args, find_tools(None), found, markdown)


if __name__ == "__main__":
    sys.exit(main())
