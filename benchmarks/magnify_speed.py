"""Speed and memory of ``ffmotion magnify``: side by side with a plain transcode of the same
clip with the same encoder settings (magnify's own printed command with its filter graph
replaced by a format conversion), and peak RSS against the clip's length.

    python -m benchmarks.magnify_speed            # 720p 10 s; 720p 6 s vs 60 s (~10 min)
    python -m benchmarks.magnify_speed --quick    # 360p 8 s; no length comparison
"""
from __future__ import annotations

import argparse
import shlex
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from benchmarks import common

BAND = "0.5-3"  # 151 taps at 30 fps
MEMORY_BAND = "2-4"  # 39 taps: the length comparison runs 60 s of 720p
VARIANTS: dict[str, list[str]] = {
    "magnify motion (every level alpha)": [],
    "magnify motion, 4 levels, lambda-cutoff 16": ["--levels", "4", "--lambda-cutoff", "16"],
    "magnify motion, 4 levels, --skip-finest (band-pass at 1/2 size)":
        ["--levels", "4", "--skip-finest"],
    "magnify motion, 4 levels, lambda-cutoff 100 (levels 0-1 silent: 1/4 size)":
        ["--levels", "4", "--lambda-cutoff", "100"],
    "magnify color, 4 levels": ["--mode", "color", "--levels", "4"],
}
FAST = {  # --fast: the variants whose band-pass runs on a pyramid, and filter threads
    "magnify motion, 4 levels, --skip-finest (band-pass at 1/2 size)":
        ["--levels", "4", "--skip-finest"],
    "magnify motion, 4 levels, --skip-finest, --threads 1": ["--levels", "4", "--skip-finest",
                                                             "--threads", "1"],
    "magnify motion, 4 levels, lambda-cutoff 100 (levels 0-1 silent: 1/4 size)":
        ["--levels", "4", "--lambda-cutoff", "100"],
    "magnify color, 4 levels": ["--mode", "color", "--levels", "4"],
}


def magnify_argv(src: Path, dst: Path, ffmpeg: str, *flags: str, band: str = BAND) -> list[str]:
    return [sys.executable, "-m", "ffmotion", "magnify", str(src), str(dst), "--alpha", "10",
            "--band", band, "-y", "-q", "--ffmpeg", ffmpeg, *flags]


def transcode_argv(src: Path, dst: Path, ffmpeg: str) -> list[str]:
    """magnify's printed command with the graph replaced by ``format=yuv420p``: the same
    decoder, encoder and options."""
    printed = subprocess.run(magnify_argv(src, dst, ffmpeg, "--print-command"),
                             capture_output=True, text=True, check=True).stdout
    argv = shlex.split(printed)
    at = argv.index("-filter_complex")
    argv[at + 1] = "[0:v:0]format=yuv420p[plain]"
    video_map = next(i for i, a in enumerate(argv) if a == "-map" and argv[i + 1].startswith("["))
    argv[video_map + 1] = "[plain]"
    return argv


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    common.add_arguments(parser, "magnify-speed", quick="360p 8 s, no length comparison")
    parser.add_argument("--runs", type=int, default=2, help="runs of each contender (best kept)")
    parser.add_argument("--fast", action="store_true",
                        help="720p 6 s, the pyramid variants only (and the full-size motion "
                             "mode once), no length comparison")
    parser.add_argument("--only", action="append", default=[], metavar="TEXT",
                        help="run only the variants whose name holds TEXT (repeatable)")
    args = parser.parse_args(argv)
    found = common.tools(args.ffmpeg)
    ffmpeg = found.ffmpeg
    speed_clip = common.ClipSpec(640, 360, 8) if args.quick else common.ClipSpec(1280, 720, 10)
    variants = VARIANTS
    if args.fast:
        speed_clip = common.ClipSpec(1280, 720, 6)
        variants = {**FAST, "magnify motion (every level alpha)": []}
    if args.only:
        variants = {k: v for k, v in variants.items() if any(t in k for t in args.only)}
    results: dict[str, Any] = {"band": BAND, "speed": [], "memory": []}
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "out.mp4"
        clip = common.ensure_clip(speed_clip, args.cache, ffmpeg)
        contenders = [("plain transcode (same encoder)", transcode_argv(clip, out, ffmpeg))]
        contenders += [(name, magnify_argv(clip, out, ffmpeg, *flags))
                       for name, flags in variants.items()]
        plain = contenders[0][1]
        for index, (name, command) in enumerate(contenders):
            samples, ratios = [], []
            for _ in range(args.runs):  # paired: a transcode right before each run
                base = common.measure(plain) if index else None
                samples.append(common.measure(command))
                if base is not None:
                    ratios.append(samples[-1].wall / base.wall)
            best = min(samples, key=lambda s: s.wall)
            results["speed"].append({"clip": speed_clip.name, "contender": name,
                                     "wall_s": round(best.wall, 2), "cpu_s": round(best.cpu, 2),
                                     "rss_mib": round(max(s.rss_mib for s in samples), 1),
                                     "paired_ratio": round(min(ratios), 2) if ratios else 1.0})
            print(results["speed"][-1], file=sys.stderr, flush=True)
        if not args.quick and not args.fast:
            for seconds in (6, 60):
                spec = common.ClipSpec(1280, 720, seconds)
                long_clip = common.ensure_clip(spec, args.cache, ffmpeg)
                sample = common.measure(magnify_argv(long_clip, out, ffmpeg, "--preset",
                                                     "ultrafast", band=MEMORY_BAND))
                results["memory"].append({"clip": spec.name, "wall_s": round(sample.wall, 1),
                                          "rss_mib": round(sample.rss_mib, 1)})
                print(results["memory"][-1], file=sys.stderr)
    return common.publish(args, found, results, markdown)

def markdown(report: dict[str, Any]) -> str:
    speed = report["speed"]
    base = speed[0]["wall_s"]
    lines = [f"# magnify speed and memory (band {report['band']} Hz, alpha 10)", "",
             common.table(["clip", "contender", "wall s", "x transcode", "x paired transcode",
                           "CPU s", "peak RSS MiB"],
                          [[r["clip"], r["contender"], r["wall_s"],
                            f"{r['wall_s'] / base:.2f}", r.get("paired_ratio", ""), r["cpu_s"],
                            r["rss_mib"]]
                           for r in speed]), ""]
    if report["memory"]:
        lines += [f"## peak RSS against the clip's length (720p, band {MEMORY_BAND} Hz, x264 "
                  "ultrafast)", "",
                  common.table(["clip", "wall s", "peak RSS MiB"],
                               [[r["clip"], r["wall_s"], r["rss_mib"]]
                                for r in report["memory"]]), ""]
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
