"""The Python API, and the controller the command line uses: options -> probe -> graph -> runner."""
from __future__ import annotations

import logging
import os
import shlex
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Optional, Union

from . import graph, looks, runner, stabilize as stabilization
from .errors import UsageError
from .looks import Look
from .options import (DEFAULT_MAX_BUFFER, EncodeOptions, FrameOffset, Mode, Options,
                      StabilizeOptions, StrategyChoice, TimePoint, parse_size)
from .probe import MediaInfo, probe
from .run.names import literal_input_args
from .run.outputs import check_name, check_name_length

log = logging.getLogger("ffmotion")

PathLike = Union[str, "os.PathLike[str]"]


@dataclass(frozen=True)
class Result:
    """What one extraction wrote."""

    output: Path
    frames: int
    k: int
    mode: Mode
    argv: list[str]


def make_options(
    src: PathLike,
    dst: PathLike,
    offset: Union[int, str, FrameOffset, None] = None,
    *,
    freeze: Union[int, str, None] = None,
    audio: bool = True,
    codec: Optional[str] = None,
    crf: Optional[float] = None,
    preset: Optional[str] = None,
    pix_fmt: Optional[str] = None,
    lossless: bool = False,
    overwrite: bool = False,
    look: Union[str, Look, None] = None,
    start: Union[str, float, TimePoint, None] = None,
    end: Union[str, float, TimePoint, None] = None,
    duration: Union[str, float, TimePoint, None] = None,
    stabilize: Union[bool, StabilizeOptions] = False,
    strategy: StrategyChoice = "auto",
    max_buffer: Union[int, str, None] = None,
    threads: Optional[int] = None,
) -> Options:
    """Build validated :class:`Options` from keyword arguments (``offset`` or ``freeze``).

    ``look`` is a :class:`~ffmotion.looks.Look` or the name of a preset (``ffmotion looks``).
    ``start``/``end``/``duration`` limit the input (seconds, ``"1:30"``, ``"500ms"``, ``"30f"``);
    ``stabilize=True`` (or a :class:`StabilizeOptions`) stabilizes before extracting.
    ``strategy`` "split" decodes once and holds K frames, "dual" opens the input twice (flat
    memory), "auto" picks dual when K frames exceed ``max_buffer`` (bytes, or ``"256M"``).
    """
    mode, spec = mode_and_offset(offset, freeze)
    chosen = look if isinstance(look, Look) else looks.resolve(look)
    check_look_offsets(chosen, offset, freeze)
    options = Options(
        src=Path(src), dst=Path(dst), offset=spec, mode=mode, audio=audio,
        encode=EncodeOptions(codec=codec, crf=crf, preset=preset, pix_fmt=pix_fmt,
                             lossless=lossless),
        overwrite=overwrite, look=chosen,
        start=start, end=end, duration=duration,  # type: ignore[arg-type]  # parsed by Options
        stabilize=_stabilize_options(stabilize), strategy=strategy,
        max_buffer=DEFAULT_MAX_BUFFER if max_buffer is None else parse_size(max_buffer),
        threads=threads,
    )
    check_paths(options)
    return options


DEFAULT_OFFSET = 1


def _stabilize_options(value: Union[bool, StabilizeOptions, None]) -> Optional[StabilizeOptions]:
    if isinstance(value, StabilizeOptions):
        return value
    return StabilizeOptions() if value else None


def mode_and_offset(offset: Union[int, str, FrameOffset, None],
                    freeze: Union[int, str, None]) -> tuple[Mode, FrameOffset]:
    """Offset mode with ``offset`` (default 1 frame), or freeze mode on frame ``freeze``."""
    if offset is not None and freeze is not None:
        raise UsageError("give an offset or a freeze frame, not both")
    if freeze is not None:
        return "freeze", FrameOffset.parse(freeze)
    return "offset", FrameOffset.parse(DEFAULT_OFFSET if offset is None else offset)


def check_look_offsets(look: Look, offset: object, freeze: object) -> None:
    """``--rgb-offsets`` in frames or time replace the offset: giving both would ignore one."""
    channels = look.rgb_offsets
    if channels is None or any(c.multiple is not None for c in channels):
        return
    given = "--offset" if offset is not None else "--freeze" if freeze is not None else None
    if given:
        raise UsageError(f"--rgb-offsets {','.join(c.text for c in channels)} sets every channel's "
                         f"offset, so {given} would be ignored: drop it, or write the channels as "
                         f"multiples of it (e.g. 1x,2x,3x)")


def check_paths(options: Options) -> None:
    """Input exists, output is not the input, and can be written."""
    src, dst = options.src, options.dst
    check_name(src, "input")
    check_name(dst, "output")
    check_name_length(src, "input")
    check_name_length(dst, "output")
    if not src.exists():
        raise UsageError(f"input not found: {src}")
    if src.is_dir():
        raise UsageError(f"input is a folder, not a file: {src}")
    if dst == src or (dst.exists() and os.path.samefile(src, dst)) or dst.resolve() == src.resolve():
        raise UsageError(f"output is the input: {dst} (choose another output file)")
    runner.check_output_path(dst, options.overwrite)


