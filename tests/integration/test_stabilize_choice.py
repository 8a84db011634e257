"""--stabilize auto chooses by measurement: where the camera path shows a camera held in
place, every candidate (none, tripod, the static camera = smoothing 0 on the frame-to-frame
path, smoothing 30) is measured on a sample and the lowest residual motion wins.

The residuals here are computed independently: each candidate run through plain ffmpeg
commands (vidstabdetect, vidstabtransform), decoded, and the classic blend's mean |Y - 127|
computed with numpy."""
from __future__ import annotations

import hashlib
import logging
import subprocess
from pathlib import Path

import numpy as np
import pytest

import ffmotion
from ffmotion import api
from ffmotion.graph import corrections
from ffmotion.jobs import chunks as chunking
from ffmotion.pipeline import controller, stabilize
from ffmotion.run import runner

from helpers import decode, run_ffmpeg

W, H, N, K = 160, 120, 60, 2
# a still scene (frozen blurred cellular noise) seen through a window that jitters by about
# ±12 px (x) and ±9 px (y), with temporal sensor noise: the shaken static shot of
# ffmpeg-facts.md. On this scene vid.stab's tripod leaves about twice the residual of the
# static camera.
SCENE = ("cellauto=s=240x200:rate=30:rule=30:random_fill_ratio=0.5:random_seed=1,format=yuv420p,"
         "gblur=sigma=1.2")
JITTER = "crop=w={w}:h={h}:x='40+12*sin(1.3*n)':y='40+9*cos(0.9*n)'"
DETECT = "vidstabdetect=shakiness=5:accuracy=15"
# candidate -> (pass 1 options, pass 2 options), as a user would type them
PLAIN = {
    "tripod": (":tripod=1", "tripod=1"),
    "static": ("", "smoothing=0"),
    "smooth": ("", f"smoothing={stabilize.AUTO_SMOOTHING}"),
}


@pytest.fixture(scope="module")
def jittery(tmp_path_factory: pytest.TempPathFactory, gen_ffmpeg: str) -> Path:
    path = tmp_path_factory.mktemp("jitter") / "jittery.mkv"
    run_ffmpeg(gen_ffmpeg, "-f", "lavfi", "-i", SCENE, "-vf",
               f"trim=end_frame=1,loop=loop={N - 1}:size=1:start=0,setpts=N/30/TB,"
               + JITTER.format(w=W, h=H) + ",noise=alls=4:allf=t,format=yuv420p",
               "-frames:v", str(N), "-c:v", "ffv1", str(path))
    return path


@pytest.fixture(autouse=True)
def private_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    cache = tmp_path / "cache"
    monkeypatch.setenv("FFMOTION_CACHE", str(cache))
    return cache


def residual(luma: list[np.ndarray], k: int = K) -> float:
    """Mean over the motion frames of mean |((a + 255 - b) >> 1) - 127|, a = frame i,
    b = frame i + k: the classic blend's distance from gray."""
    frames = np.stack(luma).astype(np.int32)
    blend = (frames[:-k] + 255 - frames[k:]) >> 1
    return float(np.abs(blend - 127).mean())


def plain_residuals(ffmpeg: str, src: Path, folder: Path) -> dict[str, float]:
    """Every candidate's residual, from plain ffmpeg commands and numpy."""
    values = {"none": residual([f[0] for f in decode(ffmpeg, src, "yuv420p", (W, H))])}
    for name, (detect, transform) in PLAIN.items():
        trf, out = folder / f"{name}.trf", folder / f"{name}.mkv"
        run_ffmpeg(ffmpeg, "-i", str(src), "-vf", f"{DETECT}{detect}:result={trf}",
                   "-f", "null", "-")
        run_ffmpeg(ffmpeg, "-i", str(src), "-vf",
                   f"vidstabtransform=input={trf}:optalgo=gauss:{transform}",
                   "-c:v", "ffv1", str(out))
        values[name] = residual([f[0] for f in decode(ffmpeg, out, "yuv420p", (W, H))])
    return values


# what pass 2 of each candidate looks like in ffmotion's command, and its name on stderr
PASS2 = {"tripod": ("tripod=1", "tripod"), "static": ("smoothing=0", "static camera"),
         "smooth": (f"smoothing={stabilize.AUTO_SMOOTHING}", "smoothing 30")}


def test_auto_picks_the_lowest_measured_residual(gen_ffmpeg, jittery, tmp_path, caplog):
    caplog.set_level(logging.WARNING, logger="ffmotion")
    truth = plain_residuals(gen_ffmpeg, jittery, tmp_path)
    best = min(truth, key=truth.get)
    # tripod (and the camera path's own choice) are well above the lowest here
    assert best != "none" and truth["tripod"] > truth[best] * 1.2, truth
    out = tmp_path / "auto.mkv"
    result = ffmotion.extract(jittery, out, offset=K, lossless=True, stabilize=True,
                              ffmpeg=gen_ffmpeg)
    # the residual the run reached, from its own output: as low as the static camera's
    reached = float(np.mean([np.abs(f[0].astype(np.int32) - 127).mean()
                             for f in decode(gen_ffmpeg, out, "yuv420p", (W, H))]))
    assert reached <= truth["static"] * 1.05, (reached, truth)
    assert reached <= truth[best] * 1.05, (reached, truth)
    # the lowest one was chosen, and pass 2 is that one
    (transform,) = [a for a in result.argv[result.argv.index("-filter_complex") + 1].split(";")
                    if "vidstabtransform" in a]
    fragment, label = PASS2[best]
    assert fragment in transform and all(PASS2[o][0] not in transform
                                         for o in PASS2 if o != best), transform
    # one line says which won, and every candidate's number (the library names the field:
    # "stabilize auto"; the command line says --stabilize auto)
    (line,) = [r.getMessage() for r in caplog.records if ": stabilize auto" in r.getMessage()]
    assert f"stabilize auto: {label}, the lowest" in line, line
    numbers = line.split(" frames: ")[1]
    for name in ("none", *PASS2):
        assert f"{PASS2[name][1] if name in PASS2 else name} " in numbers, line


