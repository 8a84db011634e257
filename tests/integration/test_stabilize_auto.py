"""--stabilize auto (the default): the camera path from pass 1 decides, and the choice is
measured: one that raises the residual motion falls back to no stabilization (an explicit
stabilization that raises it warns). Synthetic clips whose camera path is known."""
from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pytest

import ffmotion
from ffmotion import api, cli
from ffmotion.core.request import StabilizeOptions
from ffmotion.pipeline import controller, stabilize
from ffmotion.run import runner

from helpers import decode, run_ffmpeg

W, H, N = 192, 108, 40
# crop paths over a still picture: x, y of the window at frame n
PATHS = {
    "shake": ("80+6*sin(1.3*n)+4*sin(0.41*n+1)", "40+5*cos(0.9*n)"),
    "pan": ("10+3*n+6*sin(1.3*n)", "40+5*cos(0.9*n)"),
    "still": ("80", "40"),
}


@pytest.fixture(scope="session")
def shots(tmp_path_factory: pytest.TempPathFactory, gen_ffmpeg: str) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("auto")
    made = {}
    for name, (x, y) in PATHS.items():
        path = folder / f"{name}.mkv"
        run_ffmpeg(gen_ffmpeg, "-f", "lavfi", "-i",
                   "mandelbrot=s=400x200:start_scale=1.5:end_scale=1.5", "-filter_complex",
                   f"[0:v]trim=end_frame=1,format=yuv420p,loop=loop={N - 1}:size=1:start=0,"
                   f"setpts=N/30/TB,crop=w={W}:h={H}:x='{x}':y='{y}',noise=alls=3:allf=t",
                   "-frames:v", str(N), "-c:v", "ffv1", str(path))
        made[name] = path
    return made


@pytest.fixture(scope="session")
def subject_shot(tmp_path_factory: pytest.TempPathFactory, gen_ffmpeg: str) -> Path:
    """A still camera and a large, sharp subject shaking in front of it: vid.stab follows the
    subject (shake ~10 px/frame, no drift), so auto picks tripod, which shakes the background
    instead: the residual motion goes up (+78 % with both builds)."""
    path = tmp_path_factory.mktemp("subject") / "subject.mkv"
    still = f"format=yuv420p,loop=loop={N - 1}:size=1:start=0,setpts=N/30/TB"
    run_ffmpeg(gen_ffmpeg, "-f", "lavfi", "-i",
               "mandelbrot=s=400x200:start_scale=1.5:end_scale=1.5:rate=30",
               "-f", "lavfi", "-i", "testsrc2=s=100x56:r=30", "-filter_complex",
               f"[0:v]trim=end_frame=1,{still},crop=w={W}:h={H}:x=80:y=40[bg];"
               f"[1:v]trim=end_frame=1,{still}[fg];"
               "[bg][fg]overlay=x='46+10*sin(1.3*n)+5*sin(0.41*n+1)':y='26+8*cos(0.9*n)',"
               "noise=alls=3:allf=t", "-frames:v", str(N), "-c:v", "ffv1", str(path))
    return path


@pytest.fixture(autouse=True)
def private_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    cache = tmp_path / "cache"
    monkeypatch.setenv("FFMOTION_CACHE", str(cache))
    return cache


def settled(src: Path, ffmpeg: str, tmp_path: Path, stab=True):
    tools = runner.tools(ffmpeg)
    plan = controller.prepare(api.make_request(src, tmp_path / "o.mkv", 2, lossless=True,
                                        stabilize=stab), tools)
    return stabilize.settle(plan, tools).stabilizer


def test_auto_chooses_tripod_on_a_shaken_still_shot(ffmpeg_bin, shots, tmp_path):
    stab = settled(shots["shake"], ffmpeg_bin, tmp_path)
    assert stab.decided == "tripod" and stab.tripod
    assert "tripod" in stabilize.graph_extras.detect_args(stab)  # its own pass 1, cached
    assert stab.transforms.is_file()


def test_auto_chooses_smoothing_on_a_pan(ffmpeg_bin, shots, tmp_path):
    stab = settled(shots["pan"], ffmpeg_bin, tmp_path)
    assert stab.decided == "smooth" and stab.options.smoothing == stabilize.AUTO_SMOOTHING
    assert not stab.tripod


def test_auto_leaves_a_steady_camera_alone(gen_ffmpeg, shots, tmp_path):
    still = shots["still"]
    assert settled(still, gen_ffmpeg, tmp_path).decided == "none"
    plain, auto = tmp_path / "plain.mkv", tmp_path / "auto.mkv"
    ffmotion.extract(still, plain, offset=2, lossless=True, ffmpeg=gen_ffmpeg)
    result = ffmotion.extract(still, auto, offset=2, lossless=True, stabilize=True,
                              ffmpeg=gen_ffmpeg)
    assert "vidstab" not in " ".join(result.argv)
    a, b = (decode(gen_ffmpeg, p, "yuv420p", (W, H)) for p in (plain, auto))
    assert len(a) == len(b) == len(decode(gen_ffmpeg, still, "yuv420p", (W, H))) - 2
    assert all(np.array_equal(x, y) for fa, fb in zip(a, b) for x, y in zip(fa, fb))


