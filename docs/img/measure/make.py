"""Regenerates docs/measure.md's pictures and numbers from Debian's opencv-doc sample
vtest.avi (people walking, 768x576, 10 fps, 795 frames):

* regions.png: the regions on a frame; curves.png: each region's share of changed pixels;
* the table of how ffmotion's gray (the decoded luma, stretched from TV range) compares with
  Altmann's (MATLAB's rgb2gray of the RGB decode: round(0.2989 R + 0.5870 G + 0.1140 B)).

    pip install -e '.[plot]' && python docs/img/measure/make.py [path/to/vtest.avi]
"""
from __future__ import annotations

import csv
import subprocess
import sys
import tempfile
from pathlib import Path

import imageio_ffmpeg
import numpy as np
from matplotlib.figure import Figure

HERE = Path(__file__).resolve().parent
SRC = Path(sys.argv[1] if len(sys.argv) > 1 else
           "/usr/share/doc/opencv-doc/examples/data/vtest.avi")
W, H = 768, 576
REGIONS = {"walkway": (0, 150, 420, 170), "road": (420, 110, 348, 310),
           "lawn": (40, 400, 300, 150)}  # lawn: nobody walks there (the background)
FRAMES_COMPARED = 300
FF = imageio_ffmpeg.get_ffmpeg_exe()


def measure(tmp: Path) -> list[dict[str, str]]:
    rois = [f"--roi={name}={x},{y},{w},{h}" for name, (x, y, w, h) in REGIONS.items()]
    out = tmp / "vtest.csv"
    subprocess.run([sys.executable, "-m", "ffmotion", "measure", str(SRC), *rois, "--csv",
                    str(out), "-q", "-y"], check=True)
    return list(csv.DictReader(out.open()))


def frames(pix_fmt: str, channels: int, count: int):
    argv = [FF, "-v", "error", "-i", str(SRC), "-frames:v", str(count), "-f", "rawvideo",
            "-pix_fmt", pix_fmt, "pipe:"]
    data = subprocess.run(argv, capture_output=True, check=True).stdout
    return np.frombuffer(data, np.uint8).reshape(-1, H, W, channels)


def changed(d: np.ndarray, threshold: int = 15, size: int = 5) -> np.ndarray:
    """median_5x5(d) > T, zeros beyond the edges: a majority of the window above T."""
    r = size // 2
    above = np.pad((d > threshold).astype(np.int32), r)
    s = above.cumsum(0).cumsum(1)
    s = np.pad(s, ((1, 0), (1, 0)))
    window = s[size:, size:] - s[:-size, size:] - s[size:, :-size] + s[:-size, :-size]
    return window >= (size * size + 1) // 2


def altmann_counts(count: int) -> dict[str, np.ndarray]:
    rgb = frames("rgb24", 3, count).astype(np.float64)
    gray = np.floor(rgb @ np.array([0.2989, 0.5870, 0.1140]) + 0.5).astype(np.int32)
    out: dict[str, list[int]] = {name: [] for name in REGIONS}
    for t in range(len(gray) - 1):
        b = changed(np.abs(gray[t + 1] - gray[t]))
        for name, (x, y, w, h) in REGIONS.items():
            out[name].append(int(b[y:y + h, x:x + w].sum()))
    return {k: np.array(v) for k, v in out.items()}


def regions_picture(tmp: Path) -> None:
    png = tmp / "frame.png"
    subprocess.run([FF, "-v", "error", "-ss", "20", "-i", str(SRC), "-frames:v", "1", str(png)],
                   check=True)
    import matplotlib.image as mpimg

    figure = Figure(figsize=(6.4, 4.8), dpi=60, layout="constrained")
    axes = figure.add_subplot()
    axes.imshow(mpimg.imread(png))
    colours = {"walkway": "tab:orange", "road": "tab:blue", "lawn": "tab:gray"}
    for name, (x, y, w, h) in REGIONS.items():
        axes.add_patch(__import__("matplotlib.patches", fromlist=["R"]).Rectangle(
            (x, y), w, h, fill=False, linewidth=2, edgecolor=colours[name]))
        axes.text(x + 6, y + 24, name, color="white", fontsize=12,
                  bbox={"facecolor": colours[name], "alpha": 0.8, "pad": 2})
    axes.set_axis_off()
    figure.savefig(HERE / "regions.png")


def curves(rows: list[dict[str, str]]) -> None:
    figure = Figure(figsize=(8, 2.8), dpi=80, layout="constrained")
    axes = figure.add_subplot()
    t = [float(r["time_s"]) for r in rows]
    for name in REGIONS:
        axes.plot(t, [100 * float(r[f"{name}_share"]) for r in rows], label=name, lw=0.9)
    axes.set_xlabel("time (s)")
    axes.set_ylabel("changed pixels (%)")
    axes.set_title("vtest.avi: MEA per region (K=1, threshold 15, 5x5 median)", fontsize=10)
    axes.legend(fontsize=8)
    axes.grid(alpha=0.3)
    figure.savefig(HERE / "curves.png")


def main() -> None:
    with tempfile.TemporaryDirectory() as folder:
        tmp = Path(folder)
        rows = measure(tmp)
        regions_picture(tmp)
    curves(rows)
    theirs = altmann_counts(FRAMES_COMPARED)
    print(f"| region | frames | identical | Pearson r | mean count ffmotion | mean count "
          f"rgb2gray |  (first {FRAMES_COMPARED} frames)")
    print("|---|---|---|---|---|---|")
    for name in REGIONS:
        ours = np.array([int(r[name]) for r in rows[:len(theirs[name])]])
        r = (np.corrcoef(ours, theirs[name])[0, 1]
             if ours.std() and theirs[name].std() else float("nan"))
        print(f"| {name} | {len(ours)} | {100 * float((ours == theirs[name]).mean()):.1f}% | "
              f"{r:.4f} | {ours.mean():.1f} | {theirs[name].mean():.1f} |")


if __name__ == "__main__":
    main()
