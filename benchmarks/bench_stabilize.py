"""Stabilization on shots whose truth is known: tripod against camera-path smoothing.

Each clip is a window cropped out of a larger *static* picture along a known path, then given
temporal sensor noise, a small object that really moves (in scene coordinates), and x264
compression, like a camera file. The paths:

* ``static``    a locked-off camera: no shake at all (stabilization should change nothing)
* ``shake``     a handheld still shot: the window jitters around a fixed place
* ``pan``       a slow pan (3.3 px/frame) with the same jitter on top
* ``tracking``  a moving camera: an accelerating pan and a slow vertical sway, plus jitter

For every clip the *truth* is the same clip rendered along the intended path without the
jitter. Residual motion energy = the mean over all motion frames of ``ffmotion energy`` (mean
|Y - 127| of the classic blend, K=2, 8-bit levels, whole frame): what the motion extraction of
the stabilized clip shows. Methods (vid.stab, default strength 5 = shakiness):

* ``none``      no stabilization
* ``tripod``    detect ``tripod=1`` + transform ``tripod=1`` (ffmotion's smoothing 0)
* ``lock``      detect frame to frame + transform ``smoothing=0`` (a static camera simulated
  from the accumulated path)
* ``smooth10/30``  detect frame to frame + transform ``smoothing=N`` (path smoothed over 2N+1)

Every transform uses vid.stab's gaussian camera path (``optalgo=gauss``), as ffmotion's pass 2
does on every build.

and the path ``--stabilize auto`` reads from the frame-to-frame transforms (the mean drift,
px/frame), what auto then picks by measuring its candidates on a sample (``lock`` is its
"static camera"), and how long its analysis and choice took (fresh cache, pass 2 not
included).

    python -m benchmarks.bench_stabilize --quick --out /tmp/ffmotion-quick   # testsrc2, shake
    python -m benchmarks.bench_stabilize      # all scenes and paths: bench-stabilize.json/.md
    python -m benchmarks.bench_stabilize --scenes photo,mandelbrot --name bench-stabilize-mine
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Optional, Sequence

from benchmarks.common import add_arguments, publish
from benchmarks.common import tools as find_tools
from ffmotion import api
from ffmotion.pipeline import controller, explore, stabilize
from ffmotion.run import runner

W, H = 480, 270  # the camera's picture
CW, CH = 960, 540  # the static scene it looks at
FRAMES = 120
FPS = 30
K = 2

SHAKE_X = "(8*sin(1.3*n)+5*sin(0.41*n+1))"
SHAKE_Y = "(6*cos(0.9*n)+4*sin(0.23*n+2))"
# path name -> (x, y) crop expressions of the frame number n; {s} is 1 with jitter, 0 without
PATHS: dict[str, tuple[str, str]] = {
    "static": ("240", "135"),
    "shake": (f"240+{{s}}*{SHAKE_X}", f"135+{{s}}*{SHAKE_Y}"),
    "pan": (f"40+3.3*n+{{s}}*{SHAKE_X}", f"135+{{s}}*{SHAKE_Y}"),
    "tracking": (f"40+0.027*n*n+{{s}}*{SHAKE_X}", f"135+60*sin(n/30)+{{s}}*{SHAKE_Y}"),
}
METHODS = ("none", "tripod", "lock", "smooth10", "smooth30")


def _photo() -> Optional[str]:
    """A real photograph shipped with matplotlib (Grace Hopper), when matplotlib is there."""
    try:
        import matplotlib
    except ImportError:
        return None
    path = Path(matplotlib.get_data_path()) / "sample_data" / "grace_hopper.jpg"
    return str(path) if path.is_file() else None


def scene_inputs(name: str) -> Optional[list[str]]:
    """ffmpeg input arguments giving one still picture of the scene at CWxCH."""
    lavfi = {
        "mandelbrot": f"mandelbrot=s={CW}x{CH}:start_scale=1.5:end_scale=1.5",
        "testsrc2": f"testsrc2=s={CW}x{CH}",
        "cellauto": f"cellauto=s={CW}x{CH}:rule=110:random_fill_ratio=0.5:scroll=0,"
                    "gblur=sigma=1.2",
    }
    if name == "photo":
        photo = _photo()
        return ["-loop", "1", "-i", photo] if photo else None
    if name in lavfi:
        return ["-f", "lavfi", "-i", lavfi[name]]
    raise SystemExit(f"unknown scene {name}")


SCENES = ("photo", "mandelbrot", "testsrc2", "cellauto")


def make_clip(ffmpeg: str, scene: str, path_name: str, jitter: bool, dst: Path) -> bool:
    inputs = scene_inputs(scene)
    if inputs is None:
        return False
    x, y = (e.format(s=1 if jitter else 0) for e in PATHS[path_name])
    graph = (f"[0:v]trim=end_frame=1,scale={CW}:{CH}:force_original_aspect_ratio=increase,"
             f"crop={CW}:{CH},format=yuv420p,loop=loop={FRAMES - 1}:size=1:start=0,"
             f"setpts=N/{FPS}/TB[bg];"
             f"color=c=white:s=24x24:r={FPS}[obj];"
             f"[bg][obj]overlay=x='100+5*n':y='300+40*sin(n/9)':shortest=1,"
             f"crop=w={W}:h={H}:x='{x}':y='{y}',noise=alls=3:allf=t,format=yuv420p")
    runner.run_ffmpeg([ffmpeg, "-hide_banner", "-nostdin", "-v", "error", "-y", *inputs,
                       "-filter_complex", graph, "-frames:v", str(FRAMES), "-r", str(FPS),
                       "-c:v", "libx264", "-crf", "18", "-preset", "veryfast", str(dst)])
    return True


def stabilized(ffmpeg: str, src: Path, method: str, work: Path, ascii_ok: bool) -> Path:
    """The clip through vid.stab pass 1 and 2 (lossless), or the clip itself for none."""
    if method == "none":
        return src
    trf = work / f"{src.stem}-{method}.trf"
    tripod = method == "tripod"
    detect = f"vidstabdetect=result='{trf}':shakiness=5:accuracy=15" + (":tripod=1" if tripod else "")
    if ascii_ok:
        detect += ":fileformat=ascii"
    runner.run_ffmpeg([ffmpeg, "-hide_banner", "-nostdin", "-v", "error", "-y", "-i", str(src),
                       "-vf", f"format=yuv420p,{detect}", "-f", "null", "-"])
    smoothing = {"tripod": "tripod=1", "lock": "smoothing=0", "smooth10": "smoothing=10",
                 "smooth30": "smoothing=30"}[method]
    out = work / f"{src.stem}-{method}.mkv"
    runner.run_ffmpeg([ffmpeg, "-hide_banner", "-nostdin", "-v", "error", "-y", "-i", str(src),
                       "-vf", f"format=yuv420p,vidstabtransform=input='{trf}':{smoothing}"
                       ":optalgo=gauss",  # ffmotion's pass 2 (newer vid.stab defaults to L1)
                       "-c:v", "ffv1", str(out)])
    return out


def residual(path: Path, tools: runner.Tools) -> float:
    table = explore.energy(path, K, tools=tools)
    return statistics.fmean(table.values[0])


def path_of(ffmpeg: str, src: Path, work: Path, ascii_ok: bool) -> stabilize.CameraPath:
    trf = work / f"{src.stem}-lock.trf"  # written by the lock method (frame to frame)
    return stabilize.camera_path(trf.read_text(errors="replace"))


AUTO_METHODS = {"none": "none", "tripod": "tripod", "static": "lock"}


def auto_decision(tools: runner.Tools, src: Path, work: Path) -> tuple[str, float]:
    """What ``--stabilize auto`` runs on ``src`` (one of METHODS) and the seconds its analysis
    and choice took, from an empty cache (its chosen pass 1 included)."""
    cache = work / f"cache-{src.stem}"
    os.environ["FFMOTION_CACHE"] = str(cache)
    started = time.monotonic()
    plan = controller.prepare(api.make_request(src, work / "auto.mkv", K, stabilize=True,
                                               overwrite=True), tools)
    stab = stabilize.settle(plan, tools).stabilizer
    assert stab is not None and stab.decided is not None
    method = AUTO_METHODS.get(stab.decided, f"smooth{stab.options.smoothing}")
    return method, time.monotonic() - started


def main(argv: Optional[list[str]] = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.bench_stabilize",
                                     description=__doc__.split("\n\n")[0])
    add_arguments(parser, "bench-stabilize", cache=False,
                  quick="one scene along one path: testsrc2, shake (unless --scenes/--paths)")
    parser.add_argument("--scenes", default=None, help=f"default {','.join(SCENES)}")
    parser.add_argument("--paths", default=None, help=f"default {','.join(PATHS)}")
    parser.add_argument("--keep", metavar="DIR", help="keep the clips here")
    args = parser.parse_args(argv)
    scenes = args.scenes or ("testsrc2" if args.quick else ",".join(SCENES))
    paths = args.paths or ("shake" if args.quick else ",".join(PATHS))
    tools = find_tools(args.ffmpeg)
    found = run(tools, scenes.split(","), paths.split(","),
                Path(args.keep) if args.keep else None)
    return publish(args, tools, found, markdown)


def run(tools: runner.Tools, scenes: Sequence[str] = SCENES, paths: Sequence[str] = tuple(PATHS),
        keep: Optional[Path] = None) -> dict[str, Any]:
    """Measure every scene along every path (see the module notes); the report's rows."""
    ascii_ok = stabilize.detect_has_fileformat(tools.ffmpeg)
    rows: list[dict[str, Any]] = []
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="ffmotion-stab-") as tmp:
        work = keep or Path(tmp)
        work.mkdir(parents=True, exist_ok=True)
        for scene in scenes:
            for path_name in paths:
                clip = work / f"{scene}-{path_name}.mp4"
                truth = work / f"{scene}-{path_name}-truth.mp4"
                if not make_clip(tools.ffmpeg, scene, path_name, True, clip):
                    print(f"skipped {scene}: not available", file=sys.stderr)
                    break
                make_clip(tools.ffmpeg, scene, path_name, False, truth)
                row: dict[str, Any] = {"scene": scene, "path": path_name,
                                       "truth": residual(truth, tools)}
                for method in METHODS:
                    row[method] = residual(stabilized(tools.ffmpeg, clip, method, work, ascii_ok),
                                           tools)
                camera = path_of(tools.ffmpeg, clip, work, ascii_ok)
                row["drift"] = camera.drift
                row["jitter"] = camera.jitter
                row["path_picks"] = stabilize.auto_choice(camera, W).label
                # what auto runs (measured on a sample): one of the methods measured above
                row["auto"], row["auto_seconds"] = auto_decision(tools, clip, work)
                row["auto_result"] = row[row["auto"]]
                rows.append(row)
                print(json.dumps(row), file=sys.stderr, flush=True)
    return {"ffmpeg": tools.version, "size": f"{W}x{H}", "frames": FRAMES, "k": K,
            "seconds": round(time.monotonic() - started, 1), "rows": rows}


def markdown(report: dict[str, Any]) -> str:
    head = ["clip", "truth", *METHODS, "best", "drift / shake px/f", "path alone",
            "auto picks", "auto", "auto s"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for row in report["rows"]:
        best = min(METHODS, key=lambda m: row[m])
        cells = [f"{row['scene']} {row['path']}", f"{row['truth']:.2f}"]
        cells += [f"{row[m]:.2f}" for m in METHODS]
        cells += [best, f"{row['drift']:.2f} / {row['jitter']:.2f}", row["path_picks"],
                  row["auto"], f"{row['auto_result']:.2f}", f"{row['auto_seconds']:.1f}"]
        lines.append("| " + " | ".join(cells) + " |")
    lines.append("")
    lines.append(f"ffmpeg {report['ffmpeg']}, {report['size']}, {report['frames']} frames, "
                 f"K={report['k']}; residual = mean |Y - 127| of the motion frames (8-bit); "
                 f"{report['seconds']} s")
    totals = {m: sum(r[m] for r in report["rows"]) for m in (*METHODS, "auto_result")}
    lines.append("sum over the clips: " + ", ".join(
        f"{'auto' if m == 'auto_result' else m} {v:.2f}" for m, v in totals.items()))
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
