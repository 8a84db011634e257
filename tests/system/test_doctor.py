"""``ffmotion doctor``: on the bundled ffmpeg, and on stub ffmpegs reporting a reduced build
(a script in front of the bundled one that drops names from its listings), one lacking the
motion graph's filters, one that is not an ffmpeg at all, and a named one that does not
exist. What each feature is said to be is checked against the binary's own listings, read
here with plain text matching (not ffmotion's parsers); --json against the schema."""
from __future__ import annotations

import json
import os
import re
import stat
import subprocess
import sys
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from ffmotion.cli import report

from helpers import bundled_ffmpeg

VALIDATOR = jsonschema.Draft202012Validator(json.loads(report.SCHEMA.read_text()))

# what the reduced build drops: names in -filters/-encoders/-protocols/-devices/-hwaccels
# and the configure flags behind them
DROPPED = ("vidstabdetect", "vidstabtransform", "zmq", "azmq", "libplacebo", "opencl",
           "vulkan", "srt", "video4linux2", "v4l2", "libx264", "--enable-libvidstab",
           "--enable-libsrt", "--enable-libzmq", "--enable-libx264")
# the features it then lacks
LACKED = {"vid.stab", "zmq", "libplacebo", "OpenCL", "Vulkan", "SRT", "v4l2", "encoder libx264"}

STUB = '''#!{python}
"""A reduced ffmpeg: the real one, with these names dropped from what it lists."""
import os, re, subprocess, sys
REAL, DROP = {real!r}, set({drop!r})
args = sys.argv[1:]
if not {{"-filters", "-encoders", "-protocols", "-devices", "-hwaccels", "-buildconf",
         "-version"}} & set(args):
    os.execv(REAL, [REAL, *args])
done = subprocess.run([REAL, *args], capture_output=True)
for data, stream in ((done.stdout, sys.stdout.buffer), (done.stderr, sys.stderr.buffer)):
    kept = [line for line in data.decode().splitlines(True)
            if not DROP & set(re.split(r"[\\s,]+", line.strip()))]
    stream.write("".join(kept).encode())
sys.exit(done.returncode)
'''


def stub(folder: Path, drop: tuple[str, ...], name: str = "ffmpeg") -> str:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(STUB.format(python=sys.executable, real=bundled_ffmpeg(), drop=drop))
    path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return str(path)


def doctor(*argv: str, tmp: Path, code: int = 0, env: dict[str, str] | None = None,
           ) -> tuple[dict[str, Any], str]:
    """``ffmotion doctor ARGV --json``: its report (valid by the schema), and the human
    report of the same command without --json."""
    environ = {**os.environ, "FFMOTION_CACHE": str(tmp / "cache"), "COLUMNS": "100",
               **(env or {})}
    runs = []
    for json_flag in (["--json"], []):
        done = subprocess.run([sys.executable, "-m", "ffmotion", "doctor", *argv, *json_flag],
                              capture_output=True, text=True, env=environ, timeout=120)
        assert done.returncode == code, done.stdout + done.stderr
        assert done.stderr == ""  # the report is on stdout, nothing else on stderr
        runs.append(done.stdout)
    lines = runs[0].splitlines()
    assert len(lines) == 1, runs[0]
    result = json.loads(lines[0])
    errors = [f"{list(e.absolute_path)}: {e.message}" for e in VALIDATOR.iter_errors(result)]
    assert not errors, errors
    assert result["command"] == "doctor" and result["ok"] == (code == 0)
    assert result["result"]["can_run"] == (code == 0)
    return result["result"], runs[1]


def listing(ffmpeg: str, flag: str) -> str:
    done = subprocess.run([ffmpeg, "-hide_banner", "-nostdin", flag], capture_output=True,
                          text=True, timeout=60)
    return done.stdout


def has(ffmpeg: str, kind: str, name: str) -> bool:
    """Whether the build lists ``name``, read from its own text with plain matching."""
    flag = {"filter": "-filters", "encoder": "-encoders", "protocol": "-protocols",
            "device": "-devices", "hwaccel": "-hwaccels"}[kind]
    text = listing(ffmpeg, flag)
    if kind in ("filter", "encoder"):  # rows: flags, name, the rest
        return re.search(rf"^ \S+ +{re.escape(name)} ", text, re.M) is not None
    if kind == "device":  # rows: D/E flags, names separated by commas, the rest
        return re.search(rf"^ [D ][E ] (\S+,)?{re.escape(name)}(,\S+)? ", text, re.M) is not None
    return re.search(rf"^\s*{re.escape(name)}\s*$", text, re.M) is not None  # one a line


