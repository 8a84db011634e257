"""Regenerates docs/img/magnify-*.png and magnify.gif (docs/magnify.md) with ffmotion and the
ffmpeg it bundles:  pip install -e '.[plot]' && python docs/img/make_magnify.py

The clip is synthetic, so its motion is known: a bright pipe vibrating up and down 0.25 px at
6 Hz and a disk "breathing" (its radius +-0.4 px at 1 Hz), over a still textured background
with sensor noise (sigma 1 level); 240x160, 30 fps, 6 s, lossless. Both motions are invisible
in the input. Labels use drawtext with FONT (default DejaVu Sans, Debian's fonts-dejavu-core).
"""
from __future__ import annotations

import math
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import imageio_ffmpeg
import numpy as np

HERE = Path(__file__).resolve().parent
FFMPEG = imageio_ffmpeg.get_ffmpeg_exe()
FONT = os.environ.get("FONT", "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")
W, H, FPS, SECONDS = 240, 160, 30, 6
PIPE_X = 60  # the column through the pipe
DISK_X = 170  # the column through the disk's centre


def ff(*args: str) -> None:
    subprocess.run([FFMPEG, "-hide_banner", "-loglevel", "error", "-nostdin", "-y", *args],
                   check=True)


def ffmotion(*args: str) -> None:
    subprocess.run([sys.executable, "-m", "ffmotion", *args], check=True)


def scene(path: Path) -> None:
    rng = np.random.default_rng(7)
    ys, xs = np.mgrid[0:H, 0:W] + 0.5
    texture = rng.normal(0, 1, (H, W))
    for _ in range(3):  # a soft texture: a few box blurs
        texture = (np.roll(texture, 1, 0) + texture + np.roll(texture, -1, 0)) / 3
        texture = (np.roll(texture, 1, 1) + texture + np.roll(texture, -1, 1)) / 3
    background = 50 + 0.15 * xs + 25 * texture
    erf = np.vectorize(math.erf)
    frames = []
    for n in range(FPS * SECONDS):
        t = n / FPS
        pipe_y = 50 + 0.25 * math.sin(2 * math.pi * 6 * t)
        pipe = 0.5 * (erf((ys - pipe_y + 6) / 2.1) - erf((ys - pipe_y - 6) / 2.1))
        radius = 30 + 0.4 * math.sin(2 * math.pi * 1 * t)
        r = np.hypot(xs - DISK_X, ys - 100)
        disk = 0.5 * (1 - erf((r - radius) / 2.8))
        picture = background * (1 - 0.8 * pipe) + 200 * 0.8 * pipe
        picture = picture * (1 - 0.7 * disk) + 150 * 0.7 * disk
        picture += rng.normal(0, 1, (H, W))
        frames.append(np.clip(np.floor(picture + 0.5), 0, 255).astype(np.uint8))
    raw = path.with_suffix(".raw")
    raw.write_bytes(b"".join(f.tobytes() for f in frames))
    ff("-f", "rawvideo", "-pix_fmt", "gray", "-s", f"{W}x{H}", "-r", str(FPS), "-i", str(raw),
       "-c:v", "ffv1", "-pix_fmt", "gray", str(path))


def label(text: str) -> str:
    return (f"drawtext=fontfile={FONT}:text='{text}':x=4:y=h-th-4:fontsize=11:"
            "fontcolor=white:box=1:boxcolor=black@0.6:boxborderw=3")


def slice_of(src: Path, x: int, text: str) -> str:
    """A filter chain making the x-t slice at column x (time left to right)."""
    frames = FPS * SECONDS
    return (f"movie={src},crop=1:{H}:{x}:0,tile={frames}x1,scale={frames}:{H},"
            f"format=rgb24,{label(text)}")


def small(src: Path, dst: Path) -> None:
    ff("-i", str(src), "-filter_complex",
       "split[a][b];[a]palettegen=max_colors=128[p];[b][p]paletteuse=dither=none",
       "-frames:v", "1", "-compression_level", "100", str(dst))


def main() -> int:
    with tempfile.TemporaryDirectory() as folder:
        tmp = Path(folder)
        clip = tmp / "scene.mkv"
        scene(clip)
        fast = tmp / "fast.mkv"  # the pipe's 6 Hz
        slow = tmp / "slow.mkv"  # the disk's 1 Hz
        ffmotion("magnify", str(clip), str(fast), "--alpha", "8", "--band", "4-8",
                 "--lossless", "-q", "-y")
        ffmotion("magnify", str(clip), str(slow), "--alpha", "12", "--band", "0.6-1.5",
                 "--lossless", "-q", "-y")
        # x-t slices: the pipe's column, the disk's column, input and magnified
        graph = ";".join([
            slice_of(clip, PIPE_X, "pipe, input") + "[a]",
            slice_of(fast, PIPE_X, "pipe, band 4-8 Hz, alpha 8") + "[b]",
            slice_of(clip, DISK_X, "disk, input") + "[c]",
            slice_of(slow, DISK_X, "disk, band 0.6-1.5 Hz, alpha 12") + "[d]",
            "[a][b][c][d]hstack=4,pad=iw+6:ih+6:3:3:white",
        ])
        ff("-f", "lavfi", "-i", graph, "-frames:v", "1", str(tmp / "slices.png"))
        small(tmp / "slices.png", HERE / "magnify-slices.png")
        # one frame: input and both outputs
        frame = 45
        ff("-i", str(clip), "-i", str(fast), "-i", str(slow), "-filter_complex",
           f"[0]select=eq(n\\,{frame}),format=rgb24,{label('input')}[a];"
           f"[1]select=eq(n\\,{frame}),format=rgb24,{label('4-8 Hz x8 (pipe)')}[b];"
           f"[2]select=eq(n\\,{frame}),format=rgb24,{label('0.6-1.5 Hz x12 (disk)')}[c];"
           "[a][b][c]hstack=3", "-frames:v", "1", str(tmp / "frames.png"))
        small(tmp / "frames.png", HERE / "magnify-frames.png")
        # a GIF: input | the pipe magnified | the disk magnified, 1.4 s at 15 fps
        ff("-i", str(clip), "-i", str(fast), "-i", str(slow), "-filter_complex",
           "[0][1][2]hstack=3,trim=start_frame=30:end_frame=72,fps=15,scale=360:-1,"
           "split[a][b];[a]palettegen=max_colors=24[p];[b][p]paletteuse=dither=none",
           str(HERE / "magnify.gif"))
        # the band finder on the pipe's upper edge (a region the edge moves across)
        ffmotion("spectrum", str(clip), "--roi", "40,40,40,8", "--plot",
                 str(tmp / "spectrum.png"), "-q", "-y")
        small(tmp / "spectrum.png", HERE / "magnify-spectrum.png")
    for name in ("magnify-slices.png", "magnify-frames.png", "magnify.gif",
                 "magnify-spectrum.png"):
        print(f"{name}: {(HERE / name).stat().st_size // 1024} KiB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
