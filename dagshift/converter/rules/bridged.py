"""Operators no rule converts (provider operators, sensors, custom operator classes) stay as
written: constructed as written and imported as written, a task of the converted
``with Flow(...)`` block, run by the compat shim (``dagshift run`` installs it) or, for
provider operators, by the operator bridge.

Only ``dag=`` goes (there is no DAG object any more: the operator joins the flow around it);
the DAG's ``default_args`` are passed on as ``default_args=`` (merged under the operator's own),
since in Airflow they reach every operator of the DAG. Edges, trigger rules, retries and
callbacks stay in the call and keep their Airflow meaning. A functional task pulling the
operator's result gets it as a parameter (a data edge from the operator); the operator's own
template pulls (``{{ ti.xcom_pull(...) }}``) read the run's results through the shim, as in
Airflow. The report lists these tasks as ``bridged``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import libcst as cst
import libcst.matchers as m

from dagshift.converter.model import Unsupported, kwarg, string_value
from dagshift.converter.rules import Rule
from dagshift.converter.rules.operators import OperatorArgs

__all__ = ["RULE", "BridgedPlan", "operator_name"]

DESCRIPTION = "operators and sensors with no rule -> kept as written, tasks of the flow (shim)"

_ENDINGS = ("Operator", "Sensor")


class _Any(dict):
    """Every kind maps over whatever its call says: the operator stays as written."""

    def get(self, key: Any, default: Any = None) -> Any:
        return "*"


_ANY_ARGUMENT = _Any()


@dataclass
class BridgedPlan:
    args: OperatorArgs
    operator: str  # the class as the call names it
    bridged: bool = True


def operator_name(call: cst.Call) -> str:
    """The class a (possibly ``.partial(...)``) operator call constructs, as written."""
    func = call.func
    if m.matches(func, m.Attribute(m.Call(), m.Name("expand") | m.Name("expand_kwargs"))):
        func = func.value.func
    if m.matches(func, m.Attribute(attr=m.Name("partial"))):
        func = func.value
    return cst.helpers.get_full_name_for_node(func) or "?"


def _keyword(call: cst.Call, name: str) -> cst.Arg | None:
    return next((a for a in call.args if a.keyword and a.keyword.value == name), None)


def _calls(full: str | None, call: cst.Call, file: Any) -> str | None:
    func = call.func
    if not isinstance(func, cst.Name | cst.Attribute):
        return None
    last = func.value if isinstance(func, cst.Name) else func.attr.value
    if full is not None:  # an Airflow name: an operator or sensor class
        module = full.rpartition(".")[0]
        in_package = any(f".{p}." in f"{module}." for p in ("operators", "sensors"))
        if last.endswith(_ENDINGS) or (
            in_package and last[:1].isupper() and _keyword(call, "task_id")
        ):
            return "bridged"  # ExternalTaskMarker, TimeDeltaSensorAsync ... are operators too
        return None
    head = cst.helpers.get_full_name_for_node(func) or ""
    if head in file.functions or last in ("override", "partial", "expand"):
        return None  # a function of the file (a factory, a TaskFlow task): not an operator
    if head in file.classes or (last.endswith(_ENDINGS) and _keyword(call, "task_id")):
        return "bridged"
    return None


def _inner(call: cst.Call) -> cst.Call:
    """The call holding the operator's arguments: ``Op(...)``, or ``Op.partial(...)`` of a
    mapped ``Op.partial(...).expand(...)``."""
    if m.matches(call.func, m.Attribute(m.Call(), m.Name("expand") | m.Name("expand_kwargs"))):
        return call.func.value
    return call


def _plan(job: Any, call: cst.Call, kind: str, expand: cst.Arg | None) -> BridgedPlan:
    inner = _inner(call)
    task_id = _keyword(inner, "task_id")
    dag = _keyword(inner, "dag")
    dag_var = job.site.dag_var
    if dag is not None and (dag_var is None or not m.matches(dag.value, m.Name(dag_var))):
        raise Unsupported(call, "DS012", "dag= names another DAG than the one around it")
    value = task_id.value if task_id is not None else cst.Name("None")
    args = OperatorArgs(value, string_value(value) if task_id else None, [], {})
    job.needs.add("Flow")
    return BridgedPlan(args, operator_name(call))


def _default_args(job: Any) -> cst.BaseExpression | None:
    found = next(
        (a for a in job.site.call_args if a.keyword and a.keyword.value == "default_args"), None
    )
    return found.value.deep_clone() if found is not None else None


def _build(job: Any, plan: BridgedPlan, index: int, node: cst.Call) -> cst.BaseExpression:
    inner = _inner(node)
    if inner is not node:  # mapped: the arguments are those of .partial(...)
        return node.with_changes(func=node.func.with_changes(value=_build(job, plan, index, inner)))
    args = [a for a in node.args if not (a.keyword and a.keyword.value == "dag")]
    defaults = _default_args(job)
    if defaults is not None:
        own = next((a for a in args if a.keyword and a.keyword.value == "default_args"), None)
        if own is None:
            merged: cst.BaseExpression = defaults
        else:  # Airflow: the DAG's default_args, the operator's own over them
            merged = cst.Dict([cst.StarredDictElement(defaults), cst.StarredDictElement(own.value)])
            args = [a for a in args if a is not own]
        args.append(kwarg("default_args", merged))
    return node.with_changes(args=_relaid(node.args, args))


def _relaid(old: Any, new: list[cst.Arg]) -> list[cst.Arg]:
    """``new`` arguments with the separators of the call they replace (comments kept)."""
    if not new or not old:
        return new
    space = cst.Comma(whitespace_after=cst.SimpleWhitespace(" "))
    sep = old[0].comma if len(old) > 1 and isinstance(old[0].comma, cst.Comma) else space
    out = [
        a if isinstance(a.comma, cst.Comma) and a is not old[-1] else a.with_changes(comma=sep)
        for a in new[:-1]
    ]
    return [*out, new[-1].with_changes(comma=old[-1].comma)]


RULE = Rule("bridged", DESCRIPTION, calls=_calls, plan=_plan, build=_build, mapped=_ANY_ARGUMENT)
