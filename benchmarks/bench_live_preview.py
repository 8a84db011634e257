"""Live preview latency: a camera frame to the page's displayed frame, in Chromium.

A stand-in camera (this script) writes raw YUV4MPEG frames to ``ffmotion preview - -k K`` at
the frame rate, each stamped with a marker: a white square at position ``n mod 32`` of a row
of 32 (the rest of the row black, the picture below moving noise). In the motion picture,
output frame i = (frame i + max - frame i+K) / 2 shows that square white (255) at ``i mod 32``
and black at ``(i+K) mod 32``, gray elsewhere, so the page's frame tells ``i mod 32``. A
script in the page draws whatever shows the picture (the page's ``<canvas>``, or with
``--view img`` the ``<img>`` of the MJPEG stream) into a canvas every 4 ms and notes
the wall-clock time each new marker appears; output frame i can exist only once camera
frame i+K was sent, so its latency is its display time minus that frame's send time (the
most recent such frame with the right residue: latencies are far below 32 frames). The
relay's arrival time of each JPEG (``GET /state?arrivals=1``) splits it: ffmpeg, then the
relay and the browser. ``--content camera`` (default) is a camera-like picture, ``noise``
uniform noise (JPEG's worst case); ``--cpu`` counts every process below the bench.

    python -m benchmarks.bench_live_preview --quick --out /tmp/q    # 640x360, 10 s
    python -m benchmarks.bench_live_preview                         # 1280x720 at 30 fps, 60 s

Needs Playwright and Chromium (as the browser tests). The machine is shared: the load
average is written beside the numbers.
"""
from __future__ import annotations

import argparse
import json
import os
import select
import shutil
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from typing import Any, Optional

import numpy as np

from benchmarks.common import add_arguments, loadavg, percentile, publish, table
from benchmarks.common import tools as find_tools

SLOTS = 32
WATCH = """([slots, poll, aspect]) => {
  window.seen = []; let last = -1;
  const img = document.getElementById('live');  // an <img> or a <canvas>: whichever shows it
  const c = document.createElement('canvas'); const g = c.getContext('2d');
  const tick = () => {
    const width = img.naturalWidth || (img.tagName === 'CANVAS' ? img.width : 0);
    if (!width) return;
    const height = img.naturalHeight || img.height;
    // the camera's picture | its motion: the motion is the right part, the camera's shape
    const half = Math.round(height * aspect), at = width - half;
    const side = Math.floor(half / slots);
    c.width = half; c.height = side;  // the marker row alone: a light poll
    g.drawImage(img, at, 0, half, side, 0, 0, half, side);
    const row = g.getImageData(0, 0, half, side).data;
    let best = -1, value = 200;
    for (let s = 0; s < slots; s++) {
      const x = s * side + (side >> 1), y = side >> 1;
      const v = row[(y * half + x) * 4 + 1];
      if (v > value) { value = v; best = s; }
    }
    if (best >= 0 && best !== last) {
      last = best; window.seen.push([performance.timeOrigin + performance.now(), best]);
    }
  };
  if (poll > 0) setInterval(tick, poll);
  else { const frame = () => { tick(); requestAnimationFrame(frame); }; frame(); }
}"""


def _camera_picture(width: int, height: int, n: int, count: int,
                    rng: np.random.Generator) -> np.ndarray:
    """A camera-like frame: a smooth lit scene (gradients), three shapes moving slowly on
    loops of ``count`` frames (so the clip repeats without a jump), mild sensor noise (sigma 2)."""
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
    scene = 60 + 90 * xx / width + 40 * np.sin(yy / height * 3.0)
    phase = 2 * np.pi * n / count
    for i, (r, level) in enumerate(((0.12, 200.0), (0.08, 30.0), (0.10, 150.0))):
        cx = width * (0.5 + 0.3 * np.cos(phase + 2.1 * i))
        cy = height * (0.55 + 0.25 * np.sin(phase + 2.1 * i))
        inside = (xx - cx) ** 2 + (yy - cy) ** 2 < (r * height) ** 2
        scene[inside] = level + 0.1 * (yy[inside] - cy)
    scene += rng.normal(0, 2, scene.shape).astype(np.float32)
    return np.clip(scene, 16, 235).astype(np.uint8)


