"""One bounded pool of threads for the task bodies of every run in the process.

Runs started at once from many threads (``serve``, ``backfill``, ``run --dates``, the UI, a
user's own threads) used to build a Dask thread pool each: 200 concurrent runs cost more than
the same 200 in turn. Now every run's ready tasks go to this one pool. The pool caps the
process: at most ``DAGSHIFT_MAX_THREADS`` task bodies run at once (256 by default: tasks are
often I/O bound, and an idle thread costs little), so 50 runs of tasks that sleep still
overlap; threads are made lazily. A run keeps at most ``limit`` of its tasks in flight (its
parallelism: ``max_active_tasks``).

A run of the threaded scheduler is walked here (:class:`_GraphRun`), not by Dask's
``get_async``, over the same Dask graph (``to_dask_graph``: ``(execute_node, plan, run,
[upstream keys])`` per key): a thread that finishes a task goes on with a task that became
ready, and the thread that started the run works too while the cap allows, instead of every
task bouncing between a pool thread and a scheduling thread. With 1,000 runs at once that
bouncing, 20,000 thread switches fought over by 1,256 threads, cost more than the tasks.

A run started from inside a task (a task that runs a flow and waits for it) gets a private
pool instead: waiting on the shared pool from one of its own threads could block every thread.
"""

from __future__ import annotations

import contextvars
import os
import queue
import threading
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

import dask.threaded

__all__ = ["ENV_MAX_THREADS", "max_threads", "run_dask_graph", "set_max_threads"]

ENV_MAX_THREADS = "DAGSHIFT_MAX_THREADS"
DEFAULT_MAX_THREADS = 256

_lock = threading.Lock()
_pool: _SharedPool | None = None
_limit: int | None = None
_in_pool = threading.local()


class _SharedPool(ThreadPoolExecutor):
    """A thread pool whose workers run each call in the submitter's context (contextvars), as
    Dask's own threaded scheduler does, and know they are workers of this pool."""

    def __init__(self, max_workers: int) -> None:
        super().__init__(max_workers, thread_name_prefix="dagshift-task", initializer=_mark)
        self.bodies = _Bodies(max_workers)

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future:
        ctx = contextvars.copy_context()
        return super().submit(ctx.run, fn, *args, **kwargs)


def _mark() -> None:
    _in_pool.worker = True


def max_threads() -> int:
    """The process's cap on threads running task bodies."""
    if _limit is not None:
        return _limit
    raw = os.environ.get(ENV_MAX_THREADS, "")
    try:
        value = int(raw) if raw else DEFAULT_MAX_THREADS
    except ValueError:
        raise ValueError(f"${ENV_MAX_THREADS}={raw!r}: give a whole number of threads") from None
    if value < 1:
        raise ValueError(f"${ENV_MAX_THREADS}={raw!r}: give at least 1")
    return value


def set_max_threads(limit: int | None) -> None:
    """Set the process's cap (None: back to ``$DAGSHIFT_MAX_THREADS`` or the default).

    Runs already in flight keep the pool they have; new runs use the new cap.
    """
    global _pool, _limit
    if limit is not None and limit < 1:
        raise ValueError("the thread limit must be at least 1")
    with _lock:
        _limit = limit
        old, _pool = _pool, None
    if old is not None:
        old.shutdown(wait=False)


def _shared() -> _SharedPool:
    global _pool
    with _lock:
        if _pool is None:
            _pool = _SharedPool(max_threads())
        return _pool


def run_dask_graph(dsk: Mapping, keys: Sequence[str], limit: int) -> list[Any]:
    """Compute ``keys`` of ``dsk`` (as ``to_dask_graph`` makes it for a local run) with at
    most ``limit`` of its tasks running at once."""
    if getattr(_in_pool, "worker", False):
        return dask.threaded.get(dsk, list(keys), num_workers=limit)
    pool = _shared()
    return _GraphRun(dsk, min(limit, pool._max_workers), pool).compute(keys)


class _Bodies:
    """How many more task bodies may run now, on pool threads and runs' own threads alike: a
    token each in a C-level queue, taken and given back without a lock that every run's
    thread would queue on."""

    def __init__(self, cap: int) -> None:
        self.tokens: queue.SimpleQueue = queue.SimpleQueue()
        for _ in range(cap):
            self.tokens.put(True)

    def try_take(self) -> bool:
        try:
            return self.tokens.get_nowait()
        except queue.Empty:
            return False

    def take(self) -> None:
        self.tokens.get()

    def give(self) -> None:
        self.tokens.put(True)


class _GraphRun:
    """One run's graph: which tasks wait for which, and who runs what became ready."""

    def __init__(self, dsk: Mapping, limit: int, pool: _SharedPool) -> None:
        self.dsk, self.limit, self.pool = dsk, limit, pool
        self.lock = threading.Lock()
        self.finished = threading.Event()
        self.results: dict[str, Any] = {}
        self.error: BaseException | None = None
        self.waiting: dict[str, int] = {}
        self.dependents: dict[str, list[str]] = {key: [] for key in dsk}
        ready = []
        for key, (_, _, _, upstream) in dsk.items():
            self.waiting[key] = len(upstream)
            for up in upstream:
                self.dependents[up].append(key)
            if not upstream:
                ready.append(key)
        self.ready = ready[::-1]  # popped from the end: the flow's first tasks first
        self.left = len(dsk)
        self.running = 0

    def compute(self, keys: Sequence[str]) -> list[Any]:
        with self.lock:
            batch = self._take()
        if batch and self.pool.bodies.try_take():
            first = batch.pop()
            self._hand_out(batch)
            # This thread would only wait: it runs tasks too, in a copy of its context (a task
            # setting a context variable must not change the caller's), as a pool thread would.
            was = getattr(_in_pool, "worker", False)
            _in_pool.worker = True
            try:
                contextvars.copy_context().run(self._work, first)
            finally:
                _in_pool.worker = was
                self.pool.bodies.give()
        else:
            self._hand_out(batch)
        self.finished.wait()
        if self.error is not None:
            raise self.error
        return [self.results[key] for key in keys]

    def _take(self) -> list[str]:
        """Ready tasks this run may start now (under ``self.lock``)."""
        out = []
        while self.ready and self.running < self.limit:
            out.append(self.ready.pop())
            self.running += 1
        return out

    def _hand_out(self, batch: list[str]) -> None:
        for key in batch:
            self.pool.submit(self._pooled, key)

    def _pooled(self, key: str) -> None:
        self.pool.bodies.take()
        try:
            self._work(key)
        finally:
            self.pool.bodies.give()

    def _work(self, key: str | None) -> None:
        """Run ``key``, then go on with one task it made ready; hand the others out."""
        while key is not None and self.error is None:
            fn, plan, run, upstream = self.dsk[key]
            try:
                result = fn(plan, run, [self.results[up] for up in upstream])
            except BaseException as exc:  # a bug in the executor, not a task's failure
                self.error = exc
                self.finished.set()
                return
            with self.lock:
                self.results[key] = result
                self.left -= 1
                self.running -= 1
                for down in self.dependents[key]:
                    self.waiting[down] -= 1
                    if not self.waiting[down]:
                        self.ready.append(down)
                batch = self._take()
                if not self.left:
                    self.finished.set()
            key = batch.pop() if batch else None
            self._hand_out(batch)