@pytest.fixture(scope="module")
def bundled(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, Any], str]:
    tmp = tmp_path_factory.mktemp("doctor")
    return doctor(tmp=tmp, code=0, env={"FFMOTION_FFMPEG": bundled_ffmpeg()})


def test_bundled_ffmpeg_where_it_came_from_and_its_build(bundled: tuple[dict[str, Any], str],
                                                          ) -> None:
    found, text = bundled
    ffmpeg = bundled_ffmpeg()
    assert found["ffmpeg"]["path"] == ffmpeg and found["ffmpeg"]["source"] == "FFMOTION_FFMPEG"
    assert found["ffmpeg"]["runs"] and found["problem"] is None
    version = listing(ffmpeg, "-version").splitlines()[0]
    assert found["ffmpeg"]["version_line"] == version
    assert version.split()[2] == found["ffmpeg"]["version"]
    conf = re.search(r"configuration: (.*)", listing(ffmpeg, "-version")).group(1)
    assert " ".join(found["ffmpeg"]["buildconf"]) == conf  # every flag, in order
    # imageio-ffmpeg's is also there, not used (taken only after the environment's)
    assert {"path": ffmpeg, "source": "imageio-ffmpeg"} not in found["others"]
    assert f"ffmpeg:  {ffmpeg} (from FFMOTION_FFMPEG)" in text.splitlines()
    assert f"version: {version}" in text.splitlines()


def test_bundled_ffmpeg_features_as_its_listings_say(bundled: tuple[dict[str, Any], str]) -> None:
    found, text = bundled
    ffmpeg = bundled_ffmpeg()
    keys = [f["feature"] for f in found["features"]]
    assert {"vid.stab", "zmq", "OpenCL", "Vulkan", "libplacebo", "SRT", "v4l2"} <= set(keys)
    for feature in found["features"]:
        there = [name for name in feature["names"] if has(ffmpeg, feature["kind"], name)]
        assert feature["found"] == there, feature["feature"]
        assert feature["present"] == (there == feature["names"] if feature["feature"] in
                                      ("motion graph", "vid.stab") else bool(there))
        assert (feature["todo"] is None) == feature["present"]
        assert re.search(rf"^  (ok     |MISSING)  {re.escape(feature['feature'])}: ", text, re.M)
    assert found["missing"] == [f["feature"] for f in found["features"] if not f["present"]]
    assert [f["role"] for f in found["folders"]] == ["cache", "temp", "looks"]
    assert all(f["writable"] for f in found["folders"])
    assert text.splitlines()[-1].startswith("ffmotion can run here")


def test_a_reduced_build_each_missing_piece_and_what_to_do(bundled: tuple[dict[str, Any], str],
                                                           tmp_path: Path) -> None:
    reduced = stub(tmp_path / "bin", DROPPED)
    found, text = doctor("--ffmpeg", reduced, tmp=tmp_path, code=0)  # optional pieces only
    assert found["ffmpeg"]["path"] == reduced and found["ffmpeg"]["source"] == "--ffmpeg"
    already = set(bundled[0]["missing"])  # what the bundled build lacks, if anything
    assert set(found["missing"]) == LACKED | already
    flags = found["ffmpeg"]["buildconf"]
    assert "--enable-libvidstab" not in flags and "--enable-gpl" in flags
    for feature in found["features"]:
        if feature["feature"] in LACKED:
            assert feature["present"] is False and feature["todo"]
            assert re.search(rf"^  MISSING  {re.escape(feature['feature'])}: ", text, re.M)
    plain = " ".join(text.split())  # the wrapped lines, joined
    assert "-> --stabilize falls back to deshake" in plain
    assert "-> srt:// is refused by this ffmpeg" in plain
    assert "-> give --codec mpeg4" in plain  # no libx264
    assert "-> ffmotion live cannot open Linux cameras" in plain
    assert plain.endswith(f"ffmotion can run here; {len(found['missing'])} optional feature(s) "
                          f"missing ({', '.join(found['missing'])}): see above")
    assert "\x1b" not in text  # not a terminal: no escape sequences


