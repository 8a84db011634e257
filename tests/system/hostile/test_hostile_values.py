"""Hostile values: numbers, preset files and image headers give a value or one line.

Numbers: every parser of offsets, times, sizes and rates, fed odd text (5000 digits,
``1e999999999``, unicode digits like ``²`` and ``١٢``, NaN, inf, ``-0``, whitespace, control
characters, and a few hundred random mixes), either returns what the documented grammar
(written out independently below) says, or raises one UsageError line. Preset files: wrong
types, huge numbers and deep nesting are one line naming the file, the preset and the key;
a file that is not needed is not read. JPEG headers cut inside fill bytes or with a short
frame header are declined, not a traceback. The parsing runs in subprocesses under a 1 GiB
address-space limit and a time limit.
"""
from __future__ import annotations

import json
import os
import random
import re
import resource
import subprocess
import sys
from fractions import Fraction
from pathlib import Path
from typing import Any, Optional

import pytest

from helpers import make_clip, run_ffmpeg

MEMORY = 1 << 30


def limited() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY, MEMORY))
    resource.setrlimit(resource.RLIMIT_CPU, (60, 60))


def run_limited(code: str, *args: str, env: Optional[dict[str, str]] = None,
                timeout: int = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True,
                          timeout=timeout, preexec_fn=limited, env=env)


def one_line(done: subprocess.CompletedProcess[str], *needles: str) -> str:
    """stderr is one ``ffmotion: error:`` line (exit 2) containing every needle."""
    assert "Traceback" not in done.stderr, done.stderr
    lines = done.stderr.strip().splitlines()
    assert done.returncode == 2 and len(lines) == 1, done.stderr
    assert lines[0].startswith("ffmotion: error: ") and len(lines[0]) < 400, lines[0]
    for needle in needles:
        assert needle in lines[0], lines[0]
    return lines[0]


# -- numbers ----------------------------------------------------------------------------------

PARSE = r"""
import json, sys, time, traceback
from ffmotion import cli
from ffmotion.core.errors import UsageError
from ffmotion.jobs.chunks import parse_chunks
from ffmotion.core.looks import parse_gain
from ffmotion.core.request import SequenceRequest, parse_audio_choice
from ffmotion.core.request import parse_fps, parse_size
from ffmotion.core.units import FramesOrTime

def point(p):
    return ["frames", p.frames] if p.frames is not None else ["seconds", str(p.seconds)]

def flag(name, text):
    return getattr(cli.run.parser().parse_args(["in", "out", f"--{name}={text}"]), name)

PARSERS = {
    "offset": lambda t: point(FramesOrTime.offset(t)),
    "time": lambda t: point(FramesOrTime.time(t, "--start")),
    "size": lambda t: str(parse_size(t)),
    "fps": lambda t: str(parse_fps(t)),
    "gain": lambda t: str(parse_gain(t)),
    "framerate": lambda t: str(SequenceRequest.parse(t).framerate),
    "chunks": lambda t: str(parse_chunks(t)),
    "audio": lambda t: str(parse_audio_choice(t)),
    "threads": lambda t: str(flag("threads", t)),
    "crf": lambda t: repr(flag("crf", t)),
}
out = []
for text in json.load(open(sys.argv[1])):
    for name, parse in PARSERS.items():
        start = time.monotonic()
        row = {"parser": name, "text": text}
        try:
            row["value"] = parse(text)
        except UsageError as exc:
            row["error"] = str(exc)
        except BaseException:
            row["crash"] = traceback.format_exc()
        row["seconds"] = time.monotonic() - start
        out.append(row)
print(json.dumps(out))
"""

ODD = ["²", "١٢", "١:٢", "１２", "𝟙", "NaN", "nan", "inf", "-inf", "1e309", "1e999999999",
       "1e-99999999", "-0", "+0", "0", "", " ", "\t12\n", "\u00a012", "\u200b12", "12\x00",
       "12s\x1b[31m", "1_000", "0x10", "1/0", "30000/1001", "12.5", ".5", "5.", "500ms", "2s",
       "30f", "1:30", "1:00:00", "1:02.5", "256M", "1.5G", "512MiB", "100k", "auto", "all",
       "none", "7", "1024", "1025", "100", "100.001", "0.0005", "9" * 64, "9" * 65,
       "9" * 4300, "9" * 4301, "9" * 5000, "0." + "9" * 5000, "1e" + "9" * 9, "- 1", "--1"]
