"""``--encoder-opt`` options that make the encoder open a file of its own are refused.

x264's ``dump-yuv`` (inside ``x264-params``) wrote raw frames over the input, exit 0. Every
option or list key that names a file is one error line now, whatever its spelling; ordinary
options (and lists without file keys) still reach the encoder.
"""
from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from pathlib import Path

import pytest

from ffmotion.core.encoder_opts import pairs, token
from ffmotion.core.errors import UsageError
from ffmotion.core.request import EncodeOptions

from helpers import make_clip


def ffmotion(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "ffmotion", *args], capture_output=True,
                          text=True, env=env, timeout=120)


@pytest.fixture
def env(tmp_path: Path, gen_ffmpeg: str) -> dict[str, str]:
    return {**os.environ, "FFMOTION_FFMPEG": gen_ffmpeg, "FFMOTION_CACHE": str(tmp_path / "c")}


@pytest.fixture
def clip(tmp_path: Path, gen_ffmpeg: str) -> Path:
    return make_clip(gen_ffmpeg, tmp_path / "in.mp4", frames=12, codec="libx264")


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.mark.parametrize("opt", ["x264-params=dump-yuv={input}",
                                 "x264-params=ref=2:dump_yuv={input}",
                                 "x264-params='dump-yuv'={input}",
                                 "x264opts=dump-yuv={input}"])
def test_dump_yuv_over_the_input_is_refused_and_the_input_kept(env, clip, tmp_path, opt):
    before = digest(clip)
    out = tmp_path / "out.mp4"
    done = ffmotion(env, str(clip), str(out), "--encoder-opt", opt.format(input=clip))
    assert done.returncode == 2, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("ffmotion: error: --encoder-opt "), done.stderr
    assert "dump" in lines[0] and "drop it" in lines[0]
    assert digest(clip) == before
    assert not out.exists()


@pytest.mark.parametrize("opt, named", [
    ("x264-params=dump-yuv=f.yuv", "dump-yuv"),
    ("x264-params=DUMP_YUV=f.yuv", "DUMP_YUV"),
    ("x264-params=nodump-yuv=1", "nodump-yuv"),
    ("x264-params=ref=4:\\dump-yuv=f", "dump-yuv"),
    ("x264-params= dump-yuv =f", "dump-yuv"),
    ("x264-params=ref=4:stats=s.log", "stats"),
    ("x264-params=pass=1", "pass"),
    ("x264-params=qpfile=q.txt", "qpfile"),
    ("x264-params=cqmfile=m.cfg", "cqmfile"),
    ("x264-params=zones=0,10,dump-yuv=f", "dump-yuv"),
    ("x264-params=zones=0,10,q=20/11,20,stats=f", "stats"),
    ("x265-params=log-level=error:csv=c.csv", "csv"),
    ("x265-params=analysis-save=a.dat", "analysis-save"),
    ("x265-params=analysis-load=a.dat", "analysis-load"),
    ("x265-params=zonefile=z.txt", "zonefile"),
    ("x265-params=recon=r.yuv", "recon"),
    ("x265-params=dhdr10-info=h.json", "dhdr10-info"),
    ("kvazaar-params=preset=fast,cqmfile=m", "cqmfile"),
    ("svtav1-params=fgs-table=t.tbl", "fgs-table"),
    ("aom-params=second-pass-log=l", "second-pass-log"),
    ("vvenc-params=RCStatsFile=s", "RCStatsFile"),
    ("passlogfile=p", "passlogfile"),
    ("stats=s.log", "stats"),
    ("x265-stats=s.log", "x265-stats"),
    ("flags=+pass1", "two-pass"),
    ("flags=+cgop+pass2", "two-pass"),
])
def test_file_naming_options_are_one_usage_error(opt, named):
    with pytest.raises(UsageError) as caught:
        EncodeOptions.parse(encoder_opts=(opt,))
    message = str(caught.value)
    assert "\n" not in message and named in message and "drop it" in message


@pytest.mark.parametrize("opt", ["tune=film", "g=12", "flags=+cgop", "x264-params=ref=4:me=dia",
                                 "x264-params=zones=0,10,q=20", "x265-params=log-level=error",
                                 "x265-params=bframes=2:input-depth=8", "aom-params=static-thresh=0",
                                 "x264-params=noise-reduction=100"])
def test_ordinary_options_pass(opt):
    key, _, value = opt.partition("=")
    assert EncodeOptions.parse(encoder_opts=(opt,)).encoder_opts == ((key, value),)


def test_allowed_list_reaches_the_command(env, clip, tmp_path):
    done = ffmotion(env, str(clip), str(tmp_path / "o.mp4"), "--encoder-opt",
                    "x264-params=ref=2:zones=0,5,q=20", "--print-command")
    assert done.returncode == 0, done.stderr
    assert "ref=2:zones=0,5,q=20" in done.stdout


@pytest.mark.parametrize("text, expected", [
    ("a=1:b=2", [("a", "1"), ("b", "2")]),
    ("'dump-yuv'=x", [("dump-yuv", "x")]),
    (" a = 1 : b\\:c = 'x:y' ", [("a", "1"), ("b:c", "x:y")]),
    ("a=1\\ ", [("a", "1 ")]),
    ("zones=0,10,q=20", [("zones", "0,10,q=20")]),
])
def test_lists_split_as_av_dict_parse_string(text, expected):
    # expected values written from libavutil's av_get_token/av_dict_parse_string rules
    assert pairs(text) == expected


def test_token_stops_at_its_terminator():
    assert token("ab'c=d'=e", 0, "=") == ("abc=d", 7)