def test_what_doctor_says_of_a_reduced_build_is_what_a_run_does(tmp_path: Path) -> None:
    """No libx264: .mp4 is refused and --codec mpeg4 works; no vid.stab: --stabilize
    falls back to deshake, with a warning."""
    reduced = stub(tmp_path / "bin", DROPPED)
    clip = tmp_path / "in.mkv"
    subprocess.run([bundled_ffmpeg(), "-v", "error", "-f", "lavfi", "-i",
                    "testsrc2=s=64x48:r=30:d=0.5", "-c:v", "ffv1", str(clip)], check=True)
    env = {**os.environ, "FFMOTION_CACHE": str(tmp_path / "cache")}

    def run(*argv: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "ffmotion", str(clip), *argv, "--ffmpeg",
                               reduced, "-y"], capture_output=True, text=True, env=env,
                              timeout=120)

    refused = run(str(tmp_path / "out.mp4"))
    assert refused.returncode == 2 and "libx264" in refused.stderr
    assert run(str(tmp_path / "out.mp4"), "--codec", "mpeg4").returncode == 0
    steadied = run(str(tmp_path / "out.mkv"), "--lossless", "--stabilize")
    assert steadied.returncode == 0 and "stabilizing with deshake" in steadied.stderr
    # no zmq: steering a live job is refused before anything starts, in one line
    steered = subprocess.run([sys.executable, "-m", "ffmotion", "live", "lavfi:testsrc2",
                              str(tmp_path / "live.mkv"), "--lossless", "--duration", "1", "--control",
                              "127.0.0.1:0", "--ffmpeg", reduced], capture_output=True,
                             text=True, env=env, timeout=120)
    assert steered.returncode == 2, steered.stderr
    assert steered.stderr.splitlines() == [
        f"ffmotion: error: --control: this ffmpeg ({reduced}) has no zmq filter, which "
        "steering needs: the bundled ffmpeg has it (leave out --ffmpeg), or an ffmpeg built "
        "with --enable-libzmq"]


def test_a_build_without_the_motion_graph_cannot_run(tmp_path: Path) -> None:
    broken = stub(tmp_path / "bin", ("blend",))
    found, text = doctor(tmp=tmp_path, code=1, env={"FFMOTION_FFMPEG": broken})
    assert found["ffmpeg"]["runs"] and not found["can_run"]
    graph = next(f for f in found["features"] if f["feature"] == "motion graph")
    assert graph["essential"] and not graph["present"] and "blend" not in graph["found"]
    assert "(blend)" in found["problem"]
    assert "ffmotion CANNOT run here: this ffmpeg lacks filters the motion graph needs " \
           "(blend)" in " ".join(text.split())


def test_not_an_ffmpeg_and_a_named_one_that_does_not_exist(tmp_path: Path) -> None:
    fake = tmp_path / "ffmpeg"
    fake.write_text("#!/bin/sh\necho hello\n")
    fake.chmod(0o755)
    found, text = doctor("--ffmpeg", str(fake), tmp=tmp_path, code=1)
    assert found["ffmpeg"]["path"] == str(fake) and not found["ffmpeg"]["runs"]
    assert found["features"] == [] and "give --ffmpeg a working ffmpeg" in found["problem"]
    assert "DOES NOT RUN" in text.splitlines()[0]
    found, text = doctor("--ffmpeg", str(tmp_path / "nope"), tmp=tmp_path, code=1)
    assert found["ffmpeg"]["path"] is None and "not found" in found["problem"]
    assert text.splitlines()[0] == "ffmpeg:  NONE"


def test_a_folder_that_cannot_be_written_is_told_not_fatal(tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    found, text = doctor(tmp=tmp_path, code=0,
                         env={"FFMOTION_FFMPEG": bundled_ffmpeg(),
                              "FFMOTION_CACHE": str(blocker / "cache")})
    cache = found["folders"][0]
    assert cache["role"] == "cache" and not cache["writable"] and not cache["exists"]
    assert "FFMOTION_CACHE" in cache["todo"]
    assert re.search(r"^  NOT WRITABLE  cache: ", text, re.M)
