#!/usr/bin/env python3
"""ffmotion benchmark: the graph against the ways people do this by hand.

For each generated clip (lavfi: a static scene, moving objects, sensor noise; x264 with its
normal GOP) and each encoder, it runs side by side, in alternation, ``--runs`` times:

* ``ffmotion``      the CLI end to end (probe, plan, ffmpeg child, progress reading)
* ``hand``          the same job's ``--print-command`` run directly: our orchestration's cost
* ``transcode``     the input re-encoded with the same encoder and no filter: the practical limit
* ``decode``        decode only (``-f null``); ``graph-null`` the motion graph without encoding
* ``numpy``         ffmpeg decode -> numpy reference -> ffmpeg encode (a pipe pipeline)
* ``cv-seq``/``cv-seek``  OpenCV loops, a ring buffer and the classic seek-per-frame script,
  only if ``cv2`` is importable, only with the mpeg4/xvid .avi encoder (the codec OpenCV writes)

and reports median wall seconds, CPU seconds (user + system of the whole process tree), peak
memory (ru_maxrss from ``os.wait4``: the largest single process of the tree, which for the
ffmotion CLI is its ffmpeg child) and output frames/s, plus per-round ratios. Then: peak
memory and time against K for the split and dual strategies, 10 s vs 60 s scaling, import
and start-up times.

Every table is also written as JSON and Markdown (``benchmarks/results/NAME.json`` and
``.md``, ``--name``; ``--out`` another folder).

    python -m benchmarks.bench --quick --out /tmp/ffmotion-quick   # ~1-2 minutes, small clips
    python -m benchmarks.bench                    # the full run (long): bench-results.json/.md
"""
from __future__ import annotations

import argparse
import collections
import importlib
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Callable, Optional

import ffmpeg  # ffmpeg-python, a dependency of ffmotion

from benchmarks.common import (
    ClipSpec,
    Contender,
    MiB,
    add_arguments,
    alternate,
    config,
    ensure_clip,
    ffmotion_argv,
    ffmpeg_argv,
    machine,
    measure,
    paired_ratio,
    parse_ints,
    parse_sizes,
    printed_command,
    publish,
    table,
)
from benchmarks.common import tools as find_tools
from ffmotion import api, graph
from ffmotion.core.pixfmt import plane_layout
from ffmotion.pipeline import controller
from ffmotion.run import runner

# -- contenders -----------------------------------------------------------------------------

ENCODERS: dict[str, tuple[str, list[str], str]] = {
    # name: (output extension, ffmotion flags, description)
    "default": (".mp4", [], "ffmotion's default for .mp4 (libx264)"),
    "fast": (".avi", [], "mpeg4 (xvid tag) in .avi, the codec OpenCV's VideoWriter uses"),
    "ultrafast": (".mp4", ["--preset", "ultrafast"], "libx264 -preset ultrafast"),
}


def plan_for(src: Path, dst: Path, k: int, flags: list[str], tools: runner.Tools) -> graph.Plan:
    kwargs: dict[str, Any] = {}
    if "--preset" in flags:
        kwargs["preset"] = flags[flags.index("--preset") + 1]
    for flag in ("--strategy", "--threads"):
        if flag in flags:
            value = flags[flags.index(flag) + 1]
            kwargs[flag[2:]] = int(value) if flag == "--threads" else value
    return controller.prepare(api.make_request(src, dst, k, overwrite=True, **kwargs),
                              tools)


def codec_argv(video_args: dict[str, Any]) -> list[str]:
    return [part for key, value in video_args.items() for part in (f"-{key}", str(value))]


def worker_argv(kind: str, src: Path, dst: Path, k: int, extra: dict[str, Any]) -> list[str]:
    """This module in a process of its own (``python -m``: from the repository root)."""
    return [sys.executable, "-m", "benchmarks.bench", "--worker", kind,
            json.dumps({"src": str(src), "dst": str(dst), "k": k, **extra})]


