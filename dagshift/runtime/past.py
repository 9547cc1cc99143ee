"""``depends_on_past``: a task that waits for the same task of the flow's previous run.

Airflow's ``PrevDagrunDep`` (``airflow/ti_deps/deps/prev_dagrun_dep.py``, the same in 2.11 and
3.x) lets a task with ``depends_on_past=True`` start only when, in the DAG's previous run (the
latest run with an earlier logical date; with ``catchup=True`` the latest one not triggered by
hand), its own task instance ended ``success`` or ``skipped``; with ``wait_for_downstream``, its
direct downstream tasks there too. A first run passes, and so does a run whose previous run
never had the task, if no earlier run had it either and ``ignore_first_depends_on_past`` (True
by default) is set. Otherwise the task is not failed: it keeps *no state* and is checked again
on every scheduler loop, and its run stays running (``dag.test()`` loops the same way, logging
"No tasks to run"), until the past task succeeds (a rerun, a clear) or the run is stopped.

The runtime knows no history, so the check is a hook the history puts in the run's
``RunInfo.extra`` under :data:`PAST_KEY`: ``hook(task_id, downstream_ids)`` returns
None once the task may run, else why it waits. A run without the hook (``flow.run()`` with no
history) has no past: every task passes, as in a first run. The task waits in its own worker
thread, polling, after its trigger rule said it runs (Airflow applies the trigger rule
whatever the past says); it stops waiting when the run is cancelled or passes its timeout.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from dagshift.runtime.state import CANCELLED, SKIPPED, TaskRun

if TYPE_CHECKING:
    from dagshift.runtime.executor import NodePlan, RunState

__all__ = ["PAST_KEY", "POLL_SECONDS", "wait_for_past"]

PAST_KEY = "dagshift.past"
POLL_SECONDS = 1.0  # Airflow's dag.test() sleeps 1 s between loops that find nothing to run

PastHook = Callable[[str, tuple[str, ...]], "str | None"]


def wait_for_past(
    plan: NodePlan, run: RunState, forced: frozenset[str], timed_out: Callable[[], str | None]
) -> TaskRun | None:
    """Block until the task's past allows it to run (None), or the run ends first (a run).

    ``timed_out()`` gives why, once the run has passed its timeout (the task then skips)."""
    options: dict[str, Any] = plan.node.options
    hook: PastHook | None = run.info.extra.get(PAST_KEY)
    if not options.get("depends_on_past") or hook is None:
        return None
    downstream = plan.downstream if options.get("wait_for_downstream") else ()
    told = False
    while (why := hook(plan.task_id, downstream)) is not None:
        if (late := timed_out()) is not None:
            return TaskRun.not_run(plan.task_id, SKIPPED, late, forced)
        if run.cancel is not None and run.cancel.is_set():
            why = f"the run was cancelled while this task waited: {why}"
            return TaskRun.not_run(plan.task_id, CANCELLED, why, forced)
        if not told:
            print(
                f"dagshift: task {plan.task_id} of {run.info.run_id} waits: {why}", file=sys.stderr
            )
            told = True
        time.sleep(POLL_SECONDS)
    return None
