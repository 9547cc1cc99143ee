"""Cancelling a run: a flag the executor and task bodies check, and subprocesses it stops.

A run may carry a :class:`threading.Event` (``flow.run(cancel=event)``; the history sets it
when ``dagshift runs cancel`` asks). Once it is set, tasks that have not started do not start
(they end ``cancelled``), failed tasks are not retried, and a running body learns it through
:func:`cancel_requested` / :func:`check_cancelled`; Python cannot stop a thread, so a body
that never checks runs to its end. A subprocess started through :func:`run_process` (as
``shell()`` and the shim's BashOperator do) is terminated: SIGTERM to its process group,
SIGKILL after a grace period, as Airflow does when a task is killed.
"""

from __future__ import annotations

import contextvars
import os
import signal
import subprocess
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

__all__ = ["Cancelled", "cancel_requested", "check_cancelled", "run_process"]

KILL_GRACE = 5.0  # seconds between SIGTERM and SIGKILL (Airflow's killed_task_cleanup_time: 60)
_POLL = 0.1

_event: contextvars.ContextVar[threading.Event | None] = contextvars.ContextVar(
    "dagshift_cancel", default=None
)


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
def watching(event: threading.Event | None) -> Iterator[None]:
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