def contenders_for(spec: ClipSpec, src: Path, encoder: str, k: int, work: Path,
                   tools: runner.Tools, args: argparse.Namespace, have_cv2: bool) -> list[Contender]:
    ext, flags, _ = ENCODERS[encoder]
    fb = tools.ffmpeg
    out = lambda name: work / f"{spec.name}-{encoder}-{name}{ext}"  # noqa: E731
    plan = plan_for(src, out("ffmotion"), k, flags, tools)
    n_out = plan.out_frames
    cli = ffmotion_argv(src, out("ffmotion"), k, fb, *flags)
    hand = printed_command(ffmotion_argv(src, out("hand"), k, fb, *flags))
    vargs = graph.video_args(plan)
    source = ffmpeg.input(str(src))
    found: list[Contender] = [
        Contender("ffmotion", cli, n_out, "CLI end to end"),
        Contender("hand", hand, n_out, "its --print-command, run directly"),
        Contender("transcode", ffmpeg_argv(fb, source["v:0"].output(
            str(out("transcode")), **vargs, **graph.BITEXACT)), spec.frames,
            "same encoder, no filter"),
        Contender("decode", ffmpeg_argv(fb, source["v:0"].output("-", f="null")), spec.frames,
                  "decode only"),
    ]
    if encoder == args.encoders[0]:  # encoder-independent rows once per clip
        motion = graph.motion_video(source["v:0"], k, plan.info.fps, "offset",
                                    plan.working_pix_fmt)
        found.append(Contender("graph-null", ffmpeg_argv(fb, motion.output(
            "-", f="null", fps_mode="passthrough")), n_out, "motion graph, no encoder"))
    if not args.no_numpy:
        found.append(Contender("numpy", worker_argv("numpy", src, out("numpy"), k, {
            "ffmpeg": fb, "pix_fmt": plan.working_pix_fmt, "width": plan.info.width,
            "height": plan.info.height, "fps": str(plan.info.fps),
            "codec_args": codec_argv(vargs)}), n_out, "ffmpeg decode -> numpy -> ffmpeg encode"))
    if have_cv2 and ext == ".avi":
        found.append(Contender("cv-seq", worker_argv("cv-seq", src, out("cv-seq"), k, {}), n_out,
                               "OpenCV sequential read, ring buffer of K+1 frames"))
        if spec.seconds <= args.seek_max_seconds:
            found.append(Contender("cv-seek", worker_argv("cv-seek", src, out("cv-seek"), k, {}),
                                   n_out, "OpenCV seek-per-frame script",
                                   runs=args.seek_runs or None))
    return found


# pair -> (target text, check on ffmotion/other)
TARGETS: dict[str, tuple[str, Callable[[float, ClipSpec], bool]]] = {
    "hand": ("<= 1.03", lambda r, s: r <= 1.03),
    "transcode": ("<= 1.00", lambda r, s: r <= 1.0),
    "cv-seq": (">= 2x faster", lambda r, s: 1 / r >= 2),
    "cv-seek": (">= 40x faster (strict GOP: 75x)", lambda r, s: 1 / r >= (75 if s.gop == "strict" else 40)),
}


def ratios(found: list[Contender], spec: ClipSpec) -> list[dict[str, Any]]:
    ours = found[0]
    rows = []
    for other in found[1:]:
        r = paired_ratio(ours, other)
        if r is None:
            continue
        target = TARGETS.get(other.name)
        rows.append({
            "pair": f"ffmotion / {other.name}", "ratio": r, "speedup": round(1 / r, 2),
            "target": target[0] if target else "",
            "met": (target[1](r, spec) if target and spec.height >= 1080 else None),
        })
    return rows


# -- sections -------------------------------------------------------------------------------

# the modules `import ffmotion.cli` loads, timed in three layers in one fresh interpreter
_IMPORT_LAYERS = """
import json, sys
before = set(sys.modules)
import ffmotion.cli
loaded = sorted(set(sys.modules) - before)
print(json.dumps(loaded))
"""
_IMPORT_TIMED = """
import importlib, json, sys, time
clock = time.process_time
stdlib = json.loads(sys.argv[1])
took = {}
started = clock()
for name in stdlib:
    importlib.import_module(name)
took["stdlib"] = clock() - started
started = clock()
import future.utils, past.builtins  # what ffmpeg-python's Python 2 compatibility imports
took["future/past"] = clock() - started
started = clock()
import ffmpeg
took["ffmpeg-python"] = clock() - started
started = clock()
import ffmotion.cli
took["ffmotion"] = clock() - started
print(json.dumps(took))
"""


FLOOR_IMPORTS = "import ffmpeg, argparse, dataclasses, fractions, logging, pathlib"


