"""``SubDagOperator`` (``airflow.operators.subdag``, 1.10's ``airflow.operators.subdag_operator``):
another DAG's tasks run as one task of this DAG. Airflow 3 removed it (TaskGroup replaces it).

As in Airflow 2.11, the sub-DAG must be named ``<parent dag_id>.<task_id>`` and is a DAG of its
own (listed, and run on demand, like any DAG of the file); the operator runs it at the parent
run's logical date and data interval with ``conf`` as its run's conf, and succeeds when that run
succeeds, else fails with Airflow's message (``Expected state: SUCCESS. Actual state: failed``),
so the tasks after it are upstream_failed. Where Airflow's scheduler runs the sub-DAG's run and
the operator waits for it, dagshift runs it in the operator's task: the states are the same.
"""

from __future__ import annotations

from enum import Enum
from typing import Any

from dagshift.compat.dag import current_dag
from dagshift.compat.exceptions import AirflowException
from dagshift.compat.operators import BaseSensorOperator
from dagshift.runtime.flow import current_flow

__all__ = ["SkippedStatePropagationOptions", "SubDagOperator"]


class SkippedStatePropagationOptions(Enum):
    """Airflow's choices for ``propagate_skipped_state``."""

    ALL_LEAVES = "all_leaves"
    ANY_LEAF = "any_leaf"


def _parent(dag: Any) -> tuple[str, str]:
    """The parent's id and Airflow generation: the DAG's, or in a converted file (where the
    operator is kept as written in a ``with Flow(...)``) the flow's."""
    if dag is not None:
        return dag.dag_id, dag.generation
    flow = current_flow()
    if flow is None:
        raise AirflowException(
            "Please pass in the `dag` param or call within a DAG context manager"
        )
    return flow.name, str(flow.meta.get("airflow_generation", "3"))


class SubDagOperator(BaseSensorOperator):
    """Run ``subdag`` (a DAG whose id is ``<parent dag_id>.<task_id>``) as this task."""

    ui_color = "#555"
    ui_fgcolor = "#fff"

    def __init__(
        self,
        *,
        subdag: Any,
        session: Any = None,
        conf: dict | None = None,
        propagate_skipped_state: SkippedStatePropagationOptions | None = None,
        **kwargs: Any,
    ) -> None:
        parent_id, generation = _parent(kwargs.get("dag") or current_dag())
        if "3" in (generation, getattr(subdag, "generation", "2")):
            raise AirflowException(
                "SubDagOperator does not exist in Airflow 3 (it was removed in 3.0): put the "
                "sub-DAG's tasks in a TaskGroup (airflow.sdk.TaskGroup) instead"
            )
        if f"{parent_id}.{kwargs.get('task_id')}" != subdag.dag_id:
            raise AirflowException(
                "The subdag's dag_id should have the form '{parent_dag_id}.{this_task_id}'. "
                f"Expected '{parent_id}.{kwargs.get('task_id')}'; received '{subdag.dag_id}'."
            )
        if propagate_skipped_state is not None:
            raise AirflowException(
                "SubDagOperator(propagate_skipped_state=...) is not provided by dagshift's "
                "Airflow shim: leave it out, or skip the downstream tasks with a "
                "ShortCircuitOperator after the sub-DAG"
            )
        super().__init__(**kwargs)
        self.subdag = subdag
        self.conf = conf
        self.propagate_skipped_state = propagate_skipped_state
        # Airflow never schedules a sub-DAG by itself: its parent's runs start its runs.
        subdag.flow.schedule = None

    def execute(self, context: dict[str, Any]) -> None:
        run = self.subdag.flow.run(
            self.conf,
            logical_date=context["logical_date"],
            data_interval=(context["data_interval_start"], context["data_interval_end"]),
        )
        self.log.info("Execution finished. State is %s", run.state)
        if run.state != "success":
            raise AirflowException(f"Expected state: SUCCESS. Actual state: {run.state}")
