"""What a still image's header says: size, sample layout and EXIF orientation (PNG and JPEG).

Read in Python from the first bytes of each file (no decoding, no process), so that a folder
of thousands of photos is checked before ffmpeg starts: ffmpeg would reconfigure its filter
graph at a size or format change in the middle of a sequence, and the motion pairing with it.
Other formats (TIFF, BMP, ...) are not read here (:func:`read_header` returns None).
:func:`webp_length` reads a written WebP animation's frames and length the same way.
"""
from __future__ import annotations

import struct
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Optional

_PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
_PNG_COLOURS = {0: "gray", 2: "rgb", 3: "palette", 4: "gray+alpha", 6: "rgba"}
# EXIF orientation -> the display rotation ffmpeg applies (counterclockwise, as MediaInfo)
# 6 measured: ffmpeg 5.1 and 9.0.2 log "displaymatrix: rotation of -90.00 degrees" and
# decode a 64x48 JPEG to 48x64.
ORIENTATION_ROTATION = {1: 0, 2: 0, 3: 180, 4: 180, 5: 270, 6: 270, 7: 90, 8: 90}
# a JPEG's frame header comes after its APPn segments (64 KiB each at most): one not found in
# the first 16 MiB, or after 64 KiB of fill bytes, is not read here
MAX_JPEG_HEADER = 16 * 2**20
MAX_FILL = 2**16
_SOF = frozenset({0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF})


@dataclass(frozen=True)
class ImageHeader:
    """The facts of one image that must agree across a sequence."""

    format: str  # "png" or "jpeg"
    width: int
    height: int
    layout: str  # PNG: colour type and bit depth; JPEG: components and sampling
    orientation: int = 1  # EXIF orientation (1: as stored)

    @property
    def shown_size(self) -> tuple[int, int]:
        """Width and height after the EXIF orientation (what ffmpeg decodes to)."""
        if self.orientation in (5, 6, 7, 8):
            return self.height, self.width
        return self.width, self.height

    def describe(self) -> str:
        w, h = self.shown_size
        turned = f", EXIF orientation {self.orientation}" if self.orientation != 1 else ""
        return f"{w}x{h} {self.format} {self.layout}{turned}"


def read_header(path: Path) -> Optional[ImageHeader]:
    """The header of a PNG or JPEG file, or None for another format or an unreadable header."""
    try:
        with open(path, "rb") as f:
            head = f.read(8)
            if head == _PNG_MAGIC:
                return _png(f)
            if head[:2] == b"\xff\xd8":
                f.seek(2)
                return _jpeg(f)
    except (OSError, struct.error, ValueError):
        return None
    return None


def _png(f: BinaryIO) -> Optional[ImageHeader]:
    chunk = f.read(8 + 13)
    if len(chunk) < 21 or chunk[4:8] != b"IHDR":
        return None
    width, height, depth, colour = struct.unpack(">IIBB", chunk[8:18])
    return ImageHeader("png", width, height, f"{_PNG_COLOURS.get(colour, colour)} {depth}-bit")


def _jpeg(f: BinaryIO) -> Optional[ImageHeader]:
    """The frame header (SOFn) of a JPEG, and the EXIF orientation before it; None for a
    header that ends early, is cut short or is malformed (ffmpeg then says what it makes
    of the file)."""
    orientation = 1
    while f.tell() <= MAX_JPEG_HEADER:
        kind = _jpeg_marker(f)
        if kind is None:
            return None
        if kind in (0xD8, 0x01) or 0xD0 <= kind <= 0xD7:  # no length: SOI, TEM, RSTn
            continue
        head = f.read(2)
        if len(head) < 2:
            return None
        (length,) = struct.unpack(">H", head)
        if length < 2:  # the length counts its own two bytes
            return None
        if kind == 0xE1 and orientation == 1:
            orientation = _exif_orientation(f.read(length - 2)) or 1
            continue
        if kind in _SOF:
            return _jpeg_frame(f.read(length - 2), orientation)
        if kind == 0xDA:  # scan data before any frame header: not a JPEG we understand
            return None
        f.seek(length - 2, 1)
    return None


def _jpeg_marker(f: BinaryIO) -> Optional[int]:
    """The next marker's code, after any fill bytes (0xFF); None at the end of the file."""
    byte = f.read(1)
    if byte != b"\xff":
        return None
    for _ in range(MAX_FILL):
        byte = f.read(1)
        if not byte:
            return None
        if byte != b"\xff":
            return byte[0]
    return None


def _jpeg_frame(body: bytes, orientation: int) -> Optional[ImageHeader]:
    """An SOFn segment's body: precision, height, width, then 3 bytes per component."""
    if len(body) < 6:
        return None
    depth, height, width, count = struct.unpack(">BHHB", body[:6])
    if count == 0 or len(body) < 6 + 3 * count:
        return None
    sampling = ",".join(f"{body[7 + 3 * i] >> 4}x{body[7 + 3 * i] & 15}" for i in range(count))
    return ImageHeader("jpeg", width, height, f"{count} components {sampling} {depth}-bit",
                       orientation)


def _exif_orientation(body: bytes) -> Optional[int]:
    if not body.startswith(b"Exif\x00\x00"):
        return None
    tiff = body[6:]
    order = {b"MM": ">", b"II": "<"}.get(tiff[:2])
    if order is None:
        return None
    (ifd,) = struct.unpack(order + "I", tiff[4:8])
    (count,) = struct.unpack(order + "H", tiff[ifd:ifd + 2])
    for i in range(count):
        entry = tiff[ifd + 2 + 12 * i: ifd + 14 + 12 * i]
        tag, kind = struct.unpack(order + "HH", entry[:4])
        if tag == 0x0112 and kind == 3:
            (value,) = struct.unpack(order + "H", entry[8:10])
            return value if 1 <= value <= 8 else None
    return None


__all__ = ["ImageHeader", "ORIENTATION_ROTATION", "read_header"]



@dataclass(frozen=True)
class WebPLength:
    """What a WebP file holds: its frames (``ANMF`` chunks) and how long they show."""

    chunks: int  # frames stored: identical frames in a row are merged into one
    milliseconds: int  # the sum of the frames' durations (0 for a still picture)


def webp_length(path: Path) -> Optional[WebPLength]:
    """The frames and length of a WebP file (a still picture: 1 frame, 0 ms); None when it
    is not a complete WebP file. Only the chunk headers are read (a seek over each body).

    libwebp's animation encoder merges a frame identical to the one before into it (a longer
    duration), and ffmpeg gets the whole animation as one packet, so neither the chunks nor
    ffmpeg's progress count the frames it was given; the length does.
    """
    with open(path, "rb") as f:
        head = f.read(12)
        if len(head) < 12 or head[:4] != b"RIFF" or head[8:] != b"WEBP":
            return None
        end = 8 + struct.unpack("<I", head[4:8])[0]
        if f.seek(0, 2) < end:  # cut short
            return None
        chunks, still, total, at = 0, False, 0, 12
        while at + 8 <= end:
            f.seek(at)
            chunk = f.read(24)  # header, and an ANMF's frame header up to its duration
            if len(chunk) < 8:
                return None
            size = struct.unpack("<I", chunk[4:8])[0]
            if chunk[:4] == b"ANMF":
                if len(chunk) < 23:
                    return None
                chunks += 1
                total += int.from_bytes(chunk[20:23], "little")
            elif chunk[:4] in (b"VP8 ", b"VP8L"):
                still = True
            at += 8 + size + (size & 1)  # chunks are padded to an even size
        if at != end:
            return None
    if chunks:
        return WebPLength(chunks, total)
    return WebPLength(1, 0) if still else None
