"""Groups of tasks inside a flow: Airflow's ``TaskGroup`` and ``@task_group``, functionally.

A :class:`Group` is opened with ``with Group("extract"):`` inside ``with Flow(...)``. Tasks
called while it is open get its id as a prefix (``extract.load``; not with ``prefix=False``),
its ``default_task_options`` between the flow's defaults and their own options (as a
TaskGroup's ``default_args`` lie between the DAG's and the operator's), and the ids of the
groups around them in their node's ``meta["groups"]``, innermost first, so a branch may name a
group (the executor follows the group's first tasks). Groups nest; a group's id is prefixed
by its parent's when the parent prefixes.

A group is not a node of the graph: ``>>`` from a group starts at its last tasks (those with no
downstream task inside it), ``>>`` to a group reaches its first tasks, both taken when the
``>>`` runs, as Airflow does. :func:`group` makes a function whose every call opens a new group
(``name``, then ``name__1`` ...) and returns what the function returns, or the group when the
function returns None: Airflow's ``@task_group``.

``fn.expand(x=...)`` / ``fn.partial(y=...).expand(x=...)`` / ``fn.expand_kwargs([...])`` map
the group, as Airflow's mapped task groups: the function runs once, with each mapped argument a
:class:`~dagshift.runtime.group_mapping.MappedArg`, and each task it calls carries the group's
:class:`~dagshift.runtime.group_mapping.GroupMap` in ``meta["group_map"]``, which the executor
runs once per element, index by index within the group (the same machinery the compat shim's
mapped groups use). The tasks the group is mapped over come before its first tasks and before
every task that takes a mapped argument, as Airflow's ``MappedTaskGroup`` sets them.
"""

from __future__ import annotations

import contextvars
import functools
import inspect
import re
from collections.abc import Callable, Mapping
from dataclasses import replace
from typing import Any

from dagshift.runtime.active import current_flow
from dagshift.runtime.derived import Derived
from dagshift.runtime.group_mapping import GroupMap, MappedArg
from dagshift.runtime.relatives import Relatives
from dagshift.runtime.task import TaskRef, normalize_options, refs_of

__all__ = ["Group", "GroupFunction", "GroupPartial", "current_group", "group"]

_open: contextvars.ContextVar[tuple[Group, ...]] = contextvars.ContextVar(
    "dagshift_groups", default=()
)


def current_group(flow: Any) -> Group | None:
    """The innermost group open in ``flow``, if any."""
    for found in reversed(_open.get()):
        if found.flow is flow:
            return found
    return None


