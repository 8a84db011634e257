"""Camera-like footage: full range, rotation, interlacing, energy on a gappy clip, small items.

Every input is generated here with the bundled ffmpeg (lavfi, 64x48, about a second); the
expected pixels come from the numpy reference on the frames ffmpeg decodes (autorotated,
deinterlaced by an independent ffmpeg run where that is the point), never from ffmotion.
"""
from __future__ import annotations

import logging
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import ffmotion
from ffmotion import cli
from ffmotion.core.pixfmt import plane_layout
from ffmotion.media import probe
from ffmotion.pipeline import explore
from ffmotion.run import runner

import reference
from helpers import assert_frames_equal, bundled_ffmpeg, run_ffmpeg

W, H, FPS, N = 64, 48, 30, 36
NOISY = (f"testsrc2=s={W}x{H}:r={FPS}:d={N / FPS},format=yuv444p,noise=alls=40:allf=t+u")
ROOT = next(p for p in Path(__file__).resolve().parents if (p / "pyproject.toml").exists())


@pytest.fixture(scope="session")
def footage(tmp_path_factory: pytest.TempPathFactory, gen_ffmpeg: str) -> dict[str, Path]:
    """Full-range MJPEG and H.264, a clip rotated 90/180/270, interlaced (tff) H.264, and a
    clip with a missing frame (a timestamp gap)."""
    folder = tmp_path_factory.mktemp("footage")
    made: dict[str, Path] = {}

    def make(name: str, *args: str) -> None:
        made[name] = folder / name
        run_ffmpeg(gen_ffmpeg, *args, str(made[name]))

    make("mjpeg.avi", "-f", "lavfi", "-i", f"{NOISY},format=yuvj420p", "-c:v", "mjpeg",
         "-q:v", "2")
    make("h264full.mp4", "-f", "lavfi", "-i", f"{NOISY},format=yuvj420p", "-c:v", "libx264",
         "-preset", "ultrafast", "-crf", "20")
    make("base.mp4", "-f", "lavfi", "-i", f"{NOISY},format=yuv420p", "-c:v", "libx264",
         "-preset", "ultrafast", "-crf", "20")
    for turn in (90, 180, 270):
        make(f"rot{turn}.mp4", "-display_rotation", str(turn), "-i", str(made["base.mp4"]),
             "-c", "copy")
    make("tff.mp4", "-f", "lavfi", "-i", f"{NOISY},format=yuv420p,setfield=tff", "-c:v",
         "libx264", "-x264opts", "tff=1", "-preset", "ultrafast", "-crf", "20")
    # frame 10 missing: the others keep their timestamps (a gap, as dropped frames leave)
    make("gap.mkv", "-f", "lavfi", "-i", f"{NOISY},format=yuv420p,select='not(eq(n\\,10))'",
         "-fps_mode", "passthrough", "-c:v", "ffv1")
    return made