def frames_md5(ffmpeg: str, path: Path) -> tuple[int, str]:
    out = subprocess.run([ffmpeg, "-v", "error", "-i", str(path), "-map", "0:v:0", "-f",
                          "framemd5", "-"], capture_output=True, text=True, check=True).stdout
    lines = [line.split(",")[-1].strip() for line in out.splitlines() if not line.startswith("#")]
    return len(lines), hashlib.md5("".join(lines).encode()).hexdigest()


def test_static_camera_in_chunks_equals_the_single_pass(gen_ffmpeg, jittery, tmp_path):
    """The static camera's corrections, computed by ffmotion for the chunks, are vid.stab's."""
    tools = runner.tools(gen_ffmpeg)
    one, many = tmp_path / "one.mkv", tmp_path / "many.mkv"
    plan = stabilize.settle(controller.prepare(api.make_request(jittery, one, K, lossless=True,
                                                         stabilize=True), tools), tools)
    assert plan.stabilizer.decided == "static" and not plan.stabilizer.tripod
    controller.run(plan, tools)
    chunked = controller.prepare(api.make_request(jittery, many, K, lossless=True, stabilize=True),
                          tools)
    result = chunking.run_chunked(chunked, tools, 3, jobs=2, cuts=[0, 20, 41, N - K],
                             worker_ffmpeg=gen_ffmpeg)
    assert result.chunks == 3
    assert frames_md5(gen_ffmpeg, many) == frames_md5(gen_ffmpeg, one)


def test_static_camera_path_is_the_summed_motions():
    motions = [(1.0, -2.0, 0.01, 0.0), (3.0, 0.5, -0.02, 0.0), (-1.5, 1.0, 0.0, 0.0)]
    got = corrections.camera_path(motions, 0, 100, 80, relative=True)
    summed = np.cumsum(np.array(motions)[:, :3], axis=0)
    assert np.allclose([g[:3] for g in got], summed)
    # the static zoom covers the largest shift: 2 * max |x| / width, 2 * max |y| / height
    zoom = 100 * max(2 * np.abs(summed[:, 0]).max() / 100, 2 * np.abs(summed[:, 1]).max() / 80)
    assert all(g[3] == pytest.approx(zoom) for g in got)
    # tripod (absolute motions) and smoothing keep their old meaning
    assert corrections.camera_path(motions, 0, 100, 80) == corrections.camera_path(
        motions, 0, 100, 80, relative=False)


@pytest.mark.parametrize("count, k, fps, windows", [
    (60, 2, 30, [(0, 60)]),  # short: the whole range
    (300, 2, 30, [(0, 30), (135, 165), (270, 300)]),  # 10 s: 3 s of it, spread
    (300, 20, 30, [(0, 80), (110, 190), (220, 300)]),  # every window holds 4 K frames
    (300, 40, 30, [(0, 300)]),
])
def test_sample_windows(count, k, fps, windows):
    assert stabilize.sample_windows(count, k, fps) == windows


@pytest.mark.parametrize("residuals, winner", [
    ({"tripod": 10.0, "none": 20.0, "static": 6.0, "smooth": 12.0}, "static"),
    ({"tripod": 6.2, "none": 20.0, "static": 6.0, "smooth": 12.0}, "tripod"),  # within 5 %
    ({"tripod": 19.6, "none": 11.0, "static": 10.6, "smooth": 11.0}, "none"),
    ({"tripod": 0.13, "none": 3.75, "static": 0.12, "smooth": 0.13}, "tripod"),  # 0.1 levels
    ({"none": 20.0, "static": 6.0, "smooth": 12.0}, "static"),  # tripod not eligible
])
def test_pick_prefers_the_path_choice_then_none_within_the_tolerance(residuals, winner):
    """Near-ties (5 %, or 0.1 levels) go to the camera path's choice, then to none."""
    assert stabilize.pick(residuals, ("tripod", "none", "static", "smooth")) == winner


def test_stale_share_is_the_part_filled_from_the_frame_before():
    """A frame shifted 30 px right: its source lies more than 10 px outside the frame on the
    left 20 px (of 100) of the picture; a covered frame has none."""
    shape = corrections.Geometry(100, 80, 3, (1, 1))
    assert corrections.stale_share((30.0, 0.0, 0.0, 0.0), shape) == pytest.approx(0.2, abs=1 / 32)
    assert corrections.stale_share((5.0, -5.0, 0.0, 0.0), shape) == 0.0
    # the same shift with a zoom that covers it
    assert corrections.stale_share((30.0, 0.0, 0.0, 60.0), shape) == 0.0