ALPHABET = list("0123456789") * 4 + ["²", "١", "１", ".", "/", ":", "e", "E", "+", "-", " ",
                                    "\t", "\u00a0", "s", "ms", "f", "k", "M", "G", "i", "B",
                                    "x", "nan", "inf", "_", "\x00", "\x1b"]


def random_texts(count: int, seed: int = 21) -> list[str]:
    rng = random.Random(seed)
    return ["".join(rng.choice(ALPHABET) for _ in range(rng.randint(1, 10))) for _ in range(count)]


# The documented grammars, written out here independently of ffmotion's code: a value is
# stripped, ASCII, at most 64 characters; then:
WS = r"[ \t\n\r\f\v]*"
DEC = r"([0-9]+(?:\.[0-9]*)?|\.[0-9]+)"
RATIO = re.compile(r"([+-]?)" + DEC + r"(?:/([0-9]+))?")


def _plain(text: str) -> Optional[str]:
    text = text.strip()
    return text if len(text) <= 64 and text.isascii() and text.isprintable() else None


def _ratio(text: str) -> Optional[Fraction]:
    plain = _plain(text)
    match = RATIO.fullmatch(plain) if plain is not None else None
    if match is None or (match.group(3) is not None and int(match.group(3)) == 0):
        return None
    value = Fraction(match.group(2)) / (int(match.group(3)) if match.group(3) else 1)
    return -value if match.group(1) == "-" else value


def expected(parser: str, text: str) -> Optional[Any]:
    """What the parser must return for ``text`` (None: it must refuse with a UsageError)."""
    plain = _plain(text)
    if parser in ("offset", "time") and plain is not None:
        frames = re.fullmatch(rf"([0-9]+){WS}(f|frames?)" + ("" if parser == "time" else "?"),
                              plain, re.I)
        if frames:
            return ["frames", int(frames.group(1))]
        units = "(s|sec|ms)" + ("?" if parser == "time" else "")
        secs = re.fullmatch(DEC + WS + units, plain, re.I)
        if secs:
            scale = 1000 if (secs.group(2) or "").lower() == "ms" else 1
            return ["seconds", str(Fraction(secs.group(1)) / scale)]
        clock = re.fullmatch(r"(?:([0-9]+):)?([0-9]+):([0-9]+(?:\.[0-9]*)?)", plain)
        if parser == "time" and clock:
            hours, minutes, seconds = clock.groups()
            return ["seconds", str(Fraction(seconds) + 60 * int(minutes) + 3600 * int(hours or 0))]
        return None
    if parser == "size" and plain is not None:
        size = re.fullmatch(DEC + WS + r"([kmgt]?)(i?b?)", plain, re.I)
        return str(int(Fraction(size.group(1)) * 1024 ** "_kmgt".index(size.group(2).lower() or "_"))) \
            if size else None
    if parser in ("fps", "framerate", "gain"):
        value = _ratio(text)
        if value is None or not 0 < value <= (100 if parser == "gain" else 1000):
            return None
        if parser == "gain":
            return str(value) if (value * 1000).denominator == 1 else None
        return str(value) if max(value.numerator, value.denominator) < 2**31 else None
    if parser == "chunks":
        if text.strip().lower() == "auto":
            return "auto"
        whole = re.fullmatch(r"[+-]?[0-9]+", plain or "")
        return str(int(plain)) if whole and int(plain) >= 1 else None  # type: ignore[arg-type]
    if parser == "audio":
        word = text.strip().lower()
        return word if word in ("all", "none") else (
            str(int(word)) if re.fullmatch(r"[0-9]{1,9}", word) else None)
    # the flags as argparse reads them (their ranges are checked later, with the options)
    if parser == "threads":
        whole = re.fullmatch(r"[+-]?[0-9]+", plain or "")
        return str(int(plain)) if whole else None  # type: ignore[arg-type]
    if parser == "crf":
        real = re.fullmatch(r"[+-]?" + DEC + r"(?:[eE][+-]?[0-9]{1,4})?", plain or "")
        number = float(plain) if real else float("nan")  # type: ignore[arg-type]
        return repr(number) if number == number and abs(number) != float("inf") else None
    return None


