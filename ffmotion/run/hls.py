"""An HLS output's files under the safe-write rule, and the check of what ffmpeg wrote.

``DIR/NAME.m3u8`` (see :mod:`ffmotion.core.sinks`): every name the run may write or delete
(:func:`hls_set`) is checked as one set against the inputs (an input playlist brings the files
it lists) and refused without ``--overwrite`` if it exists; links among them are refused. An
older set is moved aside and comes back if the run fails; a run that fails removes what it
wrote. ffmpeg's HLS muxer ignores write errors, so the result is read back
(:func:`verify_hls`) before it counts as written.
"""
from __future__ import annotations

import contextlib
import os
import re
import stat
from pathlib import Path
from typing import Iterable, Iterator, Optional

from ffmotion.core.errors import UsageError, WriteFailed
from ffmotion.core.sinks import hls_segment_pattern
from ffmotion.run.outputs import FileSet, check_name, check_name_length, check_set, replacing_set, shown

# -- HLS: the folder under the safe-write rule -----------------------------------------------

def hls_set(playlist: Path) -> FileSet:
    """Every name an HLS run may write or delete: the playlist, the names ``%05d`` gives its
    segments, and ffmpeg's ``.tmp`` name for each (``-hls_flags temp_file``)."""
    names = re.compile(rf"(?:{re.escape(playlist.name)}|{re.escape(playlist.stem)}"
                       r"(?:\d{5}|[1-9]\d{5,})\.ts)(?:\.tmp)?")
    return FileSet(playlist.parent, names, playlist.name,
                   f"{playlist.name} and its segments {hls_segment_pattern(playlist).name}")


def hls_files(playlist: Path) -> list[Path]:
    """The playlist and segments of that name that exist now (with ffmpeg's ``.tmp`` ones)."""
    return hls_set(playlist).members()


def check_hls(playlist: Path, overwrite: bool, inputs: Iterable[Path] = ()) -> None:
    """Fail early if the HLS output cannot be written: every name of :func:`hls_set` passes
    the safe-write rule (:func:`ffmotion.run.outputs.check_set`), ``inputs`` included."""
    check_name(playlist, "output")
    check_name_length(playlist, "output")
    if "%" in playlist.name:
        raise UsageError(f"HLS playlist name {shown(playlist.name)} must not contain '%'")
    folder = playlist.parent
    if not folder.is_dir():
        if os.path.lexists(folder):
            raise UsageError(f"HLS output folder {shown(folder)} exists and is not a folder")
        if not folder.parent.is_dir():
            raise UsageError(f"output folder does not exist: {shown(folder.parent)} (ffmotion "
                             "creates the playlist's folder, not its parents)")
    elif not os.access(folder, os.W_OK):
        raise UsageError(f"output folder is not writable: {shown(folder)}")
    if playlist.is_dir():
        raise UsageError(f"output {shown(playlist)} exists and is not a regular file")
    check_set(hls_set(playlist), overwrite=overwrite, inputs=inputs)


@contextlib.contextmanager
def hls_output(playlist: Path, overwrite: bool, inputs: Iterable[Path] = ()) -> Iterator[Path]:
    """Prepare the folder of an HLS playlist and yield the playlist path.

    The folder is created if missing; the names of :func:`hls_set` are checked and replaced
    as a set (:func:`ffmotion.run.outputs.replacing_set`: an older playlist and its segments
    come back if the run fails). If the block fails, what it wrote is removed (and the
    folder, if this created it); when it returns, ffmpeg's leftover ``.tmp`` files are.
    """
    inputs = list(inputs)
    check_hls(playlist, overwrite, inputs)
    created = False
    if not playlist.parent.is_dir():
        try:
            playlist.parent.mkdir()
        except OSError as exc:
            raise UsageError(f"cannot create the folder {shown(playlist.parent)}: "
                             f"{exc.strerror or exc}") from None
        created = True
    try:
        with replacing_set(hls_set(playlist), overwrite=overwrite, inputs=inputs):
            yield playlist
            for left in hls_files(playlist):
                if left.name.endswith(".tmp"):
                    left.unlink(missing_ok=True)
    except BaseException:
        if created:
            with contextlib.suppress(OSError):
                playlist.parent.rmdir()
        raise


# -- HLS: what was written is checked, since ffmpeg's muxer does not say ---------------------

TS_PACKET = 188
HLS_ENDLIST = "#EXT-X-ENDLIST"
_LOW_SPACE = 1 << 20  # bytes free below which a failed HLS write is put down to a full disk


