"""Start-up of two source trees side by side: ``ffmotion IN OUT --print-command`` (and
``--help``), each tree run as ``python -m ffmotion`` with its own folder first on
``PYTHONPATH``, in alternation, ``--runs`` rounds; wall and CPU medians and the paired
median ratio after/before.

The "before" tree is any checkout or export of an earlier commit, e.g.::

    git archive 4aaa1a4 | tar -x -C /tmp/ffmotion-before
    python -m benchmarks.bench_startup_ab --before /tmp/ffmotion-before --runs 30
"""
from __future__ import annotations

import argparse
import compileall
import os
import statistics
import sys
import tempfile
from pathlib import Path
from typing import Any

from benchmarks import common


def _clean_env() -> dict[str, str]:
    env = dict(os.environ)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env.pop("_ARGCOMPLETE", None)
    return env


def main() -> int:
    p = argparse.ArgumentParser(prog="python -m benchmarks.bench_startup_ab", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--before", type=Path, required=True, help="the earlier source tree")
    p.add_argument("--after", type=Path, default=common.ROOT,
                   help="the later source tree (default: this checkout)")
    p.add_argument("--runs", type=int, default=30, help="rounds (default 30)")
    common.add_arguments(p, "bench-startup-ab", quick="3 rounds", cache=False)
    args = p.parse_args()
    runs = 3 if args.quick else args.runs
    found = common.tools(args.ffmpeg)
    work = Path(tempfile.mkdtemp(prefix="ffmotion-startup-"))
    src = work / "in.mp4"
    common.run([found.ffmpeg, "-hide_banner", "-nostdin", "-v", "error", "-f", "lavfi", "-i",
                "testsrc2=s=640x360:r=30:d=2", "-c:v", "libx264", "-preset", "ultrafast",
                str(src)])
    trees = {"before": args.before.resolve(), "after": args.after.resolve()}
    for tree in trees.values():
        compileall.compile_dir(str(tree / "ffmotion"), quiet=1)  # as an installed wheel has it
    contenders: list[common.Contender] = []
    forms = {"--print-command": [str(src), str(work / "out.mp4"), "-k", "12", "--ffmpeg",
                                 found.ffmpeg, "--print-command"],
             "--help": ["--help"]}
    for form, argv in forms.items():
        for name, tree in trees.items():
            # measure() takes no env: each tree first on PYTHONPATH through env(1)
            contenders.append(common.Contender(
                f"{name} {form}",
                ["env", f"PYTHONPATH={tree}", sys.executable, "-m", "ffmotion", *argv]))
    for c in contenders:  # warm: facts remembered, bytecode read once
        common.measure(c.argv, env=_clean_env())
    common.alternate(contenders, runs, "startup", tag="startup-ab")
    results: dict[str, Any] = {"runs": runs, "trees": {k: str(v) for k, v in trees.items()},
                               "ms": {}, "ratio_after_before": {}}
    rows = []
    for c in contenders:
        walls = [s.wall * 1000 for s in c.done()]
        cpus = [s.cpu * 1000 for s in c.done()]
        results["ms"][c.name] = {"wall_median": round(statistics.median(walls), 1),
                                 "wall_p10": round(common.percentile(walls, 0.1), 1),
                                 "wall_p90": round(common.percentile(walls, 0.9), 1),
                                 "cpu_median": round(statistics.median(cpus), 1),
                                 "walls": [round(w, 1) for w in walls]}
        rows.append([c.name, results["ms"][c.name]["wall_median"],
                     results["ms"][c.name]["wall_p10"], results["ms"][c.name]["wall_p90"],
                     results["ms"][c.name]["cpu_median"]])
    for i, form in enumerate(forms):
        before, after = contenders[2 * i], contenders[2 * i + 1]
        results["ratio_after_before"][form] = {
            "wall": common.paired_ratio(after, before, "wall"),
            "cpu": common.paired_ratio(after, before, "cpu")}

    def markdown(report: dict[str, Any]) -> str:
        ratios = "\n".join(f"- {form}: after/before wall {r['wall']}, CPU {r['cpu']} "
                           "(median of per-round ratios)"
                           for form, r in report["ratio_after_before"].items())
        return (f"# Start-up, two trees side by side ({runs} rounds in alternation)\n\n"
                f"before: `{trees['before']}`  \nafter: `{trees['after']}`\n\n"
                + common.table(["run", "wall ms (median)", "p10", "p90", "CPU ms (median)"],
                               rows) + "\n\n" + ratios + "\n")

    return common.publish(args, found, results, markdown)


if __name__ == "__main__":
    sys.exit(main())
