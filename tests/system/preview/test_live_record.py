"""The live page's record button: the live output written to a file while the page runs,
under the safe-write rule; the frames equal the reference motion of the camera's frames
(up to the page's JPEG), none dropped; a second start refused; token and Host checked
before any body is read; a stop by SIGTERM finalizes the file too."""
from __future__ import annotations

import http.client
import json
import os
import select
import shutil
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Iterator

import numpy as np
import pytest

import reference
from helpers import bundled_ffmpeg, decode

CAMERA = "testsrc2=size=160x120:rate=30,format=yuv420p"
K = 2
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update"]


def start(folder: Path) -> tuple[subprocess.Popen, str]:
    proc = subprocess.Popen([sys.executable, "-m", "ffmotion", "preview", f"lavfi:{CAMERA}",
                             "--no-browser", "-k", str(K)], cwd=folder,
                            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE)
    assert proc.stdout is not None
    ready, _, _ = select.select([proc.stdout], [], [], 30)
    assert ready, "no URL printed"
    return proc, proc.stdout.readline().decode().strip()


def stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        os.kill(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)


@pytest.fixture()
def live(tmp_path) -> Iterator[tuple[subprocess.Popen, str, Path]]:
    folder = tmp_path / "here"
    folder.mkdir()
    proc, url = start(folder)
    try:
        yield proc, url, folder
    finally:
        stop(proc)


def post(url: str, route: str, token: str, host: str | None = None,
         length: int = 0) -> tuple[int, dict]:
    """POST with a Content-Length but no body sent: an answer proves none was awaited."""
    address = url.split("//")[1].split("/")[0]
    connection = http.client.HTTPConnection(address, timeout=5)
    try:
        connection.putrequest("POST", f"{route}?t={token}", skip_host=True)
        connection.putheader("Host", host or address)
        connection.putheader("Content-Length", str(length))
        connection.endheaders()
        answer = connection.getresponse()
        return answer.status, json.loads(answer.read() or b"{}")
    finally:
        connection.close()


def camera_motion(tmp_path: Path, frames: int) -> list:
    ffmpeg = bundled_ffmpeg()
    src = tmp_path / "camera.mkv"
    subprocess.run([ffmpeg, "-v", "error", "-f", "lavfi", "-i", CAMERA, "-frames:v",
                    str(frames), "-c:v", "ffv1", str(src)], check=True, timeout=60)
    return list(reference.reference(ffmpeg, src, K, "offset", "yuv420p", 160, 120))


def shown_frames(recorded: list, refs: list) -> tuple[list[int], list[float], list[float]]:
    """For each recorded frame: the reference frame closest to it, its mean error, and the
    error to the next closest (the match must stand out: JPEG error, not a look-alike)."""
    stack = np.stack([ref[0].astype(np.int16) for ref in refs])
    found, best, second = [], [], []
    for frame in recorded:
        errors = np.abs(stack - frame[0].astype(np.int16)).mean(axis=(1, 2))
        order = np.argsort(errors)
        found.append(int(order[0]))
        best.append(float(errors[order[0]]))
        second.append(float(errors[order[1]]))
    return found, best, second


def test_record_button_writes_the_live_motion(live, tmp_path):
    sync_api = pytest.importorskip("playwright.sync_api", reason="needs Playwright")
    binary = os.environ.get("FFMOTION_CHROMIUM") or shutil.which("chromium") \
        or shutil.which("chromium-browser")
    if binary is None:
        pytest.skip("needs Chromium: apt-get install chromium (or FFMOTION_CHROMIUM)")
    proc, url, folder = live
    base, token = url.split("/?t=")
    # token and Host first, before a (never sent) body is awaited
    assert post(url, "/record", "wrong", length=10**6)[0] == 403
    assert post(url, "/record", token, host="evil.test", length=10**6)[0] == 403
    assert post(url, "/record/stop", "wrong", length=10**6)[0] == 403
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=binary, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page()
            page.goto(url)
            page.wait_for_function("document.getElementById('live').width === 320",
                                   timeout=20000)  # the page's canvas, its first frame drawn
            page.click("#record")
            page.wait_for_function("document.getElementById('recording').textContent"
                                   ".startsWith('recording to ffmotion-live-')", timeout=10000)
            name = page.text_content("#recording").split()[2]
            assert not (folder / name).exists()  # a temporary name until the stop
            status, answer = post(url, "/record", token)  # a second start is refused
            assert status == 409 and "already recording" in answer["error"]
            page.wait_for_timeout(2000)
            page.click("#record")
            page.wait_for_function("document.getElementById('recording').textContent"
                                   ".startsWith('saved ')", timeout=20000)
            saved = page.text_content("#recording")
        finally:
            browser.close()
        state = json.load(urllib.request.urlopen(f"{base}/state?t={token}", timeout=10))
    assert [p.name for p in folder.iterdir()] == [name]  # nothing else left behind
    count = int(saved.split(": ")[1].split()[0])
    recorded = decode(bundled_ffmpeg(), folder / name, "yuv420p", (160, 120))
    assert len(recorded) == count
    assert 30 <= count <= 30 * 10  # about 2 s at 30 fps (a loaded machine: slower)
    refs = camera_motion(tmp_path, state["frames"] + 2 * K + 30)
    found, best, second = shown_frames(recorded, refs)
    assert found == list(range(found[0], found[0] + count))  # in order, not one dropped
    assert max(best) < 2.0, max(best)  # the motion of those camera frames, JPEG aside
    assert min(s - b for s, b in zip(second, best)) > 1.0


def test_stop_by_sigterm_finalizes_the_recording(tmp_path):
    proc, url = start(tmp_path)
    try:
        token = url.split("/?t=")[1]
        status, answer = post(url, "/record", token)
        assert status == 200, answer
        time.sleep(1.5)
    finally:
        stop(proc)
    assert proc.returncode == 0
    files = list(tmp_path.iterdir())
    assert [p.name for p in files] == [answer["recording"]]
    assert len(decode(bundled_ffmpeg(), files[0], "yuv420p", (160, 120))) > 0
