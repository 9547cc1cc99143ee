"""``SubDagOperator`` (``airflow.operators.subdag``, 1.10's ``airflow.operators.subdag_operator``):
another DAG's tasks run as one task of this DAG. Airflow 3 removed it (TaskGroup replaces it).

As in Airflow 2.11, the sub-DAG must be named ``<parent dag_id>.<task_id>`` and is a DAG of its
own (listed, and run on demand, like any DAG of the file); the operator runs it at the parent
run's logical date and data interval with ``conf`` as its run's conf, and succeeds when that run
succeeds, else fails with Airflow's message (``Expected state: SUCCESS. Actual state: failed``),
so the tasks after it are upstream_failed. Where Airflow's scheduler runs the sub-DAG's run and
the operator waits for it, dagshift runs it in the operator's task: the states are the same.
In a converted file (the operator kept as written in a ``with Flow(...)``) the sub-DAG is the
flow a converted factory returns, named the same way.
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


def _generation(subdag: Any) -> str | None:
    """The Airflow generation of a sub-DAG: a DAG's, or a converted flow's when it says (a
    flow keeping operators of a 1.10/2.x file does: see _parent)."""
    if hasattr(subdag, "generation"):
        return subdag.generation
    return getattr(subdag, "meta", {}).get("airflow_generation")


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
        if "3" in (generation, _generation(subdag) or generation):
            raise AirflowException(
                "SubDagOperator does not exist in Airflow 3 (it was removed in 3.0): put the "
                "sub-DAG's tasks in a TaskGroup (airflow.sdk.TaskGroup) instead"
            )
        dag_id = subdag.dag_id if hasattr(subdag, "dag_id") else subdag.name
        if f"{parent_id}.{kwargs.get('task_id')}" != dag_id:
            raise AirflowException(
                "The subdag's dag_id should have the form '{parent_dag_id}.{this_task_id}'. "
                f"Expected '{parent_id}.{kwargs.get('task_id')}'; received '{dag_id}'."
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
        # the sub-DAG's flow: a DAG's, or the flow a converted factory returns
        self._subflow = subdag.flow if hasattr(subdag, "flow") else subdag
        # Airflow never schedules a sub-DAG by itself: its parent's runs start its runs.
        self._subflow.schedule = None

    def execute(self, context: dict[str, Any]) -> None:
        run = self._subflow.run(
            self.conf,
            logical_date=context["logical_date"],
            data_interval=(context["data_interval_start"], context["data_interval_end"]),
        )
        self.log.info("Execution finished. State is %s", run.state)
        if run.state != "success":
            raise AirflowException(f"Expected state: SUCCESS. Actual state: {run.state}")
