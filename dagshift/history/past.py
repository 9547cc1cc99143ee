"""The history's side of ``depends_on_past`` (:mod:`dagshift.runtime.past`): the past runs.

``past_hook(store, flow, run_id)`` is the check a recorded run's tasks call while they wait,
Airflow's ``PrevDagrunDep`` read over the history: the previous run is the flow's latest run
with an earlier logical date (with ``catchup=True`` the latest not triggered by hand, as
``DagRun.get_previous_scheduled_dagrun``); a task run of it counts as Airflow's task instance.
A previous run still queued or running has task instances without a state yet: a task with
no record there is not finished. In a finished run, no record means the task was not in that
run (a version without it): then ``ignore_first_depends_on_past`` lets the task run if no
earlier run of the flow ran it either.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from dagshift.history.store import Store

__all__ = ["check_past", "past_hook"]

_DONE = ("success", "skipped")  # Airflow's _SUCCESSFUL_STATES
_UNFINISHED_RUNS = ("queued", "running")


def past_hook(
    store: Store, flow: Any, logical_date: str
) -> Callable[[str, tuple[str, ...]], Any] | None:
    """The check of ``flow``'s run at ``logical_date`` (as recorded, ISO), or None when no task
    of ``flow`` depends on its past."""
    first = {
        task_id: node.options.get("ignore_first_depends_on_past", True)
        for task_id, node in flow.tasks.items()
        if node.options.get("depends_on_past")
    }
    if not first:
        return None
    return functools.partial(
        check_past, str(store.path), flow.name, logical_date, bool(flow.catchup), first
    )


def check_past(
    path: str,
    flow: str,
    logical_date: str,
    catchup: bool,
    ignore_first: dict[str, bool],
    task_id: str,
    downstream: tuple[str, ...],
) -> str | None:
    """None when ``task_id`` of the run at ``logical_date`` may run, else why it waits."""
    store = Store(path)
    try:
        previous = store.previous_run(flow, logical_date, scheduled_only=catchup)
        if previous is None:
            return None  # "the first task instance for its task"
        states = {t["task_id"]: t["state"] for t in store.task_runs(previous["run_id"])}
        finished = previous["state"] not in _UNFINISHED_RUNS
        where = f"in the previous run {previous['run_id']} ({previous['logical_date']})"
        if task_id not in states:
            if not finished:
                return f"depends_on_past: {task_id} has not finished {where}"
            if ignore_first.get(task_id, True) and not store.task_ran_before(
                flow, task_id, logical_date
            ):
                return None
            return f"depends_on_past: {task_id} has not run {where}"
        if states[task_id] not in _DONE:
            return f"depends_on_past: {task_id} is {states[task_id]} {where}"
        waiting = [
            d
            for d in downstream
            if (d in states and states[d] not in _DONE) or (d not in states and not finished)
        ]
        if waiting:
            return f"wait_for_downstream: {', '.join(waiting)} not successful {where}"
        return None
    finally:
        store.close()
