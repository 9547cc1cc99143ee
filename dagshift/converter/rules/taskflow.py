"""TaskFlow: ``@task`` / ``@task.branch`` / ``@task.short_circuit`` from ``airflow.decorators``
or ``airflow.sdk`` become dagshift's decorators of the same names (the data flow is already
functional). ``multiple_outputs`` is dropped (``ref["key"]`` works on any mapping result);
``execution_timeout`` becomes ``timeout``; the function body gets the context rewrite of
``callables.py`` (no XCom pulls: a TaskFlow task passes data by arguments; a push becomes
``push(key, value)``).

``result.map(fn)``, ``result.zip(other, ..., fillvalue=...)`` and ``result.concat(other, ...)``
(Airflow's ``XComArg`` methods) stay as written: dagshift's task results have the same methods,
evaluated as Airflow's lazy sequences (``dagshift.runtime.derived``). Only when every source is
the plain result of a TaskFlow task (see :func:`derived_value`); otherwise DS092.

Setup and teardown (Airflow's ``@setup`` / ``@teardown`` from ``airflow.decorators`` or
``airflow.sdk``, alone or over a plain ``@task``): ``@setup`` becomes ``@task(setup=True)``,
``@teardown`` ``@task(teardown=True, trigger_rule="all_done_setup_success")`` (the rule Airflow
forces on a teardown) and ``on_failure_fail_dagrun=True`` adds ``fails_run=True``; the edges are
the data flow's, as in Airflow. A teardown given a trigger rule (Airflow refuses it) or a
non-literal ``on_failure_fail_dagrun`` stays a TODO (DS093).
"""

from __future__ import annotations

import ast
from collections.abc import Collection
from typing import Any

import libcst as cst
import libcst.matchers as m

from dagshift.converter.model import Unsupported, kwarg
from dagshift.converter.names import TASK_DECORATORS, qualified
from dagshift.converter.rules.callables import push_import, rewrite_callable
from dagshift.converter.rules.callbacks import CALLBACKS, callback_arg
from dagshift.converter.rules.context import OBJECTS, OTHER_CONTEXT, context_values
from dagshift.converter.rules.operators import KEPT_AS_IS, ignorable
from dagshift.converter.rules.scheduling import check_task_argument
from dagshift.converter.walk import nodes

__all__ = [
    "DERIVED_METHODS",
    "check_taskflow_call",
    "derived_value",
    "rendered_params",
    "is_taskflow",
    "kept_taskflow",
    "output_value",
    "plain_result",
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
    "depends_on_past",
    "wait_for_downstream",
    "ignore_first_depends_on_past",
    "executor_config",  # inert, as for an operator
    "retry_policy",
} | KEPT_AS_IS  # params (the task's own, over the DAG's) and documentation, as for an operator


_ROLES = {
    f"{base}.{role}": role
    for base in ("airflow.decorators", "airflow.sdk")
    for role in ("setup", "teardown")
}


def _role(dec: cst.Decorator, names: dict[str, str]) -> str | None:
    """ "setup" / "teardown" for Airflow's ``@setup`` / ``@teardown`` (``@teardown(...)``)."""
    target = dec.decorator.func if isinstance(dec.decorator, cst.Call) else dec.decorator
    return _ROLES.get(qualified(target, names) or "")


def _role_args(dec: cst.Decorator, role: str) -> list[cst.Arg]:
    if role == "setup":
        if isinstance(dec.decorator, cst.Call):
            raise Unsupported(dec, "DS093", "@setup(...) with arguments")
        return [kwarg("setup", cst.Name("True"))]
    args = [
        kwarg("teardown", cst.Name("True")),
        kwarg("trigger_rule", cst.SimpleString('"all_done_setup_success"')),
    ]
    for arg in dec.decorator.args if isinstance(dec.decorator, cst.Call) else ():
        name = arg.keyword.value if arg.keyword else None
        value = arg.value
        if name != "on_failure_fail_dagrun" or not m.matches(
            value, m.Name("True") | m.Name("False")
        ):
            raise Unsupported(dec, "DS093", f"@teardown argument {name or 'positional'}")
        if value.value == "True":
            args.append(kwarg("fails_run", cst.Name("True")))
    return args


