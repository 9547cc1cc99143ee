"""Pull sources: which ids the tasks of a DAG may have, other than its matched producers.

A pull by task id converts to the value of the operator bound to a name in the DAG's body
(``dag_job.DagJob.producers``). A pull whose id no producer has was converted to None, as
Airflow gives for a task that does not exist; but the id may well be a task's that the
converter does not match: a TaskFlow task (its function's name, ``name__1`` for a second
call, or a ``task_id=``), an operator made in an ``if``/``for`` block or not bound to a name,
a function imported from another module (maybe a TaskFlow task). Such a pull keeps its DAG.

One TaskFlow form is matched (:func:`taskflow_producer`): ``NAME = fn(...)`` in the DAG's body,
``fn`` a plain ``@task`` (or ``@task.python``) function without ``task_id=``, every call of it a
statement of the body (``NAME = fn(...)`` or ``fn(...)``): the calls run in their order, so the
first has the function's name as its id, the k-th ``name__k`` (as Airflow numbers repeated
ids, unless a ``task_id=`` of the DAG takes one of these), and its value is the call's result.
"""

from __future__ import annotations

import builtins
import re
from typing import Any

import libcst as cst

from dagshift.converter.model import string_value
from dagshift.converter.names import TASK_DECORATORS, qualified
from dagshift.converter.rules.taskflow import is_taskflow
from dagshift.converter.walk import nodes

__all__ = ["may_be_a_task", "other_task_ids", "taskflow_producer"]

_REPEATED = re.compile(r"__\d+$")  # Airflow's id for the second, third ... call of a task


def _literal_task_ids(node: cst.CSTNode) -> set[str]:
    out: set[str] = set()
    for n in nodes(node):
        if isinstance(n, cst.Arg) and n.keyword is not None and n.keyword.value == "task_id":
            value = string_value(n.value)
            if value is not None:
                out.add(value)
    return out


def other_task_ids(job: Any) -> set[str]:
    """Ids (as the last segment of a group's id) tasks of ``job``'s DAG may have, other than
    the producers'."""
    file = job.file
    ids = {
        plan.args.task_id_value
        for key, (_, plan) in job.plans.items()
        if key not in job.producer_calls and plan.args.task_id_value is not None
    }
    taskflow: list[cst.FunctionDef] = []
    for root in job.region():
        ids |= _literal_task_ids(root)  # .override(task_id=...), operators anywhere
        for node in nodes(root):
            if isinstance(node, cst.FunctionDef) and is_taskflow(node, file.names):
                taskflow.append(node)
            elif isinstance(node, cst.Call) and isinstance(node.func, cst.Name):
                name = node.func.value
                fn = file.functions.get(name)
                if fn is not None and is_taskflow(fn, file.names):
                    taskflow.append(fn)
                elif _imported(name, file):
                    ids.add(name)
    for fn in taskflow:
        ids.add(fn.name.value)
        for dec in fn.decorators:
            ids |= _literal_task_ids(dec)
    return ids


def _imported(name: str, file: Any) -> bool:
    """A name the file neither defines nor has from airflow or Python: another module's."""
    known = set(file.functions) | set(file.classes) | set(file.assigned)
    heads = {local.partition(".")[0] for local in file.names}
    return name not in known and name not in heads and not hasattr(builtins, name)


def may_be_a_task(task_id: str, ids: set[str]) -> bool:
    """Whether ``task_id`` may be the id of a task with one of ``ids`` (see other_task_ids)."""
    last = task_id.rpartition(".")[2]
    return last in ids or _REPEATED.sub("", last) in ids


def _plain_taskflow(fn: cst.FunctionDef, names: dict[str, str]) -> bool:
    """``@task`` / ``@task()`` / ``@task.python(...)`` alone, with no ``task_id=``."""
    if len(fn.decorators) != 1:
        return False
    dec = fn.decorators[0].decorator
    target = dec.func if isinstance(dec, cst.Call) else dec
    full = qualified(target, names) or ""
    plain = full in TASK_DECORATORS or full in {f"{t}.python" for t in TASK_DECORATORS}
    return (
        plain
        and not _literal_task_ids(dec)
        and not (isinstance(dec, cst.Call) and any(a.keyword is None or a.star for a in dec.args))
    )


def taskflow_producer(job: Any, stmt: cst.CSTNode) -> tuple[str, str] | None:
    """(variable, task id) of ``NAME = fn(...)``, a plain TaskFlow task called once in the
    DAG's body (see the module docstring), else None."""
    if not (
        isinstance(stmt, cst.SimpleStatementLine)
        and len(stmt.body) == 1
        and isinstance(stmt.body[0], cst.Assign)
        and len(stmt.body[0].targets) == 1
        and isinstance(stmt.body[0].targets[0].target, cst.Name)
        and isinstance(stmt.body[0].value, cst.Call)
        and isinstance(stmt.body[0].value.func, cst.Name)
    ):
        return None
    name = stmt.body[0].value.func.value
    defined = [
        n
        for root in job.region()
        for n in nodes(root)
        if isinstance(n, cst.FunctionDef) and n.name.value == name
    ]
    fn = defined[0] if len(defined) == 1 else None
    if fn is None and not defined:
        fn = job.file.functions.get(name)
    if fn is None or not _plain_taskflow(fn, job.file.names):
        return None
    uses = [
        n for root in job.region() for n in nodes(root) if type(n) is cst.Name and n.value == name
    ]
    calls = [id(c) for c in map(_statement_call, job.region()) if c is not None and _calls(c, name)]
    if len(uses) != len(calls) + len(defined):  # the calls, and the definition's own name
        return None
    repeated = re.compile(rf"{re.escape(name)}(__\d+)?")
    if any(repeated.fullmatch(i) for root in job.region() for i in _literal_task_ids(root)):
        return None  # another task takes one of the ids Airflow would give these calls
    k = calls.index(id(stmt.body[0].value))
    return stmt.body[0].targets[0].target.value, name if k == 0 else f"{name}__{k}"


def _statement_call(stmt: cst.BaseStatement) -> cst.Call | None:
    """The call of ``NAME = call(...)`` or of a bare ``call(...)`` statement."""
    if not isinstance(stmt, cst.SimpleStatementLine) or len(stmt.body) != 1:
        return None
    small = stmt.body[0]
    if isinstance(small, cst.Assign) and len(small.targets) == 1:
        value = small.value
    elif isinstance(small, cst.Expr):
        value = small.value
    else:
        return None
    return value if isinstance(value, cst.Call) else None


def _calls(call: cst.Call, name: str) -> bool:
    return (
        isinstance(call.func, cst.Name)
        and call.func.value == name
        and not any(type(n) is cst.Name and n.value == name for a in call.args for n in nodes(a))
    )
