"""Operators that look beyond their own run: ``LatestOnlyOperator``, ``TriggerDagRunOperator``,
``ExternalTaskSensor`` and ``ExternalTaskMarker``.

``LatestOnlyOperator`` skips its direct downstream tasks unless the run is the latest scheduled
one, with each generation's rule as its own code has it:

- Airflow 3 (standard provider): a ``manual`` run proceeds; otherwise the window is from the
  end of the previous scheduled interval to the end of the next one, from the DAG's timetable;
  the run proceeds when now is inside it.
- Airflow 2: a run with ``external_trigger`` proceeds (``dag.test()`` runs are *not* external,
  ``airflow dags trigger`` runs are); otherwise the next interval after the run's must hold now.

dagshift's ``dagshift run`` is a manual, external run; runs started by ``serve`` are scheduled
ones and ``backfill`` runs are backfills, as in Airflow.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pendulum

from dagshift.compat.baseoperator import BaseOperator
from dagshift.compat.operators import BaseBranchOperator, BaseSensorOperator, EmptyOperator
from dagshift.compat.timetables import dag_timetable
from dagshift.runtime.timetables import DataInterval, TimeRestriction

__all__ = [
    "ExternalTaskMarker",
    "ExternalTaskSensor",
    "LatestOnlyOperator",
    "TriggerDagRunOperator",
]


class LatestOnlyOperator(BaseBranchOperator):
    """Skip the tasks directly downstream unless this is the latest scheduled run."""

    ui_color = "#e9ffdb"

    def choose_branch(self, context: dict[str, Any]) -> list[str]:
        dag_run = context["dag_run"]
        downstream = sorted(self.get_direct_relative_ids(upstream=False))
        dag = self.dag
        if dag is not None and dag.generation != "3":
            window = None if dag_run.external_trigger else _window_2(dag, dag_run)
        elif dag_run.run_type == "manual":
            window = None
        else:
            window = _window_3(dag, dag_run)
        if window is None:
            return downstream
        left, right = window
        return downstream if left < pendulum.now("UTC") <= right else []


def _interval(dag_run: Any) -> DataInterval:
    start = dag_run.data_interval_start or dag_run.logical_date
    end = dag_run.data_interval_end or dag_run.logical_date
    return DataInterval(pendulum.instance(start), pendulum.instance(end))


def _window_3(dag: Any, dag_run: Any) -> tuple[Any, Any] | None:
    """Airflow 3.3's ``_get_compare_dates``; None: the last scheduled run, proceed."""
    timetable = dag_timetable(dag)
    current = _interval(dag_run)
    before = TimeRestriction(None, current.end - timedelta(microseconds=1), True)
    prev_info = timetable.next_dagrun_info(last_automated_data_interval=current, restriction=before)
    left = prev_info.data_interval.end if prev_info else current.start
    next_info = timetable.next_dagrun_info(
        last_automated_data_interval=current, restriction=TimeRestriction(current.end, None, True)
    )
    return None if not next_info else (left, next_info.data_interval.end)


def _window_2(dag: Any, dag_run: Any) -> tuple[Any, Any] | None:
    """Airflow 2.11: the interval after the run's (``dag.next_dagrun_info(restricted=False)``)."""
    timetable = dag_timetable(dag)
    info = timetable.next_dagrun_info(
        last_automated_data_interval=_interval(dag_run),
        restriction=TimeRestriction(None, None, True),
    )
    return None if info is None else tuple(info.data_interval)


