"""How late would the live page be through MSE (fragmented MP4, H.264) instead of JPEG frames?

A measurement, not a product path: the stand-in camera of ``bench_live_preview`` (the same
frames, the same frame-number marker) writes y4m at the frame rate to an ffmpeg that puts the
camera's picture twice side by side (the page's picture size, no motion: the marker is read
straight off the frame) and encodes H.264 (x264 ultrafast, tune zerolatency, one fragment
per frame: ``-movflags frag_every_frame+empty_moov+default_base_moof``). A plain HTTP server
passes ffmpeg's bytes to a page that appends them to a ``MediaSource`` ``SourceBuffer`` and
plays them in a ``<video>``, jumping to the live edge when it lags more than 100 ms. The
same watcher as the bench polls the displayed pixels every 4 ms: camera frame n written to
frame n shown.

    python -m benchmarks.probe_live_mse --seconds 30 --out /tmp/mse
"""
from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Optional

import numpy as np

from benchmarks.bench_live_preview import SLOTS, WATCH, _frames
from benchmarks.common import add_arguments, loadavg, percentile, publish, table
from benchmarks.common import tools as find_tools

PAGE = """<!doctype html><html><body style="margin:0;background:#000">
<video id="live" muted autoplay playsinline></video>
<script>
const video = document.getElementById("live");
const source = new MediaSource();
video.src = URL.createObjectURL(source);
window.skips = 0;
source.addEventListener("sourceopen", async () => {
  const buffer = source.addSourceBuffer('video/mp4; codecs="avc1.640028"');
  const queue = [];
  const pump = () => {
    if (!buffer.updating && queue.length) buffer.appendBuffer(queue.shift());
    if (video.buffered.length) {
      const end = video.buffered.end(video.buffered.length - 1);
      if (end - video.currentTime > 0.1) { video.currentTime = end - 0.02; window.skips++; }
    }
  };
  buffer.addEventListener("updateend", pump);
  const reader = (await fetch("/stream")).body.getReader();
  for (;;) {
    const {done, value} = await reader.read();
    if (done) break;
    queue.push(value); pump();
  }
});
video.play();
</script></body></html>"""


