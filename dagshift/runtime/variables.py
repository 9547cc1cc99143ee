"""Variables: named settings read at run time, as Airflow's Variables, without a database.

A value comes from the environment variable ``AIRFLOW_VAR_<KEY>`` (as in Airflow), else from
a local JSON store: the file named by ``DAGSHIFT_VARIABLES``, else
``.dagshift/variables.json`` in the working directory. ``Variable.set`` writes that file
atomically. The compat shim serves this class as Airflow's ``Variable`` and the converter
rewrites Airflow's to it, so an original DAG file and its conversion read one store.

A missing key without a default raises ``KeyError("Variable KEY does not exist")``: Airflow 2's
error. (Airflow 3's task SDK raises ``AirflowRuntimeError`` instead, which is no ``KeyError``;
the converter keeps an Airflow 3 file that catches ``KeyError`` around ``Variable.get``.)
"""

from __future__ import annotations

import json
import os
import threading
from pathlib import Path
from typing import Any

from dagshift.runtime.files import read_json_object, write_atomic

__all__ = ["Variable", "VariableAccessor"]

_MISSING = object()
_lock = threading.Lock()


def store_path() -> Path:
    return Path(os.environ.get("DAGSHIFT_VARIABLES", ".dagshift/variables.json"))


def _load_store() -> dict[str, Any]:
    return read_json_object(store_path(), "the variable store")


def _save(stored: dict[str, Any]) -> None:
    write_atomic(store_path(), json.dumps(stored, indent=2, sort_keys=True))


class Variable:
    """``Variable.get(key, default_var=..., deserialize_json=False)`` and ``Variable.set``.

    Example:
        >>> Variable.set("region", "eu")
        >>> Variable.get("region"), Variable.get("absent", default_var="none")
        ('eu', 'none')
    """

    def __init__(self, key: str | None = None, val: Any = None, description: str | None = None):
        self.key, self.val, self.description = key, val, description

    @classmethod
    def get(
        cls,
        key: str,
        default_var: Any = _MISSING,
        deserialize_json: bool = False,
        default: Any = _MISSING,
    ) -> Any:
        if default is not _MISSING:  # airflow.sdk spells it default
            default_var = default
        raw = os.environ.get(f"AIRFLOW_VAR_{key.upper()}")
        if raw is None:
            stored = _load_store()
            if key not in stored:
                if default_var is not _MISSING:
                    return default_var
                raise KeyError(f"Variable {key} does not exist")
            raw = stored[key]
            if not isinstance(raw, str):  # stored as JSON already
                return raw if deserialize_json else json.dumps(raw)
        return json.loads(raw) if deserialize_json else raw

    @classmethod
    def set(
        cls, key: str, value: Any, description: str | None = None, serialize_json: bool = False
    ) -> None:
        with _lock:
            stored = _load_store()
            # indent=2: the text Airflow 2.x and 3.x store, read back without deserialize_json
            stored[key] = json.dumps(value, indent=2) if serialize_json else str(value)
            _save(stored)

    @classmethod
    def delete(cls, key: str) -> int:
        with _lock:
            stored = _load_store()
            if stored.pop(key, _MISSING) is _MISSING:
                return 0
            _save(stored)
            return 1


class VariableAccessor:
    """``var.value.KEY`` / ``var.json.KEY`` in templates and ``context["var"]``."""

    def __init__(self, deserialize_json: bool) -> None:
        self._json = deserialize_json

    def __getattr__(self, key: str) -> Any:
        if key.startswith("__"):
            raise AttributeError(key)
        return Variable.get(key, deserialize_json=self._json)

    def __getitem__(self, key: str) -> Any:
        return Variable.get(key, deserialize_json=self._json)

    def get(self, key: str, default_var: Any = _MISSING) -> Any:
        return Variable.get(key, default_var, deserialize_json=self._json)

    def __repr__(self) -> str:
        return f"<VariableAccessor json={self._json}>"
