"""Mapped task groups: ``fn.expand(...)``, ``fn.partial(...).expand(...)``,
``fn.expand_kwargs(...)`` (and with ``fn.override(...)`` first) of a ``@task_group`` function
stay as written: the function becomes a ``@group`` function (rule ``task_groups``), whose
``.expand`` / ``.partial`` / ``.expand_kwargs`` are Airflow's (:mod:`dagshift.runtime.groups`:
one instance of every task of the group per element, ids ``group.task``, map indexes
``0..n-1``, index by index within the group, the lazy list of the successful elements' results
downstream, an empty or skipped input skipping the group's tasks, a failed one failing them).

Converted only where that is proven the same (else the DAG stays, DS105): the chain is written
in one expression; no argument is given with ``*`` / ``**`` nor as a Jinja template (Airflow
renders those in the tasks the group passes them to); the function is the file's, defined once,
takes no ``*args`` / ``**kwargs``, maps no task or group inside itself (``.expand`` there), and
uses each mapped parameter only as a whole argument of a call in its own body (a task's
argument, where Airflow resolves it to the element), never in an expression, an attribute, a
subscript or a nested function's body.
"""

from __future__ import annotations

from typing import Any

import libcst as cst

from dagshift.converter.model import Unsupported
from dagshift.converter.rules import Rule
from dagshift.converter.walk import nodes

__all__ = ["RULE", "check_mapped_group"]

DESCRIPTION = (
    "@task_group fn.expand / .partial(...).expand / .expand_kwargs -> the same on a @group "
    "(one instance of its tasks per element, Airflow's ids and map indexes)"
)

_MAPPING = ("expand", "expand_kwargs")
_CHAIN = ("override", "partial", *_MAPPING)
# Names that are references: not an attribute's name, nor an argument's keyword
_REFERENCES = {cst.Attribute: ("value",), cst.Arg: ("value",)}


def _chain(call: cst.Call) -> tuple[str, list[tuple[str, cst.Call]]] | None:
    """``(function name, [(method, call) ...])`` outermost first, for ``fn.a(...).b(...)``."""
    steps: list[tuple[str, cst.Call]] = []
    node: Any = call
    while type(node) is cst.Call and type(node.func) is cst.Attribute:
        steps.append((node.func.attr.value, node))
        node = node.func.value
    if type(node) is not cst.Name or not steps:
        return None
    return node.value, steps


def _inner_parts(job: Any) -> set[int]:
    """Ids of the ``fn.partial(...)`` / ``fn.override(...)`` calls under a mapping call."""
    if getattr(job, "_mapped_group_parts", None) is None:
        found: set[int] = set()
        for stmt in job.region():
            for n in nodes(stmt):
                if type(n) is cst.Call:
                    chain = _chain(n)
                    if chain is not None and chain[1][0][0] in _MAPPING:
                        found |= {id(c) for _, c in chain[1][1:]}
        job._mapped_group_parts = found
    return job._mapped_group_parts


def check_mapped_group(job: Any, original: cst.Call, group_names: set[str]) -> bool:
    """Whether ``original`` is (part of) a mapped ``@task_group`` call that converts as it
    is; Unsupported (DS105) when it is one that does not; False when it is none."""
    chain = _chain(original)
    if chain is None or chain[0] not in group_names:
        return False
    name, steps = chain
    methods = [method for method, _ in steps]
    if methods[0] not in _CHAIN or not set(methods) <= set(_CHAIN):
        return False
    if methods[0] not in _MAPPING:
        if methods[0] == "partial" and id(original) not in _inner_parts(job):
            raise Unsupported(original, "DS105", "a @task_group .partial(...) not expanded")
        return methods[0] == "partial"  # override(...) alone: the task_groups rule's
    if methods.count("partial") > 1 or any(m in _MAPPING for m in methods[1:]):
        raise Unsupported(original, "DS105", "a mapped @task_group chain not converted")
    given: list[str] = []
    from dagshift.converter.rules.python_operator import templated

    for method, call in steps:
        if method == "override":
            continue
        for arg in call.args:
            if arg.star:
                raise Unsupported(original, "DS105", "a mapped @task_group given */** arguments")
            if templated(arg.value, job.file.constants):
                raise Unsupported(original, "DS105", "a Jinja template given to a mapped group")
            if method == "expand" and arg.keyword is not None:
                given.append(arg.keyword.value)
            elif method == "partial" and arg.keyword is not None:
                given.append("partial:" + arg.keyword.value)
    fn = job.file.functions.get(name)  # None: defined more than once
    if fn is None:
        raise Unsupported(original, "DS105", f"mapped @task_group {name!r} not defined once")
    if isinstance(fn.params.star_arg, cst.Param) or fn.params.star_kwarg is not None:
        raise Unsupported(original, "DS105", f"mapped @task_group {name!r} takes *args/**kwargs")
    params = [p.name.value for p in (*fn.params.params, *fn.params.kwonly_params)]
    partial = {g.partition(":")[2] for g in given if g.startswith("partial:")}
    mapped = (
        {g for g in given if ":" not in g}
        if methods[0] == "expand"
        else {p for p in params if p not in partial}
    )
    _check_body(fn, mapped, original)
    return True


def _check_body(fn: cst.FunctionDef, mapped: set[str], at: cst.Call) -> None:
    """Unsupported unless the mapped parameters are only whole arguments of calls of ``fn``'s
    own body and nothing in it is mapped."""
    whole_args: set[int] = set()
    nested: list[cst.FunctionDef] = []
    for n in nodes(fn.body, _REFERENCES):
        if type(n) is cst.Call:
            whole_args |= {id(a.value) for a in n.args if not a.star}
            func = n.func
            if type(func) is cst.Attribute and func.attr.value in _MAPPING:
                raise Unsupported(at, "DS105", "a task or group mapped inside a mapped group")
        elif type(n) is cst.FunctionDef:
            nested.append(n)
    inner = {id(x) for f in nested for x in nodes(f)}
    for n in nodes(fn.body, _REFERENCES):
        if type(n) is not cst.Name or n.value not in mapped or id(n) in inner:
            continue
        if id(n) not in whole_args:
            raise Unsupported(
                at, "DS105", f"mapped group argument {n.value!r} used other than as an argument"
            )
    for f in nested:
        own = {p.name.value for p in f.params.params + f.params.kwonly_params}
        body = [*f.decorators, f.body]
        used = {n.value for b in body for n in nodes(b, _REFERENCES) if type(n) is cst.Name}
        used &= mapped - own
        if used:
            raise Unsupported(
                at, "DS105", f"mapped group argument {sorted(used)[0]!r} read in a nested function"
            )


def _rewrite_call(job: Any, original: cst.Call, updated: cst.Call, full: str | None) -> Any:
    if full is not None:
        return None
    from dagshift.converter.rules.task_groups import group_functions

    return updated if check_mapped_group(job, original, group_functions(job)) else None


RULE = Rule("mapped_groups", DESCRIPTION, rewrite_call=_rewrite_call)
