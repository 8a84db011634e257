"""The argv the graph builds, checked without running ffmpeg."""
from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import pytest

from ffmotion import graph
from ffmotion.core.errors import UsageError
from ffmotion.core.pixfmt import plane_layout, working_pix_fmt
from ffmotion.core.request import EncodeOptions
from ffmotion.media.info import MediaInfo

from helpers import request


def info(**kw) -> MediaInfo:
    base = dict(path=Path("/in/clip.mp4"), width=1920, height=1080, fps=Fraction(30),
                frames=300, pix_fmt="yuv420p", video_codec="h264", audio_codec="aac")
    base.update(kw)
    return MediaInfo(**base)


def argv(dst="/out/o.mp4", media=None, **kw) -> list[str]:
    kw.setdefault("offset", "12")
    options = request(src=Path("/in/clip.mp4"), dst=Path(dst), **kw)
    graph.check_output_format(options.output)
    return graph.command(graph.plan(options, media or info()), "ffmpeg")


def arg_after(args: list[str], flag: str) -> str:
    return args[args.index(flag) + 1]


def test_offset_graph_has_the_five_steps():
    args = argv()
    fc = arg_after(args, "-filter_complex")
    for part in ("format=yuv420p", "settb=1/30", "setpts=N", "split=2", "trim=start_frame=12",
                 "setpts=PTS-STARTPTS", "negate", "blend=all_mode=average:shortest=1"):
        assert part in fc, part
    assert arg_after(args, "-fps_mode") == "passthrough"
    assert args[:4] == ["ffmpeg", "-hide_banner", "-nostdin", "-n"]
    assert args[-1] == "/out/o.mp4"


def test_freeze_graph_takes_one_frame_and_repeats_it():
    fc = arg_after(argv(mode="freeze", offset="7"), "-filter_complex")
    assert "trim=end_frame=8:start_frame=7" in fc
    assert "shortest" not in fc


def test_ntsc_rate_retimes_with_exact_timebase():
    fc = arg_after(argv(media=info(fps=Fraction(30000, 1001))), "-filter_complex")
    assert "settb=1001/30000" in fc


def test_duration_offset_resolves_from_fps():
    plan = graph.plan(request(src=Path("/a.mp4"), dst=Path("/b.mp4"), offset="0.5s"),
                      info(fps=Fraction(24)))
    assert plan.k == 12 and plan.out_frames == 288
    plan = graph.plan(request(src=Path("/a.mp4"), dst=Path("/b.mp4"), offset="500ms"),
                      info(fps=Fraction(30000, 1001)))
    assert plan.k == 15  # 14.985 rounds to 15


@pytest.mark.parametrize("offset", ["300", "10s"])
def test_offset_at_or_past_the_end_is_rejected(offset):
    with pytest.raises(UsageError, match="300 frames"):
        graph.plan(request(src=Path("/a.mp4"), dst=Path("/b.mp4"), offset=offset), info())


def test_too_short_duration_is_rejected():
    with pytest.raises(UsageError, match="shorter than one frame"):
        graph.plan(request(src=Path("/a.mp4"), dst=Path("/b.mp4"), offset="10ms"), info())


def test_freeze_past_last_frame_is_rejected():
    with pytest.raises(UsageError, match="past the last frame"):
        graph.plan(request(src=Path("/a.mp4"), dst=Path("/b.mp4"), offset="300", mode="freeze"),
                   info())


@pytest.mark.parametrize("ext,codec,extra", [
    (".mp4", "libx264", {"-movflags": "+faststart", "-crf": "18", "-preset": "faster"}),
    (".mov", "libx264", {"-movflags": "+faststart"}),
    (".mkv", "libx264", {"-crf": "18"}),
    (".avi", "mpeg4", {"-vtag": "xvid", "-q:v": "3"}),
    (".webm", "libvpx-vp9", {"-b:v": "0"}),
])
def test_encoder_defaults_follow_the_extension(ext, codec, extra):
    args = argv(dst=f"/out/o{ext}")
    assert arg_after(args, "-c:v") == codec
    assert arg_after(args, "-pix_fmt") == "yuv420p"
    for flag, value in extra.items():
        assert arg_after(args, flag) == value


def test_user_encoding_overrides():
    args = argv(encode=EncodeOptions(codec="libx265", crf=24, preset="fast", pix_fmt="yuv420p10le"))
    assert arg_after(args, "-c:v") == "libx265"
    assert arg_after(args, "-crf") == "24"
    assert arg_after(args, "-preset") == "fast"
    assert arg_after(args, "-pix_fmt") == "yuv420p10le"


def test_crf_maps_to_qscale_for_mpeg4():
    args = argv(dst="/out/o.avi", encode=EncodeOptions(crf=5))
    assert arg_after(args, "-q:v") == "5" and "-crf" not in args


def test_lossless_is_ffv1_in_the_working_format():
    args = argv(dst="/out/o.mkv", encode=EncodeOptions(lossless=True),
                media=info(pix_fmt="yuv420p10le"))
    assert arg_after(args, "-c:v") == "ffv1"
    assert "-pix_fmt" not in args
    assert "format=yuv420p10le" in arg_after(args, "-filter_complex")


def test_lossless_needs_a_container_that_holds_ffv1():
    with pytest.raises(UsageError, match="mkv"):
        argv(dst="/out/o.mp4", encode=EncodeOptions(lossless=True))


def test_unknown_extension_without_codec_is_rejected():
    with pytest.raises(UsageError, match="pass codec"):  # the field (the CLI: --codec)
        argv(dst="/out/o.xyz")


def test_audio_copied_when_the_container_takes_it_and_trimmed_to_the_video():
    args = argv()
    assert "0:a:0" in args and arg_after(args, "-c:a") == "copy"
    assert arg_after(args, "-t") == "9.6"  # (300 - 12) / 30


def test_audio_reencoded_when_the_container_refuses_it():
    args = argv(media=info(audio_codec="pcm_s16le"))
    assert arg_after(args, "-c:a") == "aac"
    args = argv(dst="/out/o.webm", media=info(audio_codec="aac"))
    assert arg_after(args, "-c:a") == "libopus"


def test_no_audio_option_and_inputs_without_audio():
    for args in (argv(audio=False), argv(media=info(audio_codec=None))):
        assert "0:a:0" not in args and "-c:a" not in args and "-t" not in args


def test_output_is_deterministic():
    args = argv(dst="/out/o.mkv")
    assert arg_after(args, "-fflags") == "+bitexact"
    assert argv() == argv()


@pytest.mark.parametrize("decoded,working", [
    ("yuv420p", "yuv420p"), ("yuv444p10le", "yuv444p10le"), ("gray", "gray"),
    ("gbrp", "gbrp"), ("yuvj420p", "yuv420p"),  # relabelled full range (graph_picture)
    ("rgb24", "gbrp"), ("bgr0", "gbrp"), ("nv12", "yuv420p"), ("p010le", "yuv420p10le"),
    ("yuva420p", "yuv420p"), ("gbrap", "gbrp"), ("rgb48le", "gbrp16le"), ("gray14le", "gray16le"),
])
def test_working_pixel_format(decoded, working):
    assert working_pix_fmt(decoded) == working


def test_plane_layout_of_odd_sizes():
    layout = plane_layout("yuv420p", 67, 41)
    assert layout.planes == ((41, 67), (21, 34), (21, 34))
    assert plane_layout("yuv422p10le", 5, 3).frame_bytes == (15 + 2 * 9) * 2
    assert plane_layout("gray", 4, 4).max_value == 255
    assert plane_layout("gbrp12le", 4, 4).max_value == 4095
