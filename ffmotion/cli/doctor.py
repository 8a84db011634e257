"""``ffmotion doctor``: which ffmpeg, what it can serve, cameras, folders, and what to do
about each missing piece. Exit code 1 only when the main job cannot run."""
from __future__ import annotations

import argparse
import sys
import textwrap

from ffmotion.cli import options, report
from ffmotion.cli.console import out
from ffmotion.core import terminal

_GREEN, _YELLOW, _RED, _RESET = "\x1b[32m", "\x1b[33m", "\x1b[31m", "\x1b[0m"


def parser() -> argparse.ArgumentParser:
    made = options.Parser(
        prog="ffmotion doctor",
        description="Check what ffmotion can do here: which ffmpeg it uses and where it came "
                    "from (--ffmpeg, $FFMOTION_FFMPEG, PATH, imageio-ffmpeg's), its version "
                    "and build flags, the features it can serve (vid.stab, zmq, OpenCL, "
                    "Vulkan, libplacebo, SRT, v4l2, each encoder ffmotion uses) and what each "
                    "enables, the cameras found, whether the cache, temporary and looks "
                    "folders are writable, and what to do about each missing piece. Exit "
                    "code 1 only when the main job (ffmotion IN OUT) cannot run.")
    options.ffmpeg_arg(made)
    made.add_argument("-v", "--verbose", action="count", default=0,
                      help="also list every build flag")
    options.json_arg(made)
    return made


def run(args: argparse.Namespace) -> int:
    from ffmotion.pipeline import doctor

    found = doctor.examine(args.ffmpeg)
    code = 0 if found.can_run else 1
    report.record(result=found.to_json())
    if report.active() is None:
        for line in lines(found, args.verbose, terminal.colour(sys.stdout), terminal.width()):
            out(line)
    return code


def lines(found: "object", verbose: int = 0, colour: bool = False, width: int = 80) -> list[str]:
    """The human report (``found``: a :class:`ffmotion.pipeline.doctor.Diagnosis`)."""
    from ffmotion.pipeline.doctor import Diagnosis

    assert isinstance(found, Diagnosis)

    def mark(word: str, tint: str) -> str:
        return f"{tint}{word}{_RESET}" if colour else word

    ok, missing = mark("ok     ", _GREEN), mark("MISSING", _YELLOW)
    wrap = max(40, width - 1)
    shown = []
    if found.ffmpeg is None:
        shown.append(f"ffmpeg:  {mark('NONE', _RED)}: {found.problem}")
    else:
        shown.append(f"ffmpeg:  {found.ffmpeg} (from {found.source})")
        shown.append(f"version: {found.version_line or found.version}")
        shown.append(f"ffprobe: {found.ffprobe or 'none (probing with ffmpeg alone)'}")
        flags = found.buildconf
        if verbose:
            shown.append("build flags:")
            shown += [f"  {flag}" for flag in flags]
        else:
            enabled = sum(1 for f in flags if f.startswith("--enable-"))
            shown.append(f"build:   {len(flags)} configure flags, {enabled} --enable-... "
                         "(-v lists them)")
        if found.unlisted:
            shown.append(f"         this ffmpeg refused: {' '.join(found.unlisted)}")
        shown.append("features:")
        for status in found.statuses:
            head = f"  {ok if status.present else missing}  {status.feature.key}: "
            shown += textwrap.wrap(status.feature.enables, wrap, initial_indent=head,
                                   subsequent_indent=" " * 13)
            if not status.present:
                shown += textwrap.wrap(status.feature.missing, wrap,
                                       initial_indent=" " * 13 + "-> ",
                                       subsequent_indent=" " * 16)
    shown.append("cameras: " + (" ".join(found.cameras) or "none found (/dev/video*)"))
    shown.append("folders:")
    for folder in found.folders:
        state = ok if folder.writable else mark("NOT WRITABLE", _RED)
        shown.append(f"  {state}  {folder.role}: {folder.path}")
        if folder.todo:
            shown += textwrap.wrap(folder.todo, wrap, initial_indent=" " * 13 + "-> ",
                                   subsequent_indent=" " * 16)
    lacking = sum(1 for s in found.statuses if not s.present)
    if found.can_run:
        verdict = (f"ffmotion can run here ({lacking} optional feature(s) missing: see above)"
                   if lacking else "ffmotion can run here, with every feature")
    else:
        verdict = "ffmotion CANNOT run here: " + (
            found.problem or "this ffmpeg lacks the motion graph's filters")
    shown.append(mark(verdict, _GREEN if found.can_run else _RED))
    return shown
