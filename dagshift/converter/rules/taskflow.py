"""TaskFlow: ``@task`` / ``@task.branch`` / ``@task.short_circuit`` from ``airflow.decorators``
or ``airflow.sdk`` become dagshift's decorators of the same names (the data flow is already
functional). ``multiple_outputs`` is dropped (``ref["key"]`` works on any mapping result);
``execution_timeout`` becomes ``timeout``; the function body gets the context rewrite of
``callables.py`` (no XCom pulls: a TaskFlow task passes data by arguments; a push becomes
``push(key, value)``).
"""

from __future__ import annotations

import ast
from typing import Any

import libcst as cst
import libcst.matchers as m

from dagshift.converter.model import Unsupported, kwarg
from dagshift.converter.names import TASK_DECORATORS, qualified
from dagshift.converter.rules.callables import push_import, rewrite_callable
from dagshift.converter.rules.callbacks import CALLBACKS, callback_arg
from dagshift.converter.rules.operators import KEPT_AS_IS, ignorable
from dagshift.converter.rules.scheduling import check_task_argument

__all__ = [
    "check_taskflow_call",
    "rendered_params",
    "is_taskflow",
    "kept_taskflow",
    "rewrite_taskflow",
]

DESCRIPTION = "TaskFlow @task / @task.branch / @task.short_circuit -> dagshift decorators"

_KINDS = {"": "task", "python": "task", "branch": "task.branch"}
_KINDS["short_circuit"] = "task.short_circuit"
_OPTIONS = {
    "retries",
    "retry_delay",
    "retry_exponential_backoff",
    "max_retry_delay",
    "trigger_rule",
    "task_id",
    "ignore_downstream_trigger_rules",
    "pool",
    "pool_slots",
} | KEPT_AS_IS  # params (the task's own, over the DAG's) and documentation, as for an operator


def _kind(expr: cst.BaseExpression, names: dict[str, str]) -> str | None:
    full = qualified(expr, names) or ""
    for base in TASK_DECORATORS:
        if full == base or full.startswith(base + "."):
            return full[len(base) + 1 :]
    return None


def is_taskflow(fn: cst.FunctionDef, names: dict[str, str]) -> bool:
    for dec in fn.decorators:
        target = dec.decorator.func if isinstance(dec.decorator, cst.Call) else dec.decorator
        if _kind(target, names) is not None:
            return True
    return False


def _decorator(dec: cst.Decorator, file: Any) -> cst.Decorator:
    names, airflow3 = file.names, file.airflow3
    call = dec.decorator if isinstance(dec.decorator, cst.Call) else None
    kind = _kind(call.func if call else dec.decorator, names)
    if kind not in _KINDS:
        raise Unsupported(dec, "DS080", f"@task.{kind} is not converted")
    target = cst.parse_expression(_KINDS[kind])
    args: list[cst.Arg] = []
    if kind in ("branch", "short_circuit") and not airflow3:
        # Airflow 2 keeps the return value of a task that skipped others; 3 does not
        args.append(kwarg("drop_result_on_skip", cst.Name("False")))
    if call is None and not args:
        return dec.with_changes(decorator=target)
    call = call or cst.Call(target)
    for arg in call.args:
        name = arg.keyword.value if arg.keyword else None
        if name == "multiple_outputs":
            continue
        if name == "execution_timeout":
            args.append(kwarg("timeout", arg.value))
        elif name in CALLBACKS:
            args.append(callback_arg(arg, file))
        elif name in _OPTIONS:
            check_task_argument(name, arg.value, dec)
            args.append(arg)
        elif name is not None and ignorable(name, arg.value):
            continue  # as for an operator: no effect on a run (owner, pool ...)
        else:
            raise Unsupported(dec, "DS081", f"@task argument {name or 'positional'} not converted")
    if not args:
        return dec.with_changes(decorator=target)
    last = args[-1].with_changes(comma=cst.MaybeSentinel.DEFAULT)
    return dec.with_changes(decorator=call.with_changes(func=target, args=[*args[:-1], last]))


def kept_taskflow(fn: cst.FunctionDef, names: dict[str, str]) -> tuple[Any, str, str] | None:
    """A TaskFlow function whose kind no rule converts (``@task.bash``, ``@task.sensor``,
    ``@task.virtualenv`` ...) stays as written, run by the compat shim like a kept operator: its
    decorator names Airflow's ``task`` through its module (``@airflow.decorators.task.bash``),
    since ``task`` is dagshift's in the converted file. Returns (function, module to import,
    kind), or None when the function is not such a task."""
    decorators, found = [], None
    for dec in fn.decorators:
        call = dec.decorator if isinstance(dec.decorator, cst.Call) else None
        target = call.func if call else dec.decorator
        kind = _kind(target, names)
        full = qualified(target, names) or ""
        if kind is None or kind in _KINDS:
            decorators.append(dec)
            continue
        module = next(base for base in TASK_DECORATORS if full.startswith(base + "."))
        found = (module.rpartition(".")[0], kind)
        new_target = cst.parse_expression(full)
        decorators.append(
            dec.with_changes(decorator=call.with_changes(func=new_target) if call else new_target)
        )
    if found is None:
        return None
    return fn.with_changes(decorators=decorators), found[0], found[1]


