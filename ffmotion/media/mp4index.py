"""The video packets of an MP4/MOV file from its index (the ``moov`` box), without reading
the media data: probing then costs the same for a 10 s and a 10 h file.

ffmpeg's own probe (``-c copy -f framecrc``) reads every packet of the file. An MP4 already
lists them: decode times (``stts``), composition offsets (``ctts``), sync samples (``stss``),
sizes and places (``stsz``/``stsc``/``stco``), and an edit list (``elst``) that says which part
plays. This module rebuilds the packets ffmpeg's mov demuxer would deliver -- the same pts, the
same key flags, the same count -- for the files it *certainly* understands, and returns None
for everything else, so the caller falls back to framecrc:

- not fragmented (no ``mvex``), ``moov`` complete, every sample's bytes inside the file;
- every video track an H.264/HEVC/MPEG-4 part 2 sample entry (one ``stsd`` entry), with no
  sample group (``sbgp``: ffmpeg takes random-access groups for keyframes) and no ``stps``;
- composition offsets that are all >= 0, as many as there are samples;
- no edit list, or one edit (rate 1, media time >= 0, no empty edit) that cuts no frame: a
  stream-copy cut (an edit that starts after a keyframe, whose earlier frames ffmpeg keeps
  but flags *discard*) falls back.

The tables are untrusted: every count is checked against the bytes that hold it, the other
tables and the file before anything is allocated per sample (the tables are kept in their
run-length form until they agree): the sample sizes add up to no more than the file's media
data, the time tables cover exactly the samples, the chunks hold exactly the samples, lie in
file order inside an ``mdat`` box and do not overlap. So a file can claim at most one sample
per byte of media data, and at most :data:`MAX_SAMPLES`; anything else falls back.

Then ffmpeg's packet pts is ``cts - cts[0]`` with an edit list (the demuxer moves the first
frame to 0) and ``cts`` without one; ``tests/unit/media/test_mp4index.py`` holds this to framecrc on the
camera-like corpus and on more MP4 variants, with both ffmpeg builds.
"""
from __future__ import annotations

import os
import struct
import sys
from array import array
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import BinaryIO, Iterable, Iterator, Optional, Sequence

from ffmotion.media.frames import KEY, Packet

# sample entries whose key flags come from stss alone (no parser in ffmpeg's stream copy)
CODECS = {b"avc1": "h264", b"avc3": "h264", b"hvc1": "hevc", b"hev1": "hevc",
          b"mp4v": "mpeg4"}
_CONTAINERS = {b"moov", b"trak", b"mdia", b"minf", b"stbl", b"edts"}
MAX_MOOV = 256 * 2**20  # a larger moov is not worth reading here: framecrc it
MAX_SAMPLES = 2**24  # frames of a track listed here (77 h at 60 fps); more: framecrc it
MAX_CHILDREN = 4096  # boxes in one container (a real stbl has about ten)


class Unsupported(Exception):
    """Something this reader does not certainly understand: fall back to framecrc."""


@dataclass(frozen=True)
class VideoTrack:
    """One video track's packets, as ffmpeg's mov demuxer delivers them (file order)."""

    codec: str
    width: int
    height: int
    time_base: Fraction
    packets: tuple[Packet, ...]


def is_mp4(path: Path) -> bool:
    """True when the file starts like an ISO-BMFF/QuickTime file (``ftyp``, or ``moov``/...)."""
    try:
        with open(path, "rb") as f:
            head = f.read(12)
    except OSError:
        return False
    return len(head) >= 8 and head[4:8] in (b"ftyp", b"moov", b"mdat", b"free", b"wide")


def video_tracks(path: Path) -> Optional[list[VideoTrack]]:
    """The video tracks of ``path`` in ffmpeg's stream order, or None when this reader does not
    certainly give what ffmpeg would (see the module docstring)."""
    try:
        with open(path, "rb") as f:
            size = os.fstat(f.fileno()).st_size
            moov, media = _find_moov(f, size)
            return _tracks(moov, media)
    except (Unsupported, OSError, struct.error, ValueError, IndexError, KeyError,
            ZeroDivisionError):
        return None