def test_auto_falls_back_to_none_when_its_choice_raises_the_residual(ffmpeg_bin, subject_shot,
                                                                     tmp_path, caplog):
    caplog.set_level(logging.INFO, logger="ffmotion")
    stab = settled(subject_shot, ffmpeg_bin, tmp_path)
    assert stab.decided == "none"
    before, after = stab.residual
    assert after > before * 1.3  # measured: +78 %
    (said,) = [r for r in caplog.records if "no stabilization after all" in r.getMessage()]
    assert said.levelno == logging.WARNING and "tripod raised" in said.getMessage()


def test_auto_fallback_runs_and_prints_the_unstabilized_graph(gen_ffmpeg, subject_shot,
                                                              tmp_path, capsys):
    plain, auto = tmp_path / "plain.mkv", tmp_path / "auto.mkv"
    ffmotion.extract(subject_shot, plain, offset=2, lossless=True, ffmpeg=gen_ffmpeg)
    code = cli.main([str(subject_shot), str(auto), "-k", "2", "--lossless", "--stabilize",
                     "--ffmpeg", gen_ffmpeg])
    err = capsys.readouterr().err
    assert code == 0 and "no stabilization after all" in err and "stabilized" not in err, err
    a, b = (decode(gen_ffmpeg, p, "yuv420p", (W, H)) for p in (plain, auto))
    assert len(a) == len(b) == N - 2
    assert all(np.array_equal(x, y) for fa, fb in zip(a, b) for x, y in zip(fa, fb))
    # the printed line is what the run did: no stabilization
    code = cli.main([str(subject_shot), str(tmp_path / "p.mkv"), "-k", "2", "--lossless",
                     "--stabilize", "--print-command", "--ffmpeg", gen_ffmpeg])
    out = capsys.readouterr().out
    assert code == 0 and "blend" in out and "vidstab" not in out


def test_auto_keeps_a_choice_that_lowers_the_residual(gen_ffmpeg, shots, tmp_path):
    stab = settled(shots["shake"], gen_ffmpeg, tmp_path)
    before, after = stab.residual
    assert stab.decided == "tripod" and after * 4 < before


def test_cli_says_what_auto_chose(gen_ffmpeg, shots, tmp_path, capsys):
    for name, said in (("shake", "--stabilize auto: tripod"),
                       ("pan", f"--stabilize auto: smoothing {stabilize.AUTO_SMOOTHING}")):
        code = cli.main([str(shots[name]), str(tmp_path / f"{name}.mkv"), "-k", "2", "--lossless",
                         "--stabilize", "auto", "--ffmpeg", gen_ffmpeg])
        err = capsys.readouterr().err
        assert code == 0 and said in err and "mean drift" in err, err


def test_warning_when_stabilization_raises_the_residual(gen_ffmpeg, shots, tmp_path, caplog):
    caplog.set_level(logging.INFO, logger="ffmotion")
    tripod = StabilizeOptions(smoothing=0)
    # tripod on a pan: the reference frame slides out of view, the residual goes up
    ffmotion.extract(shots["pan"], tmp_path / "a.mkv", offset=2, lossless=True, stabilize=tripod,
                     ffmpeg=gen_ffmpeg)
    worse = [r for r in caplog.records if "made it worse" in r.getMessage()]
    assert len(worse) == 1 and worse[0].levelno == logging.WARNING
    caplog.clear()
    # the same tripod on a shaken still shot: far less residual, no warning, but the numbers
    ffmotion.extract(shots["shake"], tmp_path / "b.mkv", offset=2, lossless=True,
                     stabilize=tripod, ffmpeg=gen_ffmpeg)
    assert not any("made it worse" in r.getMessage() for r in caplog.records)
    (line,) = [r.getMessage() for r in caplog.records if "residual motion energy" in r.getMessage()]
    before, after = (float(v.split()[0]) for v in line.split(") ")[1].split(", "))
    assert after * 4 < before


def test_print_command_with_auto_analyses_then_prints_the_choice(gen_ffmpeg, shots, tmp_path,
                                                                 capsys, private_cache):
    code = cli.main([str(shots["pan"]), str(tmp_path / "o.mp4"), "-k", "2", "--stabilize",
                     "--print-command", "--ffmpeg", gen_ffmpeg])
    out = capsys.readouterr()
    assert code == 0 and "smoothing 30" in out.err
    line = out.out.strip()
    assert "vidstabdetect=" in line and "tripod" not in line
    assert f"smoothing={stabilize.AUTO_SMOOTHING}" in line
    assert not (tmp_path / "o.mp4").exists()
    assert len(list(private_cache.glob("*.trf"))) == 1  # the analysis is cached, nothing else


