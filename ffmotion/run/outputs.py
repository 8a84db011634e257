"""The one safe-write rule: every file ffmotion writes goes through here.

A target is refused when it is an input (same real path or same file), another planned
output of the same run, a folder or a special file, or when it exists and ``--overwrite``
was not given. It is written to a unique temporary name in the same folder (so the rename
is atomic) and moved into place only when complete: without ``--overwrite`` with a hard
link, which fails if the name appeared meanwhile, so nothing is ever clobbered. Streams
(``-`` for stdout, ``/dev/null``) are allowed where the caller says a stream makes sense.

Names are checked up front: not valid UTF-8 (a surrogate escape), or longer than the
folder's name limit, is one clear line instead of a traceback later. Writing errors (disk
full, quota, I/O) are one line too, and leave no partial file.
"""
from __future__ import annotations

import contextlib
import errno
import os
import re
import shutil
import stat
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable, Iterator, Mapping, Optional, Union

from ffmotion.core.errors import FfmotionError, OutputBusy, UsageError, WriteFailed, field
from ffmotion.core.names import sequence_file, sequence_regex

TEMP_MARK = ".ffmotion-tmp"
LOCK_MARK = ".ffmotion-lock"
_LOCK_MAGIC = "ffmotion-lock 1\n"
_LOCK_MAX_BYTES = 8192
STDOUT = "-"
NAME_MAX = 255
# mkstemp's random part, plus the dots around it
_RANDOM = 8
# errors of the disk rather than of the request: exit 1, "nothing written"
_DISK_ERRORS = {errno.ENOSPC, errno.EDQUOT, errno.EFBIG, errno.EIO, errno.EROFS}

PathLike = Union[str, "os.PathLike[str]"]


def shown(path: PathLike) -> str:
    """A path (or any text) as one printable line: control characters (C0, DEL and C1, the
    terminal's escapes) and bytes that are not UTF-8 escaped."""
    text = os.fspath(path)
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return repr(os.fsencode(text))[2:-1]  # b'...' without the b and quotes
    if any(ord(c) < 32 or 127 <= ord(c) < 160 for c in text):
        return repr(text)[1:-1]
    return text


def check_name(path: PathLike, what: str = "file") -> None:
    """Refuse a name that is not valid UTF-8.

    Python keeps such bytes as surrogate escapes; ffmpeg-python cannot hash them, and the
    printed commands, JSON reports and emitted scripts could not carry them faithfully. So
    they are refused with the name escaped (rename the file), never a traceback.
    """
    text = os.fspath(path)
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise UsageError(f"{what} name is not valid UTF-8: {shown(text)} (ffmotion cannot pass "
                         "it to ffmpeg, print it or report it faithfully: rename it)") from None
    if "\0" in text:
        raise UsageError(f"{what} name contains a NUL byte: {shown(text)}")


def name_max(folder: Path) -> int:
    """The longest file name (bytes) the folder's file system takes (255 if unknown)."""
    with contextlib.suppress(OSError, ValueError, AttributeError):
        return int(os.pathconf(folder, "PC_NAME_MAX")) or NAME_MAX
    return NAME_MAX


def check_name_length(path: PathLike, what: str = "output") -> None:
    """One line when a component of ``path`` is longer than a file name may be (the system
    would answer "File name too long" to every look at it, even ``exists()``)."""
    path = Path(path)
    for part in path.parts:
        size = len(os.fsencode(part))
        if size <= NAME_MAX:
            continue
        limit = NAME_MAX
        if part == path.name:
            with contextlib.suppress(OSError):
                limit = name_max(path.parent) if path.parent.is_dir() else NAME_MAX
        if size > limit:
            raise UsageError(f"{what} name is {size} bytes, longer than the {limit} a file name "
                             f"may have: {shown(part[:40])}... (choose a shorter name)")


