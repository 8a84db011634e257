"""The dual strategy's second input seeks to frame K where that is frame-exact.

The second decoder starts at a keyframe before frame K (a seek) instead of decoding and
dropping K frames. Its output must be the split strategy's, bit for bit, on the camera-like
corpus (MPEG-TS with a late video, MPEG-PS, an edit-list cut, variable frame rate, a missing
frame, full range), in offset and freeze mode, with and without a range; and where a seek
would change frames (temporal denoise, deinterlacing, stabilization) there is none.
"""
from __future__ import annotations

import shlex
import subprocess
import sys
from pathlib import Path

import pytest

import ffmotion
from ffmotion import api, graph
from ffmotion.core.errors import UsageError
from ffmotion.pipeline import controller
from ffmotion.run import runner

# frame 45 is 15 frames past the keyframe at 1.0 s (GOP 30 at 30 fps); 70 past the one at 2 s
CASES = [("offset", 45, None), ("freeze", 70, None), ("offset", 40, "0.6"),
         ("offset", 45, "1.2")]  # both inputs seek: to frame 30 and to frame 60
NAMES = ["ts_gop30", "ts_late_video", "ps_mpeg2", "mp4_edit_list", "mkv_vfr",
         "mkv_missing_frame", "h264_full_range", "mkv_multitrack"]


def _video_md5(ffmpeg: str, path: Path) -> list[str]:
    done = subprocess.run([ffmpeg, "-hide_banner", "-nostdin", "-i", str(path), "-map", "0:v",
                           "-f", "framemd5", "-"], capture_output=True, text=True, check=True)
    return [line for line in done.stdout.splitlines() if not line.startswith("#")]


def _options(src: Path, dst: Path, mode: str, k: int, start, strategy: str, **extra):
    return api.make_request(src, dst, None if mode == "freeze" else k,
                            freeze=k if mode == "freeze" else None, lossless=True,
                            strategy=strategy, start=start, **extra)


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("mode,k,start", CASES)
def test_dual_seek_equals_split(corpus, ffmpeg_bin, tmp_path, name, mode, k, start):
    item = corpus[name]
    tools = runner.tools(ffmpeg_bin)
    outs = {}
    for strategy in ("split", "dual"):
        dst = tmp_path / f"{strategy}.mkv"
        try:
            plan = controller.prepare(_options(item.path, dst, mode, k, start, strategy), tools)
        except UsageError:
            pytest.skip(f"{name} is too short for K={k} from {start} s (2.5 s: the cut)")
        if strategy == "dual":
            argv = graph.command(plan, ffmpeg_bin)
            seeks = argv.count("-ss")
            at_k = graph.dual_timing(plan)
            assert seeks == (1 if plan.timing.seek else 0) + (1 if at_k is not None else 0)
        controller.run(plan, tools)
        outs[strategy] = _video_md5(ffmpeg_bin, dst)
    assert outs["dual"] == outs["split"]
    assert len(outs["dual"]) > 0


def test_dual_seeks_where_the_probe_knows_keyframes(corpus, gen_ffmpeg, tmp_path):
    tools = runner.tools(gen_ffmpeg)
    seeking = []
    for name in NAMES:
        plan = controller.prepare(_options(corpus[name].path, tmp_path / "o.mkv", "offset", 45, None,
                                    "dual"), tools)
        if graph.dual_timing(plan) is not None:
            seeking.append(name)
    # H.264 in MP4/TS with a keyframe at 1 s: the second input starts there; the MKV files
    # have x264's default GOP (no keyframe before frame 45), MPEG-PS no pts on every packet
    assert set(seeking) == {"ts_gop30", "ts_late_video", "mp4_edit_list", "h264_full_range"}


@pytest.fixture(scope="module")
def vfr_gop(tmp_path_factory, gen_ffmpeg) -> Path:
    """Variable frame rate (30 -> 10 -> 30 fps) with a keyframe every 15 frames."""
    dst = tmp_path_factory.mktemp("vfrgop") / "vfr_gop15.mkv"
    subprocess.run([gen_ffmpeg, "-hide_banner", "-nostdin", "-v", "error", "-f", "lavfi", "-i",
                    "testsrc2=s=96x64:r=30:d=4,select='lt(t\\,1)+gte(t\\,2)+not(mod(n\\,3))'",
                    "-fps_mode", "passthrough", "-c:v", "libx264", "-preset", "ultrafast",
                    "-g", "15", "-pix_fmt", "yuv420p", str(dst)], check=True)
    return dst


@pytest.mark.parametrize("mode,k,start", CASES)
def test_dual_seek_on_variable_frame_rate(vfr_gop, ffmpeg_bin, tmp_path, mode, k, start):
    tools = runner.tools(ffmpeg_bin)
    outs = {}
    for strategy in ("split", "dual"):
        dst = tmp_path / f"{strategy}.mkv"
        plan = controller.prepare(_options(vfr_gop, dst, mode, min(k, 60), start, strategy), tools)
        assert not plan.info.constant_rate
        if strategy == "dual":
            assert graph.dual_timing(plan) is not None
        controller.run(plan, tools)
        outs[strategy] = _video_md5(ffmpeg_bin, dst)
    assert outs["dual"] == outs["split"] and outs["dual"]


@pytest.mark.parametrize("extra", [{"look": "clean"}, {"deinterlace": True},
                                   {"look": "color"}])
def test_no_seek_where_earlier_frames_matter(corpus, gen_ffmpeg, tmp_path, extra):
    k = 35 if extra.get("look") == "color" else 45  # color: 3K must stay within 120 frames
    tools = runner.tools(gen_ffmpeg)
    plan = controller.prepare(_options(corpus["ts_gop30"].path, tmp_path / "o.mkv", "offset", k,
                                None, "dual", **extra), tools)
    assert graph.dual_timing(plan) is None
    argv = graph.command(plan, gen_ffmpeg)
    assert "-ss" not in argv


def test_printed_dual_seek_command_is_what_runs(corpus, gen_ffmpeg, tmp_path):
    src = corpus["ts_gop30"].path
    ours = tmp_path / "ours.mp4"
    by_hand = tmp_path / "by_hand.mp4"
    common = [str(src), "-k", "45", "--strategy", "dual", "--ffmpeg", gen_ffmpeg, "-q"]
    done = subprocess.run([sys.executable, "-m", "ffmotion", common[0], str(by_hand), *common[1:],
                           "--print-command"], capture_output=True, text=True, check=True)
    argv = shlex.split(done.stdout)
    assert argv.count("-ss") == 1 and argv.count("-i") == 2
    subprocess.run(argv, check=True, capture_output=True)
    ffmotion.extract(src, ours, offset=45, strategy="dual", ffmpeg=gen_ffmpeg)
    assert ours.read_bytes() == by_hand.read_bytes()
