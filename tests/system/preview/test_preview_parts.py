"""The preview's pure parts: settings <-> command line, trail warm-up, frame windows."""
from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest

from ffmotion import cli, graph
from ffmotion.core.errors import UsageError
from ffmotion.graph import proxy as frames
from ffmotion.media.info import MediaInfo
from ffmotion.preview.session import parse_settings

from helpers import request

INFO = MediaInfo(Path("/nowhere/in.mp4"), 64, 48, Fraction(30), 100, "yuv420p", "h264")


@pytest.mark.parametrize("query", [
    {"offset": "12"},
    {"offset": "0.5s", "blend": "difference", "gain": "2.5", "trail": "0.9"},
    {"mode": "freeze", "offset": "7", "blur": "3", "gray": "1", "overlay": "0.25"},
    {"offset": "2", "rgb": "1x,2x,3x", "gain": "2"},  # the "color" preset
    {"offset": "4", "rgb": "1,3,5", "start": "10", "end": "60", "stab": "1"},
    {"offset": "2", "blend": "difference", "threshold": "12"},  # the "matte" preset
    {"offset": "3", "gain": "2", "glow": "0.5", "glow_radius": "4", "denoise": "atadenoise"},
    {"offset": "2", "blend": "grainextract", "denoise": "hqdn3d"},
    {"offset": "2", "blend": "difference", "threshold": "10", "threshold_edge": "soft",
     "threshold_width": "12", "threshold_on": "original"},  # the "keyed" preset
    {"offset": "2", "glow": "0.9", "glow_radius": "6", "glow_mode": "screen", "gain": "2"},
])
def test_the_command_line_shown_gives_the_same_settings(query: dict) -> None:
    settings = parse_settings(query)
    args = cli.run.parser().parse_args(["in.mp4", "out.mp4", *settings.cli_flags()])
    assert cli.options.look(args) == settings.look
    assert args.start == (f"{query['start']}f" if "start" in query else None)
    assert args.end == (f"{query['end']}f" if "end" in query else None)
    assert args.stabilize == ("stab" in query)
    wanted = None if query.get("rgb", "").startswith("1,") else query["offset"]
    assert (args.freeze if query.get("mode") == "freeze" else args.offset) == wanted


@pytest.mark.parametrize("query", [{"offset": "-1"}, {"gain": "0"}, {"blend": "../x"},
                                   {"start": "/etc"}, {"trail": "2"}, {"mode": "x"},
                                   {"denoise": "nlmeans"}, {"threshold": "-3"}, {"glow": "x"},
                                   {"glow_radius": "9999"}, {"glow_mode": "multiply"},
                                   {"threshold_on": "/etc/passwd"}])
def test_bad_settings_get_the_clis_message(query: dict) -> None:
    with pytest.raises(UsageError):
        parse_settings(query)


@pytest.mark.parametrize("decay, depth", [(0.5, 8), (0.9, 8), (0.97, 10), (0.1, 8)])
def test_warmup_outlasts_any_carried_trail(decay: float, depth: int) -> None:
    need = frames.warmup(decay, depth)
    assert need is not None
    d = np.float32(decay)
    state = np.float32((1 << depth) - 1)  # the largest state lagfun can carry in
    steps = 0
    while state > 0.5:
        state = np.float32(state * d)
        steps += 1
    assert steps <= need <= steps + 3  # enough, and not wastefully more
    assert frames.warmup(1.0, 8) is None


def _plan(**fields: object) -> graph.Plan:
    options = request(src=INFO.path, dst=Path("/nowhere/out.mp4"), **fields)  # type: ignore[arg-type]
    return graph.plan(options, INFO)


