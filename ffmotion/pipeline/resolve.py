"""From what a caller typed to one checked :class:`~ffmotion.core.request.MotionRequest`.

The one place a request is resolved: the input classified once (a file, an image sequence, a
stream or a device), a look named by its preset resolved once, the output classified once
(a file, an image set, stdout, a URL, an HLS folder) and checked once against the
safe-write rule before anything runs. The command line, the library, batch, the preview and
the explorers all build their requests here.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any, Optional, Union

from ffmotion.core.errors import MediaError, UsageError, field
from ffmotion.core.looks import Look
from ffmotion.core.names import sequence_regex
from ffmotion.core.request import (
    AudioChoice,
    EncodeOptions,
    EncoderOpts,
    InputSpec,
    MotionRequest,
    MotionSpec,
    OutputSpec,
    SequenceRequest,
    StabilizeOptions,
    StrategyChoice,
    parse_audio_choice,
)
from ffmotion.core.sinks import sink_for
from ffmotion.core.source import Source
from ffmotion.core.units import FramesOrTime
from ffmotion.graph import outputs as graph_outputs
from ffmotion.media import sequence as images
from ffmotion.media.stream import input_source
from ffmotion.run import outputs
from ffmotion.run.hls import check_hls, playlist_entries

PathLike = Union[str, "os.PathLike[str]"]
TimeLike = Union[str, float, FramesOrTime, None]


def input_spec(src: PathLike, *, source: Optional[Source] = None,
               sequence: Union[bool, SequenceRequest, None] = None,
               framerate: Union[str, float, Fraction, None] = None,
               video_stream: Optional[int] = None, start: TimeLike = None,
               end: TimeLike = None, duration: TimeLike = None,
               deinterlace: bool = False) -> InputSpec:
    """The input ``src`` classified: a stream (``-``, ``scheme://``, unless such a file
    exists) or the live ``source`` given, an image sequence (asked for with ``sequence`` or
    ``framerate``, or a folder), else a file read literally."""
    if source is None:
        source = input_source(os.fspath(src))
    name = source.shown if source is not None else src
    return InputSpec.parse(name, source=source, sequence=sequence_request(src, sequence, framerate)
                           if source is None else None,
                           video_stream=video_stream, start=start, end=end, duration=duration,
                           deinterlace=deinterlace)


def sequence_request(src: PathLike, sequence: Union[bool, SequenceRequest, None] = None,
                     framerate: Union[str, float, Fraction, None] = None,
                     ) -> Optional[SequenceRequest]:
    """The image-sequence request for ``src``: asked for (``sequence``, ``framerate``), or a
    folder (always a sequence); None: a plain file, read literally."""
    if isinstance(sequence, SequenceRequest):
        return sequence
    if sequence or framerate is not None or images.wants_sequence(Path(os.fspath(src))):
        return SequenceRequest.parse(framerate)
    return None


def look_of(look: Union[str, Look, None], near: Optional[Path] = None,
            **overrides: Any) -> Look:
    """A :class:`Look`, or the preset named ``look`` (built-in, the user's ``looks.toml``,
    or the ``ffmotion.toml`` beside ``near``), with ``overrides`` (None: kept)."""
    if isinstance(look, Look):
        return look.replaced(**overrides) if overrides else look
    from ffmotion.pipeline import presets  # files are read only for a preset's name

    return presets.resolve(look, near, **overrides)


def output_spec(dst: PathLike, *, format: Optional[str] = None, overwrite: bool = False,
                audio: bool = True, audio_stream: Union[int, str, None] = None,
                subtitles: bool = True, encode: Optional[EncodeOptions] = None,
                **encoding: Any) -> OutputSpec:
    """The output ``dst`` classified: stdout (``-``), a URL, an HLS playlist
    (``DIR/NAME.m3u8``) or a file/image set; ``encoding``: :meth:`EncodeOptions.parse`'s
    keywords (or an ``encode`` made already)."""
    sink = sink_for(os.fspath(dst), format)
    path = Path(dst if sink is None or sink.placeholder is None else sink.placeholder)
    chosen = encode if encode is not None else EncodeOptions.parse(**encoding)
    choice: AudioChoice = parse_audio_choice(audio_stream)
    return OutputSpec(path=path.expanduser().absolute(), sink=sink, encode=chosen, audio=audio,
                      audio_stream=choice, subtitles=subtitles, overwrite=overwrite)


def request(src: PathLike, dst: Optional[PathLike] = None,
            offset: Union[int, str, FramesOrTime, None] = None, *,
            freeze: Union[int, str, FramesOrTime, None] = None,
            look: Union[str, Look, None] = None,
            stabilize: Union[bool, str, StabilizeOptions] = False,
            strategy: StrategyChoice = "auto", max_buffer: Union[int, str, None] = None,
            threads: Optional[int] = None, start: TimeLike = None, end: TimeLike = None,
            duration: TimeLike = None, deinterlace: bool = False,
            video_stream: Optional[int] = None,
            sequence: Union[bool, SequenceRequest, None] = None,
            framerate: Union[str, float, Fraction, None] = None,
            source: Optional[Source] = None, format: Optional[str] = None,
            overwrite: bool = False, audio: bool = True,
            audio_stream: Union[int, str, None] = None, subtitles: bool = True,
            codec: Optional[str] = None, crf: Optional[float] = None,
            preset: Optional[str] = None, pix_fmt: Optional[str] = None,
            lossless: bool = False, width: Optional[int] = None, height: Optional[int] = None,
            scale: Union[float, str, None] = None, fps: Union[float, str, None] = None,
            audio_codec: Optional[str] = None, audio_bitrate: Optional[str] = None,
            encoder_opts: EncoderOpts = None, gif_dither: Optional[str] = None,
            gif_stats: Optional[str] = None, checked: bool = True) -> MotionRequest:
    """One request from keyword values as a caller types them (see :func:`ffmotion.extract`
    for each keyword). ``dst`` None: nothing is written (frames or numbers are taken by the
    caller). ``checked``: the input and output are checked against the safe-write rule now
    (:func:`check_paths`; the preview plans outputs it may never write and checks them
    before a render)."""
    wanted = input_spec(src, source=source, sequence=sequence, framerate=framerate,
                        video_stream=video_stream, start=start, end=end, duration=duration,
                        deinterlace=deinterlace)
    near = None if wanted.source is not None else wanted.path
    chosen = look_of(look, near)
    motion = MotionSpec.parse(offset, freeze, look=chosen, stabilize=stabilize,
                              strategy=strategy, max_buffer=max_buffer)
    output = None
    if dst is not None:
        output = output_spec(dst, format=format, overwrite=overwrite, audio=audio,
                             audio_stream=audio_stream, subtitles=subtitles, codec=codec,
                             crf=crf, preset=preset, pix_fmt=pix_fmt, lossless=lossless,
                             width=width, height=height, scale=scale, fps=fps,
                             audio_codec=audio_codec, audio_bitrate=audio_bitrate,
                             encoder_opts=encoder_opts, gif_dither=gif_dither,
                             gif_stats=gif_stats)
    made = MotionRequest(wanted, motion, output, threads)
    if checked:
        check_paths(made)
    return made


# -- the safe-write rule, before anything runs ------------------------------------------------

@dataclass(frozen=True)
class Checked:
    """What checking a request found: the image sequence listed (once), if any."""

    sequence: Optional[images.ImageSequence] = None


def check_input(wanted: InputSpec) -> Checked:
    """The input exists and can be read as asked: a file (not a folder, a FIFO...), or an
    image sequence (listed here, once); a stream is not checked before it is opened."""
    if wanted.source is not None:
        return Checked()
    src = wanted.path
    outputs.check_name(src, "input")
    outputs.check_name_length(src, "input")
    if wanted.sequence is not None:
        try:
            return Checked(images.resolve(src, wanted.sequence))
        except MediaError:  # mixed pictures: the input's fault, said when it is probed
            return Checked()
    if not src.exists():
        hint = (f" (to read an image sequence, add {field('sequence')} or {field('framerate')})"
                if images.looks_like_sequence(src) else "")
        raise UsageError(f"input not found: {src}{hint}")
    if src.is_dir():
        raise UsageError(f"input is a folder, not a file: {src}")
    return Checked()


def check_paths(made: MotionRequest) -> Checked:
    """Input exists; the output is not the input, nor a file it reads; it can be written
    (the safe-write rule, :mod:`ffmotion.run.outputs`)."""
    found = check_input(made.input)
    output = made.output
    if output is None:
        return found
    dst, sink = output.path, output.sink
    if sink is not None and sink.kind == "hls":
        check_hls(dst, output.overwrite, input_files(made.input, found))
        return found
    if sink is not None:  # stdout, a URL: nothing on disk to check
        return found
    outputs.check_name(dst, "output")
    outputs.check_name_length(dst, "output")
    src = made.input.path
    if found.sequence is not None:
        check_sequence_paths(found.sequence, dst)
    elif made.input.source is None and (
            dst == src or (dst.exists() and os.path.samefile(src, dst))
            or dst.resolve() == src.resolve()):
        raise UsageError(f"output is the input: {dst} (choose another output file)")
    if made.input.source is None:
        check_not_listed(dst, input_files(made.input, found))
    if graph_outputs.is_sequence(dst):
        outputs.check_output_set(dst, output.overwrite)
    else:
        outputs.check_output_path(dst, output.overwrite)
    return found


def input_files(wanted: InputSpec, found: Optional[Checked] = None) -> list[Path]:
    """The files a run reads, which no output may write or delete: the input file and, when
    it is an HLS/M3U playlist, the files it lists; the images of a sequence; none for a
    stream."""
    if wanted.source is not None:
        return []
    if wanted.sequence is not None:
        if found is not None and found.sequence is not None:
            return list(found.sequence.files)
        try:
            return list(images.resolve(wanted.path, wanted.sequence).files)
        except (MediaError, UsageError):
            return []
    return [wanted.path, *playlist_entries(wanted.path)]


def check_not_listed(dst: Path, read: list[Path]) -> None:
    """The output is none of the files an input playlist lists (it would be replaced while
    it is read)."""
    for listed in read[1:]:
        if outputs.same_file(dst, listed):
            raise UsageError(f"output {outputs.shown(dst)} is a file the input playlist lists: "
                             "refusing to overwrite it (choose another output file)")


def check_sequence_paths(sequence: images.ImageSequence, dst: Path) -> None:
    """The output is none of the sequence's images, and an output sequence names none."""
    real = {Path(os.path.realpath(f)) for f in sequence.files}
    if Path(os.path.realpath(dst)) in real:
        raise UsageError(f"output is one of the input images: {dst} (choose another output)")
    if graph_outputs.is_sequence(dst):
        regex = sequence_regex(dst)
        folder = Path(os.path.realpath(dst.parent))
        if any(f.parent == folder and regex.match(f.name) for f in real):
            raise UsageError(f"the output sequence {dst.name} would write over the input "
                             f"images in {dst.parent} (choose another name or folder)")
