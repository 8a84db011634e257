"""Two chunked runs on one output at once (``-y``): the second says in one line that another
run is writing it and leaves nothing behind; the first one's output is right."""
from __future__ import annotations

import os
import re

from test_chunks import chunk_files, frames_md5

from chunk_tools import FF, finish, make_clip, run_cli, slow_ffmpeg, start_cli, writer_of_a_chunk


def test_a_second_run_on_the_same_output_is_refused(tmp_path):
    src = make_clip(tmp_path / "in.mp4", 3)
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    out = out_dir / "out.mkv"
    gate = tmp_path / "gate"
    gate.touch()  # the first run's chunks wait until the second run has ended
    args = [str(src), str(out), "-y", "-k", "3", "--lossless", "--chunks", "3", "-j", "1"]
    first = start_cli(*args, "--ffmpeg", str(slow_ffmpeg(tmp_path, gate)))
    try:
        assert writer_of_a_chunk(out_dir, 60) == first.pid  # the first run holds the output
        before = sorted(os.listdir(out_dir))
        second = run_cli(*args, "--ffmpeg", FF, timeout=60)
        assert sorted(os.listdir(out_dir)) == before, second.stderr  # the loser touched nothing
    finally:
        gate.unlink()
        err = finish(first)
    assert first.returncode == 0, err
    assert second.returncode == 1, second.stderr
    assert re.fullmatch(rf"ffmotion: error: another ffmotion run \(pid {first.pid}\) is writing "
                        rf"{re.escape(str(out))}: .*\n", second.stderr.splitlines(True)[-1]), \
        second.stderr
    assert second.stderr.count("ffmotion: error:") == 1 and "Traceback" not in second.stderr
    one = tmp_path / "single.mkv"
    assert run_cli(str(src), str(one), "-k", "3", "--lossless", "--ffmpeg", FF).returncode == 0
    assert frames_md5(out) == frames_md5(one)
    assert chunk_files(out_dir) == []  # no segment, temporary or lock left by either run


def test_the_lock_is_taken_over_from_a_dead_run_and_refuses_what_is_not_a_lock(tmp_path):
    import pytest

    from ffmotion.core.errors import OutputBusy, UsageError
    from ffmotion.run import outputs

    dst, lock = tmp_path / "out.mkv", tmp_path / ".out.ffmotion-lock"
    # what a run killed by SIGKILL leaves: the file, its lock gone with the process
    lock.write_text("ffmotion-lock 1\n999999999@elsewhere\n/x/out.mkv\n")
    with outputs.output_lock(lock, dst):
        assert lock.read_text().splitlines()[1:] == [outputs.writer_tag(), str(dst)]
        with pytest.raises(OutputBusy, match=rf"^another ffmotion run \(pid {os.getpid()}\) is "
                                             rf"writing {re.escape(str(dst))}: wait for it"):
            with outputs.output_lock(lock, dst):
                pass
    assert not lock.exists()
    lock.write_text("a file of the user's\n")
    with pytest.raises(UsageError, match="not ffmotion's lock file"):
        with outputs.output_lock(lock, dst):
            pass
    assert lock.read_text() == "a file of the user's\n"
    lock.unlink()
    lock.symlink_to(tmp_path / "elsewhere")
    with pytest.raises(UsageError, match="symbolic link"):
        with outputs.output_lock(lock, dst):
            pass
    assert not (tmp_path / "elsewhere").exists()