def measure(seconds: float, width: int, height: int, fps: int, content: str,
            ffmpeg: str) -> dict[str, Any]:
    from playwright.sync_api import sync_playwright

    proc = subprocess.Popen(
        [ffmpeg, "-hide_banner", "-loglevel", "error", "-flags", "low_delay", "-i", "-",
         "-filter_complex", "[0:v]split[a][b];[a][b]hstack", "-c:v", "libx264", "-preset",
         "ultrafast", "-tune", "zerolatency", "-profile:v", "high", "-level", "4.0",
         "-pix_fmt", "yuv420p", "-g", str(fps), "-f", "mp4", "-movflags",
         "frag_every_frame+empty_moov+default_base_moof", "-"],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    frames = _frames(width, height, SLOTS * 4, content)
    sent: list[float] = []
    stop = threading.Event()
    chunks: list[bytes] = []  # ffmpeg's output, kept for the page (a measurement: bounded by time)
    arrived = threading.Condition()

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
                proc.stdin.write(b"FRAME\n" + frames[n % len(frames)])
                proc.stdin.flush()
                sent.append(time.time() * 1000)
                n += 1
        except (BrokenPipeError, OSError, ValueError):
            pass

    def pump() -> None:
        assert proc.stdout is not None
        while True:
            data = proc.stdout.read1(1 << 16)  # type: ignore[attr-defined]
            if not data:
                return
            with arrived:
                chunks.append(data)
                arrived.notify_all()

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
            return

        def do_GET(self) -> None:  # noqa: N802
            if self.path != "/stream":
                body = PAGE.encode()
                self.send_response(200)
                self.send_header("Content-Type", "text/html")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
                return
            self.send_response(200)
            self.send_header("Content-Type", "video/mp4")
            self.end_headers()
            at = 0
            while not stop.is_set():
                with arrived:
                    arrived.wait_for(lambda at=at: len(chunks) > at or stop.is_set(), 1.0)
                    new, at = chunks[at:], len(chunks)
                try:
                    for chunk in new:
                        self.wfile.write(chunk)
                    self.wfile.flush()
                except OSError:
                    return

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    threading.Thread(target=camera, daemon=True).start()
    threading.Thread(target=pump, daemon=True).start()
    binary = os.environ.get("FFMOTION_CHROMIUM") or shutil.which("chromium")
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=binary, args=[
                "--headless", "--no-sandbox", "--disable-gpu",
                "--autoplay-policy=no-user-gesture-required"])
            page = browser.new_page(viewport={"width": 2 * width + 40, "height": height + 40})
            page.goto(f"http://127.0.0.1:{server.server_address[1]}/")
            page.wait_for_function("document.getElementById('live').videoWidth > 0",
                                   timeout=30000)
            # the same watcher; the "motion" is the right copy of the camera's picture
            page.evaluate(WATCH.replace("img.naturalWidth", "img.videoWidth").replace(
                "img.naturalHeight", "img.videoHeight"), [SLOTS, 4, width / height])
            load_before = loadavg()
            sent_first = len(sent)
            time.sleep(seconds)
            seen = page.evaluate("window.seen")
            skips = page.evaluate("window.skips")
            sent_then = len(sent)
            browser.close()
    finally:
        stop.set()
        server.shutdown()
        if proc.stdin is not None:
            proc.stdin.close()
        proc.kill()
        proc.wait(timeout=30)
    times = np.array(sent)
    latencies = []
    for shown, slot in seen[5:]:
        candidates = [i for i in range(len(sent)) if i % SLOTS == slot and times[i] <= shown]
        if candidates:
            latencies.append(shown - times[candidates[-1]])
    return {"size": f"{width}x{height}", "fps": fps, "content": content, "seconds": seconds,
            "camera_sent": sent_then - sent_first, "page_distinct": len(seen),
            "live_edge_jumps": skips, "loadavg_before": load_before,
            "p50_ms": round(percentile(latencies, 0.5), 1),
            "p95_ms": round(percentile(latencies, 0.95), 1),
            "max_ms": round(max(latencies), 1)}


def markdown(report: dict[str, Any]) -> str:
    r = report["run"]
    return (table(["path", "size", "content", "s", "camera wrote", "page showed", "p50 ms",
                   "p95 ms", "max ms", "live-edge jumps"],
                  [["MSE (fMP4 H.264)", r["size"], r["content"], r["seconds"], r["camera_sent"],
                    r["page_distinct"], r["p50_ms"], r["p95_ms"], r["max_ms"],
                    r["live_edge_jumps"]]])
            + f"\n\nload average before {r['loadavg_before']}, after {report['loadavg']} "
              "(a shared 2-core machine)\n")


def main(argv: Optional[list[str]] = None) -> int:
    p = argparse.ArgumentParser(prog="python -m benchmarks.probe_live_mse", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    add_arguments(p, "probe-live-mse", quick="640x360, 10 s", cache=False)
    p.add_argument("--size", default=None, help="camera size (default 1280x720)")
    p.add_argument("--fps", type=int, default=30)
    p.add_argument("--seconds", type=float, default=None, help="default 30")
    p.add_argument("--content", choices=("camera", "noise"), default="camera")
    args = p.parse_args(argv)
    w, h = (int(x) for x in (args.size or ("640x360" if args.quick else "1280x720")).split("x"))
    found = find_tools(None)
    run = measure(args.seconds or (10.0 if args.quick else 30.0), w, h, args.fps, args.content,
                  found.ffmpeg)
    return publish(args, found, {"run": run, "loadavg": loadavg()}, markdown)


if __name__ == "__main__":
    sys.exit(main())