def startup(args: argparse.Namespace, src: Path, work: Path, ffmpeg_bin: str) -> dict[str, Any]:
    """Start-up: ``--print-command`` on a 10 s clip against ``ffmpeg -i`` (the target: at most
    60 ms more; side by side, the same run with its probe started after the imports rather
    than ahead of them), ``import ffmotion.cli``, ``--help``, ``python -c pass``; wall and CPU
    (user + system of the process tree), medians of ``--startup-rounds`` rounds in
    alternation; where the import's CPU goes (the standard library it needs, ffmpeg-python,
    ffmotion's own modules) and ``-X importtime``'s top entries. Runs the package's tree with
    bytecode compiled (as an installed wheel has it)."""
    import compileall

    package = Path(api.__file__).parent
    compileall.compile_dir(str(package), quiet=1)
    env = {**os.environ, "PYTHONPATH": str(package.parent)}
    env.pop("PYTHONDONTWRITEBYTECODE", None)

    def python(*argv: str) -> str:
        return subprocess.run([sys.executable, *argv], capture_output=True, text=True,
                              check=True, env=env, cwd=package.parent).stdout

    loaded = json.loads(python("-c", _IMPORT_LAYERS))
    stdlib = [m for m in loaded if "." not in m and not m.startswith("_")
              and m.split(".")[0] not in ("ffmotion", "ffmpeg", "future", "past")]
    cmds = {
        "ffmpeg -i": [ffmpeg_bin, "-hide_banner", "-nostdin", "-i", str(src)],
        "python -c pass": [sys.executable, "-c", "pass"],
        # the floor of any ffmpeg-python program: the library alone, then with the standard
        # modules a command line over it needs (arguments, paths, exact rates, messages)
        "import ffmpeg": [sys.executable, "-c", "import ffmpeg"],
        "import ffmpeg + stdlib floor": [sys.executable, "-c", FLOOR_IMPORTS],
        "import ffmotion.cli": [sys.executable, "-c", "import ffmotion.cli"],
        "--help": [sys.executable, "-m", "ffmotion", "--help"],
        "--print-command": ffmotion_argv(src, work / "print.mp4", 12, ffmpeg_bin,
                                         "--print-command"),
        # the same run with the probe started after the imports: cli.main as the program
        # (its arguments from sys.argv) without the launcher (ffmotion.run.ahead)
        "--print-command, probe not ahead": [
            sys.executable, "-c", "import sys; from ffmotion.cli import main; sys.exit(main())",
            *ffmotion_argv(src, work / "print.mp4", 12, ffmpeg_bin, "--print-command")[3:]],
    }
    # the working folder is the tree's (-c and -m put it first on sys.path); facts cached
    subprocess.run(cmds["--print-command"], capture_output=True, env=env, cwd=package.parent)
    rounds = args.startup_rounds
    walls: dict[str, list[float]] = collections.defaultdict(list)
    cpus: dict[str, list[float]] = collections.defaultdict(list)
    layers: dict[str, list[float]] = collections.defaultdict(list)
    selfs: dict[str, list[int]] = collections.defaultdict(list)
    loads = []
    for i in range(rounds):
        for name, argv in cmds.items():
            sample = measure(argv, env=env, check=name != "ffmpeg -i", cwd=package.parent)
            walls[name].append(sample.wall * 1000)
            cpus[name].append(sample.cpu * 1000)
        for layer, seconds in json.loads(python("-c", _IMPORT_TIMED, json.dumps(stdlib))).items():
            layers[layer].append(seconds * 1000)
        if i < 5:
            err = subprocess.run([sys.executable, "-X", "importtime", "-c", "import ffmotion.cli"],
                                 capture_output=True, text=True, check=True, env=env,
                                 cwd=package.parent).stderr
            for m in re.finditer(r"^import time:\s+(\d+) \|\s+\d+ \| *(\S+)$", err, re.M):
                selfs[m.group(2)].append(int(m.group(1)))
        loads.append(os.getloadavg()[0])

    def med(values: list[float]) -> float:
        return round(statistics.median(values), 1)

    def over(name: str, of: dict[str, list[float]]) -> list[float]:
        return [p - f for p, f in zip(of[name], of["ffmpeg -i"])]

    over_wall, over_cpu = over("--print-command", walls), over("--print-command", cpus)
    behind = "--print-command, probe not ahead"
    top = sorted(selfs, key=lambda name: -statistics.median(selfs[name]))[:12]
    return {
        "rounds": rounds,
        "ms": {name: {"wall": med(walls[name]), "cpu": med(cpus[name])} for name in cmds},
        "print_command_over_ffmpeg_i_ms": {"wall": med(over_wall), "cpu": med(over_cpu)},
        "not_ahead_over_ffmpeg_i_ms": {"wall": med(over(behind, walls)),
                                       "cpu": med(over(behind, cpus))},
        "target_ms": 60,
        # what --print-command minus ffmpeg -i cannot go below without ffmotion's own code:
        # the floor imports' CPU (the probe's ffmpeg is that ffmpeg -i)
        "floor_ms": {"cpu": med(cpus["import ffmpeg + stdlib floor"])},
        # start-up is what the user waits for (wall); the CPU shows what the overlap hides
        "met": statistics.median(over_wall) <= 60,
        "met_cpu": statistics.median(over_cpu) <= 60,
        "import_layers_cpu_ms": {layer: med(v) for layer, v in layers.items()},
        "importtime_top_self_ms": [[name, round(statistics.median(selfs[name]) / 1000, 2)]
                                   for name in top],
        "modules_loaded": len(loaded),
        "numpy_imported": "numpy" in loaded, "tqdm_imported": "tqdm" in loaded,
        "loadavg": {"median": round(statistics.median(loads), 2), "min": round(min(loads), 2),
                    "max": round(max(loads), 2)},
        "probe": probe_times(args, work, ffmpeg_bin),
    }


