"""Task groups: ``with TaskGroup(...) [as g]:`` -> ``with Group(...) [as g]:`` and
``@task_group`` functions -> ``@group`` functions (:mod:`dagshift.runtime.groups`).

The runtime's groups give tasks Airflow's ids (``group.task``, not prefixed with
``prefix_group_id=False``; ``name``, ``name__1`` ... for a ``@task_group`` function called
again), lay the group's ``default_args`` between the DAG's and the task's own (nested groups
over their parent's), resolve ``>>`` to and from a group to its first and last tasks when the
``>>`` runs, and let a branch name a group. A ``@task_group`` call returns what the function
returns, or the group when that is None, as Airflow's does.

Arguments: the id (first, or ``group_id=``), ``prefix_group_id`` -> ``prefix``,
``default_args`` -> ``default_task_options`` (read as the DAG's are), ``tooltip``,
``add_suffix_on_collision`` -> ``suffix_on_collision``; ``ui_color`` / ``ui_fgcolor`` only
colour Airflow's UI and go; ``dag=`` must name the DAG around it. Not converted (the DAG stays):
a TaskGroup made other than as a ``with`` item (``task_group=`` on operators), ``parent_group``,
and an operator kept as written inside a group (the compat shim gives it its own id). Mapped
groups (``.expand`` / ``.partial`` of a ``@task_group``): rule ``mapped_groups``.
"""

from __future__ import annotations

from typing import Any

import libcst as cst
import libcst.matchers as m

from dagshift.converter.model import Unsupported, string_value
from dagshift.converter.names import qualified
from dagshift.converter.rules import Rule
from dagshift.converter.walk import nodes

__all__ = [
    "GROUP_DECORATORS",
    "RULE",
    "TASK_GROUPS",
    "group_functions",
    "group_prefixes",
    "is_group_function",
    "rewrite_group_function",
    "rewrite_outside",
]

DESCRIPTION = "with TaskGroup(...) / @task_group -> with Group(...) / @group (Airflow's ids)"

TASK_GROUPS = {
    "airflow.utils.task_group.TaskGroup",
    "airflow.sdk.TaskGroup",
    "airflow.sdk.definitions.taskgroup.TaskGroup",
}
GROUP_DECORATORS = {
    "airflow.decorators.task_group",
    "airflow.decorators.task_group.task_group",
    "airflow.sdk.task_group",
    "airflow.sdk.definitions.decorators.task_group.task_group",
}
_RENAMED = {
    "prefix_group_id": "prefix",
    "tooltip": "tooltip",
    "add_suffix_on_collision": "suffix_on_collision",
}
_IGNORED = {"ui_color", "ui_fgcolor"}  # the colours of Airflow's graph view


def _group_args(job: Any, call: cst.Call, what: str, first: bool) -> list[cst.Arg]:
    """The ``Group(...)`` / ``@group(...)`` arguments for a TaskGroup's (``first``: the id
    may come first, unnamed), laid out as written."""
    from dagshift.converter.rules.dag_definition import _default_args

    out: list[cst.Arg] = []
    for i, arg in enumerate(call.args):
        key = arg.keyword.value if arg.keyword else None
        if arg.star or (key is None and not (first and i == 0)):
            raise Unsupported(call, "DS101", f"{what} argument form not converted")
        if key is None or key == "group_id":
            if first:
                out.insert(0, arg.with_changes(keyword=None, equal=cst.MaybeSentinel.DEFAULT))
            else:
                out.insert(0, arg)
        elif key in _RENAMED:
            out.append(arg.with_changes(keyword=cst.Name(_RENAMED[key])))
        elif key == "default_args":
            options, flow = _default_args(arg.value, job.file.assigned, job.file)
            if flow:
                raise Unsupported(call, "DS102", f"{what} default_args with {', '.join(flow)}")
            if options is not None:
                new_key = cst.Name("default_task_options")
                out.append(arg.with_changes(keyword=new_key, value=options))
        elif key == "dag" and job.site.dag_var and m.matches(arg.value, m.Name(job.site.dag_var)):
            continue
        elif key not in _IGNORED:
            raise Unsupported(call, "DS103", f"{what} argument {key}= is not converted")
    if out and call.args:  # the last one ends as the call's last argument did
        last = call.args[-1]
        between = call.args[0].comma if len(call.args) > 1 else cst.MaybeSentinel.DEFAULT
        out = [a.with_changes(comma=between) for a in out[:-1]] + [
            out[-1].with_changes(comma=last.comma, whitespace_after_arg=last.whitespace_after_arg)
        ]
    return out


