"""``ffmotion magnify`` against two open Eulerian video magnification implementations on the
same clips and settings: time, peak memory and the measured gain.

    python -m benchmarks.magnify_peers --peers-python /tmp/peers-venv/bin/python \\
        --pyevm /tmp/pyevm_EVM.py

The peers are NOT dependencies of ffmotion: install them in a scratch venv
(``python -m venv /tmp/peers-venv && /tmp/peers-venv/bin/pip install musicalgestures``, which
brings opencv and scipy) and fetch PyEVM's EVM.py (github.com/flyingzhao/PyEVM, a small
numpy/OpenCV implementation) anywhere; pass both paths.

- MGT-python (``musicalgestures``) ``eulerian(mode='motion')``: a streaming Laplacian pyramid
  with EVM's IIR (two first-order low-passes), its lambda attenuation (default 16 px, x2
  exaggeration), finest and coarsest levels left out. Its ``MgVideo`` needs ``ffprobe``, which
  this machine does not have (imageio-ffmpeg bundles ffmpeg only), so ``mg_eulerian`` is
  called on a stub holding the fields it reads (file name, size, fps, frame count); its own
  ffmpeg pipes run the bundled ffmpeg (put first on PATH as ``ffmpeg``).
- PyEVM ``magnify_motion``: the whole clip as a float64 array, a Laplacian pyramid of 3
  levels (its reconstruction is written for 3), a 5th-order Butterworth band-pass
  (``scipy.signal.lfilter``, causal), MJPG output.

Gain: the gain benchmark's edge (sigma 3 px, 96x64, 120 frames at 30 fps) moving 0.1 px at
3 Hz, band 2-4 Hz, alpha 10 (ideal 11); the edge's position is measured in each output
(mid-level crossing, the levels read from the output itself, so that a range conversion does
not bias it) and a sine fitted at 3 Hz (tests/magnify_reference.py).
"""
from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any, Optional

import numpy as np

from benchmarks import common
from benchmarks.magnify_speed import transcode_argv
from tests import magnify_reference as model

MGT = '''
import sys
import musicalgestures
from musicalgestures import _eulerian
class Stub:  # what mg_eulerian reads of an MgVideo (whose constructor runs ffprobe)
    def __init__(self, path, w, h, fps, n):
        self.filename, self.width, self.height = path, w, h
        self.fps, self.length, self.color = fps, n, True
musicalgestures.MgVideo = lambda *a, **k: None  # the MgVideo it returns: ffprobe again
src, dst, w, h, fps, n, lo, hi, alpha, levels = sys.argv[1:11]
_eulerian.mg_eulerian(Stub(src, int(w), int(h), float(fps), int(n)), mode="motion",
                      freq_low=float(lo), freq_high=float(hi), amplification=float(alpha),
                      levels=int(levels), target_name=dst)
'''
PYEVM = '''
import os, shutil, sys
evm_dir, src, dst, lo, hi, alpha = sys.argv[1:7]
sys.path.insert(0, evm_dir)
import EVM
os.chdir(os.path.dirname(dst))
EVM.magnify_motion(src, float(lo), float(hi), levels=3, amplification=float(alpha))
shutil.move("out.avi", dst)
'''
FPS = 30
GAIN_SIZE = (96, 64)


def ffmotion_argv(src: Path, dst: Path, ffmpeg: str, band: str, *flags: str) -> list[str]:
    return [sys.executable, "-m", "ffmotion", "magnify", str(src), str(dst), "--alpha", "10",
            "--band", band, "-y", "-q", "--ffmpeg", ffmpeg, *flags]


def contenders(src: Path, tmp: Path, ffmpeg: str, size: tuple[int, int], frames: int,
               band: str, peers_python: str, pyevm: Optional[Path],
               ours_out: str) -> list[tuple[str, list[str], Path]]:
    lo, hi = band.split("-")
    w, h = size
    found: list[tuple[str, list[str], Path]] = []
    for name, flags in (("ffmotion magnify (every level alpha)", ()),
                        ("ffmotion magnify --skip-finest --levels 4",
                         ("--skip-finest", "--levels", "4"))):
        dst = tmp / f"ours-{len(found)}{ours_out}"
        found.append((name, ffmotion_argv(src, dst, ffmpeg, band, *flags), dst))
    mgt = tmp / "mgt.mp4"
    found.append(("MGT-python eulerian(mode='motion', levels=4)",
                  [peers_python, "-c", MGT, str(src), str(mgt), str(w), str(h), str(FPS),
                   str(frames), lo, hi, "10", "4"], mgt))
    if pyevm is not None:
        out = tmp / "pyevm.avi"
        found.append(("PyEVM magnify_motion(levels=3)",
                      [peers_python, "-c", PYEVM, str(pyevm.parent), str(src), str(out), lo, hi,
                       "10"], out))
    return found