def same_file(a: Path, b: Path) -> bool:
    """True when ``a`` and ``b`` are the same file (same real path, or same inode)."""
    if os.path.realpath(a) == os.path.realpath(b):
        return True
    with contextlib.suppress(OSError):
        return os.path.samefile(a, b)
    return False


def is_stream(name: PathLike) -> bool:
    """``-`` (stdout) or the null device."""
    text = os.fspath(name)
    return text == STDOUT or text == os.devnull


def check_target(
    dst: PathLike,
    *,
    what: str = "output",
    overwrite: bool = False,
    inputs: Iterable[Path] = (),
    others: Optional[Mapping[str, PathLike]] = None,
    stream: bool = False,
    ours: Optional[Callable[[Path], bool]] = None,
) -> Optional[Path]:
    """Check that ffmotion may write ``dst``; return it absolute (None for a stream).

    ``inputs``: files the run reads (never written); ``others``: the run's other planned
    outputs by label (``{"--report": path}``), never the same file twice. ``stream``:
    ``-`` and ``/dev/null`` are allowed. ``ours(path)`` may recognise an existing file as
    ffmotion's own earlier output of this kind (a report, a script), replaced without
    ``--overwrite``.
    """
    if stream and is_stream(dst):
        return None
    if os.fspath(dst) in ("", STDOUT):
        raise UsageError(f"{what}: give a file name ('-' is not possible here)")
    path = Path(os.path.abspath(os.path.expanduser(os.fspath(dst))))
    check_name(path, what)
    if path.is_dir():
        raise UsageError(f"{what} {shown(dst)} is a folder, not a file")
    if not path.parent.is_dir():
        raise UsageError(f"{what}: folder does not exist: {shown(path.parent)}")
    check_name_length(path, what)
    for src in inputs:
        if same_file(path, Path(src)):
            raise UsageError(f"{what} {shown(dst)} is an input: refusing to overwrite it "
                             "(did you forget the file name after the option?)")
    for label, other in (others or {}).items():
        if other is not None and not is_stream(other) and same_file(path, Path(other)):
            raise UsageError(f"{what} and {label} name the same file: {shown(dst)}")
    if os.path.lexists(path):
        if not path.is_file() or path.is_symlink():
            raise UsageError(f"{what} {shown(dst)} exists and is not a regular file: "
                             "refusing to replace it")
        if not overwrite and not (ours is not None and ours(path)):
            raise UsageError(f"{what} exists: {shown(dst)} (use {field('overwrite')} to "
                             "replace it)")
    if not os.access(path.parent, os.W_OK):
        raise UsageError(f"{what}: folder is not writable: {shown(path.parent)}")
    return path


def _host() -> str:
    if hasattr(os, "uname"):  # gethostname() on POSIX, without importing socket (~2 ms)
        name = os.uname().nodename
    else:
        import socket

        name = socket.gethostname()
    return re.sub(r"[^A-Za-z0-9-]", "-", name.split(".")[0])[:32] or "host"


def writer_tag() -> str:
    """``PID@HOST`` of this process, written into its temporary names: a rerun can tell a
    temporary whose writer is dead (removed) from one another live run is writing."""
    return f"{os.getpid()}@{_host()}"


def temp_affixes(dst: Path) -> tuple[str, str]:
    """``(prefix, suffix)`` for a temporary beside ``dst``:
    ``.STEM.PID@HOST.XXXXXXXX.ffmotion-tmp.EXT``.

    The extension is kept (ffmpeg picks the container from it); the stem part is shortened
    so that the whole name fits the folder's name limit.
    """
    suffix = f"{TEMP_MARK}{dst.suffix}"
    tag = f".{writer_tag()}"
    limit = name_max(dst.parent) if dst.parent.is_dir() else NAME_MAX
    room = limit - len(os.fsencode(suffix)) - len(tag) - _RANDOM - 2
    stem = os.fsencode(dst.stem)[:max(0, room)].decode("utf-8", "ignore")
    return f".{stem}{tag}.", suffix


