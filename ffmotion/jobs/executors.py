"""One executor interface for the local pool and a Dask cluster.

Tasks are plain functions of picklable arguments that start their ffmpeg through
:mod:`ffmotion.run.runner` (children die with the process that started them: the local pool's
threads belong to ffmotion, a Dask task's to its worker). Each task gets a ``cancelled``
check (:attr:`Executor.cancelled`) to poll: the local pool's is an event, Dask's a named
``distributed.Event`` on the scheduler, so a cancelled run stops tasks that already run, on
every machine. A task that raises fails alone: :meth:`Executor.outcome` gives its reason as
one line, and the caller decides what the run does.
"""
from __future__ import annotations

import concurrent.futures
import contextlib
import threading
import time
import uuid
from dataclasses import dataclass
from typing import Any, Callable, Iterator, Optional

from ffmotion.core.errors import FfmotionError
from ffmotion.run import runner


@dataclass(frozen=True)
class Outcome:
    """How one task ended: its value, or the one-line reason it failed."""

    key: str
    value: Any = None
    error: Optional[str] = None

    @property
    def ok(self) -> bool:
        return self.error is None


def reason(exc: BaseException) -> str:
    """One line for a task's exception (ffmotion's own messages as they are)."""
    text = str(exc) if isinstance(exc, FfmotionError) else f"{type(exc).__name__}: {exc}"
    return " ".join(text.split()) or type(exc).__name__


class Executor:
    """submit / as_completed / cancel / close, the same for every backend."""

    workers: int = 1
    name: str = "local"

    @property
    def cancelled(self) -> Callable[[], bool]:  # a picklable check handed to tasks
        raise NotImplementedError

    def submit(self, fn: Callable[..., Any], *args: Any, key: str) -> Any:
        raise NotImplementedError

    def as_completed(self, futures: list[Any], timeout: Optional[float] = None) -> Iterator[Any]:
        """Yield ``futures`` as they finish (``timeout``: seconds for all of them, then
        ``TimeoutError``), through :meth:`wait`: no backend's notion of a default client or
        event loop is involved, so any client the executor was given works."""
        deadline = None if timeout is None else time.monotonic() + timeout
        pending = list(futures)
        while pending:
            left = 1.0 if deadline is None else deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError(f"{len(pending)} of {len(futures)} tasks not finished "
                                   f"after {timeout:g} s")
            done = self.wait(pending, min(1.0, left))
            for future in done:
                pending.remove(future)
                yield future

    def wait(self, futures: list[Any], timeout: float) -> list[Any]:
        """The futures of ``futures`` that are done, waiting up to ``timeout`` seconds for
        the first one (a caller that redraws a display calls this in a loop)."""
        deadline = time.monotonic() + timeout
        while True:
            done = [f for f in futures if f.done()]
            if done or time.monotonic() >= deadline:
                return done
            time.sleep(min(0.05, max(0.0, deadline - time.monotonic())))

    def outcome(self, future: Any) -> Outcome:
        raise NotImplementedError

    def cancel(self, futures: list[Any]) -> None:
        """Stop everything: queued tasks never start, running ones are told to stop (their
        ffmpeg killed, temporaries removed); returns when they have."""
        raise NotImplementedError

    def close(self) -> None:
        pass

    def __enter__(self) -> "Executor":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


class LocalExecutor(Executor):
    """Threads on this machine, each running one ffmpeg at a time."""

    name = "local"

    def __init__(self, workers: int) -> None:
        self.workers = max(1, workers)
        self._event = threading.Event()
        self._keys: dict[Any, str] = {}
        runner.allow_children()
        self._pool = concurrent.futures.ThreadPoolExecutor(max_workers=self.workers,
                                                           thread_name_prefix="ffmotion-task")

    @property
    def cancelled(self) -> Callable[[], bool]:
        return self._event.is_set

    def submit(self, fn: Callable[..., Any], *args: Any, key: str) -> Any:
        future = self._pool.submit(fn, *args)
        self._keys[future] = key
        return future

    def as_completed(self, futures: list[Any], timeout: Optional[float] = None) -> Iterator[Any]:
        return concurrent.futures.as_completed(futures, timeout=timeout)

    def wait(self, futures: list[Any], timeout: float) -> list[Any]:
        done, _ = concurrent.futures.wait(futures, timeout=timeout,
                                          return_when=concurrent.futures.FIRST_COMPLETED)
        return [f for f in futures if f in done]

    def outcome(self, future: Any) -> Outcome:
        key = self._keys.get(future, "?")
        if future.cancelled():
            return Outcome(key, error="cancelled")
        exc = future.exception()
        if exc is not None:
            return Outcome(key, error=reason(exc))
        return Outcome(key, value=future.result())

    def cancel(self, futures: list[Any]) -> None:
        self._event.set()
        runner.stop_children()
        for future in futures:
            future.cancel()
        wait_through_signals(lambda: concurrent.futures.wait(futures))

    def close(self) -> None:
        wait_through_signals(lambda: self._pool.shutdown(wait=True, cancel_futures=True))
        if self._event.is_set():
            runner.allow_children()