def verify_hls(playlist: Path, frames: int, ffmpeg: str) -> None:
    """Raise :class:`WriteFailed` unless the playlist and its segments hold the ``frames``
    ffmpeg reported: ffmpeg's HLS muxer ignores write errors (a full disk gives exit 0, an
    empty playlist and truncated segments), so the result is read back. Called inside
    :func:`hls_output`, whose clean-up then removes the set."""
    problem = hls_problem(playlist, frames, ffmpeg)
    if problem is None:
        return
    reason = "a write failed"
    with contextlib.suppress(OSError):
        space = os.statvfs(playlist.parent)
        if space.f_bavail * space.f_frsize < _LOW_SPACE:
            reason = "no space left on device"
    raise WriteFailed(f"cannot write output {shown(playlist)}: {reason} ({problem}; ffmpeg's "
                      "HLS muxer does not report it): nothing was written")


def hls_problem(playlist: Path, frames: int, ffmpeg: str) -> Optional[str]:
    """What is wrong with a finished HLS output (None: nothing): the playlist is complete
    (``#EXTM3U`` ... ``#EXT-X-ENDLIST``), lists only segments of its set, each a whole
    number of TS packets, and those hold exactly ``frames`` video packets."""
    try:
        text = playlist.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        return f"the playlist cannot be read back: {getattr(exc, 'strerror', None) or exc}"
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    if not lines or lines[0] != "#EXTM3U" or lines[-1] != HLS_ENDLIST:
        return f"the playlist is {'empty' if not lines else 'incomplete'}"
    names = hls_set(playlist).names
    for entry in (line for line in lines if not line.startswith("#")):
        segment = playlist.parent / entry
        if "/" in entry or not entry.endswith(".ts") or not names.fullmatch(entry):
            return f"the playlist lists {entry!r}, not one of its segments"
        try:
            size = segment.lstat().st_size
        except OSError:
            return f"segment {entry} is missing"
        if size == 0 or size % TS_PACKET:
            return f"segment {entry} is {'empty' if size == 0 else 'truncated'}"
    counted = _video_packets(playlist, ffmpeg)
    if counted != frames:
        return f"its segments hold {counted} of the {frames} frames ffmpeg wrote"
    return None


def _video_packets(playlist: Path, ffmpeg: str) -> int:
    """Video packets in the playlist's segments, as ffmpeg reads them back (stream copy:
    no decoding); -1 where ffmpeg cannot read them."""
    from ffmotion.run import procs, runner

    argv = [ffmpeg, "-hide_banner", "-nostdin", "-v", "error", "-protocol_whitelist", "file",
            "-i", str(playlist), "-map", "0:v:0", "-c", "copy", "-f", "null",
            "-progress", "pipe:1", "-nostats", "-"]
    done = runner.capture(argv, timeout=procs.probe_timeout(),
                          what=f"reading back {shown(playlist.name)}")
    if done.returncode != 0:
        return -1
    counts = re.findall(rb"^frame=(\d+)", done.stdout, re.MULTILINE)
    return int(counts[-1]) if counts else 0


# -- an HLS (M3U) playlist as an input: the files it lists are inputs too -------------------

PLAYLIST_READ_MAX = 16 * 2**20  # bytes of a playlist read for its entries
PLAYLIST_DEPTH = 3  # nested playlists followed (a master playlist, its variants)
_URI_ATTR = re.compile(r'URI="([^"]*)"')


def playlist_entries(path: Path, depth: int = PLAYLIST_DEPTH) -> list[Path]:
    """The local files an M3U/HLS playlist lists (segments, ``#EXT-X-MAP`` and key URIs,
    nested playlists followed ``depth`` deep): a run reading the playlist reads them too,
    so they are inputs that no output may replace. [] for a file that is no playlist."""
    try:  # non-blocking: opening a FIFO for reading would wait for a writer
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    except OSError:
        return []
    try:
        with open(fd, "rb") as handle:
            if not stat.S_ISREG(os.fstat(fd).st_mode):
                return []  # a FIFO or a device is no playlist to read here
            data = handle.read(64)  # a video file is never read further than this
            if not data.lstrip(b"\xef\xbb\xbf \t\r\n").startswith(b"#EXTM3U"):
                return []
            data += handle.read(PLAYLIST_READ_MAX - len(data))
    except OSError:
        return []
    found: list[Path] = []
    for raw in data.decode("utf-8", "replace").splitlines():
        line = raw.strip()
        names = _URI_ATTR.findall(line) if line.startswith("#") else [line]
        for name in names:
            if name.startswith("file:"):
                name = name[len("file:"):]
            if not name or re.match(r"^[A-Za-z][A-Za-z0-9+.-]*:", name):  # a URL, not a file
                continue  # a URL, or another protocol: no local file
            entry = Path(os.path.join(path.parent, name))
            found.append(entry)
            if depth > 1 and entry.suffix.lower() in (".m3u8", ".m3u"):
                found += playlist_entries(entry, depth - 1)
    return found


__all__ = ["check_hls", "hls_files", "hls_output", "hls_set", "playlist_entries", "verify_hls"]
