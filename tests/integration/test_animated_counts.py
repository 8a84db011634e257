"""Frame counts of re-timed outputs (GIF/APNG/WebP, ``--fps``): the plan counts what ffmpeg's
``fps`` filter really delivers, from the frames' real timestamps (variable frame rate,
animated GIF input), and a written WebP is counted from the file.

The ground truth is ffmpeg itself: each planned count is compared with the frames ffmpeg
decodes from the file it wrote with the planned command.
"""
from __future__ import annotations

import subprocess
from fractions import Fraction
from pathlib import Path

import pytest

import ffmotion
from ffmotion import api, graph
from ffmotion.pipeline import controller
from ffmotion.run import runner

import corpus as corpus_module
from helpers import make_clip, run_ffmpeg


def decoded_frames(ffmpeg: str, path: Path) -> int:
    done = subprocess.run([ffmpeg, "-hide_banner", "-nostdin", "-i", str(path), "-map", "0:v:0",
                           "-fps_mode", "passthrough", "-f", "framecrc", "-"],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    return sum(1 for line in done.stdout.splitlines() if line and not line.startswith("#"))


def frame_times(ffmpeg: str, path: Path) -> list[Fraction]:
    """Each decoded frame's time (seconds, exact), as ffmpeg's showinfo reports it."""
    done = subprocess.run([ffmpeg, "-hide_banner", "-nostdin", "-i", str(path), "-map", "0:v:0",
                           "-vf", "showinfo", "-f", "null", "-"],
                          capture_output=True, text=True, timeout=120)
    tb = next(line.split("time_base:")[1].split()[0] for line in done.stderr.splitlines()
              if "config in time_base:" in line)
    num, den = (int(x) for x in tb.rstrip(",").split("/"))
    pts = [int(line.split(" pts:")[1].split()[0]) for line in done.stderr.splitlines()
           if "Parsed_showinfo" in line and " pts:" in line]
    return [Fraction(p * num, den) for p in pts]


@pytest.fixture(scope="module")
def inputs(tmp_path_factory: pytest.TempPathFactory, gen_ffmpeg: str) -> dict[str, Path]:
    """Small inputs whose frames are not evenly spaced: animated GIFs (delays in 1/100 s:
    30 fps is 3, 3, 4 ...), variable frame rate, a missing frame; and a constant-rate one."""
    folder = tmp_path_factory.mktemp("anim")
    made = {}
    for rate in (30, 24, 60):
        path = folder / f"anim{rate}.gif"
        run_ffmpeg(gen_ffmpeg, "-f", "lavfi", "-i",
                   f"testsrc2=s=32x24:r={rate}:d=1.2,format=yuv444p,noise=alls=30:allf=t+u",
                   str(path))
        made[f"gif{rate}"] = path
    made["vfr"] = make_clip(gen_ffmpeg, folder / "vfr.mkv", size=(32, 24), vfr=True)
    made["cfr"] = make_clip(gen_ffmpeg, folder / "cfr.mkv", size=(32, 24))
    made["mkv_vfr"] = corpus_module.MAKERS["mkv_vfr"](gen_ffmpeg, folder).path
    made["mkv_missing_frame"] = corpus_module.MAKERS["mkv_missing_frame"](gen_ffmpeg, folder).path
    return made


def test_animated_gif_input_to_gif_apng_webp(inputs, gen_ffmpeg, tmp_path):
    """Every K used to be refused ("wrote 17 frames where 15 were planned")."""
    src = inputs["gif30"]
    times = frame_times(gen_ffmpeg, src)
    for k in (1, 2, 3, 5):
        # independent expectation: the last motion frame's time on a 15 fps clock, rounded
        last = times[len(times) - 1 - k] - times[0]
        want = int(last * 15 + Fraction(1, 2))
        for ext in (".gif", ".apng", ".webp"):
            out = tmp_path / f"k{k}{ext}"
            done = ffmotion.extract(src, out, k, ffmpeg=gen_ffmpeg)
            assert done.frames == want, (k, ext)
            if ext != ".webp":  # ffmpeg 9 merges a WebP's identical frames when decoding
                assert decoded_frames(gen_ffmpeg, out) == want, (k, ext)


CASES = [(name, k, fps) for name in ("gif30", "gif24", "gif60", "vfr", "mkv_vfr",
                                      "mkv_missing_frame")
         for k, fps in ((1, "15"), (2, "10"), (3, "12.5"), (5, "30000/1001"), (7, "7"))]


@pytest.mark.parametrize("name, k, fps", CASES)
def test_planned_count_is_what_the_fps_filter_writes(inputs, gen_ffmpeg, tmp_path, name, k,
                                                     fps):
    options = api.make_request(inputs[name], tmp_path / "o.gif", k, fps=fps)
    plan = controller.prepare(options, runner.tools(gen_ffmpeg))
    planned = graph.delivered_frames(plan)
    runner.run_ffmpeg(graph.command(plan, gen_ffmpeg))
    assert decoded_frames(gen_ffmpeg, tmp_path / "o.gif") == planned


@pytest.mark.parametrize("name", ["gif30", "vfr", "cfr", "mkv_vfr"])
@pytest.mark.parametrize("extra", [{"freeze": 4}, {"freeze": 2, "start": "3f", "end": "25f"},
                                   {"offset": 2, "strategy": "dual"}])
def test_freeze_ranges_and_dual_counts(inputs, gen_ffmpeg, tmp_path, name, extra):
    """Freeze mode ends where the input ends, a frame's duration after its last frame: the
    graph ends it at the last frame, which the plan counts to."""
    options = api.make_request(inputs[name], tmp_path / "o.gif", fps="15", **extra)
    plan = controller.prepare(options, runner.tools(gen_ffmpeg))
    planned = graph.delivered_frames(plan)
    runner.run_ffmpeg(graph.command(plan, gen_ffmpeg))
    assert decoded_frames(gen_ffmpeg, tmp_path / "o.gif") == planned


def test_webp_is_counted_from_the_file(inputs, gen_ffmpeg, tmp_path):
    """ffmpeg reports 1 frame for any WebP; libwebp merges identical frames in a row (every
    frame the fps filter repeats) and stores an animation of one picture as a still."""
    src = inputs["cfr"]  # 36 frames at 30 fps
    up = tmp_path / "up.webp"
    done = ffmotion.extract(src, up, 2, fps="45", ffmpeg=gen_ffmpeg)
    assert done.frames == int(Fraction(33, 30) * 45 + Fraction(1, 2)) == 50
    assert up.read_bytes().count(b"ANMF") < 50  # repeated frames merged
    plain = tmp_path / "plain.webp"
    assert ffmotion.extract(src, plain, 2, ffmpeg=gen_ffmpeg).frames == 17  # 34 at 15 fps
    still = tmp_path / "still.mkv"
    run_ffmpeg(gen_ffmpeg, "-f", "lavfi", "-i", "color=gray:s=32x24:r=30:d=1", "-c:v", "ffv1",
               str(still))
    gray = tmp_path / "gray.webp"
    assert ffmotion.extract(still, gray, 1, ffmpeg=gen_ffmpeg).frames == 14  # 29 at 15 fps
    assert b"ANMF" not in gray.read_bytes()


def test_truncated_webp_is_refused(inputs, gen_ffmpeg, tmp_path, monkeypatch):
    """A WebP cut short (a full disk) is not a complete RIFF file: no output written."""
    real = runner.run_ffmpeg

    def cut(argv, **kw):
        written = real(argv, **kw)
        target = Path(argv[-1])
        target.write_bytes(target.read_bytes()[:-40])
        return written

    monkeypatch.setattr(runner, "run_ffmpeg", cut)
    out = tmp_path / "o.webp"
    with pytest.raises(ffmotion.core.errors.FFmpegFailed, match="incomplete WebP"):
        ffmotion.extract(inputs["cfr"], out, 2, ffmpeg=gen_ffmpeg)
    assert not out.exists()


def test_too_few_frames_for_the_rate_is_one_line(inputs, gen_ffmpeg, tmp_path):
    """Two motion frames 1/30 s apart all fall on one tick at 10 fps: ffmpeg would write
    nothing."""
    options = api.make_request(inputs["cfr"], tmp_path / "o.gif", 2, fps="10", end="4f")
    with pytest.raises(ffmotion.core.errors.UsageError, match="less than one frame at 10 fps"):
        controller.prepare(options, runner.tools(gen_ffmpeg))
