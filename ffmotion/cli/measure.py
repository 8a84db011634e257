"""``ffmotion measure IN``: motion numbers per region (MEA counts, descriptors), as CSV, as the
text rMEA's ``readMEA`` reads, with a JSON sidecar that lets a study re-run them."""
from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING, Any, Optional

from ffmotion.cli import options, report
from ffmotion.cli.console import bar, out, say
from ffmotion.core.errors import UsageError
from ffmotion.run import outputs

if TYPE_CHECKING:
    from ffmotion.core.measure import MeasureSpec
    from ffmotion.core.regions import Region
    from ffmotion.pipeline.measure import Job
    from ffmotion.run.runner import Tools

FORMATS = ("csv", "mea")
VIDEO_SUFFIXES = (".mp4", ".mov", ".mkv", ".avi", ".webm", ".m4v", ".mpg", ".mpeg", ".ts",
                  ".mts", ".wmv", ".flv", ".ogv", ".3gp", ".mxf", ".nut")


def parser() -> argparse.ArgumentParser:
    from ffmotion.core import measure as spec_mod

    made = options.Parser(
        prog="ffmotion measure",
        description="Motion numbers per region, computed by ffmpeg: MEA (Altmann's motion "
                    "energy analysis: per frame and region, the pixels whose gray level "
                    "changes by more than --threshold between frame t and t+K, after a 5x5 "
                    "median), optionally MGT-python's descriptors. CSV on stdout unless "
                    "--csv/-o is given; a JSON sidecar beside every file written.",
    )
    made.add_argument("input", help="input video (or, with --batch, a folder of videos)")
    regions = made.add_argument_group("regions (pixels of the picture as displayed)")
    regions.add_argument("--roi", action="append", default=[], metavar="NAME=x,y,w,h",
                         help="a region to measure (repeatable), e.g. patient=0,0,640,720")
    regions.add_argument("--rois", metavar="FILE",
                         help="regions saved in a TOML file ([regions.NAME] x, y, w, h; "
                              "optional background = \"NAME\")")
    regions.add_argument("--background", metavar="NAME",
                         help="a region that shows no motion: the threshold becomes the "
                              f"{spec_mod.BACKGROUND_QUANTILE:g} quantile of its changes "
                              "|g(t+K) - g(t)| (before the median); it is not measured itself")
    regions.add_argument("--save-rois", metavar="FILE",
                         help="also save the regions (and the background) as a TOML file "
                              "--rois reads")
    mea = made.add_argument_group("MEA")
    mea.add_argument("-k", "--offset", default="1", metavar="K",
                     help="compare frame t with frame t+K (frames, or a time: 40ms; default 1)")
    mea.add_argument("--threshold", type=options.whole_arg, default=None, metavar="T",
                     help=f"a pixel changed when its median change exceeds T gray levels "
                          f"(0-254; default {spec_mod.DEFAULT_THRESHOLD}, Altmann's)")
    mea.add_argument("--median", type=options.whole_arg, default=spec_mod.DEFAULT_MEDIAN,
                     metavar="N", help="the median window, N x N (1, 3, 5, 7, 9; 1: none; "
                                       "default %(default)s)")
    mea.add_argument("--gray", choices=spec_mod.GRAYS, default="full",
                     help="full: TV-range luma stretched to 0..255 as an RGB decode sees it "
                          "(default); luma: the luma levels as stored")
    mea.add_argument("--descriptors", action="store_true",
                     help="also MGT-python's descriptors per region: mean |change|, centroid "
                          "of motion (x, y) and area of motion (bounding box)")
    disp = made.add_argument_group("displacement (a vibrating part, a moving object)")
    disp.add_argument("--displacement", action="store_true",
                      help="instead of MEA: each region's sub-pixel translation per frame "
                           "against the first (phase correlation + gradient fit), its RMS and "
                           "peak, and the dominant frequency")
    disp.add_argument("--scale", metavar="LENGTH:PIXELS",
                      help="how long a pixel is, e.g. 100mm:412px (adds mm columns)")
    disp.add_argument("--band", metavar="LOW-HIGH",
                      help="look for the dominant frequency between LOW and HIGH Hz, e.g. 5-60")
    written = made.add_argument_group("outputs")
    written.add_argument("--csv", metavar="FILE", help="write the CSV here ('-': stdout)")
    written.add_argument("-o", "--output", metavar="FILE",
                         help="write the table in --format here")
    written.add_argument("--format", choices=FORMATS, default="csv",
                         help="of -o: csv (default) or mea (the text rMEA's readMEA reads "
                              "with skip=1: quoted region names, then one line of counts "
                              "per frame)")
    written.add_argument("--sidecar", metavar="FILE",
                         help="the JSON sidecar that lets the measurement be re-run (default: "
                              "the first file written + .json)")
    written.add_argument("--plot", metavar="PNG",
                         help="also draw each region's share of changed pixels (needs the "
                              "'plot' extra)")
    written.add_argument("--batch", action="store_true",
                         help="INPUT is a folder: measure each video in it, writing "
                              "NAME.csv (or NAME.txt with --format mea) and NAME.json into "
                              "--out-dir (default: the folder)")
    written.add_argument("--out-dir", metavar="DIR", help="the folder --batch writes to")
    options.sequence_args(made)
    options.range_args(made)
    options.stabilize_args(made)
    options.picture_args(made)
    options.running_args(made)
    return made


