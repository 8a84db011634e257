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

Then ffmpeg's packet pts is ``cts - cts[0]`` with an edit list (the demuxer moves the first
frame to 0) and ``cts`` without one; ``tests/test_mp4index.py`` holds this to framecrc on the
camera-like corpus and on more MP4 variants, with both ffmpeg builds.
"""
from __future__ import annotations

import os
import struct
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import BinaryIO, Iterator, Optional

from .frames import KEY, Packet

# sample entries whose key flags come from stss alone (no parser in ffmpeg's stream copy)
CODECS = {b"avc1": "h264", b"avc3": "h264", b"hvc1": "hevc", b"hev1": "hevc",
          b"mp4v": "mpeg4"}
_CONTAINERS = {b"moov", b"trak", b"mdia", b"minf", b"stbl", b"edts"}
MAX_MOOV = 256 * 2**20  # a larger moov is not worth reading here: framecrc it


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
            moov = _find_moov(f, size)
            return _tracks(moov, size)
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


def _find_moov(f: BinaryIO, size: int) -> bytes:
    pos, moov, seen = 0, None, 0
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
    return moov


def _children(data: bytes, start: int, end: int) -> dict[bytes, list[tuple[int, int]]]:
    found: dict[bytes, list[tuple[int, int]]] = {}
    for kind, a, b in _boxes(data, start, end):
        found.setdefault(kind, []).append((a, b))
    return found


def _one(found: dict[bytes, list[tuple[int, int]]], kind: bytes) -> Optional[tuple[int, int]]:
    boxes = found.get(kind, [])
    if len(boxes) > 1:
        raise Unsupported(f"two {kind!r} boxes")
    return boxes[0] if boxes else None


def _tracks(moov: bytes, file_size: int) -> list[VideoTrack]:
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
        track = _track(moov, a, b, movie_scale, file_size)
        if track is not None:
            tracks.append(track)
    return tracks


def _track(data: bytes, start: int, end: int, movie_scale: int,
           file_size: int) -> Optional[VideoTrack]:
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
    deltas = _runs(data, _one(stbl, b"stts"), signed=False)
    count = len(deltas)
    sizes = _sizes(data, _one(stbl, b"stsz"))
    if count == 0 or len(sizes) != count or any(s == 0 for s in sizes):
        raise Unsupported("sample count mismatch or empty samples")
    if any(d >= 2**31 for d in deltas):
        raise Unsupported("negative decode deltas")
    _check_inside(data, stbl, sizes, file_size)
    ctts = _one(stbl, b"ctts")
    offsets = _runs(data, ctts, signed=data[ctts[0]] == 1) if ctts else [0] * count
    if len(offsets) != count or any(o < 0 for o in offsets):
        raise Unsupported("ctts does not cover every sample, or negative offsets")
    stss = _one(stbl, b"stss")
    if stss is not None:
        n = struct.unpack_from(">I", data, stss[0] + 4)[0]
        if n == 0:
            raise Unsupported("empty stss")
        sync = set(struct.unpack_from(f">{n}I", data, stss[0] + 8))
        keys = [(i + 1) in sync for i in range(count)]
    else:
        keys = [True] * count
    dts, t = [], 0
    for d in deltas:
        dts.append(t)
        t += d
    cts = [a + b for a, b in zip(dts, offsets)]
    edts = _one(trak, b"edts")
    if edts is None:
        pts = cts
    else:
        _check_edit(data, edts, movie_scale, scale, cts, dts, keys, t)
        pts = [c - cts[0] for c in cts]
    packets = tuple(Packet(p, KEY if k else 0) for p, k in zip(pts, keys))
    return VideoTrack(codec, width, height, Fraction(1, scale), packets)


def _check_edit(data: bytes, edts: tuple[int, int], movie_scale: int, scale: int,
                cts: list[int], dts: list[int], keys: list[bool], end_dts: int) -> None:
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
    entries = list(_boxes(data, stsd[0] + 8, stsd[1]))
    kind, a, _ = entries[0]
    if kind not in CODECS:
        raise Unsupported(f"sample entry {kind!r}")
    width, height = struct.unpack_from(">HH", data, a + 24)
    return CODECS[kind], width, height


def _runs(data: bytes, box: Optional[tuple[int, int]], signed: bool) -> list[int]:
    """stts/ctts: (count, value) runs expanded to one value per sample."""
    if box is None:
        raise Unsupported("no stts")
    n = struct.unpack_from(">I", data, box[0] + 4)[0]
    pairs = struct.unpack_from(f">{2 * n}{'i' if signed else 'I'}", data, box[0] + 8)
    values: list[int] = []
    for count, value in zip(pairs[::2], pairs[1::2]):
        if signed:
            count &= 0xFFFFFFFF
        values.extend([value] * count)
    return values


def _sizes(data: bytes, stsz: Optional[tuple[int, int]]) -> list[int]:
    if stsz is None:
        raise Unsupported("no stsz")
    fixed, n = struct.unpack_from(">II", data, stsz[0] + 4)
    if fixed:
        return [fixed] * n
    return list(struct.unpack_from(f">{n}I", data, stsz[0] + 12))


def _check_inside(data: bytes, stbl: dict[bytes, list[tuple[int, int]]], sizes: list[int],
                  file_size: int) -> None:
    """Every sample's bytes lie inside the file (a cut file: framecrc lists fewer packets)."""
    stsc = _one(stbl, b"stsc")
    stco, co64 = _one(stbl, b"stco"), _one(stbl, b"co64")
    if stsc is None or (stco is None) == (co64 is None):
        raise Unsupported("no stsc, or not exactly one of stco/co64")
    box = stco or co64
    assert box is not None
    chunks = struct.unpack_from(">I", data, box[0] + 4)[0]
    offsets = struct.unpack_from(f">{chunks}{'I' if stco else 'Q'}", data, box[0] + 8)
    n = struct.unpack_from(">I", data, stsc[0] + 4)[0]
    table = [struct.unpack_from(">III", data, stsc[0] + 8 + 12 * i) for i in range(n)]
    if not table or table[0][0] != 1 or any(desc != 1 for _, _, desc in table):
        raise Unsupported("stsc")
    sample = 0
    for i, (first, per_chunk, _) in enumerate(table):
        last = table[i + 1][0] - 1 if i + 1 < len(table) else chunks
        if last < first - 1 or per_chunk == 0:
            raise Unsupported("stsc order")
        for chunk in range(first - 1, last):
            end = offsets[chunk]
            for _ in range(per_chunk):
                if sample >= len(sizes):
                    raise Unsupported("more chunk samples than samples")
                end += sizes[sample]
                sample += 1
            if end > file_size:
                raise Unsupported("samples past the end of the file")
    if sample != len(sizes):
        raise Unsupported("fewer chunk samples than samples")
