"""--stabilize: a handheld clip's static area turns (nearly) gray; pass 1 is cached."""
from __future__ import annotations

import logging
import shlex
import shutil
from pathlib import Path

import numpy as np
import pytest

import ffmotion
from ffmotion import api, cli
from ffmotion.core.pixfmt import plane_layout
from ffmotion.core.request import StabilizeOptions
from ffmotion.pipeline import controller, stabilize
from ffmotion.run import runner

import reference
from helpers import assert_frames_equal, decode, run_ffmpeg

W, H = 128, 96
FRAMES = 36
STATIC = (slice(8, 40), slice(8, 60))
TRIPOD = StabilizeOptions(smoothing=0)  # rows, columns of the frame: scene that never moves
OBJECT_ROWS = slice(60, 96)  # the band the moving square crosses


@pytest.fixture(scope="session")
def handheld(tmp_path_factory: pytest.TempPathFactory, gen_ffmpeg: str) -> Path:
    """A static textured scene seen through a jittering 128x96 window, one small mover.

    The scene (192x144: frozen blurred noise, boxes, a grid) never moves; the crop window
    shakes by up to ±10 px horizontally and ±8 px vertically, a different amount every frame;
    a 12x12 square crosses the scene at 60 px/s, below the static region.
    """
    path = tmp_path_factory.mktemp("stab") / "handheld.mkv"
    scene = ("color=c=0x808080:s=192x144:r=30:d=1.2,noise=alls=80:allf=u,gblur=sigma=2,"
             "drawbox=x=30:y=30:w=40:h=30:c=0x203040:t=fill,"
             "drawbox=x=140:y=10:w=30:h=40:c=0xe0d0a0:t=fill,"
             "drawgrid=w=24:h=24:t=1:c=white@0.4[bg];"
             "color=c=white:s=12x12:r=30:d=1.2[obj];"
             "[bg][obj]overlay=x='60+60*t':y=100,"
             f"crop=w={W}:h={H}:x='32+round(10*sin(n*1.9))':y='24+round(8*cos(n*2.7))',"
             "format=yuv420p")
    run_ffmpeg(gen_ffmpeg, "-filter_complex", scene, "-frames:v", str(FRAMES), "-c:v", "ffv1",
               str(path))
    return path


@pytest.fixture(autouse=True)
def private_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    cache = tmp_path / "cache dir"  # a space: the path goes through filter escaping
    monkeypatch.setenv("FFMOTION_CACHE", str(cache))
    return cache


def deviation(frames: list, region: tuple = STATIC) -> float:
    """Mean |Y - 127| over ``region`` of every frame: 0 is perfectly gray (nothing moved)."""
    return float(np.mean([np.abs(f[0][region].astype(int) - 127).mean() for f in frames]))


def test_stabilized_static_area_is_much_grayer(ffmpeg_bin, handheld, tmp_path):
    shaky, steady = tmp_path / "shaky.mkv", tmp_path / "steady.mkv"
    ffmotion.extract(handheld, shaky, offset=4, lossless=True, ffmpeg=ffmpeg_bin)
    ffmotion.extract(handheld, steady, offset=4, lossless=True, stabilize=True,
                     ffmpeg=ffmpeg_bin)
    without = decode(ffmpeg_bin, shaky, "yuv420p", (W, H))
    with_ = decode(ffmpeg_bin, steady, "yuv420p", (W, H))
    assert len(with_) == len(without) == FRAMES - 4
    assert deviation(without) > 8  # the guard: shake alone makes the static area light up
    assert deviation(with_) * 4 <= deviation(without)
    # the mover still shows: in the band it crosses, some pixels far from gray in every frame
    for frame in with_:
        band = np.abs(frame[0][OBJECT_ROWS, 8:W - 8].astype(int) - 127)
        assert (band > 40).sum() >= 12