def probe_times(args: argparse.Namespace, work: Path, ffmpeg_bin: str) -> list[dict[str, Any]]:
    """Probing a 10 s and a 120 s 720p MP4 (``--quick``: the shortest and longest of
    ``--durations``): from the moov index (the default) and by listing every packet
    (framecrc, the fallback), in alternation, medians in ms."""
    from ffmotion.media import probe as probing

    tools = runner.tools(ffmpeg_bin)
    rows = []
    lengths = sorted({min(args.durations), max(args.durations)}) if args.quick else (10, 120)
    for seconds in lengths:
        src = ensure_clip(ClipSpec(1280, 720, seconds), args.cache, ffmpeg_bin)
        found: dict[str, list[float]] = {"index": [], "framecrc": []}
        original = probing._from_mp4_index
        try:
            for _ in range(max(3, args.runs) * 2):
                for name in found:
                    probing._from_mp4_index = original if name == "index" else (lambda *_: None)
                    started = time.perf_counter()
                    probing.probe(src, tools)
                    found[name].append(time.perf_counter() - started)
        finally:
            probing._from_mp4_index = original
        rows.append({"seconds": seconds, "bytes": src.stat().st_size,
                     **{f"{k}_ms": round(statistics.median(v) * 1000, 1) for k, v in found.items()}})
    return rows


def memory_vs_k(args: argparse.Namespace, spec: ClipSpec, src: Path, work: Path,
                tools: runner.Tools) -> list[dict[str, Any]]:
    """Peak memory and time of split vs dual for each K (fast encoder, so decoding shows)."""
    ext, flags, _ = ENCODERS[args.memory_encoder]
    rows = []
    for k in args.memory_k:
        if k >= spec.frames:
            print(f"bench: memory: K={k} needs more than {spec.frames} frames, skipped",
                  file=sys.stderr)
            continue
        found = [Contender(strategy, ffmotion_argv(src, work / f"mem-{strategy}{ext}", k,
                                                   tools.ffmpeg, *flags, "--strategy", strategy),
                           spec.frames - k) for strategy in ("split", "dual")]
        alternate(found, args.memory_runs, f"{spec.name} K={k}")
        split, dual = (c.summary() for c in found)
        layout = plane_layout("yuv420p", spec.width, spec.height)
        rows.append({
            "clip": spec.name, "k": k, "buffer_mib": round(k * layout.frame_bytes / MiB, 1),
            "split_peak_mib": split["peak_mib"], "split_wall_s": split["wall_s"],
            "dual_peak_mib": dual["peak_mib"], "dual_wall_s": dual["wall_s"],
            "dual_over_split_time": paired_ratio(found[1], found[0]),
        })
    return rows


def energy_section(args: argparse.Namespace, spec: ClipSpec, src: Path, work: Path,
                   tools: runner.Tools) -> dict[str, Any]:
    """``ffmotion energy`` against the motion graph alone (to null) on the same input, side
    by side: its ffmpeg pass, the CLI end to end, and the former signalstats graph."""
    from ffmotion.graph import views
    from ffmotion.pipeline import explore

    k = args.offset
    fb = tools.ffmpeg
    (plan,) = explore.energy_plans(src, k, tools=tools)
    source = ffmpeg.input(str(src))
    motion = graph.motion_video(source["v:0"], k, plan.info.fps, "offset", plan.working_pix_fmt)
    metadata = work / "energy-k.txt"
    old = (motion.filter("extractplanes", "y").filter("lut", c0="abs(val-127)")
           .filter("mergeplanes", format="yuv444p", map0s=0, map0p=0, map1s=0, map1p=0,
                   map2s=0, map2p=0).filter("signalstats")
           .filter("metadata", mode="print", key="lavfi.signalstats.YAVG", file=str(metadata)))
    found = [
        Contender("graph-null", ffmpeg_argv(fb, motion.output("-", f="null",
                                                               fps_mode="passthrough")),
                  plan.out_frames, "motion graph alone, no encoder"),
        Contender("energy-pass", [fb, "-v", "error", *views.energy_command(
            plan, [k], [metadata], fb)[1:]], plan.out_frames,
                  "the energy pass (msad) ffmotion runs"),
        Contender("energy-cli", [sys.executable, "-m", "ffmotion", "energy", str(src), "-k",
                                 str(k), "--csv", str(work / "energy.csv"), "-y", "-q",
                                 "--ffmpeg", fb], plan.out_frames, "ffmotion energy end to end"),
        Contender("signalstats", ffmpeg_argv(fb, old.output("-", f="null",
                                                           fps_mode="passthrough")),
                  plan.out_frames, "before: signalstats on a yuv444p merge"),
    ]
    alternate(found, args.runs, f"{spec.name} energy")
    base = found[0]
    return {"clip": spec.name, "k": k, "contenders": [c.summary() for c in found],
            "ratios": {c.name: paired_ratio(c, base) for c in found[1:]}, "target": 1.5}