def test_number_parsers_give_the_documented_value_or_one_usage_error(tmp_path):
    texts = ODD + random_texts(300)
    listing = tmp_path / "texts.json"
    listing.write_text(json.dumps(texts))
    done = run_limited(PARSE, str(listing), timeout=120)
    assert done.returncode == 0, done.stderr[-3000:]
    rows = json.loads(done.stdout)
    assert len(rows) == len(texts) * 10
    crashes = [(r["parser"], r["text"][:40], r["crash"][-300:]) for r in rows if "crash" in r]
    assert not crashes, crashes[:5]
    for row in rows:
        want = expected(row["parser"], row["text"])
        shown = (row["parser"], row["text"][:80])
        assert row["seconds"] < 1, shown
        if want is None:
            assert "error" in row, (shown, row.get("value"))
            assert "\n" not in row["error"] and len(row["error"]) < 300, (shown, row["error"])
        else:
            assert row.get("value") == want, (shown, row)


@pytest.fixture(scope="module")
def clip(tmp_path_factory: pytest.TempPathFactory, gen_ffmpeg: str) -> Path:
    return make_clip(gen_ffmpeg, tmp_path_factory.mktemp("values") / "clip.mp4", frames=12,
                     codec="libx264")


@pytest.fixture
def env(tmp_path: Path, gen_ffmpeg: str) -> dict[str, str]:
    return {**os.environ, "FFMOTION_FFMPEG": gen_ffmpeg, "FFMOTION_CACHE": str(tmp_path / "c"),
            "XDG_CONFIG_HOME": str(tmp_path / "config")}


CLI = "import sys\nfrom ffmotion.cli import main\nsys.exit(main(sys.argv[1:]))"
HUGE = "9" * 5000


@pytest.mark.parametrize("args, named", [
    (["-k", HUGE], "offset"), (["--duration", HUGE], "--duration"), (["--start", HUGE], "--start"),
    (["--end", HUGE], "--end"), (["--freeze", HUGE], "--freeze"), (["--max-buffer", HUGE], "--max-buffer"),
    (["--rgb-offsets", f"{HUGE},1,1"], "--rgb-offsets"), (["--gain", HUGE], "--gain"),
    (["--fps", "1e999999999"], "--fps"), (["--gain", "1e99999999"], "--gain"),
    (["--scale", "1e-99999999"], "--scale"), (["--audio-stream", "²"], "--audio-stream"),
    (["--chunks", "²"], "--chunks"), (["-k", "١"], "offset"), (["--threads", HUGE], "--threads"),
    (["--connect-timeout", "9" * 60, "--chunks", "2"], "--connect-timeout"),
    (["--fps", "1/" + "9" * 40], "--fps"),
])
def test_huge_and_odd_numbers_on_the_command_line_are_one_line(clip, env, tmp_path, args, named):
    done = run_limited(CLI, str(clip), str(tmp_path / "o.mp4"), *args, "--print-command",
                       env=env)
    line = one_line(done, named)
    assert HUGE not in line


def test_a_long_number_in_a_message_is_cut_short(clip, env, tmp_path):
    done = run_limited(CLI, str(clip), str(tmp_path / "o.mp4"), "--duration", HUGE,
                       "--print-command", env=env)
    assert "too long for a number" in one_line(done)


# -- preset files -----------------------------------------------------------------------------

