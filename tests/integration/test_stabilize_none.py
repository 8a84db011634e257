"""--stabilize auto that decides on no stabilization runs the plain plan: on 10-bit input the
same 10-bit working format, graph and printed command as without --stabilize (vid.stab works
in 8 bits, but only its analysis needs that)."""
from __future__ import annotations

from pathlib import Path

import pytest

from ffmotion import cli

import reference
from helpers import assert_frames_equal, decode, run_ffmpeg

W, H, N, K = 96, 64, 24, 2
DEEP = "yuv420p10le"
DEEP_BITS = (f"format={DEEP},"  # then a pattern in the two lowest bits, new every frame
             r"geq=lum='lum(X\,Y)+mod(X*7+Y*13+N*5\,4)':cb='cb(X\,Y)':cr='cr(X\,Y)'")
SUBJECT = (192, 108, 40)  # width, height, frames
STILL = f"trim=end_frame=1,loop=loop={N - 1}:size=1:start=0,setpts=N/30/TB"


@pytest.fixture(scope="module")
def shots_10bit(tmp_path_factory: pytest.TempPathFactory, gen_ffmpeg: str) -> dict[str, Path]:
    """10-bit FFV1 clips with values that 8 bits cannot hold, on which auto decides on none:
    ``still``, a locked-off camera (sensor noise only): by the camera path; ``subject``, a
    still camera and a large subject shaking in front of it, which vid.stab follows: by
    measurement (no stabilization lowers the residual motion beyond the tolerance)."""
    folder = tmp_path_factory.mktemp("none10")
    scene = "mandelbrot=s=240x160:start_scale=1.5:end_scale=1.5:rate=30"
    still, subject = folder / "still10.mkv", folder / "subject10.mkv"
    run_ffmpeg(gen_ffmpeg, "-f", "lavfi", "-i", scene, "-vf",
               f"{STILL},crop={W}:{H}:60:40,noise=alls=6:allf=t,{DEEP_BITS}",
               "-frames:v", str(N), "-c:v", "ffv1", str(still))
    # the subject shot of test_stabilize_auto.py, at 10 bits
    hold = f"format=yuv420p,loop=loop={SUBJECT[2] - 1}:size=1:start=0,setpts=N/30/TB"
    run_ffmpeg(gen_ffmpeg, "-f", "lavfi", "-i",
               "mandelbrot=s=400x200:start_scale=1.5:end_scale=1.5:rate=30",
               "-f", "lavfi", "-i", "testsrc2=s=100x56:r=30", "-filter_complex",
               f"[0:v]trim=end_frame=1,{hold},crop=w={SUBJECT[0]}:h={SUBJECT[1]}:x=80:y=40[bg];"
               f"[1:v]trim=end_frame=1,{hold}[fg];"
               "[bg][fg]overlay=x='46+10*sin(1.3*n)+5*sin(0.41*n+1)':y='26+8*cos(0.9*n)',"
               f"noise=alls=3:allf=t,{DEEP_BITS}", "-frames:v", str(SUBJECT[2]),
               "-c:v", "ffv1", str(subject))
    return {"still": (still, (W, H, N)), "subject": (subject, SUBJECT)}


@pytest.fixture(autouse=True)
def private_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    cache = tmp_path / "cache"
    monkeypatch.setenv("FFMOTION_CACHE", str(cache))
    return cache


@pytest.mark.parametrize("shot, said", [("still", "--stabilize auto: no stabilization: "),
                                        ("subject", "no stabilization after all")])
def test_auto_none_on_10bit_runs_the_plain_10bit_plan(gen_ffmpeg, shots_10bit, tmp_path, capsys,
                                                      shot, said):
    src, (width, height, frames) = shots_10bit[shot]
    args = ["-k", str(K), "--lossless", "--ffmpeg", gen_ffmpeg]
    out = tmp_path / "auto.mkv"
    assert cli.main([str(src), str(out), *args, "--stabilize"]) == 0
    err = capsys.readouterr().err
    assert said in err and f"frames, {DEEP}" in err, err
    # the pixels: the numpy reference at 10 bits, bit for bit
    expected = list(reference.reference(gen_ffmpeg, src, K, "offset", DEEP, width,
                                        height))
    assert len(expected) == frames - K
    assert_frames_equal(decode(gen_ffmpeg, out, DEEP, (width, height)), expected)
    # the printed line: the plain run's, byte for byte (the analysis is cached by now)
    line = tmp_path / "printed.mkv"
    assert cli.main([str(src), str(line), *args, "--print-command"]) == 0
    plain = capsys.readouterr().out
    assert cli.main([str(src), str(line), *args, "--stabilize", "--print-command"]) == 0
    stabilized = capsys.readouterr().out
    assert "vidstab" not in stabilized and "yuv420p," not in stabilized
    assert stabilized == plain
