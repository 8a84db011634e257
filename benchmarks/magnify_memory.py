"""Peak RSS of ``ffmotion magnify`` against the clip's length at 1080p: a 6 s and a 60 s clip,
same graph (the issue: within 10 %).

    python -m benchmarks.magnify_memory                 # 1080p, 6 s vs 60 s, motion mode
    python -m benchmarks.magnify_memory --quick         # 360p, 2 s vs 6 s
"""
from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path
from typing import Any

from benchmarks import common
from benchmarks.magnify_speed import magnify_argv

BAND = "2-4"  # 39 taps at 30 fps


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    common.add_arguments(parser, "magnify-memory-1080p", quick="360p, 2 s vs 6 s")
    parser.add_argument("--flags", default="", help="extra magnify options (one string)")
    args = parser.parse_args(argv)
    found = common.tools(args.ffmpeg)
    width, height = (640, 360) if args.quick else (1920, 1080)
    lengths = (2, 6) if args.quick else (6, 60)
    results: dict[str, Any] = {"band": BAND, "flags": args.flags, "memory": []}
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "out.mp4"
        for seconds in lengths:
            spec = common.ClipSpec(width, height, seconds)
            clip = common.ensure_clip(spec, args.cache, found.ffmpeg)
            sample = common.measure(magnify_argv(clip, out, found.ffmpeg, "--preset",
                                                 "ultrafast", *args.flags.split(), band=BAND))
            results["memory"].append({"clip": spec.name, "wall_s": round(sample.wall, 1),
                                      "cpu_s": round(sample.cpu, 1),
                                      "rss_mib": round(sample.rss_mib, 1)})
            print(results["memory"][-1], file=sys.stderr, flush=True)
    first, last = results["memory"][0]["rss_mib"], results["memory"][-1]["rss_mib"]
    results["growth_percent"] = round(100 * (last - first) / first, 1)
    return common.publish(args, found, results, markdown)


def markdown(report: dict[str, Any]) -> str:
    rows = [[r["clip"], r["wall_s"], r["cpu_s"], r["rss_mib"]] for r in report["memory"]]
    flags = f" {report['flags']}" if report["flags"] else ""
    return "\n".join([f"# magnify peak RSS against the clip's length (band {report['band']} Hz, "
                      f"alpha 10{flags}, x264 ultrafast)", "",
                      common.table(["clip", "wall s", "CPU s", "peak RSS MiB"], rows), "",
                      f"growth: {report['growth_percent']:+.1f} %", ""])


if __name__ == "__main__":
    sys.exit(main())