def _boxes(data: bytes, start: int = 0, end: Optional[int] = None) -> Iterator[tuple[bytes, int, int]]:
    """(type, payload start, payload end) of the boxes in ``data[start:end]``."""
    end = len(data) if end is None else end
    pos = start
    while pos + 8 <= end:
        size, kind = struct.unpack_from(">I4s", data, pos)
        header = 8
        if size == 1:
            size = struct.unpack_from(">Q", data, pos + 8)[0]
            header = 16
        elif size == 0:
            size = end - pos
        if size < header or pos + size > end:
            raise Unsupported(f"box {kind!r} overruns its parent")
        yield kind, pos + header, pos + size
        pos += size
    if pos != end:
        raise Unsupported("trailing bytes in a box")


MAX_TOP_BOXES = 4096  # a real file has a handful; garbage with tiny boxes is not walked


def _find_moov(f: BinaryIO, size: int) -> tuple[bytes, list[tuple[int, int]]]:
    """The ``moov`` payload, and where the media data lies: the payloads of the top-level
    ``mdat`` boxes (file order, cut at the end of the file)."""
    pos, moov, seen = 0, None, 0
    media: list[tuple[int, int]] = []
    while pos + 8 <= size:
        seen += 1
        if seen > MAX_TOP_BOXES:
            raise Unsupported("too many top-level boxes")
        f.seek(pos)
        head = f.read(16)
        box_size, kind = struct.unpack_from(">I4s", head)
        header = 8
        if box_size == 1:
            box_size, header = struct.unpack_from(">Q", head, 8)[0], 16
        elif box_size == 0:
            box_size = size - pos
        if box_size < header:
            raise Unsupported("bad top-level box")
        if kind in (b"moof", b"mfra", b"sidx"):
            raise Unsupported("fragmented")
        if kind == b"mdat":
            media.append((pos + header, min(pos + box_size, size)))
        if kind == b"moov":
            if moov is not None:
                raise Unsupported("two moov boxes")
            if box_size > MAX_MOOV or pos + box_size > size:
                raise Unsupported("moov too large or cut")
            f.seek(pos + header)
            moov = f.read(box_size - header)
        pos += box_size
    if moov is None:
        raise Unsupported("no moov")
    return moov, media


def _children(data: bytes, start: int, end: int) -> dict[bytes, list[tuple[int, int]]]:
    found: dict[bytes, list[tuple[int, int]]] = {}
    for number, (kind, a, b) in enumerate(_boxes(data, start, end)):
        if number >= MAX_CHILDREN:
            raise Unsupported("too many boxes in one container")
        found.setdefault(kind, []).append((a, b))
    return found


def _one(found: dict[bytes, list[tuple[int, int]]], kind: bytes) -> Optional[tuple[int, int]]:
    boxes = found.get(kind, [])
    if len(boxes) > 1:
        raise Unsupported(f"two {kind!r} boxes")
    return boxes[0] if boxes else None


def _tracks(moov: bytes, media: list[tuple[int, int]]) -> list[VideoTrack]:
    top = _children(moov, 0, len(moov))
    if b"mvex" in top:
        raise Unsupported("fragmented (mvex)")
    mvhd = _one(top, b"mvhd")
    if mvhd is None:
        raise Unsupported("no mvhd")
    version = moov[mvhd[0]]
    movie_scale = struct.unpack_from(">I", moov, mvhd[0] + (20 if version == 1 else 12))[0]
    tracks = []
    for a, b in top.get(b"trak", []):
        track = _track(moov, a, b, movie_scale, media)
        if track is not None:
            tracks.append(track)
    return tracks


