"""--stabilize auto that decides on no stabilization runs the plain plan: on 10-bit input the
same 10-bit working format, graph and printed command as without --stabilize (vid.stab works
in 8 bits, but only its analysis needs that)."""
from __future__ import annotations

from pathlib import Path

import pytest

from ffmotion import cli, reference

from conftest import assert_frames_equal, decode, run_ffmpeg

W, H, N, K = 96, 64, 24, 2
DEEP = "yuv420p10le"


@pytest.fixture(scope="module")
def still_10bit(tmp_path_factory: pytest.TempPathFactory, gen_ffmpeg: str) -> Path:
    """A locked-off camera on a still scene (temporal sensor noise only), 10-bit FFV1, with
    values that 8 bits cannot hold (a 10-bit pattern that changes every frame in the two
    lowest bits)."""
    path = tmp_path_factory.mktemp("still10") / "still10.mkv"
    run_ffmpeg(gen_ffmpeg, "-f", "lavfi", "-i",
               "mandelbrot=s=240x160:start_scale=1.5:end_scale=1.5:rate=30", "-vf",
               f"trim=end_frame=1,loop=loop={N - 1}:size=1:start=0,setpts=N/30/TB,"
               f"crop={W}:{H}:60:40,noise=alls=6:allf=t,format={DEEP},"
               r"geq=lum='lum(X\,Y)+mod(X*7+Y*13+N*5\,4)':cb='cb(X\,Y)':cr='cr(X\,Y)'",
               "-frames:v", str(N), "-c:v", "ffv1", str(path))
    return path


@pytest.fixture(autouse=True)
def private_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    cache = tmp_path / "cache"
    monkeypatch.setenv("FFMOTION_CACHE", str(cache))
    return cache


def test_auto_none_on_10bit_runs_the_plain_10bit_plan(gen_ffmpeg, still_10bit, tmp_path, capsys):
    args = ["-k", str(K), "--lossless", "--ffmpeg", gen_ffmpeg]
    out = tmp_path / "auto.mkv"
    assert cli.main([str(still_10bit), str(out), *args, "--stabilize"]) == 0
    err = capsys.readouterr().err
    assert "--stabilize auto: no stabilization" in err and f"frames, {DEEP}" in err, err
    # the pixels: the numpy reference at 10 bits, bit for bit
    expected = list(reference.reference(gen_ffmpeg, still_10bit, K, "offset", DEEP, W, H))
    assert len(expected) == N - K
    assert_frames_equal(decode(gen_ffmpeg, out, DEEP, (W, H)), expected)
    # the printed line: the plain run's, byte for byte (the analysis is cached by now)
    line = tmp_path / "printed.mkv"
    assert cli.main([str(still_10bit), str(line), *args, "--print-command"]) == 0
    plain = capsys.readouterr().out
    assert cli.main([str(still_10bit), str(line), *args, "--stabilize", "--print-command"]) == 0
    stabilized = capsys.readouterr().out
    assert "vidstab" not in stabilized and "yuv420p," not in stabilized
    assert stabilized == plain
