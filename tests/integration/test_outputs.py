"""Outputs beyond a video file, and the shaping flags: real ffmpeg runs on tiny clips.

GIF/WebP/APNG, image sequences (written as a set, exact PNG at 8 and 16 bits), every new
container default, y4m exactness, --width/--height/--scale/--fps/--encoder-opt, printed
commands that rebuild the same bytes.
"""
from __future__ import annotations

import hashlib
import shlex
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import ffmotion
from ffmotion import api, cli
from ffmotion.core.pixfmt import plane_layout
from ffmotion.graph.outputs import frames_at
from ffmotion.jobs import batch
from ffmotion.pipeline import controller
from ffmotion.run import runner

import reference
from helpers import FRAMES, assert_frames_equal, decode, make_clip, run_ffmpeg

K = 2


def ffmotion_cli(*args: str) -> tuple[int, str, str]:
    done = subprocess.run([sys.executable, "-m", "ffmotion", *args], capture_output=True,
                          text=True, timeout=300)
    return done.returncode, done.stdout, done.stderr


def frame_count(ffmpeg: str, path: Path, *input_args: str) -> int:
    """Frames ffmpeg decodes from ``path`` (a file or an image-sequence pattern)."""
    done = subprocess.run([ffmpeg, "-hide_banner", "-nostdin", *input_args, "-i", str(path),
                           "-map", "0:v:0", "-fps_mode", "passthrough", "-f", "framecrc", "-"],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    return sum(1 for line in done.stdout.splitlines() if line and not line.startswith("#"))


def rgb_frames(ffmpeg: str, path: Path, size: tuple[int, int], pix_fmt: str = "rgb24",
               *input_args: str) -> list[np.ndarray]:
    """Every frame of ``path`` as (h, w, 3) arrays (uint8 for rgb24, uint16 for rgb48le)."""
    w, h = size
    dtype = np.dtype("<u2") if "48" in pix_fmt else np.dtype("u1")
    done = subprocess.run([ffmpeg, "-hide_banner", "-nostdin", "-v", "error", *input_args,
                           "-i", str(path), "-map", "0:v:0", "-fps_mode", "passthrough",
                           "-f", "rawvideo", "-pix_fmt", pix_fmt, "-"],
                          capture_output=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    flat = np.frombuffer(done.stdout, dtype=dtype)
    return list(flat.reshape(-1, h, w, 3))


def digest_files(paths: list[Path]) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in paths}


def visible(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


# -- GIF, WebP, APNG -----------------------------------------------------------------------

def test_gif_uses_a_palette_made_for_the_clip(gen_ffmpeg, clips, tmp_path):
    clip = clips["yuv420p"]
    out = tmp_path / "out.gif"
    code, _, stderr = ffmotion_cli(str(clip.path), str(out), "-k", str(K))
    assert code == 0, stderr
    # 30 -> 15 fps: 34 motion frames end at 33/30 s, which is 16.5 frames at 15 fps: 17
    assert FRAMES - K == 34 and frame_count(gen_ffmpeg, out) == 17
    assert "64x48" in subprocess.run([gen_ffmpeg, "-hide_banner", "-i", str(out)],
                                     capture_output=True, text=True).stderr
    data = out.read_bytes()
    assert b"NETSCAPE2.0\x03\x01\x00\x00" in data  # loop count 0: forever
    # the exact motion picture at the GIF's rate, and a GIF of it with ffmpeg's fixed palette
    exact = tmp_path / "exact.mkv"
    ffmotion.extract(clip.path, exact, K, lossless=True, fps=15, ffmpeg=gen_ffmpeg)
    fixed = tmp_path / "fixed.gif"
    run_ffmpeg(gen_ffmpeg, "-i", str(exact), "-c:v", "gif", "-pix_fmt", "rgb8", str(fixed))
    want = rgb_frames(gen_ffmpeg, exact, clip.size)
    ours, theirs = rgb_frames(gen_ffmpeg, out, clip.size), rgb_frames(gen_ffmpeg, fixed, clip.size)
    colours = {tuple(c) for frame in ours for c in frame.reshape(-1, 3)}
    fixed_colours = {tuple(c) for frame in theirs for c in frame.reshape(-1, 3)}
    assert len(colours) > 16 and colours != fixed_colours

    def error(frames: list[np.ndarray]) -> float:
        return float(np.mean([np.abs(a.astype(int) - b.astype(int)).mean()
                              for a, b in zip(frames, want)]))

    assert len(ours) == len(want)
    assert error(ours) < error(theirs) / 2  # the clip's own palette is much closer


def test_gif_defaults_to_480_wide_and_keeps_the_aspect(gen_ffmpeg, tmp_path):
    src = make_clip(gen_ffmpeg, tmp_path / "wide.mkv", size=(640, 360), frames=6)
    out = tmp_path / "out.gif"
    code, _, stderr = ffmotion_cli(str(src), str(out), "-k", "1", "--no-audio")
    assert code == 0, stderr
    assert len(rgb_frames(gen_ffmpeg, out, (480, 270))) == 2  # 5 motion frames at 15 fps


@pytest.mark.parametrize("ext", [".webp", ".apng"])
def test_animated_webp_and_apng(gen_ffmpeg, clips, tmp_path, ext):
    encoder = {".webp": "libwebp_anim", ".apng": "apng"}[ext]
    if encoder not in runner.encoders(gen_ffmpeg):
        pytest.skip(f"this ffmpeg has no {encoder} encoder")
    out = tmp_path / f"out{ext}"
    code, _, stderr = ffmotion_cli(str(clips["yuv420p"].path), str(out), "-k", str(K),
                                   "--ffmpeg", gen_ffmpeg)
    assert code == 0, stderr
    want = 17  # 34 motion frames at 15 fps
    data = out.read_bytes()
    if ext == ".webp":  # ffmpeg cannot decode animated WebP: read its RIFF chunks
        assert data[:4] == b"RIFF" and data[8:12] == b"WEBP" and b"ANIM" in data
        assert data.count(b"ANMF") == want
        anim = data.index(b"ANIM")
        assert data[anim + 12:anim + 14] == b"\x00\x00"  # loop count 0: forever
    else:
        assert frame_count(gen_ffmpeg, out) == want
        actl = data.index(b"acTL")
        assert data[actl + 8:actl + 12] == b"\x00\x00\x00\x00"  # num_plays 0: forever


def test_missing_encoder_is_one_clear_line(clips, tmp_path, monkeypatch):
    monkeypatch.setattr(runner, "encoders", lambda ffmpeg: frozenset({"libx264"}))
    options = api.make_request(clips["yuv420p"].path, tmp_path / "o.webp", 2)
    with pytest.raises(ffmotion.core.errors.UsageError, match="cannot write .webp files: it has no "
                                                         "libwebp_anim encoder"):
        controller.prepare(options, runner.tools())


# -- image sequences -------------------------------------------------------------------------

def expected(ffmpeg: str, clip, k: int) -> list:
    return list(reference.reference(ffmpeg, clip.path, k, "offset", clip.pix_fmt, *clip.size))


def test_png_sequence_8bit_is_exact(ffmpeg_bin, clips, tmp_path):
    """gray -> gray PNG, gbrp -> rgb24 PNG: the reference's values, bit for bit."""
    for name in ("gray", "gbrp"):
        clip = clips[name]
        folder = tmp_path / name
        folder.mkdir()
        ffmotion.extract(clip.path, folder / "m%04d.png", K, ffmpeg=ffmpeg_bin)
        files = sorted(folder.iterdir())
        assert [p.name for p in files] == [f"m{i:04d}.png" for i in range(1, FRAMES - K + 1)]
        got = decode(ffmpeg_bin, folder / "m%04d.png", clip.pix_fmt, clip.size)
        assert_frames_equal(got, expected(ffmpeg_bin, clip, K))


def test_png_sequence_16bit_keeps_10_bits(ffmpeg_bin, clips, tmp_path):
    """A 10-bit input gives 16-bit PNGs: exact at 10 bits (value >> 6) for gbrp10; for
    yuv420p10 the reference's 10-bit frames through the same yuv -> rgb48 conversion."""
    clip = clips["gbrp10le"]
    ffmotion.extract(clip.path, tmp_path / "g%03d.png", K, ffmpeg=ffmpeg_bin)
    got = rgb_frames(ffmpeg_bin, tmp_path / "g%03d.png", clip.size, "rgb48le")
    want = expected(ffmpeg_bin, clip, K)
    assert len(got) == len(want) == FRAMES - K
    for rgb, (g, b, r) in zip(got, want):
        for channel, plane in zip(range(3), (r, g, b)):
            assert np.array_equal(rgb[..., channel] >> 6, plane)

    clip = clips["yuv420p10le"]
    ffmotion.extract(clip.path, tmp_path / "y%03d.png", K, ffmpeg=ffmpeg_bin)
    got = rgb_frames(ffmpeg_bin, tmp_path / "y%03d.png", clip.size, "rgb48le")
    raw = tmp_path / "ref.nut"
    reference.write(iter(expected(ffmpeg_bin, clip, K)), ffmpeg_bin,
                    plane_layout(clip.pix_fmt, *clip.size), "30", raw,
                    ["-c:v", "rawvideo", "-pix_fmt", clip.pix_fmt])
    want = rgb_frames(ffmpeg_bin, raw, clip.size, "rgb48le")
    assert len(got) == len(want) == FRAMES - K
    assert all(np.array_equal(a, b) for a, b in zip(got, want))
    assert any(np.any(frame & 0xFF != (frame >> 8)) for frame in got)  # not 8 bits widened


@pytest.mark.parametrize("pattern", ["t%03d.tif", "j%d.jpg", "j%05d.jpeg"])
def test_tif_and_jpg_sequences(gen_ffmpeg, clips, tmp_path, pattern):
    code, _, stderr = ffmotion_cli(str(clips["yuv420p10le"].path), str(tmp_path / pattern),
                                   "-k", str(K))
    assert code == 0, stderr
    assert len(visible(tmp_path)) == FRAMES - K
    assert frame_count(gen_ffmpeg, tmp_path / pattern) == FRAMES - K


def test_sequence_failure_leaves_nothing(clips, tmp_path):
    clip = clips["yuv420p"]
    # ffmpeg refuses the option value when it opens the encoder
    code, _, stderr = ffmotion_cli(str(clip.path), str(tmp_path / "f%04d.png"), "-k", str(K),
                                   "--encoder-opt", "pred=nonsense")
    errors = [line for line in stderr.splitlines() if line.startswith("ffmotion: error:")]
    assert code == 1 and len(errors) == 1 and "ffmpeg failed" in errors[0], stderr
    assert visible(tmp_path) == []
    # stopped after ffmpeg wrote its images, before the set was moved into place
    options = api.make_request(clip.path, tmp_path / "f%04d.png", K)
    tools = runner.tools()
    plan = controller.prepare(options, tools)

    def stop(frames: int) -> None:
        if frames > 0:
            raise ffmotion.core.errors.Interrupted("stopped")

    with pytest.raises(ffmotion.core.errors.Interrupted):
        controller.run(plan, tools, on_frames=stop)
    assert visible(tmp_path) == []


def test_sequence_refuses_existing_files_and_replaces_a_whole_set(clips, tmp_path):
    clip = clips["yuv420p"]
    (tmp_path / "f0007.png").write_bytes(b"keep me")
    code, _, stderr = ffmotion_cli(str(clip.path), str(tmp_path / "f%04d.png"), "-k", str(K))
    assert code == 2 and "f0007.png" in stderr and "--overwrite" in stderr
    assert visible(tmp_path) == ["f0007.png"]
    # an older, longer set: --overwrite replaces it and removes its extra files
    (tmp_path / "f9999.png").write_bytes(b"old")
    code, _, stderr = ffmotion_cli(str(clip.path), str(tmp_path / "f%04d.png"), "-k", str(K),
                                   "--overwrite")
    assert code == 0, stderr
    assert visible(tmp_path) == [f"f{i:04d}.png" for i in range(1, FRAMES - K + 1)]
    assert (tmp_path / "f0007.png").read_bytes()[:4] == b"\x89PNG"


def test_one_image_name_is_refused(clips, tmp_path):
    code, _, stderr = ffmotion_cli(str(clips["yuv420p"].path), str(tmp_path / "one.png"))
    assert code == 2 and "one%04d.png" in stderr and stderr.count("\n") == 1


def test_batch_sequence_resumes(clips, tmp_path, capsys):
    src = clips["gray"].path
    args = ["batch", str(src), "-o", str(tmp_path), "--name", "{stem}-%03d.png", "-k", "3"]
    assert cli.main(args) == 0
    names = visible(tmp_path)
    assert len(names) == FRAMES - 3 and names[0] == "gray-001.png"
    assert batch.output_done(tmp_path / "gray-%03d.png")
    assert cli.main(args) == 0
    assert "1 skipped" in capsys.readouterr().err
    (tmp_path / "gray-001.png").unlink()  # a set without its first file is not done
    assert not batch.output_done(tmp_path / "gray-%03d.png")


# -- containers --------------------------------------------------------------------------------

def test_y4m_is_exact(ffmpeg_bin, clips, tmp_path):
    for name in ("yuv420p", "yuv420p10le", "gray"):
        clip = clips[name]
        out = tmp_path / f"{name}.y4m"
        ffmotion.extract(clip.path, out, K, ffmpeg=ffmpeg_bin)
        assert_frames_equal(decode(ffmpeg_bin, out, clip.pix_fmt, clip.size),
                            expected(ffmpeg_bin, clip, K))


def test_y4m_refuses_rgb_with_one_line(clips, tmp_path):
    code, _, stderr = ffmotion_cli(str(clips["gbrp"].path), str(tmp_path / "o.y4m"))
    assert code == 2 and "y4m holds YUV and gray only" in stderr and stderr.count("\n") == 1


@pytest.mark.parametrize("ext", [".ts", ".m2ts", ".mts", ".flv", ".mpg", ".mxf", ".ogv",
                                 ".webm"])
def test_container_defaults_decode(gen_ffmpeg, av_clip, tmp_path, ext):
    out = tmp_path / f"out{ext}"
    code, _, stderr = ffmotion_cli(str(av_clip), str(out), "-k", str(K))
    assert code == 0, stderr
    assert frame_count(gen_ffmpeg, out) == FRAMES - K
    info = subprocess.run([gen_ffmpeg, "-hide_banner", "-i", str(out)], capture_output=True,
                          text=True).stderr
    assert "Audio:" in info


def test_vp9_preset_sets_its_speed(av_clip, tmp_path):
    out = tmp_path / "o.webm"
    _, default, _ = ffmotion_cli(str(av_clip), str(out), "--print-command")
    _, fast, _ = ffmotion_cli(str(av_clip), str(out), "--preset", "ultrafast", "--print-command")
    assert "-deadline good" in default and "-cpu-used 5" in default
    assert "-deadline realtime" in fast and "-cpu-used 8" in fast and "-preset" not in fast
    code, _, stderr = ffmotion_cli(str(av_clip), str(out), "--preset", "placebo")
    assert code == 2 and "no VP9 speed" in stderr


# -- shaping ---------------------------------------------------------------------------------

@pytest.mark.parametrize("flags,size", [(["--width", "32"], (32, 24)),
                                        (["--height", "24"], (32, 24)),
                                        (["--scale", "0.5"], (32, 24)),
                                        (["--width", "30"], (30, 22)),  # 22.5 -> even
                                        (["--width", "40", "--height", "20"], (40, 20))])
def test_size_flags(gen_ffmpeg, av_clip, tmp_path, flags, size):
    out = tmp_path / "o.mp4"
    code, _, stderr = ffmotion_cli(str(av_clip), str(out), "-k", str(K), *flags)
    assert code == 0, stderr
    assert len(rgb_frames(gen_ffmpeg, out, size)) == FRAMES - K


def test_fps_after_the_motion_graph(gen_ffmpeg, clips, tmp_path):
    """--fps re-times the motion output: the frames kept are exact motion frames."""
    clip = clips["yuv420p"]
    out = tmp_path / "o.mkv"
    ffmotion.extract(clip.path, out, K, lossless=True, fps=10, ffmpeg=gen_ffmpeg)
    got = decode(gen_ffmpeg, out, clip.pix_fmt, clip.size)
    want = expected(gen_ffmpeg, clip, K)
    assert len(got) == frames_at(FRAMES - K, 30, 10) == 11
    # every third motion frame, each exact (the fps filter keeps frames 1, 4, 7, ...)
    assert_frames_equal(got, want[1::3][:11])


def test_shaping_flags_work_for_sequences_and_gif(gen_ffmpeg, av_clip, tmp_path):
    code, _, stderr = ffmotion_cli(str(av_clip), str(tmp_path / "s%03d.png"), "-k", str(K),
                                   "--width", "16", "--fps", "6")
    assert code == 0, stderr
    assert len(rgb_frames(gen_ffmpeg, tmp_path / "s%03d.png", (16, 12))) == 7
    code, _, stderr = ffmotion_cli(str(av_clip), str(tmp_path / "o.gif"), "-k", str(K),
                                   "--scale", "0.5", "--fps", "30", "--encoder-opt",
                                   "gifflags=0")
    assert code == 0, stderr
    assert len(rgb_frames(gen_ffmpeg, tmp_path / "o.gif", (32, 24))) == FRAMES - K


def test_audio_codec_and_bitrate(gen_ffmpeg, av_clip, tmp_path):
    out = tmp_path / "o.mkv"
    code, _, stderr = ffmotion_cli(str(av_clip), str(out), "-k", str(K), "--audio-codec",
                                   "libopus", "--audio-bitrate", "64k")
    assert code == 0, stderr
    info = subprocess.run([gen_ffmpeg, "-hide_banner", "-i", str(out)], capture_output=True,
                          text=True).stderr
    assert "Audio: opus" in info


@pytest.mark.parametrize("flags,message", [
    (["--encoder-opt", "nonsense=1"], "libx264 has no option 'nonsense'"),
    (["--encoder-opt", "tune"], "is not key=value"),
    (["--encoder-opt", "tune=film\x01"], "control character"),
    (["--width", "0"], "--width must be"),
    (["--scale", "0.5", "--width", "10"], "--scale or --width"),
    (["--fps", "abc"], "is not a frame rate"),
    (["--audio-bitrate", "lots"], "is not a bitrate"),
])
def test_shaping_errors_are_one_line(av_clip, tmp_path, flags, message):
    code, _, stderr = ffmotion_cli(str(av_clip), str(tmp_path / "o.mp4"), *flags)
    assert code == 2 and message in stderr and stderr.count("\n") == 1, stderr
    assert visible(tmp_path) == []


def test_gif_has_no_audio_flags(av_clip, tmp_path):
    code, _, stderr = ffmotion_cli(str(av_clip), str(tmp_path / "o.gif"), "--audio-codec", "aac")
    assert code == 2 and "holds no audio" in stderr


def test_encoder_opt_reaches_the_encoder(av_clip, tmp_path):
    code, printed, _ = ffmotion_cli(str(av_clip), str(tmp_path / "o.mp4"), "--encoder-opt",
                                    "tune=grain", "--encoder-opt", "g=12", "--print-command")
    assert code == 0 and "-tune grain" in printed and "-g 12" in printed


# -- printed commands ----------------------------------------------------------------------------

@pytest.mark.parametrize("name", ["out.gif", "f%04d.png"])
def test_printed_command_makes_the_same_bytes(av_clip, tmp_path, name):
    out = tmp_path / name
    flags = ["-k", "3", "--width", "32"]
    code, _, stderr = ffmotion_cli(str(av_clip), str(out), *flags)
    assert code == 0, stderr
    made = digest_files(sorted(tmp_path.iterdir()))
    code, printed, _ = ffmotion_cli(str(av_clip), str(out), *flags, "--print-command",
                                    "--overwrite")
    assert code == 0
    for path in tmp_path.iterdir():
        path.unlink()
    argv = shlex.split(printed)
    assert argv[-1] == str(out)
    subprocess.run(argv, check=True, capture_output=True)
    assert digest_files(sorted(tmp_path.iterdir())) == made