@pytest.mark.parametrize("body, key, words", [
    ("rgb-offsets = 5", "rgb-offsets", "must be a string"),
    ("rgb-offsets = true", "rgb-offsets", "must be a string"),
    ("rgb-offsets = [1, 2, 3]", "rgb-offsets", "must be a string"),
    ("gray = \"false\"", "gray", "must be true or false"),
    ("gray = 0", "gray", "must be true or false"),
    ("blur = true", "blur", "must be a whole number"),
    ("blur = 0x" + "f" * 5000, "blur", "out of range"),
    ("gain = 0x" + "f" * 5000, "gain", "out of range"),
    ("gain = true", "gain", "must be a number"),
    ("trail = \"nan\"", "trail", "trail"),
    ("trail = \"١\"", "trail", "digits 0-9"),
    ("gain = \"1e99999999\"", "gain", "--gain"),
    ("description = 5", "description", "must be a string"),
    ("mode = [\"difference\"]", "mode", "must be a string"),
])
def test_wrong_types_in_a_preset_are_one_line_naming_file_preset_and_key(env, tmp_path, body,
                                                                         key, words):
    path = tmp_path / "config" / "ffmotion" / "looks.toml"
    path.parent.mkdir(parents=True)
    path.write_text(f"[looks.mine]\n{body}\n")
    done = run_limited(CLI, "looks", env=env)
    line = one_line(done, str(path), "'mine'", words)
    assert key in line and done.stdout == ""


@pytest.mark.parametrize("text", ["[looks.mine]\nblur = " + "9" * 5000 + "\n",
                                  "[looks.mine]\nx = " + "[" * 5000 + "]" * 5000 + "\n"])
def test_preset_files_python_cannot_parse_are_one_line(env, tmp_path, text):
    path = tmp_path / "config" / "ffmotion" / "looks.toml"
    path.parent.mkdir(parents=True)
    path.write_text(text)
    one_line(run_limited(CLI, "looks", env=env), str(path))


def test_a_preset_loader_error_has_its_own_type(tmp_path, monkeypatch):
    from ffmotion.pipeline import presets

    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    project = tmp_path / "shoot"
    project.mkdir()
    (project / "ffmotion.toml").write_text("[looks.a]\ngray = \"false\"\n")
    with pytest.raises(presets.PresetError) as caught:
        presets.available(project / "clip.mp4")
    assert caught.value.path == project / "ffmotion.toml"


def test_a_bad_project_file_is_read_only_when_needed(clip, env, tmp_path):
    folder = tmp_path / "shoot"
    folder.mkdir()
    src = folder / "clip.mp4"
    src.write_bytes(clip.read_bytes())
    (folder / "ffmotion.toml").write_text("[looks.a]\nrgb-offsets = 5\n")
    out = str(tmp_path / "o.mp4")
    plain = run_limited(CLI, str(src), out, "--print-command", env=env)
    assert plain.returncode == 0 and plain.stderr == "", plain.stderr
    # a preset is looked up: the project file could define it, so it is needed
    one_line(run_limited(CLI, str(src), out, "--look", "classic", "--print-command", env=env),
             str(folder / "ffmotion.toml"), "rgb-offsets")


def test_a_preset_found_in_the_project_does_not_need_a_broken_user_file(clip, env, tmp_path):
    folder = tmp_path / "shoot"
    folder.mkdir()
    src = folder / "clip.mp4"
    src.write_bytes(clip.read_bytes())
    (folder / "ffmotion.toml").write_text("[looks.mine]\nmode = \"difference\"\n")
    user = tmp_path / "config" / "ffmotion" / "looks.toml"
    user.parent.mkdir(parents=True)
    user.write_text("[looks.other]\nblur = \"x\"\n")
    out = str(tmp_path / "o.mp4")
    done = run_limited(CLI, str(src), out, "--look", "mine", "--print-command", env=env)
    assert done.returncode == 0, done.stderr
    assert "difference" in done.stdout


def test_looks_escapes_control_characters_of_descriptions(env, tmp_path):
    path = tmp_path / "config" / "ffmotion" / "looks.toml"
    path.parent.mkdir(parents=True)
    path.write_text('[looks.evil]\ndescription = "red \\u001b[31mALERT\\u001b[0m \\u009b2J"\n'
                    "gain = 2\n")
    done = run_limited(CLI, "looks", env=env)
    assert done.returncode == 0, done.stderr
    line = next(row for row in done.stdout.splitlines() if row.startswith("evil "))
    assert not any(ord(c) < 32 or 127 <= ord(c) < 160 for c in done.stdout.replace("\n", ""))
    assert "\\x1b[31mALERT" in line and "\\x9b2J" in line


# -- JPEG headers -----------------------------------------------------------------------------