_OWNED = re.compile(r"\.(\d+)@([A-Za-z0-9-]{1,32})\.[A-Za-z0-9_]{%d}%s(?:\.[^./]*)?" % (
    _RANDOM, re.escape(TEMP_MARK)))


def _writer_dead(name: str) -> bool:
    """The temporary ``name`` is ffmotion's, written on this host by a process that is gone."""
    found = _OWNED.search(name)
    if found is None or not name.endswith(found.group(0)) or found.group(2) != _host():
        return False
    pid = int(found.group(1))
    if pid == os.getpid():
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except OSError:
        return False
    return False


def remove_stale(folder: Path, dst: Optional[Path] = None) -> tuple[list[Path], list[Path]]:
    """Remove ffmotion's temporary files in ``folder`` whose writer died (killed mid-run, on
    this host); return ``(removed, kept)``: kept are those another run may still be writing
    (a live writer, another host, an emitted script's). ``dst``: only its temporaries."""
    removed: list[Path] = []
    kept: list[Path] = []
    prefix = f".{os.fsencode(dst.stem)[:16].decode('utf-8', 'ignore')}" if dst is not None else ""
    try:
        names = [n for n in os.listdir(folder) if TEMP_MARK in n and n.startswith(prefix)]
    except OSError:
        return removed, kept
    for name in sorted(names):
        path = Path(folder) / name
        if dst is not None and not name.endswith(f"{TEMP_MARK}{dst.suffix}"):
            continue
        if _writer_dead(name) and path.is_file() and not path.is_symlink():
            with contextlib.suppress(OSError):
                path.unlink()
                removed.append(path)
                continue
        kept.append(path)
    return removed, kept


# -- one writer per output: a lock file beside it -------------------------------------------

def _read_lock(fd: int) -> Optional[str]:
    """The text of an open lock file (None: not one of ffmotion's locks)."""
    os.lseek(fd, 0, os.SEEK_SET)
    data = os.read(fd, _LOCK_MAX_BYTES)
    if data and not data.startswith(_LOCK_MAGIC.encode()):
        return None
    return data.decode("utf-8", "replace")


def _holder(text: Optional[str]) -> str:
    """``(pid N)`` or ``(pid N on HOST)`` and the output named in a lock's text."""
    lines = (text or "").splitlines()
    writer = lines[1] if len(lines) > 1 else "?"
    output = lines[2] if len(lines) > 2 else "?"
    pid, _, host = writer.partition("@")
    where = "" if host == _host() else f" on {host}"
    return f"another ffmotion run (pid {pid}{where}) is writing {output}"


def _take_lock(lock: Path) -> Optional[int]:
    """Open and ``flock`` ``lock``; its descriptor, or None when its holder removed it
    between our open and our lock (try again). Raises when another run holds it."""
    import fcntl

    try:
        fd = os.open(lock, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, 0o644)
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise UsageError(f"{shown(lock)} is a symbolic link, not ffmotion's lock file: "
                             "remove it") from None
        raise UsageError(f"cannot write the lock file {shown(lock)}: "
                         f"{exc.strerror or exc}") from None
    try:
        opened = os.fstat(fd)
        if not stat.S_ISREG(opened.st_mode):
            raise UsageError(f"{shown(lock)} is not a regular file, not ffmotion's lock file: "
                             "remove it")
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise OutputBusy(f"{_holder(_read_lock(fd))}: wait for it to finish, or write "
                             "another output") from None
        try:
            now = os.stat(lock, follow_symlinks=False)
        except FileNotFoundError:
            now = None
        if now is None or (now.st_ino, now.st_dev) != (opened.st_ino, opened.st_dev):
            os.close(fd)
            return None
        if _read_lock(fd) is None:
            raise UsageError(f"{shown(lock)} exists and is not ffmotion's lock file: remove or "
                             "rename it")
        return fd
    except BaseException:
        with contextlib.suppress(OSError):
            os.close(fd)
        raise


