"""The installs the manual documents, tried for real from a source tree: ``pipx install
TREE`` and ``uv tool install TREE``, each into its own temporary home (``PIPX_HOME``,
``UV_TOOL_DIR``: nothing of the user's is touched), with pipx and uv themselves installed
from the package index into a scratch virtual environment. The installed ``ffmotion`` then
runs the built-in demo (``demo --json``: ok, both files written), ``doctor --json`` (can
run), ``completion bash`` and ``--help``; the man page is looked for where each tool puts
it, and rendered with ``man -l`` where man exists. Times: wall seconds of each step (the
installs with cold caches: they download the dependencies, so they measure the network
too).

Not a test: it needs the package index and ~30 s, more than a test may take in CI
(docs/cli-conventions.md, "Installs", has the measured result)::

    python -m benchmarks.bench_installs            # this checkout
    python -m benchmarks.bench_installs --tree DIR --tools pipx
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import venv
from pathlib import Path
from typing import Any, Optional

from benchmarks import common


def timed(argv: list[str], env: dict[str, str], cwd: Optional[Path] = None,
          ) -> tuple[float, "subprocess.CompletedProcess[str]"]:
    started = time.perf_counter()
    done = subprocess.run(argv, capture_output=True, text=True, env=env, cwd=cwd, timeout=900)
    seconds = round(time.perf_counter() - started, 2)
    if done.returncode not in (0,):
        raise RuntimeError(f"failed ({done.returncode}): {' '.join(argv)}\n"
                           f"{done.stdout[-1500:]}\n{done.stderr[-1500:]}")
    return seconds, done


def check_installed(program: Path, man_page: Optional[Path], env: dict[str, str],
                    work: Path) -> dict[str, Any]:
    """Run the installed program as a user would, and read its man page."""
    demo_dir = work / f"demo-{program.parent.name}"
    demo_dir.mkdir()
    seconds, done = timed([str(program), "demo", "--json"], env, cwd=demo_dir)
    report = json.loads(done.stdout)
    written = {o["role"]: o["bytes"] for o in report["outputs"]}
    assert report["ok"] and all(written.values()), report
    _, doctor = timed([str(program), "doctor", "--json"], env)
    diagnosis = json.loads(doctor.stdout)["result"]
    assert diagnosis["can_run"], diagnosis
    _, completion = timed([str(program), "completion", "bash"], env)
    assert "complete " in completion.stdout
    _, helped = timed([str(program), "--help"], env)
    rendered = None
    if man_page is not None and man_page.is_file() and shutil.which("man"):
        _, page = timed(["man", "-l", str(man_page)], {**env, "MANWIDTH": "80", "PAGER": "cat"})
        rendered = "ffmotion" in page.stdout and "doctor" in page.stdout
    return {"demo_s": seconds, "demo_frames": report["frames"], "demo_outputs": written,
            "ffmpeg": diagnosis["ffmpeg"]["path"], "ffmpeg_source": diagnosis["ffmpeg"]["source"],
            "features_missing": diagnosis["missing"], "completion_bash_lines":
            len(completion.stdout.splitlines()), "help_lines": len(helped.stdout.splitlines()),
            "man_page": str(man_page) if man_page and man_page.is_file() else None,
            "man_renders": rendered}


def main() -> int:
    p = argparse.ArgumentParser(prog="python -m benchmarks.bench_installs", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--tree", type=Path, default=common.ROOT,
                   help="the source tree to install (default: this checkout)")
    p.add_argument("--tools", default="pipx,uv", help="which installers (default pipx,uv)")
    p.add_argument("--keep", action="store_true", help="keep the temporary folder")
    common.add_arguments(p, "bench-installs", cache=False)
    args = p.parse_args()
    found = common.tools(args.ffmpeg)
    work = Path(tempfile.mkdtemp(prefix="ffmotion-installs-"))
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("VIRTUAL_ENV", "PIPX_", "UV_", "FFMOTION_"))}
    env["XDG_CACHE_HOME"] = str(work / "xdg-cache")  # ffmotion's facts, pip's cache: cold
    env["PIP_NO_CACHE_DIR"] = "1"
    results: dict[str, Any] = {"tree": str(args.tree.resolve()), "steps": {}}
    try:
        scratch = work / "tools"
        venv.create(scratch, with_pip=True)
        wanted = [t for t in args.tools.split(",") if t]
        seconds, _ = timed([str(scratch / "bin" / "pip"), "install", "--quiet", *wanted], env)
        results["steps"]["pip install " + " ".join(wanted)] = seconds
        versions = {t: timed([str(scratch / "bin" / t), "--version"], env)[1].stdout.strip()
                    .removeprefix(f"{t} ") for t in wanted}
        results["versions"] = versions
        if "pipx" in wanted:
            home = {**env, "PIPX_HOME": str(work / "pipx-home"),
                    "PIPX_BIN_DIR": str(work / "pipx-bin"), "PIPX_MAN_DIR": str(work / "pipx-man")}
            seconds, _ = timed([str(scratch / "bin" / "pipx"), "install", str(args.tree)], home)
            results["steps"]["pipx install TREE"] = seconds
            results["pipx"] = check_installed(work / "pipx-bin" / "ffmotion",
                                              work / "pipx-man" / "man1" / "ffmotion.1", env, work)
        if "uv" in wanted:
            home = {**env, "UV_TOOL_DIR": str(work / "uv-tools"),
                    "UV_TOOL_BIN_DIR": str(work / "uv-bin"), "UV_CACHE_DIR": str(work / "uv-cache")}
            seconds, _ = timed([str(scratch / "bin" / "uv"), "tool", "install", str(args.tree)],
                               home)
            results["steps"]["uv tool install TREE"] = seconds
            results["uv"] = check_installed(
                work / "uv-bin" / "ffmotion",
                work / "uv-tools" / "ffmotion" / "share" / "man" / "man1" / "ffmotion.1", env, work)
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)

    def markdown(report: dict[str, Any]) -> str:
        rows = [[step, secs] for step, secs in report["steps"].items()]
        checks = []
        for tool in ("pipx", "uv"):
            got = report.get(tool)
            if got:
                checks.append([tool, got["demo_s"], got["demo_frames"],
                               ", ".join(f"{k} {v} B" for k, v in got["demo_outputs"].items()),
                               got["ffmpeg_source"], len(got["features_missing"]),
                               got["completion_bash_lines"], got["man_page"] is not None,
                               got["man_renders"]])
        return ("# Installs from the source tree, tried for real\n\n"
                f"{', '.join(f'{k} {v}' for k, v in report['versions'].items())}; "
                "cold caches (downloads included)\n\n"
                + common.table(["step", "wall s"], rows) + "\n\n"
                + common.table(["installed by", "demo s", "demo frames", "demo outputs",
                                "ffmpeg from", "features missing", "bash completion lines",
                                "man page installed", "man -l renders"], checks) + "\n")

    return common.publish(args, found, results, markdown)


if __name__ == "__main__":
    sys.exit(main())