def decoded(ffmpeg: str, path: Path, pix_fmt: str, size: tuple[int, int],
            vf: str = "") -> list:
    """Every frame ffmpeg decodes from ``path`` (autorotated; ``vf`` applied) as planes."""
    layout = plane_layout(pix_fmt, *size)
    argv = [ffmpeg, "-hide_banner", "-nostdin", "-v", "error", "-i", str(path), "-map", "0:v:0"]
    argv += (["-vf", vf] if vf else []) + ["-fps_mode", "passthrough", "-f", "rawvideo",
                                           "-pix_fmt", pix_fmt, "-"]
    raw = subprocess.run(argv, capture_output=True, check=True).stdout
    dtype = np.uint8 if layout.bytes_per_sample == 1 else np.dtype("<u2")
    flat = np.frombuffer(raw, dtype).reshape(-1, layout.frame_bytes // layout.bytes_per_sample)
    return [reference.split_planes(f, layout) for f in flat]


def motion(frames: list, k: int) -> list:
    return list(reference.motion_frames(iter(frames), k, "offset", 255))


def stream_line(ffmpeg: str, path: Path) -> str:
    err = subprocess.run([ffmpeg, "-hide_banner", "-i", str(path)], capture_output=True,
                         text=True).stderr
    return next(line for line in err.splitlines() if "Video:" in line)


# -- full range -------------------------------------------------------------------------------

@pytest.mark.parametrize("name", ["mjpeg.avi", "h264full.mp4"])
def test_full_range_is_exact_in_lossless_output_and_tagged_pc(ffmpeg_bin, footage, tmp_path,
                                                               name):
    src = footage[name]
    out = tmp_path / "o.mkv"
    ffmotion.extract(src, out, offset=1, lossless=True, ffmpeg=ffmpeg_bin)
    # yuvj420p: the decoded values as they are (full range, no conversion) on both sides
    frames = decoded(ffmpeg_bin, src, "yuvj420p", (W, H))
    luma = np.concatenate([f[0].ravel() for f in frames])
    assert luma.min() < 16 and luma.max() > 235  # a squeeze to 16..235 could not pass
    assert_frames_equal(decoded(ffmpeg_bin, out, "yuvj420p", (W, H)), motion(frames, 1))
    assert "(pc" in stream_line(ffmpeg_bin, out)


@pytest.mark.parametrize("name", ["mjpeg.avi", "h264full.mp4"])
def test_full_range_mp4_is_tagged_pc_and_not_squeezed(ffmpeg_bin, footage, tmp_path, name):
    src = footage[name]
    out = tmp_path / "o.mp4"
    ffmotion.extract(src, out, offset=2, crf=0, ffmpeg=ffmpeg_bin)  # x264 at CRF 0: lossless
    line = stream_line(ffmpeg_bin, out)
    assert "(pc" in line and "h264" in line
    frames = decoded(ffmpeg_bin, src, "yuvj420p", (W, H))
    assert_frames_equal(decoded(ffmpeg_bin, out, "yuvj420p", (W, H)), motion(frames, 2))


def test_full_range_through_an_rgb_look_is_shown_as_it_was_computed(ffmpeg_bin, footage,
                                                                     tmp_path):
    """--rgb-offsets works in gbrp: the YUV output (ffmpeg's conversion) must be tagged with
    the range its values are in, so that it decodes to the RGB the lossless output holds."""
    src = footage["mjpeg.avi"]
    exact, shown = tmp_path / "o.mkv", tmp_path / "o.mp4"
    for out, extra in ((exact, ["--lossless"]), (shown, ["--crf", "0", "--pix-fmt", "yuv444p"])):
        assert cli.main([str(src), str(out), "--rgb-offsets", "1,2,3", "-q", "--ffmpeg",
                         ffmpeg_bin, *extra]) == 0
    a, b = (np.concatenate([p.ravel() for f in decoded(ffmpeg_bin, f, "gbrp", (W, H))
                            for p in f]).astype(int) for f in (exact, shown))
    assert np.abs(a - b).max() <= 2  # rounding of the RGB -> YUV -> RGB round trip only


def test_probe_reads_range_rotation_and_fields(ffmpeg_bin, footage):
    tools = runner.tools(ffmpeg_bin)
    variants = [tools, runner.Tools(tools.ffmpeg, tools.source, tools.version, None)]
    for found in variants:
        assert probe.probe(footage["mjpeg.avi"], found).full_range
        assert not probe.probe(footage["base.mp4"], found).full_range
        for turn in (90, 180, 270):
            info = probe.probe(footage[f"rot{turn}.mp4"], found)
            assert info.rotation == turn, found.ffprobe
            assert info.display_size == ((H, W) if turn != 180 else (W, H))
        info = probe.probe(footage["tff.mp4"], found)
        assert info.field_order == "tt" and info.interlaced
        assert not probe.probe(footage["base.mp4"], found).interlaced


# -- rotation ----------------------------------------------------------------------------------

@pytest.mark.parametrize("turn", [90, 180, 270])
def test_rotated_input_gives_upright_output_equal_to_the_reference(ffmpeg_bin, footage,
                                                                   tmp_path, turn):
    src = footage[f"rot{turn}.mp4"]
    size = (H, W) if turn != 180 else (W, H)
    out = tmp_path / "o.mkv"
    ffmotion.extract(src, out, offset=3, lossless=True, ffmpeg=ffmpeg_bin)
    assert f"{size[0]}x{size[1]}" in stream_line(ffmpeg_bin, out)
    log = subprocess.run([ffmpeg_bin, "-hide_banner", "-i", str(out)], capture_output=True,
                         text=True).stderr
    assert "rotation of" not in log.lower()  # stored upright: no player turns it again
    frames = decoded(ffmpeg_bin, src, "yuv420p", size)  # ffmpeg autorotates the decode
    assert_frames_equal(decoded(ffmpeg_bin, out, "yuv420p", size), motion(frames, 3))
    # the upright frames are not the stored ones (the rotation really was applied)
    stored = decoded(ffmpeg_bin, footage["base.mp4"], "yuv420p", (W, H))
    assert not np.array_equal(frames[0][0], stored[0][0])


@pytest.mark.parametrize("turn", [90, 270])
def test_sheet_and_energy_on_portrait_footage(ffmpeg_bin, footage, tmp_path, turn):
    src = footage[f"rot{turn}.mp4"]
    out = tmp_path / "sheet.png"
    result = explore.sheet(src, out, "1,3", columns=4, labels=False, ffmpeg=ffmpeg_bin)
    # portrait cells 48 wide, 64 high (2 px margins): not squashed into landscape cells
    assert (result.layout.cell_width, result.layout.cell_height) == (H, W)
    assert "PNG" in out.read_bytes()[:8].decode("latin-1")
    assert f"{4 * (H + 4)}x{3 * (W + 4)}" in stream_line(ffmpeg_bin, out)
    (energy,) = explore.energy(src, 2, ffmpeg=ffmpeg_bin).values
    frames = motion(decoded(ffmpeg_bin, src, "yuv420p", (H, W)), 2)
    want = [float(np.abs(f[0].astype(int) - 127).mean()) for f in frames]
    assert np.allclose(energy, want, rtol=0, atol=2e-4) and min(want) > 1


def test_stabilized_portrait_stays_portrait(gen_ffmpeg, footage, tmp_path, monkeypatch):
    monkeypatch.setenv("FFMOTION_CACHE", str(tmp_path / "cache"))
    out = tmp_path / "o.mkv"
    result = ffmotion.extract(footage["rot90.mp4"], out, offset=2, lossless=True,
                              stabilize=True, ffmpeg=gen_ffmpeg)
    assert result.frames == N - 2
    assert f"{H}x{W}" in stream_line(gen_ffmpeg, out)


# -- interlacing --------------------------------------------------------------------------------

def test_interlaced_input_warns_and_says_what_to_do(gen_ffmpeg, footage, tmp_path, caplog):
    caplog.set_level(logging.WARNING, logger="ffmotion")
    ffmotion.extract(footage["tff.mp4"], tmp_path / "o.mkv", offset=1, lossless=True,
                     ffmpeg=gen_ffmpeg)
    # the library names the field (the command line: --deinterlace)
    assert "interlaced (top field first)" in caplog.text and "add deinterlace to" in caplog.text
    caplog.clear()
    ffmotion.extract(footage["base.mp4"], tmp_path / "p.mkv", offset=1, lossless=True,
                     ffmpeg=gen_ffmpeg)
    assert "interlaced" not in caplog.text


def test_deinterlace_on_progressive_input_warns(gen_ffmpeg, footage, tmp_path, caplog):
    caplog.set_level(logging.WARNING, logger="ffmotion")
    ffmotion.extract(footage["base.mp4"], tmp_path / "o.mkv", offset=1, lossless=True,
                     deinterlace=True, ffmpeg=gen_ffmpeg)
    assert "not flagged interlaced" in caplog.text


def test_deinterlace_in_the_same_graph_keeps_the_rate(ffmpeg_bin, footage, tmp_path, caplog):
    caplog.set_level(logging.WARNING, logger="ffmotion")
    src = footage["tff.mp4"]
    out = tmp_path / "o.mkv"
    code = cli.main([str(src), str(out), "-k", "2", "--lossless", "--deinterlace",
                              "-q", "--ffmpeg", ffmpeg_bin])
    assert code == 0 and "interlaced" not in caplog.text
    # reference: ffmpeg's bwdif run on its own (one frame per frame), then the formula
    frames = decoded(ffmpeg_bin, src, "yuv420p", (W, H),
                     vf="bwdif=mode=send_frame:parity=auto:deint=all")
    assert len(frames) == N
    got = decoded(ffmpeg_bin, out, "yuv420p", (W, H))
    assert_frames_equal(got, motion(frames, 2))
    assert not all(np.array_equal(a[0], b[0]) for a, b in
                   zip(got, motion(decoded(ffmpeg_bin, src, "yuv420p", (W, H)), 2)))
    assert "progressive" in stream_line(ffmpeg_bin, out)


# -- energy --------------------------------------------------------------------------------------

def test_energy_on_a_gap_with_a_range_gives_the_decoded_frames(ffmpeg_bin, footage, caplog):
    """A clip with a missing frame and a range: no failure; the values are those of a run of
    decoded frames from the range's first (frames 5.. of the decoded sequence; a time-based
    range may hold one frame fewer than planned across the gap: then a warning says so)."""
    src = footage["gap.mkv"]
    caplog.set_level(logging.WARNING, logger="ffmotion")
    table = explore.energy(src, 2, start="5f", duration="20f", ffmpeg=ffmpeg_bin)
    (values,) = table.values
    frames = decoded(ffmpeg_bin, src, "yuv420p", (W, H))
    assert len(frames) == N - 1
    assert len(values) in (17, 18) and table.first == 5
    part = motion(frames[5:5 + len(values) + 2], 2)
    want = [float(np.abs(f[0].astype(int) - 127).mean()) for f in part]
    assert np.allclose(values, want, rtol=0, atol=2e-4)
    assert ("17 of the 18 frames planned" in caplog.text) == (len(values) == 17)


# -- smaller items --------------------------------------------------------------------------------

def cli_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "FFMOTION_FFMPEG"}
    env.update(extra)
    return env


