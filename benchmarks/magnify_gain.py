"""The measured gain of ``ffmotion magnify``: alpha x A0 x f0 on synthetic clips, and the
temporal band-pass kinds side by side.

Clips (``tests/magnify_reference.py``, rendered analytically, dithered to 8 bits, written as
raw .y4m): a vertical edge (Gaussian blur sigma 3 px, 60 -> 190) and a Gaussian blob (sigma
4 px) oscillating at f0 with amplitude A0 px. Each is magnified (band 2-4 Hz, lossless FFV1)
and the motion is measured in the output (edge: the mid-level crossing; blob: a Gaussian fit
of the column sums), then a sine fit at f0 (the first and last D frames, where the filter sees
the clip's ends repeated, left out). Reported: the output amplitude / A0 (ideal: 1 + alpha in
band; 1 out of band: f0 = 3 x the top, or a third of the bottom).

    python -m benchmarks.magnify_gain            # the full table (~3 min on 2 cores)
    python -m benchmarks.magnify_gain --quick    # one alpha, two amplitudes
"""
from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from benchmarks import common
from tests import magnify_reference as model

FPS = 30
FRAMES = 150
BAND = (2.0, 4.0)
IN_BAND = 3.0
ABOVE = 3 * BAND[1]  # 12 Hz
BELOW = BAND[0] / 3  # 0.667 Hz
SIZE = (96, 64)


def measure(ffmotion: list[str], ffmpeg: str, folder: Path, shape: str, alpha: float,
            amplitude: float, f0: float, kind: str = "fir") -> dict[str, Any]:
    render = model.edge_clip if shape == "edge" else model.blob_clip
    position = model.edge_positions if shape == "edge" else model.blob_positions
    frames = render(FRAMES, FPS, f0, amplitude, SIZE)
    src, dst = folder / "in.y4m", folder / "out.mkv"
    model.write_y4m_gray(str(src), frames, FPS)
    subprocess.run([*ffmotion, "magnify", str(src), str(dst), "--alpha", str(alpha), "--band",
                    f"{BAND[0]:g}-{BAND[1]:g}", "--filter", kind, "--lossless", "-y", "-q",
                    "--ffmpeg", ffmpeg], check=True)
    out = model.decode_gray(ffmpeg, str(dst), SIZE)
    skip = model.fir(*BAND, FPS)[1]
    measured_in = model.sine_amplitude(position(frames), f0, FPS, skip)
    measured_out = model.sine_amplitude(position(out), f0, FPS, skip)
    return {"shape": shape, "alpha": alpha, "a0": amplitude, "f0": round(f0, 3), "kind": kind,
            "in_px": round(measured_in, 4), "out_px": round(measured_out, 4),
            "gain": round(measured_out / amplitude, 3)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    common.add_arguments(parser, "magnify-gain", quick="alpha 10 only, A0 0.1 and 0.2",
                         cache=False)
    args = parser.parse_args(argv)
    found = common.tools(args.ffmpeg)
    ffmotion = [sys.executable, "-m", "ffmotion"]
    alphas = [10.0] if args.quick else [5.0, 10.0, 20.0]
    amplitudes = [0.1, 0.2] if args.quick else [0.05, 0.1, 0.2, 0.5]
    rows, kinds = [], []
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        for shape in ("edge", "blob"):
            for alpha in alphas:
                for amplitude in amplitudes:
                    for f0 in (IN_BAND, ABOVE, BELOW):
                        rows.append(measure(ffmotion, found.ffmpeg, folder, shape, alpha,
                                            amplitude, f0))
                        print(rows[-1], file=sys.stderr)
        for kind in ("fir", "iir", "doma"):
            for f0 in (BAND[0] + 0.25, IN_BAND, BAND[1] - 0.25, ABOVE, BELOW):
                kinds.append(measure(ffmotion, found.ffmpeg, folder, "edge", 10.0, 0.1, f0,
                                     kind))
                print(kinds[-1], file=sys.stderr)
    return common.publish(args, found, {"gain": rows, "kinds": kinds}, markdown)


def markdown(report: dict[str, Any]) -> str:
    lines = [f"# magnify gain (band {BAND[0]:g}-{BAND[1]:g} Hz, {FPS} fps, {FRAMES} frames, "
             f"{SIZE[0]}x{SIZE[1]})", "",
             "Output amplitude / A0 (ideal: 1 + alpha at 3 Hz, 1 at 12 Hz and 0.667 Hz).", ""]
    rows = report["gain"]
    for shape in ("edge", "blob"):
        table = []
        for alpha in sorted({r["alpha"] for r in rows}):
            for a0 in sorted({r["a0"] for r in rows}):
                cells = {r["f0"]: r["gain"] for r in rows
                         if r["shape"] == shape and r["alpha"] == alpha and r["a0"] == a0}
                inband = cells.get(IN_BAND)
                error = None if inband is None else f"{100 * (inband / (1 + alpha) - 1):+.0f} %"
                table.append([f"{alpha:g}", f"{a0:g}", f"{(1 + alpha) * a0:.2g}", inband, error,
                              cells.get(round(ABOVE, 3)), cells.get(round(BELOW, 3))])
        lines += [f"## {shape}", "", common.table(
            ["alpha", "A0 px", "(1+alpha) A0 px", "gain at 3 Hz", "vs 1+alpha",
             "gain at 12 Hz", "gain at 0.667 Hz"], table), ""]
    kinds = report["kinds"]
    freqs = sorted({r["f0"] for r in kinds})
    lines += ["## band-pass kinds (edge, alpha 10, A0 0.1 px; ideal 11 in band, 1 out)", "",
              common.table(["kind"] + [f"{f:g} Hz" for f in freqs],
                           [[kind] + [next(r["gain"] for r in kinds
                                           if r["kind"] == kind and r["f0"] == f)
                                      for f in freqs]
                            for kind in ("fir", "iir", "doma")]), ""]
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
