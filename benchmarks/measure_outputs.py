"""Measurements behind the output defaults (docs/decisions.md): VP9 speed/quality, GIF dithers.

    python -m benchmarks.measure_outputs vp9 --quick --out /tmp/ffmotion-quick   # 320x180, 1 s
    python -m benchmarks.measure_outputs gif --quick --out /tmp/ffmotion-quick   # 1 s, demo
    python -m benchmarks.measure_outputs vp9  [--seconds 2]   # 720p: deadline/cpu-used/tiles
    python -m benchmarks.measure_outputs gif                   # dither x stats_mode, 2 clips

Every number is against the EXACT motion output (FFV1, --lossless) shaped the same way
(the GIF: scaled and re-timed like the GIF), with ffmpeg's own psnr/ssim filters. Prints
markdown tables and writes them with the rows (``measure-outputs-vp9`` or
``measure-outputs-gif``, .json and .md). Uses the ffmpeg ffmotion finds (bundled one unless
--ffmpeg).
"""
from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any, Optional

from benchmarks.common import add_arguments, measure, publish, quality, run, table
from benchmarks.common import tools as find_tools
from ffmotion import graph


def ffmotion(*args: str) -> None:
    subprocess.run([sys.executable, "-m", "ffmotion", "-q", "--overwrite", *args], check=True)


def demo_clip(ffmpeg: str, dst: Path, seconds: float, size: tuple[int, int]) -> Path:
    run([ffmpeg, *graph.GLOBAL_ARGS, "-y",
         *graph.demo_source(dst, seconds=seconds, size=size).get_args()])
    return dst


def noisy_clip(ffmpeg: str, dst: Path, seconds: float, size: tuple[int, int]) -> Path:
    """Sky-like footage: slowly drifting colour gradients under strong sensor-like noise."""
    w, h = size
    run([ffmpeg, "-hide_banner", "-nostdin", "-y", "-f", "lavfi", "-i",
         f"gradients=s={w}x{h}:r=30:speed=0.03:n=6,noise=alls=18:allf=t,format=yuv420p",
         "-t", str(seconds), "-c:v", "libx264", "-crf", "12", "-preset", "veryfast", str(dst)])
    return dst


def vp9(ffmpeg: str, folder: Path, seconds: float,
        size: tuple[int, int] = (1280, 720)) -> tuple[list[dict[str, Any]], str]:
    """VP9 settings on the motion output: speed, CPU, size and quality (rows, markdown)."""
    src = demo_clip(ffmpeg, folder / "demo.mp4", seconds, size)
    ref = folder / "ref.mkv"
    ffmotion(str(src), str(ref), "-k", "6", "--lossless", "--ffmpeg", ffmpeg)
    frames = round(seconds * 30) - 6
    configs = {
        "ffmotion before: no -deadline/-cpu-used": [],
        "good, cpu-used 1": ["-deadline", "good", "-cpu-used", "1"],
        "good, cpu-used 2": ["-deadline", "good", "-cpu-used", "2"],
        "good, cpu-used 3": ["-deadline", "good", "-cpu-used", "3"],
        "good, cpu-used 4": ["-deadline", "good", "-cpu-used", "4"],
        "good, cpu-used 5": ["-deadline", "good", "-cpu-used", "5"],
        "realtime, cpu-used 5": ["-deadline", "realtime", "-cpu-used", "5"],
        "realtime, cpu-used 7": ["-deadline", "realtime", "-cpu-used", "7"],
        "realtime, cpu-used 8": ["-deadline", "realtime", "-cpu-used", "8"],
        "good, cpu-used 4, no row-mt": ["-deadline", "good", "-cpu-used", "4", "-row-mt", "0"],
        "good, cpu-used 4, tile-columns 0": ["-deadline", "good", "-cpu-used", "4",
                                             "-tile-columns", "0"],
    }
    rows = []
    for name, extra in configs.items():
        out = folder / "vp9.webm"
        argv = [ffmpeg, "-hide_banner", "-nostdin", "-y", "-i", str(ref), "-c:v", "libvpx-vp9",
                "-crf", "32", "-b:v", "0", "-row-mt", "1", "-pix_fmt", "yuv420p", *extra,
                str(out)]
        took = measure(argv)  # CPU: user + system, steadier than wall time on a loaded machine
        psnr, ssim = quality(ffmpeg, out, ref, "yuv420p")
        rows.append({"settings": name, "fps": round(frames / took.wall, 1),
                     "cpu_ms_per_frame": round(1000 * took.cpu / frames),
                     "kib": round(out.stat().st_size / 1024), "psnr_db": round(psnr, 2),
                     "ssim": round(ssim, 4)})
        print(f"measure-outputs: vp9 {rows[-1]}", file=sys.stderr, flush=True)
    text = (f"VP9, {size[0]}x{size[1]}, {frames} frames of motion output (demo clip, K=6), "
            f"CRF 32\n\n" + table(["settings", "fps (wall)", "CPU ms/frame", "size KiB",
                                    "PSNR dB", "SSIM"],
                                   [list(r.values()) for r in rows]))
    return rows, text


