"""``batch --emit-commands``: the jobs as shell lines or JSON lines, to run elsewhere."""
from __future__ import annotations

import concurrent.futures
import dataclasses
import json
import logging
import os
from pathlib import Path
from typing import Optional, Sequence, Union

from ffmotion import graph
from ffmotion.core import names
from ffmotion.core.errors import FfmotionError, UsageError, field
from ffmotion.core.version import __version__
from ffmotion.graph import outputs as graph_outputs
from ffmotion.jobs.display import Display
from ffmotion.jobs.inputs import VIDEO_EXTENSIONS
from ffmotion.jobs.records import Job, Outcome, Record, output_done
from ffmotion.jobs.records import job_record as _record
from ffmotion.pipeline import controller, stabilize
from ffmotion.run import outputs, runner

log = logging.getLogger("ffmotion")

log = logging.getLogger("ffmotion")


# -- emitted commands -------------------------------------------------------------------

def emit_commands(jobs: list[Job], ffmpeg: Optional[str], dest: str, workers: int,
                  display: "Display") -> Outcome:
    """Probe every input and write its ffmpeg command to ``dest`` instead of running it.

    ``.sh`` (or ``-``, stdout): a POSIX shell script, one quoted command a line, runnable with
    ``sh`` or GNU ``parallel``; ``.jsonl``: one ``{"input", "output", "argv"}`` object a line.
    Inputs whose output exists are skipped (unless --overwrite), as a run would skip them.
    """
    tools = runner.tools(ffmpeg)

    shell = not dest.endswith(".jsonl")

    def one(job: Job) -> tuple[Record, Optional[list[list[str]]]]:
        if output_done(job.dst) and not job.output.overwrite:
            return _record(job, "skipped"), None
        try:
            plan = controller.prepare(job.request, tools)
            plan = stabilize.settle(plan, tools, run=False)  # --stabilize auto analyses here
        except FfmotionError as exc:
            return _record(job, "failed", error=" ".join(str(exc).split())), None
        argvs = controller.commands(plan, tools.ffmpeg)  # stabilization pass 1 first, if any
        record = _record(job, "emitted", frames=plan.out_frames, k=plan.k, argv=argvs[-1])
        if shell:
            return record, [[shell_line(plan, tools.ffmpeg)]]
        return record, argvs

    with concurrent.futures.ThreadPoolExecutor(max_workers=workers) as pool:
        results = list(pool.map(one, jobs))
    for job, (record, _) in zip(jobs, results):
        display.finished(job.index, record)
    commands = [(record, argvs) for record, argvs in results if argvs is not None]
    if dest.endswith(".jsonl"):
        lines = [json.dumps({"input": r.input, "output": r.output, "argv": argvs[-1],
                             **({"before": argvs[:-1]} if len(argvs) > 1 else {})})
                 for r, argvs in commands]
    else:
        lines = [SCRIPT_HEAD.decode(),
                 f"# ffmotion {__version__} batch: {len(commands)} job(s), one a line.",
                 "# Run with: sh THIS_FILE   or: parallel -j N < THIS_FILE"]
        lines += [argvs[0][0] for _, argvs in commands]
    text = "\n".join(lines) + "\n"
    outputs.write_text(dest, text, what=field("emit_commands"), overwrite=True,
                       executable=not dest.endswith(".jsonl"))
    return Outcome([record for record, _ in results])


SCRIPT_HEAD = b"#!/bin/sh\n# ffmotion "
REPORT_HEAD = b'{\n  "ffmotion": '
JSONL_HEAD = b'{"input": '


