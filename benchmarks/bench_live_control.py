"""Steering a live run: how soon a change shows, and how long a restart silences a stream.

*Change delay.* ``ffmotion live lavfi:testsrc2 - --format y4m --control ...`` (raw frames on
a pipe, no encoder) is read as it runs; every ``--every`` frames the gain flips between 1
and 4 through :func:`ffmotion.pipeline.control.send`, sent from a thread while the reading
goes on. A frame's mean |Y - 127| jumps by about 4x (or drops) where the new gain applies;
the delay is that frame's index minus the number of frames read when the change was sent
(0: the very next frame). The exact pixels are held to the reference by
``tests/system/streams/test_live_control.py``.

*Offset change.* A camera whose top row tells each motion frame's K (:func:`marker_camera`)
to raw frames on stdout, the output held across restarts (:mod:`ffmotion.graph.handover`);
every 2 s the offset changes, which starts a new ffmpeg. Measured: the time from sending the
change to the first frame made with the new K (ffmpeg's start, the source opened again, the
K+1 frames the new graph needs first), the longest pause between output frames around it
(the held output repeats the last frame meanwhile), and frames without a blended marker.

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


SLOTS = 32


def marker_camera(size: str, fps: int) -> str:
    """A lavfi camera whose top row holds a white square at slot ``n mod 32`` (black around):
    in the motion picture, frame i shows white at slot i mod 32 and black at (i+K) mod 32,
    so each output frame tells its K."""
    width, _ = (int(x) for x in size.split("x"))
    side = width // SLOTS
    return (f"lavfi:testsrc2=size={size}:rate={fps},drawbox=x=0:y=0:w={width}:h={side}:"
            f"color=black:t=fill[a];color=white:size={side}x{side}:rate={fps}[b];"
            f"[a][b]overlay=x='mod(n,{SLOTS})*{side}':y=0,format=yuv420p")


def read_marker(luma: np.ndarray, side: int) -> tuple[int, Optional[int]]:
    """(the white slot, K) of a motion frame's marker row (K None: no black slot, unblended)."""
    row = luma[side // 2, side // 2::side][:SLOTS].astype(int)
    white, black = int(row.argmax()), int(row.argmin())
    if row[white] < 200 or row[black] > 60:
        return white, None
    return white, (black - white) % SLOTS


def restart_switch(size: str, fps: int, restarts: int) -> dict[str, Any]:
    """Offset changes on a held output (raw frames on stdout): the time from sending the
    change to the first frame made with the new offset, the longest pause between frames,
    and the frames the output got again while the new ffmpeg started."""
    width, height = (int(x) for x in size.split("x"))
    side = width // SLOTS
    frame_bytes = width * height * 3 // 2
    port = _port()
    argv = [sys.executable, "-m", "ffmotion", "live", marker_camera(size, fps), "-", "--format",
            "y4m", "-k", "2", "--quiet", "--control", f"127.0.0.1:{port}"]
    proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, bufsize=0)
    frames: list[tuple[float, int, Optional[int]]] = []  # arrival, white slot, K
    stop = threading.Event()

    def read() -> None:
        assert proc.stdout is not None
        stream = proc.stdout
        stream.readline()
        while not stop.is_set() and stream.readline():
            data = bytearray()
            while len(data) < frame_bytes:
                chunk = stream.read(frame_bytes - len(data))
                if not chunk:
                    return
                data += chunk
            luma = np.frombuffer(bytes(data[:side * width]), np.uint8).reshape(side, width)
            frames.append((time.monotonic(), *read_marker(luma, side)))
    reader = threading.Thread(target=read, daemon=True)
    sent: list[tuple[float, int]] = []
    try:
        _wait_token(port, proc)
        reader.start()
        time.sleep(3)
        for k in [6, 3, 12, 2, 8, 4, 10, 5][:restarts]:
            sent.append((time.monotonic(), k))
            control.send(f"127.0.0.1:{port}", [("offset", str(k))])
            time.sleep(2)
    finally:
        stop.set()
        os.kill(proc.pid, signal.SIGTERM)
        proc.communicate(timeout=30)
        reader.join(timeout=10)
    times = np.array([f[0] for f in frames])
    shown, repeats, pauses = [], [], []
    for at, k in sent:
        after = [n for n, f in enumerate(frames) if f[0] > at]
        first = next((n for n in after if frames[n][2] == k), None)
        shown.append((frames[first][0] - at) * 1000 if first is not None else float("inf"))
        window = [n for n in after if frames[n][0] < at + 1.5]
        repeats.append(sum(1 for n in window if n and frames[n][1] == frames[n - 1][1]))
        gaps = np.diff(times[window[0] - 1:window[-1] + 1]) if window else np.array([0.0])
        pauses.append(float(gaps.max()) * 1000)
    steady = np.diff(times[(times > times[0] + 1) & (times < sent[0][0])])
    unblended = sum(1 for f in frames if f[2] is None)
    return {"size": size, "fps": fps, "restarts": len(sent), "frames": len(frames),
            "shown_ms": [round(x) for x in shown], "shown_p50_ms": round(percentile(shown, 0.5)),
            "shown_max_ms": round(max(shown)), "pause_max_ms": round(max(pauses)),
            "pauses_ms": [round(x) for x in pauses], "repeated": repeats,
            "unblended_frames": unblended,
            "steady_p50_ms": round(float(np.median(steady)) * 1000, 1),
            "steady_max_ms": round(float(steady.max()) * 1000, 1)}