def _role_of(fn: cst.FunctionDef, names: dict[str, str]) -> list[cst.Arg] | None:
    """The runtime options of a ``@setup`` / ``@teardown`` function (its first decorator, alone
    or over a plain ``@task``), or None when it has neither."""
    roles = [(d, r) for d in fn.decorators if (r := _role(d, names)) is not None]
    if not roles:
        return None
    if len(roles) > 1 or fn.decorators[0] is not roles[0][0]:
        raise Unsupported(fn, "DS093", "@setup/@teardown stacked this way is not converted")
    role_dec, role = roles[0]
    rest = fn.decorators[1:]
    if rest:
        dec = rest[0].decorator
        if len(rest) > 1 or _kind(dec.func if isinstance(dec, cst.Call) else dec, names) not in (
            "",
            "python",
        ):
            raise Unsupported(fn, "DS093", "@setup/@teardown over this decorator is not converted")
        given = dec.args if isinstance(dec, cst.Call) else ()
        if role == "teardown" and any(
            a.keyword and a.keyword.value == "trigger_rule" for a in given
        ):
            raise Unsupported(fn, "DS093", "a teardown's trigger rule (Airflow refuses it)")
    return _role_args(role_dec, role)


def _check_teardown_calls(fn: cst.FunctionDef, module: cst.Module) -> None:
    """Airflow fixes a ``@teardown`` function's trigger rule on its first call and refuses a
    second call (or an ``.override``) that meets it, and a trigger rule given by ``.override``:
    such a file stays a TODO rather than converting into a flow Airflow would not load."""
    name = fn.name.value
    direct = m.Call(func=m.Name(name))
    over = m.Call(func=m.Attribute(value=m.Name(name), attr=m.Name("override")))
    calls = m.findall(module, direct | m.Call(func=over))
    if len(calls) > 1:
        raise Unsupported(fn, "DS093", "a @teardown function called more than once")
    for call in m.findall(module, over):
        for arg in call.args:
            if arg.keyword and arg.keyword.value in ("trigger_rule", "on_failure_fail_dagrun"):
                raise Unsupported(fn, "DS093", f"a teardown's .override({arg.keyword.value}=)")


def _with_role(fn: cst.FunctionDef, role_args: list[cst.Arg]) -> cst.FunctionDef:
    """The converted ``@task`` (made when the function had only the role decorator) with the
    role's options added."""
    task_dec = fn.decorators[0] if fn.decorators else cst.Decorator(cst.Name("task"))
    call = task_dec.decorator if isinstance(task_dec.decorator, cst.Call) else None
    args = [*(call.args if call else ()), *role_args]
    args = [a.with_changes(comma=cst.MaybeSentinel.DEFAULT) for a in args]
    args = [
        a.with_changes(comma=cst.Comma(whitespace_after=cst.SimpleWhitespace(" ")))
        for a in args[:-1]
    ] + args[-1:]
    func = call.func if call else task_dec.decorator
    return fn.with_changes(decorators=[task_dec.with_changes(decorator=cst.Call(func, args=args))])


def _kind(expr: cst.BaseExpression, names: dict[str, str]) -> str | None:
    full = qualified(expr, names) or ""
    for base in TASK_DECORATORS:
        if full == base or full.startswith(base + "."):
            return full[len(base) + 1 :]
    return None


def is_taskflow(fn: cst.FunctionDef, names: dict[str, str]) -> bool:
    for dec in fn.decorators:
        if _role(dec, names) is not None:
            return True
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
    role_args = _role_of(fn, names)
    if role_args is not None and any(a.keyword.value == "teardown" for a in role_args):
        _check_teardown_calls(fn, file.module)
    decorators = []
    for dec in fn.decorators:
        target = dec.decorator.func if isinstance(dec.decorator, cst.Call) else dec.decorator
        is_task = _kind(target, names) is not None
        if role_args is None or is_task:
            decorators.append(_decorator(dec, file) if is_task else dec)
    positional, keywords = _fed_by_calls(fn, file.module, file.airflow3)
    done = rewrite_callable(
        fn,
        file.module,
        fed_positional=positional,
        fed_keywords=frozenset(keywords),
        airflow3=file.airflow3,
        rendered=rendered,
        constants=file.constants,
        test_mode_unpassed=not _may_pass_test_mode(fn, file.module),
    )
    if done.pulls:
        raise Unsupported(fn, "DS082", "a TaskFlow function that pulls XCom through ti")
    needs = {"task"} | done.context_needs()
    needs |= {"render"} if rendered else set()
    needs |= {push_import(done.push_name)} if done.pushes else set()
    new = done.function.with_changes(decorators=decorators)
    return (new if role_args is None else _with_role(new, role_args)), needs