def _track(data: bytes, start: int, end: int, movie_scale: int,
           media: list[tuple[int, int]]) -> Optional[VideoTrack]:
    trak = _children(data, start, end)
    mdia_box = _one(trak, b"mdia")
    if mdia_box is None:
        raise Unsupported("trak without mdia")
    mdia = _children(data, *mdia_box)
    hdlr = _one(mdia, b"hdlr")
    if hdlr is None:
        raise Unsupported("no hdlr")
    if data[hdlr[0] + 8:hdlr[0] + 12] != b"vide":
        return None
    mdhd = _one(mdia, b"mdhd")
    minf_box = _one(mdia, b"minf")
    if mdhd is None or minf_box is None:
        raise Unsupported("no mdhd/minf")
    version = data[mdhd[0]]
    scale = struct.unpack_from(">I", data, mdhd[0] + (20 if version == 1 else 12))[0]
    if scale <= 0 or movie_scale <= 0:
        raise Unsupported("no time scale")
    stbl_box = _one(_children(data, *minf_box), b"stbl")
    if stbl_box is None:
        raise Unsupported("no stbl")
    stbl = _children(data, *stbl_box)
    if b"stps" in stbl or b"sbgp" in stbl or b"sgpd" in stbl or b"stz2" in stbl:
        raise Unsupported("partial sync samples, sample groups or compact sizes")
    codec, width, height = _sample_entry(data, _one(stbl, b"stsd"))
    # every count is checked against the others before anything is expanded per sample
    sizes = _sample_sizes(data, _one(stbl, b"stsz"), sum(b - a for a, b in media))
    count = sizes.count
    deltas = _runs(data, _one(stbl, b"stts"), count, "stts")
    if any(d >= 2**31 for _, d in deltas):
        raise Unsupported("negative decode deltas")
    ctts = _one(stbl, b"ctts")
    # ffmpeg reads composition offsets as signed in both versions of ctts
    offsets = _runs(data, ctts, count, "ctts", signed=True) if ctts else [(count, 0)]
    if any(o < 0 for _, o in offsets):
        raise Unsupported("negative composition offsets")
    keys = _sync_samples(data, _one(stbl, b"stss"), count)
    _check_chunks(data, stbl, sizes, media)
    dts = array("q")
    t = 0
    for run, delta in deltas:
        for _ in range(run):
            dts.append(t)
            t += delta
    cts = array("q", (d + o for d, o in zip(dts, _expanded(offsets))))
    edts = _one(trak, b"edts")
    if edts is None:
        packets = tuple(Packet(c, KEY if k else 0) for c, k in zip(cts, keys))
    else:
        _check_edit(data, edts, movie_scale, scale, cts, dts, keys, t)
        first = cts[0]
        packets = tuple(Packet(c - first, KEY if k else 0) for c, k in zip(cts, keys))
    return VideoTrack(codec, width, height, Fraction(1, scale), packets)


def _check_edit(data: bytes, edts: tuple[int, int], movie_scale: int, scale: int,
                cts: Sequence[int], dts: Sequence[int], keys: Sequence[int],
                end_dts: int) -> None:
    """One edit, rate 1, that keeps every frame and does not end inside the track."""
    elst = _one(_children(data, *edts), b"elst")
    if elst is None:
        raise Unsupported("edts without elst")
    version = data[elst[0]]
    n = struct.unpack_from(">I", data, elst[0] + 4)[0]
    if n != 1:
        raise Unsupported("several edits")
    pos = elst[0] + 8
    if version == 1:
        duration, media_time = struct.unpack_from(">Qq", data, pos)
        rate = struct.unpack_from(">i", data, pos + 16)[0]
    else:
        duration, media_time, rate = struct.unpack_from(">Iii", data, pos)
    if media_time < 0 or rate != 1 << 16 or duration == 0:
        raise Unsupported("empty edit, rate or zero duration")
    length = (duration * scale * 2 + movie_scale) // (2 * movie_scale)  # av_rescale, rounded
    if cts[0] != min(cts) or min(cts) < media_time:
        raise Unsupported("the edit starts after the first frame (a cut)")
    if any(keys[i] and (dts[i] <= media_time or cts[i] <= media_time)
           for i in range(1, len(cts))):
        raise Unsupported("a later keyframe at or before the edit's start")
    stop = media_time + length
    for i, c in enumerate(cts):
        nxt = dts[i + 1] if i + 1 < len(dts) else None
        duration_i = (nxt - dts[i]) if nxt is not None else length
        if c >= stop:
            raise Unsupported("the edit ends before the last frame")
        if nxt is not None and keys[i] and c + duration_i >= stop:
            raise Unsupported("a keyframe ends the edit early")


