"""The magnify graph's argv (pure: nothing runs)."""
from __future__ import annotations

import ffmpeg

from ffmotion.core.magnify import MagnifySpec, design
from ffmotion.graph import magnify


def _graph(spec: MagnifySpec, pix_fmt: str = "yuv420p") -> str:
    sizes = magnify.plane_sizes(pix_fmt, 320, 240)
    chosen = design(spec, 30.0, sizes)
    video = magnify.magnify_video(ffmpeg.input("in.mkv").video, chosen, pix_fmt, 30, (320, 240))
    args = ffmpeg.output(video, "out.mkv").get_args()
    return args[args.index("-filter_complex") + 1]


def test_motion_one_tmix_per_luma() -> None:
    text = _graph(MagnifySpec.parse("10", "2-4"))
    assert text.count("tmix") == 1  # Y magnified; U and V only delayed (tpad: no arithmetic)
    assert text.count("tpad=start=19:start_mode=clone") == 2
    assert "convolution" not in text and "mix=" not in text.replace("tmix=", "")
    assert "tpad=stop=19:stop_mode=clone" in text and "trim=start_frame=19" in text
    assert "scale=sws_dither=none" in text


def test_alpha_reaches_the_weights() -> None:
    assert _graph(MagnifySpec.parse("10", "2-4")) != _graph(MagnifySpec.parse("20", "2-4"))


def test_lambda_cutoff_mixes_levels() -> None:
    text = _graph(MagnifySpec.parse("20", "2-4", lambda_cutoff=16, levels=4))
    assert "mix=inputs=3" in text and "grainextract" in text and "grainmerge" in text
    assert text.count("convolution") == 2 * 2  # G_1, G_2 (rows and columns)


def test_color_mode_magnifies_chroma() -> None:
    text = _graph(MagnifySpec.parse("50", "1-2", mode="color", levels=3))
    # per plane: 1 blur-and-pair-average down, 2 levels there, 1 bilinear step up; rows, columns
    assert text.count("grainmerge") == 3 and text.count("convolution") == 3 * (1 + 2 + 1) * 2
    assert text.count("1 5 10 10 5 1 0") == 3 * 2
    assert text.count("scale=iw/2:ih/2:flags=neighbor") == 3
    assert "scale=iw/4" not in text


def test_gray_and_other_formats() -> None:
    assert "extractplanes" not in _graph(MagnifySpec.parse("10", "2-4"), "gray")
    assert magnify.working_format("yuv420p10le") == "yuv444p"
    assert magnify.working_format("yuvj420p") == "yuvj420p"


def test_skip_finest_runs_the_band_pass_at_half_size() -> None:
    """--skip-finest: the finest level gets no gain, so luma's one tmix runs on the half-size
    pyramid (one decimation, the other levels mixed there, one bilinear step back)."""
    plain = _graph(MagnifySpec.parse("10", "2-4", levels=4))
    text = _graph(MagnifySpec.parse("10", "2-4", levels=4, skip_finest=True))
    assert "scale=iw/2" not in plain and "mix=inputs" not in plain
    assert text.count("tmix") == 1 and text.count("scale=iw/2:ih/2:flags=neighbor") == 1
    assert text.count("scale=iw*2:ih*2:flags=neighbor") == 1
