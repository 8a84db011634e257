"""The MP4 index reader under hostile tables: bounded memory and time, never a traceback.

:mod:`ffmotion.media.mp4index` lists frames from an MP4's tables (stts, ctts, stss, stsz,
stsc, stco). Every count in them is untrusted. Crafted counts (2**32-1, 2**28, more samples
than the file has bytes, a file claiming millions of samples in overlapping chunks) and a few
hundred byte flips over the boxes of small real MP4s are read in a subprocess under a 1 GiB
address-space limit and a time limit: the reader returns None (framecrc then probes) or
tracks with no more frames than the file has bytes. A handful go through the command line:
exit 0, or one error line.
"""
from __future__ import annotations

import json
import os
import random
import resource
import struct
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Optional

import pytest

from helpers import run_ffmpeg

MEMORY = 1 << 30  # RLIMIT_AS of every subprocess here
CONTAINERS = {b"moov", b"trak", b"mdia", b"minf", b"stbl", b"edts"}
TABLES = (b"stts", b"ctts", b"stss", b"stsz", b"stsc", b"stco", b"elst")


# -- a box tree of our own (32-bit sizes: what ffmpeg writes for small files) ---------------

@dataclass
class Box:
    kind: bytes
    payload: bytes = b""
    children: Optional[list["Box"]] = None

    def walk(self):  # type: ignore[no-untyped-def]
        yield self
        for child in self.children or []:
            yield from child.walk()


def parse(data: bytes, start: int = 0, end: Optional[int] = None) -> list[Box]:
    end = len(data) if end is None else end
    out, pos = [], start
    while pos + 8 <= end:
        size, kind = struct.unpack_from(">I4s", data, pos)
        assert 8 <= size <= end - pos, "a small file as ffmpeg writes it"
        if kind in CONTAINERS:
            out.append(Box(kind, children=parse(data, pos + 8, pos + size)))
        else:
            out.append(Box(kind, data[pos + 8:pos + size]))
        pos += size
    return out


def serialize(boxes: list[Box]) -> bytes:
    out = b""
    for box in boxes:
        body = serialize(box.children) if box.children is not None else box.payload
        out += struct.pack(">I4s", 8 + len(body), box.kind) + body
    return out


def video_trak(top: list[Box]) -> Box:
    moov = next(b for b in top if b.kind == b"moov")
    for trak in moov.children or []:
        if trak.kind == b"trak" and any(b.kind == b"hdlr" and b.payload[8:12] == b"vide"
                                        for b in trak.walk()):
            return trak
    raise AssertionError("no video track")


def table(trak: Box, kind: bytes) -> Box:
    return next(b for b in trak.walk() if b.kind == kind)


def box_spans(data: bytes, start: int = 0, end: Optional[int] = None) -> list[tuple[bytes, int, int]]:
    """(type, box start, box end) of every box, containers and leaves, in file order."""
    end = len(data) if end is None else end
    out, pos = [], start
    while pos + 8 <= end:
        size, kind = struct.unpack_from(">I4s", data, pos)
        out.append((kind, pos, pos + size))
        if kind in CONTAINERS:
            out += box_spans(data, pos + 8, pos + size)
        pos += size
    return out


# -- the files ------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def originals(tmp_path_factory: pytest.TempPathFactory, gen_ffmpeg: str) -> dict[str, bytes]:
    """Two small real MP4s, moov at the end: without B-frames (stts, stss, stsz, stsc, stco,
    an edit list), and with B-frames (ctts too)."""
    folder = tmp_path_factory.mktemp("mp4fuzz")
    src = ["-f", "lavfi", "-i", "testsrc2=s=64x48:r=30:d=1", "-c:v", "libx264",
           "-pix_fmt", "yuv420p"]
    made = {}
    for name, extra in (("plain", ["-preset", "ultrafast"]),
                        ("bframes", ["-preset", "veryfast", "-bf", "2", "-g", "10"])):
        path = folder / f"{name}.mp4"
        run_ffmpeg(gen_ffmpeg, *src, *extra, str(path))
        made[name] = path.read_bytes()
        assert [b.kind for b in parse(made[name])][-1] == b"moov"
    assert any(b.kind == b"ctts" for b in video_trak(parse(made["bframes"])).walk())
    return made


