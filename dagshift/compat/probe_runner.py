"""Answers questions about the installed apache-airflow: ``python -m
dagshift.compat.probe_runner`` reads one JSON request a line on stdin and writes one JSON reply
a line on stdout (see :mod:`dagshift.compat.probe`).

This process never installs the shim, so ``import airflow`` here is real Airflow with all its
import-time machinery: the deprecated aliases Airflow 2.x creates in ``sys.modules`` (no file on
disk), lazy ``__getattr__`` re-exports, providers found through their entry points. Asking it
is the only faithful way to know what a DAG file importing Airflow would get.
"""

from __future__ import annotations

import importlib
import inspect
import json
import sys
import warnings
from typing import Any

# The bases that decide how the shim serves a class, most specific first.
_BASES = (
    ("hitl", ("airflow.providers.standard.operators.hitl",), "HITLOperator"),
    ("sensor", ("airflow.sdk", "airflow.sensors.base"), "BaseSensorOperator"),
    ("operator", ("airflow.sdk", "airflow.models.baseoperator"), "BaseOperator"),
    ("hook", ("airflow.sdk", "airflow.hooks.base"), "BaseHook"),
    ("notifier", ("airflow.sdk", "airflow.notifications.basenotifier"), "BaseNotifier"),
)
_JSON_VALUES = (str, int, float, bool, type(None))


def _bases() -> list[tuple[str, type]]:
    found = []
    for kind, modules, name in _BASES:
        for module in modules:
            try:
                base = getattr(importlib.import_module(module), name)
            except (ImportError, AttributeError):
                continue
            found.append((kind, base))
    return found


def _plain(value: Any) -> bool:
    if isinstance(value, _JSON_VALUES):
        return True
    if isinstance(value, (list, tuple)):
        return all(_plain(v) for v in value)
    if isinstance(value, dict):
        return all(isinstance(k, str) and _plain(v) for k, v in value.items())
    return False


def _error(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"


def construct(request: dict[str, Any]) -> dict[str, Any]:
    """Build the real operator from plain arguments, as Airflow does when it parses the file:
    its constructor's own checks (a bad argument value) fail here, at load."""
    import base64

    import cloudpickle

    module, _, qualname = request["target"].partition(":")
    cls = getattr(importlib.import_module(module), qualname)
    try:
        cls(**cloudpickle.loads(base64.b64decode(request["construct"])))
    except Exception as exc:
        return {"found": True, "error": _error(exc)}
    return {"found": True, "error": None}


def answer(request: dict[str, Any], bases: list[tuple[str, type]]) -> dict[str, Any]:
    """One reply: whether a module exists, or what one of its names is."""
    if "construct" in request:
        return construct(request)
    module_name = request["module"]
    try:
        module = importlib.import_module(module_name)
    except Exception as exc:  # missing, or a provider whose own dependencies are missing
        missing = isinstance(exc, ModuleNotFoundError) and module_name.startswith(str(exc.name))
        return {"found": False, "error": None if missing else _error(exc)}
    name = request.get("name")
    if name is None:
        return {"found": True, "package": hasattr(module, "__path__")}
    try:
        value = getattr(module, name)
    except Exception as exc:
        return {"found": False, "error": None if isinstance(exc, AttributeError) else _error(exc)}
    if inspect.ismodule(value):
        return {"found": True, "kind": "module", "target": value.__name__}
    if inspect.isclass(value):
        kind = next((k for k, base in bases if issubclass(value, base)), "class")
        return {"found": True, "kind": kind, "target": f"{value.__module__}:{value.__qualname__}"}
    if _plain(value):
        return {"found": True, "kind": "value", "value": value}
    kind = "function" if callable(value) else "value"
    return {"found": True, "kind": kind, "target": f"{getattr(value, '__module__', '')}:{name}"}


def main() -> int:
    warnings.simplefilter("ignore")  # deprecation warnings of aliases: the shim reports its own
    bases: list[tuple[str, type]] | None = None
    for line in sys.stdin:
        request = json.loads(line)
        if bases is None:
            bases = _bases()
        try:
            reply = answer(request, bases)
        except Exception as exc:  # never leave the asking process waiting
            reply = {"found": False, "error": _error(exc)}
        sys.stdout.write(json.dumps(reply) + "\n")
        sys.stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
