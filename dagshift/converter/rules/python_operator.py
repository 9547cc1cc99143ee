"""PythonOperator, BranchPythonOperator, ShortCircuitOperator -> ``@task``, ``@task.branch``,
``@task.short_circuit`` functions called in the flow.

The callable gains the decorator (or, when the module also uses it as a plain function and
it needs no rewrite, is wrapped at the call: ``task(fn)``; a lambda becomes ``task(lambda:
...)``). ``op_args`` / ``op_kwargs`` / ``templates_dict`` become call arguments; a parameter fed a
Jinja template is rendered first thing in the task, as Airflow renders it before the call;
``PythonOperator.partial(...).expand(op_kwargs=[...])`` becomes
``fn.expand_kwargs([...])``. ``ignore_downstream_trigger_rules`` carries over.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import libcst as cst
import libcst.matchers as m

from dagshift.converter.model import Unsupported, kwarg, string_value
from dagshift.converter.rules.operators import OperatorArgs
from dagshift.converter.rules.xcom import Pull

__all__ = ["DECORATORS", "PYTHON_ARGS", "PythonPlan", "call_arguments", "templated"]

DESCRIPTION = "Python/Branch/ShortCircuit operators -> @task / @task.branch / @task.short_circuit"

DECORATORS = {"python": "task", "branch": "task.branch", "short_circuit": "task.short_circuit"}
PYTHON_ARGS = {
    "python_callable",
    "op_args",
    "op_kwargs",
    "provide_context",
    "ignore_downstream_trigger_rules",
    "show_return_value_in_logs",
    "templates_dict",
}

RENDER_HELPER = """

def _dagshift_render(value):
    # Airflow renders templated arguments before the call: strings, also inside lists and dicts
    if isinstance(value, str):
        return render(value)
    if isinstance(value, list | tuple | set):
        return type(value)(_dagshift_render(v) for v in value)
    if isinstance(value, dict):
        return {k: _dagshift_render(v) for k, v in value.items()}
    return value
"""


@dataclass
class PythonPlan:
    kind: str
    args: OperatorArgs
    target: cst.BaseExpression
    target_name: str | None
    call_args: list[cst.Arg]
    pulls: dict[str, Pull] = field(default_factory=dict)
    pushes: set[str] = field(default_factory=set)
    extra_options: list[cst.Arg] = field(default_factory=list)
    expand_kwargs: cst.BaseExpression | None = None


def templated(node: cst.CSTNode) -> bool:
    """Whether a value holds a string Airflow would render as a template."""
    found = False

    class _V(cst.CSTVisitor):
        def visit_SimpleString(self, n: cst.SimpleString) -> None:
            nonlocal found
            found = found or "{{" in n.value or "{%" in n.value

        def visit_FormattedStringText(self, n: cst.FormattedStringText) -> None:
            nonlocal found
            found = found or "{{" in n.value or "{%" in n.value

    node.visit(_V())
    return found


def call_arguments(
    call: cst.Call, rest: dict[str, cst.Arg]
) -> tuple[list[cst.Arg], set[str], set[int | str]]:
    """op_args / op_kwargs / templates_dict as call arguments, the keywords they feed, and
    which of them (positions, keywords) hold Jinja templates the task must render."""
    out: list[cst.Arg] = []
    keys: set[str] = set()
    rendered: set[int | str] = set()
    if "op_args" in rest:
        value = rest["op_args"].value
        if not isinstance(value, cst.List | cst.Tuple):
            raise Unsupported(call, "DS033", "op_args is not a list or tuple literal")
        for i, el in enumerate(value.elements):
            if not isinstance(el, cst.Element):
                raise Unsupported(call, "DS033", "op_args with a starred element")
            out.append(cst.Arg(el.value))
            if templated(el.value):
                rendered.add(i)
    if "op_kwargs" in rest:
        value = rest["op_kwargs"].value
        if not isinstance(value, cst.Dict):
            raise Unsupported(call, "DS034", "op_kwargs is not a dict literal")
        for el in value.elements:
            key = string_value(el.key) if isinstance(el, cst.DictElement) else None
            if key is None or not key.isidentifier():
                raise Unsupported(call, "DS034", "op_kwargs key is not an identifier string")
            out.append(kwarg(key, el.value))
            keys.add(key)
            if templated(el.value):
                rendered.add(key)
    if "templates_dict" in rest:
        out.append(kwarg("templates_dict", rest["templates_dict"].value))
        keys.add("templates_dict")
        rendered.add("templates_dict")
    return out, keys, rendered


def expand_kwargs_keys(call: cst.Call, value: cst.BaseExpression) -> set[str]:
    """Keys of ``.expand(op_kwargs=[{...}, ...])``: a list of dict literals without Jinja."""
    if not m.matches(value, m.List()) or templated(value):
        raise Unsupported(call, "DS090", "expand(op_kwargs=...) is not a list of dict literals")
    keys: set[str] = set()
    for el in value.elements:
        if not isinstance(el.value, cst.Dict):
            raise Unsupported(call, "DS090", "expand(op_kwargs=...) is not a list of dict literals")
        for item in el.value.elements:
            key = string_value(item.key) if isinstance(item, cst.DictElement) else None
            if key is None:
                raise Unsupported(call, "DS090", "expand(op_kwargs=...) key is not a string")
            keys.add(key)
    return keys
