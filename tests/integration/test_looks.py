"""Looks: every option and their combinations, held to the numpy reference bit for bit.

Each exactness test runs on both ffmpeg builds (bundled 9.0 and system 5.1), on 8-bit and
10-bit inputs, and also checks that the look changes the picture, so an option that was
silently ignored would fail.
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
from ffmotion.core import looks
from ffmotion.core.looks import Look
from ffmotion.core.pixfmt import plane_layout
from ffmotion.media.probe import probe
from ffmotion.run import runner

import reference
from helpers import FRAMES, SIZE, assert_frames_equal, decode

RGB_KS = (1, 3, 2)

# one look per option (each run on 8-bit and 10-bit yuv420p)
SINGLE = {
    "gain": Look.parse(gain="2.5"),
    "blur": Look(blur=2),
    "gray": Look(gray=True),
    "difference": Look(blend="difference"),
    "rgb_offsets": Look.parse(rgb_offsets="1,3,2"),
    "trail": Look(trail=0.85),
    "overlay": Look(overlay=0.3),
}


def rgb_format(pix_fmt: str) -> str:
    return "gbrp10le" if "10" in pix_fmt else "gbrp"


def run_look(ffmpeg: str, clip, tmp_path: Path, look: Look, working: str, **kwargs) -> list:
    out = tmp_path / "look.mkv"
    ffmotion.extract(clip.path, out, lossless=True, ffmpeg=ffmpeg, look=look, overwrite=True,
                     **kwargs)
    return decode(ffmpeg, out, working, clip.size)


def expected(ffmpeg: str, clip, look: Look, working: str, k: int = 1, mode: str = "offset",
             channel_ks=None) -> list:
    return list(reference.look_reference(ffmpeg, clip.path, k, mode, working, *clip.size, look,
                                         channel_ks))


def differs(a: list, b: list) -> bool:
    return len(a) != len(b) or any(not np.array_equal(x, y) for fa, fb in zip(a, b)
                                   for x, y in zip(fa, fb))


@pytest.mark.parametrize("depth", ["yuv420p", "yuv420p10le"])
@pytest.mark.parametrize("name", list(SINGLE))
def test_each_option_matches_reference(ffmpeg_bin, clips, tmp_path, name, depth):
    clip = clips[depth]
    look = SINGLE[name]
    rgb = look.rgb_offsets is not None
    working = rgb_format(depth) if rgb else clip.pix_fmt
    kwargs = {} if rgb else {"offset": 1}
    want = expected(ffmpeg_bin, clip, look, working, channel_ks=RGB_KS if rgb else None)
    plain = expected(ffmpeg_bin, clip, Look(), working)
    assert differs(want, plain), "this look must change the picture, or the test proves nothing"
    got = run_look(ffmpeg_bin, clip, tmp_path, look, working, **kwargs)
    assert len(got) == FRAMES - (max(RGB_KS) if rgb else 1)
    assert_frames_equal(got, want)


COMBOS = {
    # name: (clip, look, working format, extract kwargs, reference (k, mode, channel_ks))
    "everything-but-rgb-10bit-freeze": (
        "yuv420p10le", Look.parse(blend="difference", gain="3.25", blur=1, trail=0.8, overlay=0.4,
                            gray=True),
        "yuv420p10le", {"freeze": 5}, (5, "freeze", None)),
    "average-gain-blur-trail-overlay-gbrp10": (
        "gbrp10le", Look.parse(gain="1.5", blur=3, trail=0.7, overlay=0.6), "gbrp10le",
        {"offset": 4}, (4, "offset", None)),
    "rgb-gain-blur-trail-overlay-8bit": (
        "yuv420p", Look.parse(rgb_offsets="2,1,4", gain=2, blur=1, trail=0.9, overlay=0.25), "gbrp",
        {}, (1, "offset", (2, 1, 4))),
    "rgb-multiples-freeze-10bit": (
        "yuv420p10le", Look.parse(rgb_offsets="0x,1x,2x", blend="difference", gain=4), "gbrp10le",
        {"freeze": 6}, (6, "freeze", (0, 6, 12))),
    "rgb-durations": (
        "yuv444p", Look.parse(rgb_offsets="0.1s,0.2s,100ms"), "gbrp", {}, (1, "offset", (3, 6, 3))),
    "gray-of-rgb-input": (
        "rgb24", Look(gray=True, blend="difference", trail=0.9, gain=2), "gray",
        {"offset": 2}, (2, "offset", None)),
    "gray-of-gbrp10-input": (
        "gbrp10le", Look.parse(gray=True, gain="1.75", trail=0.6), "gray10le",
        {"offset": 3}, (3, "offset", None)),
    "difference-trail-gray-input": (
        "gray", Look(blend="difference", trail=0.75, gain=3), "gray", {"offset": 2},
        (2, "offset", None)),
    "difference-gbrp-overlay": (
        "gbrp", Look(blend="difference", overlay=0.7, blur=2), "gbrp", {"offset": 2},
        (2, "offset", None)),
    "odd-size-big-blur": (
        "odd_size", Look(blur=40, gain=2), "yuv420p", {"offset": 3}, (3, "offset", None)),
    "yuv444-difference-gain-time-offset": (
        "yuv444p", Look.parse(blend="difference", gain="6.5"), "yuv444p", {"offset": "0.1s"},
        (3, "offset", None)),
}


@pytest.mark.parametrize("name", list(COMBOS))
def test_combinations_match_reference(ffmpeg_bin, clips, tmp_path, name):
    clip_name, look, working, kwargs, (k, mode, channel_ks) = COMBOS[name]
    clip = clips[clip_name]
    want = expected(ffmpeg_bin, clip, look, working, k, mode, channel_ks)
    assert differs(want, expected(ffmpeg_bin, clip, Look(), working, k, mode))
    got = run_look(ffmpeg_bin, clip, tmp_path, look, working, **kwargs)
    assert_frames_equal(got, want)


@pytest.mark.parametrize("preset", list(looks.PRESETS))
def test_presets_match_reference(ffmpeg_bin, clips, tmp_path, preset):
    clip = clips["yuv420p"]
    look = looks.PRESETS[preset].look
    rgb = look.rgb_offsets is not None
    working = "gbrp" if rgb else "yuv420p"
    # color: 1x,2x,3x of --offset 2
    want = expected(ffmpeg_bin, clip, look, working, 2, channel_ks=(2, 4, 6) if rgb else None)
    out = tmp_path / "preset.mkv"
    ffmotion.extract(clip.path, out, 2, look=preset, lossless=True, ffmpeg=ffmpeg_bin)
    assert_frames_equal(decode(ffmpeg_bin, out, working, clip.size), want)


# -- every input value pair, through the real graph -------------------------------------------

@pytest.fixture(scope="module")
def pair_clips(tmp_path_factory, gen_ffmpeg):
    """Two-frame clips whose frame 0 holds every value down the rows and frame 1 every value
    across the columns: offset 1 then compares every value pair once per plane."""
    folder = tmp_path_factory.mktemp("pairs")
    made = {}
    for pix_fmt in ("yuv444p", "yuv444p10le"):
        layout = plane_layout(pix_fmt, 2, 2)
        n = layout.max_value + 1
        layout = plane_layout(pix_fmt, n, n)
        dtype = np.uint8 if layout.depth == 8 else np.uint16
        rows = np.repeat(np.arange(n, dtype=dtype), n).reshape(n, n)
        cols = np.ascontiguousarray(rows.T)
        path = folder / f"{pix_fmt}.mkv"
        reference.write(iter([(rows,) * 3, (cols,) * 3]), gen_ffmpeg, layout, "30", path,
                        ["-c:v", "ffv1", "-pix_fmt", pix_fmt])
        made[pix_fmt] = (path, n)
    return made


@pytest.mark.parametrize("look", [Look.parse(blend="difference", gain="2.5"),
                                  Look(gain=3, overlay=0.3)], ids=["difference-gain", "gain-overlay"])
@pytest.mark.parametrize("pix_fmt", ["yuv444p", "yuv444p10le"])
def test_every_value_pair(ffmpeg_bin, pair_clips, tmp_path, pix_fmt, look):
    path, n = pair_clips[pix_fmt]
    out = tmp_path / "pairs.mkv"
    ffmotion.extract(path, out, 1, look=look, lossless=True, ffmpeg=ffmpeg_bin)
    got = decode(ffmpeg_bin, out, pix_fmt, (n, n))
    want = list(reference.look_reference(ffmpeg_bin, path, 1, "offset", pix_fmt, n, n, look))
    assert len(want) == 1
    assert_frames_equal(got, want)


# -- the reference itself, on values worked out by hand ---------------------------------------

def test_reference_gain_rounds_halves_away_from_neutral():
    v = np.array([0, 126, 127, 128, 255])
    # 127 + round((v - 127) * 2.5): -317.5 -> -318 (clipped to 0), -2.5 -> -3, 2.5 -> 3
    assert reference.apply_gain(v, 127, Fraction(5, 2), 255).tolist() == [0, 124, 127, 130, 255]
    assert reference.apply_gain(v, 0, Fraction(3), 255).tolist() == [0, 255, 255, 255, 255]


def test_reference_difference_keeps_chroma_neutral():
    layout = plane_layout("yuv444p", 2, 1)
    a = tuple(np.array([[10, 200]], dtype=np.uint8) for _ in range(3))
    b = tuple(np.array([[30, 100]], dtype=np.uint8) for _ in range(3))
    out = list(reference.look_frames(iter([a, b]), 1, "offset", layout, Look(blend="difference")))
    assert [p.tolist() for p in out[0]] == [[[20, 100]], [[108, 228]], [[108, 228]]]
    same = list(reference.look_frames(iter([a, a]), 1, "offset", layout, Look(blend="difference")))
    assert [p.tolist() for p in same[0]] == [[[0, 0]], [[128, 128]], [[128, 128]]]


def test_reference_box_blur_replicates_edges():
    plane = np.array([[0, 0, 9, 0, 0]], dtype=np.uint8)
    # radius 1 across, rows replicated above and below: (sum of 3 columns * 3 rows) // 9
    assert reference.box_blur(plane, 1, 1).tolist() == [[0, 3, 3, 3, 0]]
    edge = np.array([[9, 0, 0]], dtype=np.uint8)
    assert reference.box_blur(edge, 1, 0).tolist() == [[6, 3, 0]]  # (9+9+0)//3, (9+0+0)//3


def test_reference_trail_decays_in_float32_and_rounds_to_even():
    layout = plane_layout("gray", 1, 1)
    frames = [(np.array([[v]], dtype=np.uint8),) for v in (200, 150, 150, 150, 150)]
    # classic blend of f[i] and f[i+1]: 152, 127, 127, 127; above-neutral part 25 then
    # 12.5 -> 12 (half to even), 6.25 -> 6, 3.125 -> 3
    out = list(reference.look_frames(iter(frames), 1, "offset", layout, Look(trail=0.5)))
    assert [int(f[0][0, 0]) for f in out] == [152, 139, 133, 130]


def test_reference_overlay_uses_256ths():
    layout = plane_layout("gray", 1, 1)
    frames = [(np.array([[255]], dtype=np.uint8),), (np.array([[0]], dtype=np.uint8),)]
    # motion (255 + 255 - 0) >> 1 = 255 over original 255: w = floor(0.3 * 256 + .5) = 77
    out = list(reference.look_frames(iter(frames), 1, "offset", layout, Look(overlay=0.3)))
    assert int(out[0][0][0, 0]) == 255
    frames = [(np.array([[0]], dtype=np.uint8),), (np.array([[255]], dtype=np.uint8),)]
    out = list(reference.look_frames(iter(frames), 1, "offset", layout, Look(overlay=0.3)))
    assert int(out[0][0][0, 0]) == 0  # motion 0 over original 0
    frames = [(np.array([[0]], dtype=np.uint8),), (np.array([[0]], dtype=np.uint8),)]
    out = list(reference.look_frames(iter(frames), 1, "offset", layout, Look(overlay=0.3)))
    assert int(out[0][0][0, 0]) == (127 * 77) >> 8  # motion 127 over original 0 -> 38


def test_reference_rgb_offsets_pair_each_plane_with_its_own_frame():
    layout = plane_layout("gbrp", 1, 1)
    frames = [tuple(np.array([[v + p]], dtype=np.uint8) for p in range(3)) for v in (0, 10, 20, 30)]
    # red 1, green 2, blue 3 frames; gbrp planes are G, B, R
    out = list(reference.look_frames(iter(frames), 1, "offset", layout, Look(), (1, 2, 3)))
    assert len(out) == 1
    g, b, r = (int(p[0, 0]) for p in out[0])
    assert (g, b, r) == ((0 + 255 - 20) >> 1, (1 + 255 - 31) >> 1, (2 + 255 - 12) >> 1)


# -- the graph, without running it --------------------------------------------------------------

def _filters(look: Look, pix_fmt: str = "yuv420p", channel_ks=None, mode="offset") -> str:
    import ffmpeg as ffmpeg_python

    video = graph.motion_video(ffmpeg_python.input("in.mkv")["v:0"], 2, Fraction(30), mode,
                               pix_fmt, look=look, channel_ks=channel_ks)
    args = ffmpeg_python.output(video, "out.mkv").get_args()
    return args[args.index("-filter_complex") + 1]


def test_classic_graph_is_unchanged_by_looks():
    assert _filters(Look()) == (
        "[0:v:0]format=yuv420p[s0];[s0]settb=1/30[s1];[s1]setpts=N[s2];[s2]split=2[s3][s4];"
        "[s4]trim=start_frame=2[s5];[s5]setpts=PTS-STARTPTS[s6];[s6]negate[s7];"
        "[s3][s7]blend=all_mode=average:shortest=1[s8]")


@pytest.mark.parametrize("look,needle", [
    (Look(gain=4), "lut=c0=clip(127+round((val-127)*4/1)"),
    (Look(blur=3), "avgblur=sizeX=3"),
    (Look(gray=True), "lut=c0=val:c1=128:c2=128"),
    (Look(blend="difference"), "blend=c0_mode=difference:c1_mode=grainextract"),
    (Look(trail=0.9), "lagfun=decay=0.9"),
    (Look(overlay=0.3), "blend=all_mode=normal:all_opacity=0.30078125"),
])
def test_each_option_puts_its_filter_in_the_graph(look, needle):
    assert needle in _filters(look).replace("\\,", ",")


def test_rgb_offsets_graph_splits_and_merges_channels():
    text = _filters(Look.parse(rgb_offsets="1,2,3"), "gbrp", (1, 2, 3))
    # one extractplanes per channel (a single r+g+b one spins on variable-rate input)
    assert all(f"extractplanes={c}" in text for c in "rgb") and "mergeplanes=format=gbrp" in text
    assert all(f"trim=start_frame={k}" in text for k in (1, 2, 3))


def test_high_depth_gray_and_rgb_lut_goes_through_yuv():
    """lut clips >8-bit gray/RGB at 1020: the graph must relabel those planes as YUV."""
    for pix_fmt in ("gray10le", "gbrp10le"):
        text = _filters(Look(gain=2), pix_fmt)
        assert "mergeplanes=format=yuv444p10le" in text
        assert "clip(511+round((val-511)*2/1)" in text.replace("\\,", ",")
    assert "mergeplanes" not in _filters(Look(gain=2), "yuv420p10le")


@pytest.mark.parametrize("base,look,want", [
    ("yuv420p", Look.parse(rgb_offsets="1,2,3"), "gbrp"),
    ("yuv420p10le", Look.parse(rgb_offsets="1,2,3"), "gbrp10le"),
    ("gbrp", Look(gray=True), "gray"),
    ("gbrp10le", Look(gray=True), "gray10le"),
    ("yuv420p", Look(gray=True), "yuv420p"),
    ("yuv444p10le", Look(blend="difference", trail=0.5), "yuv444p10le"),
])
def test_working_format(base, look, want):
    assert looks.working_format(base, look) == want


def test_presets_and_overrides():
    assert set(looks.PRESETS) >= {"classic", "amplified", "difference", "color", "trails", "overlay"}
    assert looks.resolve("classic") == Look()
    amplified = looks.PRESETS["amplified"].look
    assert looks.resolve("amplified", gain="2").gain == 2
    assert looks.resolve("amplified", gain="2").blur == amplified.blur
    assert looks.resolve("trails", trail=0).trail == 0
    with pytest.raises(ffmotion.UsageError):
        looks.resolve("sepia")


@pytest.mark.parametrize("kwargs", [
    {"gain": 0}, {"gain": "101"}, {"gain": "1.2345"}, {"gain": "x"}, {"blur": -1},
    {"blur": 2.5}, {"trail": 1.5}, {"overlay": -0.1}, {"blend": "screen"},
    {"rgb_offsets": "1,2"}, {"rgb_offsets": "1,2,z"}, {"gray": True, "rgb_offsets": "1,2,3"},
])
def test_bad_look_values_are_usage_errors(kwargs):
    with pytest.raises(ffmotion.UsageError):
        Look.parse(**kwargs)


# -- the command line, and what common players get ------------------------------------------------

def ffmotion_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "ffmotion", *args], capture_output=True, text=True)


def test_looks_subcommand_lists_presets():
    done = ffmotion_cli("looks")
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert [line.split()[0] for line in lines] == list(looks.PRESETS)
    assert all(len(line.split(None, 1)[1]) > 20 for line in lines)
    assert "--gain 4 --blur 1" in done.stdout


def test_flags_override_the_preset_in_the_printed_command(clips, tmp_path):
    src = str(clips["yuv420p"].path)
    out = str(tmp_path / "o.mp4")
    base = cli_command(src, out, "--look", "amplified")
    assert "*4/1" in base and "avgblur=sizeX=1" in base
    over = cli_command(src, out, "--look", "amplified", "--gain", "2", "--blur", "0")
    assert "*2/1" in over and "avgblur" not in over
    assert not (tmp_path / "o.mp4").exists()


def cli_command(*args: str) -> str:
    done = ffmotion_cli(*args, "--print-command", "--ffmpeg", runner.tools(None).ffmpeg)
    assert done.returncode == 0, done.stderr
    return done.stdout


@pytest.mark.parametrize("args,message", [
    (["--look", "sepia"], "unknown look"),
    (["--gain", "0"], "--gain"),
    (["--trail", "2"], "--trail"),
    (["--overlay", "nope"], "--overlay"),
    (["--rgb-offsets", "1,2,3", "--offset", "2"], "--offset would be ignored"),
    (["--rgb-offsets", "1,2,300"], "blue offset"),
    (["--look", "color", "--gray"], "contradict"),
    (["--mode", "screen"], "--mode"),
])
def test_bad_look_flags_exit_2_with_one_line(clips, tmp_path, args, message):
    out = tmp_path / "o.mp4"
    done = ffmotion_cli(str(clips["yuv420p"].path), str(out), *args)
    assert done.returncode == 2, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("ffmotion: error:") and message in lines[0]
    assert not out.exists()


@pytest.mark.parametrize("preset", list(looks.PRESETS))
def test_every_look_plays_as_yuv420p_with_audio(av_clip, tmp_path, preset):
    """Default output: H.264 yuv420p in .mp4 with the audio kept and trimmed to the video."""
    out = tmp_path / f"{preset}.mp4"
    freeze = ["--freeze", "3"] if preset == "trails" else []
    done = ffmotion_cli(str(av_clip), str(out), "--look", preset, "--preset", "ultrafast", "-q",
                        *freeze)
    assert done.returncode == 0, done.stderr
    info = probe(out, runner.tools(None))
    lost = 3 if preset == "color" else 0 if freeze else 1  # color: 1x,2x,3x of 1 frame
    assert (info.video_codec, info.pix_fmt, info.frames) == ("h264", "yuv420p", FRAMES - lost)
    assert info.audio_codec == "aac"
    assert (info.width, info.height) == SIZE


def test_rgb_conversion_is_the_same_without_simd(ffmpeg_bin, clips, tmp_path):
    """The look's conversion to RGB must not depend on the CPU: run the command with SIMD off
    (``-cpuflags 0``) and hold it to the reference decoded with SIMD on."""
    clip = clips["yuv420p"]
    look = Look.parse(rgb_offsets="1,2,3")
    out = tmp_path / "c.mkv"
    argv = ffmotion.build_command(clip.path, out, look=look, lossless=True, ffmpeg=ffmpeg_bin)
    runner.run_ffmpeg([argv[0], "-cpuflags", "0", *argv[1:]])
    assert_frames_equal(decode(ffmpeg_bin, out, "gbrp", clip.size),
                        expected(ffmpeg_bin, clip, look, "gbrp", channel_ks=(1, 2, 3)))
