"""``ffmotion measure`` beside a plain decode of the same file (``ffmpeg -i IN -f null -``):
MEA on 4 regions, MEA + descriptors on 4 regions, displacement on 4 regions of 64x64, run in
alternation; wall and CPU ratios to the decode, and peak memory at two lengths (flat in the
file's length?). Clips: the bench clip (x264, a static scene with moving objects and
temporal noise: cheap to decode) at each ``--seconds``, and camera-like footage whose decode
costs more: ``vtest`` (Debian opencv-doc's vtest.avi, people walking, scaled to the size,
x264 CRF 20; skipped where absent) and ``noise`` (testsrc2 with strong temporal noise, x264
CRF 20, 10 s). ``floor``: the cheapest graph that still computes Altmann's counts (decode,
gray, the thresholded difference, the 5x5 majority; no region sums), ffmpeg alone.
``--baseline DIR`` runs another ffmotion package too (e.g. ``git archive main ffmotion |
tar -x -C DIR``), its contenders suffixed ``@base``, in the same rounds.

    python -m benchmarks.measure_speed [--size 720p] [--seconds 10,30] [--clips ...]
                                       [--runs 3] [--baseline DIR] [--quick]
"""
from __future__ import annotations

import argparse
import compileall
import os
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


def floor(src: Path, size: tuple[int, int], ffmpeg_bin: str, fps: int) -> list[str]:
    """The cheapest graph computing Altmann's exact changed pixels over the 4 quadrants'
    union (TV-range luma stretched, |g(t+1) - g(t)| > 15, the 5x5 majority): no region
    sums, nothing read back."""
    w, h = size
    stretch = "clip(floor((val-16)*255/219+0.5)\\,0\\,255)"
    graph = (f"[0:v:0]crop={w - 12}:{h - 12}:6:6:exact=1,extractplanes=y,lut=c0={stretch},"
             f"settb=1/{fps},setpts=N,split=2[a][b];[b]trim=start_frame=1,"
             "setpts=PTS-STARTPTS[c];[a][c]blend=all_mode=difference:shortest=1,"
             "lut=c0=255*gt(val\\,15),avgblur=sizeX=2:sizeY=2,"
             f"crop={w - 16}:{h - 16}:2:2,lut=c0=gt(val\\,127)[o]")
    return [ffmpeg_bin, "-hide_banner", "-nostdin", "-v", "error", "-filter_complex_threads",
            "1", "-i", str(src), "-filter_complex", graph, "-map", "[o]", "-f", "null", "-"]


def contenders(src: Path, size: tuple[int, int], frames: int, ffmpeg_bin: str,
               work: Path, fps: int, baseline: Optional[Path] = None) -> list[Contender]:
    made = [
        Contender("decode", [ffmpeg_bin, "-hide_banner", "-nostdin", "-v", "error", "-i",
                             str(src), "-f", "null", "-"], frames),
        Contender("floor", floor(src, size, ffmpeg_bin, fps), frames,
                  note="decode + Altmann's exact changed pixels, no region sums"),
    ]
    packages: list[tuple[str, list[str]]] = [("", [])]
    if baseline is not None:
        packages.append(("@base", ["env", f"PYTHONPATH={baseline}"]))
    for suffix, prefix in packages:
        ffmotion = [*prefix, sys.executable, "-m", "ffmotion", "measure", str(src), "-q", "-y",
                    "--ffmpeg", ffmpeg_bin]
        made += [
            Contender(f"mea4-ffmpeg{suffix}", ffmpeg_only([*ffmotion, *quadrants(*size)], work),
                      frames, note="the MEA pass's ffmpeg alone (no Python)"),
            Contender(f"mea4{suffix}", [*ffmotion, *quadrants(*size), "--csv",
                                        str(work / "m.csv")], frames),
            Contender(f"mea4+desc{suffix}", [*ffmotion, *quadrants(*size), "--descriptors",
                                             "--csv", str(work / "d.csv")], frames),
            Contender(f"disp4x64{suffix}", [*ffmotion, *squares(*size), "--displacement",
                                            "--csv", str(work / "p.csv")], frames),
        ]
    return made


