"""Setup/teardown ``with`` blocks: ``with teardown(setup()):``, ``with setup >> teardown:``,
``with op.as_teardown(setups=s):`` stay as written, over the converted tasks.

A converted setup or teardown task's reference opens a ``with`` block in the runtime with
Airflow's meaning (``dagshift.runtime.setup_teardown``: the tasks made in the block get the
setup upstream and the teardown downstream when it ends, nested blocks chain setup to setup and
teardown to teardown, by Airflow's own bookkeeping). What the converter proves here is that the
item is such a task: a call of a ``@setup`` / ``@teardown`` function of the file (also through
``.override(...)``, or made by a factory function returning it), a name bound once to one,
``x >> y`` of such a task (``>>`` gives its right side), or ``.as_setup()`` /
``.as_teardown(...)`` of a converted operator. Else, or with ``as NAME``, or when the block
makes a task that stays as written (a kept operator, a kept ``@task.<kind>``, a builder
function: the shim draws its edges apart), the DAG keeps its TODO (DS093).

``result.as_setup()`` and ``result.as_teardown(setups=..., on_failure_fail_dagrun=...)`` of a
TaskFlow task's plain result stay as written too: a task's reference has the same methods, with
Airflow's meaning (``setups`` become setup tasks directly upstream of the teardown).
"""

from __future__ import annotations

from typing import Any

import libcst as cst
import libcst.matchers as m

from dagshift.converter.model import Unsupported
from dagshift.converter.names import qualified
from dagshift.converter.rules.taskflow import kept_taskflow, plain_result
from dagshift.converter.walk import nodes

__all__ = ["check_block", "is_block", "role_of", "taskflow_role"]

DESCRIPTION = "with teardown(setup()): / with setup >> teardown: -> the same block over flow tasks"

_ROLES = {
    f"{base}.{role}": role
    for base in ("airflow.decorators", "airflow.sdk")
    for role in ("setup", "teardown")
}
_AS_ROLE = {"as_setup": "setup", "as_teardown": "teardown"}


def _defined_once(module: cst.Module, name: str) -> cst.FunctionDef | None:
    found = [f for f in m.findall(module, m.FunctionDef(name=m.Name(name)))]
    return found[0] if len(found) == 1 else None  # type: ignore[return-value]


def _function_role(fn: cst.FunctionDef | None, names: dict[str, str]) -> str | None:
    for dec in fn.decorators if fn is not None else ():
        target = dec.decorator.func if isinstance(dec.decorator, cst.Call) else dec.decorator
        role = _ROLES.get(qualified(target, names) or "")
        if role is not None:
            return role
    return None


def _made_by(factory: cst.FunctionDef | None) -> str | None:
    """The function a factory returns: ``def f(): @teardown def g(...): ...; return g``."""
    if factory is None or not isinstance(factory.body, cst.IndentedBlock):
        return None
    last = factory.body.body[-1]
    if m.matches(last, m.SimpleStatementLine([m.Return(m.Name())])):
        return last.body[0].value.value
    return None


def _callee_role(func: cst.BaseExpression, file: Any) -> str | None:
    """The role of the function a call calls: ``f``, ``f.override(...)``, ``factory()``."""
    if m.matches(func, m.Call(func=m.Attribute(attr=m.Name("override")))):
        func = func.func.value
    if isinstance(func, cst.Name):
        return _function_role(_defined_once(file.module, func.value), file.names)
    if m.matches(func, m.Call(func=m.Name(), args=[])):
        inner = _made_by(_defined_once(file.module, func.func.value))
        if inner is not None:
            return _function_role(_defined_once(file.module, inner), file.names)
    return None


def role_of(item: cst.BaseExpression, region: list[cst.BaseStatement], file: Any) -> str | None:
    """ "setup" / "teardown" when ``item`` is a reference to such a task, else None."""
    if m.matches(item, m.BinaryOperation(operator=m.RightShift())):
        return role_of(item.right, region, file)
    if isinstance(item, cst.Name):
        values = [
            a.value
            for stmt in region
            for a in nodes(stmt)
            if isinstance(a, cst.Assign) and item.value in _targets(a)
        ]
        if len(values) != 1 or not isinstance(values[0], cst.Call):
            return None
        item = values[0]
    if not isinstance(item, cst.Call):
        return None
    if isinstance(item.func, cst.Attribute) and item.func.attr.value in _AS_ROLE:
        return _AS_ROLE[item.func.attr.value]  # its operator must convert: see dag_job
    return _callee_role(item.func, file)


def _targets(assign: cst.Assign) -> set[str]:
    """The names an assignment binds (``t.doc_md = ...`` binds none; ``a, b = ...`` both)."""
    out: set[str] = set()
    for t in assign.targets:
        parts = t.target.elements if isinstance(t.target, cst.Tuple | cst.List) else [t.target]
        for part in parts:
            value = part.value if isinstance(part, cst.Element) else part
            if isinstance(value, cst.Name):
                out.add(value.value)
    return out


def is_block(node: cst.With, region: list[cst.BaseStatement], file: Any) -> bool:
    """Whether ``node`` is a ``with`` block over one setup or teardown task's reference;
    Unsupported (DS093) when it names another task or binds ``as NAME``."""
    if len(node.items) != 1:
        return False
    item = node.items[0]
    if role_of(item.item, region, file) is None:
        return False
    if item.asname is not None:
        raise Unsupported(node, "DS093", "a setup or teardown with block binding `as NAME`")
    return True


def check_block(node: cst.With, plans: dict[int, Any], file: Any) -> None:
    """The tasks a block makes must be the runtime's (their edges are drawn on leaving it):
    an operator kept as written, a builder function's or a kept ``@task.<kind>`` keeps the
    TODO (``plans``: the DAG's operator calls, with their rules)."""
    kept = {
        f.name.value
        for f in m.findall(file.module, m.FunctionDef())
        if isinstance(f, cst.FunctionDef) and kept_taskflow(f, file.names)
    }
    for call in nodes(node.body):
        if not isinstance(call, cst.Call):
            continue
        taken = plans.get(id(call))
        stays = taken is not None and taken[0].name in ("bridged", "builders")
        func = call.func
        while isinstance(func, cst.Call | cst.Attribute):
            func = func.func if isinstance(func, cst.Call) else func.value
        if stays or (isinstance(func, cst.Name) and func.value in kept):
            raise Unsupported(
                call, "DS093", "a task kept as written inside a setup or teardown with block"
            )


def taskflow_role(call: cst.Call, region: list[cst.BaseStatement], file: Any) -> bool:
    """Whether ``call`` is ``r.as_setup()`` or ``r.as_teardown(...)`` of a TaskFlow task's
    plain result ``r``, with ``setups=`` such results (a name or a list of names) and a literal
    ``on_failure_fail_dagrun``: the runtime's methods of the same names do what Airflow does.
    """
    if not plain_result(call.func.value, region, file):
        return False
    if call.func.attr.value == "as_setup":
        return not call.args
    for arg in call.args:
        name = arg.keyword.value if arg.keyword else None
        value = arg.value
        if name == "setups":
            items = [e.value for e in value.elements] if isinstance(value, cst.List) else [value]
            if not all(plain_result(v, region, file) for v in items):
                return False
        elif name != "on_failure_fail_dagrun" or not m.matches(
            value, m.Name("True") | m.Name("False") | m.Name("None")
        ):
            return False
    return True