def _fed_by_calls(fn: cst.FunctionDef, module: cst.Module, airflow3: bool) -> tuple[int, set[str]]:
    """What every call of the TaskFlow function (``fn(...)``, ``fn.override(...)(...)``) gives
    it: the positional count and the parameters given by keyword. A parameter named after a
    context value that some calls give and others do not keeps the DAG: Airflow hands the
    others the context's value."""
    name = fn.name.value
    direct = m.Call(func=m.Name(name))
    overridden = m.Call(func=m.Call(func=m.Attribute(value=m.Name(name), attr=m.Name("override"))))
    calls = [n for n in nodes(module) if m.matches(n, direct | overridden)]
    if not calls or any(a.star for c in calls for a in c.args):
        return 0, set()
    params = {p.name.value for p in [*fn.params.params, *fn.params.kwonly_params]}
    given = [{a.keyword.value for a in c.args if a.keyword is not None} & params for c in calls]
    always = set.intersection(*given)
    context = set(context_values(legacy=not airflow3)) | set(OBJECTS) | OTHER_CONTEXT
    counts = [len([a for a in c.args if a.keyword is None]) for c in calls]
    varying = {p.name.value for p in fn.params.params[min(counts) : max(counts)]}
    sometimes = (set.union(*given) - always | varying) & (context | {"test_mode"})
    if sometimes:
        raise Unsupported(
            fn,
            "DS060",
            f"{name} is given {', '.join(sorted(sometimes))} by some calls only (the others get "
            "the context's value in Airflow)",
        )
    return min(counts), always


def _may_pass_test_mode(fn: cst.FunctionDef, module: cst.Module) -> bool:
    """Whether a call may give the TaskFlow function ``test_mode``: a ``test_mode=`` anywhere
    in the file, or a positional argument reaching it."""
    names = [p.name.value for p in fn.params.params]
    position = names.index("test_mode") if "test_mode" in names else None
    for node in nodes(module):
        if isinstance(node, cst.Arg) and node.keyword is not None:
            if node.keyword.value == "test_mode":
                return True
        elif isinstance(node, cst.Arg) and node.star:
            return True
    if position is None:
        return False
    return any(
        isinstance(node, cst.Call)
        and len([a for a in node.args if a.keyword is None]) > position
        and fn.name.value in {n.value for n in nodes(node.func) if type(n) is cst.Name}
        for node in nodes(module)
    )


DERIVED_METHODS = ("map", "zip", "concat")
_BUILTINS = frozenset({"str", "int", "float", "bool", "len", "abs", "repr", "tuple", "list"})


