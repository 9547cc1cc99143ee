"""Starting a run of another flow from a task: ``trigger_run`` (Airflow's TriggerDagRunOperator).

The flow is given as a Flow or by name; a name is found in the history (the file of its latest
registered version: ``dagshift register FILE``, or any earlier run of it, records one). The run
is recorded in the same history as the run that asks, with its origin (``triggered by run X of
flow Y``, shown by ``dagshift runs``), and runs in this process: with ``wait_for_completion``
the caller waits and its state is checked against ``allowed_states`` / ``failed_states`` as
Airflow does; without, it runs in a thread of its own that the process waits for at exit.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from dagshift.history.assets import origin_statement
from dagshift.history.checkpoint import ResultStore, run_recorded
from dagshift.history.store import Store, default_db_path, new_run_id

__all__ = ["TriggerFailed", "trigger_run"]


class TriggerFailed(RuntimeError):
    """The triggered run ended in a failed state (or in one neither allowed nor failed)."""


def trigger_run(
    flow: Any,
    *,
    conf: Mapping[str, Any] | None = None,
    logical_date: Any = None,
    wait_for_completion: bool = False,
    allowed_states: Iterable[str] = ("success",),
    failed_states: Iterable[str] = ("failed",),
    store: Store | None = None,
) -> str:
    """Start a run of ``flow`` (a Flow or a flow name) with ``conf``; return its run id.

    Example:
        >>> @task
        ... def kick():
        ...     trigger_run("reporting", conf={"day": "2024-01-15"}, wait_for_completion=True)

    Raises:
        LookupError: no flow of that name is registered in the history.
        TriggerFailed: with ``wait_for_completion``, the run ended in a failed state.
    """
    from dagshift.runtime.context import current_task, to_datetime

    current = current_task()
    if store is None:
        history = current.run.extra.get("dagshift.history") if current else None
        store = Store(history or default_db_path())
    target, path = _resolve(flow, store)
    run_id = new_run_id()
    reason: dict[str, Any] = {"kind": "triggered"}
    if current is not None:
        reason.update(by_flow=current.run.flow_name, by_run=current.run.run_id,
                      by_task=current.task_id)  # fmt: skip
    ld = to_datetime(logical_date)
    version, _ = store.register(target, path)
    store.create_run(
        run_id,
        target.name,
        logical_date=ld.isoformat(),
        params=dict(conf or {}),
        trigger="triggered",
        version=version,
        path=str(path) if path else None,
        also=(origin_statement(run_id, reason),),
    )

    def execute() -> Any:
        return run_recorded(
            store, ResultStore.beside(store.path), target, path=str(path) if path else None,
            parameters=dict(conf or {}), logical_date=ld, run_id=run_id,
            run_extra={"dagshift.run_type": "manual"},
        )  # fmt: skip

    if not wait_for_completion:
        threading.Thread(target=execute, name=f"dagshift-triggered-{run_id}").start()
        return run_id
    state = execute().state
    if state in set(failed_states):
        raise TriggerFailed(f"{target.name} failed with failed state {state}")
    if state not in set(allowed_states):
        raise TriggerFailed(
            f"{target.name} ended in state {state}, which is neither allowed "
            f"({', '.join(allowed_states)}) nor failed ({', '.join(failed_states)})"
        )
    return run_id


def _in_dags_folder(flow: str, known: Mapping[str, Any]) -> str | None:
    """The file defining ``flow`` in the DAGs folder of the run that asks (the folder of its
    flow's file), as Airflow finds a TriggerDagRunOperator's target among the DAGs parsed from
    the DAGs folder: ``dagshift run controller.py`` triggers ``target.py`` beside it. Only files
    Airflow would parse (``.airflowignore``, the DAG heuristic) that name the flow are loaded."""
    from dagshift.runtime.context import current_task
    from dagshift.runtime.discovery import dag_files
    from dagshift.runtime.loader import LoadError, load_file

    current = current_task()
    asking = known.get(current.run.flow_name, {}).get("path") if current else None
    if not asking:
        return None
    for candidate in dag_files(Path(asking).parent):
        try:
            if flow not in candidate.read_text(encoding="utf-8", errors="replace"):
                continue
            if any(f.name == flow for f in load_file(candidate)):
                return str(candidate)
        except (OSError, LoadError):
            continue
    return None


def _resolve(flow: Any, store: Store) -> tuple[Any, Path | None]:
    if not isinstance(flow, str):
        return flow, None
    from dagshift.runtime.loader import load_file

    known = {f["name"]: f for f in store.flows()}
    path = known.get(flow, {}).get("path")
    if not path:
        path = _in_dags_folder(flow, known)
    if not path:
        raise LookupError(
            f"no flow {flow!r} is registered in {store.path}, nor defined in a file beside the "
            f"flow that asks: register its file first (`dagshift register FILE --db {store.path}`)"
        )
    found = [f for f in load_file(Path(path)) if f.name == flow]
    if not found:
        raise LookupError(f"{path} no longer defines a flow {flow!r}")
    return found[0], Path(path)
