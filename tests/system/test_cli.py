"""The command as a user drives it: outputs, printed commands, audio, and every error path."""
from __future__ import annotations

import hashlib
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from ffmotion import cli
from ffmotion.cli import demo as cli_demo

from helpers import FRAMES, make_clip, run_ffmpeg


def ffmotion(*args: str) -> tuple[int, str, str]:
    """Run the real command in a subprocess: exit code, stdout, stderr."""
    done = subprocess.run([sys.executable, "-m", "ffmotion", *args], capture_output=True,
                          text=True, timeout=300)
    return done.returncode, done.stdout, done.stderr


def packets(ffmpeg: str, path: Path, stream: str) -> list[list[str]]:
    done = subprocess.run([ffmpeg, "-hide_banner", "-nostdin", "-i", str(path), "-map",
                           f"0:{stream}", "-c", "copy", "-f", "framecrc", "-"],
                          capture_output=True, text=True, check=True)
    return [line.split(",") for line in done.stdout.splitlines()
            if line and not line.startswith("#")]


def stream_info(ffmpeg: str, path: Path) -> str:
    done = subprocess.run([ffmpeg, "-hide_banner", "-nostdin", "-i", str(path)],
                          capture_output=True, text=True)
    return "\n".join(line for line in done.stderr.splitlines() if "Stream #" in line)


def end_seconds(ffmpeg: str, path: Path, stream: str) -> float:
    """End time of a stream: last packet's pts + duration, in seconds."""
    done = subprocess.run([ffmpeg, "-hide_banner", "-nostdin", "-i", str(path), "-map",
                           f"0:{stream}", "-c", "copy", "-f", "framecrc", "-"],
                          capture_output=True, text=True, check=True)
    tb = next(line for line in done.stdout.splitlines() if line.startswith("#tb 0:"))
    num, den = tb.split(":")[1].strip().split("/")
    last = [line.split(",") for line in done.stdout.splitlines() if line and line[0] != "#"][-1]
    return (int(last[2]) + int(last[3])) * int(num) / int(den)


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_offset_run_writes_n_minus_k_frames_with_audio(gen_ffmpeg, av_clip, tmp_path):
    out = tmp_path / "out.mp4"
    code, stdout, stderr = ffmotion(str(av_clip), str(out), "--offset", "12")
    assert code == 0, stderr
    assert len(packets(gen_ffmpeg, out, "v")) == FRAMES - 12
    info = stream_info(gen_ffmpeg, out)
    assert "h264" in info and "64x48" in info and "30 fps" in info and "aac" in info
    video_end = end_seconds(gen_ffmpeg, out, "v")
    assert video_end == pytest.approx((FRAMES - 12) / 30, abs=1e-3)
    # audio ends with the video (within one AAC frame), not K frames later
    assert abs(end_seconds(gen_ffmpeg, out, "a") - video_end) <= 1024 / 48000 + 1e-3
    assert "12 frames" in stderr and "wrote" in stderr
    assert stdout == ""
    assert oct(out.stat().st_mode & 0o777) != oct(0o600)  # not the temp file's private mode


def test_no_audio_drops_audio(gen_ffmpeg, av_clip, tmp_path):
    out = tmp_path / "out.mp4"
    code, _, stderr = ffmotion(str(av_clip), str(out), "-k", "3", "--no-audio")
    assert code == 0, stderr
    assert "Audio:" not in stream_info(gen_ffmpeg, out)
    assert len(packets(gen_ffmpeg, out, "v")) == FRAMES - 3


def test_audio_reencoded_for_a_container_that_refuses_it(gen_ffmpeg, tmp_path):
    src = make_clip(gen_ffmpeg, tmp_path / "pcm.mkv", audio="pcm_s16le")
    out = tmp_path / "out.mp4"
    code, _, stderr = ffmotion(str(src), str(out), "-k", "2")
    assert code == 0, stderr
    assert "Audio: aac" in stream_info(gen_ffmpeg, out)


def test_input_without_audio(gen_ffmpeg, clips, tmp_path):
    out = tmp_path / "out.mp4"
    code, _, stderr = ffmotion(str(clips["yuv420p"].path), str(out), "-k", "2")
    assert code == 0, stderr
    assert "Video:" in stream_info(gen_ffmpeg, out) and "Audio:" not in stream_info(gen_ffmpeg, out)


@pytest.mark.parametrize("ext,extra", [(".mp4", []), (".mkv", ["--lossless"]),
                                       (".webm", ["--freeze", "3"])])
def test_printed_command_makes_the_same_bytes(av_clip, tmp_path, ext, extra):
    out = tmp_path / f"out{ext}"
    code, _, stderr = ffmotion(str(av_clip), str(out), *(extra or ["-k", "5"]))
    assert code == 0, stderr
    made_by_ffmotion = digest(out)
    code, printed, _ = ffmotion(str(av_clip), str(out), *(extra or ["-k", "5"]),
                                "--print-command", "--overwrite")
    assert code == 0
    out.unlink()
    argv = shlex.split(printed)
    assert argv[-1] == str(out)
    subprocess.run(argv, check=True, capture_output=True)
    assert digest(out) == made_by_ffmotion


