"""The motion-magnification graph (``ffmotion magnify``): pure, builds ffmpeg-python streams
and argv from a :class:`~ffmotion.graph.plan.Plan` and a
:class:`~ffmotion.core.magnify.MagnifyDesign`; runs nothing.

One graph, flat memory (tmix holds n frames of one plane; a delay, ``tpad=start=D`` (clone),
makes the blend after it hold D frames, with no arithmetic)::

    in ─ prelude ─ [stabilize] ─ format=W, settb=1/R, setpts=N, tpad=stop=D (clone)
       ─ extractplanes ─┬ Y: magnified plane ─┐
                        ├ U: magnified, or delayed D ─┼ mergeplanes ─ trim=start_frame=D ─ out
                        └ V: idem ─────────────┘

A magnified plane (8-bit samples x)::

    format=gray16le, lut=trunc(val/257)*128                X = 128 x (exact: swscale gives 257 x)
    P == X (no spatial attenuation): tmix(n, delta_D + alpha g, scale=1) -> O
    else: X ─ split ─┬ blend grainextract (X - P + 32768) ─ tpad delay D ─┐
                     └ blurs G_1..G_L ─ mix(beta) = P ─ split ─┤ (P: bottom of grainextract)
                           └ tmix(n, delta_D + alpha g, scale=1) ─ blend grainmerge -> O
    O ─ lut=min(2 val, 65535) ─ scale=sws_dither=none ─ format=gray   (= min((O + 64) >> 7, 255))

Integer and exact: the 8->16 conversion, lut, the blurs (``convolution`` row/column with a
power-of-two rdiv: ``floor(sum / 2^k + 0.5)``, mirrored borders), blend grainextract/
grainmerge, the 16->8 conversion without dither. Floating point (float32, then lrintf):
``tmix`` and ``mix`` (their numpy model matches when it sums in float32 in the same order).
The first D and last D output frames see the clip's first/last frame repeated in time.
"""
from __future__ import annotations

from fractions import Fraction
from pathlib import Path
from typing import Any, Optional, Sequence

import ffmpeg

from ffmotion.core.magnify import LEVEL_KERNELS, MagnifyDesign, PlaneDesign
from ffmotion.core.pixfmt import chroma_subsampling, plane_layout
from ffmotion.graph.argv import BITEXACT, GLOBAL_ARGS
from ffmotion.graph.command import _whole_chroma_size, thread_args
from ffmotion.graph.encode import (
    _sliced_threads,
    audio_args,
    audio_tracks,
    encoder_threads,
    output_size,
    shaping,
    video_args,
)
from ffmotion.graph.extras import stabilize_video
from ffmotion.graph.node import Stream
from ffmotion.graph.outputs import gif_palette, output_kind, shape
from ffmotion.graph.picture import prelude
from ffmotion.graph.plan import Plan
from ffmotion.graph.timing import audio_needs_cut, cut_audio

# the 8-bit planar formats the graph splits as they are; anything else is converted to yuv444p
PLANAR_8BIT = ("gray", "yuv420p", "yuv422p", "yuv444p", "yuv440p", "yuv411p", "yuv410p",
               "yuvj420p", "yuvj422p", "yuvj444p", "yuvj440p", "yuvj411p")


# [1 4 6 4 1]/16 and the pair average (x[i-1] + x[i])/2 in one pass: (1 4 6 4 1) * (1 1),
# centred one sample late (the trailing 0), rounded once
DECIMATE_KERNEL = (1, 5, 10, 10, 5, 1, 0)


def working_format(pix_fmt: str) -> str:
    """The format the graph splits into planes (8-bit planar YUV or gray)."""
    return pix_fmt if pix_fmt in PLANAR_8BIT else "yuv444p"


def plane_sizes(pix_fmt: str, width: int, height: int) -> list[tuple[int, int]]:
    """(w, h) of each plane of the working format (luma first)."""
    native = pix_fmt.replace("yuvj", "yuv")
    return [(w, h) for h, w in plane_layout(native, width, height).planes]


def _weights(values: Sequence[float]) -> str:
    return " ".join(f"{v:.9g}" for v in values)


def blur(plane: Stream, level: int) -> Stream:
    """G_level+1 from G_level: the level's kernel, dilated, along rows then columns."""
    return _blur_with(plane, *LEVEL_KERNELS[level])