def test_printed_stabilize_commands_run_as_printed(footage, tmp_path):
    cache = tmp_path / "not yet" / "cache"
    out = tmp_path / "o.mp4"
    env = cli_env(FFMOTION_CACHE=str(cache))
    done = subprocess.run([sys.executable, "-m", "ffmotion", str(footage["base.mp4"]), str(out),
                           "-k", "2", "--stabilize", "--stabilize-smoothing", "0",
                           "--print-command"], capture_output=True,
                          text=True, env=env, cwd=tmp_path, timeout=120)
    assert done.returncode == 0, done.stderr
    (line,) = done.stdout.splitlines()
    shutil.rmtree(tmp_path / "not yet")  # run later, where the folder does not exist
    ran = subprocess.run(["bash", "-c", line], capture_output=True, text=True, cwd=tmp_path,
                         timeout=120)
    assert ran.returncode == 0, ran.stderr[-2000:]
    assert out.stat().st_size > 0 and list(cache.glob("*.trf"))
    assert list(cache.glob("*.motions")) and not list(cache.glob("*.motions.*"))
    # ffmotion itself (the cache entries lack their sidecars: it makes them again) writes the
    # same bytes as the printed line
    again = tmp_path / "again.mp4"
    done = subprocess.run([sys.executable, "-m", "ffmotion", str(footage["base.mp4"]),
                           str(again), "-k", "2", "--stabilize", "--stabilize-smoothing", "0"],
                          capture_output=True, text=True, env=env, cwd=tmp_path, timeout=120)
    assert done.returncode == 0, done.stderr
    assert again.read_bytes() == out.read_bytes()
    # pass 1 failing (its folder cannot be made): no pass 2, so no 0-byte output
    out.unlink()
    shutil.rmtree(tmp_path / "not yet")
    (tmp_path / "not yet").write_text("a file where the folder should be")
    failed = subprocess.run(["bash", "-c", line], capture_output=True, text=True, cwd=tmp_path,
                            timeout=120)
    assert failed.returncode != 0 and not out.exists()


