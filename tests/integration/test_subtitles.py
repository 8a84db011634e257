"""Subtitle tracks in the output: kept in a codec the container takes (with their text and
times), or dropped with the reason in the summary line; ``--no-subtitles``.

Camera and phone MP4/MOV files carry text subtitles as ``mov_text`` (captions, drone
telemetry), which Matroska cannot hold: they are converted (SRT in .mkv, WebVTT in .webm).
The subtitles are read back with ffmpeg's own SRT muxer and compared with the .srt the test
wrote, so text and times are checked independently of ffmotion.
"""
from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

import ffmotion
from ffmotion import cli
from ffmotion.media import probe
from ffmotion.run import runner

from helpers import make_clip, run_ffmpeg

SRT = ("1\n00:00:00,200 --> 00:00:00,600\nhello\n\n"
       "2\n00:00:00,700 --> 00:00:01,000\nworld\n\n")
CUES = [("00:00:00,200", "00:00:00,600", "hello"), ("00:00:00,700", "00:00:01,000", "world")]


def cues(ffmpeg: str, path: Path, track: int = 0) -> list[tuple[str, str, str]]:
    """(start, end, text) of subtitle track ``track`` of ``path``, read back by ffmpeg."""
    done = subprocess.run([ffmpeg, "-hide_banner", "-nostdin", "-v", "error", "-i", str(path),
                           "-map", f"0:s:{track}", "-f", "srt", "-"],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    found = []
    for block in done.stdout.strip().split("\n\n"):
        lines = block.strip().splitlines()
        start, _, end = lines[1].partition(" --> ")
        found.append((start, end, " ".join(lines[2:])))
    return found


def subtitle_codecs(ffmpeg: str, path: Path) -> list[str]:
    return [s.codec for s in probe.probe(path, runner.tools(ffmpeg)).subtitle_streams]


@pytest.fixture(scope="module")
def srt(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("srt") / "captions.srt"
    path.write_text(SRT, encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def phone(tmp_path_factory: pytest.TempPathFactory, gen_ffmpeg: str, srt: Path) -> Path:
    """A phone-like MP4: H.264, AAC and a mov_text caption track."""
    folder = tmp_path_factory.mktemp("phone")
    clip = make_clip(gen_ffmpeg, folder / "clip.mp4", codec="libx264", audio="aac")
    dst = folder / "phone.mp4"
    run_ffmpeg(gen_ffmpeg, "-i", str(clip), "-i", str(srt), "-map", "0", "-map", "1",
               "-c:v", "copy", "-c:a", "copy", "-c:s", "mov_text", str(dst))
    assert subtitle_codecs(gen_ffmpeg, dst) == ["mov_text"]
    return dst


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str]:
    code = cli.main(list(argv))
    return code, capsys.readouterr().err


@pytest.mark.parametrize("name, codec", [("out.mkv", "subrip"), ("out.mp4", "mov_text"),
                                         ("out.mov", "mov_text"), ("out.webm", "webvtt")])
def test_mov_text_is_kept_in_a_codec_the_container_takes(phone, gen_ffmpeg, capsys, tmp_path,
                                                         name, codec):
    out = tmp_path / name
    code, err = run(capsys, str(phone), str(out), "-k", "2", "--ffmpeg", gen_ffmpeg)
    assert code == 0, err
    assert "1 subtitle track kept" in err
    assert subtitle_codecs(gen_ffmpeg, out) == [codec]
    assert cues(gen_ffmpeg, out) == CUES


def test_lossless_mkv_keeps_mov_text_as_srt(phone, gen_ffmpeg, capsys, tmp_path):
    out = tmp_path / "exact.mkv"
    code, err = run(capsys, str(phone), str(out), "--lossless", "--ffmpeg", gen_ffmpeg)
    assert code == 0, err
    assert subtitle_codecs(gen_ffmpeg, out) == ["subrip"]
    assert cues(gen_ffmpeg, out) == CUES


def test_chunked_mkv_keeps_mov_text(phone, gen_ffmpeg, tmp_path):
    out = tmp_path / "chunked.mkv"
    done = ffmotion.extract(phone, out, 2, chunks=2, jobs=2, ffmpeg=gen_ffmpeg)
    assert done.chunks == 2
    assert cues(gen_ffmpeg, out) == CUES
    assert sorted(p.name for p in tmp_path.iterdir()) == ["chunked.mkv"]  # no segments left


def test_batch_lossless_keeps_mov_text(phone, gen_ffmpeg, capsys, tmp_path):
    outdir = tmp_path / "motion"
    code, err = run(capsys, "batch", str(phone), "-o", str(outdir), "--lossless")
    assert code == 0, err
    out = outdir / "phone_motion_k1.mkv"
    assert cues(gen_ffmpeg, out) == CUES


def test_no_subtitles_flag_and_keyword(phone, gen_ffmpeg, capsys, tmp_path):
    out = tmp_path / "none.mkv"
    code, err = run(capsys, str(phone), str(out), "--no-subtitles", "--ffmpeg", gen_ffmpeg)
    assert code == 0, err
    assert "1 of 1 subtitle track(s) dropped (--no-subtitles)" in err
    assert subtitle_codecs(gen_ffmpeg, out) == []
    api_out = tmp_path / "none.mp4"
    ffmotion.extract(phone, api_out, subtitles=False, ffmpeg=gen_ffmpeg)
    assert subtitle_codecs(gen_ffmpeg, api_out) == []
    argv = ffmotion.build_command(phone, tmp_path / "x.mkv", subtitles=False, ffmpeg=gen_ffmpeg)
    assert "0:s:0" not in argv and "-c:s" not in argv


@pytest.mark.parametrize("name", ["out.nut", "out.avi", "out.ts"])
def test_containers_without_timed_subtitles_drop_them_and_say_so(phone, gen_ffmpeg, capsys,
                                                                 tmp_path, name):
    """NUT refuses SRT and WebVTT, and loses mov_text and ASS timing: it gets none, like
    AVI and MPEG-TS."""
    out = tmp_path / name
    code, err = run(capsys, str(phone), str(out), "--ffmpeg", gen_ffmpeg)
    assert code == 0, err
    assert "1 of 1 subtitle track(s) dropped (the output cannot hold them)" in err
    assert subtitle_codecs(gen_ffmpeg, out) == []


def test_srt_into_nut_is_dropped_not_a_failure(gen_ffmpeg, srt, capsys, tmp_path):
    src = tmp_path / "in.mkv"
    clip = make_clip(gen_ffmpeg, tmp_path / "clip.mkv")
    run_ffmpeg(gen_ffmpeg, "-i", str(clip), "-i", str(srt), "-map", "0", "-map", "1",
               "-c", "copy", str(src))
    code, err = run(capsys, str(src), str(tmp_path / "out.nut"), "--ffmpeg", gen_ffmpeg)
    assert code == 0, err


def test_each_track_its_own_codec(gen_ffmpeg, srt, capsys, tmp_path):
    """WebVTT is copied into WebM, SRT beside it is converted: one -c:s per track."""
    src = tmp_path / "two.mkv"
    clip = make_clip(gen_ffmpeg, tmp_path / "clip.mkv")
    run_ffmpeg(gen_ffmpeg, "-i", str(clip), "-i", str(srt), "-map", "0", "-map", "1",
               "-map", "1", "-c:v", "copy", "-c:s:0", "webvtt", "-c:s:1", "srt", str(src))
    assert subtitle_codecs(gen_ffmpeg, src) == ["webvtt", "subrip"]
    out = tmp_path / "out.webm"
    code, err = run(capsys, str(src), str(out), "--ffmpeg", gen_ffmpeg)
    assert code == 0, err
    assert "2 subtitle tracks kept" in err
    assert subtitle_codecs(gen_ffmpeg, out) == ["webvtt", "webvtt"]
    assert cues(gen_ffmpeg, out, 0) == cues(gen_ffmpeg, out, 1) == CUES
    argv = ffmotion.build_command(src, out, overwrite=True, ffmpeg=gen_ffmpeg)
    assert argv[argv.index("-c:s:0") + 1] == "copy"
    assert argv[argv.index("-c:s:1") + 1] == "webvtt"


def test_corpus_mov_text_file_into_matroska(corpus, gen_ffmpeg, tmp_path):
    """The corpus' captioned MP4 (flashes and beeps, a mov_text track) into lossless .mkv."""
    item = corpus["mp4_mov_text"]
    assert subtitle_codecs(gen_ffmpeg, item.path) == ["mov_text"]
    out = tmp_path / "exact.mkv"
    ffmotion.extract(item.path, out, 3, lossless=True, ffmpeg=gen_ffmpeg)
    assert cues(gen_ffmpeg, out) == [("00:00:00,500", "00:00:02,000", "ALT 120 m"),
                                     ("00:00:02,500", "00:00:03,500", "ALT 121 m")]