def edge_gain(ffmpeg: str, path: Path) -> float:
    out = decode_luma(ffmpeg, path, GAIN_SIZE)
    profile = out[len(out) // 2].astype(float).mean(axis=0)
    low, high = float(np.median(profile[:10])), float(np.median(profile[-10:]))
    positions = model.edge_positions(out, low, high)
    return model.sine_amplitude(positions, 3.0, FPS, 19) / 0.1


def decode_luma(ffmpeg: str, path: Path, size: tuple[int, int]) -> np.ndarray:
    done = subprocess.run([ffmpeg, "-v", "error", "-i", str(path), "-map", "0:v:0",
                           "-fps_mode", "passthrough", "-vf", "extractplanes=y", "-f", "rawvideo",
                           "-pix_fmt", "gray", "-"], capture_output=True, check=True)
    return np.frombuffer(done.stdout, np.uint8).reshape(-1, size[1], size[0])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    common.add_arguments(parser, "magnify-peers")
    parser.add_argument("--peers-python", required=True,
                        help="python of a scratch venv with musicalgestures installed")
    parser.add_argument("--pyevm", type=Path, help="PyEVM's EVM.py (leave out to skip it)")
    parser.add_argument("--sizes", default="360p,720p", help="speed clips (6 s each)")
    parser.add_argument("--memory-cap-gib", type=float, default=8.0,
                        help="address-space cap of each peer run (PyEVM holds the clip in "
                             "float64: a shared machine)")
    args = parser.parse_args(argv)
    found = common.tools(args.ffmpeg)
    ffmpeg = found.ffmpeg
    results: dict[str, Any] = {"speed": [], "gain": []}
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        bin_dir = tmp / "bin"
        bin_dir.mkdir()
        os.symlink(ffmpeg, bin_dir / "ffmpeg")
        env = {**os.environ, "PATH": f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}"}
        cap = int(args.memory_cap_gib * 2**30)
        prlimit = shutil.which("prlimit")

        def capped(command: list[str]) -> list[str]:
            return [prlimit, f"--as={cap}", *command] if prlimit and command[0] != \
                sys.executable else command

        # gain: the edge clip, as x264 lossless (every peer reads it)
        frames = model.edge_clip(120, FPS, 3.0, 0.1, GAIN_SIZE)
        y4m = tmp / "edge.y4m"
        model.write_y4m_gray(str(y4m), frames, FPS)
        edge = tmp / "edge.mp4"
        common.run([ffmpeg, "-v", "error", "-y", "-i", str(y4m), "-c:v", "libx264", "-qp", "0",
                    "-pix_fmt", "yuv420p", str(edge)])
        results["gain"].append({"contender": "input (edge 0.1 px at 3 Hz)",
                                "gain": round(edge_gain(ffmpeg, edge), 2), "error": ""})
        for name, command, out in contenders(edge, tmp, ffmpeg, GAIN_SIZE, 120, "2-4",
                                             args.peers_python, args.pyevm, ".mkv"):
            row: dict[str, Any] = {"contender": name, "gain": None, "error": ""}
            try:
                common.measure(capped(command), env=env)
                row["gain"] = round(edge_gain(ffmpeg, out), 2)
            except (RuntimeError, ValueError, subprocess.CalledProcessError) as exc:
                row["error"] = str(exc).strip().splitlines()[-1][:200]
            results["gain"].append(row)
            print(row, file=sys.stderr, flush=True)
        for size_name in args.sizes.split(","):
            width, height = common.SIZES[size_name]
            spec = common.ClipSpec(width, height, 6)
            clip = common.ensure_clip(spec, args.cache, ffmpeg)
            plain = tmp / "plain.mp4"
            todo = [("plain transcode (same encoder)", transcode_argv(clip, plain, ffmpeg),
                     plain)]
            todo += contenders(clip, tmp, ffmpeg, (width, height), spec.frames, "0.5-3",
                               args.peers_python, args.pyevm, ".mp4")
            for name, command, _out in todo:
                row = {"clip": spec.name, "contender": name, "error": ""}
                try:
                    sample = common.measure(capped(command), env=env)
                    row.update(wall_s=round(sample.wall, 1), cpu_s=round(sample.cpu, 1),
                               rss_mib=round(sample.rss_mib, 1))
                except RuntimeError as exc:
                    row["error"] = str(exc).strip().splitlines()[-1][:200]
                results["speed"].append(row)
                print(row, file=sys.stderr, flush=True)
    return common.publish(args, found, results, markdown)


def markdown(report: dict[str, Any]) -> str:
    gain = [[r["contender"], r["gain"] if r["gain"] is not None else "-", r["error"]]
            for r in report["gain"]]
    speed = []
    for r in report["speed"]:
        base = next(b for b in report["speed"] if b["clip"] == r["clip"])
        ratio = (f"{r['wall_s'] / base['wall_s']:.1f}" if "wall_s" in r and "wall_s" in base
                 else "-")
        speed.append([r["clip"], r["contender"], r.get("wall_s", "-"), ratio,
                      r.get("cpu_s", "-"), r.get("rss_mib", "-"), r["error"]])
    return "\n".join([
        "# magnify against open EVM implementations", "",
        "## gain (edge sigma 3 px moving 0.1 px at 3 Hz, band 2-4 Hz, alpha 10: ideal 11)", "",
        common.table(["contender", "measured gain", "error"], gain), "",
        "## speed and memory (6 s clips at 30 fps, band 0.5-3 Hz, alpha 10)", "",
        common.table(["clip", "contender", "wall s", "x transcode", "CPU s", "peak RSS MiB",
                      "error"], speed), ""])


if __name__ == "__main__":
    sys.exit(main())
