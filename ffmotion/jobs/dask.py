"""Dask, as batch and chunked runs use it: connecting to a scheduler with one-line errors,
and the "was the run interrupted?" check tasks make on the workers."""
from __future__ import annotations

import contextlib
import logging
import math
import time
from typing import Any

from ffmotion.core.errors import ToolError, UsageError, field

log = logging.getLogger("ffmotion")

# A task on a Dask worker asks the scheduler whether the run was interrupted at most this often.
DASK_CANCEL_POLL_S = 1.0
# How long an interrupted Dask run waits for running tasks to stop and clean up.
DASK_STOP_WAIT_S = 30.0


class DaskCancel:
    """Picklable "was the batch interrupted?" check, run on the workers.

    Reads a named ``distributed.Event`` on the scheduler, at most every
    :data:`DASK_CANCEL_POLL_S` seconds per task.
    """

    def __init__(self, name: str) -> None:
        self.name = name
        self._checked = 0.0
        self._set = False

    def __getstate__(self) -> dict[str, Any]:
        return {"name": self.name}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__init__(state["name"])  # type: ignore[misc]

    def __call__(self) -> bool:
        if not self._set and worker_stopping():
            self._set = True  # the worker lost its scheduler: nobody will take the result
        now = time.monotonic()
        if not self._set and now - self._checked >= DASK_CANCEL_POLL_S:
            self._checked = now
            from distributed import Event

            with contextlib.suppress(Exception):  # no scheduler: nobody can cancel either
                self._set = Event(self.name).is_set()
        return self._set


def worker_stopping() -> bool:
    """This Dask worker is closing (its scheduler is gone, or it is told to stop)."""
    try:
        from distributed import get_worker

        status = get_worker().status
    except Exception:  # noqa: BLE001 - not on a worker (a test, a local call)
        return False
    return getattr(status, "name", str(status)) in ("closing", "closed", "closing_gracefully",
                                                     "failed")


def import_distributed() -> Any:
    try:
        import distributed
    except ImportError:
        raise ToolError(f"{field('scheduler')} needs Dask distributed: pip install "
                        "'ffmotion[dask]'") from None
    # distributed sets its loggers' levels when imported: its reconnect tracebacks are not
    # ffmotion's messages (-vv shows them)
    quiet = logging.DEBUG if log.getEffectiveLevel() <= logging.DEBUG else logging.CRITICAL
    for name in ("distributed", "distributed.client", "distributed.core", "distributed.comm",
                 "distributed.batched", "tornado", "asyncio"):
        logging.getLogger(name).setLevel(quiet)
    return distributed


def check_address(distributed: Any, address: str) -> None:
    """An unknown scheme is a usage error now (distributed would stall 20 s, then raise)."""
    scheme = address.split("://", 1)[0] if "://" in address else "tcp"
    try:
        from distributed.comm.registry import get_backend

        get_backend(scheme)
    except (ValueError, ImportError, KeyError):
        raise UsageError(f"{field('scheduler')} {address!r}: unknown address scheme {scheme!r} "
                         "(use tcp://HOST:8786)") from None


def connect(address: str, timeout: float) -> Any:
    """A ``distributed.Client`` for the scheduler at ``address``, or a one-line error."""
    distributed = import_distributed()
    if "://" not in address and ":" not in address:
        raise UsageError(f"{field('scheduler')} {address!r} is not an address like "
                         "tcp://HOST:8786")
    if not math.isfinite(timeout) or timeout <= 0:
        raise UsageError(f"{field('connect_timeout')} must be a number of seconds more than 0, "
                         f"not {timeout}")
    check_address(distributed, address)
    try:
        return distributed.Client(address, timeout=timeout, set_as_default=False)
    except (OSError, TimeoutError) as exc:
        raise ToolError(f"cannot reach the Dask scheduler at {address} "
                        f"within {timeout:g} s: {' '.join(str(exc).split())}") from None
    except ValueError as exc:
        raise UsageError(f"{field('scheduler')} {address!r}: {exc}") from None
