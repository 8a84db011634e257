"""What an ffmpeg build can serve, as values: each feature ffmotion may use, how a build shows
that it has it, what it enables in ffmotion, and what to do without it (``ffmotion doctor``).

Pure: the listings ffmpeg prints (``-buildconf``, ``-encoders``, ``-filters``, ``-protocols``,
``-devices``, ``-hwaccels``) are read by :mod:`ffmotion.pipeline.doctor` and parsed here.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal, Optional

Kind = Literal["filter", "encoder", "protocol", "device", "hwaccel"]

FULL_BUILD = ("a full-featured ffmpeg: Debian/Ubuntu's (apt install ffmpeg) or a static build "
              "(johnvansickle.com, BtbN's), then FFMOTION_FFMPEG=/path/to/ffmpeg or --ffmpeg")


@dataclass(frozen=True)
class Feature:
    """One thing a build has or lacks. ``names``: any of them present means it is there;
    ``all_of``: every one needed. ``essential``: without it the main job (``ffmotion IN
    OUT``) cannot run at all."""

    key: str
    kind: Kind
    names: tuple[str, ...]
    enables: str
    missing: str
    all_of: bool = False
    essential: bool = False


def _filter(key: str, names: tuple[str, ...], enables: str, missing: str, **kw: bool) -> Feature:
    return Feature(key, "filter", names, enables, missing, **kw)


def _encoder(name: str, enables: str, missing: str) -> Feature:
    return Feature(f"encoder {name}", "encoder", (name,), enables, missing)


FEATURES: tuple[Feature, ...] = (
    _filter("motion graph", ("split", "trim", "setpts", "settb", "format", "blend"),
            "the motion extraction itself (every command)",
            "this ffmpeg cannot run ffmotion: " + FULL_BUILD, all_of=True, essential=True),
    _filter("vid.stab", ("vidstabdetect", "vidstabtransform"),
            "--stabilize with vid.stab (two passes, the camera path analysed and smoothed)",
            "--stabilize falls back to deshake (weaker, with a warning): " + FULL_BUILD
            + " (built with --enable-libvidstab)", all_of=True),
    _filter("deshake", ("deshake",), "--stabilize without vid.stab",
            "--stabilize needs vid.stab or deshake: " + FULL_BUILD),
    _filter("deinterlace", ("bwdif", "yadif"), "--deinterlace (bwdif, else yadif)",
            "--deinterlace is refused: " + FULL_BUILD),
    _filter("denoise", ("hqdn3d", "atadenoise"), "--denoise and the clean look",
            "--denoise and the clean look are refused: " + FULL_BUILD),
    _filter("trails", ("lagfun",), "--trail and the trails look",
            "--trail and the trails look are refused: " + FULL_BUILD),
    _filter("drawtext", ("drawtext",), "the labels on 'ffmotion sheet'",
            "sheets get no labels (the legend goes to stderr): an ffmpeg built with "
            "--enable-libfreetype, e.g. " + FULL_BUILD),
    _filter("zmq", ("zmq",), "steering a running live job (ffmotion live --control, "
            "ffmotion control, the live preview page's controls)",
            "live --control and the live page's controls are refused: an ffmpeg built with "
            "--enable-libzmq, e.g. " + FULL_BUILD),
    _filter("libplacebo", ("libplacebo",), "not used by ffmotion yet (GPU scaling and tone "
            "mapping)", "nothing in ffmotion needs it"),
    Feature("OpenCL", "hwaccel", ("opencl",), "not used by ffmotion yet (its graphs run on "
            "the CPU; OpenCL filters could move them to a GPU)", "nothing in ffmotion needs it"),
    Feature("Vulkan", "hwaccel", ("vulkan",), "not used by ffmotion yet (Vulkan filters "
            "could move its graphs to a GPU)", "nothing in ffmotion needs it"),
    Feature("SRT", "protocol", ("srt",), "srt:// inputs and outputs (ffmotion IN srt://..., "
            "ffmotion live ... srt://...)",
            "srt:// is refused by this ffmpeg: " + FULL_BUILD + " (built with --enable-libsrt)"),
    Feature("RTMP", "protocol", ("rtmp",), "rtmp:// outputs (a streaming server)",
            "rtmp:// is refused by this ffmpeg: " + FULL_BUILD),
    Feature("v4l2", "device", ("video4linux2", "v4l2"), "ffmotion live on Linux cameras "
            "(/dev/videoN) and into a virtual camera (v4l2:/dev/videoN, v4l2loopback)",
            "ffmotion live cannot open Linux cameras: an ffmpeg built with "
            "--enable-indev=v4l2 (Debian's has it)"),
    _encoder("libx264", "the default video encoder (.mp4 .mov .mkv .ts .flv .m3u8)",
             "give --codec mpeg4 (or --lossless, or another extension: .avi .webm), or "
             + FULL_BUILD),
    _encoder("libx265", "--codec libx265 (HEVC)", "--codec libx265 is refused: " + FULL_BUILD),
    _encoder("libvpx-vp9", ".webm outputs (VP9)", ".webm is refused: " + FULL_BUILD),
    _encoder("libsvtav1", "--codec libsvtav1 (AV1)", "--codec libsvtav1 is refused"),
    _encoder("ffv1", "--lossless (FFV1 in .mkv)", "--lossless is refused: " + FULL_BUILD),
    _encoder("mpeg4", ".avi outputs (MPEG-4 Part 2)", ".avi is refused: " + FULL_BUILD),
    _encoder("mpeg2video", ".mpg and .mxf outputs", ".mpg/.mxf are refused: " + FULL_BUILD),
    _encoder("libtheora", ".ogv outputs", ".ogv is refused: " + FULL_BUILD),
    _encoder("gif", ".gif outputs", ".gif is refused: " + FULL_BUILD),
    _encoder("libwebp_anim", ".webp outputs (animated)", ".webp is refused: " + FULL_BUILD),
    _encoder("apng", ".apng outputs", ".apng is refused: " + FULL_BUILD),
    _encoder("png", "PNG image sequences, sheets and maps",
             "sheets, maps and .png sequences are refused: " + FULL_BUILD),
    _encoder("mjpeg", "JPEG image sequences", ".jpg sequences are refused"),
    _encoder("tiff", "TIFF image sequences", ".tif sequences are refused"),
    _encoder("rawvideo", "v4l2:/dev/videoN outputs (a virtual camera)",
             "ffmotion live ... v4l2:/dev/videoN is refused: " + FULL_BUILD),
    _encoder("aac", "audio in .mp4 .mov .mkv .ts .flv (re-encoded where it cannot be copied)",
             "audio that cannot be copied is refused: --no-audio, or " + FULL_BUILD),
    _encoder("libopus", "audio in .webm", "audio in .webm is refused: --no-audio"),
    _encoder("libvorbis", "audio in .ogv", "audio in .ogv is refused: --no-audio"),
    _encoder("mp2", "audio in .mpg", "audio in .mpg is refused: --no-audio"),
)


@dataclass(frozen=True)
class Listings:
    """What a build listed: names of its filters, encoders, protocols (input or output),
    devices and hardware accelerations, and its configure flags."""

    filters: frozenset[str]
    encoders: frozenset[str]
    protocols: frozenset[str]
    devices: frozenset[str]
    hwaccels: frozenset[str]
    buildconf: tuple[str, ...]


@dataclass(frozen=True)
class Status:
    feature: Feature
    present: bool
    found: tuple[str, ...]  # the names the build has

    def to_json(self) -> dict[str, object]:
        return {"feature": self.feature.key, "kind": self.feature.kind, "present": self.present,
                "names": list(self.feature.names), "found": list(self.found),
                "enables": self.feature.enables, "essential": self.feature.essential,
                "todo": None if self.present else self.feature.missing}


def assess(listed: Listings) -> list[Status]:
    """Every feature of :data:`FEATURES`, present or not in ``listed``."""
    by_kind = {"filter": listed.filters, "encoder": listed.encoders,
               "protocol": listed.protocols, "device": listed.devices,
               "hwaccel": listed.hwaccels}
    out = []
    for feature in FEATURES:
        have = by_kind[feature.kind]
        found = tuple(name for name in feature.names if name in have)
        present = len(found) == len(feature.names) if feature.all_of else bool(found)
        out.append(Status(feature, present, found))
    return out


# -- ffmpeg's listings, parsed ------------------------------------------------------------------

def buildconf(text: str) -> tuple[str, ...]:
    """The configure flags of ``ffmpeg -buildconf`` (one per line after ``configuration:``;
    a line may hold two: ``--pkg-config=pkg-config --cross-prefix=...``)."""
    flags: list[str] = []
    for line in text.splitlines():
        if line.strip().startswith("--"):
            flags += re.split(r"\s+(?=--)", line.strip())
    return tuple(flags)


def protocols(text: str) -> frozenset[str]:
    """``ffmpeg -protocols``: the names under ``Input:`` and ``Output:``."""
    names = set()
    for line in text.splitlines():
        word = line.strip()
        if word and not word.endswith(":") and " " not in word:
            names.add(word)
    return frozenset(names)


_DEVICE_ROW = re.compile(r"^\s*[D.\s][E.\s]\s+(\S+)\s")


def devices(text: str) -> frozenset[str]:
    """``ffmpeg -devices``: the names below the ``---`` rule (``video4linux2,v4l2`` is two)."""
    names: set[str] = set()
    started = False
    for line in text.splitlines():
        if line.strip().startswith("---"):
            started = True
            continue
        row = _DEVICE_ROW.match(line) if started else None
        if row:
            names.update(row.group(1).split(","))
    return frozenset(names)


def hwaccels(text: str) -> frozenset[str]:
    """``ffmpeg -hwaccels``: one name per line after the heading."""
    return frozenset(line.strip() for line in text.splitlines()
                     if line.strip() and not line.rstrip().endswith(":"))


def version_line(banner: str) -> Optional[str]:
    """``ffmpeg version N ...``: the first line of ``-version``."""
    first = banner.strip().splitlines()[:1]
    return first[0] if first and " version " in first[0] else None
