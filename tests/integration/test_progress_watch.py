"""The runner's watchers: every ffmpeg run's progress (from the one ``-progress`` parser)
and its end, whichever front started it; a watcher that fails never breaks a run."""
from __future__ import annotations

from pathlib import Path

import pytest

from ffmotion.core.errors import FFmpegFailed
from ffmotion.run import runner


def _realtime(ffmpeg: str, seconds: float, out: str = "-") -> list[str]:
    """A 64x48 source paced at real time (so ffmpeg reports every 0.5 s), to the null muxer."""
    return [ffmpeg, "-hide_banner", "-nostdin", "-f", "lavfi", "-i",
            f"testsrc2=s=64x48:r=30:d={seconds},realtime", "-f", "null", out]


def test_updates_and_end(gen_ffmpeg: str) -> None:
    updates: list[runner.Update] = []
    ends: list[runner.Finished] = []
    argv = _realtime(gen_ffmpeg, 1.6)
    with runner.watching(progress=updates.append, finished=ends.append):
        ran = runner.run_ffmpeg(argv, total_frames=48)
    assert ran.frames == 48
    assert len(updates) >= 3  # every 0.5 s, and the last one
    assert [u.frame for u in updates] == sorted(u.frame for u in updates)
    assert all(u.total == 48 and u.run == updates[0].run for u in updates)
    middle = [u for u in updates if not u.done and u.frame]
    assert middle and all(u.fps and 10 < u.fps < 60 for u in middle)  # about 30: real time
    assert all(u.eta is not None and 0 <= u.eta < 2 for u in middle)
    assert updates[-1].done and updates[-1].frame == 48 and updates[-1].eta == 0.0
    assert len(ends) == 1 and ends[0].argv == argv and ends[0].exit_code == 0
    assert ends[0].frames == 48 and 1.4 < ends[0].seconds < 10


def test_no_total_no_eta(gen_ffmpeg: str) -> None:
    updates: list[runner.Update] = []
    with runner.watching(progress=updates.append):
        runner.run_ffmpeg(_realtime(gen_ffmpeg, 0.6))
    assert updates and all(u.total is None and (u.eta is None or u.done) for u in updates)


def test_failed_run_is_told(gen_ffmpeg: str, tmp_path: Path) -> None:
    ends: list[runner.Finished] = []
    argv = [gen_ffmpeg, "-hide_banner", "-nostdin", "-i", str(tmp_path / "none.mp4"),
            "-f", "null", "-"]
    with runner.watching(finished=ends.append), pytest.raises(FFmpegFailed):
        runner.run_ffmpeg(argv)
    assert len(ends) == 1 and ends[0].exit_code not in (0, None)


def test_watchers_end_with_the_block_and_never_break_a_run(gen_ffmpeg: str) -> None:
    def broken(_: object) -> None:
        raise RuntimeError("a watcher's own bug")

    ends: list[runner.Finished] = []
    with runner.watching(progress=broken, finished=broken):
        with runner.watching(finished=ends.append):
            assert runner.run_ffmpeg(_realtime(gen_ffmpeg, 0.2)).frames == 6
        runner.run_ffmpeg(_realtime(gen_ffmpeg, 0.2))
    assert len(ends) == 1  # the second run came after its block
