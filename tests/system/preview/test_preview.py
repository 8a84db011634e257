"""ffmotion preview: the server as a user meets it (a subprocess), the page in a real browser.

The expected pixels come from ffmpeg decoding + scaling the clip on its own and the numpy
reference, never from the preview's code. Browser tests need Playwright for Python and a
Chromium: ``pip install playwright`` and ``apt-get install chromium`` (or set
``FFMOTION_CHROMIUM`` to a Chromium binary); without them they skip.
"""
from __future__ import annotations

import base64
import dataclasses
import os
import select
import shlex
import shutil
import signal
import subprocess
import sys
import urllib.error
import urllib.request
from fractions import Fraction
from pathlib import Path
from typing import Iterator, Optional

import numpy as np
import pytest

from ffmotion.core.looks import Look
from ffmotion.core.pixfmt import plane_layout

import reference
from helpers import bundled_ffmpeg, make_clip

SIZE = (160, 120)
PREVIEW = (80, 60)  # --width 80: a real downscale
FRAMES = 30
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                 "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]


def chromium_path() -> Optional[str]:
    explicit = os.environ.get("FFMOTION_CHROMIUM")
    if explicit:
        return explicit
    for name in ("chromium", "chromium-browser", "google-chrome"):
        found = shutil.which(name)
        if found:
            return found
    return None


class Server:
    def __init__(self, proc: subprocess.Popen, url: str) -> None:  # type: ignore[type-arg]
        self.proc = proc
        self.url = url
        self.base = url.split("?")[0].rstrip("/")
        self.token = url.split("t=", 1)[1]

    def get(self, path: str, method: str = "GET") -> tuple[int, bytes]:
        request = urllib.request.Request(self.base + path, method=method)
        try:
            with urllib.request.urlopen(request, timeout=30) as answer:
                return answer.status, answer.read()
        except urllib.error.HTTPError as exc:
            return exc.code, exc.read()

    def stop(self) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=5)
            raise AssertionError("the preview server did not stop within 15 s of SIGTERM") from None


