"""Hold every look's ffmpeg graph to the numpy reference over all input values.

For each ffmpeg build (the bundled one and the one on PATH, or those given with --ffmpeg) and
with SIMD on and off (``-cpuflags 0``), ffmotion's own command is run on:

* two-frame "pair" clips whose first frame holds every value down the rows and the second
  every value across the columns (256x256 at 8 bits, 1024x1024 at 10), in YUV 4:4:4, planar
  RGB and gray: offset 1 compares every value pair once per plane;
* short noisy test-pattern clips (8 and 10 bits) for what needs motion over time or space:
  blur, trails, rgb offsets, freeze;

and the lossless result is compared with :mod:`tests.reference` bit for bit. Each result is
printed as it comes and written as ``verify-looks.json`` and ``.md`` (``--out``, ``--name``).
The exit status is 1 if any look differs.

    python -m benchmarks.verify_looks --quick --out /tmp/ffmotion-quick   # no 10-bit pairs
    python -m benchmarks.verify_looks          # everything (a few minutes on 2 cores)
"""
from __future__ import annotations

import argparse
import functools
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Optional

import imageio_ffmpeg
import numpy as np

from benchmarks.common import add_arguments, publish, table
from ffmotion import api, graph
from ffmotion.core.errors import UsageError
from ffmotion.core.looks import Look
from ffmotion.core.pixfmt import plane_layout
from ffmotion.pipeline import controller
from ffmotion.run import runner
from tests import reference

PAIR_LOOKS = {
    "classic": Look(),
    "difference": Look(blend="difference"),
    "gain 2.5": Look.parse(gain="2.5"),
    "difference gain 3.125": Look.parse(blend="difference", gain="3.125"),
    "gain 0.5": Look.parse(gain="0.5"),
    "overlay 0.3": Look(overlay=0.3),
    "gain 3 overlay 0.7 gray": Look(gain=3, overlay=0.7, gray=True),
    "trail 0.9": Look(trail=0.9),
    "difference trail 0.9": Look(blend="difference", trail=0.9),
    "grainextract": Look(blend="grainextract"),
    "grainextract gain 2.5 trail 0.9": Look.parse(blend="grainextract", gain="2.5", trail=0.9),
    "difference threshold 5": Look(blend="difference", threshold=5),
    "threshold 7 trail 0.8": Look(threshold=7, trail=0.8),
    "grainextract threshold 3 overlay 0.4": Look(blend="grainextract", threshold=3, overlay=0.4),
    "glow 0.7 radius 0": Look(glow=0.7, glow_radius=0),
    "difference gain 2 glow 1 radius 0": Look(blend="difference", gain=2, glow=1.0, glow_radius=0),
    "soft threshold 5 width 9": Look(blend="difference", threshold=5, threshold_edge="soft",
                                     threshold_width=9),
    "threshold 7 on original": Look(threshold=7, threshold_on="original"),
    "soft threshold 3 width 11 on original": Look(blend="grainextract", threshold=3,
                                                  threshold_edge="soft", threshold_width=11,
                                                  threshold_on="original"),
    "glow screen 0.7 radius 0": Look(glow=0.7, glow_radius=0, glow_mode="screen"),
}
CLIP_LOOKS = {
    "blur 2": (Look(blur=2), {"offset": 2}),
    "blur 30 (clamped)": (Look(blur=30, gain=2), {"offset": 1}),
    "trail 0.85": (Look(trail=0.85), {"offset": 1}),
    "difference trail 0.95 gain 2": (Look(blend="difference", trail=0.95, gain=2), {"offset": 3}),
    "rgb 1,3,2": (Look.parse(rgb_offsets="1,3,2"), {}),
    "rgb 0x,1x,2x freeze 4": (Look.parse(rgb_offsets="0x,1x,2x", blend="difference"), {"freeze": 4}),
    "everything freeze 5": (Look.parse(blend="difference", gain="1.5", blur=1, trail=0.8, overlay=0.4,
                                 gray=True), {"freeze": 5}),
    "rgb everything": (Look.parse(rgb_offsets="2,1,3", gain=2, blur=1, trail=0.9, overlay=0.25), {}),
    "gray of rgb": (Look(gray=True, gain=2, trail=0.9), {"offset": 2}),
    "grainextract blur 1 freeze 3": (Look(blend="grainextract", blur=1), {"freeze": 3}),
    "glow 0.6 radius 3": (Look(glow=0.6, glow_radius=3), {"offset": 2}),
    "glow threshold trail": (Look(threshold=4, trail=0.8, glow=0.5, glow_radius=2), {"offset": 1}),
    "denoise hqdn3d": (Look(denoise="hqdn3d", gain=2), {"offset": 1}),
    "denoise atadenoise difference": (Look(denoise="atadenoise", blend="difference"), {"offset": 2}),
    "rgb grainextract threshold 4": (Look.parse(rgb_offsets="1,2,3", blend="grainextract", threshold=4), {}),
}


def builds(given: list[str]) -> list[str]:
    if given:
        return given
    found = [imageio_ffmpeg.get_ffmpeg_exe()]
    system = shutil.which("ffmpeg")
    if system and os.path.realpath(system) != os.path.realpath(found[0]):
        found.append(system)
    return found