def _frames(width: int, height: int, count: int, content: str = "camera") -> list[bytes]:
    rng = np.random.default_rng(1)
    side = width // SLOTS
    out = []
    for n in range(count):
        y = (rng.integers(40, 216, (height, width), dtype=np.uint8) if content == "noise"
             else _camera_picture(width, height, n, count, rng))
        y[:side, :] = 0
        slot = n % SLOTS
        y[:side, slot * side:(slot + 1) * side] = 255
        uv = np.full((height // 2) * (width // 2) * 2, 128, np.uint8)
        out.append(y.tobytes() + uv.tobytes())
    return out


def measure(seconds: float, width: int, height: int, fps: int, k: int,
            poll: int = 4, content: str = "camera", view: str = "") -> dict[str, Any]:
    from playwright.sync_api import sync_playwright

    binary = os.environ.get("FFMOTION_CHROMIUM") or shutil.which("chromium")
    proc = subprocess.Popen([sys.executable, "-m", "ffmotion", "preview", "-", "--no-browser",
                             "-k", str(k)], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE)
    frames = _frames(width, height, SLOTS * 4, content)
    sent: list[float] = []
    late: list[float] = []  # how far behind its schedule each camera frame was written
    stop = threading.Event()

    def camera() -> None:
        assert proc.stdin is not None
        proc.stdin.write(f"YUV4MPEG2 W{width} H{height} F{fps}:1 Ip A1:1 C420jpeg\n".encode())
        start = time.monotonic()
        n = 0
        try:
            while not stop.is_set():
                wait = start + n / fps - time.monotonic()
                if wait > 0:
                    time.sleep(wait)
                late.append(max(0.0, -wait) * 1000)
                proc.stdin.write(b"FRAME\n" + frames[n % len(frames)])
                proc.stdin.flush()
                sent.append(time.time() * 1000)
                n += 1
        except (BrokenPipeError, OSError, ValueError):  # the preview stopped
            pass
    feeder = threading.Thread(target=camera, daemon=True)
    feeder.start()
    try:
        assert proc.stdout is not None
        ready, _, _ = select.select([proc.stdout], [], [], 30)
        if not ready:
            raise RuntimeError("the preview printed no URL")
        url = proc.stdout.readline().decode().strip()
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=binary, args=[
                "--headless", "--no-sandbox", "--disable-gpu"])
            page = browser.new_page(viewport={"width": width + 40, "height": height + 200})
            page.goto(url + (f"&view={view}" if view else ""))
            page.wait_for_function("(e => e.naturalWidth || (e.tagName === 'CANVAS' && "
                                   "e.width))(document.getElementById('live'))",
                                   timeout=30000)
            page.evaluate(WATCH, [SLOTS, poll, width / height])
            load_before = loadavg()
            first, sent_first = _state(url), len(sent)
            drawn_first = page.evaluate("window.framesShown || 0")  # the canvas path counts
            arrivals: dict[int, float] = {}
            end = time.monotonic() + seconds
            while time.monotonic() < end:  # the relay's arrival times (it keeps the last 256)
                time.sleep(min(3.0, max(0.0, end - time.monotonic())))
                arrivals.update((int(n), t) for n, t in _state(url, True)["arrivals"])
            seen = page.evaluate("window.seen")
            drawn = page.evaluate("window.framesShown || 0") - drawn_first
            state, sent_then = _state(url), len(sent)
            browser.close()
    finally:
        stop.set()
        os.kill(proc.pid, signal.SIGTERM)
        proc.communicate(timeout=30)
    latencies, to_relay, relay_to_page = [], [], []
    times = np.array(sent)
    for shown, slot in seen[5:]:  # after the first frames
        # output frame i shows slot i mod 32; it needed camera frame i+K (sent before shown)
        candidates = [i for i in range(len(sent) - k) if i % SLOTS == slot
                      and times[i + k] <= shown]
        if candidates:
            i = candidates[-1]
            latencies.append(shown - times[i + k])
            arrived = arrivals.get(i + 1)  # the relay's JPEG number i+1 is output frame i
            if arrived is not None:
                to_relay.append(arrived - times[i + k])
                relay_to_page.append(shown - arrived)
    expected = len(seen[5:])
    jpegs = state["frames"] - first["frames"]
    split = {} if not to_relay else {
        "camera_to_relay_p50_ms": round(percentile(to_relay, 0.5), 1),
        "camera_to_relay_p95_ms": round(percentile(to_relay, 0.95), 1),
        "relay_to_page_p50_ms": round(percentile(relay_to_page, 0.5), 1),
        "relay_to_page_p95_ms": round(percentile(relay_to_page, 0.95), 1)}
    return {"size": f"{width}x{height}", "fps": fps, "k": k, "seconds": seconds,
            "content": content, "view": view or "default",
            "jpeg_kb": round((state["bytes"] - first["bytes"]) / max(1, jpegs) / 1024, 1),
            **split,
            "camera_frames": len(sent), "page_frames": len(seen), "measured": len(latencies),
            # where frames go, counted at each stage when the page was read
            # (the same window: from when the page's counter starts to when it is read)
            "stages": {"camera_sent": sent_then - sent_first,
                       "camera_late_max_ms": round(max(late), 1),
                       "camera_late_p95_ms": round(percentile(late, 0.95), 1),
                       **{name: state[key] - first[key] for name, key in (
                           ("ffmpeg_jpegs", "frames"), ("relayed_to_page", "relayed"),
                           ("skipped_by_relay", "skipped"))},
                       "page_distinct": len(seen), "page_drawn": drawn},
            "loadavg_before": load_before, "poll_ms": poll,
            "shown_of_expected": round(len(seen) / max(1, len(sent) - k), 3),
            "p50_ms": round(percentile(latencies, 0.5), 1),
            "p95_ms": round(percentile(latencies, 0.95), 1),
            "max_ms": round(max(latencies), 1), "expected": expected}


def _state(url: str, arrivals: bool = False) -> dict[str, Any]:
    base, token = url.split("/?t=")
    with urllib.request.urlopen(f"{base}/state?t={token}" + ("&arrivals=1" if arrivals else ""),
                                timeout=10) as answer:
        return dict(json.load(answer))


def _tree_cpu() -> dict[int, tuple[str, float]]:
    """CPU seconds so far of every process below this one (from /proc): Chromium's renderer,
    where the page decodes and draws, is not a waited-for child of the browser (its zygote
    forks it), so ``getrusage(RUSAGE_CHILDREN)`` never counts it."""
    tick = os.sysconf("SC_CLK_TCK")
    parents: dict[int, int] = {}
    found: dict[int, tuple[str, float]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                head, _, rest = f.read().rpartition(")")
        except OSError:
            continue
        fields = rest.split()
        parents[int(entry)] = int(fields[1])
        found[int(entry)] = (head.partition("(")[2],
                             (int(fields[11]) + int(fields[12])) / tick)
    mine, grew = {os.getpid()}, True
    while grew:
        new = {pid for pid, parent in parents.items() if parent in mine and pid not in mine}
        mine |= new
        grew = bool(new)
    mine.discard(os.getpid())
    return {pid: found[pid] for pid in mine}


def _used(seconds: float) -> dict[str, float]:
    """CPU seconds per second of the processes below this one over ``seconds``, by kind."""
    before = _tree_cpu()
    time.sleep(seconds)
    after = _tree_cpu()
    kinds: dict[str, float] = {}
    for pid, (name, used) in after.items():
        kind = ("chromium" if "chrom" in name or "headless" in name else
                "ffmpeg" if "ffmpeg" in name else "python" if "python" in name else "other")
        kinds[kind] = kinds.get(kind, 0.0) + (used - before.get(pid, (name, 0.0))[1]) / seconds
    return kinds


def cpu_cost(seconds: float, width: int, height: int, fps: int, k: int,
             content: str = "camera", view: str = "") -> dict[str, Any]:
    """CPU seconds per second of a lavfi camera run: ``ffmotion live`` to MPEG-TS (x264,
    read and dropped), beside ``ffmotion preview`` with the page open in Chromium (ffmotion,
    its ffmpeg and every browser process, read from /proc after 3 s of warm-up). The
    camera: ``testsrc2`` (camera: smooth moving pictures) or gray with uniform noise."""
    from playwright.sync_api import sync_playwright

    camera = (f"lavfi:testsrc2=size={width}x{height}:rate={fps}" if content == "camera" else
              f"lavfi:color=c=0x808080:size={width}x{height}:rate={fps},"
              "noise=alls=88:allf=t+u")
    live = subprocess.Popen([sys.executable, "-m", "ffmotion", "live", camera, "-", "--format",
                             "mpegts", "-k", str(k), "--quiet"], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    time.sleep(3)
    alone = _used(seconds)
    os.kill(live.pid, signal.SIGTERM)
    live.wait(timeout=30)
    binary = os.environ.get("FFMOTION_CHROMIUM") or shutil.which("chromium")
    page = subprocess.Popen([sys.executable, "-m", "ffmotion", "preview", camera, "--no-browser",
                             "-k", str(k)], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    assert page.stdout is not None
    url = page.stdout.readline().decode().strip()
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=binary, args=[
            "--headless", "--no-sandbox", "--disable-gpu"])
        tab = browser.new_page(viewport={"width": width + 40, "height": height + 200})
        tab.goto(url + (f"&view={view}" if view else ""))
        time.sleep(3)
        with_page = _used(seconds)
        browser.close()
    os.kill(page.pid, signal.SIGTERM)
    page.wait(timeout=30)
    live_cpu, page_cpu = sum(alone.values()), sum(with_page.values())
    return {"seconds": seconds, "content": content, "view": view or "default",
            "live_cpu": round(live_cpu, 2), "preview_cpu": round(page_cpu, 2),
            "ratio": round(page_cpu / live_cpu, 2),
            "live_by_kind": {k: round(v, 3) for k, v in alone.items()},
            "preview_by_kind": {k: round(v, 3) for k, v in with_page.items()}}


def markdown(report: dict[str, Any]) -> str:
    if "run" not in report:
        c = report["cpu"]
        return (f"CPU seconds per second ({c['content']} content, page path {c['view']}): "
                f"`ffmotion live` to MPEG-TS (x264) alone {c['live_cpu']}, `ffmotion preview` "
                f"with the page open in Chromium {c['preview_cpu']} (x{c['ratio']}); by process: "
                f"live {c.get('live_by_kind')}, preview {c.get('preview_by_kind')}\n\n"
                f"load average {report['loadavg']} (a shared 2-core machine)\n")
    r = report["run"]
    st = r.get("stages", {})
    stages = ("" if not st else
              "\n\nWhere frames go: camera wrote {camera_sent} (late by p95 {camera_late_p95_ms} "
              "ms, max {camera_late_max_ms} ms), ffmpeg made {ffmpeg_jpegs} JPEGs, the relay "
              "wrote {relayed_to_page} to the page and skipped {skipped_by_relay}, the page "
              "showed {page_distinct} distinct frames (the page's own count of frames drawn, canvas path: "
              "{drawn}) (load before {lb})".format(drawn=st.get("page_drawn", "-"),
                  lb=r.get("loadavg_before"), **st))
    if "camera_to_relay_p50_ms" in r:
        stages += ("\n\nWhere the time goes (p50 / p95 ms): camera write to the relay's JPEG "
                   "(ffmpeg: decode, motion, JPEG encode) {camera_to_relay_p50_ms} / "
                   "{camera_to_relay_p95_ms}; the relay's JPEG to the page's displayed frame "
                   "(relay, HTTP, browser decode and draw) {relay_to_page_p50_ms} / "
                   "{relay_to_page_p95_ms}".format(**r))
    stages += (f"\n\nContent {r.get('content', 'noise')}, page path {r.get('view', 'img')}, "
               f"mean JPEG {r.get('jpeg_kb', '?')} KiB")
    return (table(["size", "fps", "K", "s", "camera frames", "page frames", "p50 ms", "p95 ms",
                   "max ms"],
                  [[r["size"], r["fps"], r["k"], r["seconds"], r["camera_frames"],
                    r["page_frames"], r["p50_ms"], r["p95_ms"], r["max_ms"]]])
            + stages
            + ("" if "cpu" not in report else
               "\n\nCPU seconds per second: `ffmotion live` to MPEG-TS (x264) alone "
               f"{report['cpu']['live_cpu']}, `ffmotion preview` with the page open in "
               f"Chromium {report['cpu']['preview_cpu']} (x{report['cpu']['ratio']}); by "
               f"process: live {report['cpu'].get('live_by_kind')}, preview "
               f"{report['cpu'].get('preview_by_kind')} (every process below the bench, from "
               "/proc)")
            + f"\n\nload average {report['loadavg']} (a shared 2-core machine)\n")


def main(argv: Optional[list[str]] = None) -> int:
    p = argparse.ArgumentParser(prog="python -m benchmarks.bench_live_preview",
                                description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    add_arguments(p, "bench-live-preview", quick="640x360, 10 s", cache=False)
    p.add_argument("--size", default=None, help="camera size (default 1280x720)")
    p.add_argument("--fps", type=int, default=30)
    p.add_argument("--k", type=int, default=2)
    p.add_argument("--seconds", type=float, default=None, help="default 60")
    p.add_argument("--cpu", action="store_true", help="also the CPU cost of the page")
    p.add_argument("--cpu-only", action="store_true", help="the CPU cost alone")
    p.add_argument("--content", choices=("camera", "noise"), default="camera",
                   help="the stand-in camera's picture: camera-like (a smooth scene, slow "
                        "shapes, sensor noise sigma 2) or uniform noise 40..216 (JPEG's worst)")
    p.add_argument("--view", choices=("", "img", "canvas"), default="",
                   help="the page's frame path (default: the page's own; img: the MJPEG "
                        "stream in an <img>)")
    p.add_argument("--poll", type=int, default=4,
                   help="ms between the page's looks at the picture (0: once per paint)")
    args = p.parse_args(argv)
    w, h = (int(x) for x in (args.size or ("640x360" if args.quick else "1280x720")).split("x"))
    found: dict[str, Any] = {"poll_ms": args.poll}
    if not args.cpu_only:
        found["run"] = measure(args.seconds or (10.0 if args.quick else 60.0), w, h, args.fps,
                               args.k, args.poll, args.content, args.view)
    found["loadavg"] = loadavg()
    if args.cpu or args.cpu_only:
        found["cpu"] = cpu_cost(20.0 if not args.quick else 8.0, w, h, args.fps, args.k,
                                args.content, args.view)
    return publish(args, find_tools(None), found, markdown)


if __name__ == "__main__":
    sys.exit(main())