def test_demo_prints_a_command_that_runs_as_printed(tmp_path):
    done = subprocess.run([sys.executable, "-m", "ffmotion", "demo", str(tmp_path), "-q",
                           "-k", "2"], capture_output=True, text=True, env=cli_env(),
                          timeout=300)
    assert done.returncode == 0, done.stderr
    (line,) = done.stdout.splitlines()
    motion_file = tmp_path / "ffmotion-demo-motion.mp4"
    before = motion_file.read_bytes()
    ran = subprocess.run(["bash", "-c", line], capture_output=True, text=True, timeout=300)
    assert ran.returncode == 0, ran.stderr[-2000:]
    assert motion_file.read_bytes() == before  # bit-exact: the same file again


def test_readme_motion_stream_example_runs_with_only_the_bundled_ffmpeg(footage, tmp_path):
    text = (ROOT / "README.md").read_text()
    block = re.search(r"stream = ffmotion\.motion_stream\(.*?\n(?:stream\..*\n)+", text)
    assert block, "the README's motion_stream example"
    code = "import ffmotion\n" + block.group(0)
    code = code.replace('"in.mp4"', repr(str(footage["base.mp4"])))
    code = code.replace('"out.mp4"', repr(str(tmp_path / "out.mp4")))
    empty = tmp_path / "bin"
    empty.mkdir()  # PATH without any ffmpeg
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          env=cli_env(PATH=str(empty)), cwd=tmp_path, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    assert (tmp_path / "out.mp4").stat().st_size > 0
    assert ffmotion.ffmpeg_path() and bundled_ffmpeg()


