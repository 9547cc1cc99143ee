"""Task logs as the history keeps them, and as people read them.

The runtime captures each task run's printed lines and ``logging`` records
(:mod:`dagshift.runtime.logcapture`); :meth:`~dagshift.history.store.Store.record_task` stores
them with the task run in the ``task_logs`` table, one row a line, numbered by ``seq`` so a
reader (``runs show --logs``, the UI, GraphQL's ``logs(after:)``) can page and follow a log.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

__all__ = ["format_line", "format_logs"]


def format_line(row: Mapping[str, Any], with_task: bool = False) -> str:
    """One log row as text: ``time [stream|LEVEL] text`` (the task id first if asked)."""
    when = datetime.fromtimestamp(row["time"], UTC).strftime("%H:%M:%S.%f")[:-3]
    where = row["level"] if row["stream"] == "log" else row["stream"]
    prefix = f"{row['task_id']} " if with_task else ""
    return f"{prefix}{when} [{where}] {row['text']}"


def format_logs(rows: Iterable[Mapping[str, Any]], tasks: Iterable[Mapping[str, Any]]) -> str:
    """A run's logs grouped by task and attempt, in the order the tasks started; a task that
    failed ends with its traceback, which is what a reader of a failed task looks for."""
    by_task: dict[str, list[Mapping[str, Any]]] = {}
    for row in rows:
        by_task.setdefault(row["task_id"], []).append(row)
    out: list[str] = []
    for task in tasks:
        lines = by_task.pop(task["task_id"], [])
        if not lines and not task.get("traceback"):
            continue
        out.append(f"--- {task['task_id']} ({task['state']}, tries {task['tries']})")
        attempt = None
        for row in lines:
            if attempt is not None and row["attempt"] != attempt:
                out.append(f"    (run attempt {row['attempt']})")
            attempt = row["attempt"]
            out.append(format_line(row))
        if task.get("traceback"):
            out.append(task["traceback"].rstrip("\n"))
    for task_id, lines in by_task.items():  # lines of a task with no task-run row (none yet)
        out.append(f"--- {task_id}")
        out.extend(format_line(r) for r in lines)
    return "\n".join(out)
