"""Output shapes beyond a video file: GIF/WebP/APNG, image sequences, size and rate.

Pure like graph.py: names filters and encoder options, starts nothing, touches no file.

* **Shaping** (``--width/--height/--scale``, ``--fps``) runs AFTER the motion graph: frame i
  of the motion output is still input i against i+K; only then is it scaled and re-timed.
* **Animated images** (``.gif``, ``.webp``, ``.apng``): no audio, at most
  :data:`ANIMATED_MAX_WIDTH` px wide and :data:`ANIMATED_MAX_FPS` fps unless the user says
  otherwise, looping forever. A GIF gets a palette made for the clip in the same graph::

      shaped ─ split ─┬─ palettegen=stats_mode=S ─┐
                      └─────────────────────────── paletteuse=dither=D ─> gif

* **Image sequences** (``out%04d.png``, ``.tif``, ``.jpg``): one file per frame, numbered
  from 1 (ffmpeg's image2 default). PNG and TIFF keep the working depth: 8-bit inputs give
  ``rgb24``/``gray``, deeper ones ``rgb48``/``gray16`` (a 10-bit value v is stored as v
  scaled to 16 bits, so ``>> 6`` gives v back).
"""
from __future__ import annotations

import re
from fractions import Fraction
from pathlib import Path
from typing import Any, Optional

import ffmpeg

# output names are core's (the safe-write rule reads them too); re-exported for the graph's users
from ffmotion.core.names import ANIMATED as ANIMATED
from ffmotion.core.names import SEQUENCE_CODECS as SEQUENCE_CODECS
from ffmotion.core.names import OutputKind as OutputKind
from ffmotion.core.names import is_sequence as is_sequence
from ffmotion.core.names import output_kind as output_kind
from ffmotion.core.names import sequence_file as sequence_file
from ffmotion.core.names import sequence_regex as sequence_regex
from ffmotion.graph.node import Stream

ANIMATED_MAX_WIDTH = 480
ANIMATED_MAX_FPS = Fraction(15)
# chosen by measurement (docs/decisions.md, "Inputs and outputs")
GIF_DITHER = "none"
GIF_STATS = "single"
def image_name_problem(dst: Path) -> Optional[str]:
    """Why ``dst`` cannot be written (an image name without a number field), or None."""
    suffix = dst.suffix.lower()
    if suffix in SEQUENCE_CODECS and not is_sequence(dst):
        if "%" in dst.name:
            return (f"{dst.name}: an image sequence name needs exactly one number field like "
                    f"%04d (and no other %)")
        return (f"{dst.name} is one image, but the motion output is many frames: name a "
                f"sequence like {dst.stem}%04d{dst.suffix} (or use ffmotion sheet for one picture)")
    return None


def sequence_pix_fmt(suffix: str, working: str) -> str:
    """The pixel format an image file holds for the working format (depth kept for PNG/TIFF)."""
    deep = bool(re.search(r"(9|1[0246])le$", working))
    gray = working.startswith("gray")
    if suffix in (".jpg", ".jpeg"):
        return "yuvj420p"
    endian = "be" if suffix == ".png" else "le"
    if gray:
        return f"gray16{endian}" if deep else "gray"
    return f"rgb48{endian}" if deep else "rgb24"


def sequence_args(suffix: str, working: str) -> dict[str, Any]:
    """Encoder options for one image per frame."""
    codec = SEQUENCE_CODECS[suffix.lower()]
    args: dict[str, Any] = {"c:v": codec, "pix_fmt": sequence_pix_fmt(suffix.lower(), working)}
    if codec == "mjpeg":
        args["q:v"] = 2
    return args


def animated_args(kind: OutputKind, webp_encoder: str = "libwebp_anim") -> dict[str, Any]:
    """Encoder and muxer options of an animated image; every one loops forever."""
    if kind == "gif":
        return {"c:v": "gif", "loop": 0}
    if kind == "webp":
        return {"c:v": webp_encoder, "pix_fmt": "yuv420p", "lossless": 0, "q:v": 75,
                "compression_level": 4, "loop": 0}
    if kind == "apng":
        return {"c:v": "apng", "pix_fmt": "rgb24", "plays": 0, "f": "apng"}
    raise ValueError(kind)