def pair_clip(ffmpeg: str, folder: Path, pix_fmt: str) -> Path:
    n = plane_layout(pix_fmt, 2, 2).max_value + 1
    layout = plane_layout(pix_fmt, n, n)
    dtype = np.uint8 if layout.depth == 8 else np.uint16
    rows = np.repeat(np.arange(n, dtype=dtype), n).reshape(n, n)
    cols = np.ascontiguousarray(rows.T)
    frames = [(rows,) * len(layout.planes), (cols,) * len(layout.planes)]
    path = folder / f"pairs-{pix_fmt}.mkv"
    reference.write(iter(frames), ffmpeg, layout, "30", path, ["-c:v", "ffv1", "-pix_fmt", pix_fmt])
    return path


def noisy_clip(ffmpeg: str, folder: Path, pix_fmt: str) -> Path:
    path = folder / f"noise-{pix_fmt}.mkv"
    video = ("testsrc2=s=64x48:r=30:d=1.2,format=yuv444p,noise=alls=30:allf=t+u,"
             f"format={pix_fmt}")
    runner.run_ffmpeg([ffmpeg, "-hide_banner", "-nostdin", "-y", "-f", "lavfi", "-i", video,
                       "-c:v", "ffv1", str(path)])
    return path


@functools.lru_cache(maxsize=None)
def tools_for(ffmpeg: str) -> runner.Tools:
    return runner.tools(ffmpeg)


def check(ffmpeg: str, src: Path, look: Look, kwargs: dict, cpuflags: bool, dst: Path) -> str:
    """'ok', or what differs."""
    request = api.make_request(src, dst, look=look, lossless=True, overwrite=True, **kwargs)
    plan = controller.prepare(request, tools_for(ffmpeg))
    argv = graph.command(plan, ffmpeg, dst, overwrite=True)
    if not cpuflags:
        argv = [argv[0], "-cpuflags", "0", *argv[1:]]
    runner.run_ffmpeg(argv)
    info = plan.info
    layout = plane_layout(plan.working_pix_fmt, info.width, info.height)
    got = list(reference.read_frames(ffmpeg, dst, layout))
    want = list(reference.look_reference(ffmpeg, src, plan.k, plan.mode, plan.working_pix_fmt,
                                         info.width, info.height, look, plan.channel_ks))
    if len(got) != len(want):
        return f"{len(got)} frames, expected {len(want)}"
    for i, (g, w) in enumerate(zip(got, want)):
        for p, (gp, wp) in enumerate(zip(g, w)):
            if not np.array_equal(gp, wp):
                diff = np.abs(gp.astype(np.int64) - wp.astype(np.int64))
                return f"frame {i} plane {p}: {np.count_nonzero(diff)} differ, max {diff.max()}"
    return "ok"


def main(argv: Optional[list[str]] = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.verify_looks",
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("--ffmpeg", action="append", default=[],
                        help="ffmpeg binary (repeatable; default: the bundled one and PATH's)")
    add_arguments(parser, "verify-looks", ffmpeg_bin=False, cache=False,
                  quick="skip the 10-bit pair clips (the 8-bit pairs and the clips only)")
    parser.add_argument("--only", metavar="WORD", help="only the looks whose name has WORD")
    args = parser.parse_args(argv)
    failures = 0
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        maker = imageio_ffmpeg.get_ffmpeg_exe()
        pair_formats = ["yuv444p", "gbrp", "gray"]
        if not args.quick:
            pair_formats += ["yuv444p10le", "gbrp10le", "gray10le"]
        jobs = []
        for pix_fmt in pair_formats:
            src = pair_clip(maker, folder, pix_fmt)
            jobs += [(f"pairs {pix_fmt}", name, src, look, {"offset": 1})
                     for name, look in PAIR_LOOKS.items()]
        for pix_fmt in ("yuv420p", "yuv420p10le", "gbrp"):
            src = noisy_clip(maker, folder, pix_fmt)
            jobs += [(f"clip {pix_fmt}", name, src, look, kwargs)
                     for name, (look, kwargs) in CLIP_LOOKS.items()]
        if args.only:
            jobs = [job for job in jobs if args.only in job[1]]
        found = builds(args.ffmpeg)
        for ffmpeg in found:
            version = tools_for(ffmpeg).version
            for media, name, src, look, kwargs in jobs:
                for simd in (True, False):
                    started = time.monotonic()
                    try:
                        result = check(ffmpeg, src, look, kwargs, simd, folder / "out.mkv")
                    except UsageError as exc:  # a combination the product refuses
                        result = f"refused: {exc}"
                    except Exception as exc:  # report and go on: this is a survey
                        result = f"error: {exc}"
                    failures += result != "ok" and not result.startswith("refused")
                    took = time.monotonic() - started
                    rows.append({"ffmpeg": version, "simd": simd, "media": media, "look": name,
                                 "result": result, "seconds": round(took, 1)})
                    print(f"{version:>12}  {'simd' if simd else 'C   '}  {media:<18} "
                          f"{name:<30} {result}  ({took:.1f} s)", flush=True)
    print(f"{failures} failure(s)")
    text = f"{failures} failure(s) in {len(rows)} checks\n\n" + table(
        ["ffmpeg", "SIMD", "media", "look", "result"],
        [[r["ffmpeg"], r["simd"], r["media"], r["look"], r["result"]] for r in rows])
    publish(args, tools_for(found[0]), {"failures": failures, "rows": rows}, lambda _: text,
            show=False)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