class _Results:
    """What is a TaskFlow task's plain result in a DAG's body: a call of a TaskFlow function
    defined there (or ``fn.override(...)(...)``), a name bound once to one, and ``.map`` /
    ``.zip`` / ``.concat`` of them (not a key of one: Airflow's ``xcom_arg["k"]`` pulls the XCom
    key ``k``, not the result's)."""

    def __init__(
        self, region: list[cst.BaseStatement], file: Any, operators: Collection[str] = ()
    ) -> None:
        self.names = file.names
        every = [n for root in region for n in nodes(root)]
        defined = [n for n in every if isinstance(n, cst.FunctionDef)]
        counts: dict[str, int] = {}
        for fn in defined:
            counts[fn.name.value] = counts.get(fn.name.value, 0) + 1
        self.functions = {
            fn.name.value
            for fn in defined
            if counts[fn.name.value] == 1 and _converted_taskflow(fn, self.names)
        }
        self.functions |= {  # TaskFlow functions of the module, defined once in the file
            name
            for name, fn in file.functions.items()
            if fn is not None and name not in counts and _converted_taskflow(fn, self.names)
        }
        self.plain = {  # functions a .map() may apply: defined once, undecorated
            fn.name.value for fn in defined if counts[fn.name.value] == 1 and not fn.decorators
        }
        self.plain |= {
            name
            for name, fn in file.functions.items()
            if fn is not None and not fn.decorators and name not in counts
        }
        self.module_names = set(file.functions) | set(file.names)
        bound: dict[str, int] = {}
        for n in every:
            for target in _bound_names(n):
                bound[target] = bound.get(target, 0) + 1
        self.functions -= set(bound)
        self.bound = set(bound)
        self.operators = {name for name in operators if bound.get(name) == 1}
        self.vars: set[str] = set()
        self.calls: set[str] = set()  # bound to a plain call (not mapped, not derived)
        for stmt in region:
            if not (isinstance(stmt, cst.SimpleStatementLine) and len(stmt.body) == 1):
                continue
            assign = stmt.body[0]
            if isinstance(assign, cst.Assign) and len(assign.targets) == 1:
                for target, value in _pairs(assign.targets[0].target, assign.value):
                    if bound.get(target.value) == 1 and self.result(value):
                        self.vars.add(target.value)
                        if self.call(value):
                            self.calls.add(target.value)

    def call(self, expr: cst.BaseExpression) -> bool:
        """A call of a TaskFlow function (``f(...)``, ``f.override(...)(...)``), or a name bound
        once to one: one task, not mapped."""
        if isinstance(expr, cst.Name):
            return expr.value in self.calls
        return (
            isinstance(expr, cst.Call)
            and self._task(expr.func)
            and not m.matches(expr.func, m.Call(func=m.Attribute(attr=m.Name("partial"))))
        )

    def result(self, expr: cst.BaseExpression) -> bool:
        if isinstance(expr, cst.Name):
            return expr.value in self.vars
        if m.matches(expr, m.Attribute(value=m.Name(), attr=m.Name("output"))):
            return expr.value.value in self.operators  # an operator's result
        if not isinstance(expr, cst.Call):
            return False
        func = expr.func
        if isinstance(func, cst.Name):
            return func.value in self.functions
        if m.matches(func, m.Call(func=m.Attribute(value=m.Name(), attr=m.Name("override")))):
            return func.func.value.value in self.functions
        if isinstance(func, cst.Attribute) and func.attr.value in ("expand", "expand_kwargs"):
            return self._task(func.value)  # a mapped task: the list of its results
        return self.derived(expr)

    def _task(self, expr: cst.BaseExpression) -> bool:
        """``fn``, ``fn.override(...)``, ``fn.partial(...)`` (and both) of a TaskFlow function
        of the body: what ``.expand`` maps."""
        while m.matches(
            expr, m.Call(func=m.Attribute(attr=m.Name("partial") | m.Name("override")))
        ):
            expr = expr.func.value
        return isinstance(expr, cst.Name) and expr.value in self.functions

    def _plain_function(self, name: str) -> bool:
        if name in self.functions or name in self.bound:
            return False
        if name in self.plain:
            return True
        return name in _BUILTINS and name not in self.module_names

    def derived(self, call: cst.Call) -> bool:
        func = call.func
        if not (
            isinstance(func, cst.Attribute)
            and func.attr.value in DERIVED_METHODS
            and self.result(func.value)
        ):
            return False
        positional = [a for a in call.args if a.keyword is None and not a.star]
        keywords = [a.keyword.value for a in call.args if a.keyword is not None]
        if len(positional) + len(keywords) != len(call.args):
            return False  # *args / **kwargs
        if func.attr.value == "map":
            fn = positional[0].value if len(positional) == 1 and not keywords else None
            return isinstance(fn, cst.Lambda) or (
                isinstance(fn, cst.Name) and self._plain_function(fn.value)
            )
        allowed = ["fillvalue"] if func.attr.value == "zip" else []
        return all(k in allowed for k in keywords) and all(self.result(a.value) for a in positional)


def _pairs(
    target: cst.BaseExpression, value: cst.BaseExpression
) -> list[tuple[cst.Name, cst.BaseExpression]]:
    """The names an assignment binds with the value each gets: ``a = x``, and ``a, b = x, y``
    element by element (no starred element)."""
    if isinstance(target, cst.Name):
        return [(target, value)]
    if (
        isinstance(target, cst.Tuple | cst.List)
        and isinstance(value, cst.Tuple | cst.List)
        and len(target.elements) == len(value.elements)
        and all(type(e) is cst.Element for e in (*target.elements, *value.elements))
    ):
        pairs = zip(target.elements, value.elements, strict=True)
        return [(t.value, v.value) for t, v in pairs if isinstance(t.value, cst.Name)]
    return []


