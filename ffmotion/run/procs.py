"""Child processes that never outlive ffmotion, and timeouts for the helper processes.

Every child is started by :func:`popen`:

- On Linux it gets the parent-death signal (``prctl(PR_SET_PDEATHSIG, SIGKILL)``): when
  ffmotion dies, even by SIGKILL, the kernel kills the child. The signal fires when the
  *thread* that forked the child ends, and batch jobs run on pool threads that come and go,
  so every child is forked by one long-lived thread (:class:`_Spawner`), which lives as long
  as the process.
- Every child leads its own process group, so that :func:`kill` also reaches what a child
  started (a wrapper script's ffmpeg) and a terminal's Ctrl-C reaches only ffmotion, which
  then stops its children itself.
- Elsewhere (no prctl) a watchdog process beside each child (:data:`_WATCHDOG`, a few lines
  of Python in its own session) kills the child's group when ffmotion is gone: it notices
  that its parent changed. ``FFMOTION_WATCHDOG=1`` uses it on Linux too, instead of prctl
  (for tests).

Helper processes (``-version``, ``-encoders``, probes...) run with a timeout: see
:func:`helper_timeout` and :func:`probe_timeout`.
"""
from __future__ import annotations

import contextlib
import ctypes
import math
import os
import queue
import signal
import subprocess
import sys
import threading
from typing import Any, Callable, Optional

HELPER_TIMEOUT_ENV = "FFMOTION_HELPER_TIMEOUT"
PROBE_TIMEOUT_ENV = "FFMOTION_PROBE_TIMEOUT"
# -version, -encoders, -pix_fmts, -filters, the drawtext font check: instant on any machine
DEFAULT_HELPER_TIMEOUT = 60.0
# a probe counts every packet of the input: minutes for hours of video on a slow disk
DEFAULT_PROBE_TIMEOUT = 600.0

_PR_SET_PDEATHSIG = 1
WATCHDOG_ENV = "FFMOTION_WATCHDOG"
# argv: PARENT_PID CHILD_GROUP. Exits when the group is gone; kills it when the parent is.
_WATCHDOG = """
import os, signal, sys, time
parent, group = int(sys.argv[1]), int(sys.argv[2])
while True:
    try:
        os.killpg(group, 0)
    except OSError:
        sys.exit(0)
    if os.getppid() != parent:
        try:
            os.killpg(group, signal.SIGKILL)
        except OSError:
            pass
        sys.exit(0)
    time.sleep(0.25)
"""


def _timeout(env: str, default: float) -> float:
    text = os.environ.get(env)
    if not text:
        return default
    try:
        value = float(text)
    except ValueError:
        return default
    return value if math.isfinite(value) and value > 0 else default


def helper_timeout() -> float:
    """Seconds a short helper run of ffmpeg may take (``$FFMOTION_HELPER_TIMEOUT``, default 60)."""
    return _timeout(HELPER_TIMEOUT_ENV, DEFAULT_HELPER_TIMEOUT)


def probe_timeout() -> float:
    """Seconds probing one input may take (``$FFMOTION_PROBE_TIMEOUT``, default 600)."""
    return _timeout(PROBE_TIMEOUT_ENV, DEFAULT_PROBE_TIMEOUT)


def _load_prctl() -> Optional[Callable[..., int]]:
    if not sys.platform.startswith("linux"):
        return None
    # the libc already loaded first: ctypes.util.find_library runs ldconfig (a process start,
    # ~10-30 ms of every ffmotion start-up); it stays the fallback
    for name in ("libc.so.6", None, "find"):
        with contextlib.suppress(Exception):
            if name == "find":
                # not "import ctypes.util": that would make ctypes a local name of this
                # function, unbound in the tries before, so every start-up ran ldconfig
                from ctypes import util as ctypes_util

                name = ctypes_util.find_library("c")
            libc = ctypes.CDLL(name, use_errno=True)
            prctl = libc.prctl
            prctl.restype = ctypes.c_int
            return prctl
    return None


