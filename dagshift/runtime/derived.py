"""Values derived from task results: Airflow's ``XComArg.map()``, ``.zip()`` and ``.concat()``.

A :class:`Derived` placeholder stands for ``combine(*inputs)``, its inputs being task
placeholders (or other derived ones): each input is a data edge of the flow, and the executor
resolves the inputs and then calls ``combine``. The combined values are *lazy sequences*, as
Airflow's are (``_MapResult``, ``_ZipResult``, ``_ConcatResult`` in
``airflow/sdk/definitions/xcom_arg.py``, ported here): ``len()`` needs no call of the mapped
function, and an element is computed when it is read. A task mapped over one therefore computes
each element inside that element's own run, so a function that raises for one element fails
(or, raising a skip, skips) that element alone, as in Airflow.
"""

from __future__ import annotations

import functools
import itertools
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

__all__ = [
    "NOTSET",
    "ConcatResult",
    "Derived",
    "Element",
    "MapResult",
    "ZipResult",
    "concatenated",
    "mapped",
    "zipped",
]


class _NotSet:
    def __repr__(self) -> str:
        return "NOTSET"

    def __reduce__(self) -> str:
        return "NOTSET"


NOTSET: Any = _NotSet()


@dataclass(frozen=True)
class Derived:
    """``combine(*inputs)`` once the inputs (task placeholders) are resolved."""

    combine: Callable[..., Any]
    inputs: tuple[Any, ...]

    def map(self, f: Callable[[Any], Any]) -> Derived:
        return mapped(self, f)

    def zip(self, *others: Any, fillvalue: Any = NOTSET) -> Derived:
        return zipped(self, *others, fillvalue=fillvalue)

    def concat(self, *others: Any) -> Derived:
        return concatenated(self, *others)


def mapped(source: Any, f: Callable[[Any], Any]) -> Derived:
    """``source.map(f)`` (a task result or a derived value): each element through ``f``."""
    if hasattr(f, "expand") and hasattr(f, "override"):  # a task (Airflow refuses a @task too)
        raise ValueError("map() argument must be a plain function, not a task")
    return Derived(functools.partial(MapResult.of, (f,)), (source,))


def zipped(source: Any, *others: Any, fillvalue: Any = NOTSET) -> Derived:
    """``source.zip(*others)``: tuples of their elements (``zip_longest`` with a fillvalue)."""
    return Derived(functools.partial(ZipResult.of, fillvalue), (source, *others))


def concatenated(source: Any, *others: Any) -> Derived:
    """``source.concat(*others)``: their elements one after another."""
    return Derived(ConcatResult.of, (source, *others))


def _checked(kind: str, value: Any) -> Any:
    if not isinstance(value, Sequence | dict):
        raise ValueError(f"XCom {kind} expects sequence or dict, not {type(value).__name__}")
    return value


class MapResult(Sequence):
    """``value`` with ``callables`` applied to each element as it is read."""

    def __init__(self, value: Sequence | dict, callables: Sequence[Callable[[Any], Any]]):
        self.value = value
        self.callables = list(callables)

    def __getitem__(self, index: Any) -> Any:
        value = self.value[index]
        for f in self.callables:
            value = f(value)
        return value

    def __len__(self) -> int:
        return len(self.value)

    @classmethod
    def of(cls, callables: Sequence[Callable[[Any], Any]], value: Any) -> MapResult:
        return cls(_checked("map", value), callables)


class ZipResult(Sequence):
    """Tuples of the values' elements, as long as the shortest (the longest with a
    ``fillvalue``)."""

    def __init__(self, values: Sequence[Sequence | dict], fillvalue: Any = NOTSET) -> None:
        self.values = list(values)
        self.fillvalue = fillvalue

    @staticmethod
    def _get_or_fill(container: Sequence | dict, index: Any, fillvalue: Any) -> Any:
        try:
            return container[index]
        except (IndexError, KeyError):
            return fillvalue

    def __getitem__(self, index: Any) -> Any:
        if index >= len(self):
            raise IndexError(index)
        return tuple(self._get_or_fill(value, index, self.fillvalue) for value in self.values)

    def __len__(self) -> int:
        lengths = (len(v) for v in self.values)
        return max(lengths) if self.fillvalue is not NOTSET else min(lengths)

    @classmethod
    def of(cls, fillvalue: Any, *values: Any) -> ZipResult:
        return cls([_checked("zip", v) for v in values], fillvalue)


class ConcatResult(Sequence):
    """The values one after another (a dict contributes its keys), with index access."""

    def __init__(self, values: Sequence[Sequence | dict]) -> None:
        self.values = list(values)

    def __getitem__(self, index: Any) -> Any:
        i = index if index >= 0 else len(self) + index
        for value in self.values:
            if i < 0:
                break
            if i >= (curlen := len(value)):
                i -= curlen
            elif isinstance(value, Sequence):
                return value[i]
            else:
                return next(itertools.islice(iter(value), i, None))
        raise IndexError("list index out of range")

    def __len__(self) -> int:
        return sum(len(v) for v in self.values)

    @classmethod
    def of(cls, *values: Any) -> ConcatResult:
        return cls([_checked("concat", v) for v in values])


LAZY = (MapResult, ZipResult, ConcatResult)


@dataclass(frozen=True)
class Element:
    """One element of a lazy sequence that a task is mapped over, read when its run starts."""

    sequence: Sequence
    index: int

    def get(self) -> Any:
        return self.sequence[self.index]


def elements(value: Any) -> list[Any] | None:
    """The elements of a lazy sequence as :class:`Element` stand-ins (None for other values)."""
    if isinstance(value, LAZY):
        return [Element(value, i) for i in range(len(value))]
    return None


def realize(kwargs: Mapping[str, Any]) -> dict[str, Any]:
    """``kwargs`` with the :class:`Element` stand-ins read."""
    return {k: (v.get() if isinstance(v, Element) else v) for k, v in kwargs.items()}


def realize_args(args: tuple[Any, ...]) -> tuple[Any, ...]:
    """Positional ``args`` with the :class:`Element` stand-ins read (a mapped group's argument
    given positionally)."""
    return tuple(v.get() if isinstance(v, Element) else v for v in args)