def _with_items(job: Any) -> set[int]:
    """Ids of the ``TaskGroup(...)`` calls that are items of a ``with`` in the DAG's region."""
    if job.group_items is None:
        names = job.file.names
        job.group_items = {
            id(n.item)
            for stmt in job.region()
            for n in nodes(stmt)
            if type(n) is cst.WithItem
            and type(n.item) is cst.Call
            and qualified(n.item.func, names) in TASK_GROUPS
        }
    return job.group_items


def group_functions(job: Any) -> set[str]:
    """Names of the ``@task_group`` functions the DAG can call: the module's and its own."""
    names = job.file.names
    found = {
        name
        for name, fn in job.file.functions.items()
        if fn is not None and is_group_function(fn, names)
    }
    for stmt in job.region():
        found |= {
            n.name.value
            for n in nodes(stmt)
            if type(n) is cst.FunctionDef and is_group_function(n, names)
        }
    return found


def _on_group_function(job: Any, original: cst.Call, updated: cst.Call) -> Any:
    """``fn.override(...)`` of a ``@task_group`` function: its arguments as ``@group``'s
    (``.expand`` / ``.partial`` / ``.expand_kwargs``: rule ``mapped_groups``)."""
    func = original.func
    if not (type(func) is cst.Attribute and type(func.value) is cst.Name):
        return None
    if func.value.value not in group_functions(job):
        return None
    if func.attr.value != "override":
        return None
    return updated.with_changes(args=_group_args(job, original, "@task_group", first=False))


def _rewrite_call(job: Any, original: cst.Call, updated: cst.Call, full: str | None) -> Any:
    if full not in TASK_GROUPS:
        return _on_group_function(job, original, updated) if full is None else None
    if id(original) not in _with_items(job):
        raise Unsupported(original, "DS100", "a TaskGroup made other than as a `with` item")
    _check_group_attributes(job)
    if any(getattr(plan, "bridged", False) for plan in _plans_inside(job, original)):
        raise Unsupported(
            original, "DS104", "an operator kept as written inside a TaskGroup (its id)"
        )
    job.needs.add("Group")
    args = _group_args(job, original, "TaskGroup", first=True)
    return updated.with_changes(func=cst.Name("Group"), args=args)


# What a converted group has of a TaskGroup's attributes, with the same meaning
_GROUP_ATTRIBUTES = {"group_id", "set_upstream", "set_downstream"}


def _check_group_attributes(job: Any) -> None:
    """Unsupported when the DAG reads a TaskGroup's attribute a runtime Group lacks
    (``tg.children``, ``tg.add(...)`` ...): the converted flow would not run as the DAG."""
    names = job.file.names
    aliases = {
        item.asname.name.value
        for stmt in job.region()
        for n in nodes(stmt)
        if type(n) is cst.With
        for item in n.items
        if type(item.item) is cst.Call
        and qualified(item.item.func, names) in TASK_GROUPS
        and item.asname is not None
        and type(item.asname.name) is cst.Name
    }
    for stmt in job.region():
        for n in nodes(stmt):
            if (
                type(n) is cst.Attribute
                and type(n.value) is cst.Name
                and n.value.value in aliases
                and n.attr.value not in _GROUP_ATTRIBUTES
            ):
                raise Unsupported(n, "DS106", f"TaskGroup attribute .{n.attr.value} not converted")


def _plans_inside(job: Any, call: cst.Call) -> list[Any]:
    """The plans of the operator calls in the block of the ``with`` whose item is ``call``."""
    for stmt in job.region():
        for n in nodes(stmt):
            if type(n) is cst.With and any(item.item is call for item in n.items):
                return [job.plans[id(c)][1] for c in nodes(n.body) if id(c) in job.plans]
    return []


def _decorator_target(dec: cst.Decorator) -> cst.BaseExpression:
    return dec.decorator.func if isinstance(dec.decorator, cst.Call) else dec.decorator


def is_group_function(fn: cst.FunctionDef, names: dict[str, str]) -> bool:
    """Whether ``fn`` is decorated with Airflow's ``@task_group``."""
    return any(qualified(_decorator_target(d), names) in GROUP_DECORATORS for d in fn.decorators)


