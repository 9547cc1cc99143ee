"""Task-building functions: a function of the file that makes operators, called in a DAG's body
(``create_test_pipeline("1", TriggerRule.ALL_SUCCESS)``), stays as written, and so does its call.

The operators it makes are kept as written, as the ``bridged`` rule keeps operators: made
inside the ``with Flow(...)`` block, they join the flow around them (the compat shim's
operators join the flow being defined when no DAG is), with the ids, edges and trigger rules
the function gives them. The function, and the classes and names only it uses, stay as
written (``convert.for_bridged``). Only a function whose meaning that keeps is taken:

- defined once, at module level, without decorators, making at least one operator (an
  Airflow operator or sensor, or a class of the file), no DAG, and no ``global``/``nonlocal``;
- called as a statement of its own in the DAG's body (what it returns is not used);
- given the DAG object only for a parameter it uses as nothing but operators' ``dag=``: the
  call passes ``None`` there instead (the Flow is no DAG), and the operators join the flow
  around the call, as they joined the DAG;
- in a DAG without ``default_args`` that reach operators (Airflow gives the DAG's
  ``default_args`` to operators made anywhere while the DAG is active; a Flow's task options
  do not reach the shim's operators): only keys with no effect on a run (``owner`` ...) and
  ``start_date``/``end_date`` when the DAG takes its own dates from them.

Its task ids are known only at run time: a converted task pulling XCom by id from such a DAG
keeps the DAG (DS077), as with any task id computed in code.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import libcst as cst
import libcst.matchers as m

from dagshift.converter.model import Unsupported, string_value
from dagshift.converter.names import DAGS, qualified
from dagshift.converter.rules import Rule
from dagshift.converter.rules.operators import OperatorArgs, ignorable
from dagshift.converter.walk import nodes

__all__ = ["RULE", "BuilderPlan"]

DESCRIPTION = "a function of the file making operators, called in a DAG body -> kept as written"

_ENDINGS = ("Operator", "Sensor")


@dataclass
class BuilderPlan:
    args: OperatorArgs
    operator: str  # the function, as the report lists it: ``create_test_pipeline()``
    bridged: bool = True
    given: frozenset[int] = frozenset()  # arguments that were the DAG object: None now


def _builder(fn: cst.FunctionDef | None, file: Any) -> bool:
    if fn is None or fn.decorators or fn not in file.module.body:
        return False
    found = False
    for node in nodes(fn.body):
        if isinstance(node, cst.Global | cst.Nonlocal):
            return False
        if not isinstance(node, cst.Call):
            continue
        full = qualified(node.func, file.names)
        if full in DAGS:
            return False
        head = cst.helpers.get_full_name_for_node(node.func) or ""
        found = found or (full or "").endswith(_ENDINGS) or head in file.classes
    return found


def _calls(full: str | None, call: cst.Call, file: Any) -> str | None:
    if full is not None or not isinstance(call.func, cst.Name):
        return None
    return "builder" if _builder(file.functions.get(call.func.value), file) else None


def _plan(job: Any, call: cst.Call, kind: str, expand: cst.Arg | None) -> BuilderPlan:
    if not any(
        m.matches(stmt, m.SimpleStatementLine([m.Expr()])) and stmt.body[0].value is call
        for stmt in job.region()
    ):
        raise Unsupported(
            call, "DS056", "a function making operators whose result is used, or called nested"
        )
    dags = (job.file.dag_vars | {job.site.dag_var}) - {None}
    fn = job.file.functions[call.func.value]
    given: set[int] = set()
    for i, arg in enumerate(call.args):
        if any(type(n) is cst.Name and n.value in dags for n in nodes(arg)):
            if not (isinstance(arg.value, cst.Name) and _dag_parameter(fn, i, arg)):
                raise Unsupported(
                    call, "DS052", "the DAG object is given to a function making operators"
                )
            given.add(i)
    _no_default_args(job, call)
    job.dynamic_ids = True  # the ids it gives its operators are computed when it runs
    job.needs.add("Flow")
    args = OperatorArgs(cst.Name("None"), None, [], {})
    return BuilderPlan(args, f"{call.func.value}()", given=frozenset(given))


def _dag_parameter(fn: cst.FunctionDef, index: int, arg: cst.Arg) -> bool:
    """Whether the parameter ``arg`` binds is used only as operators' ``dag=`` in ``fn``."""
    if arg.star:
        return False
    params = fn.params
    if arg.keyword is not None:
        name = arg.keyword.value
        if name not in {p.name.value for p in [*params.params, *params.kwonly_params]}:
            return False
    elif index < len(params.params):
        name = params.params[index].name.value
    else:
        return False
    keywords = [a for a in nodes(fn.body) if isinstance(a, cst.Arg) and a.keyword is not None]
    dag_kwargs = {id(a.value) for a in keywords if a.keyword.value == "dag"}
    spelled = {id(a.keyword) for a in keywords}  # `dag=` itself is no use of the name
    uses = [
        n
        for n in nodes(fn.body)
        if type(n) is cst.Name and n.value == name and id(n) not in spelled
    ]
    return bool(uses) and all(id(n) in dag_kwargs for n in uses)


def _no_default_args(job: Any, call: cst.Call) -> None:
    given = next(
        (a.value for a in job.site.call_args if a.keyword and a.keyword.value == "default_args"),
        None,
    )
    if given is None:
        return
    value = job.file.assigned.get(given.value) if isinstance(given, cst.Name) else given
    own = {a.keyword.value for a in job.site.call_args if a.keyword}
    # the flow's own dates, when the DAG takes them from there, are the tasks' dates too
    dates = {"start_date", "end_date"} - own
    if isinstance(value, cst.Dict) and all(
        isinstance(el, cst.DictElement)
        and (key := string_value(el.key)) is not None
        and (ignorable(key, el.value) or key in dates)
        for el in value.elements
    ):
        return  # only keys with no effect on a run (owner ...)
    raise Unsupported(
        call,
        "DS057",
        "a function making operators in a DAG whose default_args reach them (not converted)",
    )


def _build(job: Any, plan: BuilderPlan, index: int, node: cst.Call) -> cst.BaseExpression:
    if not plan.given:
        return node
    args = [
        a.with_changes(value=cst.Name("None")) if i in plan.given else a
        for i, a in enumerate(node.args)
    ]
    return node.with_changes(args=args)


RULE = Rule("builders", DESCRIPTION, calls=_calls, plan=_plan, build=_build)