# -- workers (run in their own process, so each is measured alone) -------------------------

def worker(kind: str, job: dict[str, Any]) -> None:
    src, dst, k = Path(job["src"]), Path(job["dst"]), int(job["k"])
    if kind == "numpy":
        from tests import reference

        layout = plane_layout(job["pix_fmt"], job["width"], job["height"])
        frames = reference.read_frames(job["ffmpeg"], src, layout)
        motion = reference.motion_frames(frames, k, "offset", layout.max_value)
        reference.write(motion, job["ffmpeg"], layout, job["fps"], dst, job["codec_args"])
        return
    import cv2

    cap = cv2.VideoCapture(str(src))
    fps = cap.get(cv2.CAP_PROP_FPS)
    size = (int(cap.get(cv2.CAP_PROP_FRAME_WIDTH)), int(cap.get(cv2.CAP_PROP_FRAME_HEIGHT)))
    out = cv2.VideoWriter(str(dst), cv2.VideoWriter_fourcc(*"XVID"), fps, size)
    if kind == "cv-seq":
        ring: collections.deque = collections.deque(maxlen=k + 1)
        while True:
            ok, frame = cap.read()
            if not ok:
                break
            ring.append(frame)
            if len(ring) == k + 1:
                out.write(cv2.addWeighted(ring[0], 0.5, cv2.bitwise_not(ring[-1]), 0.5, 0))
    elif kind == "cv-seek":
        # the classic script: seek to i, read; seek to i+K, read; blend
        n = int(cap.get(cv2.CAP_PROP_FRAME_COUNT))
        for i in range(n - k):
            cap.set(cv2.CAP_PROP_POS_FRAMES, i)
            ok_a, a = cap.read()
            cap.set(cv2.CAP_PROP_POS_FRAMES, i + k)
            ok_b, b = cap.read()
            if not (ok_a and ok_b):
                break
            out.write(cv2.addWeighted(a, 0.5, cv2.bitwise_not(b), 0.5, 0))
    out.release()
    cap.release()


# -- report ---------------------------------------------------------------------------------