def rewrite_group_function(
    fn: cst.FunctionDef, job: Any, original: cst.FunctionDef | None = None
) -> cst.FunctionDef:
    """``fn`` (its body rewritten already; ``original``: as written, when not ``fn``) with
    ``@group`` for ``@task_group`` (``@dagshift.group`` in a file that binds ``group`` itself:
    own_names.py). A TaskFlow task kept as written inside (``@task.bash`` ...) keeps
    the DAG (DS104): the compat shim would give it its bare id, outside the group."""
    names = job.file.names
    _no_kept_taskflow(original or fn, names)
    decorators = []
    name = cst.Name("group")
    for dec in fn.decorators:
        if qualified(_decorator_target(dec), names) not in GROUP_DECORATORS:
            decorators.append(dec)
            continue
        if not isinstance(dec.decorator, cst.Call):
            decorators.append(dec.with_changes(decorator=name))
            continue
        args = _group_args(job, dec.decorator, "@task_group", first=False)
        decorators.append(
            dec.with_changes(decorator=dec.decorator.with_changes(func=name, args=args))
        )
    job.needs.add("group")
    return fn.with_changes(decorators=decorators)


def _no_kept_taskflow(fn: cst.FunctionDef, names: dict[str, str]) -> None:
    from dagshift.converter.rules.taskflow import kept_taskflow

    for n in nodes(fn.body):
        if type(n) is cst.FunctionDef and kept_taskflow(n, names) is not None:
            raise Unsupported(n, "DS104", "a TaskFlow task kept as written inside a @task_group")


def rewrite_outside(fn: cst.FunctionDef, job: Any) -> cst.FunctionDef:
    """A module-level ``@task_group`` function: ``@group``, and the TaskFlow functions defined
    in it rewritten (anything else of Airflow's left in it keeps the DAGs using it)."""
    from dagshift.converter.rules.taskflow import is_taskflow, rewrite_taskflow

    _no_kept_taskflow(fn, job.file.names)  # before the copy _Nested makes: the finding's node

    class _Nested(cst.CSTTransformer):
        def leave_FunctionDef(self, original: cst.FunctionDef, updated: cst.FunctionDef):
            if original is not fn and is_taskflow(original, job.file.names):
                try:
                    new, needs = rewrite_taskflow(updated, job.file)
                except Unsupported as exc:  # its node is the copy's: mark the original
                    raise Unsupported(original, exc.code, exc.message) from exc
                job.needs |= needs
                return new
            return updated

    return rewrite_group_function(fn.visit(_Nested()), job, fn)


def group_prefixes(stmt: cst.BaseStatement, names: dict[str, str]) -> list[tuple[Any, str | None]]:
    """(statement, id prefix) for each statement inside the ``with TaskGroup`` blocks of
    ``stmt``, in order: the prefix its tasks' ids get (``"outer.inner."``), None when it is
    not known statically (an id not a literal, ``prefix_group_id`` not a literal bool)."""
    out: list[tuple[Any, str | None]] = []

    def visit(block: cst.BaseStatement, prefix: str | None) -> None:
        if type(block) is not cst.With or len(block.items) != 1:
            return
        call = block.items[0].item
        if type(call) is not cst.Call or qualified(call.func, names) not in TASK_GROUPS:
            return
        inner = _prefix(call, prefix)
        for child in block.body.body:
            out.append((child, inner))
            visit(child, inner)

    visit(stmt, "")
    return out


def _prefix(call: cst.Call, outer: str | None) -> str | None:
    if outer is None:
        return None
    label: str | None = None
    prefixed: bool | None = True
    for i, arg in enumerate(call.args):
        key = arg.keyword.value if arg.keyword else None
        if (key is None and i == 0) or key == "group_id":
            label = string_value(arg.value)
        elif key == "prefix_group_id":
            value = arg.value
            prefixed = value.value == "True" if isinstance(value, cst.Name) else None
            if isinstance(value, cst.Name) and value.value not in ("True", "False"):
                prefixed = None
    if label is None or prefixed is None:
        return None
    # a group that does not prefix gives its tasks their bare ids, whatever is around it
    return f"{outer}{label}." if prefixed else ""


RULE = Rule("task_groups", DESCRIPTION, rewrite_call=_rewrite_call)
