"""The preview page's regions (rois.js): a rectangle dragged on the original frame becomes a
region in pixels of the picture as displayed, and the page's rois.toml is what
``ffmotion measure --rois`` reads."""
from __future__ import annotations

from pathlib import Path
from typing import Iterator

import pytest
from test_preview import Server, browser, start_server  # noqa: F401 - browser: a fixture

from ffmotion.pipeline import rois

from helpers import make_clip

SIZE = (128, 96)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, gen_ffmpeg: str) -> Iterator[Server]:
    folder = tmp_path_factory.mktemp("rois")
    clip = make_clip(gen_ffmpeg, folder / "clip.mp4", size=SIZE, frames=12, codec="libx264")
    running = start_server(clip, folder)
    yield running
    running.stop()


def test_the_module_is_served(server: Server) -> None:
    status, body = server.get("/rois.js?t=" + server.token)
    assert status == 200 and b"ffmotionRois" in body
    status, page = server.get("/?t=" + server.token)
    assert b"rois.js" in page


def test_drawn_regions_save_a_rois_toml_that_measure_reads(browser: object, server: Server,
                                                          tmp_path: Path) -> None:
    context = browser.new_context(viewport={"width": 1200, "height": 900},  # type: ignore[attr-defined]
                                  bypass_csp=True, accept_downloads=True)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.goto(server.url)
    page.wait_for_function("window.ffmotionPreview && window.ffmotionPreview.original",
                           timeout=30000)
    box = page.locator("#roi-overlay").bounding_box()
    assert box and box["width"] > 0
    # drag from a quarter to the middle of the picture: (32, 24) to (64, 48) in its pixels
    page.fill("#roi-name", "patient")
    page.mouse.move(box["x"] + box["width"] / 4, box["y"] + box["height"] / 4)
    page.mouse.down()
    page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2, steps=4)
    page.mouse.up()
    page.fill("#roi-name", "bg")
    page.mouse.move(box["x"] + 2, box["y"] + box["height"] * 0.8)
    page.mouse.down()
    page.mouse.move(box["x"] + box["width"] * 0.2, box["y"] + box["height"] - 2, steps=3)
    page.mouse.up()
    page.select_option("#roi-background", "bg")
    regions = page.evaluate("window.ffmotionRois.regions")
    assert [r["name"] for r in regions] == ["patient", "bg"]
    patient = regions[0]
    assert abs(patient["x"] - 32) <= 1 and abs(patient["y"] - 24) <= 1
    assert abs(patient["w"] - 32) <= 1 and abs(patient["h"] - 24) <= 1
    with page.expect_download() as download:
        page.click("#roi-save")
    saved = tmp_path / "rois.toml"
    download.value.save_as(saved)
    loaded, background = rois.load(saved)
    assert background == "bg"
    assert [(r.name, r.x, r.y, r.w, r.h) for r in loaded] == [
        (r["name"], r["x"], r["y"], r["w"], r["h"]) for r in regions]
    assert "--roi patient=" in page.text_content("#roi-flags")
    context.close()
    assert not errors, errors
