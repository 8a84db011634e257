"""``ffmotion magnify IN OUT --alpha A --band LO-HI``: Eulerian motion/colour magnification
as one ffmpeg graph."""
from __future__ import annotations

import argparse
import time
from pathlib import Path
from typing import Any

from ffmotion.cli import options, report
from ffmotion.cli.console import bar, count, out, say
from ffmotion.core.magnify import KINDS, MAX_LEVELS, MODES, MagnifySpec
from ffmotion.core.units import format_fps


def parser() -> argparse.ArgumentParser:
    made = options.Parser(
        prog="ffmotion magnify",
        description="Make small motions (or colour changes) visible: Eulerian video "
                    "magnification as one ffmpeg graph, flat memory. Temporal changes in the "
                    "band LO-HI Hz are amplified ALPHA times (motion comes out (1+ALPHA) x larger, "
                    "within 10 % while that stays below about 0.7 x an edge's blur sigma; "
                    "docs/magnify.md). Needs a still camera. 'ffmotion spectrum IN' finds "
                    "the band.",
    )
    made.add_argument("input", help="input video (a file)")
    made.add_argument("output", help="output video (.mp4 .mkv .mov ...; --lossless: .mkv)")
    mag = made.add_argument_group("magnification")
    mag.add_argument("--alpha", required=True, metavar="A",
                     help="amplification (e.g. 10-50 for motion, 50-150 for colour)")
    mag.add_argument("--band", required=True, metavar="LO-HI",
                     help="temporal band in Hz, e.g. 0.5-3 (HI below half the frame rate)")
    mag.add_argument("--mode", choices=MODES, default="motion",
                     help="motion (default): luma over all spatial levels; color: the "
                          "coarsest level only, chroma too (a pulse)")
    mag.add_argument("--levels", metavar="N",
                     help=f"spatial levels 1-{MAX_LEVELS} (default: as many as the size allows)")
    mag.add_argument("--lambda-cutoff", dest="lambda_cutoff", metavar="PX",
                     help="attenuate alpha on levels finer than this wavelength (px), as the "
                          "EVM paper does, so a large alpha does not blow up fine detail "
                          "(default: none, every level gets alpha)")
    mag.add_argument("--skip-finest", dest="skip_finest", action="store_true",
                     help="no gain on the finest level (2-4 px wavelengths, mostly noise), "
                          "as EVM's own code does: the band-pass then runs at half size or "
                          "less, several times faster (motion mode)")
    mag.add_argument("--chroma-attenuation", dest="chroma_attenuation", metavar="X",
                     help="share of alpha the chroma gets (default 0 for motion, 1 for color)")
    mag.add_argument("--filter", dest="kind", choices=KINDS, default="fir",
                     help="temporal band-pass: fir (default, linear phase: chosen by "
                          "measurement, docs/decisions.md), iir (EVM's, causal), doma "
                          "(difference of moving averages)")
    options.range_args(made)
    options.stabilize_args(made)
    options.picture_args(made)
    options.encode_args(made)
    run = made.add_argument_group("running")
    run.add_argument("-y", "--overwrite", action="store_true", help="replace an existing output")
    options.ffmpeg_arg(run)
    options.print_command_arg(run)
    run.add_argument("--threads", type=options.whole_arg, metavar="T",
                     help="decoder and filter threads of ffmpeg (default: its own)")
    run.add_argument("-q", "--quiet", action="store_true",
                     help="no progress or messages (an explicit --progress json still reports)")
    options.verbose_arg(run)
    options.output_format_args(run)
    return made


def request_options(args: argparse.Namespace) -> dict[str, Any]:
    """What a magnify run's request takes from the shared option groups (range,
    stabilization, picture, encoding), as :func:`ffmotion.pipeline.resolve.request`'s
    keywords (``ffmotion batch --magnify-alpha`` uses them too)."""
    return dict(audio=args.audio, subtitles=False, codec=args.codec, crf=args.crf,
                preset=args.preset, pix_fmt=args.pix_fmt, lossless=args.lossless,
                start=args.start, end=args.end, duration=args.duration,
                stabilize=options.stabilize_from(args) or False,
                video_stream=args.video_stream, audio_stream=args.audio_stream,
                deinterlace=args.deinterlace, width=args.width, height=args.height,
                scale=args.scale, fps=args.fps, audio_codec=args.audio_codec,
                audio_bitrate=args.audio_bitrate, encoder_opts=args.encoder_opts,
                gif_dither=args.gif_dither, gif_stats=args.gif_stats)


def run(args: argparse.Namespace) -> int:
    from ffmotion.pipeline import controller
    from ffmotion.pipeline import magnify as magnifying
    from ffmotion.run import runner

    spec = MagnifySpec.parse(args.alpha, args.band, mode=args.mode, levels=args.levels,
                             lambda_cutoff=args.lambda_cutoff,
                             chroma_attenuation=args.chroma_attenuation, kind=args.kind,
                             skip_finest=args.skip_finest)

    request = magnifying.request(args.input, args.output, overwrite=args.overwrite,
                                 threads=args.threads, **request_options(args))
    tools = runner.tools(args.ffmpeg)
    prepared = magnifying.prepare(request, spec, tools)
    if args.print_command:
        prepared = magnifying.settle_for_print(prepared, tools)
        out(controller.shell_line(magnifying.commands(prepared, tools.ffmpeg), prepared.plan))
        return 0
    report.refuse_stdout(args, args.output, "the output")
    show_bar = bar(args)
    say(args, f"ffmotion magnify: {prepared.plan.info.path.name}: {magnifying.describe(prepared)}")
    started = time.monotonic()
    result = magnifying.run(prepared, tools, progress=show_bar)
    seconds = time.monotonic() - started
    say(args, f"ffmotion magnify: wrote {result.output} ({count(result.frames, 'frame')} at "
              f"{format_fps(prepared.plan.info.fps)} fps in {seconds:.1f} s)")
    design = prepared.design
    report.record(input=Path(args.input).absolute(),
                  outputs=[report.output(Path(result.output).absolute(), "magnified")],
                  frames=result.frames, fps=report.fps_text(prepared.plan.info.fps),
                  result={"alpha": design.spec.alpha, "band_hz": [design.spec.low,
                                                                  design.spec.high],
                          "mode": design.spec.mode, "filter": design.spec.kind,
                          "levels": design.levels, "taps": design.frames,
                          "delay_frames": design.delay})
    return 0
