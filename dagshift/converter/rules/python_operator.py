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

import ast
from dataclasses import dataclass, field
from typing import Any

import libcst as cst
import libcst.matchers as m

from dagshift.converter.model import Unsupported, evaluated, kwarg, string_value
from dagshift.converter.names import OPERATORS
from dagshift.converter.rules import Rule
from dagshift.converter.rules.callables import push_import, rewrite_callable
from dagshift.converter.rules.context import check_template
from dagshift.converter.rules.operators import OperatorArgs, operator_args, task_call
from dagshift.converter.rules.xcom import Pull
from dagshift.converter.walk import nodes

__all__ = [
    "DECORATORS",
    "NATIVE_RENDER_HELPER",
    "NO_RESULT_HELPER",
    "PYTHON_ARGS",
    "RULE",
    "PythonPlan",
    "call_arguments",
    "python_plan",
    "native_dag",
    "templated",
]

DESCRIPTION = "Python/Branch/ShortCircuit operators -> @task / @task.branch / @task.short_circuit"

DECORATORS = {"python": "task", "branch": "task.branch", "short_circuit": "task.short_circuit"}
PYTHON_ARGS = {
    "python_callable",
    "do_xcom_push",
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

NO_RESULT_HELPER = """

def _dagshift_no_result(fn):
    # do_xcom_push=False: Airflow stores no result, a pull of it gets None
    import functools

    @functools.wraps(fn)
    def run(*args, **kwargs):
        fn(*args, **kwargs)

    return run
"""

NATIVE_RENDER_HELPER = """

def _dagshift_render_native(value):
    # render_template_as_native_obj=True: Airflow renders with Jinja's NativeEnvironment
    if isinstance(value, str):
        return render(value, native=True)
    if isinstance(value, list | tuple | set):
        return type(value)(_dagshift_render_native(v) for v in value)
    if isinstance(value, dict):
        return {k: _dagshift_render_native(v) for k, v in value.items()}
    return value
"""


def native_dag(job: Any) -> bool:
    """Whether the job's DAG has ``render_template_as_native_obj=True``."""
    return any(
        a.keyword is not None
        and a.keyword.value == "render_template_as_native_obj"
        and m.matches(a.value, m.Name("True"))
        for a in job.site.call_args
    )


def _native_arguments(call: cst.Call, rest: dict[str, cst.Arg]) -> set[int | str]:
    """In a native DAG Airflow renders every string of op_args / op_kwargs (``"3"`` becomes
    3): all their values are rendered; each must be a literal (Unsupported otherwise)."""
    out: set[int | str] = set()
    for name in ("op_args", "op_kwargs"):
        value = rest[name].value if name in rest else None
        if value is None:
            continue
        items = (
            [(k, el.value) for k, el in enumerate(value.elements)]
            if isinstance(value, cst.List | cst.Tuple)
            else [(string_value(el.key), el.value) for el in value.elements]
        )
        for key, node in items:
            try:
                ast.literal_eval(cst.Module([]).code_for_node(node))
            except (ValueError, SyntaxError, TypeError):
                raise Unsupported(
                    call, "DS021", "a native-rendering DAG's op_args / op_kwargs not literal"
                ) from None
            out.add(key)
    return out


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
    returns: bool = True  # the callable may return a value (a return value XCom)


def templated(node: cst.CSTNode, constants: Any = None) -> bool:
    """Whether a value holds a string Airflow would render as a template (Unsupported when
    the template reads a name dagshift's run context does not have, ``ti.xcom_pull`` too).
    ``constants``: the file's names bound once to a string, whose text is checked as well."""
    found = False
    for n in nodes(node):
        text = None
        if type(n) is cst.SimpleString:
            text = evaluated(n)
        elif type(n) is cst.Name and constants is not None:
            text = constants.text(n)
        elif type(n) is cst.FormattedStringText:
            found = found or "{{" in n.value or "{%" in n.value
        if isinstance(text, str) and ("{{" in text or "{%" in text):
            found = True
            check_template(node, text)
    return found


def call_arguments(
    call: cst.Call, rest: dict[str, cst.Arg], constants: Any = None
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
            if templated(el.value, constants):
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
            if templated(el.value, constants):
                rendered.add(key)
    if "templates_dict" in rest:
        templated(rest["templates_dict"].value, constants)  # its templates must convert too
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


def python_plan(job: Any, call: cst.Call, kind: str, args: Any, expand: Any) -> PythonPlan:
    """The plan of a Python/Branch/ShortCircuit operator call in ``job``'s DAG."""
    call_args, keys, rendered = call_arguments(call, args.rest, job.file.constants)
    if native_dag(job):
        rendered |= _native_arguments(call, args.rest)
    if expand is not None:
        if call_args:
            raise Unsupported(call, "DS091", "partial() with op_args/op_kwargs, then expand")
        keys = expand_kwargs_keys(call, expand.value)
    extra = []
    if kind != "python" and not job.file.airflow3:
        # Airflow 2 keeps the return value of a task that skipped others; 3 does not
        extra.append(kwarg("drop_result_on_skip", cst.Name("False")))
    if "ignore_downstream_trigger_rules" in args.rest:
        extra.append(
            kwarg(
                "ignore_downstream_trigger_rules",
                args.rest["ignore_downstream_trigger_rules"].value,
            )
        )
    fn_arg = args.rest.get("python_callable")
    value = fn_arg.value if fn_arg else None
    job.needs.add("task")
    if isinstance(value, cst.Lambda):
        if (
            value.params.params
            or value.params.star_arg != cst.MaybeSentinel.DEFAULT
            or (value.params.star_kwarg or value.params.kwonly_params)
        ):
            raise Unsupported(call, "DS032", "a python_callable lambda with parameters")
        target = cst.Call(cst.parse_expression(DECORATORS[kind]), [cst.Arg(value)])
        plan = PythonPlan(kind, args, target, None, call_args, extra_options=extra)
    else:
        plan = _function_plan(job, call, kind, args, value, call_args, keys, extra, rendered)
    if expand is not None:
        if plan.pulls:
            raise Unsupported(call, "DS091", "a mapped callable that pulls XCom")
        plan.expand_kwargs = expand.value
    _no_result(job, call, kind, args, expand, plan)
    return plan


def _no_result(job: Any, call: cst.Call, kind: str, args: Any, expand: Any, plan: Any) -> None:
    """``do_xcom_push=False`` of a PythonOperator: the task's result is None (its callable
    still runs; its own pushes stay). A branch or a mapped one keeps the TODO."""
    push = args.rest.get("do_xcom_push")
    if push is None or m.matches(push.value, m.Name("True")):
        return
    target = plan.target
    if (
        not m.matches(push.value, m.Name("False"))
        or kind != "python"
        or expand is not None
        or not isinstance(target, cst.Call)
        or len(target.args) != 1
    ):
        raise Unsupported(call, "DS011", "argument do_xcom_push= of the operator is not converted")
    job.helpers.add("_dagshift_no_result")
    wrapped = cst.Call(cst.Name("_dagshift_no_result"), [cst.Arg(target.args[0].value)])
    plan.target = target.with_changes(args=[cst.Arg(wrapped)])


def _function_plan(job, call, kind, args, value, call_args, keys, extra, rendered) -> PythonPlan:
    name = value.value if isinstance(value, cst.Name) else None
    fn = job.file.functions.get(name or "")
    if fn is None or fn.decorators:
        raise Unsupported(
            call,
            "DS032",
            "python_callable is not a function defined once in this file without decorators",
        )
    positional = len([a for a in call_args if a.keyword is None])
    to_render = _rendered_params(call, fn, rendered)
    helper = "_dagshift_render_native" if native_dag(job) else "_dagshift_render"
    if to_render:
        job.helpers.add(helper)
        job.needs.add("render")
    done = rewrite_callable(
        fn,
        job.file.module,
        fed_positional=positional,
        fed_keywords=frozenset(keys),
        reserved=frozenset(n for n in job.file.functions if n),
        airflow3=job.file.airflow3,
        rendered=to_render,
        render_helper=helper,
        constants=job.file.constants,
    )
    if done.pushes:
        job.needs.add(push_import(done.push_name))
    job.needs |= done.context_needs()
    changed = not done.function.deep_equals(fn)
    elsewhere = job.file.references.get(name, 0) - 1 > job.file.callable_uses.get(name, 0)
    others = job.file.references.get(name, 0) - 1 - job.file.callable_uses.get(name, 0)
    wrapped_only = others == job.file.task_wraps.get(name, 0)  # task(fn) calls: tasks too
    if elsewhere and changed and not wrapped_only:
        raise Unsupported(
            call, "DS037", f"{name} is rewritten for its context but is also used elsewhere"
        )
    if elsewhere:
        target = cst.Call(cst.parse_expression(DECORATORS[kind]), [cst.Arg(value)])
        if changed:
            job.register(fn, done.function, kind)
        return PythonPlan(kind, args, target, name, call_args, extra_options=extra)
    new = done.function.with_changes(
        decorators=[cst.Decorator(cst.parse_expression(DECORATORS[kind]))]
    )
    job.register(fn, new, kind)
    plan = PythonPlan(kind, args, cst.Name(name), name, call_args, done.pulls, done.pushes, extra)
    plan.returns = _may_return(fn)
    return plan


def _may_return(fn: cst.FunctionDef) -> bool:
    """Whether the function (a nested one's code counted too) has a ``return <value>``."""
    return any(
        isinstance(n, cst.Return) and n.value is not None and not m.matches(n.value, m.Name("None"))
        for n in nodes(fn.body)
    ) or any(isinstance(n, cst.Yield) for n in nodes(fn.body))


def _rendered_params(call: cst.Call, fn: cst.FunctionDef, rendered: set) -> tuple[str, ...]:
    """Names of the callable's parameters fed a template (Unsupported if **kwargs gets one)."""
    params = fn.params.params
    names = {p.name.value for p in [*params, *fn.params.kwonly_params]}
    out = []
    for item in sorted(rendered, key=str):
        if isinstance(item, int):
            if item >= len(params):
                raise Unsupported(call, "DS033", "a template in op_args beyond named parameters")
            out.append(params[item].name.value)
        elif item in names:
            out.append(item)
        else:
            raise Unsupported(call, "DS034", f"a template for {item}= reaches **kwargs")
    return tuple(out)


def _calls(full: str | None, call: cst.Call, file: Any) -> str | None:
    kind = OPERATORS.get(full or "")
    return kind if kind in DECORATORS and _converts(call, file) else None


def _converts(call: cst.Call, file: Any) -> bool:
    """Whether the callable is one this rule makes a task body: a function defined once in
    the file without decorators, or a lambda without parameters. Any other (a lambda with
    parameters, ``functools.partial(...)``, an imported function, a method, a name bound to
    one of those) the operator keeps, as written: the ``bridged`` rule takes it, and the shim
    calls it as Airflow does (the context by its signature, ``op_args``/``op_kwargs``)."""
    found = next(
        (a.value for a in call.args if a.keyword and a.keyword.value == "python_callable"), None
    )
    if found is None:
        return True  # the plan says what is missing
    if isinstance(found, cst.Lambda):
        params = found.params
        return not (
            params.params
            or params.star_arg != cst.MaybeSentinel.DEFAULT
            or params.star_kwarg
            or params.kwonly_params
        )
    if not isinstance(found, cst.Name):
        return False
    fn = file.functions.get(found.value)
    return fn is not None and not fn.decorators


def _plan(job: Any, call: cst.Call, kind: str, expand: cst.Arg | None) -> PythonPlan:
    args = operator_args(call, PYTHON_ARGS, job.site.dag_var, "the operator", job.file)
    return python_plan(job, call, kind, args, expand)


def _build(job: Any, plan: PythonPlan, index: int, node: cst.Call) -> cst.BaseExpression:
    extra = [kwarg(p, job.pulled(pull, index, node)) for p, pull in plan.pulls.items()]
    if plan.expand_kwargs is not None:
        func = task_call(plan.target, plan.target_name, plan.args, [], plan.extra_options)
        mapped = cst.Attribute(func.func, cst.Name("expand_kwargs"))
        return cst.Call(mapped, [cst.Arg(plan.expand_kwargs)])
    args = plan.call_args + extra
    return task_call(plan.target, plan.target_name, plan.args, args, plan.extra_options)


RULE = Rule(
    "python_operator",
    DESCRIPTION,
    calls=_calls,
    plan=_plan,
    build=_build,
    mapped={kind: "op_kwargs" for kind in DECORATORS},
)