def with_table(data: bytes, kind: bytes, edit: Callable[[bytearray], None]) -> bytes:
    """``data`` with the video track's ``kind`` box payload edited in place (same size)."""
    top = parse(data)
    box = table(video_trak(top), kind)
    payload = bytearray(box.payload)
    edit(payload)
    box.payload = bytes(payload)
    return serialize(top)


def put(offset: int, value: int, fmt: str = ">I") -> Callable[[bytearray], None]:
    return lambda payload: struct.pack_into(fmt, payload, offset, value)


def phantom(data: bytes, samples: int, per_chunk: int) -> bytes:
    """The file claims ``samples`` one-byte samples in chunks that all start at the first
    chunk's offset (overlapping), over one stts run, with no edit list: every chunk stays
    inside the file."""
    top = parse(data)
    trak = video_trak(top)
    trak.children = [c for c in trak.children or [] if c.kind != b"edts"]
    chunks = samples // per_chunk
    first = struct.unpack_from(">I", table(trak, b"stco").payload, 8)[0]
    table(trak, b"stsz").payload = struct.pack(">III", 0, 1, samples)
    table(trak, b"stts").payload = struct.pack(">IIII", 0, 1, samples, 512)
    table(trak, b"stsc").payload = struct.pack(">IIIII", 0, 1, 1, per_chunk, 1)
    table(trak, b"stco").payload = struct.pack(">II", 0, chunks) + struct.pack(">I", first) * chunks
    return serialize(top)


HUGE = (2**32 - 1, 2**28, 2**31)


def crafted(data: bytes) -> dict[str, bytes]:
    """Counts no file of this size can honour: each must be declined."""
    size = len(data)
    cases = {}
    for value in HUGE + (size + 1, 4 * size):
        cases[f"stts-count-{value}"] = with_table(data, b"stts", put(8, value))
        cases[f"stts-entries-{value}"] = with_table(data, b"stts", put(4, value))
        cases[f"stsz-entries-{value}"] = with_table(data, b"stsz", put(8, value))
        cases[f"stsz-fixed-{value}"] = with_table(
            data, b"stsz", lambda p, v=value: struct.pack_into(">II", p, 4, 1, v))
        cases[f"stss-entries-{value}"] = with_table(data, b"stss", put(4, value))
        cases[f"stsc-entries-{value}"] = with_table(data, b"stsc", put(4, value))
        cases[f"stsc-per-chunk-{value}"] = with_table(data, b"stsc", put(12, value))
        cases[f"stco-entries-{value}"] = with_table(data, b"stco", put(4, value))
        cases[f"stco-offset-{value}"] = with_table(data, b"stco", put(8, value))
    cases["phantom-4M"] = phantom(data, 4_000_000, 4000)
    cases["phantom-1-per-byte"] = phantom(data, 4 * size, 8)
    return cases


def flips(data: bytes, seed: int, count: int) -> list[bytes]:
    """Byte flips over the boxes of the moov: in every box header (size, type), every 32-bit
    field of the tables (top byte set, all bytes set), and random bytes."""
    rng = random.Random(seed)
    moov = next(s for s in box_spans(data) if s[0] == b"moov")
    spans = [s for s in box_spans(data, moov[1] + 8, moov[2])]
    out: list[bytes] = []

    def flip(pos: int, value: int) -> None:
        changed = bytearray(data)
        changed[pos] = value
        out.append(bytes(changed))

    for kind, start, end in spans:
        flip(start + rng.randrange(4), rng.randrange(256))  # the size
        flip(start + 4 + rng.randrange(4), rng.randrange(256))  # the type
        if kind in TABLES:
            for field in range(start + 12, min(end, start + 12 + 4 * 6), 4):
                flip(field, 0xFF)
                changed = bytearray(data)
                changed[field:field + 4] = b"\xff\xff\xff\xff"
                out.append(bytes(changed))
    while len(out) < count:
        kind, start, end = rng.choice(spans)
        flip(rng.randrange(start, end), rng.randrange(256))
    return out


# -- running under limits --------------------------------------------------------------------