def test_print_command_runs_nothing(av_clip, tmp_path):
    out = tmp_path / "out.mp4"
    code, printed, _ = ffmotion(str(av_clip), str(out), "--print-command")
    assert code == 0 and "blend=all_mode=average" in printed
    assert not out.exists() and list(tmp_path.iterdir()) == []


def test_overwrite(av_clip, tmp_path):
    out = tmp_path / "out.mp4"
    out.write_bytes(b"keep me")
    code, _, stderr = ffmotion(str(av_clip), str(out), "-k", "3")
    assert code == 2 and "--overwrite" in stderr
    assert out.read_bytes() == b"keep me"
    code, _, _ = ffmotion(str(av_clip), str(out), "-k", "3", "--overwrite")
    assert code == 0 and out.stat().st_size > 1000


def _error_cases(tmp_path: Path, av_clip: Path, gen_ffmpeg: str) -> dict:
    text = tmp_path / "notes.txt"
    text.write_text("not a video\n")
    audio_only = tmp_path / "tone.m4a"
    run_ffmpeg(gen_ffmpeg, "-f", "lavfi", "-i", "sine=d=0.5", "-c:a", "aac", str(audio_only))
    out = str(tmp_path / "out" / "o.mp4")
    (tmp_path / "out").mkdir()
    clip = str(av_clip)
    return {
        "missing input": ([str(tmp_path / "nope.mp4"), out], 2, "input not found"),
        "not media": ([str(text), out], 1, "not a media file"),
        "no video": ([str(audio_only), out], 1, "no video stream"),
        "offset text": ([clip, out, "-k", "fast"], 2, "not a whole number"),
        "offset zero": ([clip, out, "-k", "0"], 2, "at least 1 frame"),
        "offset negative": ([clip, out, "--offset=-4"], 2, "offset"),
        "offset too big": ([clip, out, "-k", str(FRAMES)], 2, f"{FRAMES} frames"),
        "offset too long": ([clip, out, "-k", "5s"], 2, "at most"),
        "freeze too big": ([clip, out, "--freeze", "99"], 2, "past the last frame"),
        "both modes": ([clip, out, "-k", "2", "--freeze", "1"], 2, "not allowed with"),
        "output is input": ([clip, clip], 2, "output is the input"),
        "output folder missing": ([clip, str(tmp_path / "nodir" / "o.mp4")], 2,
                                  "output folder does not exist"),
        "unknown codec": ([clip, out, "--codec", "nosuchcodec"], 2, "unknown codec"),
        "unknown extension": ([clip, str(tmp_path / "out" / "o.xyz")], 2, "--codec"),
        "lossless mp4": ([clip, out, "--lossless"], 2, "mkv"),
        "ffmpeg missing": ([clip, out, "--ffmpeg", str(tmp_path / "no-ffmpeg")], 1,
                           "ffmpeg named by --ffmpeg not found"),
        "unknown pix fmt": ([clip, out, "--pix-fmt", "nosuchformat"], 2, "unknown pixel format"),
        "ffmpeg fails": ([clip, out, "--preset", "nosuchpreset"], 1, "ffmpeg failed"),
        "bad flag": ([clip, out, "--bogus"], 2, "unrecognized arguments"),
    }


CASES = ["missing input", "not media", "no video", "offset text", "offset zero",
         "offset negative", "offset too big", "offset too long", "freeze too big", "both modes",
         "output is input", "output folder missing", "unknown codec", "unknown extension",
         "lossless mp4", "ffmpeg missing", "unknown pix fmt", "ffmpeg fails", "bad flag"]


@pytest.mark.parametrize("case", CASES)
def test_errors_are_one_line_with_exit_code_and_leave_nothing(case, tmp_path, av_clip, gen_ffmpeg,
                                                              capsys):
    args, code, message = _error_cases(tmp_path, av_clip, gen_ffmpeg)[case]
    before = sorted(p.name for p in tmp_path.rglob("*"))
    source_digest = digest(av_clip)
    assert cli.main(args) == code
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if line.strip()]
    errors = [line for line in lines if line.startswith("ffmotion: error:")]
    assert len(errors) == 1 and errors[0] == lines[-1] and "Traceback" not in err, err
    if code == 2:
        assert len(lines) == 1, err  # usage errors are found before anything starts
    assert message in errors[0]
    assert sorted(p.name for p in tmp_path.rglob("*")) == before  # no output, no temp file
    assert digest(av_clip) == source_digest


