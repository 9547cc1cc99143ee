"""Callables: a PythonOperator's ``python_callable`` (or a TaskFlow function) made a task body.

Airflow hands a callable its context through parameters named after context values and through
``**context``; dagshift hands it only its arguments. This rule rewrites the function so that
the same values reach it: context values through ``get_run_context()`` (see ``context.py``),
XCom pulls as new parameters fed by upstream results, and pushes as ``push(key, value)``: a
named output of the task, apart from its result, which stays its return value (see
``xcom.py``); a catch-all printed, iterated or searched whole is bound to
``airflow_context()`` (``context_whole.py``). ``test_mode`` is False in a 1.10/2.x file (and a
kept ``test_mode=None`` that no call gives stays None): an ``if`` on it never runs, and is not
checked. A reference to the task instance, the context dict or ``dag_run`` that none of those
forms covers keeps the function, and its DAG, as they were (Unsupported)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import libcst as cst
import libcst.matchers as m

from dagshift.converter.model import Unsupported, string_value
from dagshift.converter.rules.context import (
    ATTRIBUTES,
    OBJECTS,
    OTHER_CONTEXT,
    context_lookup,
    context_values,
)
from dagshift.converter.rules.context_whole import binders, find_whole_uses, prologue
from dagshift.converter.rules.xcom import Pull, parse_pull, parse_push
from dagshift.converter.walk import nodes, walk

__all__ = ["PUSH_ALIAS", "CallableRewrite", "LocalAnnotations", "push_import", "rewrite_callable"]

PUSH_ALIAS = "_dagshift_push"
_FALSE = "<False>"  # a context value that is False in every run dagshift makes (test_mode)


def push_import(name: str) -> str:
    """What ``from dagshift import ...`` names for push() under ``name``."""
    return "push" if name == "push" else f"push as {name}"


DESCRIPTION = "python_callable / TaskFlow body: context and XCom through parameters and returns"


@dataclass
class CallableRewrite:
    function: cst.FunctionDef
    pulls: dict[str, Pull] = field(default_factory=dict)  # parameter name -> pull
    pushes: set[str] = field(default_factory=set)
    uses_context: bool = False
    push_name: str = "push"  # the name dagshift's push() is imported under
    whole: bool = False  # the catch-all used whole: airflow_context() (context_whole.py)

    def context_needs(self) -> set[str]:
        """The dagshift names the function now uses to reach its context."""
        return {
            name
            for name, used in (
                ("get_run_context", self.uses_context),
                ("airflow_context", self.whole),
            )
            if used
        }


class _Names:
    """The names through which the callable reaches its context."""

    def __init__(self, objects: dict[str, str], catch_all: str | None) -> None:
        self.objects, self.catch_all = objects, catch_all  # local name -> object kind

    @property
    def ti(self) -> set[str]:
        return {name for name, kind in self.objects.items() if kind == "ti"}

    def key_of(self, node: cst.CSTNode) -> str | None:
        """``context["k"]`` or ``context.get("k")`` on the catch-all: ``k``."""
        if self.catch_all is None:
            return None
        if m.matches(node, m.Subscript(value=m.Name(self.catch_all))) and len(node.slice) == 1:
            index = node.slice[0].slice
            return string_value(index.value) if isinstance(index, cst.Index) else None
        if m.matches(
            node, m.Call(func=m.Attribute(value=m.Name(self.catch_all), attr=m.Name("get")))
        ):
            return string_value(node.args[0].value) if len(node.args) == 1 else None
        return None

    def kind_of(self, node: cst.CSTNode) -> str | None:
        """Which context object ``node`` is (ti, dag_run, dag, task), if one."""
        if isinstance(node, cst.Name) and node.value in self.objects:
            return self.objects[node.value]
        return OBJECTS.get(self.key_of(node) or "")

    def is_ti(self, node: cst.CSTNode) -> bool:
        return self.kind_of(node) == "ti"

    def attribute(self, node: cst.Attribute) -> str | None:
        """The context key of ``<object>.<attribute>`` when it is one of ``ATTRIBUTES``."""
        return ATTRIBUTES.get((self.kind_of(node.value) or "", node.attr.value))


class _Check(cst.CSTVisitor):
    """Every reference to the context names must be one of the forms rewritten below."""

    def __init__(
        self, names: _Names, fed: set[str], module: cst.Module, airflow3: bool, constants=None
    ) -> None:
        self.names, self.fed, self.module = names, fed, module
        self.airflow3, self.constants = airflow3, constants
        self.values = context_values(legacy=not airflow3)
        self.allowed: set[int] = set()
        self.pulls: list[tuple[cst.Call, Pull]] = []
        self.pushes: set[str] = set()
        self.tracked = set(names.objects) | ({names.catch_all} - {None})
        self.dead: set[str] = set()  # names always False here: `if NAME:` never runs

    def visit_If(self, node: cst.If) -> bool:
        return not _dead(node, self.dead, self.names, not self.airflow3)

    def _allow(self, node: cst.CSTNode) -> None:
        for name in _names_in(node):
            self.allowed.add(id(name))

    def visit_Call(self, node: cst.Call) -> None:
        func = node.func
        if isinstance(func, cst.Attribute) and self.names.is_ti(func.value):
            if func.attr.value == "xcom_pull":
                pull = parse_pull(
                    node, self.module, legacy=not self.airflow3, constants=self.constants
                )
                self.pulls.append((node, pull))
                self._allow(func.value)
            elif func.attr.value == "xcom_push":
                self.pushes.add(parse_push(node, self.constants)[0])
                self._allow(func.value)
        key = self.names.key_of(node)
        if key in self.values or (key == "test_mode" and not self.airflow3):
            self._allow(node.func)

    def visit_Attribute(self, node: cst.Attribute) -> None:
        if self.names.attribute(node) is not None:
            self._allow(node.value)

    def visit_Subscript(self, node: cst.Subscript) -> None:
        key = self.names.key_of(node)
        if key == "test_mode" and not self.airflow3:
            self._allow(node.value)  # False but under `airflow tasks test` (see _split_params)
        elif key in self.values or (key is not None and key in self.fed):
            self._allow(node.value)
        elif key is not None and key not in OBJECTS:
            raise Unsupported(
                node, "DS061", f"the callable reads context[{key!r}], which has no equivalent"
            )

    def visit_Name(self, node: cst.Name) -> None:
        if node.value in self.tracked and id(node) not in self.allowed:
            raise Unsupported(
                node,
                "DS060",
                f"the callable uses {node.value!r} in a way the converter does not rewrite "
                "(only XCom, context values and the attributes in context.ATTRIBUTES are)",
            )


def _dead(node: cst.If, dead: set[str], names: _Names, legacy: bool) -> bool:
    """``if NAME:`` (no else) on a name always False, or ``if context["test_mode"]:`` in a
    1.10/2.x file: its body never runs, in Airflow either."""
    if node.orelse is not None:
        return False
    if m.matches(node.test, m.Name()):
        return node.test.value in dead
    return legacy and names.key_of(node.test) == "test_mode"


def _names_in(node: cst.CSTNode) -> list[cst.Name]:
    return [n for n in nodes(node) if type(n) is cst.Name]


class _Rewrite(cst.CSTTransformer):
    def __init__(
        self,
        names: _Names,
        params: dict[Pull, str],
        module: cst.Module,
        airflow3: bool,
        push_name: str = "push",
        constants=None,
    ) -> None:
        self.names, self.params, self.module = names, params, module
        self.constants = constants
        self.airflow3 = airflow3
        self.values = context_values(legacy=not airflow3)
        self.quotes: list[str] = []  # the quote of each f-string around the node
        self.uses_context = False
        self.push_name = push_name
        self.dead: set[str] = set()

    def visit_If(self, node: cst.If) -> bool:
        return not _dead(node, self.dead, self.names, not self.airflow3)

    def leave_If(self, original: cst.If, updated: cst.If) -> cst.If:
        if _dead(original, self.dead, self.names, not self.airflow3) and not isinstance(
            original.test, cst.Name
        ):
            return updated.with_changes(test=cst.Name("False"))  # context["test_mode"]
        return updated

    def visit_FormattedString(self, node: cst.FormattedString) -> None:
        self.quotes.append(node.start.lstrip("rRbBfFuU")[:1])

    def leave_FormattedString(self, original, updated):
        self.quotes.pop()
        return updated

    def _lookup(self, key: str) -> cst.BaseExpression:
        self.uses_context = True
        # inside an f-string a key needs the quote the f-string does not use (before 3.12)
        quote = "'" if self.quotes and self.quotes[-1] == '"' else '"'
        return context_lookup(key, quote)

    def leave_Call(self, original: cst.Call, updated: cst.Call) -> cst.BaseExpression:
        func = original.func
        if m.matches(func, m.Attribute(attr=m.Name("xcom_pull"))) and self.names.is_ti(func.value):
            pull = parse_pull(
                original, self.module, legacy=not self.airflow3, constants=self.constants
            )
            name = self.params[pull]
            if pull.many and not self.airflow3:  # Airflow 2 lists only tasks with a value
                return cst.parse_expression(f"[value for value in {name} if value is not None]")
            if pull.default is not None and not self.airflow3:  # Airflow 3 ignores default=
                return cst.parse_expression(f"({name} if {name} is not None else {pull.default})")
            return cst.Name(name)
        key = self.names.key_of(original)
        if key in self.values:
            return self._lookup(self.values[key])
        if key == "test_mode" and not self.airflow3:
            return cst.Name("False")
        return updated

    def leave_Subscript(self, original: cst.Subscript, updated: cst.Subscript):
        key = self.names.key_of(original)
        if key == "test_mode" and not self.airflow3:
            return cst.Name("False")
        return self._lookup(self.values[key]) if key in self.values else updated

    def leave_Attribute(self, original: cst.Attribute, updated: cst.Attribute):
        key = self.names.attribute(original)
        return self._lookup(key) if key is not None else updated

    def leave_Expr(self, original: cst.Expr, updated: cst.Expr):
        call = original.value
        if m.matches(call, m.Call(func=m.Attribute(attr=m.Name("xcom_push")))) and (
            self.names.is_ti(call.func.value)
        ):
            key, _ = parse_push(call, self.constants)
            value = parse_push(updated.value, self.constants)[1]
            push = cst.Call(
                cst.Name(self.push_name), [cst.Arg(cst.SimpleString(f'"{key}"')), cst.Arg(value)]
            )
            return updated.with_changes(value=push)
        return updated


def _aliases(body: list[cst.BaseStatement], names: _Names) -> set[int]:
    """Top-level ``ti = context["ti"]`` statements: their target becomes a task-instance name."""
    found: set[int] = set()
    for stmt in body:
        if m.matches(
            stmt, m.SimpleStatementLine(body=[m.Assign(targets=[m.AssignTarget(m.Name())])])
        ) and names.is_ti(stmt.body[0].value):
            names.objects[stmt.body[0].targets[0].target.value] = "ti"
            found.add(id(stmt))
    return found


def _split_params(
    fn: cst.FunctionDef, fed_positional: int, fed_keywords: set[str], airflow3: bool
) -> tuple[list[cst.Param], dict[str, str], dict[str, str]]:
    context = context_values(legacy=not airflow3)
    params = fn.params
    if params.posonly_params:
        raise Unsupported(fn, "DS062", "positional-only parameters in the callable")
    kept: list[cst.Param] = []
    values: dict[str, str] = {}
    objects: dict[str, str] = {}
    for i, p in enumerate([*params.params, *params.kwonly_params]):
        name = p.name.value
        fed = (i < fed_positional and i < len(params.params)) or name in fed_keywords
        if fed:
            kept.append(p)
        elif name in context:
            values[name] = context[name]
        elif name in OBJECTS:
            objects[name] = OBJECTS[name]
        elif name == "test_mode":
            # Airflow 2 passes the task instance's test_mode: False but under `airflow tasks
            # test` (dag.test() and the scheduler too); Airflow 3's context has no test_mode,
            # so the parameter keeps its default, as any parameter of the task
            if airflow3 and p.default is None:
                raise Unsupported(
                    p, "DS061", "test_mode is not in Airflow 3's context: the task fails there"
                )
            if airflow3:
                kept.append(p)
            else:
                values[name] = _FALSE
        elif name in OTHER_CONTEXT:
            raise Unsupported(
                p, "DS061", f"the callable takes {name!r} from the Airflow context (no equivalent)"
            )
        else:
            kept.append(p)
    return kept, values, objects


def rewrite_callable(
    fn: cst.FunctionDef,
    module: cst.Module,
    *,
    fed_positional: int = 0,
    fed_keywords: frozenset[str] = frozenset(),
    reserved: frozenset[str] = frozenset(),
    airflow3: bool = False,
    rendered: tuple[str, ...] = (),
    render_helper: str = "_dagshift_render",
    constants: Any = None,
    test_mode_unpassed: bool = True,
) -> CallableRewrite:
    """The function with its context reached the dagshift way (see the module docstring).

    ``test_mode_unpassed``: no call gives the function a ``test_mode`` argument (so a kept
    ``test_mode=None`` stays None: ``if test_mode:`` never runs, and is not checked)."""
    kept, values, objects = _split_params(fn, fed_positional, set(fed_keywords), airflow3)
    star = fn.params.star_kwarg
    catch_all = star.name.value if isinstance(star, cst.Param) else None
    names = _Names(objects, catch_all)
    body = list(fn.body.body) if isinstance(fn.body, cst.IndentedBlock) else []
    if not isinstance(fn.body, cst.IndentedBlock):
        raise Unsupported(fn, "DS062", "a one-line function body")
    aliases = _aliases(body, names)
    kept_names = {p.name.value for p in kept}
    extra_fed = set(fed_keywords) - kept_names
    check = _Check(names, extra_fed, module, airflow3, constants)
    whole = (
        find_whole_uses(fn, catch_all, module, airflow3, set(fed_keywords)).names
        if catch_all
        else set()
    )
    check.allowed |= whole
    rebound = binders(fn.body)
    falsy = {n for n, key in values.items() if key == _FALSE}
    if airflow3 and test_mode_unpassed:  # a kept test_mode keeps its default: None, False
        falsy |= {
            p.name.value
            for p in kept
            if p.name.value == "test_mode"
            and p.name.value not in fed_keywords
            and p not in fn.params.params[:fed_positional]
            and m.matches(p.default, m.Name("None") | m.Name("False"))
        }
    check.dead = falsy - set(rebound)
    for stmt in body:
        if id(stmt) not in aliases:
            walk(stmt, check)
    used = {n.value for n in _names_in(fn.body)} | kept_names | set(reserved)
    pulls: dict[Pull, str] = {}
    for _, pull in check.pulls:
        if pull not in pulls:
            name = pull.param_name()
            while name in used or name in pulls.values():
                name += "_xcom"
            pulls[pull] = name
    # the file's own `push` (Airflow's example_xcom names a callable so): dagshift's under another
    push_name = PUSH_ALIAS if "push" in used else "push"
    if check.pushes and push_name in used:
        raise Unsupported(fn, "DS074", f"the callable pushes XCom and already uses {push_name!r}")
    rewrite = _Rewrite(names, pulls, module, airflow3, push_name, constants)
    rewrite.dead = check.dead
    new_body: list[cst.BaseStatement] = [
        walk(s, rewrite)
        for s in body
        if id(s) not in aliases  # type: ignore[misc]
    ]
    head = (
        1 if body and m.matches(body[0], m.SimpleStatementLine([m.Expr(m.SimpleString())])) else 0
    )
    head_lines = [prologue(fn, catch_all, airflow3, bool(extra_fed))] if whole else []
    head_lines += [
        cst.parse_statement(
            f"{name} = False\n" if key == _FALSE else f'{name} = get_run_context()["{key}"]\n'
        )
        for name, key in values.items()
    ]
    head_lines += [cst.parse_statement(f"{n} = {render_helper}({n})\n") for n in rendered]
    new_body = new_body[:head] + head_lines + new_body[head:]
    if not new_body:
        new_body = [cst.SimpleStatementLine([cst.Pass()])]
    params = _signature(fn.params, kept, list(pulls.values()), bool(extra_fed))
    new_fn = fn.with_changes(params=params, body=fn.body.with_changes(body=new_body))
    return CallableRewrite(
        new_fn,
        {name: pull for pull, name in pulls.items()},
        check.pushes,
        any(key != _FALSE for key in values.values()) or rewrite.uses_context,
        push_name,
        bool(whole),
    )


def _signature(
    old: cst.Parameters, kept: list[cst.Param], pulled: list[str], keep_catch_all: bool
) -> cst.Parameters:
    in_params = {id(p) for p in old.params}
    positional = [p for p in kept if id(p) in in_params]
    kwonly = [p for p in kept if id(p) not in in_params]
    new = [cst.Param(cst.Name(n)) for n in pulled]
    star_arg = old.star_arg
    if any(p.default is not None for p in positional) or isinstance(star_arg, cst.Param):
        kwonly = kwonly + new
        if not isinstance(star_arg, cst.Param) and kwonly:
            star_arg = cst.ParamStar()
    else:
        positional = positional + new
    if not kwonly and isinstance(star_arg, cst.ParamStar):
        star_arg = cst.MaybeSentinel.DEFAULT
    params = [p.with_changes(comma=cst.MaybeSentinel.DEFAULT) for p in positional]
    kwonly = [p.with_changes(comma=cst.MaybeSentinel.DEFAULT) for p in kwonly]
    return old.with_changes(
        params=params,
        kwonly_params=kwonly,
        star_arg=star_arg,
        star_kwarg=old.star_kwarg if keep_catch_all else None,
    )


class LocalAnnotations(cst.CSTTransformer):
    """``x: T = v`` -> ``x = v`` in a function's own scope when ``T`` names one of ``heads``.

    Python never evaluates the annotation of a local variable (PEP 526), so the statement
    means the same without it; in a class body it is evaluated, and stays."""

    def __init__(self, heads: set[str]) -> None:
        self.heads = heads
        self.scopes: list[str] = []

    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        self.scopes.append("function")

    def leave_FunctionDef(self, original: cst.FunctionDef, updated: cst.FunctionDef):
        self.scopes.pop()
        return updated

    def visit_ClassDef(self, node: cst.ClassDef) -> None:
        self.scopes.append("class")

    def leave_ClassDef(self, original: cst.ClassDef, updated: cst.ClassDef):
        self.scopes.pop()
        return updated

    def leave_AnnAssign(self, original: cst.AnnAssign, updated: cst.AnnAssign):
        if not self.scopes or self.scopes[-1] != "function" or updated.value is None:
            return updated
        if not any(n.value in self.heads for n in _names_in(original.annotation)):
            return updated
        return cst.Assign([cst.AssignTarget(updated.target)], updated.value)
