"""What the benchmarks share: ffmpeg, the bench clips, timing a command, contenders run in
alternation, ratios, the machine, and writing the results.

Every benchmark runs from the repository root as a module (``python -m benchmarks.bench``):
the root is then first on ``sys.path``, so ``benchmarks`` and ``ffmotion`` import with no
path changes, and so do the tests' helpers. The numpy reference (the independent model every
look is held to) belongs to the tests: import it as ``from tests import reference`` (likewise
``tests.corpus``). ``tests/`` has no ``__init__.py``: from the root it is a namespace package
(a regular package named ``tests`` installed in site-packages would shadow it).

Results: a script writes ``NAME.json`` and ``NAME.md`` into ``--out`` (default
``benchmarks/results/``; with ``--quick`` a temporary folder unless ``--out`` is given), NAME
a stable name without a date that the caller chooses (``--name``, each script has a default).
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import re
import shlex
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Optional, Sequence

import ffmpeg  # ffmpeg-python, a dependency of ffmotion

from ffmotion.run import runner

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "results"
CACHE = Path(tempfile.gettempdir()) / "ffmotion-bench"  # generated clips, kept between runs
QUICK_OUT = Path(tempfile.gettempdir()) / "ffmotion-bench-quick"  # --quick without --out
MiB = 2**20


# -- ffmpeg and ffmotion's command line --------------------------------------------------------

def tools(ffmpeg_bin: Optional[str] = None) -> runner.Tools:
    """The ffmpeg ffmotion would run (``--ffmpeg``, ``$FFMOTION_FFMPEG``, PATH, the bundled one)."""
    return runner.tools(ffmpeg_bin)


def run(argv: Sequence[str], **kwargs: Any) -> "subprocess.CompletedProcess[str]":
    """Run ``argv`` to completion, output captured as text; a failure raises with the tail of
    its stderr."""
    done = subprocess.run(list(argv), capture_output=True, text=True, **kwargs)
    if done.returncode != 0:
        raise RuntimeError(f"failed ({done.returncode}): {shlex.join(argv)}\n"
                           f"{done.stderr[-2000:]}")
    return done


def ffmpeg_argv(ffmpeg_bin: str, out: Any) -> list[str]:
    """argv of an ffmpeg-python output node, quiet, overwriting."""
    return [ffmpeg_bin, "-hide_banner", "-nostdin", "-v", "error", "-y", *out.get_args()]


def ffmotion_argv(src: Path, dst: Path, k: int, ffmpeg_bin: str, *flags: str) -> list[str]:
    """The ffmotion command line (this Python), quiet, overwriting."""
    return [sys.executable, "-m", "ffmotion", str(src), str(dst), "-k", str(k), "-y", "-q",
            "--ffmpeg", ffmpeg_bin, *flags]


def printed_command(argv: list[str]) -> list[str]:
    """The ffmpeg command an ffmotion command line runs (its ``--print-command``)."""
    return shlex.split(run([*argv, "--print-command"]).stdout)


def quality(ffmpeg_bin: str, test: Path, ref: Path,
            pix_fmt: Optional[str] = None) -> tuple[float, float]:
    """(PSNR dB averaged over the planes, SSIM "All") of ``test`` against ``ref``, frames
    paired by index (to the shorter's end); both in ``pix_fmt`` first when given. PSNR is
    ``inf`` where they are identical."""
    fmt = f"format={pix_fmt}," if pix_fmt else ""
    lavfi = (f"[0:v]{fmt}settb=AVTB,setpts=N,split[a1][a2];"
             f"[1:v]{fmt}settb=AVTB,setpts=N,split[b1][b2];"
             "[a1][b1]psnr=eof_action=endall;[a2][b2]ssim=eof_action=endall")
    err = run([ffmpeg_bin, "-hide_banner", "-nostdin", "-i", str(test), "-i", str(ref),
               "-lavfi", lavfi, "-f", "null", "-"]).stderr
    psnr = re.search(r"PSNR .*average:([\d.]+|inf)", err)
    ssim = re.search(r"SSIM .*All:([\d.]+)", err)
    if not (psnr and ssim):
        raise RuntimeError(f"no PSNR/SSIM from ffmpeg: {err[-1000:]}")
    return float(psnr.group(1)), float(ssim.group(1))


# -- the bench clips -----------------------------------------------------------------------------

@dataclass(frozen=True)
class ClipSpec:
    width: int
    height: int
    seconds: int
    fps: int = 30
    gop: str = "normal"  # "normal": x264 defaults (keyint 250 + scenecut); "strict": scenecut=0

    @property
    def name(self) -> str:
        extra = "" if self.gop == "normal" else f"-{self.gop}gop"
        return f"{self.height}p{self.fps}-{self.seconds}s{extra}"

    @property
    def frames(self) -> int:
        return self.seconds * self.fps


def _lavfi(name: str, **params: Any) -> Any:
    return ffmpeg.input(name + "=" + ":".join(f"{k}={v}" for k, v in params.items()), f="lavfi")


def clip_argv(spec: ClipSpec, dst: Path, ffmpeg_bin: str) -> list[str]:
    """A mostly static scene with moving objects and temporal noise, x264 veryfast CRF 20."""
    w, h, common = spec.width, spec.height, {"r": spec.fps, "d": spec.seconds}
    scene = (
        _lavfi("color", c="0x2f4f6f", s=f"{w}x{h}", **common)
        .filter("drawgrid", w=w // 32, h=w // 32, t=1, c="white@0.25")
        .filter("drawbox", x=w // 10, y=h // 2, w=w // 5, h=h // 3, c="0xc8a050", t="fill")
        .filter("drawbox", x=w * 6 // 10, y=h // 6, w=w // 4, h=h // 5, c="0x80b060", t="fill")
    )
    sweeper = _lavfi("testsrc2", s=f"{w // 8}x{w // 8}", **common)
    circler = _lavfi("color", c="0xe04040", s=f"{w // 24}x{w // 24}", **common)
    video = ffmpeg.overlay(scene, sweeper, x=f"mod(t*{w // 6},W+w)-w", y=h // 8)
    video = ffmpeg.overlay(video, circler, x="W/2+W/6*cos(2*t)-w/2", y="H/2+H/5*sin(2*t)-h/2")
    video = video.filter("noise", alls=6, allf="t").filter("format", "yuv420p")
    x264 = {"c:v": "libx264", "preset": "veryfast", "crf": 20}
    if spec.gop == "strict":
        x264["x264-params"] = "scenecut=0"
    return ffmpeg_argv(ffmpeg_bin, ffmpeg.output(video, str(dst), **x264))


def ensure_clip(spec: ClipSpec, cache: Path, ffmpeg_bin: str) -> Path:
    """The clip of ``spec`` in ``cache``, made once."""
    path = cache / f"{spec.name}.mp4"
    if not path.exists():
        cache.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp.mp4")
        print(f"bench: generating {path.name} ...", file=sys.stderr, flush=True)
        subprocess.run(clip_argv(spec, tmp, ffmpeg_bin), check=True)
        tmp.replace(path)
    return path


SIZES = {"360p": (640, 360), "720p": (1280, 720), "1080p": (1920, 1080), "2160p": (3840, 2160)}


def parse_size(text: str) -> tuple[int, int]:
    """``720p`` or ``640x360``."""
    if text in SIZES:
        return SIZES[text]
    w, h = text.lower().split("x")
    return int(w), int(h)


def parse_sizes(text: str) -> list[tuple[int, int]]:
    return [parse_size(part) for part in text.split(",") if part]


def parse_ints(text: str) -> list[int]:
    return [int(x) for x in text.split(",") if x]


# -- measuring -------------------------------------------------------------------------------------

@dataclass
class Sample:
    wall: float
    cpu: float
    rss_mib: float


def measure(argv: list[str], env: Optional[dict[str, str]] = None, check: bool = True,
            cwd: Optional[Path] = None) -> Sample:
    """Run ``argv`` to completion: wall seconds, CPU seconds (user + system of the process
    tree) and peak RSS, from the child's resource usage (``os.wait4``, as
    ``resource.getrusage(RUSAGE_CHILDREN)`` counts it: ``ru_maxrss`` is the largest single
    process of the tree, which for the ffmotion CLI is its ffmpeg child)."""
    err = tempfile.TemporaryFile()
    started = time.perf_counter()
    proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                            stderr=err, env=env, cwd=cwd)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - started
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0 and check:
        err.seek(0)
        tail = err.read().decode("utf-8", "replace")[-2000:]
        raise RuntimeError(f"failed ({proc.returncode}): {shlex.join(argv)}\n{tail}")
    err.close()
    # ru_maxrss is KiB on Linux
    return Sample(wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024)


@dataclass
class Contender:
    """One way of doing the job, measured in alternation with the others."""

    name: str
    argv: list[str]
    frames: int = 0  # output frames, for frames/s
    note: str = ""
    runs: Optional[int] = None  # fewer runs for very slow ones
    samples: list[Optional[Sample]] = field(default_factory=list)  # one per round, None: skipped

    def done(self) -> list[Sample]:
        return [s for s in self.samples if s is not None]

    def median(self, what: str = "wall") -> float:
        return statistics.median(getattr(s, what) for s in self.done())

    def summary(self) -> dict[str, Any]:
        done = self.done()
        wall = self.median("wall")
        return {
            "name": self.name, "note": self.note, "runs": len(done), "frames": self.frames,
            "wall_s": round(wall, 3), "cpu_s": round(self.median("cpu"), 3),
            "peak_mib": round(max(s.rss_mib for s in done), 1),
            "fps": round(self.frames / wall, 1),
            "walls": [round(s.wall, 3) for s in done],
            "command": shlex.join(self.argv),
        }


def alternate(contenders: list[Contender], runs: int, label: str, tag: str = "bench") -> None:
    """``runs`` rounds; each round runs every contender once, the order rotated per round."""
    for r in range(runs):
        turn = r % len(contenders)
        for c in contenders[turn:] + contenders[:turn]:
            if c.runs is not None and r >= c.runs:
                continue
            sample = measure(c.argv)
            print(f"{tag}: {label} round {r + 1}/{runs} {c.name:<11} {sample.wall:8.2f} s "
                  f"{sample.cpu:8.2f} cpu {sample.rss_mib:8.1f} MiB", file=sys.stderr, flush=True)
            c.samples.append(sample)
        for c in contenders:  # keep samples aligned by round
            if len(c.samples) < r + 1:
                c.samples.append(None)


def paired(a: Contender, b: Contender, what: str = "wall") -> list[float]:
    """Per round, a / b (wall or cpu), over the rounds where both ran."""
    return [getattr(x, what) / getattr(y, what) for x, y in zip(a.samples, b.samples)
            if x and y]


def paired_ratio(a: Contender, b: Contender, what: str = "wall") -> Optional[float]:
    """Median over rounds of a / b, using only rounds where both ran."""
    pairs = paired(a, b, what)
    return round(statistics.median(pairs), 4) if pairs else None


def percentile(values: Sequence[float], q: float) -> float:
    """The value at quantile ``q`` (nearest rank)."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))]