@contextlib.contextmanager
def output_lock(lock: Path, dst: Path, inputs: Iterable[PathLike] = ()) -> Iterator[None]:
    """Hold ``lock`` (``.NAME.ffmotion-lock`` beside ``dst``) for the block: one ffmotion run
    at a time writes ``dst`` and the files named after it (a chunked run's segments). A second
    run fails at once with :class:`OutputBusy`, having touched nothing.

    An advisory ``flock`` on the lock file, which the system drops when its holder dies (even
    by SIGKILL): a lock file left by a killed run is taken over, never waited for. The file
    holds ``PID@HOST`` and ``dst`` for the message; the holder removes it on leaving (while it
    still holds it, so a run that opened the old file sees it gone and opens the new one).
    """
    check_name(lock, "lock file")
    check_name_length(lock, "lock file")
    for src in inputs:
        if same_file(lock, Path(src)):
            raise UsageError(f"the lock file {shown(lock)} would be an input: rename the input")
    fd = None
    while fd is None:
        fd = _take_lock(lock)
    try:
        try:
            os.ftruncate(fd, 0)
            os.pwrite(fd, f"{_LOCK_MAGIC}{writer_tag()}\n{os.fspath(dst)}\n".encode(
                "utf-8", "surrogateescape"), 0)
        except OSError as exc:
            raise _disk_error(exc, "the lock file", lock) from None
        yield
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(lock)
        os.close(fd)


def _disk_error(exc: OSError, what: str, dst: Path) -> WriteFailed:
    reason = exc.strerror or str(exc)
    return WriteFailed(f"cannot write {what} {shown(dst)}: {reason} (nothing was written)")


@contextlib.contextmanager
def atomic_output(dst: Path, overwrite: bool, what: str = "output",
                  nonempty: bool = True, executable: bool = False) -> Iterator[Path]:
    """Yield a unique temporary path beside ``dst``; move it to ``dst`` if the block succeeds.

    The temporary file is removed in every case. ``nonempty``: an empty result is an error
    (ffmpeg wrote nothing). Disk errors in the block or the commit are one line
    (:class:`WriteFailed`).
    """
    check_output_path(dst, overwrite, what)
    remove_stale(dst.parent, dst)  # what a killed earlier run of the same output left
    prefix, suffix = temp_affixes(dst)
    try:
        fd, name = tempfile.mkstemp(prefix=prefix, suffix=suffix, dir=dst.parent)
    except OSError as exc:
        raise UsageError(f"cannot write to the folder {shown(dst.parent)}: "
                         f"{exc.strerror or exc}") from None
    os.close(fd)
    tmp = Path(name)
    try:
        try:
            yield tmp
        except OSError as exc:
            if exc.errno in _DISK_ERRORS:
                raise _disk_error(exc, what, dst) from None
            raise
        except FfmotionError as exc:  # ffmpeg's message names the file it was given
            raise real_names(exc, tmp, dst) from None
        if nonempty and tmp.stat().st_size == 0:
            from ffmotion.core.errors import FFmpegFailed

            raise FFmpegFailed(f"ffmpeg wrote nothing to {shown(dst.name)}")
        commit(tmp, dst, overwrite, executable=executable, what=what)
    finally:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()


def real_names(exc: FfmotionError, tmp: Path, dst: Path) -> FfmotionError:
    """``exc`` with the temporary file's path and name replaced by the real output's: the
    user never asked for ``.NAME.XXXX.ffmotion-tmp.EXT`` and must not read it in a message."""
    def fix(text: str) -> str:
        return text.replace(str(tmp), str(dst)).replace(tmp.name, dst.name)

    exc.args = tuple(fix(a) if isinstance(a, str) else a for a in exc.args)
    tail = getattr(exc, "stderr_tail", None)
    if isinstance(tail, str):
        exc.stderr_tail = fix(tail)  # type: ignore[attr-defined]
    return exc


