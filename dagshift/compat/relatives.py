"""Dependencies between tasks: ``>>``, ``<<``, ``set_upstream``, ``chain`` and friends.

Everything that can stand on either side of ``>>`` (an operator, an XComArg, a TaskGroup)
derives from :class:`DependencyMixin` and says which tasks it stands for upstream and
downstream (``_ends``: an operator itself; an XComArg its operator; a group its leaves
upstream and its roots downstream). A runtime task placeholder (:class:`TaskRef`) of the same
flow can be on either side too, so dagshift tasks and Airflow operators mix in one DAG.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from dagshift.compat.exceptions import AirflowException
from dagshift.runtime.task import TaskRef

__all__ = [
    "DependencyMixin",
    "Label",
    "chain",
    "chain_linear",
    "cross_downstream",
    "set_relatives",
]


class DependencyMixin:
    """Airflow's dependency operators for anything that stands for tasks."""

    def _ends(self, upstream: bool) -> list[Any]:
        """The operators this stands for on the upstream (or downstream) side."""
        raise NotImplementedError

    def set_downstream(self, other: Any, edge_modifier: Any = None) -> None:
        set_relatives(self, other)

    def set_upstream(self, other: Any, edge_modifier: Any = None) -> None:
        set_relatives(other, self)

    def __rshift__(self, other: Any) -> Any:
        set_relatives(self, other)
        return other

    def __lshift__(self, other: Any) -> Any:
        set_relatives(other, self)
        return other

    def __rrshift__(self, other: Any) -> Any:
        set_relatives(other, self)
        return self

    def __rlshift__(self, other: Any) -> Any:
        set_relatives(self, other)
        return self


class Label:
    """An edge label: ``a >> Label("when ok") >> b`` is ``a >> b``."""

    def __init__(self, label: str) -> None:
        self.label = label
        self._upstream: list[Any] = []

    def __rrshift__(self, other: Any) -> Label:
        self._upstream.append(other)
        return self

    def __rshift__(self, other: Any) -> Any:
        for up in self._upstream:
            set_relatives(up, other)
        return other

    def __rlshift__(self, other: Any) -> Label:
        self._upstream.append(other)
        return self

    def __lshift__(self, other: Any) -> Any:
        for down in self._upstream:
            set_relatives(other, down)
        return other


class _Node:
    """One end of a dependency: an operator, or a runtime task of the same flow."""

    __slots__ = ("op", "ref")

    def __init__(self, op: Any = None, ref: TaskRef | None = None) -> None:
        self.op, self.ref = op, ref


def _nodes(obj: Any, upstream: bool) -> list[_Node]:
    if isinstance(obj, DependencyMixin):
        return [_Node(op=t) for t in obj._ends(upstream)]
    if isinstance(obj, TaskRef):
        return [_Node(ref=obj)]
    if isinstance(obj, list | tuple | set | frozenset):
        out: list[_Node] = []
        for item in obj:
            out.extend(_nodes(item, upstream))
        return out
    raise TypeError(
        f"cannot set a dependency with {obj!r}: use operators, TaskFlow results, task groups "
        "or lists of them"
    )


def set_relatives(upstream: Any, downstream: Any) -> None:
    """``upstream >> downstream`` for every pair of tasks the two sides stand for."""
    if isinstance(downstream, Label):  # a >> Label("why") >> b: the label waits for b
        downstream._upstream.append(upstream)
        return
    if isinstance(upstream, Label):
        for up in upstream._upstream:
            set_relatives(up, downstream)
        return
    for up in _nodes(upstream, True):
        for down in _nodes(downstream, False):
            _link(up, down)


def _link(up: _Node, down: _Node) -> None:
    if up.op is not None and down.op is not None:
        up.op._adopt_dag(down.op)
        up.op.downstream_task_ids.add(down.op.task_id)
        down.op.upstream_task_ids.add(up.op.task_id)
        flow = up.op._flow
        if flow is not None and flow is down.op._flow:
            flow.add_edge(up.op.task_id, down.op.task_id)
        return
    op = up.op if up.op is not None else down.op
    # `is not None`: a TaskRef has no truth value while the flow is defined
    ref = up.ref if up.ref is not None else down.ref
    if op is None:  # two runtime tasks
        up.ref.set_downstream(down.ref)
        return
    flow = op._require_flow()
    if ref.flow is not flow:
        raise ValueError(
            f"task {op.task_id!r} and {ref.task_id!r} belong to different flows; "
            "dependencies exist only within one DAG or flow"
        )
    if up.op is not None:
        flow.add_edge(op.task_id, ref.task_id)
    else:
        flow.add_edge(ref.task_id, op.task_id)
        op.upstream_task_ids.add(ref.task_id)


def chain(*tasks: Any) -> None:
    """``chain(a, [b, c], d)``: each element upstream of the next; two lists pairwise."""
    for up, down in zip(tasks, tasks[1:], strict=False):
        if isinstance(up, Sequence) and isinstance(down, Sequence):
            if len(up) != len(down):
                raise AirflowException(
                    f"Chain not supported for different length Iterable. "
                    f"Got {len(up)} and {len(down)}."
                )
            for u, d in zip(up, down, strict=True):
                set_relatives(u, d)
        else:
            set_relatives(up, down)


def chain_linear(*elements: Any) -> None:
    """Every task of each element upstream of every task of the next."""
    if len(elements) < 2:
        raise ValueError("chain_linear needs at least two elements")
    for up, down in zip(elements, elements[1:], strict=False):
        set_relatives(up, down)


def cross_downstream(from_tasks: Iterable[Any], to_tasks: Any) -> None:
    """Every task of ``from_tasks`` upstream of every task of ``to_tasks``."""
    for task in from_tasks:
        set_relatives(task, to_tasks)