# looked up once in the parent: the child between fork and exec only calls it
_PRCTL = _load_prctl()


def _use_watchdog() -> bool:
    return os.name == "posix" and (_PRCTL is None or os.environ.get(WATCHDOG_ENV) == "1")


def _child_setup(parent: int, prctl: bool) -> Callable[[], None]:
    def setup() -> None:
        os.setpgid(0, 0)
        if prctl and _PRCTL is not None:
            _PRCTL(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
            if os.getppid() != parent:  # the parent died before prctl took effect
                os._exit(1)

    return setup


class _Spawner:
    """One long-lived thread that forks every child (see the module docstring)."""

    def __init__(self) -> None:
        self._requests: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._thread: Optional[threading.Thread] = None
        self._pid = 0
        self._lock = threading.Lock()

    def _ensure(self) -> None:
        with self._lock:
            if self._thread is not None and self._thread.is_alive() and self._pid == os.getpid():
                return
            self._pid = os.getpid()  # after a fork, the thread is gone: start a new one
            self._requests = queue.SimpleQueue()
            self._thread = threading.Thread(target=self._serve, name="ffmotion-spawner",
                                            daemon=True)
            self._thread.start()

    def _serve(self) -> None:
        while True:
            argv, kwargs, done, box = self._requests.get()
            try:
                box.append(subprocess.Popen(argv, **kwargs))
            except BaseException as exc:  # noqa: BLE001 - handed to the caller
                box.append(exc)
            done.set()

    def popen(self, argv: list[str], **kwargs: Any) -> subprocess.Popen:
        if threading.current_thread() is self._thread:
            return subprocess.Popen(argv, **kwargs)
        self._ensure()
        done = threading.Event()
        box: list[Any] = []
        self._requests.put((argv, kwargs, done, box))
        try:
            while not done.wait(0.5):
                pass
        except BaseException:
            done.wait()  # interrupted meanwhile: the child must not run untracked
            if isinstance(box[0], subprocess.Popen):
                kill(box[0])
                box[0].wait()
            raise
        result = box[0]
        if isinstance(result, BaseException):
            raise result
        return result


_SPAWNER = _Spawner()


def popen(argv: list[str], on_start: Optional[Callable[[subprocess.Popen], None]] = None,
          **kwargs: Any) -> subprocess.Popen:
    """``subprocess.Popen`` for a child that dies with ffmotion and leads its own group.

    ``on_start(proc)`` runs as soon as the child exists (to track it for Ctrl-C), even if
    the calling thread is interrupted while it waits.
    """
    watchdog = _use_watchdog()
    if os.name == "posix":
        kwargs["preexec_fn"] = _child_setup(os.getpid(), prctl=not watchdog)
        proc = _SPAWNER.popen(argv, **kwargs)
    else:
        proc = subprocess.Popen(argv, **kwargs)
    if on_start is not None:
        on_start(proc)
    if watchdog:
        _start_watchdog(proc)
    return proc


def _start_watchdog(proc: subprocess.Popen) -> None:
    """A watchdog process for ``proc``'s group (see the module docstring); it exits by itself
    with the group, so it is neither tracked nor waited for (a thread reaps it)."""
    try:
        dog = subprocess.Popen([sys.executable, "-c", _WATCHDOG, str(os.getpid()), str(proc.pid)],
                               stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL, start_new_session=True, close_fds=True)
    except OSError:
        return
    threading.Thread(target=dog.wait, name="ffmotion-watchdog-reaper", daemon=True).start()


def kill(proc: subprocess.Popen) -> None:
    """SIGKILL the child and its process group (what it started), if still there.

    The group is killed only while the child is not reaped yet: its PID (the group's id)
    cannot have been reused then.
    """
    if os.name == "posix" and proc.returncode is None:
        with contextlib.suppress(OSError):
            os.killpg(proc.pid, signal.SIGKILL)  # the child leads its own group
    if proc.poll() is None:
        with contextlib.suppress(OSError):
            proc.kill()
