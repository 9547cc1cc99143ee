"""Callbacks in default_args: ``on_success_callback`` / ``on_failure_callback`` /
``on_retry_callback`` -> the runtime's ``on_success`` / ``on_failure`` / ``on_retry`` task
options, for every task of the flow as default_args gives them to every task of the DAG.

The runtime calls such an option with ``get_run_context()`` plus ``exception`` (see
``executor._callback``): an Airflow-shaped dict for what it holds, not all of Airflow's context.
A callback converts only when that is provably enough: a function of the file, defined once,
taking one parameter that its body uses only as ``context["key"]`` / ``context.get("key")``
for a value with the same meaning in dagshift's run context (``context.py``, per the file's
Airflow generation; ``exception`` in failure and retry callbacks), or ``context["ti"].task_id``
and the other attributes in ``OBJECTS``. Airflow runs each callback after the task's try, and a
callback that raises changes no state: the runtime does the same. Lists of callbacks,
``on_execute_callback`` and ``on_skipped_callback`` (no runtime option), callbacks on operators
or on the DAG are not converted here: their DAG stays.
"""

from __future__ import annotations

from typing import Any

import libcst as cst

from dagshift.converter.model import string_value
from dagshift.converter.rules.context import context_values
from dagshift.converter.walk import nodes

__all__ = ["CALLBACKS", "OBJECTS", "callback_option"]

DESCRIPTION = "default_args on_success/failure/retry_callback -> on_success/on_failure/on_retry"

CALLBACKS = {
    "on_success_callback": "on_success",
    "on_failure_callback": "on_failure",
    "on_retry_callback": "on_retry",
}
# Context objects a callback may read, and the attributes of each that the run context has
_TI = {"task_id", "dag_id", "map_index"}
OBJECTS = {"ti": _TI, "task_instance": _TI, "task": {"task_id"}, "dag": {"dag_id"}}
OBJECTS["dag_run"] = {"conf", "logical_date", "data_interval_start", "data_interval_end"}
# run_id and try_number are left out: dagshift's run ids are its own, and which try a
# callback sees differs between Airflow's generations


def _key(node: cst.CSTNode, param: str) -> str | None:
    """``param["k"]`` or ``param.get("k"[, default])``: ``k``."""
    if isinstance(node, cst.Subscript) and isinstance(node.value, cst.Name):
        if node.value.value == param and len(node.slice) == 1:
            index = node.slice[0].slice
            return string_value(index.value) if isinstance(index, cst.Index) else None
    if isinstance(node, cst.Call) and isinstance(node.func, cst.Attribute):
        func = node.func
        if isinstance(func.value, cst.Name) and func.value.value == param:
            if func.attr.value == "get" and node.args and not node.args[0].keyword:
                return string_value(node.args[0].value)
    return None


def _head(node: cst.CSTNode) -> cst.Name:
    return node.value if isinstance(node, cst.Subscript) else node.func.value


def provable(fn: cst.FunctionDef, option: str, legacy: bool) -> bool:
    """The callback reads nothing of its context that the run context lacks."""
    params = fn.params
    if (
        len(params.params) != 1
        or params.posonly_params
        or params.kwonly_params
        or params.star_kwarg
        or isinstance(params.star_arg, cst.Param)
        or fn.decorators
    ):
        return False
    param = params.params[0].name.value
    values = set(context_values(legacy)) - {"run_id", "try_number"}
    if option != "on_success":
        values.add("exception")
    allowed: set[int] = set()
    for node in nodes(fn.body):
        if isinstance(node, cst.Attribute):
            key = _key(node.value, param)
            if key in OBJECTS and node.attr.value in OBJECTS[key]:
                allowed.add(id(_head(node.value)))
        key = _key(node, param)
        if key in values:
            allowed.add(id(_head(node)))
    return all(id(n) in allowed for n in nodes(fn.body) if type(n) is cst.Name and n.value == param)


def callback_option(key: str, written: cst.BaseExpression, info: Any) -> str | None:
    """The runtime option for default_args key ``key`` whose value is ``written``, or None."""
    option = CALLBACKS.get(key)
    if option is None or not isinstance(written, cst.Name):
        return None
    if info is None or info.constants.star or info.constants.bound[written.value] != 1:
        return None  # bound once: the name is that function wherever it is read
    fn = info.functions.get(written.value)
    if fn is None or not provable(fn, option, legacy=not info.airflow3):
        return None
    return option