VTEST = Path("/usr/share/doc/opencv-doc/examples/data/vtest.avi")


def camera_clip(kind: str, size: tuple[int, int], cache: Path,
                ffmpeg_bin: str) -> Optional[tuple[str, Path, int, int]]:
    """(name, path, frames, fps) of a camera-like clip made once in ``cache``: ``vtest``
    (None where opencv-doc is absent) or ``noise``."""
    w, h = size
    name = f"{kind}-{h}p"
    path = cache / f"measure-{name}.mp4"
    x264 = ["-c:v", "libx264", "-preset", "veryfast", "-crf", "20", "-pix_fmt", "yuv420p"]
    if kind == "vtest":
        if not VTEST.exists():
            print(f"bench: {VTEST} absent (apt install opencv-doc): no vtest clip",
                  file=sys.stderr)
            return None
        made = ["-i", str(VTEST), "-vf", f"scale={w}:{h}", *x264]
        frames, fps = 795, 10
    else:
        made = ["-f", "lavfi", "-i", f"testsrc2=s={w}x{h}:r=30:d=10", "-vf",
                "noise=alls=12:allf=t", *x264]
        frames, fps = 300, 30
    if not path.exists():
        cache.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp.mp4")
        print(f"bench: generating {path.name} ...", file=sys.stderr, flush=True)
        subprocess.run([ffmpeg_bin, "-hide_banner", "-nostdin", "-v", "error", *made, "-y",
                        str(tmp)], check=True)
        tmp.replace(path)
    return name, path, frames, fps


def main(argv: Optional[list[str]] = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.measure_speed",
                                     description=__doc__.split("\n\n")[0])
    add_arguments(parser, "measure-speed", quick="a 360p 4 s clip, 2 rounds")
    parser.add_argument("--size", default="720p", help="720p, 1080p or WxH (default 720p)")
    parser.add_argument("--seconds", default="10,30",
                        help="clip lengths, comma-separated (default 10,30)")
    parser.add_argument("--clips", default="vtest,noise",
                        help="camera-like clips besides the bench clip: vtest, noise "
                             "(comma-separated; default vtest,noise; '' for none)")
    parser.add_argument("--runs", type=int, default=3, help="rounds (default 3)")
    parser.add_argument("--baseline", type=Path,
                        help="another ffmotion package's parent folder, run beside (@base)")
    args = parser.parse_args(argv)
    if args.quick:
        args.size, args.seconds, args.runs, args.clips = "360p", "4", 2, ""
    found = tools(args.ffmpeg)
    size = parse_size(args.size)
    # start-up as an installed package has it: its modules compiled (PYTHONDONTWRITEBYTECODE
    # would otherwise have every run compile ffmotion again, ~0.13 s)
    for package in [Path(__file__).resolve().parents[1] / "ffmotion",
                    *([args.baseline / "ffmotion"] if args.baseline else [])]:
        compileall.compile_dir(str(package), quiet=1)
    clips: list[tuple[str, Path, int, int]] = []
    for seconds in parse_ints(args.seconds):
        spec = ClipSpec(size[0], size[1], seconds)
        clips.append((spec.name, ensure_clip(spec, args.cache, found.ffmpeg), spec.frames,
                      spec.fps))
    for kind in [k for k in args.clips.split(",") if k]:
        camera = camera_clip(kind, size, args.cache, found.ffmpeg)
        if camera is not None:
            clips.append(camera)
    results: dict[str, Any] = {"lengths": [], "cpus": os.cpu_count()}
    with tempfile.TemporaryDirectory() as folder:
        for name, src, frames, fps in clips:
            made = contenders(src, size, frames, found.ffmpeg, Path(folder), fps,
                              args.baseline)
            alternate(made, args.runs, name, tag="measure")
            decode = next(c for c in made if c.name == "decode")
            results["lengths"].append({
                "clip": name, "frames": frames,
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
             "paired per round. mea4-ffmpeg: the MEA pass's ffmpeg command alone; floor: "
             "decode + Altmann's exact changed pixels (no region sums), ffmpeg alone; @base: "
             "the baseline package (before).", ""]
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