def _converted_taskflow(fn: cst.FunctionDef, names: dict[str, str]) -> bool:
    """A TaskFlow function that becomes one of dagshift's (not one kept as written)."""
    kinds = []
    for dec in fn.decorators:
        target = dec.decorator.func if isinstance(dec.decorator, cst.Call) else dec.decorator
        kinds.append(_kind(target, names))
    found = [k for k in kinds if k is not None]
    return len(found) == 1 and found[0] in _KINDS


def _bound_names(node: cst.CSTNode) -> list[str]:
    """The names ``node`` binds, other than by ``def``."""
    targets: list[cst.CSTNode] = []
    if isinstance(node, cst.Assign):
        targets = [t.target for t in node.targets]
    elif isinstance(node, cst.AnnAssign | cst.AugAssign | cst.NamedExpr):
        targets = [node.target]
    elif isinstance(node, cst.For | cst.CompFor):
        targets = [node.target]
    elif isinstance(node, cst.WithItem) and node.asname is not None:
        targets = [node.asname.name]
    elif isinstance(node, cst.ExceptHandler) and node.name is not None:  # except E as name
        targets = [node.name.name]
    elif isinstance(node, cst.Param):
        targets = [node.name]
    elif isinstance(node, cst.ImportAlias):
        targets = [node.asname.name if node.asname else node.name]
    return [n.value for t in targets for n in nodes(t) if isinstance(n, cst.Name)]


def plain_result(expr: cst.BaseExpression, region: list[cst.BaseStatement], file: Any) -> bool:
    """Whether ``expr`` is one TaskFlow task's result in a DAG's body (a call of a TaskFlow
    function of the body, or a name bound once to one), neither mapped nor derived."""
    return _Results(region, file).call(expr)


def output_value(expr: cst.BaseExpression, region: list[cst.BaseStatement], file: Any) -> bool:
    """Whether ``expr`` is a value one task of a DAG's body gives through XCom, whole: a
    TaskFlow task's plain result (``plain_result``), or a string key of one whose function says
    ``@task(multiple_outputs=True)`` (``info["command"]``: the XCom Airflow pushes by that key,
    the key of the result in the flow)."""
    if plain_result(expr, region, file):
        return True
    key = m.Subscript(value=m.Name(), slice=[m.SubscriptElement(m.Index(m.SimpleString()))])
    if not m.matches(expr, key) or not plain_result(expr.value, region, file):
        return False
    fn = _function_bound_to(expr.value.value, region, file)
    many = m.Call(
        args=[
            m.ZeroOrMore(),
            m.Arg(m.Name("True"), keyword=m.Name("multiple_outputs")),
            m.ZeroOrMore(),
        ]
    )
    return fn is not None and any(m.matches(d.decorator, many) for d in fn.decorators)


def _function_bound_to(
    var: str, region: list[cst.BaseStatement], file: Any
) -> cst.FunctionDef | None:
    """The TaskFlow function whose call the body binds ``var`` to (once: see ``_Results``)."""
    for stmt in region:
        small = stmt.body[0] if isinstance(stmt, cst.SimpleStatementLine) else None
        if isinstance(small, cst.Assign) and m.matches(small.targets[0].target, m.Name(var)):
            name = _called(small.value) if isinstance(small.value, cst.Call) else None
            defs = [
                n
                for root in region
                for n in nodes(root)
                if isinstance(n, cst.FunctionDef) and n.name.value == name
            ]
            return defs[0] if len(defs) == 1 else file.functions.get(name) if not defs else None
    return None


def derived_value(
    call: cst.Call, region: list[cst.BaseStatement], file: Any, operators: Collection[str] = ()
) -> bool:
    """Whether ``call`` (``x.map(...)``, ``x.zip(...)`` or ``x.concat(...)`` in a DAG's body)
    derives a value from TaskFlow results (a mapped task's too) and operators' ``.output``
    (``operators``: names bound once to an operator the DAG converts or keeps) only, which the
    converted flow computes as Airflow does (the methods of dagshift's task results, or of the
    shim's XComArg for a kept operator)."""
    return _Results(region, file, operators).derived(call)


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