def rewrite_taskflow(
    fn: cst.FunctionDef, file: Any, rendered: tuple[str, ...] = ()
) -> tuple[cst.FunctionDef, set[str]]:
    """The function with dagshift's decorator, and the dagshift names it now needs
    (``rendered``: parameters rendered first thing, ``_dagshift_render``)."""
    names = file.names
    decorators = []
    for dec in fn.decorators:
        target = dec.decorator.func if isinstance(dec.decorator, cst.Call) else dec.decorator
        is_task = _kind(target, names) is not None
        decorators.append(_decorator(dec, file) if is_task else dec)
    done = rewrite_callable(fn, file.module, airflow3=file.airflow3, rendered=rendered)
    if done.pulls:
        raise Unsupported(fn, "DS082", "a TaskFlow function that pulls XCom through ti")
    needs = {"task"} | ({"get_run_context"} if done.uses_context else set())
    needs |= {"render"} if rendered else set()
    needs |= {push_import(done.push_name)} if done.pushes else set()
    return done.function.with_changes(decorators=decorators), needs


def _taskflow_names(file: Any) -> set[str]:
    found = getattr(file, "_dagshift_taskflow_names", None)
    if found is None:
        found = {
            fn.name.value
            for fn in m.findall(file.module, m.FunctionDef())
            if isinstance(fn, cst.FunctionDef)
            and is_taskflow(fn, file.names)
            and kept_taskflow(fn, file.names) is None  # a kept one renders as Airflow does
        }
        file._dagshift_taskflow_names = found
    return found


def _called(call: cst.Call) -> str | None:
    func = call.func
    while isinstance(func, cst.Call) or (
        isinstance(func, cst.Attribute) and func.attr.value == "override"
    ):  # `step.override(task_id="x")(...)`
        func = func.func if isinstance(func, cst.Call) else func.value
    return func.value if isinstance(func, cst.Name) else None


def _literal(node: cst.BaseExpression) -> bool:
    try:
        ast.literal_eval(cst.Module([]).code_for_node(node))
    except (ValueError, SyntaxError, TypeError):
        return False
    return True


def rendered_params(fn: cst.FunctionDef, file: Any) -> tuple[str, ...]:
    """Parameters of a @task function (defined in a DAG's body) that a call gives a Jinja
    template: Airflow renders its call arguments. Exact when every call gives that parameter
    a literal (an XCom result is not rendered): else Unsupported, DS084."""
    from dagshift.converter.rules.python_operator import templated

    name = fn.name.value
    if fn.params.star_arg != cst.MaybeSentinel.DEFAULT or fn.params.star_kwarg:
        return ()  # any template reaching it: check_taskflow_call
    params = [p.name.value for p in fn.params.params]
    fed: dict[str, list[cst.BaseExpression]] = {}
    for call in m.findall(file.module, m.Call()):
        if not isinstance(call, cst.Call) or _called(call) != name:
            continue
        for i, arg in enumerate(call.args):
            key = arg.keyword.value if arg.keyword else (params[i] if i < len(params) else None)
            if arg.star or key is None:
                return ()
            fed.setdefault(key, []).append(arg.value)
    out = []
    for key, values in fed.items():
        if any(templated(v, file.constants) for v in values):
            if not all(_literal(v) for v in values):
                raise Unsupported(fn, "DS084", "a Jinja template given to a @task call")
            out.append(key)
    return tuple(sorted(out))


def check_taskflow_call(call: cst.Call, file: Any, inside: set[str] = frozenset()) -> None:
    """A Jinja template given to a @task call: Airflow renders it before the call; the
    functions of ``inside`` render theirs (rendered_params), any other keeps the TODO."""
    name = _called(call)
    if name is None or name not in _taskflow_names(file):
        return
    from dagshift.converter.rules.python_operator import templated

    for arg in call.args:
        if templated(arg.value, file.constants) and (
            name not in inside or arg.star or _count(file, name) != 1
        ):
            raise Unsupported(call, "DS084", "a Jinja template given to a @task call")


def _count(file: Any, name: str) -> int:
    return sum(
        1
        for fn in m.findall(file.module, m.FunctionDef())
        if isinstance(fn, cst.FunctionDef) and fn.name.value == name
    )
