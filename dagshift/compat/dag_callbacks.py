"""A DAG's ``on_success_callback`` / ``on_failure_callback`` as its runtime flow's callbacks.

The runtime calls a flow's ``on_success`` / ``on_failure`` once a run ended, with the run
current; :class:`DagCallback` turns that into Airflow's call: the DAG's callbacks with the
Airflow context of one task instance of the run and the ``reason``.
"""

from __future__ import annotations

import logging
from typing import Any

from dagshift.compat.context import airflow_run_id, build_context
from dagshift.runtime.context import _Current, current_task
from dagshift.runtime.state import FAILED, SUCCESS

__all__ = ["DagCallback"]


class DagCallback:
    """The DAG's ``on_success_callback`` / ``on_failure_callback`` (read when the run ended,
    so one set after the DAG was made counts), called as ``dag.test()`` calls them: each on its
    own (one that raises is logged, the others run), with the run's ``reason`` and the Airflow
    context of one task instance of the run, which each generation picks its own way (pinned
    in tests/oracle/test_shim_dag_callbacks_match_airflow.py): Airflow 3.3 the task that
    succeeded (on success) or failed (on failure) last, by end; Airflow 2.11 the last task of
    the DAG (the last row of ``dagrun.get_task_instances()``), whatever its state."""

    def __init__(self, dag: Any, success: bool) -> None:
        self.dag, self.success = dag, success

    def __call__(self, run_context: dict[str, Any]) -> None:
        dag = self.dag
        fns = dag.on_success_callback if self.success else dag.on_failure_callback
        if not fns:
            return
        fns = list(fns) if isinstance(fns, list | tuple) else [fns]
        context = self._context(current_task().run)
        context["reason"] = run_context["reason"]
        for fn in fns:
            try:
                fn(context)
            except Exception:
                logging.getLogger("airflow.dag").exception("failed to run DAG callback %r", fn)

    def _context(self, info: Any) -> dict[str, Any]:
        dag, runs = self.dag, info.task_runs
        if dag.generation == "3":
            wanted = SUCCESS if self.success else FAILED
            ended = [r for r in runs.values() if r.state == wanted and r.task_id in dag.task_dict]
            last = max(ended, key=lambda r: r.end or 0.0, default=None)
            if last is None:  # Airflow 3.3: no such task, a context of the DAG and run only
                return {"dag": dag, "run_id": airflow_run_id(info)}
            task, task_run = dag.task_dict[last.task_id], last
        elif dag.tasks:
            task = dag.tasks[-1]
            task_run = runs.get(task.task_id)
        else:
            return {"dag": dag, "run_id": airflow_run_id(info)}
        tries = task_run.tries if task_run is not None else 0
        return build_context(task, _Current(info, task.task_id, max(tries, 1), pushed={}))
