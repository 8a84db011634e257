"""The preview of a rotated (portrait) phone clip, and of a folder with a bad preset file.

What the page shows must be what the CLI writes: a clip stored 64x48 with a display matrix of
90 degrees is written 48x64 by the CLI, so the page must show 48x64 (before: it squashed the
portrait picture into the stored 64x48), and its paused frame must be the CLI's frame. The
expected size and pixels come from the CLI's own output file decoded by ffmpeg, and from the
clip decoded by ffmpeg and blended by the numpy reference.
"""
from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Iterator

import numpy as np
import pytest
from test_preview import Server, browser, go_to, set_value, start_server, wait_exact  # noqa: F401 - browser: a fixture

from ffmotion.core.pixfmt import plane_layout

import reference
from helpers import bundled_ffmpeg, make_clip

STORED = (64, 48)
SHOWN = (48, 64)  # what a 90 degree display matrix makes of it
FRAMES = 30
K, FRAME = 3, 5  # the offset, and the frame the page pauses on


@pytest.fixture(scope="module")
def rotated(tmp_path_factory: pytest.TempPathFactory, gen_ffmpeg: str) -> Path:
    """A 64x48 H.264 clip marked to be shown rotated by 90 degrees (as tests/corpus.py's
    ``_rotated``: the display matrix set on a stream copy), beside a broken ffmotion.toml."""
    folder = tmp_path_factory.mktemp("rotated")
    upright = make_clip(gen_ffmpeg, folder / "upright.mp4", size=STORED, frames=FRAMES,
                        codec="libx264")
    clip = folder / "phone.mp4"
    subprocess.run([gen_ffmpeg, "-hide_banner", "-nostdin", "-v", "error", "-display_rotation",
                    "90", "-i", str(upright), "-c", "copy", str(clip)], check=True, timeout=60)
    (folder / "ffmotion.toml").write_text("[looks.broken]\ngain = \n")
    return clip


@pytest.fixture(scope="module")
def server(rotated: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    out = tmp_path_factory.mktemp("rotated-out")
    running = start_server(rotated, out, "--width", "640")  # no downscale: the CLI's pixels
    yield running
    running.stop()


def decoded(path: Path) -> tuple[tuple[int, int], list[reference.Frame]]:
    """Every frame of ``path`` as ffmpeg decodes (and turns) it, and their size."""
    head = subprocess.run([bundled_ffmpeg(), "-hide_banner", "-nostdin", "-i", str(path)],
                          capture_output=True, text=True, timeout=60).stderr
    w, h = map(int, re.search(r"Video: .*?, (\d+)x(\d+)", head).groups())  # type: ignore[union-attr]
    rotated = re.search(r"rotation of (-?\d+)", head)
    if rotated and abs(int(float(rotated.group(1)))) in (90, 270):
        w, h = h, w
    raw = subprocess.run([bundled_ffmpeg(), "-hide_banner", "-nostdin", "-v", "error", "-i",
                          str(path), "-map", "0:v:0", "-fps_mode", "passthrough", "-f",
                          "rawvideo", "-pix_fmt", "yuv420p", "-"],
                         capture_output=True, check=True, timeout=60).stdout
    layout = plane_layout("yuv420p", w, h)
    size = layout.frame_bytes
    assert len(raw) % size == 0
    return (w, h), [reference.split_planes(np.frombuffer(raw[n * size:(n + 1) * size], np.uint8),
                                           layout) for n in range(len(raw) // size)]


def test_a_rotated_clip_is_previewed_as_the_cli_writes_it(browser: object, server: Server,
                                                          rotated: Path,
                                                          tmp_path: Path) -> None:
    cli_out = tmp_path / "cli.mkv"
    env = {**os.environ, "FFMOTION_FFMPEG": bundled_ffmpeg()}
    done = subprocess.run([sys.executable, "-m", "ffmotion", str(rotated), str(cli_out),
                           "--offset", str(K), "--lossless", "-q"],
                          capture_output=True, text=True, env=env, timeout=120)
    assert done.returncode == 0, done.stderr
    cli_size, cli_frames = decoded(cli_out)
    assert cli_size == SHOWN  # the CLI writes the clip upright

    page = browser.new_page(bypass_csp=True)  # type: ignore[attr-defined]
    try:
        page.goto(server.url)
        page.wait_for_function("window.ffmotionPreview && window.ffmotionPreview.exact && "
                               "window.ffmotionPreview.describe", timeout=30000)
        set_value(page, "#offset", str(K))
        go_to(page, FRAME)
        wait_exact(page, FRAME, K)
        shown = page.evaluate("[window.ffmotionPreview.shown.fmt.width, "
                              "window.ffmotionPreview.shown.fmt.height]")
        canvas = page.eval_on_selector("#motion", "c => [c.width, c.height]")
        described = page.evaluate("window.ffmotionPreview.describe.size")
        facts = page.inner_text("#facts")
        data = page.evaluate("window.ffmotionPreview.shownBase64()")
    finally:
        page.close()
    assert tuple(shown) == tuple(canvas) == cli_size, (shown, canvas, cli_size)
    assert tuple(described) == cli_size
    assert facts.startswith(f"{cli_size[0]}×{cli_size[1]}")  # the size the page reports
    import base64

    got = reference.split_planes(np.frombuffer(base64.b64decode(data), np.uint8),
                                 plane_layout("yuv420p", *cli_size))
    # the CLI's frame FRAME, and the reference's blend of the clip decoded upright by ffmpeg
    _, source = decoded(rotated)
    want = reference.blend(source[FRAME], source[FRAME + K], 255)
    for p, (g, c, w) in enumerate(zip(got, cli_frames[FRAME], want)):
        assert np.array_equal(c, w), f"plane {p}: the CLI's frame is not the reference's"
        assert np.array_equal(g, c), f"plane {p}: {np.count_nonzero(g != c)} samples differ"


def test_a_downscaled_rotated_preview_keeps_the_portrait_shape(rotated: Path,
                                                               tmp_path: Path) -> None:
    running = start_server(rotated, tmp_path, "--width", "32")
    try:
        status, body = running.get(f"/api/info?t={running.token}")
        assert status == 200
        info = json.loads(body)
        assert tuple(info["preview"]) == (32, 42)  # 48x64 at 32 wide, even: the shown aspect
        assert (info["width"], info["height"]) == SHOWN  # what the page reports
        status, body = running.get(f"/api/describe?offset=1&t={running.token}")
        assert status == 200 and tuple(json.loads(body)["size"]) == SHOWN
    finally:
        running.stop()


def test_a_bad_preset_file_beside_the_input_does_not_stop_the_page(browser: object,
                                                                  server: Server) -> None:
    """The page loads, offers the built-in presets, and says what is wrong with the file."""
    page = browser.new_page(bypass_csp=True)  # type: ignore[attr-defined]
    try:
        page.goto(server.url)
        page.wait_for_function("window.ffmotionPreview && window.ffmotionPreview.exact && "
                               "window.ffmotionPreview.describe", timeout=30000)
        problem = page.inner_text("#preset-error")
        names = page.eval_on_selector_all("#preset option", "os => os.map(o => o.value)")
        error = page.inner_text("#error")
    finally:
        page.close()
    assert "ffmotion.toml:2" in problem and "presets left out" in problem
    assert "classic" in names and "amplified" in names and "broken" not in names
    assert error == ""
