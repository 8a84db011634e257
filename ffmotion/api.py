"""The library: what a Python program calls. A façade over the one controller
(:mod:`ffmotion.pipeline`), which the command line uses the same way.

Options are the keyword arguments of :func:`extract`; errors are
:class:`~ffmotion.core.errors.FfmotionError` subclasses whose message names the keyword
(``threads must be 1 to 1024, not 0``).
"""
from __future__ import annotations

import os
import shlex
from fractions import Fraction
from typing import Any, Optional, Union

from ffmotion import graph
from ffmotion.core.looks import Look
from ffmotion.core.request import MotionRequest, SequenceRequest
from ffmotion.pipeline import controller, resolve
from ffmotion.pipeline.controller import Result
from ffmotion.run import runner

PathLike = Union[str, "os.PathLike[str]"]
AUTO_CHUNKS = "auto"

__all__ = ["AUTO_CHUNKS", "Result", "build_command", "extract", "ffmpeg_path", "magnify",
           "make_request", "motion_stream", "printable", "spectrum"]


def make_request(src: PathLike, dst: Optional[PathLike] = None,
                 offset: Union[int, str, None] = None, **options: Any) -> MotionRequest:
    """The checked :class:`~ffmotion.core.request.MotionRequest` for these arguments (the
    keywords of :func:`extract`); ``dst`` None computes without writing."""
    return resolve.request(src, dst, offset, **options)


def extract(
    src: PathLike,
    dst: PathLike,
    offset: Union[int, str, None] = None,
    *,
    freeze: Union[int, str, None] = None,
    ffmpeg: Optional[str] = None,
    progress: bool = False,
    chunks: Union[int, str, None] = None,
    jobs: Optional[int] = None,
    scheduler: Optional[str] = None,
    client: Any = None,
    **options: Any,
) -> Result:
    """Write the motion extraction of ``src`` to ``dst``.

    ``offset`` is a frame count (``12``) or a duration (``"0.5s"``); ``freeze=K`` instead
    blends every frame with frame K. Keyword options: ``audio``, ``subtitles``, ``codec``,
    ``crf``, ``preset``, ``pix_fmt``, ``lossless``, ``overwrite``, ``look`` (a preset name or a
    :class:`~ffmotion.core.looks.Look`), ``start``, ``end``, ``duration``, ``stabilize``
    (True, ``"auto"`` or a :class:`~ffmotion.core.request.StabilizeOptions`), ``strategy``
    (``"split"``, ``"dual"``, ``"auto"``), ``max_buffer`` (bytes or ``"256M"``), ``threads``,
    ``deinterlace``, ``video_stream``, ``audio_stream`` (a track, ``"all"``, ``"none"``),
    ``width``, ``height``, ``scale``, ``fps``, ``audio_codec``, ``audio_bitrate``,
    ``encoder_opts`` (``{"tune": "film"}`` or ``["tune=film"]``), ``gif_dither``,
    ``gif_stats``, ``sequence``/``framerate`` (read ``src`` as an image sequence: a folder,
    ``img%04d.png`` or ``'shots/*.jpg'``), ``format`` (the muxer of ``-``/URL outputs);
    ``ffmpeg`` names the binary. ``src`` ``"-"`` is stdin and ``"scheme://..."`` a URL;
    ``dst`` ``"-"`` is stdout, a URL is streamed to, ``DIR/NAME.m3u8`` is an HLS playlist.
    ``chunks`` (a count or ``"auto"``) renders the run in chunks, ``jobs`` at once on this
    machine, or on Dask (``scheduler`` address or a ``distributed.Client`` as ``client``):
    the frames equal a single pass.
    """
    request = resolve.request(src, dst, offset, freeze=freeze, **options)
    found = runner.tools(ffmpeg)
    plan = controller.prepare(request, found)
    if chunks is not None or scheduler is not None or client is not None:
        from ffmotion.jobs import chunks as chunking

        return chunking.run_chunked(plan, found, AUTO_CHUNKS if chunks is None else chunks,
                                    jobs=jobs, scheduler=scheduler, client=client,
                                    worker_ffmpeg=ffmpeg)
    return controller.run(plan, found, progress=progress)


def build_command(
    src: PathLike,
    dst: PathLike,
    offset: Union[int, str, None] = None,
    *,
    freeze: Union[int, str, None] = None,
    ffmpeg: Optional[str] = None,
    **options: Any,
) -> list[str]:
    """The ffmpeg argv that :func:`extract` would run (with the real output path)."""
    request = resolve.request(src, dst, offset, freeze=freeze, **options)
    found = runner.tools(ffmpeg)
    return graph.command(controller.prepare(request, found), found.ffmpeg)