def _sample_entry(data: bytes, stsd: Optional[tuple[int, int]]) -> tuple[str, int, int]:
    if stsd is None:
        raise Unsupported("no stsd")
    n = struct.unpack_from(">I", data, stsd[0] + 4)[0]
    if n != 1:
        raise Unsupported("several sample descriptions")
    entry = next(_boxes(data, stsd[0] + 8, stsd[1]), None)
    if entry is None:
        raise Unsupported("an empty stsd")
    kind, a, _ = entry
    if kind not in CODECS:
        raise Unsupported(f"sample entry {kind!r}")
    width, height = struct.unpack_from(">HH", data, a + 24)
    return CODECS[kind], width, height


_WIDTHS = {"I": 4, "Q": 8}


def _table(data: bytes, start: int, end: int, count: int, code: str) -> "array[int]":
    """``count`` big-endian unsigned integers (``I``: 32 bits, ``Q``: 64) at ``start``, all
    inside ``data[:end]`` (a count the box cannot hold is refused, not read)."""
    width = _WIDTHS[code]
    if count < 0 or start + count * width > end:
        raise Unsupported("a table longer than its box")
    values = array(code, data[start:start + count * width])
    assert values.itemsize == width, "array's integer widths are 4 and 8 bytes here"
    if sys.byteorder == "little":
        values.byteswap()
    return values


def _count(data: bytes, box: tuple[int, int], at: int = 4) -> int:
    """The 32-bit entry count of a full box (after its version and flags)."""
    if box[0] + at + 4 > box[1]:
        raise Unsupported("a box too short for its count")
    return int(struct.unpack_from(">I", data, box[0] + at)[0])


@dataclass(frozen=True)
class _Sizes:
    """The sample sizes of a track: one size for every sample (``fixed``), or a table."""

    count: int
    fixed: int
    table: Optional["array[int]"] = None

    def span(self, first: int, count: int) -> int:
        """Bytes of samples ``first`` to ``first + count - 1``."""
        if self.table is None:
            return self.fixed * count
        return sum(self.table[first:first + count])


def _sample_sizes(data: bytes, stsz: Optional[tuple[int, int]], media_bytes: int) -> _Sizes:
    """stsz, refused when its samples (at least a byte each) could not fit in the media data."""
    if stsz is None:
        raise Unsupported("no stsz")
    fixed, count = _count(data, stsz), _count(data, stsz, 8)
    if count == 0:
        raise Unsupported("no samples")
    if count > MAX_SAMPLES or count > media_bytes:
        raise Unsupported("more samples than this reader lists, or than the file holds")
    if fixed:
        if fixed * count > media_bytes:
            raise Unsupported("more sample bytes than the file's media data")
        return _Sizes(count, fixed)
    table = _table(data, stsz[0] + 12, stsz[1], count, "I")
    if min(table) == 0:
        raise Unsupported("empty samples")
    if sum(table) > media_bytes:
        raise Unsupported("more sample bytes than the file's media data")
    return _Sizes(count, 0, table)