def _cpu() -> float:
    import resource

    used = resource.getrusage(resource.RUSAGE_CHILDREN)
    return used.ru_utime + used.ru_stime


def cpu_cost(size: str, fps: int, seconds: float) -> dict[str, Any]:
    """CPU seconds per second of ``ffmotion live`` to MPEG-TS (x264) without ``--control``
    (one ffmpeg) and with it (held: capture, graph and output ffmpegs, and ffmotion passing
    raw frames between them), every process counted, side by side."""
    camera = f"lavfi:testsrc2=size={size}:rate={fps},format=yuv420p"
    found = {}
    for name, extra in (("plain", []), ("steered", ["--control", f"127.0.0.1:{_port()}"])):
        before = _cpu()
        proc = subprocess.Popen([sys.executable, "-m", "ffmotion", "live", camera, "-",
                                 "--format", "mpegts", "-k", "2", "--quiet", *extra],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(seconds)
        os.kill(proc.pid, signal.SIGTERM)
        proc.wait(timeout=30)
        found[name] = round((_cpu() - before) / seconds, 3)
    found["ratio"] = round(found["steered"] / found["plain"], 2)
    return {"size": size, "fps": fps, "seconds": seconds, **found}


def markdown(report: dict[str, Any]) -> str:
    c, r = report["change"], report["restart"]
    return ("Look change (gain 1 <-> 4) to the first output frame that shows it, in frames "
            "(0: the next frame after sending):\n\n"
            + table(["size", "fps", "changes", "p50", "p95", "max"],
                    [[c["size"], c["fps"], c["changes"], c["p50"], c["p95"], c["max"]]])
            + "\n\nOffset change (a restart, the output held): from sending it to the first "
            "frame made with the new offset; the longest pause between two output frames in "
            "the 1.5 s after it; frames repeated meanwhile; frames without a blended marker:\n\n"
            + table(["size", "fps", "restarts", "shown p50 ms", "shown max ms",
                     "longest pause ms", "repeated per restart", "unblended",
                     "steady interval p50 / max ms"],
                    [[r["size"], r["fps"], r["restarts"], r["shown_p50_ms"], r["shown_max_ms"],
                      r["pause_max_ms"], " ".join(map(str, r["repeated"])),
                      r["unblended_frames"], f"{r['steady_p50_ms']} / {r['steady_max_ms']}"]])
            + ("" if "cpu" not in report else
               "\n\nCPU seconds per second, `ffmotion live` to MPEG-TS: without `--control` "
               f"{report['cpu']['plain']}, steered (held) {report['cpu']['steered']} "
               f"(x{report['cpu']['ratio']}), {report['cpu']['seconds']} s each")
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
    p.add_argument("--cpu", action="store_true", help="also the CPU of a steered run")
    args = p.parse_args(argv)
    size = args.size or ("320x180" if args.quick else "1280x720")
    found = {"change": change_delay(size, args.fps, args.changes or (6 if args.quick else 20),
                                    args.every),
             "restart": restart_switch(size, args.fps,
                                       args.restarts or (2 if args.quick else 6)),
             "loadavg": loadavg()}
    if args.cpu:
        found["cpu"] = cpu_cost(size, args.fps, 8.0 if args.quick else 20.0)
    return publish(args, find_tools(None), found, markdown)


if __name__ == "__main__":
    sys.exit(main())
