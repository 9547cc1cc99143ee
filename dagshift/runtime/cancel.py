"""Cancelling a run: a flag the executor and task bodies check, and subprocesses it stops.

A run may carry a :class:`threading.Event` (``flow.run(cancel=event)``; the history sets it
when ``dagshift runs cancel`` asks). Once it is set, tasks that have not started do not start
(they end ``cancelled``), failed tasks are not retried, and a running body learns it through
:func:`cancel_requested` / :func:`check_cancelled`; Python cannot stop a thread, so a body
that never checks runs to its end. A subprocess started through :func:`run_process` (as
``shell()`` and the shim's BashOperator do) is terminated: SIGTERM to its process group,
SIGKILL after a grace period, as Airflow does when a task is killed.

On a dask.distributed cluster the flag is a :class:`ClusterFlag` instead: a named
``distributed.Event`` on the cluster's scheduler, which the client sets when the run's own
flag is set. Only its name travels with the tasks, so a task on any worker sees the cancel
through the same :func:`cancel_requested` / :func:`check_cancelled` / :func:`run_process`.
"""

from __future__ import annotations

import contextvars
import os
import signal
import subprocess
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any, Protocol

__all__ = ["Cancelled", "ClusterFlag", "Flag", "cancel_requested", "check_cancelled", "run_process"]

KILL_GRACE = 5.0  # seconds between SIGTERM and SIGKILL (Airflow's killed_task_cleanup_time: 60)
CLUSTER_CHECK = 0.2  # seconds between two questions a task's ClusterFlag asks the scheduler
_POLL = 0.1


class Flag(Protocol):
    """What a run's cancel flag offers: a ``threading.Event`` or a :class:`ClusterFlag`."""

    def is_set(self) -> bool: ...


_event: contextvars.ContextVar[Flag | None] = contextvars.ContextVar(
    "dagshift_cancel", default=None
)


# What each run's ClusterFlag last answered in this process: (set, when asked).
_answers: dict[str, tuple[bool, float]] = {}
_ANSWERS_KEPT = 10_000


class ClusterFlag:
    """A run's cancel flag as tasks on dask.distributed workers see it.

    It is the ``distributed.Event`` named ``name`` on the scheduler: the client running the
    run :meth:`raise_on` sets it; on a worker :meth:`is_set` asks the scheduler (through the
    worker's client), at most every ``CLUSTER_CHECK`` seconds for all the run's tasks on that
    worker, and remembers once it is set. Pickled, only the name travels.
    """

    def __init__(self, name: str) -> None:
        self.name = name

    def __reduce__(self):
        return ClusterFlag, (self.name,)

    def is_set(self) -> bool:
        told, asked = _answers.get(self.name, (False, float("-inf")))
        now = time.monotonic()
        if told or now - asked < CLUSTER_CHECK:
            return told
        try:
            from distributed import Event

            told = bool(Event(self.name).is_set())
        except Exception:  # no scheduler to ask (the cluster is closing): not told yet
            return False
        if len(_answers) >= _ANSWERS_KEPT:
            _answers.clear()  # runs long over; a live one asks again
        _answers[self.name] = (told, now)
        return told

    def raise_on(self, client: Any) -> None:
        """Set the flag on ``client``'s cluster: every task of the run sees it."""
        from distributed import Event

        Event(self.name, client=client).set()
        _answers[self.name] = (True, time.monotonic())

    def clear(self, client: Any) -> None:
        """Forget the flag on the cluster (the run is over)."""
        from distributed import Event

        Event(self.name, client=client).clear()
        _answers.pop(self.name, None)


class Cancelled(Exception):
    """Raised in a task whose run was cancelled; the task ends ``cancelled``."""


def cancel_requested() -> bool:
    """True when the run of the task running in this thread has been cancelled."""
    event = _event.get()
    return event is not None and event.is_set()


def check_cancelled() -> None:
    """Raise :class:`Cancelled` if this task's run has been cancelled (call it in long loops).

    Raises:
        Cancelled: the run was cancelled.
    """
    if cancel_requested():
        raise Cancelled("the run was cancelled")


@contextmanager
def watching(event: Flag | None) -> Iterator[None]:
    """Make ``event`` the cancel flag of the code inside (the executor wraps each task)."""
    token = _event.set(event)
    try:
        yield
    finally:
        _event.reset(token)


def run_process(args: Sequence[str], **kwargs: Any) -> subprocess.CompletedProcess:
    """``subprocess.run(args, **kwargs)`` that stops the process if the run is cancelled.

    The process gets its own session (process group), so a shell's children go with it.

    Raises:
        Cancelled: the run was cancelled while the process ran; it was terminated.
    """
    event = _event.get()
    if event is None:
        return subprocess.run(args, **kwargs)
    check_cancelled()
    stdin = kwargs.pop("input", None)
    proc = subprocess.Popen(args, start_new_session=True, **kwargs)
    stdout = stderr = None
    while True:
        try:
            stdout, stderr = proc.communicate(stdin, timeout=_POLL)
            break
        except subprocess.TimeoutExpired:
            stdin = None  # communicate() keeps what it has not written yet
            if event.is_set():
                _terminate(proc)
                raise Cancelled(
                    f"the run was cancelled: process {proc.pid} ({args[0]}) was terminated"
                ) from None
    return subprocess.CompletedProcess(args, proc.returncode, stdout, stderr)


def _terminate(proc: subprocess.Popen) -> None:
    for sig, wait in ((signal.SIGTERM, KILL_GRACE), (signal.SIGKILL, None)):
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            break
        try:
            proc.communicate(timeout=wait)
            break
        except subprocess.TimeoutExpired:
            continue