def shaped_size(width: int, height: int, want_w: Optional[int], want_h: Optional[int],
                scale: Optional[Fraction], even: bool) -> tuple[int, int]:
    """The output size: as given, or keeping the aspect for the side not given.

    A computed side is rounded to the nearest whole pixel (nearest even number when ``even``,
    for 4:2:0 outputs); sides the user gave are kept as given.
    """
    step = 2 if even else 1

    def fit(value: Fraction) -> int:
        return max(step, int((value / step + Fraction(1, 2)) // 1) * step)

    if scale is not None:
        return fit(width * scale), fit(height * scale)
    if want_w is not None and want_h is not None:
        return want_w, want_h
    if want_w is not None:
        return want_w, fit(Fraction(height * want_w, width))
    if want_h is not None:
        return fit(Fraction(width * want_h, height)), want_h
    return width, height


def animated_defaults(kind: OutputKind, width: int, fps: Fraction, want_w: Optional[int],
                      want_h: Optional[int], scale: Optional[Fraction],
                      want_fps: Optional[Fraction]) -> tuple[Optional[int], Optional[Fraction]]:
    """(width, fps) an animated image gets when the user gave neither: at most 480 px, 15 fps."""
    if kind not in ("gif", "webp", "apng"):
        return want_w, want_fps
    if want_w is None and want_h is None and scale is None and width > ANIMATED_MAX_WIDTH:
        want_w = ANIMATED_MAX_WIDTH
    if want_fps is None and fps > ANIMATED_MAX_FPS:
        want_fps = ANIMATED_MAX_FPS
    return want_w, want_fps


def shape(video: Stream, size: Optional[tuple[int, int]], fps: Optional[Fraction],
          end_at: Optional[int] = None) -> Stream:
    """Scale to ``size`` and re-time to ``fps`` (each only when given).

    ``end_at``: the stream's frame count, when its end of stream may come after its last
    frame (freeze mode ends where the input ends, a frame's duration later): the end is
    moved to the last frame's time, which :func:`frames_at` counts to.
    """
    if size is not None:
        video = video.filter("scale", size[0], size[1])
    if fps is not None:
        if end_at is not None:  # setpts evaluates its expression at the end too (N = end_at)
            video = video.setpts(f"if(lt(N,{end_at}),PTS,PREV_INPTS)")
        video = video.filter("fps", fps=_rate(fps))
    return video


def frames_at(frames: int, fps: Fraction, new_fps: Optional[Fraction],
              last: Optional[Fraction] = None) -> int:
    """Frames the ``fps`` filter delivers from the motion graph's ``frames`` at ``fps``.

    ``last`` is when the last motion frame is shown, after the first (seconds; default
    ``(frames - 1)/fps``, a constant rate). The filter (ffmpeg's vf_fps, round=near) puts
    each frame at ``round(t * new_fps)`` on its own clock, halves away from zero, and emits
    one frame per tick from the first frame's tick on; the motion graph's end of stream comes
    no later than its last frame (blend's ``shortest`` in offset mode; ``end_at`` of
    :func:`shape` in freeze mode), so the last frame's tick ends the output:
    ``round(last * new_fps)`` frames, counted from the frames' real times (variable frame
    rate, animated GIF input) and 0 when they all fall on one tick.
    """
    if new_fps is None or frames < 1 or (last is None and new_fps == fps):
        return frames
    span = Fraction(frames - 1) / fps if last is None else last
    return int((span * new_fps + Fraction(1, 2)) // 1)


def gif_palette(video: Stream, dither: Optional[str] = None, stats: Optional[str] = None) -> Stream:
    """A palette made for this clip, used on it (one graph: split, palettegen, paletteuse)."""
    dither = dither or GIF_DITHER
    stats = stats or GIF_STATS
    tee = video.split()
    palette = tee[0].filter("palettegen", stats_mode=stats)
    use: dict[str, Any] = {}
    name, _, scale = dither.partition(":bayer_scale=")
    use["dither"] = name
    if scale:
        use["bayer_scale"] = int(scale)
    if stats == "single":
        use["new"] = 1
    return ffmpeg.filter([tee[1], palette], "paletteuse", **use)


def _rate(fps: Fraction) -> str:
    return str(fps.numerator) if fps.denominator == 1 else f"{fps.numerator}/{fps.denominator}"