READ_HEADERS = r"""
import json, sys, traceback
from ffmotion.media.images import read_header
out = {}
for path in open(sys.argv[1]).read().split("\n"):
    try:
        header = read_header(path)
        out[path] = None if header is None else [header.width, header.height, header.layout]
    except BaseException:
        out[path] = "crash: " + traceback.format_exc()[-400:]
print(json.dumps(out))
"""


@pytest.fixture(scope="module")
def jpeg(tmp_path_factory: pytest.TempPathFactory, gen_ffmpeg: str) -> bytes:
    path = tmp_path_factory.mktemp("jpeg") / "one.jpg"
    run_ffmpeg(gen_ffmpeg, "-f", "lavfi", "-i", "testsrc2=s=64x48", "-frames:v", "1",
               "-pix_fmt", "yuvj420p", str(path))
    return path.read_bytes()


def _segments(data: bytes) -> list[tuple[int, int, int]]:
    """(marker, start, end) of the header segments up to the frame header (test's own walk)."""
    out, pos = [], 2
    while True:
        marker, length = data[pos + 1], int.from_bytes(data[pos + 2:pos + 4], "big")
        out.append((marker, pos, pos + 2 + length))
        if 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC):
            return out
        pos += 2 + length


def hostile_jpegs(data: bytes) -> dict[str, bytes]:
    segments = _segments(data)
    marker, sof, sof_end = segments[-1]
    cases = {
        "fill-at-end": data[:sof] + b"\xff" * 5,
        "fill-only": b"\xff\xd8" + b"\xff" * 100,
        "short-sof-length": data[:sof + 2] + b"\x00\x08" + data[sof + 4:sof + 10],
        "sof-count-255": data[:sof + 9] + b"\xff" + data[sof + 10:],
        "sof-cut": data[:sof + 12],
        "length-0": data[:sof + 2] + b"\x00\x00" + data[sof + 4:],
        "length-1": data[:sof + 2] + b"\x00\x01" + data[sof + 4:],
        "no-length": data[:sof + 3],
        "exif-short": b"\xff\xd8\xff\xe1\x00\x20Exif\x00\x00MM\x00\x2a\x00\x00\x00\x08\xff\xff",
    }
    for cut in range(2, sof_end + 2):
        cases[f"cut-{cut}"] = data[:cut]
    rng = random.Random(9)
    for i in range(150):
        changed = bytearray(data)
        changed[rng.randrange(2, sof_end)] = rng.choice([0x00, 0xFF, rng.randrange(256)])
        cases[f"flip-{i}"] = bytes(changed)
    return cases


def test_jpeg_headers_cut_or_malformed_are_declined_not_a_traceback(jpeg, tmp_path):
    folder = tmp_path / "jpegs"
    folder.mkdir()
    paths = []
    for name, data in hostile_jpegs(jpeg).items():
        (folder / f"{name}.jpg").write_bytes(data)
        paths.append(str(folder / f"{name}.jpg"))
    listing = tmp_path / "list.txt"
    listing.write_text("\n".join(paths))
    done = run_limited(READ_HEADERS, str(listing))
    assert done.returncode == 0, done.stderr[-2000:]
    results = json.loads(done.stdout)
    crashes = {Path(p).name: r for p, r in results.items() if isinstance(r, str)}
    assert not crashes, list(crashes.items())[:3]
    for name in ("fill-at-end", "fill-only", "short-sof-length", "sof-count-255", "sof-cut",
                 "length-0", "length-1", "no-length"):
        assert results[str(folder / f"{name}.jpg")] is None, name


def test_a_sequence_with_a_jpeg_cut_in_its_fill_bytes_is_not_a_traceback(jpeg, env, tmp_path):
    folder = tmp_path / "shots"
    folder.mkdir()
    for i in range(1, 4):
        (folder / f"img{i:03d}.jpg").write_bytes(jpeg)
    (folder / "img004.jpg").write_bytes(hostile_jpegs(jpeg)["fill-at-end"])
    done = run_limited(CLI, str(folder), str(tmp_path / "o.mp4"), "--print-command", env=env)
    assert "Traceback" not in done.stderr, done.stderr
    if done.returncode != 0:
        one_line(done)