class TriggerDagRunOperator(BaseOperator):
    """Start a run of another DAG, recorded in the same history (see ``trigger_run``).

    ``conf``, ``logical_date`` and ``trigger_run_id`` are templated; with
    ``wait_for_completion`` the task waits for the run and fails, with Airflow's message, when
    it ends in one of ``failed_states``. ``poke_interval`` and ``deferrable`` change nothing:
    the triggered run runs in this process. ``reset_dag_run`` and ``skip_when_already_exists``
    concern a run id that already exists, which a dagshift history never reuses.
    """

    template_fields = ("trigger_dag_id", "trigger_run_id", "logical_date", "conf")
    ui_color = "#ffefeb"

    def __init__(
        self,
        *,
        trigger_dag_id: str,
        trigger_run_id: str | None = None,
        conf: dict | None = None,
        logical_date: Any = None,
        execution_date: Any = None,
        reset_dag_run: bool = False,
        wait_for_completion: bool = False,
        poke_interval: int = 60,
        allowed_states: list[str] | None = None,
        failed_states: list[str] | None = None,
        skip_when_already_exists: bool = False,
        fail_when_dag_is_paused: bool = False,
        deferrable: bool = False,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.trigger_dag_id = trigger_dag_id
        self.trigger_run_id = trigger_run_id
        self.conf = conf
        self.logical_date = logical_date if logical_date is not None else execution_date
        self.reset_dag_run = reset_dag_run
        self.wait_for_completion = wait_for_completion
        self.poke_interval = poke_interval
        self.allowed_states = [str(s) for s in (allowed_states or ["success"])]
        self.failed_states = [str(s) for s in (failed_states or ["failed"])]
        self.skip_when_already_exists = skip_when_already_exists
        self.deferrable = deferrable

    def execute(self, context: dict[str, Any]) -> None:
        import json

        from dagshift.compat.exceptions import AirflowException
        from dagshift.history.trigger import TriggerFailed, trigger_run

        conf = json.loads(self.conf) if isinstance(self.conf, str) else self.conf
        try:
            run_id = trigger_run(
                self.trigger_dag_id,
                conf=conf,
                logical_date=self.logical_date or None,
                wait_for_completion=self.wait_for_completion,
                allowed_states=self.allowed_states,
                failed_states=self.failed_states,
            )
        except (TriggerFailed, LookupError) as exc:
            raise AirflowException(str(exc)) from None
        self.trigger_run_id = run_id


class ExternalTaskSensor(BaseSensorOperator):
    """Wait for a run (or tasks) of another DAG at a logical date, in dagshift's history.

    The date is this run's logical date minus ``execution_delta`` (or what
    ``execution_date_fn(logical_date, **context)`` returns, one date or several); the latest
    recorded run of ``external_dag_id`` at each date counts. Done when every looked-at state is
    in ``allowed_states`` (default success); fails when one is in ``failed_states``, skips when
    one is in ``skipped_states``, as Airflow's sensor does. Waits with ``poke_interval`` up to
    ``timeout``; ``mode`` and ``deferrable`` wait the same way.
    """

    template_fields = (
        "external_dag_id",
        "external_task_id",
        "external_task_ids",
        "external_task_group_id",
    )
    ui_color = "#4db7db"

    def __init__(
        self,
        *,
        external_dag_id: str,
        external_task_id: str | None = None,
        external_task_ids: list[str] | None = None,
        external_task_group_id: str | None = None,
        allowed_states: list[str] | None = None,
        skipped_states: list[str] | None = None,
        failed_states: list[str] | None = None,
        execution_delta: timedelta | None = None,
        execution_date_fn: Any = None,
        check_existence: bool = False,
        deferrable: bool = False,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        if external_task_id is not None and external_task_ids is not None:
            raise ValueError(
                "Only one of `external_task_id` or `external_task_ids` may be provided"
            )
        if execution_delta is not None and execution_date_fn is not None:
            raise ValueError(
                "Only one of `execution_delta` or `execution_date_fn` may be provided to "
                "ExternalTaskSensor; not both."
            )
        if external_task_group_id is not None and (external_task_ids or external_task_id):
            raise ValueError(
                "Only one of `external_task_group_id` or `external_task_ids` may be provided to "
                "ExternalTaskSensor; use external_task_id or external_task_ids or "
                "external_task_group_id."
            )
        states = [*(allowed_states or ["success"]), *(skipped_states or []), *(failed_states or [])]
        if len(set(map(str, states))) != len(states):
            raise ValueError(  # Airflow 3's DuplicateStateError, 2.x's AirflowException
                "Duplicate values provided across allowed_states, skipped_states and failed_states."
            )
        self.external_task_group_id = external_task_group_id
        self.external_dag_id = external_dag_id
        self.external_task_id = external_task_id
        self.external_task_ids = (
            [external_task_id] if external_task_id is not None else external_task_ids
        )
        self.allowed_states = [str(s) for s in (allowed_states or ["success"])]
        self.skipped_states = [str(s) for s in (skipped_states or [])]
        self.failed_states = [str(s) for s in (failed_states or [])]
        self.execution_delta = execution_delta
        self.execution_date_fn = execution_date_fn
        self.check_existence = check_existence
        self.deferrable = deferrable

    def _dates(self, context: dict[str, Any]) -> list[Any]:
        # Airflow 3: a run without a logical date (asset-triggered) waits on its run_after
        logical_date = context.get("logical_date") or context["dag_run"].run_after
        if self.execution_delta is not None:
            return [logical_date - self.execution_delta]
        if self.execution_date_fn is not None:
            found = self.execution_date_fn(logical_date, **_fn_context(context))
            return list(found) if isinstance(found, list | tuple) else [found]
        return [logical_date]

    def poke(self, context: dict[str, Any]) -> bool:
        from dagshift.compat.exceptions import AirflowException, AirflowSkipException
        from dagshift.history.assets import external_group_states, external_states
        from dagshift.history.store import Store

        history = _history(self)
        dates = [pendulum.instance(d).in_timezone("UTC") for d in self._dates(context)]
        store = Store(history)
        try:
            if self.external_task_group_id is not None:
                groups = external_group_states(
                    store, self.external_dag_id, dates, self.external_task_group_id
                )
                return self._poke_group(groups, dates)
            states = external_states(store, self.external_dag_id, dates, self.external_task_ids)
        finally:
            store.close()
        what = f"tasks {self.external_task_ids} of DAG " if self.external_task_ids else "DAG "
        where = f"{what}{self.external_dag_id!r} at {[d.isoformat() for d in dates]}"
        if self.check_existence and all(s is None for s in states):
            raise AirflowException(f"The external {where} has no run in {history}")
        if any(s in self.failed_states for s in states):
            raise AirflowException(f"The external {where} failed ({states})")
        if any(s in self.skipped_states for s in states):
            raise AirflowSkipException(f"The external {where} reached a skipped state ({states})")
        return all(s in self.allowed_states for s in states)

    def _poke_group(self, groups: list[dict[str, str] | None], dates: list[Any]) -> bool:
        """Airflow 3.3's rule for a task group: a run counts for a list of states when every
        task of the group in it has one of them (a run without the group's tasks never does);
        fail or skip when any run counts for ``failed_states`` / ``skipped_states``, done when
        every date's run counts for ``allowed_states``."""
        from dagshift.compat.exceptions import AirflowException, AirflowSkipException

        def count(states: list[str]) -> int:
            return sum(1 for g in groups if g and all(v in states for v in g.values()))

        where = f"The external task_group '{self.external_task_group_id}' in DAG "
        if self.failed_states and count(self.failed_states):
            if self.soft_fail:
                raise AirflowSkipException(
                    f"{where}'{self.external_dag_id}' failed. Skipping due to soft_fail."
                )
            raise AirflowException(f"{where}'{self.external_dag_id}' failed.")
        if self.skipped_states and count(self.skipped_states):
            raise AirflowSkipException(
                f"{where}{self.external_dag_id} reached a state in our states-to-skip-on list. "
                "Skipping."
            )
        return count(self.allowed_states) == len(dates)


def _history(task: Any) -> str:
    from dagshift.runtime.context import current_task

    current = current_task()
    history = current.run.extra.get("dagshift.history") if current else None
    if not history:
        raise RuntimeError(
            f"{type(task).__name__} {task.task_id!r} reads other DAGs' runs in dagshift's "
            "history: run this DAG with `dagshift run` or `dagshift serve`"
        )
    return history


def _fn_context(context: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in context.items() if k != "logical_date"}


class ExternalTaskMarker(EmptyOperator):
    """Marks a dependency for Airflow's recursive clear; it does nothing when it runs."""

    template_fields = ("external_dag_id", "external_task_id", "logical_date")

    def __init__(
        self,
        *,
        external_dag_id: str,
        external_task_id: str,
        logical_date: Any = "{{ logical_date.isoformat() }}",
        execution_date: Any = None,
        recursion_depth: int = 10,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.external_dag_id = external_dag_id
        self.external_task_id = external_task_id
        self.logical_date = execution_date if execution_date is not None else logical_date
        if recursion_depth <= 0:
            raise ValueError("recursion_depth should be a positive integer")
        self.recursion_depth = recursion_depth
