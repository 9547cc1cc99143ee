"""Capturing what each task prints and logs, per task, while tasks run side by side.

Tasks of one run share a process (threads of Dask's local scheduler, or of a distributed
worker), so swapping ``sys.stdout`` for each task would mix their output. Instead
:func:`install` replaces ``sys.stdout``/``sys.stderr`` once by a :class:`_Tee` that writes
through to the stream it replaced *and*, when the writing thread is running a task, appends
to that task's :class:`TaskLog`. Which task a thread runs is a context variable, so a body run
in a helper thread with a copied context (a task with a timeout) is captured too; a thread a
task starts on its own is not. ``logging`` records reach the same log through one handler on
the root logger (there only while some task or run is under way, see :func:`attached`),
with their level and time.

A log keeps at most :data:`DEFAULT_LIMIT` characters (``$DAGSHIFT_LOG_LIMIT``); past that
it keeps counting and ends with one note saying how much was left out.
"""

from __future__ import annotations

import contextvars
import logging
import os
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, TextIO

__all__ = ["DEFAULT_LIMIT", "LogEntry", "TaskLog", "attached", "capture", "install"]

DEFAULT_LIMIT = 1_000_000
ENV_LIMIT = "DAGSHIFT_LOG_LIMIT"

# (time, stream, level, text): stream is "stdout", "stderr" or "log"; level is a logging
# level name for "log" entries (and "NOTE" for dagshift's own), None for printed lines.
LogEntry = tuple[float, str, str | None, str]


def _limit() -> int:
    raw = os.environ.get(ENV_LIMIT, "").strip()
    try:
        return max(0, int(raw)) if raw else DEFAULT_LIMIT
    except ValueError:
        return DEFAULT_LIMIT


class TaskLog:
    """The captured log of one task run: whole lines, in the order they were written."""

    def __init__(self, limit: int | None = None) -> None:
        self.limit = _limit() if limit is None else limit
        self.entries: list[LogEntry] = []
        self.kept = 0
        self.dropped = 0
        self._partial: dict[str, str] = {}
        self._lock = threading.Lock()  # a task's own threads may print at once

    def write(self, stream: str, text: str) -> None:
        with self._lock:
            pending = self._partial.get(stream, "") + text
            *lines, rest = pending.split("\n")
            self._partial[stream] = rest
            for line in lines:
                self._add(time.time(), stream, None, line)

    def record(self, level: str, text: str, when: float) -> None:
        with self._lock:
            self._add(when, "log", level, text)

    def _add(self, when: float, stream: str, level: str | None, text: str) -> None:
        if self.kept + len(text) > self.limit:
            self.dropped += len(text) + 1
            return
        self.kept += len(text) + 1
        self.entries.append((when, stream, level, text))

    def close(self) -> list[LogEntry]:
        """Flush unfinished lines, add the truncation note; return the entries."""
        with self._lock:
            for stream, rest in self._partial.items():
                if rest:
                    self._add(time.time(), stream, None, rest)
            self._partial.clear()
            if self.dropped:
                self.entries.append(
                    (
                        time.time(),
                        "log",
                        "NOTE",
                        f"log truncated: {self.dropped} more characters were not kept (limit "
                        f"{self.limit}; raise it with ${ENV_LIMIT}=CHARACTERS)",
                    )
                )
                self.dropped = 0
            return list(self.entries)


_active: contextvars.ContextVar[TaskLog | None] = contextvars.ContextVar(
    "dagshift_task_log", default=None
)


class _Tee:
    """A text stream that writes through, and into the running task's log."""

    def __init__(self, name: str, inner: TextIO) -> None:
        self._name = name
        self._inner = inner

    def write(self, text: str) -> int:
        log = _active.get()
        if log is not None and text:
            log.write(self._name, text)
        return self._inner.write(text)

    def flush(self) -> None:
        self._inner.flush()

    def __getattr__(self, name: str) -> Any:  # encoding, isatty, fileno, buffer ...
        return getattr(self._inner, name)


class _Handler(logging.Handler):
    """Root handler: a record logged inside a task goes to its log; outside tasks, and when
    the root logger has no other handler, WARNING and above still reach stderr as they did
    (Python's last-resort handler stops being used once any handler is on the root)."""

    def emit(self, record: logging.LogRecord) -> None:
        log = _active.get()
        if log is not None:
            try:
                text = record.getMessage()
            except Exception:  # a bad format string must not fail the task
                text = f"{record.msg!r} {record.args!r}"
            if record.exc_info:
                text += "\n" + logging.Formatter().formatException(record.exc_info)
            log.record(record.levelname, f"{record.name}: {text}", record.created)
        if record.levelno >= logging.WARNING and self._alone():
            stream = sys.stderr
            if isinstance(stream, _Tee):
                stream = stream._inner  # already in the task's log as a record
            stream.write(f"{record.getMessage()}\n")

    @staticmethod
    def _alone() -> bool:
        return all(isinstance(h, _Handler) for h in logging.getLogger().handlers)


_installed = threading.Lock()
_users = 0  # captures running now: the log handler is on the root logger only while any is
_raised_level = False


def install() -> None:
    """Put the stdout/stderr tees in place, once per process (idempotent)."""
    if isinstance(sys.stdout, _Tee) and isinstance(sys.stderr, _Tee):
        return  # (no lock: every task of every run comes here)
    with _installed:
        if not isinstance(sys.stdout, _Tee):
            sys.stdout = _Tee("stdout", sys.stdout)
        if not isinstance(sys.stderr, _Tee):
            sys.stderr = _Tee("stderr", sys.stderr)


def _attach() -> None:
    global _users, _raised_level
    with _installed:
        _users += 1
        if _users > 1:
            return
        root = logging.getLogger()
        if not root.handlers and root.level == logging.WARNING:
            # Python's default: nothing configured. Tasks' INFO records are worth keeping
            # (Airflow's task logs show them); the handler still prints only WARNING+.
            root.setLevel(logging.INFO)
            _raised_level = True
        root.addHandler(_HANDLER)


def _detach() -> None:
    global _users, _raised_level
    with _installed:
        _users -= 1
        if _users:
            return
        # Off the root again between tasks: logging.basicConfig() (a no-op on a root that has
        # a handler) and the last-resort handler work as the user's code expects.
        root = logging.getLogger()
        root.removeHandler(_HANDLER)
        if _raised_level and root.level == logging.INFO:
            root.setLevel(logging.WARNING)
        _raised_level = False


_HANDLER = _Handler()
# True inside attached(): the tasks there (in its thread, or in pool threads that run them in
# a copy of its context) find the handler in place and leave it be.
_held: contextvars.ContextVar[bool] = contextvars.ContextVar("dagshift_log_held", default=False)


@contextmanager
def attached() -> Iterator[None]:
    """Keep the log handler on the root logger while the code inside runs (a whole run).

    A task on its own attaches it for as long as it runs; held by the run, it stays between
    the run's tasks instead of going on and off with each: setting the root logger's level
    clears the level cache of every logger in the process (a few hundred once Airflow is
    imported), and the count of users is one lock that every task of every run would take.
    """
    _attach()
    token = _held.set(True)
    try:
        yield
    finally:
        _held.reset(token)
        _detach()


@contextmanager
def capture(limit: int | None = None) -> Iterator[TaskLog]:
    """Capture what the code inside prints and logs, in this thread (and copied contexts)."""
    install()
    log = TaskLog(limit)
    token = _active.set(log)
    held = _held.get()
    if not held:
        _attach()
    try:
        yield log
    finally:
        if not held:
            _detach()
        _active.reset(token)
        log.close()
