"""ffmotion preview <live source>: the page shows the live motion (MJPEG over HTTP) and its
controls steer the running job; token and Host are checked; nothing is left behind."""
from __future__ import annotations

import contextlib
import os
import select
import shutil
import signal
import subprocess
import sys
import urllib.error
import urllib.request
from typing import Any, Iterator

import pytest

from ffmotion.run import runtime

CAMERA = "lavfi:testsrc2=size=160x120:rate=30,format=yuv420p"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update"]


@pytest.fixture()
def live() -> Iterator[tuple[subprocess.Popen, str]]:
    with running(CAMERA) as started:
        yield started


@contextlib.contextmanager
def running(camera: str) -> Iterator[tuple[subprocess.Popen, str]]:
    proc = subprocess.Popen([sys.executable, "-m", "ffmotion", "preview", camera,
                             "--no-browser"], stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE)
    try:
        assert proc.stdout is not None
        ready, _, _ = select.select([proc.stdout], [], [], 30)
        assert ready, "no URL printed"
        url = proc.stdout.readline().decode().strip()
        assert url.startswith("http://127.0.0.1:"), proc.stderr.read() if proc.stderr else url
        yield proc, url
    finally:
        if proc.poll() is None:  # stopped as a user stops it, so it can clean up
            os.kill(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.kill(proc.pid, signal.SIGKILL)
                proc.wait(timeout=10)


def status(url: str, host: str | None = None) -> int:
    request = urllib.request.Request(url, headers={"Host": host} if host else {})
    try:
        with urllib.request.urlopen(request, timeout=10) as answer:
            return answer.status
    except urllib.error.HTTPError as error:
        return error.code


def test_token_and_host_are_checked_and_nothing_is_left(live):
    proc, url = live
    base, token = url.split("/?t=")
    assert status(f"{base}/state?t={token}") == 200
    assert status(f"{base}/state?t=wrong") == 403
    assert status(f"{base}/frames.mjpeg") == 403
    assert status(f"{base}/state?t={token}", host="evil.test") == 403
    assert status(f"{base}/state?t=wrong&arrivals=1") == 403
    assert status(f"{base}/state?t={token}&arrivals=1", host="evil.test") == 403
    mine = set(runtime.folder().iterdir())
    assert any(p.name.startswith(f"frames-{proc.pid}-") for p in mine)
    import json
    import time

    deadline = time.monotonic() + 20
    while json.load(urllib.request.urlopen(f"{base}/state?t={token}", timeout=10))[
            "frames"] < 5:  # the run is under way
        assert time.monotonic() < deadline
        time.sleep(0.1)
    # where the latency goes: the relay's arrival times of its latest frames (bounded), and the
    # bytes of the JPEGs it got (their mean size)
    state = json.load(urllib.request.urlopen(f"{base}/state?t={token}&arrivals=1", timeout=10))
    numbers = [n for n, _ in state["arrivals"]]
    assert 5 <= len(numbers) <= 256 and numbers == sorted(numbers)
    assert numbers[-1] <= state["frames"]
    assert state["bytes"] >= 300 * state["frames"] > 0  # whole JPEGs (320x120), counted
    assert "arrivals" not in json.load(urllib.request.urlopen(f"{base}/state?t={token}",
                                                              timeout=10))
    os.kill(proc.pid, signal.SIGTERM)
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err
    left = {p for p in runtime.folder().iterdir() if p in mine and p.name.startswith(
        (f"frames-{proc.pid}-", f"zmq-{proc.pid}-"))}
    assert not left


# the width of the picture the page shows (its canvas, or with ?view=img its <img>)
SHOWN_WIDTH = "(e => e.naturalWidth || e.width)(document.getElementById('live'))"


@contextlib.contextmanager
def live_page(url: str) -> Iterator[Any]:
    """The live page open in headless Chromium, its picture shown (skipped without
    Playwright or Chromium)."""
    sync_api = pytest.importorskip("playwright.sync_api", reason="needs Playwright")
    binary = os.environ.get("FFMOTION_CHROMIUM") or shutil.which("chromium") \
        or shutil.which("chromium-browser")
    if binary is None:
        pytest.skip("needs Chromium: apt-get install chromium (or FFMOTION_CHROMIUM)")
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=binary, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page()
            page.goto(url)
            page.wait_for_function(SHOWN_WIDTH + " === 320", timeout=20000)
            yield page
        finally:
            browser.close()

# the motion is the right half of the picture (the camera's own picture is the left half)
MEAN_DEVIATION = """(left) => {
  const img = document.getElementById('live');  // the page's canvas (or ?view=img: an <img>)
  const c = document.createElement('canvas');
  c.width = img.naturalWidth || img.width; c.height = img.naturalHeight || img.height;
  const g = c.getContext('2d'); g.drawImage(img, 0, 0);
  const half = c.width / 2;
  const d = g.getImageData(left ? 0 : half, 0, half, c.height).data;
  let s = 0; for (let i = 0; i < d.length; i += 4) s += Math.abs(d[i + 1] - 127);
  return s / (d.length / 4);
}"""


def test_page_shows_the_live_motion_and_its_controls_steer_it(live):
    _, url = live
    with live_page(url) as page:
        page.wait_for_timeout(500)
        before = page.evaluate(MEAN_DEVIATION)
        camera = page.evaluate(MEAN_DEVIATION, True)
        assert camera > 3 * before  # the colour bars beside their (mostly gray) motion
        page.fill("#gain", "4")
        page.dispatch_event("#gain", "change")
        page.wait_for_function(
            "document.getElementById('status').textContent.startsWith('running: gain 4')",
            timeout=10000)
        # the picture shows the new gain (x4, less what clips and what JPEG smooths)
        page.wait_for_function(f"({MEAN_DEVIATION})() > {1.6 * before}", timeout=10000)
        page.fill("#offset", "5")
        page.dispatch_event("#offset", "change")
        page.wait_for_function(
            "document.getElementById('status').textContent.startsWith('restart: gain 4, "
            "offset 5')", timeout=10000)
        assert page.text_content("#command") == f"ffmotion live {CAMERA} OUT -k 5 --gain 4"
        page.click("#freeze")
        page.wait_for_function(
            "document.getElementById('command').textContent.endsWith('--freeze 0 --gain 4')",
            timeout=10000)
        page.fill("#offset", "5")
        page.dispatch_event("#offset", "change")
        page.wait_for_function(
            "document.getElementById('command').textContent.endsWith('-k 5 --gain 4')",
            timeout=10000)
        page.wait_for_timeout(1000)  # frames again after the restart, the gain kept
        page.wait_for_function(f"({MEAN_DEVIATION})() > {1.6 * before}", timeout=10000)


def test_the_page_draws_every_frame_on_its_canvas_and_img_still_shows_them(live):
    """The page's frame path: the MJPEG stream read by fetch() and drawn on a canvas (frames
    counted as drawn); ``?view=img`` shows the same stream in a plain <img>."""
    _, url = live
    with live_page(url) as page:
        assert page.evaluate("document.getElementById('live').tagName") == "CANVAS"
        first = page.evaluate("window.framesShown")
        page.wait_for_timeout(1000)
        drawn = page.evaluate("window.framesShown") - first
        assert 10 <= drawn <= 40  # 30 fps: frames keep coming (a loaded machine: fewer)
        assert page.evaluate(MEAN_DEVIATION, True) > 3 * page.evaluate(MEAN_DEVIATION)
        page.goto(url + "&view=img")
        page.wait_for_function(SHOWN_WIDTH + " === 320", timeout=20000)
        assert page.evaluate("document.getElementById('live').tagName") == "IMG"
        assert page.evaluate(MEAN_DEVIATION, True) > 3 * page.evaluate(MEAN_DEVIATION)


PIXELS = """() => {
  const e = document.getElementById('live');
  const c = document.createElement('canvas'); c.width = 320; c.height = 120;
  const g = c.getContext('2d'); g.drawImage(e, 0, 0);
  return Array.from(g.getImageData(0, 0, 320, 120).data);
}"""


def test_the_canvas_shows_what_the_img_shows_and_both_halves_are_right():
    """A still camera of one colour: the camera's half is that colour and the motion half is
    the reference's gray (a frame against the same frame K later: (x + 255 - x) // 2 = 127 in
    every plane, shown by the browser as BT.601 limited-range YUV), within the JPEG's error;
    the canvas path and the <img> show the same pixels."""
    sync_api = pytest.importorskip("playwright.sync_api", reason="needs Playwright")
    import shutil

    import numpy as np

    binary = os.environ.get("FFMOTION_CHROMIUM") or shutil.which("chromium") \
        or shutil.which("chromium-browser")
    if binary is None:
        pytest.skip("needs Chromium: apt-get install chromium (or FFMOTION_CHROMIUM)")
    y = u = v = 127.0
    gray = [1.164 * (y - 16) + 1.596 * (v - 128),
            1.164 * (y - 16) - 0.392 * (u - 128) - 0.813 * (v - 128),
            1.164 * (y - 16) + 2.017 * (u - 128)]
    with running("lavfi:color=c=0x50A0F0:size=160x120:rate=30") as (_, url), \
            sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=binary, args=CHROMIUM_ARGS)
        try:
            shown = []
            for view in ("", "&view=img"):
                page = browser.new_page()
                page.goto(url + view)
                page.wait_for_function(SHOWN_WIDTH + " === 320", timeout=20000)
                page.wait_for_timeout(300)
                shown.append(np.array(page.evaluate(PIXELS), np.int16).reshape(120, 320, 4))
        finally:
            browser.close()
    canvas, img = shown
    assert np.array_equal(canvas, img)
    camera, motion = canvas[8:-8, 8:152, :3], canvas[8:-8, 168:312, :3]  # off the JPEG's edges
    assert np.abs(camera - np.array([0x50, 0xA0, 0xF0])).max() <= 3
    assert np.abs(motion - np.array(gray)).max() <= 4