def start_server(src: Path, out: Path, *extra: str, cache: Optional[Path] = None) -> Server:
    env = {**os.environ, "FFMOTION_FFMPEG": bundled_ffmpeg()}
    if cache is not None:
        env["FFMOTION_CACHE"] = str(cache)
    proc = subprocess.Popen(
        [sys.executable, "-m", "ffmotion", "preview", str(src), "--no-browser", "--port", "0",
         "--width", str(PREVIEW[0]), "-o", str(out), *extra],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    assert proc.stdout is not None
    ready, _, _ = select.select([proc.stdout], [], [], 30)
    line = proc.stdout.readline().decode().strip() if ready else ""
    if not line.startswith("http://127.0.0.1:"):
        proc.kill()
        raise AssertionError(f"no URL from ffmotion preview: {line!r} "
                             f"{proc.stderr.read().decode()[-2000:] if proc.stderr else ''}")
    return Server(proc, line)


@pytest.fixture(scope="module")
def clip(tmp_path_factory: pytest.TempPathFactory, gen_ffmpeg: str) -> Path:
    folder = tmp_path_factory.mktemp("preview-clip")
    return make_clip(gen_ffmpeg, folder / "clip.mp4", size=SIZE, frames=FRAMES,
                     codec="libx264", audio="aac")


@pytest.fixture(scope="module")
def server(clip: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    out = tmp_path_factory.mktemp("preview-out")
    running = start_server(clip, out)
    yield running
    running.stop()


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    sync_api = pytest.importorskip(
        "playwright.sync_api",
        reason="browser tests need Playwright: pip install playwright (and apt-get install chromium)")
    binary = chromium_path()
    if binary is None:
        pytest.skip("browser tests need Chromium: apt-get install chromium "
                    "(or set FFMOTION_CHROMIUM to a Chromium binary)")
    with sync_api.sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=binary, args=CHROMIUM_ARGS)
        yield launched
        launched.close()


@pytest.fixture()
def page(browser: object, server: Server) -> Iterator[object]:
    # bypass_csp: the page forbids eval, which Playwright uses for wait_for_function strings
    context = browser.new_context(viewport={"width": 1200, "height": 900},  # type: ignore[attr-defined]
                                  bypass_csp=True)
    opened = context.new_page()
    errors: list[str] = []
    opened.on("pageerror", lambda exc: errors.append(str(exc)))
    opened.goto(server.url)
    # the first frame can come before the description (a loaded machine), and until then the
    # frame slider's range is 0..0: a frame set on it meanwhile would be clamped to 0
    opened.wait_for_function("window.ffmotionPreview && window.ffmotionPreview.exact && "
                             "window.ffmotionPreview.describe", timeout=30000)
    yield opened
    context.close()
    assert not errors, errors


def scaled_frames(src: Path, pix_fmt: str = "yuv420p",
                  sws: Optional[str] = None, denoise: str = "") -> list[reference.Frame]:
    """The clip decoded and scaled to the preview size by ffmpeg alone ("a scale in front");
    ``denoise``: then that temporal denoiser (a stage the reference takes from ffmpeg)."""
    w, h = PREVIEW
    flags = ["-sws_flags", sws] if sws else []
    after = f",{denoise}" if denoise else ""
    argv = [bundled_ffmpeg(), "-hide_banner", "-nostdin", "-v", "error", "-i", str(src),
            "-map", "0:v:0", "-vf", f"scale={w}:{h}:flags=bicubic,format=yuv420p{after}",
            "-fps_mode", "passthrough", *flags, "-f", "rawvideo", "-pix_fmt", pix_fmt, "-"]
    raw = subprocess.run(argv, capture_output=True, check=True).stdout
    layout = plane_layout(pix_fmt, w, h)
    size = layout.frame_bytes
    assert len(raw) == FRAMES * size
    return [reference.split_planes(np.frombuffer(raw[n * size:(n + 1) * size], np.uint8), layout)
            for n in range(FRAMES)]


def shown_planes(page: object, pix_fmt: str) -> list[np.ndarray]:
    data = base64.b64decode(page.evaluate("window.ffmotionPreview.shownBase64()"))  # type: ignore[attr-defined]
    return list(reference.split_planes(np.frombuffer(data, np.uint8),
                                       plane_layout(pix_fmt, *PREVIEW)))


def wait_exact(page: object, i: int, k: int) -> None:
    try:
        page.wait_for_function(  # type: ignore[attr-defined]
            f"window.ffmotionPreview.exact && window.ffmotionPreview.shown.i === {i} && "
            f"window.ffmotionPreview.describe && window.ffmotionPreview.describe.k === {k} && "
            "window.ffmotionPreview.busy === 0", timeout=90000)
    except Exception as exc:  # say what the page shows instead
        state = page.evaluate(  # type: ignore[attr-defined]
            "JSON.stringify({error: document.getElementById('error').textContent, "
            "motion: document.getElementById('motion-state').textContent, "
            "busy: window.ffmotionPreview.busy, exact: window.ffmotionPreview.exact, "
            "shown: window.ffmotionPreview.shown && window.ffmotionPreview.shown.i})")
        raise AssertionError(f"frame {i} (K={k}) never shown exactly: {state}") from exc


def set_value(page: object, selector: str, value: str) -> None:
    page.fill(selector, value)  # type: ignore[attr-defined]
    page.dispatch_event(selector, "change")  # type: ignore[attr-defined]


def go_to(page: object, i: int) -> None:
    page.eval_on_selector("#frame", f"(el) => {{ el.value = '{i}'; "  # type: ignore[attr-defined]
                          "el.dispatchEvent(new Event('input')); }")


# -- safety (plain HTTP, no browser needed) -------------------------------------------------

ROUTES = ["/", "/app.js", "/style.css", "/api/info", "/api/describe", "/api/frame?i=0",
          "/api/original?i=0", "/api/play?i=0", "/api/energy", "/api/render?id=1",
          "/api/render/file?id=1", "/favicon.ico", "/nonexistent", "/../../etc/passwd"]


@pytest.mark.parametrize("route", ROUTES)
def test_every_route_needs_the_token(server: Server, route: str) -> None:
    joiner = "&" if "?" in route else "?"
    for suffix in ("", f"{joiner}t=wrong", f"{joiner}t={server.token}x", f"{joiner}t="):
        status, body = server.get(route + suffix)
        assert status == 403, (route + suffix, status)
        assert b"token" in body
    status, _ = server.get(route, method="POST")
    assert status == 403


ESCAPES = [
    "/../../../../etc/passwd", "/%2e%2e/%2e%2e/%2e%2e/etc/passwd", "//etc/passwd",
    "/static/../../../etc/passwd", "/app.js/../../../../etc/passwd", "/%2Fetc%2Fpasswd",
    "/api/render/file?id=../../../../etc/passwd", "/api/render/file?id=%2Fetc%2Fpasswd",
    "/api/render/file?id=..%2F..%2Fetc%2Fpasswd", "/api/frame?i=/etc/passwd",
    "/api/frame?i=0&offset=../../etc/passwd", "/api/original?i=0&start=/etc/passwd",
    "/api/describe?rgb=/etc/passwd,1,2", "/api/frame?i=0&blend=..%2F..%2Fetc",
    "/api/render/file?id=1%00", "/..%5c..%5cetc%5cpasswd", "/api/frame?i=0&gain=%2e%2e",
]


@pytest.mark.parametrize("route", ESCAPES)
def test_no_parameter_becomes_a_path(server: Server, route: str) -> None:
    joiner = "&" if "?" in route else "?"
    status, body = server.get(f"{route}{joiner}t={server.token}")
    assert status in (400, 404), (route, status)
    assert b"root:" not in body


def test_render_refuses_an_existing_output(server: Server) -> None:
    status, body = server.get(f"/api/describe?offset=2&t={server.token}")
    assert status == 200
    import json

    target = Path(json.loads(body)["output"])
    target.write_bytes(b"precious")
    try:
        status, body = server.get(f"/api/render?offset=2&t={server.token}", method="POST")
        assert status == 400 and b"output exists" in body
        assert target.read_bytes() == b"precious"
    finally:
        target.unlink()


def test_stops_on_sigterm_and_cleans_up(clip: Path, tmp_path: Path) -> None:
    running = start_server(clip, tmp_path)
    status, _ = running.get(f"/api/frame?i=0&offset=1&t={running.token}")
    assert status == 200
    code = running.stop()
    assert code == 130
    assert not list(tmp_path.iterdir())  # nothing written without a render


# -- in the browser -----------------------------------------------------------------------------

def test_paused_frame_is_the_exact_scaled_frame(page: object, clip: Path) -> None:
    set_value(page, "#offset", "3")
    go_to(page, 5)
    wait_exact(page, 5, 3)
    frames = scaled_frames(clip)
    want = reference.blend(frames[5], frames[8], 255)
    got = shown_planes(page, "yuv420p")
    for p, (g, w) in enumerate(zip(got, want)):
        assert np.array_equal(g, w), f"plane {p}: {np.count_nonzero(g != w)} samples differ"
    # the page says what it shows, and the energy timeline arrives for this offset
    assert "exact" in page.inner_text("#motion-state")  # type: ignore[attr-defined]
    page.wait_for_function("document.getElementById('energy-state').textContent"  # type: ignore[attr-defined]
                           ".includes('K=3')", timeout=30000)


@pytest.mark.parametrize("look_fields, frame, look", [
    ({"preset": "amplified"}, 4, Look(gain=Fraction(4), blur=1)),
    ({"blend": "difference", "gain": "2", "trail": "0.5"}, 20,  # trail: warm-up from 9
     Look(blend="difference", gain=Fraction(2), trail=0.5)),
    ({"preset": "glow"}, 6, Look(gain=Fraction(2), glow=0.75, glow_radius=6)),
    ({"preset": "matte"}, 7, Look(blend="difference", threshold=12)),
    ({"blend": "grainextract", "threshold": "5", "glow": "0.5", "glow_radius": "2"}, 3,
     Look(blend="grainextract", threshold=5, glow=0.5, glow_radius=2)),
    ({"preset": "clean"}, 12, Look(blend="difference", gain=Fraction(2), denoise="hqdn3d")),
    ({"denoise": "atadenoise", "gain": "3"}, 9, Look(gain=Fraction(3), denoise="atadenoise")),
    ({"preset": "keyed"}, 5, Look(blend="difference", gain=Fraction(2), threshold=10,
                                  threshold_edge="soft", threshold_width=12,
                                  threshold_on="original")),
    ({"preset": "screen-glow"}, 4, Look(gain=Fraction(2), glow=0.9, glow_radius=6,
                                        glow_mode="screen")),
    ({"threshold": "6", "threshold_edge": "soft", "threshold_width": "20"}, 8,
     Look(threshold=6, threshold_edge="soft", threshold_width=20)),
])
def test_look_frames_are_exact(page: object, clip: Path, look_fields: dict, frame: int,
                               look: Look) -> None:
    set_value(page, "#offset", "2")
    for name, value in look_fields.items():
        if name in ("preset", "blend", "denoise", "threshold_edge", "threshold_on", "glow_mode"):
            page.select_option(f"#{name}", value)  # type: ignore[attr-defined]
        else:
            set_value(page, f"#{name}", value)
    go_to(page, frame)
    wait_exact(page, frame, 2)
    layout = plane_layout("yuv420p", *PREVIEW)
    source = scaled_frames(clip, denoise=look.denoise)
    after = dataclasses.replace(look, denoise="")  # the denoised frames are the input here
    want = list(reference.look_frames(iter(source), 2, "offset", layout, after))
    got = shown_planes(page, "yuv420p")
    for p, (g, w) in enumerate(zip(got, want[frame])):
        assert np.array_equal(g, w), f"plane {p}: {np.count_nonzero(g != w)} samples differ"


def test_render_is_the_clis_job_byte_for_byte(page: object, server: Server, clip: Path,
                                              tmp_path: Path) -> None:
    set_value(page, "#offset", "4")
    set_value(page, "#gain", "3")
    set_value(page, "#start", "3")
    wait_exact(page, 0, 4)
    cli = page.inner_text("#cli")  # type: ignore[attr-defined]
    page.click("#render")  # type: ignore[attr-defined]
    page.wait_for_selector("#render-link", timeout=60000)  # type: ignore[attr-defined]
    job = page.evaluate("window.ffmotionPreview.render")  # type: ignore[attr-defined]
    assert job["state"] == "done"
    rendered = Path(job["output"])
    words = shlex.split(cli)
    assert words[0] == "ffmotion" and Path(words[2]) == rendered
    again = tmp_path / "cli.mp4"
    env = {**os.environ, "FFMOTION_FFMPEG": bundled_ffmpeg()}
    done = subprocess.run([sys.executable, "-m", "ffmotion", words[1], str(again), *words[3:],
                           "-q"], capture_output=True, text=True, env=env)
    assert done.returncode == 0, done.stderr
    assert "--gain" in words and "--start" in words
    assert rendered.read_bytes() == again.read_bytes()
    # the link serves the same file
    served = page.request.get(page.eval_on_selector("#render-link", "a => a.href"))  # type: ignore[attr-defined]
    assert served.status == 200 and served.body() == rendered.read_bytes()
    # a second render of the same settings is refused (no --overwrite), the file is kept
    page.click("#render")  # type: ignore[attr-defined]
    page.wait_for_function("document.getElementById('render-state').textContent"  # type: ignore[attr-defined]
                           ".includes('output exists')", timeout=30000)
    rendered.unlink()


def test_sigterm_during_a_render_leaves_no_partial_file(clip: Path, tmp_path: Path) -> None:
    running = start_server(clip, tmp_path)
    status, _ = running.get(f"/api/render?offset=1&blur=2&t={running.token}", method="POST")
    assert status == 200
    assert running.stop() == 130
    left = [p.name for p in tmp_path.iterdir()]
    # killed in flight: nothing; finished first: the whole file, never a temporary one
    assert not [name for name in left if "ffmotion-tmp" in name], left
    assert len(left) <= 1


@pytest.mark.parametrize("rgb", ["", "1x,2x,3x"])
def test_freeze_frames_are_exact(page: object, clip: Path, rgb: str) -> None:
    page.check("input[name=mode][value=freeze]")  # type: ignore[attr-defined]
    set_value(page, "#offset", "2")
    if rgb:
        set_value(page, "#rgb", rgb)
    go_to(page, 9)
    wait_exact(page, 9, 2)
    if not rgb:
        frames = scaled_frames(clip)
        want = reference.blend(frames[9], frames[2], 255)
        pix_fmt = "yuv420p"
    else:
        pix_fmt = "gbrp"
        layout = plane_layout(pix_fmt, *PREVIEW)
        look = Look.parse(rgb_offsets=("1x", "2x", "3x"))  # type: ignore[arg-type]
        expected = reference.look_frames(
            iter(scaled_frames(clip, pix_fmt, reference.LOOK_SWS_FLAGS)), 2, "freeze", layout,
            look, (2, 4, 6))
        want = list(expected)[9]
    got = shown_planes(page, pix_fmt)
    for p, (g, w) in enumerate(zip(got, want)):
        assert np.array_equal(g, w), f"plane {p}: {np.count_nonzero(g != w)} samples differ"


def test_the_timeline_sets_the_range(page: object) -> None:
    page.wait_for_function("document.getElementById('energy-state').textContent"  # type: ignore[attr-defined]
                           ".includes('click')", timeout=30000)
    box = page.eval_on_selector("#energy", "c => [c.clientWidth, c.clientHeight]")  # type: ignore[attr-defined]
    page.click("#energy", position={"x": box[0] * 10 / (FRAMES - 1), "y": 10},  # type: ignore[attr-defined]
               modifiers=["Shift"])
    page.wait_for_function("window.ffmotionPreview.describe && "  # type: ignore[attr-defined]
                           "window.ffmotionPreview.describe.first === 10", timeout=30000)
    assert page.input_value("#start") == "10"  # type: ignore[attr-defined]
    assert "--start 10f" in page.inner_text("#cli")  # type: ignore[attr-defined]


def test_stabilized_frames_are_the_scaled_pass_two(browser: object, clip: Path,
                                                   tmp_path: Path) -> None:
    """With --stabilize the scale comes after vid.stab's transform (its transforms are full
    resolution): expected = the clip's range through vidstabtransform (reading the motions of
    the preview's own pass 1), then scaled, by ffmpeg alone, blended by the reference."""
    cache = tmp_path / "cache"
    running = start_server(clip, tmp_path, cache=cache)
    try:
        page = browser.new_page(bypass_csp=True)  # type: ignore[attr-defined]
        page.goto(running.url)
        page.wait_for_function("window.ffmotionPreview && window.ffmotionPreview.exact && "
                               "window.ffmotionPreview.describe", timeout=30000)
        set_value(page, "#start", "4")
        set_value(page, "#end", "24")
        page.check("#stab")
        page.dispatch_event("#stab", "change")
        set_value(page, "#offset", "3")
        go_to(page, 6)
        wait_exact(page, 6, 3)
        got = shown_planes(page, "yuv420p")
        page.close()
    finally:
        running.stop()
    motions = next(cache.glob("vidstab-*.motions"))  # what pass 2 reads (see stabilize.py)
    w, h = PREVIEW
    argv = [bundled_ffmpeg(), "-hide_banner", "-nostdin", "-v", "error",
            "-ss", str((4 - 0.5) / 30), "-t", str(20 / 30), "-i", str(clip), "-map", "0:v:0",
            "-vf", f"format=yuv420p,vidstabtransform=input='{motions}':tripod=1:optalgo=gauss,"
                   f"scale={w}:{h}:flags=bicubic,format=yuv420p",
            "-fps_mode", "passthrough", "-f", "rawvideo", "-pix_fmt", "yuv420p", "-"]
    raw = subprocess.run(argv, capture_output=True, check=True).stdout
    layout = plane_layout("yuv420p", w, h)
    size = layout.frame_bytes
    assert len(raw) == 20 * size
    frames = [reference.split_planes(np.frombuffer(raw[n * size:(n + 1) * size], np.uint8),
                                     layout) for n in range(20)]
    want = reference.blend(frames[6], frames[9], 255)
    for p, (g, w_) in enumerate(zip(got, want)):
        assert np.array_equal(g, w_), f"plane {p}: {np.count_nonzero(g != w_)} samples differ"


def test_the_page_forbids_foreign_code(server: Server) -> None:
    status, _ = server.get(f"/?t={server.token}")
    assert status == 200
    request = urllib.request.Request(f"{server.base}/?t={server.token}")
    with urllib.request.urlopen(request, timeout=30) as answer:
        policy = answer.headers["Content-Security-Policy"]
    assert "script-src 'self'" in policy and "frame-ancestors 'none'" in policy