def test_windows_read_only_the_frames_an_output_frame_needs() -> None:
    offset = frames.window(_plan(offset="5"), base=10, i=20, count=1)
    assert (offset.a, offset.b, offset.k, offset.skip) == (30, 35, 0, 0)
    freeze = frames.window(_plan(offset="5", mode="freeze"), base=10, i=20, count=1)
    assert (freeze.a, freeze.b, freeze.k, freeze.skip) == (30, 15, 0, 0)
    rgb = frames.window(_plan(offset="2", look=parse_settings({"rgb": "1x,2x,3x"}).look),
                        base=0, i=7, count=3)
    assert (rgb.a, rgb.b, rgb.channel_ks, rgb.count) == (7, 9, (0, 2, 4), 3)
    trail = frames.window(_plan(offset="3", look=parse_settings({"trail": "0.5"}).look),
                          base=0, i=40, count=1)
    assert trail.skip == frames.warmup(0.5, 8) and trail.a == 40 - trail.skip
    early = frames.window(_plan(offset="3", look=parse_settings({"trail": "1"}).look),
                          base=4, i=40, count=1)
    assert (early.a, early.skip) == (4, 40)
    # a temporal denoiser carries state from the range's start, in both branches: read from
    # there through split, as the CLI's graph does
    denoised = frames.window(_plan(offset="3", look=parse_settings({"denoise": "hqdn3d"}).look),
                             base=4, i=40, count=2)
    assert (denoised.a, denoised.b, denoised.k, denoised.skip, denoised.count) == (4, None, 3, 40, 2)


def test_stabilized_settings_hash_the_input_once(tmp_path: Path, gen_ffmpeg: str,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    """Pass 1's cache key hashes the whole input: once per range, not per slider position."""
    from ffmotion.pipeline import stabilize
    from ffmotion.preview.session import Session
    from ffmotion.run import runner

    from helpers import make_clip

    clip = make_clip(gen_ffmpeg, tmp_path / "clip.mkv", frames=12)
    calls: list[Path] = []
    real = stabilize.content_hash
    monkeypatch.setattr(stabilize, "content_hash", lambda path: calls.append(path) or real(path))
    session = Session(clip, runner.tools(gen_ffmpeg), width=32)
    try:
        plans = [session.plan(parse_settings({"offset": str(k), "stab": "1", "gain": gain}))
                 for k in (1, 2, 3) for gain in ("1", "2")]
        assert all(p.stabilizer is not None for p in plans)
        assert len(calls) == (1 if plans[0].stabilizer.method == "vidstab" else 0)
        assert {p.stabilizer for p in plans} == {plans[0].stabilizer}
    finally:
        session.close()


def test_a_long_input_is_previewed_in_part_with_the_same_frames(tmp_path: Path,
                                                                gen_ffmpeg: str) -> None:
    """Past the proxy limit (or with --start/--end) the proxy holds part of the input; its
    frames are the ones a whole-input proxy gives, and the range stays inside the part."""
    from ffmotion.core.pixfmt import plane_layout
    from ffmotion.preview.session import Session
    from ffmotion.run import runner

    from helpers import make_clip

    clip = make_clip(gen_ffmpeg, tmp_path / "clip.mkv", frames=40)
    tools = runner.tools(gen_ffmpeg)
    whole = Session(clip, tools, width=32)
    frame_bytes = plane_layout("yuv420p", *whole.size).frame_bytes
    limited = Session(clip, tools, width=32, proxy_limit=25 * frame_bytes)
    chosen = Session(clip, tools, width=32, start="10f", end="30f")
    try:
        assert whole.bounds == (0, 40) and whole.bounds_note == ""
        assert limited.bounds == (0, 25) and "0 to 24 of 40" in limited.bounds_note
        assert chosen.bounds == (10, 30)
        # an open range is the previewed part, and the commands shown say so
        opened = limited.settings({"offset": "3"})
        assert (opened.start, opened.end) == (None, 25)
        assert "--end 25f" in limited.describe(opened)["cli"]
        assert chosen.settings({}).start == 10
        for outside in ({"end": "31"}, {"start": "9"}):
            with pytest.raises(UsageError, match="outside the previewed part"):
                chosen.settings(outside)
        query = {"offset": "3", "start": "12", "end": "24", "gain": "2"}
        for i in (0, 5, 8):
            want = whole.frame(whole.settings(query), i)[0]
            assert limited.frame(limited.settings(query), i)[0] == want
            assert chosen.frame(chosen.settings(query), i)[0] == want
        assert chosen.original(chosen.settings(query), 3)[0] == \
            whole.original(whole.settings(query), 3)[0]
        assert chosen.proxy_for(chosen.plan(chosen.settings(query)))[0].count == 20
    finally:
        for session in (whole, limited, chosen):
            session.close()
