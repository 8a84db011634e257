"""The private runtime folder: mode, ownership, private files, stale sockets."""
from __future__ import annotations

import os
import subprocess

import pytest

from ffmotion.core.errors import UsageError
from ffmotion.run import runtime


def test_folder_is_private_and_files_are_0600(tmp_path):
    place = runtime.folder({"XDG_RUNTIME_DIR": str(tmp_path)})
    assert place == tmp_path / "ffmotion" and place.stat().st_mode & 0o777 == 0o700
    runtime.write_private(place / "t", "secret")
    assert (place / "t").stat().st_mode & 0o777 == 0o600
    assert runtime.read_private(place / "t") == "secret"
    with pytest.raises(FileExistsError):
        runtime.write_private(place / "t", "again")
    os.chmod(place, 0o755)
    with pytest.raises(UsageError, match="not a private folder"):
        runtime.folder({"XDG_RUNTIME_DIR": str(tmp_path)})


def test_stale_sockets_of_dead_jobs_are_removed(tmp_path):
    dead = subprocess.Popen(["true"])
    dead.wait()
    mine = tmp_path / f"zmq-{os.getpid()}-ab12.sock"
    gone = tmp_path / f"frames-{dead.pid}-cd34.sock"
    other = tmp_path / "control-5555.token"
    for path in (mine, gone, other):
        path.write_text("")
    runtime.remove_stale(tmp_path)
    assert mine.exists() and other.exists() and not gone.exists()