def test_motion_after_stabilization_matches_reference(gen_ffmpeg, handheld, tmp_path,
                                                      private_cache):
    """The motion graph runs on exactly the stabilized frames: reference of an independent
    vidstabtransform run (the same motions file pass 2 reads), bit for bit."""
    out = tmp_path / "steady.mkv"
    ffmotion.extract(handheld, out, offset=3, lossless=True, stabilize=TRIPOD, ffmpeg=gen_ffmpeg)
    (motions,) = private_cache.glob("*.motions")
    stabilized = tmp_path / "stabilized.mkv"
    run_ffmpeg(gen_ffmpeg, "-i", str(handheld), "-vf",
               f"vidstabtransform=input='{motions}':tripod=1:optalgo=gauss", "-c:v", "ffv1",
               str(stabilized))
    layout = plane_layout("yuv420p", W, H)
    want = list(reference.motion_frames(
        reference.read_frames(gen_ffmpeg, stabilized, layout), 3, "offset", layout.max_value))
    assert_frames_equal(decode(gen_ffmpeg, out, "yuv420p", (W, H)), want)


def test_pass_one_is_cached_across_offsets(gen_ffmpeg, handheld, tmp_path, private_cache,
                                           monkeypatch):
    ran: list[list[str]] = []
    real = runner.run_ffmpeg

    def recording(argv, *args, **kwargs):
        ran.append(argv)
        return real(argv, *args, **kwargs)

    monkeypatch.setattr(runner, "run_ffmpeg", recording)
    ffmotion.extract(handheld, tmp_path / "a.mkv", offset=2, lossless=True, stabilize=TRIPOD,
                     ffmpeg=gen_ffmpeg)
    assert sum("vidstabdetect" in " ".join(a) for a in ran) == 1
    (trf,) = private_cache.glob("*.trf")
    ran.clear()
    ffmotion.extract(handheld, tmp_path / "b.mkv", offset=7, lossless=True, stabilize=TRIPOD,
                     ffmpeg=gen_ffmpeg)
    ran = [a for a in ran if "msad" not in " ".join(a)]  # the residual check (its own test)
    assert len(ran) == 1 and "vidstabdetect" not in " ".join(ran[0])
    assert list(private_cache.glob("*.trf")) == [trf]
    # another strength is another analysis; so is another range
    ffmotion.extract(handheld, tmp_path / "c.mkv", offset=2, lossless=True, ffmpeg=gen_ffmpeg,
                     stabilize=StabilizeOptions(strength=8, smoothing=0))
    ffmotion.extract(handheld, tmp_path / "d.mkv", offset=2, lossless=True, ffmpeg=gen_ffmpeg,
                     stabilize=TRIPOD, start="0.2")
    assert len(list(private_cache.glob("*.trf"))) == 3
    assert not list(private_cache.glob(".*"))  # no temporary file left behind


def test_cache_key_follows_content_not_path(handheld, tmp_path, gen_ffmpeg):
    tools = runner.tools(gen_ffmpeg)
    copy = tmp_path / "elsewhere.mkv"
    shutil.copyfile(handheld, copy)
    changed = tmp_path / "changed.mkv"
    data = bytearray(handheld.read_bytes())
    data[-100] ^= 0xFF
    changed.write_bytes(bytes(data))

    def transforms(src: Path) -> Path:
        options = api.make_request(src, tmp_path / "o.mkv", 2, stabilize=True)
        return controller.prepare(options, tools).stabilizer.transforms

    assert transforms(handheld) == transforms(copy)
    assert transforms(handheld) != transforms(changed)
    assert stabilize.content_hash(handheld) == stabilize.content_hash(copy)


def test_print_command_prints_both_passes(handheld, tmp_path, capsys, private_cache):
    code = cli.main([str(handheld), str(tmp_path / "o.mp4"), "-k", "3", "--stabilize",
                     "--stabilize-smoothing", "0", "--start", "0.1", "--print-command"])
    lines = capsys.readouterr().out.splitlines()
    # one shell line: mkdir -p CACHE && pass 1 && motions && pass 2 (test_footage runs it)
    assert code == 0 and len(lines) == 1
    mkdir, detect, motions, motion = lines[0].split(" && ")
    assert mkdir.startswith("mkdir -p ")
    assert "vidstabdetect=" in detect and "tripod=1" in detect and "-f null" in detect
    # the motions step reads pass 1's transforms on one blank frame, in a folder of its own
    assert motions.startswith("sh -c ") and "debug=1" in motions and "-frames:v 1" in motions
    (target,) = [w for w in shlex.split(motions) if w.endswith(".motions")]
    assert "vidstabtransform=" in motion and "blend=" in motion
    assert f"input={target}" in motion.replace("\\", "") and "optalgo=gauss" in motion
    # both passes read the same frames (frame 3 on: 0.1 s at 30 fps) and share the transforms
    assert ":start_frame=3[" in detect and ":start_frame=3[" in motion
    assert str(private_cache).replace(" ", "\\ ") in detect or str(private_cache) in detect
    # nothing ran and no file was written; the cache folder exists (no transforms in it) so
    # that the printed pass 1 can write into it when run by hand. (The ffmpeg binary's facts,
    # ffmpeg-*.json, may be remembered there when this process checked the binary first.)
    written = [p.name for p in private_cache.iterdir() if not p.name.startswith("ffmpeg-")]
    assert not (tmp_path / "o.mp4").exists() and written == []