def motion_stream(
    src: PathLike,
    offset: Union[int, str, None] = None,
    *,
    freeze: Union[int, str, None] = None,
    ffmpeg: Optional[str] = None,
    look: Union[str, Look, None] = None,
    sequence: Union[bool, SequenceRequest, None] = None,
    framerate: Union[str, float, Fraction, None] = None,
) -> Any:
    """The motion-extracted video of ``src`` as an ffmpeg-python stream, to extend and output.

    Example: ``ffmotion.motion_stream("in.mp4", 12).filter("eq", contrast=2)
    .output("o.mp4", fps_mode="passthrough").run(cmd=ffmotion.ffmpeg_path())``.
    Frames carry index timestamps, hence ``fps_mode="passthrough"``; ffmpeg-python's ``run``
    starts ``ffmpeg`` from PATH unless given ``cmd=`` (:func:`ffmpeg_path` is the one ffmotion
    uses, the bundled one on a machine with no other). Full range and rotation are handled
    as in :func:`extract` (interlaced input is not deinterlaced here).
    """
    import ffmpeg as ffmpeg_python

    request = resolve.request(src, None, offset, freeze=freeze, look=look, sequence=sequence,
                              framerate=framerate)
    found = runner.tools(ffmpeg)
    plan = controller.plan_for(request, controller.probe(request, found), found)
    source = ffmpeg_python.input(plan.info.input.name, **plan.info.input.input_args())
    return graph.motion_video(graph.prelude(plan.source_video(source), plan.picture), plan.k,
                              plan.info.fps, plan.mode, plan.working_pix_fmt,
                              look=plan.motion.look, channel_ks=plan.channel_ks,
                              timing=plan.timing.variable)


def ffmpeg_path(ffmpeg: Optional[str] = None) -> str:
    """The ffmpeg binary ffmotion runs (``ffmpeg``/``$FFMOTION_FFMPEG``, PATH, then the one
    imageio-ffmpeg bundles): pass it as ``cmd=`` to ffmpeg-python's ``run``."""
    return runner.tools(ffmpeg, use_ffprobe=False).ffmpeg


def printable(argv: list[str]) -> str:
    """The command as one shell line."""
    return shlex.join(argv)


def magnify(src: PathLike, dst: PathLike, alpha: Union[float, str],
            band: Union[str, tuple[float, float]], *, mode: str = "motion",
            levels: Optional[int] = None, lambda_cutoff: Optional[float] = None,
            chroma_attenuation: Optional[float] = None, skip_finest: bool = False,
            ffmpeg: Optional[str] = None, progress: bool = False, print_command: bool = False,
            **options: Any) -> Any:
    """Write ``src`` with its small motions in ``band`` (``"0.5-3"`` Hz or ``(0.5, 3)``)
    magnified ``alpha`` times (``ffmotion magnify``); ``mode`` ``"color"`` for colour changes.
    ``options``: the range, stabilization and encoding keywords of :func:`extract`.
    Returns :class:`ffmotion.pipeline.magnify.Result` (output, frames, ffmpeg argv); with
    ``print_command`` nothing runs and the command is returned as one shell line."""
    from ffmotion.core.magnify import MagnifySpec
    from ffmotion.pipeline import magnify as magnifying

    spec = MagnifySpec.parse(alpha, band, mode=mode, levels=levels, lambda_cutoff=lambda_cutoff,
                             chroma_attenuation=chroma_attenuation, skip_finest=skip_finest)
    found = runner.tools(ffmpeg)
    prepared = magnifying.prepare(magnifying.request(src, dst, **options), spec, found)
    if print_command:
        prepared = magnifying.settle_for_print(prepared, found)
        return controller.shell_line(magnifying.commands(prepared, found.ffmpeg), prepared.plan)
    return magnifying.run(prepared, found, progress=progress)


def spectrum(src: PathLike, roi: Optional[str] = None, *, ffmpeg: Optional[str] = None,
             **options: Any) -> Any:
    """The spectrum of the mean luma over ``roi`` (``"x,y,w,h"``) of ``src``
    (``ffmotion spectrum``): :class:`ffmotion.pipeline.spectrum.Spectrum`, with ``peaks``
    (Hz) and ``band()`` (a ``--band`` for :func:`magnify`). ``options``: ``start``, ``end``,
    ``duration``, ``stabilize``, ``deinterlace``."""
    from ffmotion.pipeline import spectrum as measuring

    return measuring.spectrum(os.fspath(src), measuring.parse_roi(roi), tools=runner.tools(ffmpeg),
                              **options)