def test_errors_in_a_real_process_have_no_traceback(tmp_path):
    code, stdout, stderr = ffmotion(str(tmp_path / "missing.mp4"), str(tmp_path / "o.mp4"))
    assert code == 2 and stdout == ""
    assert stderr.strip().count("\n") == 0 and "Traceback" not in stderr


def test_file_named_like_a_subcommand(av_clip, tmp_path, monkeypatch):
    demo = tmp_path / "demo"
    demo.write_bytes(av_clip.read_bytes())
    monkeypatch.chdir(tmp_path)
    assert cli.main(["./demo", "o.mp4", "-k", "2", "-q"]) == 0
    assert (tmp_path / "o.mp4").stat().st_size > 0


def test_demo_writes_sample_and_result(tmp_path, gen_ffmpeg):
    code, stdout, stderr = ffmotion("demo", str(tmp_path / "d"), "-q")
    assert code == 0, stderr
    sample, motion = tmp_path / "d" / cli_demo.DEMO_INPUT, tmp_path / "d" / cli_demo.DEMO_OUTPUT
    n = len(packets(gen_ffmpeg, sample, "v"))
    assert n == 180
    assert len(packets(gen_ffmpeg, motion, "v")) == n - 6  # 0.2 s at 30 fps
    assert "blend=all_mode=average" in stdout  # the reusable command, on stdout
    code, _, stderr = ffmotion("demo", str(tmp_path / "d"))
    assert code == 2 and "--overwrite" in stderr


def test_interrupt_leaves_no_temp_file(av_clip, tmp_path):
    """SIGTERM mid-run: ffmpeg is killed, the temp file removed, exit 130."""
    import signal
    import time

    big = tmp_path / "long.mp4"
    run_ffmpeg(subprocess.check_output([sys.executable, "-c",
               "import imageio_ffmpeg; print(imageio_ffmpeg.get_ffmpeg_exe())"], text=True).strip(),
               "-f", "lavfi", "-i", "testsrc2=s=640x360:r=30:d=60", "-c:v", "libx264",
               "-preset", "ultrafast", str(big))
    out_dir = tmp_path / "o"
    out_dir.mkdir()
    proc = subprocess.Popen([sys.executable, "-m", "ffmotion", str(big), str(out_dir / "o.mp4"),
                             "-k", "2", "--preset", "veryslow"], stderr=subprocess.PIPE, text=True)
    deadline = time.time() + 30
    while time.time() < deadline and not any(out_dir.iterdir()):
        time.sleep(0.05)
    time.sleep(0.5)
    proc.send_signal(signal.SIGTERM)
    _, stderr = proc.communicate(timeout=30)
    assert proc.returncode == 130, stderr
    assert list(out_dir.iterdir()) == []


def test_odd_size_input_to_mp4_grows_to_whole_chroma(gen_ffmpeg, clips, tmp_path):
    """x264 refuses odd 4:2:0 sizes: the picture gains one smeared column and row."""
    out = tmp_path / "odd.mp4"
    code, _, stderr = ffmotion(str(clips["odd_size"].path), str(out), "-k", "3")
    assert code == 0, stderr
    assert "68x42" in stream_info(gen_ffmpeg, out)
    assert len(packets(gen_ffmpeg, out, "v")) == FRAMES - 3
    # the added column and row repeat the last real ones (checked losslessly)
    from helpers import decode

    exact = tmp_path / "odd.mkv"
    code, _, stderr = ffmotion(str(clips["odd_size"].path), str(exact), "-k", "3", "--codec",
                               "ffv1", "--pix-fmt", "yuv420p")
    assert code == 0, stderr
    for frame in decode(gen_ffmpeg, exact, "yuv420p", (68, 42)):
        luma = frame[0]
        assert (luma[:, 67] == luma[:, 66]).all() and (luma[41] == luma[40]).all()


def test_truncated_input_is_reported(gen_ffmpeg, tmp_path):
    """An .mp4 cut short (index up front) probes with more frames than it decodes: say so,
    keep the output, and report the frames really written."""
    whole = tmp_path / "whole.mp4"
    run_ffmpeg(gen_ffmpeg, "-f", "lavfi", "-i",
               "testsrc2=s=64x48:r=30:d=2,format=yuv444p,noise=alls=30:allf=t+u,format=yuv420p",
               "-c:v", "libx264", "-preset", "ultrafast", "-movflags", "+faststart", str(whole))
    cut = tmp_path / "cut.mp4"
    cut.write_bytes(whole.read_bytes()[: whole.stat().st_size * 2 // 3])
    out = tmp_path / "out.mkv"
    code, _, stderr = ffmotion(str(cut), str(out), "-k", "2", "--lossless")
    written = len(packets(gen_ffmpeg, out, "v"))
    assert code == 0 and 0 < written < 60 - 2
    assert f"ffmpeg wrote {written} of the" in stderr and "damaged or ends early" in stderr
    assert f"({written} frames" in stderr