def prepare(options: Options, tools: runner.Tools, info: Optional[MediaInfo] = None) -> graph.Plan:
    """Probe the input (unless ``info`` is given), resolve the plan, check the encoders exist."""
    check_paths(options)
    graph.check_output_format(options)
    graph.check_quality(options)
    # listing the encoders is a process start of its own: overlap it with probing
    with ThreadPoolExecutor(max_workers=1) as pool:
        listed = pool.submit(runner.encoders, tools.ffmpeg)
        plan = graph.plan(options, info if info is not None else probe(options.src, tools))
        plan = stabilization.attach(plan, tools)
        available = listed.result()
    for codec in graph.encoders_needed(plan):
        if codec not in available:
            raise UsageError(f"unknown codec for this ffmpeg ({tools.ffmpeg}): {codec} "
                             "(ffmpeg -encoders lists the available ones)")
    wanted = options.encode.pix_fmt
    if wanted is not None and wanted not in runner.pix_fmts(tools.ffmpeg):
        raise UsageError(f"unknown pixel format: {wanted} (ffmpeg -pix_fmts lists them)")
    return plan


def run(plan: graph.Plan, tools: runner.Tools, progress: bool = False,
        on_frames: Optional[Callable[[int], None]] = None) -> Result:
    """Run a prepared plan, writing its output atomically."""
    options = plan.options
    runner.check_output_path(options.dst, options.overwrite)
    stabilization.ensure_transforms(plan, tools, progress=progress)
    with runner.atomic_output(options.dst, options.overwrite) as tmp:
        argv = graph.command(plan, tools.ffmpeg, tmp, overwrite=True)
        written = runner.run_ffmpeg(argv, total_frames=plan.out_frames, progress=progress,
                                    on_frames=on_frames)
    if written < plan.out_frames:
        log.warning("%s: ffmpeg wrote %d of the %d frames planned: the input is damaged or "
                    "ends early", options.src.name, written, plan.out_frames)
    return Result(options.dst, written, plan.k, plan.mode, graph.command(plan, tools.ffmpeg))


def commands(plan: graph.Plan, ffmpeg: str) -> list[list[str]]:
    """Every ffmpeg command the plan runs, in order: stabilization pass 1 (if any), then the
    motion graph (with the real output path)."""
    first = stabilization.detect_command(plan, ffmpeg)
    return ([first] if first else []) + [graph.command(plan, ffmpeg)]


def extract(
    src: PathLike,
    dst: PathLike,
    offset: Union[int, str, None] = None,
    *,
    freeze: Union[int, str, None] = None,
    ffmpeg: Optional[str] = None,
    progress: bool = False,
    **encode: Any,
) -> Result:
    """Write the motion extraction of ``src`` to ``dst``.

    ``offset`` is a frame count (``12``) or a duration (``"0.5s"``); ``freeze=K`` instead
    blends every frame with frame K. Keyword options: ``audio``, ``codec``, ``crf``, ``preset``,
    ``pix_fmt``, ``lossless``, ``overwrite``, ``look`` (a preset name or a
    :class:`~ffmotion.looks.Look`), ``start``, ``end``, ``duration``, ``stabilize``,
    ``strategy``, ``max_buffer``, ``threads``;
    ``ffmpeg`` names the binary.
    """
    options = make_options(src, dst, offset, freeze=freeze, **encode)
    found = runner.tools(ffmpeg)
    return run(prepare(options, found), found, progress=progress)


def build_command(
    src: PathLike,
    dst: PathLike,
    offset: Union[int, str, None] = None,
    *,
    freeze: Union[int, str, None] = None,
    ffmpeg: Optional[str] = None,
    **encode: Any,
) -> list[str]:
    """The ffmpeg argv that :func:`extract` would run (with the real output path)."""
    options = make_options(src, dst, offset, freeze=freeze, **encode)
    found = runner.tools(ffmpeg)
    return graph.command(prepare(options, found), found.ffmpeg)


def motion_stream(
    src: PathLike,
    offset: Union[int, str, None] = None,
    *,
    freeze: Union[int, str, None] = None,
    ffmpeg: Optional[str] = None,
    look: Union[str, Look, None] = None,
) -> Any:
    """The motion-extracted video of ``src`` as an ffmpeg-python stream, to extend and output.

    Example: ``ffmotion.motion_stream("in.mp4", 12).filter("eq", contrast=2).output("o.mp4").run()``.
    Frames carry index timestamps, so pass ``fps_mode="passthrough"`` to the output.
    """
    import ffmpeg as ffmpeg_python

    mode, spec = mode_and_offset(offset, freeze)
    chosen = look if isinstance(look, Look) else looks.resolve(look)
    check_look_offsets(chosen, offset, freeze)
    options = Options(src=Path(src), dst=Path(src).with_suffix(".unused"), offset=spec, mode=mode,
                      look=chosen)
    found = runner.tools(ffmpeg)
    plan = graph.plan(options, probe(options.src, found))
    source = ffmpeg_python.input(str(options.src), **literal_input_args(options.src))
    return graph.motion_video(source["v:0"], plan.k, plan.info.fps, plan.mode,
                              plan.working_pix_fmt, look=plan.options.look,
                              channel_ks=plan.channel_ks)


def printable(argv: list[str]) -> str:
    """The command as one shell line."""
    return shlex.join(argv)