def loadavg() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


def machine(found: runner.Tools) -> dict[str, Any]:
    """The machine the numbers come from: CPU, cores, memory, platform, Python, ffmpeg,
    OpenCV (if importable), the load average at the start."""
    cpu = ""
    try:
        cpu = next(line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo")
                   if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    mem = ""
    try:
        kib = next(int(line.split()[1]) for line in open("/proc/meminfo")
                   if line.startswith("MemTotal"))
        mem = f"{kib / 2**20:.1f} GiB"
    except (OSError, StopIteration):
        pass
    try:
        import cv2
        cv = cv2.__version__
    except ImportError:
        cv = None
    return {"cpu": cpu, "cores": os.cpu_count(), "usable_cpus": runner.cpus(), "memory": mem,
            "platform": platform.platform(), "python": platform.python_version(),
            "ffmpeg": f"{found.ffmpeg} ({found.version})", "opencv": cv,
            "loadavg_start": os.getloadavg()}


# -- results -------------------------------------------------------------------------------------

def table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    """A markdown table (None: empty cell; booleans: yes/no)."""
    def fmt(v: Any) -> str:
        if v is None:
            return ""
        if isinstance(v, bool):
            return "yes" if v else "no"
        return str(v)
    lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    lines += ["| " + " | ".join(fmt(v) for v in row) + " |" for row in rows]
    return "\n".join(lines)


def add_arguments(parser: argparse.ArgumentParser, name: str, quick: Optional[str] = None,
                  ffmpeg_bin: bool = True, cache: bool = True) -> None:
    """The options every benchmark has: ``--ffmpeg``, ``--cache``, ``--out``, ``--name``
    and (with its help text) ``--quick``."""
    if ffmpeg_bin:
        parser.add_argument("--ffmpeg", help="ffmpeg binary (default: the one ffmotion finds)")
    if cache:
        parser.add_argument("--cache", type=Path, default=CACHE,
                            help=f"where generated clips are kept between runs (default {CACHE})")
    parser.add_argument("--out", type=Path,
                        help="folder for the results, NAME.json and NAME.md (default "
                             "benchmarks/results/; with --quick a temporary folder)")
    parser.add_argument("--name", default=name,
                        help=f"file name of the results, no date (default {name})")
    if quick:
        parser.add_argument("--quick", action="store_true", help=quick)


def results_dir(args: argparse.Namespace) -> Path:
    """``--out``; else a temporary folder for ``--quick``, benchmarks/results/ otherwise."""
    if args.out is not None:
        return Path(args.out)
    return QUICK_OUT if getattr(args, "quick", False) else RESULTS


def write_results(args: argparse.Namespace, report: dict[str, Any], text: str) -> list[Path]:
    """``report`` as NAME.json and ``text`` as NAME.md in :func:`results_dir`."""
    folder = results_dir(args)
    folder.mkdir(parents=True, exist_ok=True)
    written = [folder / f"{args.name}.json", folder / f"{args.name}.md"]
    written[0].write_text(json.dumps(report, indent=2, default=str) + "\n")
    written[1].write_text(text.rstrip("\n") + "\n")
    print(f"results: {written[0]} {written[1]}", file=sys.stderr)
    return written


def config(args: argparse.Namespace, *leave_out: str) -> dict[str, Any]:
    """The options of a run, as JSON values (paths as text)."""
    return json.loads(json.dumps({k: v for k, v in vars(args).items() if k not in leave_out},
                                 default=str))


def publish(args: argparse.Namespace, found: runner.Tools, results: dict[str, Any],
            markdown: Callable[[dict[str, Any]], str], show: bool = True) -> int:
    """The report (the machine, the options, then ``results``, whose keys win): its
    ``markdown`` printed (``show``), both written (:func:`write_results`); 0, the exit
    status."""
    report = {"machine": machine(found), "config": config(args), **results}
    text = markdown(report)
    if show:
        print(text)
    write_results(args, report, text)
    return 0