def markdown(report: dict[str, Any]) -> str:
    m = report["machine"]
    out = [f"Machine: {m['cpu']}, {m['cores']} cores, {m['memory']}; {m['ffmpeg']}; "
           f"Python {m['python']}; OpenCV {m['opencv'] or 'not installed'}; "
           f"load average {m['loadavg_start'][0]:.2f} at start, {m['loadavg_end'][0]:.2f} at end. "
           f"Offset K={report['config']['offset']}, {report['config']['runs']} runs in alternation, "
           "medians."]
    for group in report["groups"]:
        out.append(f"\n### {group['clip']} ({group['frames']} frames), encoder {group['encoder']}: "
                   f"{ENCODERS[group['encoder']][2]}\n")
        out.append(table(["", "wall s", "CPU s", "peak MiB", "out frames/s", "runs", "what"],
                         [[c["name"], c["wall_s"], c["cpu_s"], c["peak_mib"], c["fps"], c["runs"],
                           c["note"]] for c in group["contenders"]]))
        out.append("")
        out.append(table(["pair (side by side)", "time ratio", "ffmotion speed-up", "target", "met"],
                         [[r["pair"], r["ratio"], f"{r['speedup']}x", r["target"],
                           {True: "met", False: "**missed**", None: ""}[r["met"]]]
                          for r in group["ratios"]]))
    if report.get("memory"):
        out.append("\n### Peak memory against K: split vs dual (ffmotion CLI, encoder "
                   f"{report['config']['memory_encoder']})\n")
        out.append(table(["clip", "K", "K frames (MiB)", "split peak MiB", "split s",
                          "dual peak MiB", "dual s", "dual/split time"],
                         [[r["clip"], r["k"], r["buffer_mib"], r["split_peak_mib"],
                           r["split_wall_s"], r["dual_peak_mib"], r["dual_wall_s"],
                           r["dual_over_split_time"]] for r in report["memory"]]))
    if report.get("scaling"):
        out.append("\n### Scaling with clip length (ffmotion CLI, K="
                   f"{report['config']['offset']})\n")
        out.append(table(["size", "encoder", "short", "long", "s short", "s long",
                          "frames ratio", "time ratio", "CPU ratio", "peak MiB short",
                          "peak MiB long"],
                         [[r["size"], r["encoder"], r["short"], r["long"], r["short_s"],
                           r["long_s"], r["frames_ratio"], r["time_ratio"], r["cpu_ratio"],
                           r["peak_short_mib"], r["peak_long_mib"]]
                          for r in report["scaling"]]))
    if report.get("startup"):
        s = report["startup"]
        over = s["print_command_over_ffmpeg_i_ms"]
        out.append(f"\n### Start-up (ms, medians of {s['rounds']} rounds in alternation; CPU is "
                   f"user + system of the process tree; load average {s['loadavg']['median']})\n")
        out.append(table(["command", "wall ms", "CPU ms"],
                         [[f"`{name}`", t["wall"], t["cpu"]] for name, t in s["ms"].items()]
                         + [["`--print-command` minus `ffmpeg -i` (median of pairs)",
                             over["wall"], over["cpu"]]]
                         + ([["the same, probe not ahead", s["not_ahead_over_ffmpeg_i_ms"]["wall"],
                              s["not_ahead_over_ffmpeg_i_ms"]["cpu"]]]
                            if "not_ahead_over_ffmpeg_i_ms" in s else [])))
        if "floor_ms" in s:
            out.append(f"\nFloor: `{FLOOR_IMPORTS}` alone takes {s['floor_ms']['cpu']} ms CPU, "
                       "before any of ffmotion's own code or its probe.\n")
        cpu_met = (f" (CPU: {'met' if s['met_cpu'] else 'not met'})" if "met_cpu" in s else "")
        out.append(f"\nTarget: at most {s['target_ms']} ms over `ffmpeg -i`, wall: "
                   f"{'met' if s['met'] else 'not met'}{cpu_met}. numpy imported: {s['numpy_imported']}, "
                   f"tqdm imported: {s['tqdm_imported']}, modules loaded: {s['modules_loaded']}.\n")
        out.append("\n`import ffmotion.cli`, CPU ms in one interpreter, layer by layer\n")
        out.append(table(["layer", "CPU ms"], [[k, v] for k, v in s["import_layers_cpu_ms"].items()]))
        out.append("\n`-X importtime`, largest self times (ms, median of 5)\n")
        out.append(table(["module", "self ms"], s["importtime_top_self_ms"]))
        out.append("\nProbing (ms, median): from the MP4 index vs listing every packet\n")
        out.append(table(["clip", "MB", "index ms", "framecrc ms"],
                         [[f"720p {p['seconds']} s", round(p["bytes"] / 1e6, 1), p["index_ms"],
                           p["framecrc_ms"]] for p in s["probe"]]))
    if report.get("energy"):
        for e in report["energy"]:
            out.append(f"\n### energy against the motion graph alone: {e['clip']}, K={e['k']} "
                       f"(time ratio to graph-null, median of rounds; target {e['target']})\n")
            out.append(table(["", "wall s", "CPU s", "ratio to graph-null", "what"],
                             [[c["name"], c["wall_s"], c["cpu_s"],
                               e["ratios"].get(c["name"], 1.0), c["note"]]
                              for c in e["contenders"]]))
    # the sections that are benchmarks of their own, in their own tables
    for key, name, title in (("encoder_defaults", "bench_encoders", "Encoder defaults"),
                             ("stabilize", "bench_stabilize", "Stabilization"),
                             ("chunks", "bench_chunks", "Chunks"),
                             ("live", "bench_live", "Live latency"),
                             ("preview", "bench_preview", "Preview")):
        if report.get(key):
            module = importlib.import_module(f"benchmarks.{name}")
            out.append(f"\n### {title} (benchmarks.{name})\n")
            out.append(module.markdown(report[key]))
    return "\n".join(out) + "\n"


def scaling(args: argparse.Namespace, work: Path, tools: runner.Tools) -> list[dict[str, Any]]:
    """ffmotion on the shortest and longest clip of each size, in alternation: time should
    grow like the frame count, memory not at all."""
    ext, flags, _ = ENCODERS[args.scaling_encoder]
    short, long_ = min(args.durations), max(args.durations)
    rows = []
    for w, h in args.sizes:
        specs = [ClipSpec(w, h, short), ClipSpec(w, h, long_)]
        found = [Contender(spec.name, ffmotion_argv(ensure_clip(spec, args.cache, tools.ffmpeg),
                                                    work / f"scale-{spec.name}{ext}", args.offset,
                                                    tools.ffmpeg, *flags),
                           spec.frames - args.offset)
                 for spec in specs]
        alternate(found, args.scaling_runs, "scaling")
        a, b = (c.summary() for c in found)
        rows.append({"size": f"{w}x{h}", "encoder": args.scaling_encoder, "short": a["name"],
                     "long": b["name"], "frames_ratio": round(b["frames"] / a["frames"], 2),
                     "time_ratio": round(b["wall_s"] / a["wall_s"], 2),
                     "cpu_ratio": round(b["cpu_s"] / a["cpu_s"], 2),
                     "short_s": a["wall_s"], "long_s": b["wall_s"],
                     "peak_short_mib": a["peak_mib"], "peak_long_mib": b["peak_mib"]})
    return rows