def _regions(args: argparse.Namespace) -> "tuple[list[Region], Optional[str]]":
    from ffmotion.core.regions import Region
    from ffmotion.pipeline import rois

    found: list[Region] = []
    background = None
    if args.rois:
        found, background = rois.load(Path(args.rois))
    found += [Region.parse(text) for text in args.roi]
    if args.background is not None:
        background = args.background
    return found, background


def _spec(args: argparse.Namespace, background: Optional[str]) -> "MeasureSpec":
    from ffmotion.core.measure import DEFAULT_THRESHOLD, MeasureSpec, Scale, parse_band
    from ffmotion.core.units import FramesOrTime

    if not args.displacement and (args.scale or args.band):
        raise UsageError("--scale and --band are for --displacement")
    if args.displacement:
        if background is not None or args.threshold is not None or args.descriptors:
            raise UsageError("--displacement measures translation: --background, "
                             "--threshold and --descriptors are MEA's")
        return MeasureSpec(method="displacement", threshold=None,
                           scale=Scale.parse(args.scale) if args.scale else None,
                           band=parse_band(args.band) if args.band else None)
    if background is not None and args.threshold is not None:
        raise UsageError("give --threshold or --background (which estimates it), not both")
    threshold = None if background is not None else (
        DEFAULT_THRESHOLD if args.threshold is None else args.threshold)
    return MeasureSpec(offset=FramesOrTime.offset(args.offset), threshold=threshold,
                       median=args.median, gray=args.gray, descriptors=args.descriptors,
                       background=background)


def run(args: argparse.Namespace) -> int:
    from ffmotion.pipeline import measure, rois
    from ffmotion.run import runner

    options.plot_png(args)
    if args.displacement and args.format == "mea":
        raise UsageError("--format mea holds MEA counts: not with --displacement")
    if args.format != "csv" and not (args.output or args.batch):
        raise UsageError("--format names the format of -o (or of --batch's files): give -o FILE")
    if args.out_dir and not args.batch:
        raise UsageError("--out-dir is for --batch")
    regions, background = _regions(args)
    spec = _spec(args, background)
    job_args = dict(regions=tuple(regions), spec=spec, start=args.start, end=args.end,
                    duration=args.duration, stabilize=options.stabilize_from(args),
                    deinterlace=args.deinterlace)
    report.refuse_stdout(args, args.csv, "--csv")
    report.refuse_stdout(args, args.output, "-o")
    outputs.check_name(args.input, "input")
    if args.batch:
        return _batch(args, job_args)
    src = Path(args.input)
    job = measure.Job(src, sequence=options.sequence_of(args, src), **job_args)
    measure.check_job(job)
    inputs = [src]
    targets = {"--csv": args.csv, "-o": args.output, "--plot": args.plot,
               "--save-rois": args.save_rois, "--sidecar": args.sidecar}
    for flag, name in targets.items():
        if name:
            outputs.check_target(name, what=flag, overwrite=args.overwrite, inputs=inputs,
                                 others={k: v for k, v in targets.items() if k != flag and v},
                                 stream=flag in ("--csv", "-o"))
    tools = runner.tools(args.ffmpeg)
    if args.print_command:
        if job.spec.method == "displacement":
            from ffmotion.pipeline import displacement

            out(displacement.shell_line(job, tools))
        else:
            out(measure.shell_line(job, tools))
        return 0
    result = _measure(job, tools, bar(args))
    files = measure.write_outputs(
        result, job, tools, csv=args.csv, output=args.output, fmt=args.format,
        sidecar_path=args.sidecar, plot=args.plot, overwrite=args.overwrite,
        stdout=report.active() is None)
    if args.save_rois:
        rois.save(Path(args.save_rois), list(regions), background, overwrite=args.overwrite)
        files.append(Path(args.save_rois))
    for path in files:
        say(args, f"ffmotion measure: wrote {outputs.shown(path)}")
    if getattr(result, "background", None) is not None:
        say(args, f"ffmotion measure: threshold {result.spec.threshold} from the background "
                  f"{result.background.region.name} (its {result.background.quantile:g} "
                  "quantile of changes)")
    for line in result.table.summary():
        say(args, f"ffmotion measure: {line}")
    _record(src, files, result)
    return 0


