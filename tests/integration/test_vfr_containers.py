"""Outputs that hold one frame rate (AVI, MPEG-PS with MPEG-2, MXF, Ogg Theora, y4m).

Variable-frame-rate input is written at a constant rate (the stream's, or the nearest one the
output takes), said in the summary; a constant rate the output cannot hold (15 fps in MXF,
12.5 fps in MPEG-2) is refused before ffmpeg starts, with one line naming ``--fps``. Frame
counts and times are checked against ffmpeg's own reading of the input (showinfo), pixels
against :mod:`tests.reference` where the output is exact (FFV1 in AVI, y4m).
"""
from __future__ import annotations

import subprocess
import sys
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest

import ffmotion
from ffmotion import graph
from ffmotion.core.pixfmt import plane_layout

import reference
from helpers import make_clip, run_ffmpeg

K = 2
SIZE = (32, 24)


def cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "ffmotion", *args], capture_output=True,
                          text=True, timeout=120)


def showinfo_times(ffmpeg: str, path: Path) -> list[Fraction]:
    """Each decoded frame's time in seconds (exact: pts times the time base)."""
    done = subprocess.run([ffmpeg, "-hide_banner", "-nostdin", "-i", str(path), "-map", "0:v:0",
                           "-fps_mode", "passthrough", "-vf", "showinfo", "-f", "null", "-"],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    tb = next(line.split("time_base:")[1].split()[0].rstrip(",")
              for line in done.stderr.splitlines() if "config in time_base:" in line)
    num, den = (int(x) for x in tb.split("/"))
    return [Fraction(int(line.split(" pts:")[1].split()[0]) * num, den)
            for line in done.stderr.splitlines() if "Parsed_showinfo" in line and " pts:" in line]


def ticks(times: list[Fraction], rate: Fraction) -> list[int]:
    """Which motion frame each tick of a ``rate`` clock shows: the fps filter (round=near)
    puts frame i at round(t_i * rate) and ends at the last frame's tick."""
    start = times[0]
    q = [int((t - start) * rate + Fraction(1, 2)) for t in times]
    return [max(i for i in range(len(q)) if q[i] <= tick) for tick in range(q[-1])]


@pytest.fixture(scope="module")
def inputs(tmp_path_factory: pytest.TempPathFactory, gen_ffmpeg: str) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("rates")
    vfr = make_clip(gen_ffmpeg, folder / "vfr.mkv", size=SIZE, vfr=True)  # time base 1/1000
    ts = folder / "vfr.ts"  # time base 1/90000: the mpeg4 encoder refused it
    run_ffmpeg(gen_ffmpeg, "-i", str(vfr), "-c:v", "libx264", "-preset", "ultrafast",
               "-fps_mode", "passthrough", str(ts))
    f125 = folder / "f125.mkv"
    run_ffmpeg(gen_ffmpeg, "-f", "lavfi", "-i", "testsrc2=s=32x24:r=12.5:d=2,noise=alls=30:allf=t",
               "-c:v", "ffv1", str(f125))
    return {"vfr": vfr, "ts": ts,
            "15": make_clip(gen_ffmpeg, folder / "f15.mkv", size=SIZE, fps=15), "12.5": f125}


@pytest.mark.parametrize("ext, rate", [(".avi", 30), (".mpg", 30), (".mxf", 30), (".ogv", 30),
                                       (".y4m", 30)])
@pytest.mark.parametrize("source", ["vfr", "ts"])
def test_variable_rate_input_is_written_at_a_constant_rate(inputs, gen_ffmpeg, tmp_path, ext,
                                                           rate, source):
    src = inputs[source]
    out = tmp_path / f"out{ext}"
    done = cli(str(src), str(out), "-k", str(K), "--ffmpeg", gen_ffmpeg)
    assert done.returncode == 0, done.stderr
    assert f"written at a constant {rate} fps" in done.stderr
    times = showinfo_times(gen_ffmpeg, src)[:-K]  # the motion frames' times
    want = ticks(times, Fraction(rate))
    got = showinfo_times(gen_ffmpeg, out)
    assert len(got) == len(want)
    if ext == ".mpg":  # MPEG-PS stamps some packets only: read the stream's own rate
        assert f", {rate} fps," in stream_line(gen_ffmpeg, out)
    else:
        assert [t - got[0] for t in got] == [Fraction(i, rate) for i in range(len(got))]


def stream_line(ffmpeg: str, path: Path) -> str:
    done = subprocess.run([ffmpeg, "-hide_banner", "-nostdin", "-i", str(path)],
                          capture_output=True, text=True, timeout=60)
    return next(line for line in done.stderr.splitlines() if "Video:" in line)


def test_variable_rate_to_lossless_avi_is_exact(inputs, gen_ffmpeg, tmp_path):
    """FFV1 in AVI: tick j shows motion frame i (the latest at or before it), bit for bit."""
    src = inputs["vfr"]
    out = tmp_path / "exact.avi"
    ffmotion.extract(src, out, K, lossless=True, ffmpeg=gen_ffmpeg)
    motion = list(reference.reference(gen_ffmpeg, src, K, "offset", "yuv420p", *SIZE))
    want = [motion[i] for i in ticks(showinfo_times(gen_ffmpeg, src)[:-K], Fraction(30))]
    got = list(reference.read_frames(gen_ffmpeg, out, plane_layout("yuv420p", *SIZE)))
    assert len(got) == len(want) > len(motion)  # the gaps are filled
    for g, w in zip(got, want):
        assert all(np.array_equal(a, b) for a, b in zip(g, w))


@pytest.mark.parametrize("ext", [".avi", ".mpg", ".ogv", ".y4m"])
def test_15_fps_keeps_its_rate_where_the_output_takes_it(inputs, gen_ffmpeg, tmp_path, ext):
    out = tmp_path / f"out{ext}"
    done = ffmotion.extract(inputs["15"], out, K, ffmpeg=gen_ffmpeg)
    got = showinfo_times(gen_ffmpeg, out)
    assert done.frames == len(got) == 36 - K
    if ext == ".mpg":
        assert ", 15 fps," in stream_line(gen_ffmpeg, out)
    else:
        assert [t - got[0] for t in got] == [Fraction(i, 15) for i in range(len(got))]


@pytest.mark.parametrize("source, ext, hint", [("15", ".mxf", "--fps 24"),
                                               ("12.5", ".mpg", "--fps 12")])
def test_a_rate_the_output_cannot_hold_is_refused_before_ffmpeg(inputs, gen_ffmpeg, tmp_path,
                                                                source, ext, hint):
    """MXF takes its content-package rates only; ffmpeg's MPEG-2 encoder snaps 12.5 fps to
    12 (the file then plays 4 % slow): both refused, one line, nothing written."""
    src = inputs[source]
    out = tmp_path / f"out{ext}"
    done = cli(str(src), str(out), "--ffmpeg", gen_ffmpeg, "-v")
    assert done.returncode == 2
    assert done.stderr.count("ffmotion: error:") == 1 and hint in done.stderr
    assert "ffmpeg failed" not in done.stderr and not out.exists()
    assert list(tmp_path.glob("*.ffmotion-tmp*")) == []
    again = ffmotion.extract(src, out, K, fps=hint.split()[1], ffmpeg=gen_ffmpeg)
    assert again.frames == len(showinfo_times(gen_ffmpeg, out))


def test_encoder_rate_lists_are_ffmpegs(gen_ffmpeg):
    """The tables ffmotion plans with are what this ffmpeg lists for the encoders."""
    for codec, rates in graph.ENCODER_RATES.items():
        done = subprocess.run([gen_ffmpeg, "-hide_banner", "-h", f"encoder={codec}"],
                              capture_output=True, text=True, timeout=60)
        line = next(row for row in done.stdout.splitlines() if "Supported framerates" in row)
        assert frozenset(Fraction(r) for r in line.split(":", 1)[1].split()) == rates, codec


def test_mxf_rates_are_what_the_muxer_takes(gen_ffmpeg, tmp_path):
    """Every MPEG-2 rate is tried: MXF writes exactly the listed ones."""
    taken = set()
    for rate in sorted(graph.ENCODER_RATES["mpeg2video"]):
        if rate < 20 or rate > 120:
            continue
        done = subprocess.run([gen_ffmpeg, "-hide_banner", "-nostdin", "-v", "error", "-y", "-f",
                               "lavfi", "-i", f"testsrc2=s=32x24:r={rate}:d=0.1", "-c:v",
                               "mpeg2video", "-pix_fmt", "yuv420p", str(tmp_path / "t.mxf")],
                              capture_output=True, text=True, timeout=60)
        if done.returncode == 0:
            taken.add(rate)
    assert taken == {r for r in graph.ONE_RATE_CONTAINERS[".mxf"] if 20 <= r <= 120}