def check_output_path(dst: Path, overwrite: bool, what: str = "output") -> None:
    """Fail early if ``dst`` cannot be written: folder missing, exists without overwrite,
    name not UTF-8 or too long, not a regular file."""
    check_name(dst, what)
    if not dst.parent.is_dir():
        raise UsageError(f"{what} folder does not exist: {shown(dst.parent)}")
    if dst.is_dir():
        raise UsageError(f"{what} is a folder, not a file: {shown(dst)}")
    check_name_length(dst, what)
    if os.path.lexists(dst) and not overwrite:
        raise UsageError(f"{what} exists: {shown(dst)} (use {field('overwrite')} to "
                             "replace it)")
    if os.path.lexists(dst) and not dst.is_file():
        raise UsageError(f"{what} {shown(dst)} exists and is not a regular file: "
                         "refusing to replace it")
    if not os.access(dst.parent, os.W_OK):
        raise UsageError(f"{what} folder is not writable: {shown(dst.parent)}")


def commit(tmp: Path, dst: Path, overwrite: bool, executable: bool = False,
           what: str = "output") -> None:
    """Move a finished temporary file to ``dst``: replace with ``overwrite``, else link-or-fail."""
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(tmp, (0o777 if executable else 0o666) & ~umask)  # mkstemp made it private
    try:
        if overwrite:
            os.replace(tmp, dst)
            return
        try:
            os.link(tmp, dst)  # fails if dst appeared meanwhile: never clobber without --overwrite
        except FileExistsError:
            raise UsageError(f"{what} exists: {shown(dst)} (use {field('overwrite')} to "
                             "replace it)") from None
        except OSError as exc:
            if exc.errno in _DISK_ERRORS:
                raise
            if os.path.lexists(dst):
                raise UsageError(f"{what} exists: {shown(dst)} (use {field('overwrite')} to "
                             "replace it)") from None
            os.replace(tmp, dst)  # a file system without hard links
    except OSError as exc:
        raise _disk_error(exc, what, dst) from None


def write_text(dst: PathLike, text: str, *, what: str, overwrite: bool,
               executable: bool = False) -> None:
    """Write ``text`` to ``dst`` under the rule; ``-`` writes to stdout, ``/dev/null`` nothing.

    Call :func:`check_target` first (with the run's inputs); this re-checks only what can
    change meanwhile. Disk full and other write errors: one line, no partial file.
    """
    if os.fspath(dst) == STDOUT:
        try:
            sys.stdout.write(text)
            sys.stdout.flush()
        except OSError as exc:
            # stdout is unusable: point it at /dev/null so the exit flush cannot fail again
            with contextlib.suppress(OSError, ValueError):
                null = os.open(os.devnull, os.O_WRONLY)
                os.dup2(null, sys.stdout.fileno())
                os.close(null)
            raise WriteFailed(f"cannot write {what} to stdout: {exc.strerror or exc}") from None
        return
    if os.fspath(dst) == os.devnull:
        return
    path = Path(os.path.abspath(os.fspath(dst)))
    with atomic_output(path, overwrite, what, nonempty=False,
                       executable=executable) as tmp:
        with open(tmp, "w", encoding="utf-8") as out:
            out.write(text)
            out.flush()
            os.fsync(out.fileno())


def starts_with(prefix: bytes) -> Callable[[Path], bool]:
    """An ``ours`` test for :func:`check_target`: the file begins with ``prefix``."""

    def test(path: Path) -> bool:
        try:
            with open(path, "rb") as handle:
                return handle.read(len(prefix)) == prefix
        except OSError:
            return False

    return test


# -- image sequences: a set of files written as one ------------------------------------------

def sequence_files(pattern: Path) -> list[Path]:
    """Files that exist now under the names the sequence ``pattern`` expands to, in order."""
    regex = sequence_regex(pattern)
    try:
        names = os.listdir(pattern.parent)
    except OSError:
        return []
    hits = [(int(m.group(1)), name) for name in names if (m := regex.match(name))]
    return [pattern.parent / name for _, name in sorted(hits)]