class Group(Relatives):
    """Tasks that share an id prefix, default options, and ``>>`` as one.

    Example:
        >>> from dagshift import Flow, Group, task
        >>> @task
        ... def load():
        ...     return 1
        >>> with Flow("etl") as flow:
        ...     with Group("extract", default_task_options={"retries": 2}) as extract:
        ...         ref = load()
        >>> ref.task_id, flow.get_task("extract.load").options["retries"]
        ('extract.load', 2)

    Args:
        group_id: the group's own id (its full id has its parent's prefix).
        prefix: whether the ids of its tasks and groups get ``<group id>.`` first.
        default_task_options: options its tasks get unless they set their own; a nested
            group's lie over its parent's.
        tooltip: documentation, kept for reports.
        suffix_on_collision: ``name__1``, ``name__2`` ... when the id is taken, instead of
            an error (what ``@group`` functions do).
    """

    def __init__(
        self,
        group_id: str,
        *,
        prefix: bool = True,
        default_task_options: Mapping[str, Any] | None = None,
        tooltip: str = "",
        suffix_on_collision: bool = False,
    ) -> None:
        if not isinstance(group_id, str) or not group_id:
            raise ValueError(f"a group needs a non-empty id, got {group_id!r}")
        self.label = group_id
        self.prefix = prefix
        self.tooltip = tooltip
        self.suffix_on_collision = suffix_on_collision
        self.own_options = normalize_options(default_task_options or {})
        self.flow: Any = None
        self.parent: Group | None = None
        self.mapping: GroupMap | None = None  # set by a mapped @group function's call
        self._tokens: list[contextvars.Token] = []

    def __repr__(self) -> str:
        return f"<Group {self.group_id}>"

    @property
    def group_id(self) -> str:
        """The full id: the parent's prefix, then the group's own."""
        return self.parent.child_id(self.label) if self.parent is not None else self.label

    def child_id(self, label: str) -> str:
        """The id a task or group called ``label`` gets inside this group."""
        return f"{self.group_id}.{label}" if self.prefix else label

    @property
    def task_options(self) -> dict[str, Any]:
        """The default options of its tasks: its parent's, under its own."""
        above = self.parent.task_options if self.parent is not None else {}
        return {**above, **self.own_options}

    def ancestors(self) -> tuple[str, ...]:
        """Its full id and those of the groups around it, innermost first."""
        above = self.parent.ancestors() if self.parent is not None else ()
        return (self.group_id, *above)

    def mapped_around(self) -> GroupMap | None:
        """The mapping of the innermost mapped group this group is (or lies in), if any."""
        if self.mapping is not None:
            return self.mapping
        return self.parent.mapped_around() if self.parent is not None else None

    def __enter__(self) -> Group:
        flow = current_flow()
        if flow is None:
            raise RuntimeError(f"open group {self.label!r} inside `with Flow(...)`")
        if self.flow is not None:  # opened again (as a TaskGroup may be): more of its tasks
            if self.flow is not flow:
                raise RuntimeError(f"group {self.group_id!r} belongs to flow {self.flow.name!r}")
            self._tokens.append(_open.set((*_open.get(), self)))
            return self
        self.flow, self.parent = flow, current_group(flow)
        taken = set(flow.groups) | set(flow.graph)
        if self.group_id in taken:
            if not self.suffix_on_collision:
                raise ValueError(
                    f"flow {flow.name!r} already has a group or task {self.group_id!r}"
                )
            base = re.split(r"__\d+$", self.label)[0]
            n = 1
            while self._with_label(f"{base}__{n}") in taken:
                n += 1
            self.label = f"{base}__{n}"
        flow.groups[self.group_id] = self
        self._tokens.append(_open.set((*_open.get(), self)))
        return self

    def _with_label(self, label: str) -> str:
        return self.parent.child_id(label) if self.parent is not None else label

    def __exit__(self, *exc: Any) -> None:
        _open.reset(self._tokens.pop())

    # ------------------------------------------------------------------ members
    def task_ids(self) -> list[str]:
        """Ids of its tasks (those of nested groups included), in the order they were added."""
        if self.flow is None:
            return []
        gid = self.group_id
        return [t for t, node in self.flow.tasks.items() if gid in node.meta.get("groups", ())]

    def roots(self) -> list[TaskRef]:
        """Its first tasks: no upstream task inside the group."""
        ids = self.task_ids()
        inside = set(ids)
        graph = self.flow.graph if self.flow is not None else None
        return [TaskRef(self.flow, t) for t in ids if not set(graph.predecessors(t)) & inside]

    def leaves(self) -> list[TaskRef]:
        """Its last tasks: no downstream task inside the group; a teardown among them stands
        for the work before it (Airflow's ``TaskGroup.get_leaves``: ``group >> task`` waits for
        the group's work, not for its teardowns)."""
        ids = self.task_ids()
        inside = set(ids)
        if self.flow is None:
            return []
        graph = self.flow.graph
        options = {t: self.flow.get_task(t).options for t in ids}

        def has_work_downstream(task_id: str, exclude: str) -> bool:
            return any(
                d != exclude and d in inside and not options[d].get("teardown")
                for d in graph.successors(task_id)
            )

        def first_work(task_id: str) -> list[str]:
            found: list[str] = []
            for up in graph.predecessors(task_id):
                if up not in inside:
                    continue
                if options[up].get("teardown"):
                    found += first_work(up)
                elif options[task_id].get("teardown") and options[up].get("setup"):
                    continue  # not through the teardown-to-setup path
                elif not has_work_downstream(up, exclude=task_id):
                    found.append(up)
            return found

        out: list[str] = []
        for t in ids:
            if not set(graph.successors(t)) & inside:
                out += first_work(t) if options[t].get("teardown") else [t]
        return [TaskRef(self.flow, t) for t in dict.fromkeys(out)]

    def __dagshift_ends__(self, upstream: bool) -> list[TaskRef]:
        """What the group stands for in a dependency: its leaves upstream, roots downstream."""
        return self.leaves() if upstream else self.roots()

    # Order edges, in Airflow's manner.
    def set_downstream(self, other: Any) -> None:
        for leaf in self.leaves():
            leaf.set_downstream(other)

    def set_upstream(self, other: Any) -> None:
        for root in self.roots():
            root.set_upstream(other)