def test_deshake_fallback_warns_and_runs(gen_ffmpeg, handheld, tmp_path, monkeypatch, caplog):
    real = runner.filters

    def without_vidstab(ffmpeg: str) -> frozenset[str]:
        return real(ffmpeg) - {"vidstabdetect", "vidstabtransform"}

    monkeypatch.setattr(runner, "filters", without_vidstab)
    caplog.set_level(logging.WARNING, logger="ffmotion")
    out = tmp_path / "o.mkv"
    result = ffmotion.extract(handheld, out, offset=2, lossless=True, stabilize=True,
                              ffmpeg=gen_ffmpeg)
    assert "deshake" in caplog.text and "libvidstab" in caplog.text
    assert "deshake=" in " ".join(result.argv) and "vidstab" not in " ".join(result.argv)
    assert len(decode(gen_ffmpeg, out, "yuv420p", (W, H))) == FRAMES - 2


def test_stabilize_knobs_need_stabilize(handheld, tmp_path, capsys):
    code = cli.main([str(handheld), str(tmp_path / "o.mp4"), "--stabilize-strength", "8"])
    assert code == 2 and "need --stabilize" in capsys.readouterr().err
    code = cli.main([str(handheld), str(tmp_path / "o.mp4"), "--stabilize",
                     "--stabilize-strength", "11"])
    assert code == 2 and "from 1 to 10" in capsys.readouterr().err


@pytest.mark.parametrize("name,stabilized_fmt", [("rgb24", "yuv444p"), ("yuv420p10le", "yuv420p"),
                                                 ("gray", "gray")])
def test_other_formats_stabilize_in_an_explicit_8bit_format(ffmpeg_bin, clips, tmp_path, name,
                                                            stabilized_fmt):
    """vid.stab takes 8-bit formats only (and Debian's libvidstab 1.1.0 aborts on packed
    RGB): the graph converts on purpose and the motion graph runs in that format."""
    clip = clips[name]
    out = tmp_path / "o.mkv"
    options = api.make_request(clip.path, out, 3, lossless=True, stabilize=True)
    tools = runner.tools(ffmpeg_bin)
    plan = controller.prepare(options, tools)
    assert plan.working_pix_fmt == stabilized_fmt
    controller.run(plan, tools)
    assert len(decode(ffmpeg_bin, out, stabilized_fmt, clip.size)) == FRAMES - 3


def test_sheet_and_energy_stabilize_too(gen_ffmpeg, handheld, tmp_path, private_cache):
    from ffmotion.pipeline import explore

    shaky = explore.energy(handheld, 4, ffmpeg=gen_ffmpeg).values[0]
    steady = explore.energy(handheld, 4, ffmpeg=gen_ffmpeg,
                            stabilize_options=TRIPOD).values[0]
    assert len(steady) == len(shaky) == FRAMES - 4
    assert np.mean(steady) * 3 <= np.mean(shaky)  # whole frames: the mover adds to both
    result = explore.sheet(handheld, tmp_path / "s.png", "4", columns=2, labels=False,
                           stabilize_options=TRIPOD, ffmpeg=gen_ffmpeg)
    assert (tmp_path / "s.png").is_file() and (result.layout.width, result.layout.height) == (
        2 * (W + 4), 2 * (H + 4))
    assert len(list(private_cache.glob("*.trf"))) == 1  # energy's pass 1 served the sheet
