"""The preview plans with the CLI's options: the command it shows, read by the CLI, gives the
options its frames, sizes and renders come from (no second way of making them)."""
from __future__ import annotations

import shlex
from pathlib import Path

import pytest

from ffmotion import cli
from ffmotion.preview.session import Session
from ffmotion.run import runner

from helpers import make_clip


@pytest.mark.parametrize("query", [
    {"offset": "3"},
    {"offset": "2", "stab": "1"},  # the preview's tripod: --stabilize --stabilize-smoothing 0
    {"mode": "freeze", "offset": "4", "gain": "2", "start": "2", "end": "10"},
    {"offset": "2", "rgb": "1x,2x,3x", "stab": "1", "trail": "0.5"},
])
def test_the_command_shown_gives_the_options_the_preview_uses(tmp_path: Path, gen_ffmpeg: str,
                                                              query: dict) -> None:
    clip = make_clip(gen_ffmpeg, tmp_path / "clip.mkv", size=(64, 48), frames=12)
    session = Session(clip, runner.tools(gen_ffmpeg), width=32)
    try:
        settings = session.settings(query)
        words = shlex.split(session.describe(settings)["cli"])
        args = cli.run.parser().parse_args(words[1:])
        from_cli = cli.options.motion_request(args, args.input, args.output)
        # what the preview's frames are planned with, and what Render runs
        assert session.request(settings) == from_cli
        assert session.request(settings, checked=True) == from_cli
    finally:
        session.close()