def lowpass(plane: Stream, betas: Sequence[float]) -> Stream:
    """P = sum_l beta_l G_l (mix, float) or the one G_l a single weight picks."""
    used = [lv for lv, b in enumerate(betas) if b]
    deepest = max(used)
    wanted = {lv: None for lv in used}
    current = plane
    for level in range(deepest + 1):
        if level in wanted:
            if level == deepest:
                wanted[level] = current
            else:
                tee = current.split()
                wanted[level], current = tee[0], tee[1]
        if level < deepest:
            current = blur(current, level)
    if len(used) == 1:
        return wanted[used[0]]
    return ffmpeg.filter([wanted[lv] for lv in used], "mix", inputs=len(used),
                         weights=_weights([betas[lv] for lv in used]), scale=1)


def _blur_with(plane: Stream, kernel: Sequence[int], dilation: int) -> Stream:
    taps = [0] * ((len(kernel) - 1) * dilation + 1)
    for i, value in enumerate(kernel):
        taps[i * dilation] = value
    matrix = " ".join(str(t) for t in taps)
    for mode in ("row", "column"):
        plane = plane.filter("convolution", **{"0m": matrix, "0rdiv": f"1/{sum(kernel)}",
                                               "0mode": mode})
    return plane


def decimated_band(x: Stream, design: MagnifyDesign, weights: str, size: tuple[int, int],
                   betas: Sequence[float]) -> Stream:
    """``alpha BP(P)(t) + 32768`` at full size, P computed on a pyramid: the first
    ``decimation`` levels (whose beta is 0) each blur and average pairs in one kernel
    ([1 5 10 10 5 1 0]/32) and keep every second (odd) sample; the others blur a-trous at
    the coarse size (the level kernels from the finest) and mix as ``betas`` say (colour
    mode: G_levels alone). The band-pass runs there; bilinear steps bring it back up."""
    factor = 1 << design.decimation
    width, height = size
    padded_w, padded_h = -(-width // factor) * factor, -(-height // factor) * factor
    low = x
    if (padded_w, padded_h) != (width, height):
        low = (low.filter("pad", padded_w, padded_h, 0, 0)
                  .filter("fillborders", right=padded_w - width, bottom=padded_h - height,
                          mode="smear"))
    for _ in range(design.decimation):  # [1 4 6 4 1]/16 then pair averages: one kernel
        low = _blur_with(low, DECIMATE_KERNEL, 1)
        low = low.filter("scale", "iw/2", "ih/2", flags="neighbor")
    tee = lowpass(low, betas[design.decimation:]).split()
    amplified = tee[0].filter("tmix", frames=design.frames, weights=weights, scale=1)
    delayed = tee[1].filter("tpad", start=design.delay, start_mode="clone")
    band = ffmpeg.filter([amplified, delayed], "blend", all_mode="grainextract", shortest=1)
    for _ in range(design.decimation):  # each sample twice, then [1 2 1]: bilinear
        band = band.filter("scale", "iw*2", "ih*2", flags="neighbor")
        for mode in ("row", "column"):
            band = band.filter("convolution", **{"0m": "1 2 1", "0rdiv": "1/4", "0mode": mode})
    if (padded_w, padded_h) != (width, height):
        band = band.filter("crop", width, height, 0, 0)
    return band


def magnified_plane(plane: Stream, design: MagnifyDesign, chosen: PlaneDesign,
                    size: tuple[int, int] = (0, 0)) -> Stream:
    """One 8-bit plane (gray) of ``size`` (w, h) magnified, 8-bit out (see the module's
    diagram)."""
    n = design.frames
    x = plane.filter("format", "gray16le").filter("lut", c0="trunc(val/257)*128")
    weights = _weights(design.tmix_weights(chosen.alpha))
    if design.decimation:  # the finest levels get no gain: P on a pyramid
        tee = x.split()
        band = decimated_band(tee[1], design, weights, size, chosen.betas)
        delayed = tee[0].filter("tpad", start=design.delay, start_mode="clone")
        out = ffmpeg.filter([delayed, band], "blend", all_mode="grainmerge", shortest=1)
    elif chosen.betas[0] == 1 and not any(chosen.betas[1:]):  # P is X itself
        out = x.filter("tmix", frames=n, weights=weights, scale=1)
    else:
        tee = x.split()
        low = lowpass(tee[1], chosen.betas).split()
        high = ffmpeg.filter([tee[0], low[0]], "blend", all_mode="grainextract")
        if design.delay:
            high = high.filter("tpad", start=design.delay, start_mode="clone")
        amplified = low[1].filter("tmix", frames=n, weights=weights, scale=1)
        out = ffmpeg.filter([high, amplified], "blend", all_mode="grainmerge", shortest=1)
    return (out.filter("lut", c0="min(2*val,65535)")
               .filter("scale", sws_dither="none").filter("format", "gray"))


def delayed_plane(plane: Stream, design: MagnifyDesign) -> Stream:
    """A plane that is not magnified, delayed D frames like the others (exact): the first
    frame D times more at the start (the merge after it ends with the shortest input)."""
    if not design.delay:
        return plane
    return plane.filter("tpad", start=design.delay, start_mode="clone")


def magnify_video(video: Stream, design: MagnifyDesign, pix_fmt: str, fps: Fraction,
                  size: tuple[int, int]) -> Stream:
    """The magnified stream of ``video`` (any format: converted to ``pix_fmt``, a
    :data:`PLANAR_8BIT` format; ``size`` (w, h) as the graph sees it), frames re-timed by
    index at ``fps``; N frames in, N out."""
    tb = 1 / Fraction(fps)
    video = (video.filter("format", pix_fmt)
                  .filter("settb", f"{tb.numerator}/{tb.denominator}").setpts("N"))
    if design.delay:
        video = video.filter("tpad", stop=design.delay, stop_mode="clone")
    sizes = plane_sizes(pix_fmt, *size)
    if pix_fmt == "gray":
        merged = _plane(video, design, design.planes[0], sizes[0])
    else:
        planes = video.filter_multi_output("extractplanes", "y+u+v")
        done = [_plane(planes[i], design, design.planes[i], sizes[i]) for i in range(3)]
        merged = ffmpeg.filter(done, "mergeplanes", format=pix_fmt, map0s=0, map0p=0,
                               map1s=1, map1p=0, map2s=2, map2p=0)
    if design.delay:
        merged = merged.filter("trim", start_frame=design.delay).setpts("N")
    return merged


def _plane(plane: Stream, design: MagnifyDesign, chosen: PlaneDesign,
           size: tuple[int, int]) -> Stream:
    return magnified_plane(plane, design, chosen, size) if chosen.alpha > 0 \
        else delayed_plane(plane, design)


def output(plan: Plan, design: MagnifyDesign, dst: Path) -> Stream:
    """The ffmpeg-python output node writing ``plan``'s input, magnified, to ``dst``."""
    source = ffmpeg.input(plan.info.input.name, **thread_args(plan), **plan.input_args())
    video = prelude(plan.source_video(source), plan.picture)
    if plan.stabilizer is not None:
        video = stabilize_video(video, plan.stabilizer)
    video = magnify_video(video, design, working_format(plan.working_pix_fmt), plan.info.fps,
                          plan.info.display_size)
    encode = video_args(plan)
    size, fps = shaping(plan)
    video = shape(video, size, fps)
    width, height = output_size(plan)
    video = _whole_chroma_size(video, width, height, encode.get("pix_fmt"))
    if output_kind(plan.output.path) == "gif":
        enc = plan.output.encode
        video = gif_palette(video, enc.gif_dither, enc.gif_stats)
    streams = [video]
    kwargs: dict[str, Any] = {**encode, "fps_mode": "passthrough", **BITEXACT}
    pix_fmt = encode.get("pix_fmt")
    rows = height + (-height % (1 << chroma_subsampling(pix_fmt)[1]) if pix_fmt else 0)
    threads = encoder_threads(encode.get("c:v"), rows, plan.cpus, _sliced_threads(encode))
    if threads is not None:
        kwargs["threads:v"] = threads
    for track in audio_tracks(plan):
        audio = source[f"a:{track}"]
        if audio_needs_cut(plan.timing):
            audio = cut_audio(audio, plan.timing)
        streams.append(audio)
    if len(streams) > 1:
        kwargs.update(audio_args(plan))
        kwargs["t"] = f"{float(plan.out_duration):.6f}".rstrip("0").rstrip(".")
    return ffmpeg.output(*streams, str(dst), **kwargs)


def command(plan: Plan, design: MagnifyDesign, ffmpeg_bin: str, dst: Optional[Path] = None,
            overwrite: Optional[bool] = None) -> list[str]:
    """The full ffmpeg argv of a magnify run (``dst``: default the plan's output)."""
    target = plan.output.path if dst is None else dst
    replace = plan.output.overwrite if overwrite is None else overwrite
    threads = plan.request.threads
    graph_threads = ["-filter_complex_threads", str(threads)] if threads else []
    return [ffmpeg_bin, *GLOBAL_ARGS, *graph_threads, "-y" if replace else "-n",
            *output(plan, design, target).get_args()]
