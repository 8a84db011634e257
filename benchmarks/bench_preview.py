"""The preview's two speed figures, measured in a real browser (Playwright + system Chromium).

* **update latency**: from the input event (offset or a look control changed in the page) to
  the exact frame drawn on the canvas, ``performance.now()`` in the page; p50/p95 over
  ``--samples`` distinct settings (none is in the server's frame cache).
* **playback**: frames drawn per second while playing the motion picture from frame 0, and
  how many were skipped to keep pace with the clip's frame rate.

    python -m benchmarks.bench_preview --quick --out /tmp/ffmotion-quick   # 360p, 2 s input
    python -m benchmarks.bench_preview       # 1080p30 10 s input, 1280x720 preview
    python -m benchmarks.bench --sections preview   # the same, as a section of bench
"""
from __future__ import annotations

import argparse
import os
import select
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Optional

from benchmarks.common import (
    ROOT,
    ClipSpec,
    add_arguments,
    ensure_clip,
    loadavg,
    parse_size,
    percentile,
    publish,
    table,
)
from benchmarks.common import tools as find_tools

CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                 "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]


def _start(src: Path, ffmpeg_bin: str, width: int, out: Path) -> tuple[subprocess.Popen, str]:  # type: ignore[type-arg]
    env = {**os.environ, "FFMOTION_FFMPEG": ffmpeg_bin}
    proc = subprocess.Popen([sys.executable, "-m", "ffmotion", "preview", str(src),
                             "--no-browser", "--port", "0", "--width", str(width), "-o", str(out)],
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=env,
                            cwd=ROOT)
    assert proc.stdout is not None
    ready, _, _ = select.select([proc.stdout], [], [], 60)
    url = proc.stdout.readline().decode().strip() if ready else ""
    if not url.startswith("http"):
        proc.kill()
        raise RuntimeError("ffmotion preview printed no URL")
    return proc, url


_CHANGE = """async ([selector, value, k]) => {
  const el = document.querySelector(selector);
  el.value = value; el.dispatchEvent(new Event('change'));
}"""
_DONE = """([k, key]) => window.ffmotionPreview.exact && window.ffmotionPreview.busy === 0 &&
  window.ffmotionPreview.describe && window.ffmotionPreview.describe.k === k"""


def run(src: Path, ffmpeg_bin: str, width: int = 1280, samples: int = 40,
        play_seconds: float = 8.0, chromium: Optional[str] = None) -> dict[str, Any]:
    """Both figures for ``src`` (see the module docstring)."""
    from playwright.sync_api import sync_playwright

    binary = chromium or shutil.which("chromium") or shutil.which("chromium-browser")
    if binary is None:
        raise RuntimeError("no chromium: apt-get install chromium")
    with tempfile.TemporaryDirectory(prefix="ffmotion-bench-preview-") as tmp:
        started = time.monotonic()
        proc, url = _start(src, ffmpeg_bin, width, Path(tmp))
        try:
            with sync_playwright() as playwright:
                browser = playwright.chromium.launch(executable_path=binary, args=CHROMIUM_ARGS)
                page = browser.new_page(viewport={"width": 1400, "height": 1000}, bypass_csp=True)
                page.goto(url)
                page.wait_for_function("window.ffmotionPreview && window.ffmotionPreview.exact",
                                       timeout=300000)
                first = time.monotonic() - started
                info = page.evaluate("fetch('/api/info?t=' + new URLSearchParams(location.search)"
                                     ".get('t')).then(r => r.json())")
                results: dict[str, Any] = {"input": f"{info['width']}x{info['height']}",
                                           "fps": info["fps_text"], "frames": info["frames"],
                                           "preview": f"{info['preview'][0]}x{info['preview'][1]}",
                                           "first_exact_frame_s": round(first, 2)}
                page.eval_on_selector("#frame", "(el) => { el.value = '30'; "
                                      "el.dispatchEvent(new Event('input')); }")
                page.wait_for_function("window.ffmotionPreview.exact && "
                                       "window.ffmotionPreview.busy === 0", timeout=60000)
                for what in ("offset", "gain"):
                    times, parts = [], []
                    for n in range(samples):
                        k = 2 + n if what == "offset" else 1 + samples
                        if what == "offset":
                            page.evaluate(_CHANGE, ["#offset", str(k), k])
                        else:
                            page.evaluate(_CHANGE, ["#gain", f"{1 + (n + 1) * 0.25:g}", k])
                        page.wait_for_function(_DONE, arg=[k, ""], timeout=60000)
                        times.append(page.evaluate("window.ffmotionPreview.drawnAt - "
                                                   "window.ffmotionPreview.changedAt"))
                        parts.append(page.evaluate("window.ffmotionPreview.timing"))
                    results[f"{what}_ms"] = {"p50": round(statistics.median(times), 1),
                                             "p95": round(percentile(times, 0.95), 1),
                                             "max": round(max(times), 1), "n": len(times),
                                             "fetch_p50": round(statistics.median(
                                                 p["fetch"] for p in parts), 1),
                                             "draw_p50": round(statistics.median(
                                                 p["draw"] for p in parts), 1)}
                # playback from the first frame, classic look
                page.evaluate(_CHANGE, ["#gain", "1", 0])
                page.evaluate(_CHANGE, ["#offset", "6", 6])
                page.wait_for_function(_DONE, arg=[6, ""], timeout=60000)
                page.eval_on_selector("#frame", "(el) => { el.value = '0'; "
                                      "el.dispatchEvent(new Event('input')); }")
                page.wait_for_function("window.ffmotionPreview.exact && "
                                       "window.ffmotionPreview.busy === 0", timeout=60000)
                page.click("#play")
                page.wait_for_timeout(int(play_seconds * 1000))
                stats = page.evaluate("window.ffmotionPreview.playStats")
                page.click("#play")
                shown = stats["drawn"] / stats["seconds"] if stats["seconds"] else 0.0
                results["playback"] = {"drawn": stats["drawn"], "skipped": stats["skipped"],
                                       "seconds": round(stats["seconds"], 2),
                                       "fps_shown": round(shown, 1)}
                browser.close()
        finally:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
    results["loadavg"] = loadavg()
    return results


