"""``Param`` and ``params``: declared DAG parameters with defaults.

A ``Param``'s default becomes the runtime flow's parameter default; a run's conf overrides it
(``dagshift run --param KEY=VALUE``), as Airflow does with ``dag_run_conf_overrides_params``.
The JSON-schema keywords of a Param (``type``, ``minimum``, ``enum`` ...) are kept for
documentation; dagshift checks only ``type`` and ``enum``, with Airflow's error type.
"""

from __future__ import annotations

from typing import Any

from dagshift.compat.exceptions import ParamValidationError

__all__ = ["DagParam", "Param", "ParamsDict"]

_TYPES = {
    "string": str,
    "integer": int,
    "number": (int, float),
    "boolean": bool,
    "array": list,
    "object": dict,
    "null": type(None),
}


class _NoValue:
    def __repr__(self) -> str:
        return "NOTSET"


NOTSET = _NoValue()


class Param:
    """A DAG parameter: ``Param(5, type="integer", minimum=0)``."""

    def __init__(self, default: Any = NOTSET, description: str | None = None, **schema: Any):
        self.value = default
        self.description = description
        self.schema = schema

    def __repr__(self) -> str:
        return f"Param({self.value!r})"

    def resolve(self, value: Any = NOTSET, suppress_exception: bool = False) -> Any:
        final = self.value if value is NOTSET else value
        try:
            self._check(final)
        except ParamValidationError:
            if suppress_exception:
                return None
            raise
        return final

    def _check(self, value: Any) -> None:
        if value is NOTSET:
            raise ParamValidationError("No value passed and Param has no default value")
        kinds = self.schema.get("type")
        if kinds is not None:
            names = kinds if isinstance(kinds, list) else [kinds]
            types = tuple(
                t
                for n in names
                for t in (_TYPES[n] if isinstance(_TYPES[n], tuple) else (_TYPES[n],))
            )
            if not isinstance(value, types) or (bool not in types and isinstance(value, bool)):
                raise ParamValidationError(
                    f"Invalid input for param: {value!r} is not of type {kinds}"
                )
        if "enum" in self.schema and value not in self.schema["enum"]:
            raise ParamValidationError(
                f"Invalid input for param: {value!r} is not one of {self.schema['enum']}"
            )

    def dump(self) -> dict[str, Any]:
        return {"value": self.value, "description": self.description, "schema": self.schema}


class ParamsDict(dict):
    """A dict of params; values that are :class:`Param` read as their values."""

    def __getitem__(self, key: str) -> Any:
        value = super().__getitem__(key)
        return value.resolve() if isinstance(value, Param) else value


class DagParam:
    """An ``@dag`` function's argument: the run's value of that param, resolved when a task
    that received it runs."""

    def __init__(self, name: str, dag: Any) -> None:
        self.name = name
        self.dag = dag

    def __repr__(self) -> str:
        return f"DagParam({self.name!r})"

    def resolve(self, context: dict[str, Any]) -> Any:
        return context["params"][self.name]