def _runs(data: bytes, box: Optional[tuple[int, int]], samples: int, name: str,
          signed: bool = False) -> list[tuple[int, int]]:
    """stts/ctts as (count, value) runs, refused unless they cover exactly ``samples``."""
    if box is None:
        raise Unsupported(f"no {name}")
    n = _count(data, box)
    if n > samples:  # a real table has at most one run per sample
        raise Unsupported(f"{name}: more runs than samples")
    flat = _table(data, box[0] + 8, box[1], 2 * n, "I")
    values = ((v - 2**32 if signed and v >= 2**31 else v) for v in flat[1::2])
    runs = list(zip(flat[0::2], values))
    if sum(run for run, _ in runs) != samples:
        raise Unsupported(f"{name} does not cover every sample")
    return runs


def _expanded(runs: Iterable[tuple[int, int]]) -> Iterator[int]:
    """One value per sample from (count, value) runs whose counts were checked."""
    for run, value in runs:
        for _ in range(run):
            yield value


def _sync_samples(data: bytes, stss: Optional[tuple[int, int]], samples: int) -> bytearray:
    """1 for a keyframe, 0 otherwise, per sample (no stss: every sample is one)."""
    if stss is None:
        return bytearray(b"\x01") * samples
    n = _count(data, stss)
    if n == 0 or n > samples:
        raise Unsupported("an empty stss, or more sync samples than samples")
    keys = bytearray(samples)
    for number in _table(data, stss[0] + 8, stss[1], n, "I"):
        if not 1 <= number <= samples:
            raise Unsupported("a sync sample that does not exist")
        keys[number - 1] = 1
    return keys


def _check_chunks(data: bytes, stbl: dict[bytes, list[tuple[int, int]]], sizes: _Sizes,
                  media: list[tuple[int, int]]) -> None:
    """The chunks hold exactly the samples, in file order, without overlapping, each inside
    one ``mdat`` box (a cut file: framecrc lists fewer packets; samples claimed twice or
    outside the media data: not a file this reader lists)."""
    stsc = _one(stbl, b"stsc")
    stco, co64 = _one(stbl, b"stco"), _one(stbl, b"co64")
    if stsc is None or (stco is None) == (co64 is None):
        raise Unsupported("no stsc, or not exactly one of stco/co64")
    box = stco or co64
    assert box is not None
    chunks = _count(data, box)
    if chunks == 0 or chunks > sizes.count:  # every chunk holds a sample at least
        raise Unsupported("no chunks, or more chunks than samples")
    offsets = _table(data, box[0] + 8, box[1], chunks, "I" if stco else "Q")
    n = _count(data, stsc)
    if n == 0 or n > chunks:
        raise Unsupported("stsc: no entry, or more entries than chunks")
    table = _table(data, stsc[0] + 8, stsc[1], 3 * n, "I")
    firsts, per_chunk, descriptions = table[0::3], table[1::3], table[2::3]
    lasts = [first - 1 for first in firsts[1:]] + [chunks]
    if firsts[0] != 1 or any(d != 1 for d in descriptions) or min(per_chunk) == 0:
        raise Unsupported("stsc")
    if any(not first - 1 <= last <= chunks for first, last in zip(firsts, lasts)):
        raise Unsupported("stsc order")
    held = sum((last - first + 1) * per for first, last, per in zip(firsts, lasts, per_chunk))
    if held != sizes.count:
        raise Unsupported("the chunks do not hold exactly the samples")
    sample, done, box_no = 0, 0, 0
    for first, last, per in zip(firsts, lasts, per_chunk):
        for chunk in range(first - 1, last):
            start = offsets[chunk]
            end = start + sizes.span(sample, per)
            sample += per
            if start < done:
                raise Unsupported("chunks out of file order, or overlapping")
            while box_no < len(media) and media[box_no][1] <= start:
                box_no += 1
            if box_no == len(media) or not media[box_no][0] <= start or end > media[box_no][1]:
                raise Unsupported("samples outside the media data (or past the end of the file)")
            done = end