def limited() -> None:
    """In the child: 1 GiB of address space, 120 s of CPU."""
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY, MEMORY))
    resource.setrlimit(resource.RLIMIT_CPU, (120, 120))


READER = r"""
import json, sys, time
from ffmotion.media import mp4index
out = []
for path in open(sys.argv[1]).read().split("\n"):
    start = time.monotonic()
    tracks = mp4index.video_tracks(path)
    out.append({"path": path, "seconds": time.monotonic() - start,
                "frames": None if tracks is None else [len(t.packets) for t in tracks]})
print(json.dumps(out))
"""


def read_all(files: list[Path], tmp_path: Path) -> dict[str, dict]:  # type: ignore[type-arg]
    """video_tracks of every file, in one limited subprocess."""
    listing = tmp_path / "files.txt"
    listing.write_text("\n".join(map(str, files)))
    done = subprocess.run([sys.executable, "-c", READER, str(listing)], capture_output=True,
                          text=True, timeout=120, preexec_fn=limited)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "Traceback" not in done.stderr
    return {Path(r["path"]).name: r for r in json.loads(done.stdout)}


def write(folder: Path, cases: dict[str, bytes]) -> list[Path]:
    folder.mkdir(exist_ok=True)
    paths = []
    for name, data in cases.items():
        path = folder / f"{name}.mp4"
        path.write_bytes(data)
        paths.append(path)
    return paths


# -- tests -----------------------------------------------------------------------------------

def test_crafted_counts_are_declined_in_bounded_memory(originals, tmp_path):
    cases = {f"{name}-{case}": data for name, original in originals.items()
             for case, data in crafted(original).items()}
    results = read_all(write(tmp_path / "crafted", cases), tmp_path)
    assert len(results) == len(cases)
    for name, result in results.items():
        assert result["frames"] is None, (name, result)
        assert result["seconds"] < 5, (name, result)


def test_the_originals_are_still_read(originals, tmp_path):
    # the control: the reader lists the unmodified files (so declining above means something)
    results = read_all(write(tmp_path / "orig", originals), tmp_path)
    assert results["plain.mp4"]["frames"] == [30]
    assert results["bframes.mp4"]["frames"] == [30]


def test_byte_flips_give_none_or_at_most_a_frame_per_byte(originals, tmp_path):
    cases = {}
    for seed, (name, original) in enumerate(sorted(originals.items())):
        for i, data in enumerate(flips(original, seed, 220)):
            cases[f"{name}-{i:03d}"] = data
    assert len(cases) >= 400
    results = read_all(write(tmp_path / "flips", cases), tmp_path)
    assert len(results) == len(cases)
    for name, result in results.items():
        assert result["seconds"] < 5, (name, result)
        size = len(cases[name[:-4]])
        assert result["frames"] is None or all(n <= size for n in result["frames"]), (name, result)


def cli(path: Path, out: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "ffmotion", str(path), str(out),
                           "--print-command"], capture_output=True, text=True, timeout=120,
                          env=env, preexec_fn=limited)


@pytest.mark.parametrize("case", ["stts-count-4294967295", "stts-count-268435456",
                                  "stsz-fixed-268435456", "stco-offset-4294967295",
                                  "phantom-1-per-byte"])
def test_hostile_tables_through_the_command_line(originals, tmp_path, gen_ffmpeg, case):
    original = originals["plain"]
    path = tmp_path / "in.mp4"
    path.write_bytes(crafted(original)[case])
    env = {**os.environ, "FFMOTION_FFMPEG": gen_ffmpeg, "FFMOTION_CACHE": str(tmp_path / "c")}
    done = cli(path, tmp_path / "out.mkv", env)
    assert "Traceback" not in done.stderr and "MemoryError" not in done.stderr, done.stderr
    if done.returncode != 0:
        lines = done.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("ffmotion: error: "), done.stderr
    assert path.read_bytes() == crafted(original)[case]
    assert not (tmp_path / "out.mkv").exists()
    if case.startswith("phantom"):
        # ffmpeg's own probe finds no frame in samples that overlap: no run over phantoms
        assert done.returncode == 1 and "no video frames" in done.stderr, done.stderr