def markdown(report: dict[str, Any]) -> str:
    """Both figures as tables."""
    out = [f"input {report['input']} at {report['fps']} fps ({report['frames']} frames), "
           f"preview {report['preview']}; first exact frame after "
           f"{report['first_exact_frame_s']} s; load average {report['loadavg']}", ""]
    out.append(table(["update (input event to exact frame drawn)", "p50 ms", "p95 ms", "max ms",
                      "n", "fetch p50 ms", "draw p50 ms"],
                     [[what, r["p50"], r["p95"], r["max"], r["n"], r["fetch_p50"], r["draw_p50"]]
                      for what, r in (("offset", report["offset_ms"]),
                                      ("gain", report["gain_ms"]))]))
    play = report["playback"]
    out += ["", f"Playback: {play['drawn']} frames drawn, {play['skipped']} skipped in "
                f"{play['seconds']} s: {play['fps_shown']} frames/s shown."]
    return "\n".join(out) + "\n"


def main(argv: Optional[list[str]] = None) -> int:
    p = argparse.ArgumentParser(prog="python -m benchmarks.bench_preview",
                                description=__doc__.split("\n\n")[0])
    add_arguments(p, "bench-preview",
                  quick="a 360p 2 s input, 640 px preview, 5 samples, 2 s of playback")
    p.add_argument("--size", type=parse_size, default=None, help="input size (default 1080p)")
    p.add_argument("--seconds", type=int, default=None, help="input length (default 10)")
    p.add_argument("--width", type=int, default=None, help="preview width (default 1280)")
    p.add_argument("--samples", type=int, default=None, help="settings timed (default 40)")
    p.add_argument("--play-seconds", type=float, default=None, help="default 8")
    p.add_argument("--chromium", help="Chromium binary (default: chromium on PATH)")
    args = p.parse_args(argv)
    quick = args.quick
    w, h = args.size or ((640, 360) if quick else (1920, 1080))
    tools = find_tools(args.ffmpeg)
    src = ensure_clip(ClipSpec(w, h, args.seconds or (2 if quick else 10)), args.cache,
                      tools.ffmpeg)
    result = run(src, tools.ffmpeg, args.width or (640 if quick else 1280),
                 args.samples or (5 if quick else 40),
                 args.play_seconds or (2.0 if quick else 8.0), args.chromium)
    return publish(args, tools, result, markdown)


if __name__ == "__main__":
    sys.exit(main())