def gif(ffmpeg: str, folder: Path, seconds: float,
        noisy: bool = True) -> tuple[list[dict[str, Any]], str]:
    """GIF dither and palette statistics against the exact output (rows, markdown), on the
    demo clip and (``noisy``) sky-like footage."""
    clips = {"demo (640x360, ffmotion demo)": demo_clip(ffmpeg, folder / "demo.mp4", seconds,
                                                       (640, 360))}
    if noisy:
        clips["noisy (drifting gradients + noise)"] = noisy_clip(ffmpeg, folder / "noisy.mp4",
                                                                 seconds, (640, 360))
    dithers = ["bayer:bayer_scale=2", "bayer:bayer_scale=3", "bayer:bayer_scale=5",
               "sierra2_4a", "floyd_steinberg", "none"]
    stats = ["full", "diff", "single"]
    rows: list[dict[str, Any]] = []
    texts = []
    for title, src in clips.items():
        ref = folder / "gifref.mkv"
        # the exact motion picture, shaped like the GIF (480 wide, 15 fps)
        ffmotion(str(src), str(ref), "-k", "6", "--lossless", "--width", "480", "--fps", "15",
                 "--ffmpeg", ffmpeg, "--no-audio")
        found = []
        for stat in stats:
            for dither in dithers:
                out = folder / "out.gif"
                ffmotion(str(src), str(out), "-k", "6", "--ffmpeg", ffmpeg,
                         "--gif-dither", dither, "--gif-stats", stat)
                psnr, ssim = quality(ffmpeg, out, ref, "rgb24")
                found.append({"clip": title, "dither": dither, "stats_mode": stat,
                              "kib": round(out.stat().st_size / 1024), "psnr_db": round(psnr, 2),
                              "ssim": round(ssim, 4)})
                print(f"measure-outputs: gif {found[-1]}", file=sys.stderr, flush=True)
        rows += found
        texts.append(f"GIF, {title}, K=6, 480 px wide, 15 fps, {seconds:g} s: quality against "
                     f"the exact output at the same size (RGB)\n\n"
                     + table(["dither", "stats_mode", "size KiB", "PSNR dB", "SSIM"],
                             [[r["dither"], r["stats_mode"], r["kib"], r["psnr_db"], r["ssim"]]
                              for r in found]))
    return rows, "\n\n".join(texts)


def main(argv: Optional[list[str]] = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.measure_outputs",
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("what", choices=["vp9", "gif"])
    parser.add_argument("--seconds", type=float, default=None,
                        help="clip length (default vp9 3, gif 4; quick 1)")
    add_arguments(parser, "", cache=False,
                  quick="1 s clips; VP9 at 320x180 instead of 1280x720; GIF on the demo "
                        "clip only")
    args = parser.parse_args(argv)
    args.name = args.name or f"measure-outputs-{args.what}"
    tools = find_tools(args.ffmpeg)
    seconds = args.seconds or (1.0 if args.quick else 3.0 if args.what == "vp9" else 4.0)
    with tempfile.TemporaryDirectory() as tmp:
        if args.what == "vp9":
            rows, text = vp9(tools.ffmpeg, Path(tmp), seconds,
                             (320, 180) if args.quick else (1280, 720))
        else:
            rows, text = gif(tools.ffmpeg, Path(tmp), seconds, noisy=not args.quick)
    return publish(args, tools, {"rows": rows}, lambda _: f"ffmpeg {tools.version}\n\n{text}")


if __name__ == "__main__":
    sys.exit(main())
