"""Mapped task groups: every task of a group runs once per element of the group's input.

Airflow's ``@task_group(...).expand(x=[...])`` maps a whole group: each task inside gets one
instance per element (map index ``i``), the group's mapped arguments stand for element ``i``,
and a task depends, index by index, on the tasks of the same group it follows: ``b[i]`` waits
for ``a[i]`` alone, gets ``a[i]``'s result and follows its trigger rule over ``a[i]``'s state
(and over the whole state of upstream tasks outside the group).

Here a task of such a group is one node whose meta holds the group's :class:`GroupMap`; the
executor asks :func:`element_inputs` for the elements, runs the node's body once per element,
and sees upstream tasks of the same group through :func:`at_index`. Both the compat shim's
mapped TaskGroups and the runtime's mapped ``@group`` functions (``runtime/groups.py``, what the
converter makes of a mapped ``@task_group``) put their tasks' :class:`GroupMap` there.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from typing import Any

from dagshift.runtime.derived import Element, elements
from dagshift.runtime.state import FAILED, SKIPPED, SUCCESS, UPSTREAM_FAILED, TaskRun

__all__ = [
    "GroupMap",
    "MappedArg",
    "at_index",
    "combined_state",
    "element_inputs",
    "substitute",
    "substitute_call",
]


@dataclass(frozen=True)
class GroupMap:
    """The input a group is mapped over: ``expand`` (name -> list, or a placeholder of one;
    the elements are the product, as for a task) or ``expand_kwargs`` (a list of dicts)."""

    group_id: str
    expand: Mapping[str, Any] | None = None
    expand_kwargs: Any = None

    def stripped(self, strip: Callable[[Any], Any]) -> GroupMap:
        """The same input with the definition-time placeholders made plain (for a plan)."""
        return replace(self, expand=strip(self.expand), expand_kwargs=strip(self.expand_kwargs))


@dataclass(frozen=True)
class MappedArg:
    """A mapped argument of the group: element ``i``'s value under ``key``."""

    group_id: str
    key: str


def listed(name: str, value: Any, what: str = "a task group ") -> list[Any]:
    """The elements ``value`` (an argument ``name`` that ``what`` is mapped over) stands for:
    a list, tuple, range, a dict's items, or an XComArg.map/zip/concat's elements."""
    lazy = elements(value)  # XComArg.map / zip / concat: each element read in its own run
    if lazy is not None:
        return lazy
    if isinstance(value, Mapping):
        return list(value.items())
    if isinstance(value, list | tuple | range):
        return list(value)
    raise TypeError(f"cannot map {what}over {name}={value!r}: give a list, tuple or dict")


def element_inputs(spec: GroupMap, resolve: Callable[[Any], Any]) -> list[dict[str, Any]]:
    """One ``{key: value}`` per map index, from the resolved input."""
    if spec.expand is not None:
        values = resolve(spec.expand)
        names = list(values)
        lists = [listed(n, values[n]) for n in names]
        return [dict(zip(names, combo, strict=True)) for combo in itertools.product(*lists)]
    combos = listed("expand_kwargs", resolve(spec.expand_kwargs))
    for combo in combos:
        if not isinstance(combo, Mapping):
            raise TypeError(f"expand_kwargs() needs mappings of arguments, got {combo!r}")
    return [dict(c) for c in combos]


def substitute(value: Any, element: Mapping[str, Any], nested: bool = False) -> Any:
    """``value`` with the group's mapped arguments replaced by this element's values; an
    element of a lazy input is read here when it sits inside a list, tuple or dict (``nested``),
    else when the task's run starts (see :func:`substitute_call`)."""
    if isinstance(value, MappedArg):
        found = element[value.key]
        return found.get() if nested and isinstance(found, Element) else found
    if isinstance(value, list):
        return [substitute(v, element, True) for v in value]
    if isinstance(value, tuple):
        return tuple(substitute(v, element, True) for v in value)
    if isinstance(value, dict):
        return {k: substitute(v, element, True) for k, v in value.items()}
    return value


def substitute_call(
    args: tuple[Any, ...], kwargs: Mapping[str, Any], element: Mapping[str, Any]
) -> tuple[tuple[Any, ...], dict[str, Any]]:
    """A task's arguments for this element: a whole argument from a lazy input stays an
    :class:`Element`, read in the task's run (an error there is the task's, retried as such)."""
    return (
        tuple(substitute(v, element) for v in args),
        {k: substitute(v, element) for k, v in kwargs.items()},
    )


def at_index(upstream: TaskRun, index: int) -> TaskRun:
    """An upstream task of the same group as its instance ``index`` (its whole run when it
    never ran as a mapped task)."""
    states = upstream.pushed.get("__map_states__") if upstream.pushed else None
    if not states:
        return upstream
    results = upstream.pushed["__map_results__"]
    return TaskRun(upstream.task_id, states[index], result=results[index])


def combined_state(states: list[str]) -> str:
    """A mapped task's one state, as its downstream tasks and the run see it."""
    for state in (FAILED, UPSTREAM_FAILED):
        if state in states:
            return state
    if SUCCESS in states:
        return SUCCESS
    return states[0] if states else SKIPPED