def sequence_done(pattern: Path) -> bool:
    """A finished set: its first file exists (it is moved into place last, see
    :func:`atomic_sequence`), so a set stopped halfway never counts as done."""
    return sequence_file(pattern, 1).exists()


def check_output_set(pattern: Path, overwrite: bool) -> None:
    """Like :func:`check_output_path` for a sequence: refuse if any of its files exists."""
    if not pattern.parent.is_dir():
        raise UsageError(f"output folder does not exist: {pattern.parent}")
    if not os.access(pattern.parent, os.W_OK):
        raise UsageError(f"output folder is not writable: {pattern.parent}")
    found = sequence_files(pattern)
    if found and not overwrite:
        more = f" and {len(found) - 1} more" if len(found) > 1 else ""
        raise UsageError(f"output exists: {found[0]}{more} (use {field('overwrite')} to replace "
                         "the set)")


@contextlib.contextmanager
def atomic_sequence(pattern: Path, overwrite: bool) -> Iterator[Path]:
    """Yield a pattern inside a temporary folder beside ``pattern``; move the set into place
    only if the block succeeds.

    The folder (``.ffmotion-seq-*.ffmotion-tmp``) is removed in every case. Files are moved
    with no-clobber links, the first file last, so a set whose first file exists is whole.
    With ``overwrite`` an older set's extra files (from a longer run) are removed too.
    """
    check_output_set(pattern, overwrite)
    try:
        folder = Path(tempfile.mkdtemp(prefix=".ffmotion-seq-", suffix=TEMP_MARK,
                                       dir=pattern.parent))
    except OSError as exc:
        raise UsageError(f"cannot write to the output folder {pattern.parent}: "
                         f"{exc.strerror}") from None
    try:
        yield folder / pattern.name
        made = sequence_files(folder / pattern.name)
        if not made:
            from ffmotion.core.errors import FFmpegFailed

            raise FFmpegFailed(f"ffmpeg wrote no image for {pattern.name}")
        _commit_set(made, pattern, overwrite)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _commit_set(made: list[Path], pattern: Path, overwrite: bool) -> None:
    old = {p.name for p in sequence_files(pattern)}
    if old and not overwrite:
        raise UsageError(f"output exists: {pattern.parent / sorted(old)[0]} (use {field('overwrite')} "
                         "to replace the set)")
    umask = os.umask(0)
    os.umask(umask)
    placed: list[Path] = []
    if overwrite:  # the old first file goes first: a set stopped midway never looks whole
        (pattern.parent / made[0].name).unlink(missing_ok=True)
    try:
        for tmp in [*made[1:], made[0]]:  # the first file last: it marks the set as whole
            dst = pattern.parent / tmp.name
            os.chmod(tmp, 0o666 & ~umask)
            if overwrite:
                os.replace(tmp, dst)
            else:
                os.link(tmp, dst)
            placed.append(dst)
    except FileExistsError as exc:
        for path in placed:
            path.unlink(missing_ok=True)
        raise UsageError(f"output exists: {exc.filename2 or exc.filename} (use {field('overwrite')} "
                         "to replace the set)") from None
    for name in old - {p.name for p in made}:  # an older, longer set's tail
        (pattern.parent / name).unlink(missing_ok=True)


# -- a set of files named by a pattern, written in place (an HLS playlist and its segments) --

@dataclass(frozen=True)
class FileSet:
    """The files of one output that are named by a pattern rather than listed: every name in
    ``folder`` that ``names`` matches entirely (an HLS playlist, its segments and ffmpeg's
    ``.tmp`` names for them). A run may create or replace any of them, including names that
    do not exist yet, so each existing one and each input is checked against the pattern."""

    folder: Path
    names: "re.Pattern[str]"
    lead: str  # the name that stands for the set (the playlist): temporary names follow it
    shown: str  # the set in messages ("index.m3u8 and its segments")
    what: str = "output"

    def members(self) -> list[Path]:
        """The files (and links) of the set that exist now, sorted."""
        try:
            found = os.listdir(self.folder)
        except OSError:
            return []
        return sorted(self.folder / n for n in found if self.names.fullmatch(n))

    def holds(self, path: PathLike) -> bool:
        """``path`` (as given, or where its links lead) is a name of the set: the run may
        write or delete that name."""
        home = os.path.realpath(self.folder)
        for spelled in {os.path.abspath(path), os.path.realpath(path)}:
            parent, name = os.path.split(spelled)
            if self.names.fullmatch(name) and os.path.realpath(parent) == home:
                return True
        return False