def shell_line(plan: graph.Plan, ffmpeg: str) -> str:
    """One job of an emitted ``.sh``: one complete line, safe to run twice at once.

    The line makes its own temporary folder beside the output (``mktemp -d``: unique per
    run of the line, so a retry or a second node never shares it), runs pass 1 (if any) and
    the motion graph in it, and commits the output only when ffmpeg succeeded: ``ln``, which
    fails rather than replace a file that appeared meanwhile (``mv -f`` with --overwrite).
    The folder goes away in every case (``trap ... EXIT``). Names are quoted without any
    control character on the line (:func:`names.sh_join`), so line-per-job runners
    (``parallel < jobs.sh``, ``xargs``) see one command per job; dash and bash run it alike.
    """
    output = plan.output
    dst = Path(os.path.abspath(output.path))
    src = Path(os.path.abspath(plan.info.path))
    request = plan.request.with_input(path=src).with_output(path=dst)
    here = dataclasses.replace(plan, info=dataclasses.replace(plan.info, path=src),
                               request=request)
    stab = here.stabilizer
    if stab is not None and stab.transforms is not None:  # pass 1's result stays in the folder
        here = dataclasses.replace(here, stabilizer=dataclasses.replace(
            stab, transforms=Path("transforms.trf"), motions=Path("motions.trf")))
    binary = os.path.abspath(ffmpeg) if os.sep in ffmpeg else ffmpeg
    sequence = graph_outputs.is_sequence(dst)
    # never starts with '-', never a pattern (an image sequence's is the user's own)
    result = Path(f"./{dst.name}") if sequence else Path(f"out{dst.suffix}")
    argvs = []
    argvs.extend(stabilize.analysis_commands(here, binary))
    argvs.append(graph.command(here, binary, result, overwrite=True))
    if sequence:
        # the images beside the others, the first one last: it marks the set as whole
        head = graph_outputs.sequence_file(dst, 1).name
        move = ["mv", "-f"] if output.overwrite else ["ln"]
        argvs.append(["find", ".", "-type", "f", "!", "-name", head, "!", "-name", "*.trf",
                      "-exec", *move, "{}", str(dst.parent) + "/", ";"])
        argvs.append([*move, head, str(dst.parent / head)])
    elif output.overwrite:
        argvs.append(["mv", "-f", str(result), str(dst)])
    else:
        argvs.append(["ln", str(result), str(dst)])
    stem = os.fsencode(dst.stem)[:64].decode("utf-8", "ignore")
    template = dst.parent / f".{stem}{runner.TEMP_MARK}.XXXXXXXX"
    body = (f"d=$(mktemp -d {names.sh_quote(str(template))}) || exit 1; "
            "trap 'rm -rf \"$d\"' EXIT; trap 'exit 129' HUP INT TERM; cd \"$d\" || exit 1; "
            + " && ".join(names.sh_join(argv) for argv in argvs))
    line = f"( {names.newline_setup(body)}{body} )"
    if not output.overwrite:
        done = graph_outputs.sequence_file(dst, 1) if sequence else dst
        line = f"[ -e {names.sh_quote(str(done))} ] || {line}"
    return line


def check_emit_path(dest: str) -> None:
    if not outputs.is_stream(dest) and not dest.endswith((".sh", ".jsonl")):
        raise UsageError(f"{field('emit_commands')} {outputs.shown(dest)}: use a .sh (shell "
                         "script) or .jsonl (JSON lines) file, or - for a script on stdout")


def check_written_files(report: Optional[str], emit: Optional[str], overwrite: bool,
                        inputs: Sequence[Path], jobs: Sequence[Job]) -> None:
    """The report and the emitted commands (``--report``, ``--emit-commands``) under the
    safe-write rule: never an input (also one the search found), never a planned output or
    each other, never an existing file that is not ffmotion's own earlier report/script
    without ``overwrite``."""
    if report == "-" and emit == "-":
        raise UsageError(f"{field('report')} - and {field('emit_commands')} - would both write "
                         "to stdout: give one of them a file")
    planned: dict[str, Union[str, Path]] = {f"the output for {outputs.shown(job.src)}": job.dst
                                            for job in jobs}
    chosen: dict[str, Optional[str]] = {field("report"): report, field("emit_commands"): emit}
    for (option, path), is_report in zip(chosen.items(), (True, False)):
        if not path:
            continue
        others: dict[str, Union[str, Path]] = {
            **planned, **{k: v for k, v in chosen.items() if k != option and v}}
        if is_report:
            ours = outputs.starts_with(REPORT_HEAD)
        else:
            ours = outputs.starts_with(JSONL_HEAD if path.endswith(".jsonl") else SCRIPT_HEAD)
        outputs.check_target(path, what=option, overwrite=overwrite, inputs=inputs,
                             others=others, stream=True, ours=ours)
        target = Path(path)
        if (not outputs.is_stream(path) and target.is_file() and not ours(target)
                and target.suffix.lower() in VIDEO_EXTENSIONS | set(graph.CONTAINERS)):
            # --overwrite is about outputs; `--report *.mp4` (name forgotten) must not eat a clip
            raise UsageError(f"{option} {outputs.shown(path)} is a video file: refusing to "
                             "replace it (did you forget the file name after the option?)")