class GroupFunction:
    """A function whose calls build their tasks inside a new :class:`Group` (see :func:`group`)."""

    def __init__(self, fn: Callable[..., Any], options: dict[str, Any]) -> None:
        self.fn = fn
        self.options = options
        self.signature = inspect.signature(fn)
        functools.update_wrapper(self, fn, updated=())

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self._build(None, args, kwargs)

    def _build(self, mapped: GroupMap | None, args: tuple, kwargs: dict[str, Any]) -> Any:
        options = dict(self.options)
        group_id = options.pop("group_id", None) or self.fn.__name__
        if not options.get("tooltip") and self.fn.__doc__:
            options["tooltip"] = self.fn.__doc__
        with Group(group_id, suffix_on_collision=True, **options) as made:
            if mapped is not None:
                if made.parent is not None and made.parent.mapped_around() is not None:
                    raise ValueError(
                        f"group {made.group_id!r} is mapped inside the mapped group "
                        f"{made.parent.mapped_around().group_id!r}: map only one of them"
                    )
                made.mapping = mapped = replace(mapped, group_id=made.group_id)
                names = (
                    list(mapped.expand)
                    if mapped.expand is not None
                    else [
                        n
                        for n, p in self.signature.parameters.items()
                        if n not in kwargs and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)
                    ]
                )
                kwargs = {**kwargs, **{n: MappedArg(made.group_id, n) for n in names}}
            returned = self.fn(*args, **kwargs)
        if mapped is not None:
            _after_its_input(made, refs_of([mapped.expand, mapped.expand_kwargs]))
        return made if returned is None else returned

    def override(self, **changes: Any) -> GroupFunction:
        """A copy with other group options (``group_id=``, ``prefix=`` ...)."""
        return GroupFunction(self.fn, {**self.options, **changes})

    # Mapped task groups, in Airflow's manner.
    def partial(self, **kwargs: Any) -> GroupPartial:
        """Fix some arguments before ``.expand(...)`` / ``.expand_kwargs(...)``."""
        return GroupPartial(self, {}).partial(**kwargs)

    def expand(self, **kwargs: Any) -> Any:
        """One instance of the group per element (the product of the lists, as a task's)."""
        return GroupPartial(self, {}).expand(**kwargs)

    def expand_kwargs(self, kwargs_list: Any) -> Any:
        """One instance of the group per mapping of keyword arguments."""
        return GroupPartial(self, {}).expand_kwargs(kwargs_list)


class GroupPartial:
    """A :class:`GroupFunction` with some arguments fixed, waiting for its ``.expand``."""

    def __init__(self, function: GroupFunction, fixed: dict[str, Any]) -> None:
        self.function = function
        self.fixed = fixed

    def _check(self, given: Mapping[str, Any], what: str) -> None:
        overlap = sorted(set(given) & set(self.fixed))
        if overlap:
            raise TypeError(f"arguments given to both partial() and {what}: {overlap}")
        self.function.signature.bind_partial(**self.fixed, **given)

    def _flow_check(self) -> None:
        if current_flow() is None:
            raise RuntimeError(
                f"{self.function.fn.__name__}.expand(...) builds a mapped group: "
                "call it inside `with Flow(...)`"
            )

    def partial(self, **kwargs: Any) -> GroupPartial:
        self._check(kwargs, "partial()")
        return GroupPartial(self.function, {**self.fixed, **kwargs})

    def expand(self, **kwargs: Any) -> Any:
        if not kwargs:
            raise TypeError("expand() needs at least one keyword argument to map over")
        self._check(kwargs, "expand()")
        self._flow_check()
        return self.function._build(GroupMap("", expand=dict(kwargs)), (), dict(self.fixed))

    def expand_kwargs(self, kwargs_list: Any) -> Any:
        if not isinstance(kwargs_list, list | tuple | TaskRef | Derived):
            raise TypeError(
                "expand_kwargs() needs a list of dicts or a task's result, "
                f"not {type(kwargs_list).__name__}"
            )
        self._check({}, "expand_kwargs()")
        self._flow_check()
        mapping = GroupMap("", expand_kwargs=kwargs_list)
        return self.function._build(mapping, (), dict(self.fixed))


def _after_its_input(made: Group, sources: list[TaskRef]) -> None:
    """Order edges from the tasks a mapped group is mapped over to its first tasks and to
    every task of it taking a mapped argument (Airflow's ``MappedTaskGroup.__exit__`` and
    ``MappedArgument.iter_references``)."""
    if not sources or made.flow is None:
        return
    flow = made.flow
    takers = [t for t in made.task_ids() if _takes_mapped(flow.get_task(t), made.group_id)]
    targets = dict.fromkeys([*(r.task_id for r in made.roots()), *takers])
    for target in targets:
        for source in dict.fromkeys(r.task_id for r in sources):
            if not flow.graph.has_edge(source, target):
                flow.add_edge(source, target)


def _takes_mapped(node: Any, group_id: str) -> bool:
    def found(value: Any) -> bool:
        if isinstance(value, MappedArg):
            return value.group_id == group_id
        if isinstance(value, list | tuple | set | frozenset):
            return any(found(v) for v in value)
        if isinstance(value, dict):
            return any(found(v) for v in value.values())
        return False

    return found(node.args) or found(node.kwargs)


def group(fn: Callable[..., Any] | None = None, **options: Any):
    """``@group`` or ``@group(group_id=..., prefix=..., default_task_options=..., tooltip=...)``:
    each call of the function opens a new group around the tasks it calls (``name``,
    ``name__1`` ... when called again) and returns what the function returns, or the group
    when it returns None (``start >> load_all() >> end``), as Airflow's ``@task_group``;
    ``.expand`` / ``.partial(...).expand`` / ``.expand_kwargs`` map it (see the module)."""
    if fn is not None:
        return GroupFunction(fn, options)
    return lambda f: GroupFunction(f, options)
