"""The operator bridge: operators the shim does not implement, run by real Airflow.

Where apache-airflow (and the provider) is installed, an Airflow path the shim's table does
not list is served by a *bridge module*: each name in it is a shim operator class that keeps
the real class's path and the constructor arguments. When the task runs, dagshift substitutes
the values of XComArgs in those arguments, builds a context (dates, params, run id, conf) and
runs, in a fresh Python process without the shim, ``RealOperator(**arguments)``,
``render_template_fields(context)`` and ``execute(context)``; the return value comes back as
the task's result, keys pushed with ``ti.xcom_push`` as its pushed values. A separate process
keeps real Airflow and the shim from ever meeting in one interpreter, at the price of Airflow's
import time (a few seconds) per bridged task run.
"""

from __future__ import annotations

import importlib.machinery
import os
import subprocess
import sys
import tempfile
import types
from pathlib import Path
from typing import Any

import cloudpickle

from dagshift.compat.baseoperator import BaseOperator, _accepted, map_leaves
from dagshift.compat.exceptions import AirflowException, AirflowSkipException

__all__ = ["BridgeOperator", "bridge_module", "real_airflow_has"]

_classes: dict[tuple[str, str], type] = {}


def _real_airflow_root() -> Path | None:
    spec = importlib.machinery.PathFinder.find_spec("airflow")
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(list(spec.submodule_search_locations)[0])


def real_airflow_has(path: str) -> bool:
    """True when the installed apache-airflow has the module ``path`` (``airflow.x.y``) and the
    bridge is not switched off (``DAGSHIFT_BRIDGE=0``)."""
    if os.environ.get("DAGSHIFT_BRIDGE", "1") == "0":
        return False
    root = _real_airflow_root()
    if root is None:
        return False
    parts = path.split(".")[1:]
    target = root.joinpath(*parts)
    return target.is_dir() or target.with_suffix(".py").is_file()


class _BridgeModule(types.ModuleType):
    """A module of real Airflow, seen through the bridge: its names are bridge operators."""

    def __getattr__(self, name: str) -> Any:
        full = f"{self.__name__}.{name}"
        if name.startswith("_"):
            raise AttributeError(name)
        if real_airflow_has(full):
            import importlib

            return importlib.import_module(full)
        if not _is_operator(self.__name__, name):
            from dagshift.compat.finder import missing_message

            raise ImportError(
                missing_message(full) + " (only operators and sensors run through the bridge)",
                name=self.__name__,
            )
        key = (self.__name__, name)
        if key not in _classes:
            cls = type(name, (BridgeOperator,), {"_real": key})
            cls.__module__ = self.__name__
            cls.__qualname__ = name
            _classes[key] = cls
        return _classes[key]


def _is_operator(module: str, name: str) -> bool:
    """Whether ``name`` in real Airflow's ``module`` is an operator or sensor class, read from
    the module's source (importing real Airflow here would mix it with the shim)."""
    import ast

    root = _real_airflow_root()
    if root is None:
        return False
    base = root.joinpath(*module.split(".")[1:])
    source = base / "__init__.py" if base.is_dir() else base.with_suffix(".py")
    try:
        tree = ast.parse(source.read_text(encoding="utf-8"))
    except (OSError, SyntaxError, ValueError):
        return False
    for node in ast.walk(tree):
        if isinstance(node, ast.ClassDef) and node.name == name:
            bases = [ast.unparse(b).rsplit(".", 1)[-1] for b in node.bases]
            return name.endswith(("Operator", "Sensor")) or any(
                b.endswith(("Operator", "Sensor")) for b in bases
            )
    return name.endswith(("Operator", "Sensor"))  # re-exported from elsewhere


def bridge_module(name: str) -> types.ModuleType:
    module = _BridgeModule(name)
    module.__path__ = []  # type: ignore[attr-defined]
    module.__dagshift_shim__ = True  # type: ignore[attr-defined]
    module.__dagshift_bridge__ = True  # type: ignore[attr-defined]
    return module


class BridgeOperator(BaseOperator):
    """A real Airflow operator, run through its own ``execute(context)`` by real Airflow."""

    _real: tuple[str, str] = ("", "")
    ui_color = "#ededed"

    def __init__(self, **kwargs: Any) -> None:
        base = _accepted(BaseOperator)
        own = {k: v for k, v in kwargs.items() if k in base}
        self._real_kwargs = {k: v for k, v in kwargs.items() if k not in base}
        super().__init__(**own)

    def _templated(self) -> list[str]:
        return ["_real_kwargs"]

    def render_template_fields(self, context: dict[str, Any], jinja_env=None, resolve=None):
        # The real operator renders its own template fields; here only XComArgs get values.
        if resolve is not None:
            self._real_kwargs = map_leaves(self._real_kwargs, resolve)

    def execute(self, context: dict[str, Any]) -> Any:
        module, name = self._real
        ti = context["ti"]
        payload = {
            "module": module,
            "name": name,
            "kwargs": {"task_id": self.task_id, "params": context["params"], **self._real_kwargs},
            "context": _portable_context(context),
        }
        with tempfile.TemporaryDirectory(prefix="dagshift-bridge-") as tmp:
            request, reply = Path(tmp) / "request.pkl", Path(tmp) / "reply.pkl"
            request.write_bytes(cloudpickle.dumps(payload))
            env = dict(os.environ)
            env.setdefault("AIRFLOW_HOME", str(Path(tmp) / "airflow-home"))
            env["AIRFLOW__CORE__LOAD_EXAMPLES"] = "False"
            proc = subprocess.run(
                [sys.executable, "-m", "dagshift.compat.bridge_runner", str(request), str(reply)],
                env=env,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
            )
            if proc.stdout:
                print(proc.stdout, end="" if proc.stdout.endswith("\n") else "\n")
            if not reply.is_file():
                raise AirflowException(
                    f"the bridge could not run {module}.{name} (exit {proc.returncode}); "
                    "its output is above"
                )
            outcome = cloudpickle.loads(reply.read_bytes())
        for key, value in outcome.get("pushed", {}).items():
            ti.xcom_push(key=key, value=value)
        if "error" in outcome:
            kind, message = outcome["error"]
            if kind == "skip":
                raise AirflowSkipException(message)
            raise AirflowException(f"{module}.{name}: {message}")
        return outcome.get("result")


_PORTABLE = (
    "ds",
    "ds_nodash",
    "ts",
    "ts_nodash",
    "ts_nodash_with_tz",
    "logical_date",
    "data_interval_start",
    "data_interval_end",
    "params",
    "run_id",
    "execution_date",
    "yesterday_ds",
    "tomorrow_ds",
)


def _portable_context(context: dict[str, Any]) -> dict[str, Any]:
    out = {k: context[k] for k in _PORTABLE if k in context}
    dag_run = context["dag_run"]
    out["conf"] = dict(dag_run.conf or {})
    out["dag_id"] = context["ti"].dag_id
    out["map_index"] = context["ti"].map_index
    out["try_number"] = context["ti"].try_number
    return out
