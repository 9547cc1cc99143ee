"""``XComArg.map()``, ``.zip()`` and ``.concat()``: placeholders for values derived from XComs
(and a mapped task group's ``MappedArgument``).

Each stands for its source XComArgs (their tasks are upstream of whoever uses it, on either
side of ``>>`` too) and becomes a runtime :class:`~dagshift.runtime.derived.Derived`
placeholder: the executor resolves the sources and builds Airflow's lazy sequences from them.
Passed to ``.expand(...)``, a task is mapped over the elements; passed as a plain argument, the
task gets the lazy sequence itself, as in Airflow (``airflow/sdk/definitions/xcom_arg.py``).
"""

from __future__ import annotations

import functools
import itertools
from collections.abc import Callable, Iterator, Sequence
from typing import Any

from dagshift.compat.relatives import DependencyMixin
from dagshift.runtime.derived import NOTSET, ConcatResult, Derived, MapResult, ZipResult
from dagshift.runtime.group_mapping import MappedArg

__all__ = ["ConcatXComArg", "DerivedXComArg", "MapXComArg", "MappedArgument", "ZipXComArg"]

_ids = itertools.count()


def _name(f: Any) -> str:
    return getattr(f, "__qualname__", None) or repr(f)


def _ref(arg: Any) -> Any:
    """The runtime placeholder of a source: an XComArg's, or a converted task's reference
    itself (``kept.output.zip(converted)`` in a converted flow)."""
    as_ref = getattr(arg, "__dagshift_ref__", None)
    return as_ref() if as_ref is not None else arg


def _references(arg: Any) -> Iterator[tuple[Any, str]]:
    # a converted task's reference is no operator: its edge is the flow's data edge
    refs = getattr(arg, "iter_references", None)
    return refs() if refs is not None else iter(())


class DerivedXComArg(DependencyMixin):
    """What the three have in common: their source tasks, and more of the same methods."""

    def __init__(self) -> None:
        # Names this placeholder among an operator's inputs, also after a pickle (no id()).
        self.binding_key = ("derived", next(_ids))

    def iter_references(self) -> Iterator[tuple[Any, str]]:
        raise NotImplementedError

    def _ends(self, upstream: bool) -> list[Any]:
        return [op for op, _ in self.iter_references()]

    @property
    def roots(self) -> list[Any]:
        return self._ends(False)

    @property
    def leaves(self) -> list[Any]:
        return self._ends(True)

    def __iter__(self):
        raise TypeError(f"'{type(self).__name__}' object is not iterable")

    def __dagshift_code__(self) -> list[Any]:  # in a flow's fingerprint
        return ["xcom", repr(self)]

    def map(self, f: Callable[[Any], Any]) -> MapXComArg:
        return MapXComArg(self, [f])

    def zip(self, *others: Any, fillvalue: Any = NOTSET) -> ZipXComArg:
        return ZipXComArg([self, *others], fillvalue=fillvalue)

    def concat(self, *others: Any) -> ConcatXComArg:
        return ConcatXComArg([self, *others])


class MapXComArg(DerivedXComArg):
    """``arg.map(f)``: each element of ``arg`` through ``f`` (and later maps), when read."""

    def __init__(self, arg: Any, callables: Sequence[Callable[[Any], Any]]) -> None:
        super().__init__()
        for c in callables:
            if getattr(c, "_airflow_is_task_decorator", False):
                raise ValueError("map() argument must be a plain function, not a @task operator")
        self.arg = arg
        self.callables = list(callables)

    def __repr__(self) -> str:
        return f"{self.arg!r}" + "".join(f".map({_name(f)})" for f in self.callables)

    def iter_references(self) -> Iterator[tuple[Any, str]]:
        yield from _references(self.arg)

    def map(self, f: Callable[[Any], Any]) -> MapXComArg:
        return MapXComArg(self.arg, [*self.callables, f])

    def __dagshift_ref__(self) -> Derived:
        combine = functools.partial(MapResult.of, tuple(self.callables))
        return Derived(combine, (_ref(self.arg),))


class ZipXComArg(DerivedXComArg):
    """``a.zip(b, ...)``: tuples of their elements, like ``zip`` (``zip_longest`` with a
    ``fillvalue``)."""

    def __init__(self, args: Sequence[Any], *, fillvalue: Any = NOTSET) -> None:
        super().__init__()
        if not args:
            raise ValueError("zip() needs at least one XComArg")
        self.args = list(args)
        self.fillvalue = fillvalue

    def __repr__(self) -> str:
        first, *rest = (repr(a) for a in self.args)
        fill = f", fillvalue={self.fillvalue!r}" if self.fillvalue is not NOTSET else ""
        return f"{first}.zip({', '.join(rest)}{fill})"

    def iter_references(self) -> Iterator[tuple[Any, str]]:
        for arg in self.args:
            yield from _references(arg)

    def __dagshift_ref__(self) -> Derived:
        combine = functools.partial(ZipResult.of, self.fillvalue)
        return Derived(combine, tuple(_ref(a) for a in self.args))


class ConcatXComArg(DerivedXComArg):
    """``a.concat(b, ...)``: their elements one after another (a dict gives its keys)."""

    def __init__(self, args: Sequence[Any]) -> None:
        super().__init__()
        if not args:
            raise ValueError("concat() needs at least one XComArg")
        self.args = list(args)

    def __repr__(self) -> str:
        first, *rest = (repr(a) for a in self.args)
        return f"{first}.concat({', '.join(rest)})"

    def iter_references(self) -> Iterator[tuple[Any, str]]:
        for arg in self.args:
            yield from _references(arg)

    def concat(self, *others: Any) -> ConcatXComArg:
        return ConcatXComArg([*self.args, *others])

    def __dagshift_ref__(self) -> Derived:
        return Derived(ConcatResult.of, tuple(_ref(a) for a in self.args))


class MappedArgument:
    """A mapped task group's argument (``@task_group ... .expand(key=...)``): in each instance
    of the group, that instance's element under ``key``."""

    def __init__(self, group: Any, key: str, sources: Any) -> None:
        self.group = group
        self.key = key
        self.sources = sources  # the XComArgs the group is mapped over (their tasks come first)
        self.binding_key = ("mapped", group.group_id, key)

    def __repr__(self) -> str:
        return f"MappedArgument({self.group.group_id!r}, {self.key!r})"

    def iter_references(self) -> Iterator[tuple[Any, str]]:
        for source in self.sources:
            yield from source.iter_references()

    def __dagshift_code__(self) -> list[Any]:
        return ["mapped", self.group.group_id, self.key]

    def __dagshift_ref__(self) -> MappedArg:
        return MappedArg(self.group.group_id, self.key)
