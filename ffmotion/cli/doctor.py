"""``ffmotion doctor``: which ffmpeg, what it can serve, cameras, folders, and what to do
about each missing piece. Exit code 1 only when the main job cannot run."""
from __future__ import annotations

import argparse
import sys
import textwrap
from typing import TYPE_CHECKING

from ffmotion.cli import options, report
from ffmotion.cli.console import out
from ffmotion.core import terminal

if TYPE_CHECKING:  # the parser alone (completion, the man page) loads no pipeline
    from ffmotion.pipeline.doctor import Diagnosis

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


def lines(found: "Diagnosis", verbose: int = 0, colour: bool = False,
          width: int = 80) -> list[str]:
    """The human report: one block per question, a line per feature, and under each missing
    piece what to do about it."""
    def mark(word: str, tint: str) -> str:
        return f"{tint}{word}{_RESET}" if colour else word

    ok, missing = mark("ok     ", _GREEN), mark("MISSING", _YELLOW)
    wrap = max(40, width - 1)

    def todo(text: str) -> list[str]:
        return textwrap.wrap(text, wrap, initial_indent=" " * 11 + "-> ",
                             subsequent_indent=" " * 14, break_on_hyphens=False)

    shown = []
    if found.ffmpeg is None:
        shown.append(f"ffmpeg:  {mark('NONE', _RED)}")
    else:
        state = "" if found.runs else " " + mark("DOES NOT RUN", _RED)
        shown.append(f"ffmpeg:  {found.ffmpeg} (from {found.source}){state}")
    for other in found.others:
        shown.append(f"         also: {other.path} ({other.source}; not used)")
    if found.runs:
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
                                   subsequent_indent=" " * 13, break_on_hyphens=False)
            if not status.present:
                shown += todo(status.feature.missing)
    shown.append("cameras: " + (" ".join(found.cameras) or "none found (/dev/video*)"))
    shown.append("folders:")
    for folder in found.folders:
        state = ok if folder.writable else mark("NOT WRITABLE", _RED)
        shown.append(f"  {state}  {folder.role}: {folder.path}")
        if folder.todo:
            shown += todo(folder.todo)
    if found.can_run:
        lacking = len(found.missing)
        verdict = (f"ffmotion can run here; {lacking} optional feature(s) missing "
                   f"({', '.join(s.feature.key for s in found.missing)}): see above"
                   if lacking else "ffmotion can run here, with every feature")
        shown += textwrap.wrap(mark(verdict, _GREEN), wrap)
    else:
        shown += textwrap.wrap(mark("ffmotion CANNOT run here: " + (found.problem or "?"), _RED),
                               wrap, subsequent_indent="  ")
    return shown