def test_hevc_in_mp4_is_tagged_hvc1(ffmpeg_bin, footage, tmp_path):
    if "libx265" not in runner.encoders(ffmpeg_bin):
        pytest.skip("this ffmpeg has no libx265")
    out = tmp_path / "o.mp4"
    ffmotion.extract(footage["base.mp4"], out, offset=1, codec="libx265", ffmpeg=ffmpeg_bin)
    assert "hvc1" in stream_line(ffmpeg_bin, out)


def test_errors_name_the_output_not_the_temporary_file(footage, tmp_path):
    out = tmp_path / "o.xyz"  # no muxer for .xyz: ffmpeg names the file it was given
    done = subprocess.run([sys.executable, "-m", "ffmotion", str(footage["base.mp4"]), str(out),
                           "--codec", "libx264", "-q"], capture_output=True, text=True,
                          env=cli_env(), timeout=120)
    assert done.returncode == 1
    assert "o.xyz" in done.stderr and "ffmotion-tmp" not in done.stderr
    assert done.stderr.count("\n") == 1 and not list(tmp_path.iterdir())



# -- parsing, without running ffmpeg ------------------------------------------------------------

@pytest.mark.parametrize("field,lines,want", [
    ("yuvj420p(pc, bt709, top first)", ["    Side data:",
                                        "      displaymatrix: rotation of -90.00 degrees"],
     {"rotation": 270, "field_order": "tt", "color_range": "pc"}),
    ("yuv420p(tv, bottom coded first (swapped))",
     ["      Display Matrix: rotation of 90.00 degrees"],
     {"rotation": 90, "field_order": "bt", "color_range": "tv"}),
    ("yuv420p(progressive)", ["      rotate          : 90"],  # old builds: clockwise tag
     {"rotation": 270, "field_order": "progressive", "color_range": "tv"}),
    ("yuvj422p", [], {"rotation": 0, "field_order": "progressive", "color_range": "pc"}),
])
def test_picture_facts_from_the_ffmpeg_log(field, lines, want):
    from ffmotion.media import picture

    assert picture.from_ffmpeg_log(field, lines) == want


