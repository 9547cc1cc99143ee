"""One bounded pool of threads for the task bodies of every run in the process.

Runs started at once from many threads (``serve``, ``backfill``, ``run --dates``, the UI, a
user's own threads) used to build a Dask thread pool each: 200 concurrent runs cost more than
the same 200 in turn. Now every run submits its ready tasks to this one pool through Dask's
``get_async``, which keeps at most ``limit`` of that run's tasks in flight (the run's
parallelism: ``max_active_tasks``). The pool itself caps the process: threads are made lazily,
up to ``DAGSHIFT_MAX_THREADS`` (256 by default: tasks are often I/O bound, and an idle thread
costs little), so 50 runs of tasks that sleep still overlap.

A run started from inside a task of another run (a task that runs a flow and waits for it)
gets a private pool instead: waiting on the shared pool from one of its own threads could
block every thread of it.
"""

from __future__ import annotations

import contextvars
import os
import threading
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

import dask.local
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
    """Compute ``keys`` of ``dsk`` with at most ``limit`` of its tasks running at once."""
    if getattr(_in_pool, "worker", False):
        return dask.threaded.get(dsk, list(keys), num_workers=limit)
    pool = _shared()
    return dask.local.get_async(
        pool.submit,
        min(limit, pool._max_workers),
        dsk,
        list(keys),
        get_id=dask.threaded._thread_get_id,
        pack_exception=dask.threaded.pack_exception,
    )
