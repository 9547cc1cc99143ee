"""``@dag`` function parameters -> run parameters of the flow.

Airflow makes each parameter of a ``@dag`` function a param of the DAG, with the parameter's
default as its value, and calls the function with a ``DagParam`` for each: passed to a
TaskFlow task, it gives that task the run's value of the param (``dag_run.conf`` over the
default). The flow gets ``NAME = Parameter("NAME", default)`` first thing in its block, a
run parameter with the same default, which a task given it receives the run's value of
(``dagshift run --param``, as a triggered DAG's conf). Only what that proves is taken:

- every parameter has a default (a param without one makes every run without conf fail in
  Airflow) and is positional-or-keyword or keyword-only (no ``*args``/``**kwargs``);
- the decorator's ``params=`` names none of them (it would win over the default);
- in the body, each parameter is only passed, as it is, to a TaskFlow function of the body
  (``f(x)``, ``f(key=x)``, ``f.override(...)(x)``) or to a templated field of an operator kept
  as written (``EmailOperator(to=x)``; a class of the file whose ``template_fields`` literal
  names it), never read at definition time. Airflow resolves a ``DagParam`` only where it
  renders templates (``render_template``: the run's conf, else the default), and so does the
  compat shim with the flow's ``Parameter`` there; in any other argument the operator would
  get the placeholder itself;
- the module calls the function only with no arguments (an argument would change the
  default: ``bind_partial`` in Airflow's ``@dag``).

Otherwise the DAG stays (DS025).
"""

from __future__ import annotations

from typing import Any

import libcst as cst
import libcst.matchers as m

from dagshift.converter.model import Unsupported, string_value
from dagshift.converter.rules.taskflow import is_taskflow
from dagshift.converter.walk import nodes, parameter_uses

__all__ = ["parameter_statements"]

DESCRIPTION = "@dag function parameters -> Parameter(name, default) of the flow"


def _refuse(node: cst.CSTNode, why: str) -> Unsupported:
    return Unsupported(node, "DS025", f"a @dag function with parameters: {why}")


def parameter_statements(
    fn: cst.FunctionDef, decorator_args: Any, file: Any
) -> list[cst.BaseStatement]:
    """``NAME = Parameter("NAME", default)`` for each parameter of the ``@dag`` function
    ``fn`` (see the module docstring); Unsupported (DS025) when that is not its meaning."""
    params = fn.params
    if params.posonly_params or isinstance(params.star_arg, cst.Param) or params.star_kwarg:
        raise _refuse(fn, "*args, **kwargs or positional-only ones")
    declared = [*params.params, *params.kwonly_params]
    if any(p.default is None for p in declared):
        raise _refuse(fn, "one without a default")
    names = {p.name.value for p in declared}
    given = next(
        (a.value for a in decorator_args if a.keyword and a.keyword.value == "params"), None
    )
    if given is not None and not _disjoint(given, names):
        raise _refuse(given, "the decorator's params= may name them")
    _only_passed_to_tasks(fn, names, file)
    _called_without_arguments(fn, file)
    return [
        cst.SimpleStatementLine(
            [
                cst.Assign(
                    [cst.AssignTarget(cst.Name(p.name.value))],
                    cst.Call(
                        cst.Name("Parameter"),
                        [cst.Arg(cst.SimpleString(f'"{p.name.value}"')), cst.Arg(p.default)],
                    ),
                )
            ]
        )
        for p in declared
    ]


def _disjoint(given: cst.BaseExpression, names: set[str]) -> bool:
    if not isinstance(given, cst.Dict):
        return False
    keys = [
        string_value(el.key) if isinstance(el, cst.DictElement) else None for el in given.elements
    ]
    return all(k is not None for k in keys) and not set(keys) & names


def _only_passed_to_tasks(fn: cst.FunctionDef, names: set[str], file: Any) -> None:
    body = fn.body
    tasks = {
        stmt.name.value
        for stmt in getattr(body, "body", ())
        if isinstance(stmt, cst.FunctionDef) and is_taskflow(stmt, file.names)
    }
    own = parameter_uses(body, names)  # a task's own parameter of that name is not it
    allowed: set[int] = set()
    for call in (n for n in nodes(body) if isinstance(n, cst.Call)):
        fields = None if _task_call(call, tasks) else _template_fields(call, file)
        if fields is None and not _task_call(call, tasks):
            continue
        allowed |= {
            id(a.value)
            for a in call.args
            if not a.star
            and isinstance(a.value, cst.Name)
            and a.value.value in names
            and (fields is None or (a.keyword is not None and a.keyword.value in fields))
        }
    # an argument's keyword (``f(email=...)``) is no reference
    allowed |= {id(a.keyword) for a in nodes(body) if isinstance(a, cst.Arg) and a.keyword}
    for name in nodes(body):
        if type(name) is cst.Name and name.value in names:
            if id(name) not in own and id(name) not in allowed:
                raise _refuse(name, f"{name.value!r} is used otherwise than given to a task")


def _template_fields(call: cst.Call, file: Any) -> frozenset[str] | None:
    """The template fields of the operator kept as written that ``call`` constructs, when
    known statically (an operator of the table, a class the file defines once with a literal
    ``template_fields``); None otherwise."""
    if not isinstance(call.func, cst.Name):
        return None
    name = call.func.value
    known = _TEMPLATE_FIELDS.get(file.names.get(name, ""))
    if known is not None:
        return known
    defs = [s for s in file.module.body if isinstance(s, cst.ClassDef) and s.name.value == name]
    if len(defs) != 1 or name in file.names:
        return None
    for stmt in getattr(defs[0].body, "body", ()):
        for small in getattr(stmt, "body", ()) if isinstance(stmt, cst.SimpleStatementLine) else ():
            target = small.target if isinstance(small, cst.AnnAssign) else None
            if isinstance(small, cst.Assign) and len(small.targets) == 1:
                target = small.targets[0].target
            if m.matches(target, m.Name("template_fields")) and small.value is not None:
                return _strings(small.value)
    return None


def _strings(value: cst.BaseExpression) -> frozenset[str] | None:
    if not isinstance(value, cst.Tuple | cst.List):
        return None
    found = [string_value(el.value) for el in value.elements]
    return None if any(s is None for s in found) else frozenset(found)


# Airflow's operators (kept as written) whose template fields a parameter may be given to
_EMAIL_FIELDS = frozenset({"to", "subject", "html_content", "files"})
_TEMPLATE_FIELDS = {
    "airflow.operators.email.EmailOperator": _EMAIL_FIELDS,
    "airflow.providers.smtp.operators.smtp.EmailOperator": _EMAIL_FIELDS,
}


def _task_call(call: cst.Call, tasks: set[str]) -> bool:
    func = call.func
    if isinstance(func, cst.Name):
        return func.value in tasks
    return m.matches(func, m.Call(func=m.Attribute(value=m.Name(), attr=m.Name("override")))) and (
        func.func.value.value in tasks
    )


def _called_without_arguments(fn: cst.FunctionDef, file: Any) -> None:
    name = fn.name.value
    calls = {
        id(n.func)
        for n in nodes(file.module)
        if isinstance(n, cst.Call) and isinstance(n.func, cst.Name) and not n.args
    }
    for ref in nodes(file.module):
        if type(ref) is cst.Name and ref.value == name and ref is not fn.name:
            if id(ref) not in calls:
                raise _refuse(ref, f"{name} is used otherwise than called with no arguments")
