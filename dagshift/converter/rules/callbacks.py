"""Callbacks: ``on_success_callback`` / ``on_failure_callback`` / ``on_retry_callback`` /
``on_execute_callback`` / ``on_skipped_callback`` -> the runtime's ``on_success`` /
``on_failure`` / ``on_retry`` / ``on_execute`` / ``on_skipped`` task options, in default_args
(for every task of the flow, as default_args gives them to every task of the DAG), on an
operator, on ``@task(...)``, and in a TaskGroup's default_args; a list of such functions too
(each called in order, as Airflow does).

The runtime calls such an option with ``get_run_context()`` plus ``exception`` (see
``executor._callback``): an Airflow-shaped dict for what it holds, not all of Airflow's context.
A callback converts only when that is provably enough: a function of the file, defined once,
taking one parameter that its body uses only as ``context["key"]`` / ``context.get("key")``
for a value with the same meaning in dagshift's run context (``context.py``, per the file's
Airflow generation; ``exception`` in failure and retry callbacks), or ``context["ti"].task_id``
and the other attributes in ``OBJECTS``. Airflow runs ``on_execute_callback`` before each try
and the others after it (``on_retry`` when another try follows, ``on_failure`` after the last,
``on_skipped`` when the task raised AirflowSkipException, not when others skipped it), and a
callback that raises changes no state: the runtime does the same. ``exception`` is read only
in failure and retry callbacks (Airflow gives it no other).
"""

from __future__ import annotations

from typing import Any

import libcst as cst

from dagshift.converter.model import Unsupported, string_value
from dagshift.converter.rules.context import context_values
from dagshift.converter.walk import nodes

__all__ = ["CALLBACKS", "OBJECTS", "RUN_CALLBACKS", "callback_arg", "callback_option"]

DESCRIPTION = "on_*_callback (operators, @task, default_args; lists) -> on_success/on_failure ..."

CALLBACKS = {
    "on_success_callback": "on_success",
    "on_failure_callback": "on_failure",
    "on_retry_callback": "on_retry",
    "on_execute_callback": "on_execute",
    "on_skipped_callback": "on_skipped",
}
# A DAG's callbacks -> the Flow's: called once the run has ended, succeeded or failed
RUN_CALLBACKS = {"on_success_callback": "on_success", "on_failure_callback": "on_failure"}
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


def provable(fn: cst.FunctionDef, option: str, legacy: bool, run: bool = False) -> bool:
    """The callback reads nothing of its context that the run context lacks (``run``: a DAG
    run's callback, whose context has no task of its own)."""
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
    objects = OBJECTS
    if run:
        # Airflow gives a DAG run's callback the context of one of its task instances (which
        # one differs between 2.11 and 3.3) and why the run ended
        values = (values - {"task_instance_key_str"}) | {"reason"}
        objects = {k: v for k, v in OBJECTS.items() if k in ("dag", "dag_run")}
    elif option in ("on_failure", "on_retry"):
        values.add("exception")
    allowed: set[int] = set()
    for node in nodes(fn.body):
        if isinstance(node, cst.Attribute):
            key = _key(node.value, param)
            if key in objects and node.attr.value in objects[key]:
                allowed.add(id(_head(node.value)))
        key = _key(node, param)
        if key in values:
            allowed.add(id(_head(node)))
    allowed |= _aliases(fn, param, objects)
    return all(id(n) in allowed for n in nodes(fn.body) if type(n) is cst.Name and n.value == param)


def _aliases(fn: cst.FunctionDef, param: str, objects: dict[str, set[str]]) -> set[int]:
    """Ids of the ``param`` heads of ``ti = param["ti"]`` statements whose name is bound only
    there and read only for the attributes the run context's object has."""
    out: set[int] = set()
    for stmt in nodes(fn.body):
        if not (
            isinstance(stmt, cst.Assign)
            and len(stmt.targets) == 1
            and isinstance(stmt.targets[0].target, cst.Name)
        ):
            continue
        key = _key(stmt.value, param)
        if key not in objects:
            continue
        alias = stmt.targets[0].target
        uses = [n for n in nodes(fn.body) if type(n) is cst.Name and n.value == alias.value]
        reads = {
            id(n.value)
            for n in nodes(fn.body)
            if isinstance(n, cst.Attribute)
            and type(n.value) is cst.Name
            and n.value.value == alias.value
            and n.attr.value in objects[key]
        }
        if all(n is alias or id(n) in reads for n in uses):
            out.add(id(_head(stmt.value)))
    return out


def callback_option(
    key: str, written: cst.BaseExpression, info: Any, run: bool = False
) -> str | None:
    """The runtime option for callback key ``key`` (of default_args, an operator or ``@task``;
    of the DAG with ``run``) whose value is ``written`` (a function's name, or a list or tuple
    of them), or None."""
    option = (RUN_CALLBACKS if run else CALLBACKS).get(key)
    if option is None or info is None or info.constants.star:
        return None
    if isinstance(written, cst.List | cst.Tuple):
        names = [el.value for el in written.elements]
        if not names or any(isinstance(el, cst.StarredElement) for el in written.elements):
            return None
    else:
        names = [written]
    for name in names:
        fn = _callback_function(name, info)
        if fn is None or not provable(fn, option, legacy=not info.airflow3, run=run):
            return None
    return option


def _callback_function(expr: cst.BaseExpression, info: Any) -> cst.FunctionDef | None:
    """The function a callback expression gives: a function of the file (``notify``), or the
    one a factory of the file returns (``note("success")``, whose body defines ``callback``
    once and ends ``return callback``; the call is made once, where it is written, as in
    Airflow)."""
    factory = isinstance(expr, cst.Call) and isinstance(expr.func, cst.Name)
    name = expr.func if factory else expr
    if not isinstance(name, cst.Name) or info.constants.bound[name.value] != 1:
        return None  # bound once: the name is that function wherever it is read
    fn = info.functions.get(name.value)
    if fn is None or not factory:
        return fn
    body = list(fn.body.body) if isinstance(fn.body, cst.IndentedBlock) else []
    last = body[-1] if body else None
    if not (
        isinstance(last, cst.SimpleStatementLine)
        and len(last.body) == 1
        and isinstance(last.body[0], cst.Return)
        and isinstance(last.body[0].value, cst.Name)
    ):
        return None
    returned = last.body[0].value.value
    inner = [s for s in body if isinstance(s, cst.FunctionDef) and s.name.value == returned]
    bound = [n for s in body for n in nodes(s) if type(n) is cst.Name and n.value == returned]
    # defined once, and named only where it is defined and returned
    return inner[0] if len(inner) == 1 and len(bound) == 2 else None


def callback_arg(arg: cst.Arg, info: Any, run: bool = False) -> cst.Arg:
    """An operator's or ``@task``'s ``on_*_callback=`` (the DAG's, with ``run``) as the
    runtime's option; Unsupported when the callback is not provably one the run context
    serves."""
    option = callback_option(arg.keyword.value, arg.value, info, run)
    if option is None:
        raise Unsupported(
            arg,
            "DS111" if run else "DS110",
            f"{'the DAG' if run else 'the task'}'s {arg.keyword.value}= is not a function of "
            "this file (or a list of them) reading only context values dagshift has",
        )
    return arg.with_changes(keyword=cst.Name(option))
