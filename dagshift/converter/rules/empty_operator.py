"""EmptyOperator / DummyOperator -> a ``_dagshift_empty`` task returning None."""

from __future__ import annotations

from typing import Any

import libcst as cst

from dagshift.converter.names import OPERATORS
from dagshift.converter.rules import Rule
from dagshift.converter.rules.operators import OperatorArgs, operator_args, task_call

__all__ = ["HELPER", "RULE"]

DESCRIPTION = "EmptyOperator / DummyOperator -> _dagshift_empty task"

HELPER = """

@task
def _dagshift_empty():
    return None
"""


class _EmptyPlan:
    def __init__(self, args: OperatorArgs) -> None:
        self.args = args


def _calls(full: str | None, call: cst.Call, file: Any) -> str | None:
    return "empty" if OPERATORS.get(full or "") == "empty" else None


def _plan(job: Any, call: cst.Call, kind: str, expand: Any) -> _EmptyPlan:
    job.helpers.add("_dagshift_empty")
    job.needs.add("task")
    return _EmptyPlan(operator_args(call, set(), job.site.dag_var, "the operator", job.file))


def _build(job: Any, plan: _EmptyPlan, index: int, node: cst.Call) -> cst.BaseExpression:
    return task_call(cst.Name("_dagshift_empty"), None, plan.args, [])


RULE = Rule("empty_operator", DESCRIPTION, _calls, _plan, _build)