def check_set(files: FileSet, *, overwrite: bool, inputs: Iterable[PathLike] = (),
              others: Optional[Mapping[str, PathLike]] = None) -> None:
    """:func:`check_target` for a :class:`FileSet`: no input is (or links to) a name of the
    set; no existing member is an input, another output, or anything but a regular file;
    none exists unless ``overwrite``."""
    read = [Path(src) for src in inputs]
    for src in read:
        if files.holds(src):
            raise UsageError(f"{files.what} {files.shown} would write over the input "
                             f"{shown(src)}: refusing (choose another name or folder)")
    found = files.members()
    for path in found:
        for src in read:
            if same_file(path, src):
                raise UsageError(f"{files.what} file {shown(path)} is the input "
                                 f"{shown(src)}: refusing to replace it")
        for label, other in (others or {}).items():
            if other is not None and not is_stream(other) and same_file(path, Path(other)):
                raise UsageError(f"{files.what} file {shown(path)} and {label} name the "
                                 "same file")
        if path.is_symlink() or not path.is_file():
            raise UsageError(f"{files.what} file {shown(path)} exists and is not a regular "
                             "file: refusing to replace it")
    if found and not overwrite:
        more = f" and {len(found) - 1} more" if len(found) > 1 else ""
        raise UsageError(f"{files.what} exists: {shown(found[0])}{more} (use {field('overwrite')} "
                         f"to replace {files.shown})")


@contextlib.contextmanager
def replacing_set(files: FileSet, *, overwrite: bool, inputs: Iterable[PathLike] = (),
                  others: Optional[Mapping[str, PathLike]] = None) -> Iterator[None]:
    """Check the set (:func:`check_set`), move an older set aside, and run the block, which
    writes the new set in place (a reader may follow it while it grows).

    If the block fails, every member it wrote is removed and the older set moved back; if
    it succeeds, the older set is deleted. The older set waits in a temporary folder beside
    (``.LEAD.PID@HOST.XXXXXXXX.ffmotion-tmp``), so a failed run loses nothing.
    """
    check_set(files, overwrite=overwrite, inputs=inputs, others=others)
    old = files.members()
    aside: Optional[Path] = None
    if old:
        prefix, _ = temp_affixes(files.folder / files.lead)
        try:
            aside = Path(tempfile.mkdtemp(prefix=prefix, suffix=TEMP_MARK, dir=files.folder))
            for path in old:
                os.rename(path, aside / path.name)
        except OSError as exc:
            _restore(files, aside)
            raise UsageError(f"cannot replace {files.shown} in {shown(files.folder)}: "
                             f"{exc.strerror or exc}") from None
    try:
        yield
    except BaseException:
        for made in files.members():
            with contextlib.suppress(OSError):
                made.unlink()
        _restore(files, aside)
        raise
    if aside is not None:
        shutil.rmtree(aside, ignore_errors=True)


def _restore(files: FileSet, aside: Optional[Path]) -> None:
    """Move the older set back from ``aside`` (never over a name that exists now); the
    folder is removed once empty, and kept with whatever could not be moved back."""
    if aside is None:
        return
    with contextlib.suppress(OSError):
        for path in sorted(aside.iterdir()):
            if not os.path.lexists(files.folder / path.name):
                with contextlib.suppress(OSError):
                    os.rename(path, files.folder / path.name)
        aside.rmdir()