def _number(text: str) -> "int | float | str":
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    return text


def _record(src: Path, files: "list[Path]", result: Any) -> None:
    """--json: the table itself (a row per frame, the CSV's columns) and its summary."""
    if report.active() is None:
        return
    lines = result.table.csv().splitlines()
    report.record(input=src.absolute(),
                  outputs=[report.output(path, "sidecar" if path.suffix == ".json" else "table")
                           for path in files],
                  frames=result.table.frames, fps=report.fps_text(result.table.fps),
                  result={"method": result.spec.method, "threshold": result.spec.threshold,
                          "columns": lines[0].split(","),
                          "rows": [[_number(c) for c in line.split(",")] for line in lines[1:]],
                          "summary": result.table.summary()})


def _measure(job: "Job", tools: "Tools", progress: bool) -> Any:
    """MEA (:class:`~ffmotion.pipeline.measure.MeaResult`) or displacement."""
    from ffmotion.pipeline import displacement, measure

    if job.spec.method == "displacement":
        return displacement.run_displacement(job, tools=tools, progress=progress)
    return measure.run_mea(job, tools=tools, progress=progress)


def _batch(args: argparse.Namespace, job_args: "dict[str, Any]") -> int:
    from ffmotion.pipeline import measure
    from ffmotion.run import runner

    folder = Path(args.input)
    if not folder.is_dir():
        raise UsageError(f"--batch measures the videos in a folder: {outputs.shown(folder)} "
                         "is not one")
    for flag in ("csv", "output", "sidecar", "plot", "save_rois"):
        if getattr(args, flag):
            raise UsageError("--batch names its files itself (NAME.csv, NAME.json in "
                             "--out-dir): leave out --csv, -o, --sidecar, --plot, --save-rois")
    videos = sorted(p for p in folder.iterdir()
                    if p.is_file() and p.suffix.lower() in VIDEO_SUFFIXES)
    if not videos:
        raise UsageError(f"{outputs.shown(folder)}: no videos in it ("
                         f"{', '.join(VIDEO_SUFFIXES[:6])}, ...)")
    out_dir = Path(args.out_dir) if args.out_dir else folder
    if not out_dir.is_dir():
        raise UsageError(f"--out-dir {outputs.shown(out_dir)} is not a folder")
    suffix = ".txt" if args.format == "mea" else ".csv"
    planned = [(src, out_dir / f"{src.stem}{suffix}") for src in videos]
    for src, dst in planned:
        outputs.check_target(dst, what="a --batch table", overwrite=args.overwrite,
                             inputs=[src])
        outputs.check_target(Path(f"{dst}.json"), what="a --batch sidecar",
                             overwrite=args.overwrite, inputs=[src])
    tools = runner.tools(args.ffmpeg)
    jobs = [measure.Job(src, **job_args) for src, _ in planned]
    for job in jobs:
        measure.check_job(job)
    if args.print_command:
        out("\n".join(measure.shell_line(job, tools) for job in jobs))
        return 0
    progress = bar(args)
    for index, (job, (src, dst)) in enumerate(zip(jobs, planned), 1):
        say(args, f"ffmotion measure: [{index}/{len(jobs)}] {outputs.shown(src)}")
        result = _measure(job, tools, progress)
        for path in measure.write_outputs(result, job, tools, csv=None, output=str(dst),
                                          fmt=args.format, sidecar_path=None, plot=None,
                                          overwrite=args.overwrite):
            say(args, f"ffmotion measure: wrote {outputs.shown(path)}")
    return 0