def test_auto_spellings_and_conflicts(shots, tmp_path, capsys):
    assert cli.options.stabilize_words(["a", "--stabilize", "auto", "b"]) == ["a", "--stabilize-auto", "b"]
    assert cli.options.stabilize_words(["--stabilize=auto"]) == ["--stabilize-auto"]
    assert cli.options.stabilize_words(["--stabilize", "out.mp4"]) == ["--stabilize", "out.mp4"]
    assert cli.options.stabilize_words(["--", "--stabilize", "auto"]) == ["--", "--stabilize", "auto"]
    code = cli.main([str(shots["pan"]), str(tmp_path / "o.mp4"), "--stabilize", "auto",
                     "--stabilize-smoothing", "5"])
    assert code == 2 and "chooses the smoothing itself" in capsys.readouterr().err


SAMPLE = """VID.STAB 1
#      accuracy = 15
Frame 1 (List 0 [])
Frame 2 (List 3 [(LM 2 -1 10 10 32 0.5 0.1),(LM 3 -1 50 10 32 0.5 0.1),(LM 9 4 90 10 32 0.5 0.1)])
Frame 3 (List 2 [(LM -1 1 10 10 32 0.5 0.1),(LM -1 2 50 10 32 0.5 0.1)])
Frame 4 (List 0 [])
"""


def test_camera_path_is_the_median_field_motion():
    path = stabilize.camera_path(SAMPLE)
    assert path.steps == ((3, -1), (-1, 1.5), (0.0, 0.0)) and path.measured == 2
    assert path.drift == pytest.approx(np.hypot(2 / 3, 0.5 / 3))
    mean = np.array([2 / 3, 0.5 / 3])
    steps = np.array(path.steps, float)
    assert path.jitter == pytest.approx(np.sqrt(((steps - mean) ** 2).sum(axis=1).mean()))
    with pytest.raises(ValueError):
        stabilize.camera_path("TRF1 binary")


@pytest.mark.parametrize("steps, transform", [
    (((0, 0),) * 20, "none"),
    (tuple((8 * (-1) ** i, 5 * (-1) ** (i // 2)) for i in range(20)), "tripod"),
    (tuple((3 + 8 * (-1) ** i, 0) for i in range(20)), "smooth"),
])
def test_auto_rules(steps, transform):
    choice = stabilize.auto_choice(stabilize.CameraPath(steps, len(steps)), 640)
    assert choice.transform == transform
    assert choice.smoothing == (stabilize.AUTO_SMOOTHING if transform == "smooth" else 0)


@pytest.mark.parametrize("frames, width, shake, transform", [
    (20, 640, 8, "tripod"),  # 0.4 px/frame for 20 frames: 8 px, the camera stays in place
    (300, 640, 8, "smooth"),  # the same for 10 s at 30 fps: 120 px, more than 64 (10 %)
    (300, 1920, 8, "tripod"),  # 120 px of 1920: within 10 % (192)
    (300, 640, 61, "tripod"),  # 120 px, but within twice a shake of 61 px/frame: its own range
])
def test_auto_tripod_only_when_the_drift_stays_small_over_the_clip(frames, width, shake,
                                                                    transform):
    # shaking `shake` px each way around a drift of 0.4 px/frame (under the per-frame limit
    # max(0.5, 0.15 * shake)): whether tripod fits depends on where the drift adds up to
    steps = tuple((0.4 + shake * (-1) ** i, 0.0) for i in range(frames))
    choice = stabilize.auto_choice(stabilize.CameraPath(steps, frames), width)
    assert choice.transform == transform
    if transform == "smooth":
        assert "120 px over the clip" in choice.reason and f"{width} px width" in choice.reason


def test_no_detail_to_follow_falls_back_to_smoothing():
    choice = stabilize.auto_choice(stabilize.CameraPath(((0, 0),) * 20, 3), 640)
    assert choice.transform == "smooth" and "only 3 of 20" in choice.reason


@pytest.mark.parametrize("sub", [["energy", "-k", "2"], ["map", "-k", "2", "-o", "m.png"],
                                 ["sheet", "--offsets", "2", "-o", "s.png"]])
def test_subcommands_print_auto_decided_commands(gen_ffmpeg, shots, tmp_path, capsys, sub,
                                                 monkeypatch):
    monkeypatch.chdir(tmp_path)
    code = cli.main([sub[0], str(shots["shake"]), *sub[1:], "--stabilize", "--print-command",
                     "--ffmpeg", gen_ffmpeg])
    out = capsys.readouterr()
    assert code == 0 and "--stabilize auto: tripod" in out.err
    assert "tripod=1" in out.out and "vidstabtransform" in out.out
