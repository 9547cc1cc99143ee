"""``>>`` / ``<<`` in terms of ``set_downstream`` / ``set_upstream``, for every object of a flow
that takes part in edges: a task's reference (:mod:`dagshift.runtime.task`), a group
(:mod:`dagshift.runtime.groups`), a task as setup/teardown bookkeeping sees it
(:mod:`dagshift.runtime.setup_teardown`)."""

from __future__ import annotations

from typing import Any

__all__ = ["Relatives"]


class Relatives:
    """``a >> b``, ``a << b`` and their mirrored forms in terms of ``set_downstream`` /
    ``set_upstream``: ``>>`` returns its right side, so chains
    and lists read as in Airflow."""

    __slots__ = ()

    def set_downstream(self, other: Any) -> None:
        raise NotImplementedError

    def set_upstream(self, other: Any) -> None:
        raise NotImplementedError

    def __rshift__(self, other: Any) -> Any:
        self.set_downstream(other)
        return other

    def __lshift__(self, other: Any) -> Any:
        self.set_upstream(other)
        return other

    def __rrshift__(self, other: Any) -> Any:
        self.set_upstream(other)
        return self

    def __rlshift__(self, other: Any) -> Any:
        self.set_downstream(other)
        return self
