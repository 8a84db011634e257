"""Measurements behind the output defaults (README "Outputs"): VP9 speed/quality, GIF dithers.

    python scripts/measure_outputs.py vp9  [--seconds 2]   # 720p: deadline/cpu-used/tiles
    python scripts/measure_outputs.py gif                   # dither x stats_mode, 2 clips

Every number is against the EXACT motion output (FFV1, --lossless) shaped the same way
(the GIF: scaled and re-timed like the GIF), with ffmpeg's own psnr/ssim filters. Prints
markdown tables. Uses the ffmpeg ffmotion finds (bundled one unless --ffmpeg).
"""
from __future__ import annotations

import argparse
import re
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from ffmotion import graph
from ffmotion.run import runner


def sh(argv: list[str]) -> str:
    done = subprocess.run(argv, capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"failed: {' '.join(argv)}\n{done.stderr[-2000:]}")
    return done.stderr


def ffmotion(*args: str) -> None:
    subprocess.run([sys.executable, "-m", "ffmotion", "-q", "--overwrite", *args], check=True)


def quality(ffmpeg: str, test: Path, ref: Path, fmt: str) -> tuple[float, float]:
    """PSNR (dB, average over planes) and SSIM (all) of ``test`` against ``ref``, in ``fmt``."""
    err = sh([ffmpeg, "-hide_banner", "-nostdin", "-i", str(test), "-i", str(ref), "-lavfi",
              f"[0:v]format={fmt},settb=AVTB,setpts=N[a];[1:v]format={fmt},settb=AVTB,setpts=N[b];"
              "[a][b]psnr=eof_action=endall;"
              f"[0:v]format={fmt},settb=AVTB,setpts=N[c];[1:v]format={fmt},settb=AVTB,setpts=N[d];[c][d]ssim",
              "-f", "null", "-"])
    psnr = re.search(r"PSNR .* average:([\d.inf]+)", err)
    ssim = re.search(r"SSIM .* All:([\d.]+)", err)
    return float(psnr.group(1)), float(ssim.group(1))


def demo_clip(ffmpeg: str, dst: Path, seconds: float, size: tuple[int, int]) -> Path:
    argv = [ffmpeg, *graph.GLOBAL_ARGS, "-y",
            *graph.demo_source(dst, seconds=seconds, size=size).get_args()]
    sh(argv)
    return dst


def noisy_clip(ffmpeg: str, dst: Path, seconds: float, size: tuple[int, int]) -> Path:
    """Sky-like footage: slowly drifting colour gradients under strong sensor-like noise."""
    w, h = size
    sh([ffmpeg, "-hide_banner", "-nostdin", "-y", "-f", "lavfi", "-i",
        f"gradients=s={w}x{h}:r=30:speed=0.03:n=6,noise=alls=18:allf=t,format=yuv420p",
        "-t", str(seconds), "-c:v", "libx264", "-crf", "12", "-preset", "veryfast", str(dst)])
    return dst


def _children_cpu() -> float:
    """CPU seconds (user + system) of the finished child processes: steadier than wall time
    on a loaded machine."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def vp9(ffmpeg: str, folder: Path, seconds: float) -> None:
    src = demo_clip(ffmpeg, folder / "demo720.mp4", seconds, (1280, 720))
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
    print(f"\nVP9, 1280x720, {frames} frames of motion output (demo clip, K=6), CRF 32, "
          f"ffmpeg {runner.tools(ffmpeg).version}\n")
    print("| settings | fps (wall) | CPU ms/frame | size KiB | PSNR dB | SSIM |\n"
          "|---|---|---|---|---|---|")
    for name, extra in configs.items():
        out = folder / "vp9.webm"
        argv = [ffmpeg, "-hide_banner", "-nostdin", "-y", "-i", str(ref), "-c:v", "libvpx-vp9",
                "-crf", "32", "-b:v", "0", "-row-mt", "1", "-pix_fmt", "yuv420p", *extra,
                str(out)]
        started, cpu = time.monotonic(), _children_cpu()
        sh(argv)
        took, cpu = time.monotonic() - started, _children_cpu() - cpu
        psnr, ssim = quality(ffmpeg, out, ref, "yuv420p")
        print(f"| {name} | {frames / took:.1f} | {1000 * cpu / frames:.0f} | "
              f"{out.stat().st_size / 1024:.0f} | {psnr:.2f} | {ssim:.4f} |", flush=True)


def gif(ffmpeg: str, folder: Path, seconds: float) -> None:
    clips = {"demo (640x360, ffmotion demo)": demo_clip(ffmpeg, folder / "demo.mp4", seconds,
                                                       (640, 360)),
             "noisy (drifting gradients + noise)": noisy_clip(ffmpeg, folder / "noisy.mp4", seconds,
                                                          (640, 360))}
    dithers = ["bayer:bayer_scale=2", "bayer:bayer_scale=3", "bayer:bayer_scale=5",
               "sierra2_4a", "floyd_steinberg", "none"]
    stats = ["full", "diff", "single"]
    for title, src in clips.items():
        ref = folder / "gifref.mkv"
        # the exact motion picture, shaped like the GIF (480 wide, 15 fps)
        ffmotion(str(src), str(ref), "-k", "6", "--lossless", "--width", "480", "--fps", "15",
                 "--ffmpeg", ffmpeg, "--no-audio")
        print(f"\nGIF, {title}, K=6, 480 px wide, 15 fps, {seconds:g} s: quality against the "
              f"exact output at the same size (RGB)\n")
        print("| dither | stats_mode | size KiB | PSNR dB | SSIM |\n|---|---|---|---|---|")
        for stat in stats:
            for dither in dithers:
                out = folder / "out.gif"
                ffmotion(str(src), str(out), "-k", "6", "--ffmpeg", ffmpeg,
                         "--gif-dither", dither, "--gif-stats", stat)
                psnr, ssim = quality(ffmpeg, out, ref, "rgb24")
                print(f"| {dither} | {stat} | {out.stat().st_size / 1024:.0f} | {psnr:.2f} | "
                      f"{ssim:.4f} |", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("what", choices=["vp9", "gif"])
    parser.add_argument("--seconds", type=float, default=None)
    parser.add_argument("--ffmpeg")
    args = parser.parse_args()
    ffmpeg = runner.tools(args.ffmpeg).ffmpeg
    with tempfile.TemporaryDirectory() as tmp:
        if args.what == "vp9":
            vp9(ffmpeg, Path(tmp), args.seconds or 3.0)
        else:
            gif(ffmpeg, Path(tmp), args.seconds or 4.0)


if __name__ == "__main__":
    main()