# -- main -----------------------------------------------------------------------------------

def parse_args(argv: Optional[list[str]] = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m benchmarks.bench",
                                description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    add_arguments(p, "bench-results",
                  quick="small and short: 360p, 2 s and 6 s clips, 1 run, K up to 120, "
                        "5 start-up rounds")
    p.add_argument("--sizes", type=parse_sizes, default=None, help="e.g. 720p,1080p or 640x360")
    p.add_argument("--durations", type=parse_ints, default=None, help="seconds, e.g. 10,60")
    p.add_argument("--compare-durations", type=parse_ints, default=None,
                   help="clip lengths for the comparison tables (default: --durations)")
    p.add_argument("--runs", type=int, default=None, help="rounds in alternation (default 3)")
    p.add_argument("--offset", type=int, default=12, help="K for the comparisons (default 12)")
    p.add_argument("--encoders", type=lambda t: t.split(","), default=["default", "fast"],
                   help=f"of {', '.join(ENCODERS)} (default: default,fast)")
    p.add_argument("--no-numpy", action="store_true", help="skip the numpy pipeline")
    p.add_argument("--no-opencv", action="store_true", help="skip OpenCV even if installed")
    p.add_argument("--seek-max-seconds", type=int, default=10,
                   help="run the seek-per-frame script only on clips this short (default 10)")
    p.add_argument("--seek-runs", type=int, default=0,
                   help="rounds for the (very slow) seek-per-frame script (default: --runs)")
    p.add_argument("--no-strict-gop", action="store_true",
                   help="skip the strict-GOP (scenecut=0) clip for the seek-per-frame script")
    p.add_argument("--sections", type=lambda t: t.split(","),
                   default=["compare", "scaling", "memory", "startup", "energy"],
                   help="of compare, scaling, memory, startup, energy, encoders, preview, "
                        "stabilize, chunks, live (default: all but the last five, which are "
                        "the benchmarks bench_encoders, bench_preview (Playwright and "
                        "Chromium), bench_stabilize (~10 min), bench_chunks and bench_live "
                        "run from here with their defaults)")
    p.add_argument("--scaling-encoder", default="fast", choices=list(ENCODERS))
    p.add_argument("--scaling-runs", type=int, default=None, help="default: --runs")
    p.add_argument("--memory-k", type=parse_ints, default=None,
                   help="K values (default 12,150,600)")
    p.add_argument("--memory-runs", type=int, default=None, help="default: --runs")
    p.add_argument("--memory-encoder", default="fast", choices=list(ENCODERS))
    p.add_argument("--startup-rounds", type=int, default=None,
                   help="start-up rounds in alternation (default: 15 or 5 x --runs; quick 5)")
    p.add_argument("--chunks-seconds", type=int, default=60,
                   help="length of the 1080p clip of the chunks section (default 60)")
    p.add_argument("--chunk-workers", type=parse_ints, default=[1, 2],
                   help="Dask workers to compare in the chunks section (default 1,2)")
    p.add_argument("--worker", nargs=2, metavar=("KIND", "JOB"), help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.quick:
        args.sizes = args.sizes or [(640, 360)]
        args.durations = args.durations or [2, 6]
        args.runs = args.runs or 1
        args.memory_k = args.memory_k or [6, 30, 120]
        args.startup_rounds = args.startup_rounds or 5
    args.sizes = args.sizes or [(1280, 720), (1920, 1080)]
    args.durations = args.durations or [10, 60]
    args.compare_durations = args.compare_durations or args.durations
    args.runs = args.runs or 3
    args.memory_k = args.memory_k or [12, 150, 600]
    args.memory_runs = args.memory_runs or args.runs
    args.scaling_runs = args.scaling_runs or args.runs
    args.startup_rounds = args.startup_rounds or max(15, args.runs * 5)
    for name in args.encoders:
        if name not in ENCODERS:
            p.error(f"unknown encoder {name}: use {', '.join(ENCODERS)}")
    return args


def main(argv: Optional[list[str]] = None) -> int:
    args = parse_args(argv)
    if args.worker:
        worker(args.worker[0], json.loads(args.worker[1]))
        return 0
    tools = find_tools(args.ffmpeg)
    have_cv2 = False
    if not args.no_opencv:
        try:
            import cv2  # noqa: F401
            have_cv2 = True
        except ImportError:
            print("bench: cv2 not importable: OpenCV rows skipped", file=sys.stderr)
    args.cache.mkdir(parents=True, exist_ok=True)
    report: dict[str, Any] = {"machine": machine(tools), "config": config(args, "worker"),
                              "groups": []}
    specs = [ClipSpec(w, h, s) for (w, h) in args.sizes for s in args.compare_durations]
    if have_cv2 and not args.no_strict_gop and "compare" in args.sections:
        w, h = args.sizes[-1]
        specs.append(ClipSpec(w, h, min(args.compare_durations), gop="strict"))
    with tempfile.TemporaryDirectory(prefix="ffmotion-bench-") as tmp:
        work = Path(tmp)
        if "compare" in args.sections:
            for spec in specs:
                src = ensure_clip(spec, args.cache, tools.ffmpeg)
                encoders = args.encoders if spec.gop == "normal" else ["fast"]
                for encoder in encoders:
                    if spec.gop == "strict" and ".avi" != ENCODERS[encoder][0]:
                        continue
                    found = contenders_for(spec, src, encoder, args.offset, work, tools, args,
                                           have_cv2)
                    if spec.gop == "strict":
                        found = [c for c in found if c.name in ("ffmotion", "cv-seek")]
                        if len(found) < 2:
                            continue
                    alternate(found, args.runs, f"{spec.name} {encoder}")
                    group = {"clip": spec.name, "size": f"{spec.width}x{spec.height}",
                             "seconds": spec.seconds, "gop": spec.gop, "frames": spec.frames,
                             "encoder": encoder, "contenders": [c.summary() for c in found],
                             "ratios": ratios(found, spec)}
                    report["groups"].append(group)
                    print(markdown({**report, "groups": [group], "machine": {
                        **report["machine"], "loadavg_end": os.getloadavg()}}), flush=True)
        if "scaling" in args.sections:
            report["scaling"] = scaling(args, work, tools)
        if "memory" in args.sections:
            w, h = args.sizes[-1]
            spec = ClipSpec(w, h, max(args.durations))
            report["memory"] = memory_vs_k(args, spec, ensure_clip(spec, args.cache, tools.ffmpeg),
                                           work, tools)
        if "startup" in args.sections:
            spec = ClipSpec(*args.sizes[0], min(args.durations))
            report["startup"] = startup(args, ensure_clip(spec, args.cache, tools.ffmpeg), work,
                                        tools.ffmpeg)
        if "energy" in args.sections:
            report["energy"] = []
            for w, h in args.sizes:
                spec = ClipSpec(w, h, min(args.durations))
                report["energy"].append(energy_section(
                    args, spec, ensure_clip(spec, args.cache, tools.ffmpeg), work, tools))
        if "encoders" in args.sections:
            # settings by BD-rate on real footage, A/B against a transcode
            from benchmarks import bench_encoders

            enc_args = bench_encoders.parse_args(["--ffmpeg", tools.ffmpeg, "--cache",
                                                  str(args.cache), "--runs", str(args.runs)])
            enc_report = bench_encoders.run(enc_args, tools)
            print(bench_encoders.markdown(enc_report), flush=True)
            report["encoder_defaults"] = enc_report
        if "live" in args.sections:
            from benchmarks import bench_live  # camera frame to output frame

            report["live"] = bench_live.run(ffmpeg=tools.ffmpeg)
            print(bench_live.markdown(report["live"]), flush=True)
        if "stabilize" in args.sections:
            from benchmarks import bench_stabilize  # tripod against smoothing

            report["stabilize"] = bench_stabilize.run(tools)
            print(bench_stabilize.markdown(report["stabilize"]), flush=True)
        if "chunks" in args.sections:
            from benchmarks import bench_chunks  # --chunks over Dask workers

            spec = ClipSpec(1920, 1080, args.chunks_seconds)
            report["chunks"] = bench_chunks.run(ensure_clip(spec, args.cache, tools.ffmpeg),
                                                work, tools, k=args.offset,
                                                workers=tuple(args.chunk_workers))
            print(bench_chunks.markdown(report["chunks"]), flush=True)
        if "preview" in args.sections:
            from benchmarks import bench_preview  # browser-measured figures

            spec = ClipSpec(1920, 1080, 10)
            report["preview"] = bench_preview.run(ensure_clip(spec, args.cache, tools.ffmpeg),
                                                  tools.ffmpeg)
            print(bench_preview.markdown(report["preview"]), flush=True)
    report["machine"]["loadavg_end"] = os.getloadavg()
    return publish(args, tools, report, markdown)


if __name__ == "__main__":
    sys.exit(main())