class DaskExecutor(Executor):
    """Tasks on a Dask distributed cluster (``client`` from :func:`ffmotion.jobs.dask.connect`).

    Workers run the same code on the same paths: inputs and outputs must be on storage every
    worker sees under the same names.
    """

    name = "dask"

    def __init__(self, client: Any, own: bool = False) -> None:
        from ffmotion.jobs.dask import DaskCancel, import_distributed

        self._distributed = import_distributed()
        self.client = client
        self._own = own  # a client this executor connected: closed with it
        self.token = uuid.uuid4().hex[:12]
        self._cancel_name = f"ffmotion-cancel-{self.token}"
        self._check = DaskCancel(self._cancel_name)
        self._keys: dict[Any, str] = {}
        self.address = str(getattr(client.scheduler, "address", "") or "")
        try:
            self.workers = max(1, sum(client.nthreads().values()))
        except Exception:  # noqa: BLE001 - a scheduler that cannot say: one at a time
            self.workers = 1

    @property
    def cancelled(self) -> Callable[[], bool]:
        return self._check

    def submit(self, fn: Callable[..., Any], *args: Any, key: str) -> Any:
        future = self.client.submit(fn, *args, key=f"ffmotion-{self.token}-{key}", pure=False,
                                    retries=0)
        self._keys[future] = key
        return future

    def outcome(self, future: Any) -> Outcome:
        key = self._keys.get(future, "?")
        if future.status == "finished":
            with contextlib.suppress(Exception):
                return Outcome(key, value=future.result(timeout=5))
        try:
            exc = future.exception(timeout=5) if future.status == "error" else None
        except Exception as error:  # noqa: BLE001 - cancelled futures raise here
            exc = error
        if getattr(self.client, "status", "running") != "running":
            return Outcome(key, error=f"lost the Dask scheduler at {self.address or '?'}: "
                                      "not finished (a rerun resumes)")
        if exc is None or type(exc).__name__ == "CancelledError":
            return Outcome(key, error=f"Dask task {future.status}: not finished "
                                      "(a worker or the scheduler went away?)")
        return Outcome(key, error=reason(exc))

    def cancel(self, futures: list[Any]) -> None:
        from ffmotion.jobs.dask import DASK_STOP_WAIT_S

        wait_through_signals(lambda: self._distributed.Event(self._cancel_name,
                                                         client=self.client).set())
        deadline = time.monotonic() + DASK_STOP_WAIT_S

        def wait() -> None:
            while time.monotonic() < deadline and not all(f.done() for f in futures):
                time.sleep(0.1)

        wait_through_signals(wait)
        with contextlib.suppress(Exception):
            self.client.cancel(futures)

    def close(self) -> None:
        if self._own:
            with contextlib.suppress(Exception):
                self.client.close()


def wait_through_signals(wait: Callable[[], Any]) -> None:
    """Finish a clean-up wait even if the user presses Ctrl-C again meanwhile."""
    while True:
        try:
            wait()
            return
        except KeyboardInterrupt:
            runner.stop_children()


def make_executor(jobs: Optional[int] = None, scheduler: Optional[str] = None,
                  connect_timeout: float = 10.0, client: Any = None) -> Executor:
    """The local pool (``jobs`` threads, default: the cores), or Dask (a ``client``, or the
    scheduler at ``scheduler``)."""
    if client is not None:
        return DaskExecutor(client)
    if scheduler is not None:
        from ffmotion.jobs.dask import connect

        return DaskExecutor(connect(scheduler, connect_timeout), own=True)
    import os

    return LocalExecutor(jobs or os.cpu_count() or 1)
