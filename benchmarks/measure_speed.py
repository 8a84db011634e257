"""``ffmotion measure`` beside a plain decode of the same file (``ffmpeg -i IN -f null -``):
MEA on 4 regions, MEA + descriptors on 4 regions, displacement on 4 regions of 64x64, run in
alternation on the bench clip (x264, moving objects, temporal noise); wall and CPU ratios to
the decode, and peak memory at two lengths (flat in the file's length?).

    python -m benchmarks.measure_speed [--size 720p] [--seconds 10,30] [--runs 3] [--quick]
"""
from __future__ import annotations

import argparse
import shlex
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any, Optional

from benchmarks.common import (
    ClipSpec,
    Contender,
    add_arguments,
    alternate,
    ensure_clip,
    paired_ratio,
    parse_ints,
    parse_size,
    publish,
    table,
    tools,
)


def quadrants(width: int, height: int) -> list[str]:
    """4 regions: the picture's quarters, each inset by 8 px."""
    w, h = width // 2 - 16, height // 2 - 16
    return [f"--roi=q{i}={x},{y},{w},{h}"
            for i, (x, y) in enumerate([(8, 8), (width // 2 + 8, 8), (8, height // 2 + 8),
                                        (width // 2 + 8, height // 2 + 8)])]


def squares(width: int, height: int) -> list[str]:
    """4 regions of 64x64 around the picture's middle (where the objects move)."""
    cx, cy = width // 2, height // 2
    return [f"--roi=s{i}={cx + dx},{cy + dy},64,64"
            for i, (dx, dy) in enumerate([(-200, -150), (100, -150), (-200, 80), (100, 80)])]


def ffmpeg_only(ffmotion: list[str], work: Path) -> list[str]:
    """The MEA pass's ffmpeg command alone (``--print-command``), its numbers to a file."""
    line = subprocess.run([*ffmotion, "--print-command"], capture_output=True, text=True,
                          check=True).stdout.strip()
    return [str(work / "mea.gray") if word == "mea.gray" else word
            for word in shlex.split(line)] + ["-y"]


def contenders(src: Path, size: tuple[int, int], frames: int, ffmpeg_bin: str,
               work: Path) -> list[Contender]:
    ffmotion = [sys.executable, "-m", "ffmotion", "measure", str(src), "-q", "-y",
                "--ffmpeg", ffmpeg_bin]
    return [
        Contender("mea4-ffmpeg", ffmpeg_only([*ffmotion, *quadrants(*size)], work), frames,
                  note="the MEA pass's ffmpeg alone (no Python)"),
        Contender("decode", [ffmpeg_bin, "-hide_banner", "-nostdin", "-v", "error", "-i",
                             str(src), "-f", "null", "-"], frames),
        Contender("mea4", [*ffmotion, *quadrants(*size), "--csv", str(work / "m.csv")],
                  frames),
        Contender("mea4+desc", [*ffmotion, *quadrants(*size), "--descriptors", "--csv",
                                str(work / "d.csv")], frames),
        Contender("disp4x64", [*ffmotion, *squares(*size), "--displacement", "--csv",
                               str(work / "p.csv")], frames),
    ]


def main(argv: Optional[list[str]] = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.measure_speed",
                                     description=__doc__.split("\n\n")[0])
    add_arguments(parser, "measure-speed", quick="a 360p 4 s clip, 2 rounds")
    parser.add_argument("--size", default="720p", help="720p, 1080p or WxH (default 720p)")
    parser.add_argument("--seconds", default="10,30",
                        help="clip lengths, comma-separated (default 10,30)")
    parser.add_argument("--runs", type=int, default=3, help="rounds (default 3)")
    args = parser.parse_args(argv)
    if args.quick:
        args.size, args.seconds, args.runs = "360p", "4", 2
    found = tools(args.ffmpeg)
    size = parse_size(args.size)
    results: dict[str, Any] = {"lengths": []}
    with tempfile.TemporaryDirectory() as folder:
        for seconds in parse_ints(args.seconds):
            spec = ClipSpec(size[0], size[1], seconds)
            src = ensure_clip(spec, args.cache, found.ffmpeg)
            made = contenders(src, size, spec.frames, found.ffmpeg, Path(folder))
            alternate(made, args.runs, spec.name, tag="measure")
            decode = next(c for c in made if c.name == "decode")
            results["lengths"].append({
                "clip": spec.name, "frames": spec.frames,
                "contenders": [c.summary() for c in made],
                "wall_ratio": {c.name: paired_ratio(c, decode) for c in made},
                "cpu_ratio": {c.name: paired_ratio(c, decode, "cpu") for c in made},
            })
    return publish(args, found, results, markdown)


def markdown(report: dict[str, Any]) -> str:
    machine = report["machine"]
    ffmpeg_version = machine.get("ffmpeg", "").split("(")[-1].rstrip(")")
    lines = ["# ffmotion measure beside a plain decode", "",
             f"{machine.get('cpu', '')}, {machine.get('cores', '')} cores, load at the start "
             f"{machine.get('loadavg_start', '')}, ffmpeg {ffmpeg_version}; the median of "
             f"{report['config']['runs']} alternating rounds; ratio = contender / decode, "
             "paired per round. mea4-ffmpeg: the MEA pass's ffmpeg command alone.", ""]
    rows = []
    for length in report["lengths"]:
        for c in length["contenders"]:
            rows.append([length["clip"], c["name"], c["wall_s"], c["cpu_s"], c["peak_mib"],
                         c["fps"], length["wall_ratio"].get(c["name"], 1.0),
                         length["cpu_ratio"].get(c["name"], 1.0)])
    lines.append(table(["clip", "contender", "wall s", "cpu s", "peak MiB", "frames/s",
                        "wall / decode", "cpu / decode"], rows))
    lines += ["", "Targets (issue 24): mea4+desc wall at most 1.3x the decode, disp4x64 at "
              "most 1.5x; peak memory flat in the length."]
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
