"""The bridge: what the shim does not implement, run by real Airflow.

Where apache-airflow (and the provider) is installed, an Airflow path the shim's table does
not list is served by a *bridge module*, and a name the shim lacks in a module it serves goes
the same way, but only what the installed Airflow really resolves (asked of it, see
:mod:`dagshift.compat.probe`): anything else fails at import, so a file fails when it loads,
never when its task runs. What a name becomes depends on what it is in real Airflow:

- an operator or sensor: a shim operator class that keeps the real class's path and the
  constructor arguments. When the task runs, dagshift substitutes the values of XComArgs in
  those arguments, builds a context (dates, params, run id, conf) and runs, in a fresh Python
  process without the shim, ``RealOperator(**arguments)``, ``render_template_fields(context)``
  and ``execute(context)``; the return value comes back as the task's result, keys pushed
  with ``ti.xcom_push`` as its pushed values;
- a hook: an object that keeps its constructor arguments; each method call is made, in such a
  process, on a real hook built from them (its result must be picklable);
- a notifier: a callback that calls the real notifier with the task's context there;
- plain data (a string, a number, a list of them): its value;
- anything else (another class, a function): an import error that says why.

A separate process keeps real Airflow and the shim from ever meeting in one interpreter, at the
price of Airflow's import time (a few seconds) per bridged call. Connections of dagshift's
connections file reach it as ``AIRFLOW_CONN_*`` variables.
"""

from __future__ import annotations

import datetime
import importlib
import os
import subprocess
import sys
import tempfile
import types
from pathlib import Path
from typing import Any

import cloudpickle

from dagshift.compat import probe
from dagshift.compat.baseoperator import BaseOperator, _accepted, map_leaves
from dagshift.compat.exceptions import AirflowException, AirflowSkipException
from dagshift.compat.hooks import BaseHook as _ShimBaseHook

__all__ = ["BridgeHook", "BridgeNotifier", "BridgeOperator", "bridge_attribute", "bridge_module"]

_classes: dict[tuple[str, str], Any] = {}
# Values that mean the same on both sides of the bridge (containers are walked).
_PLAIN = (str, bytes, int, float, bool, type(None), datetime.date, datetime.timedelta, Path)
_PLAIN_MODULES = frozenset({"pendulum", "docker"})


def _code_file(value: Any) -> str | None:
    code = getattr(value, "__code__", None)
    return getattr(code, "co_filename", None)


def _is_plain(value: Any) -> bool:
    if isinstance(value, _PLAIN):
        return True
    return not callable(value) and type(value).__module__.split(".")[0] in _PLAIN_MODULES


_SERVED = "operators, sensors, hooks and notifiers"


def real_airflow_has(path: str) -> bool:
    """True when the bridge is on and the installed apache-airflow resolves the module
    ``path`` (``airflow.x.y``), its import-time aliases included."""
    return probe.bridge_enabled() and probe.ask(path)["found"]


def not_in_airflow_message(path: str, error: str | None = None) -> str:
    """What to say when neither the shim nor the installed Airflow serves ``path``."""
    version = probe.real_airflow_version() or "(unknown version)"
    if error:
        return (
            f"{path} is not in dagshift's Airflow shim, and the installed apache-airflow "
            f"{version} fails to import it ({error}): install what it needs (the provider "
            "package and its dependencies), or convert the file with `dagshift migrate` and "
            "replace this use"
        )
    return (
        f"{path} is neither in dagshift's Airflow shim nor in the installed apache-airflow "
        f"{version}: check the import against the Airflow version the file was written for, "
        "install the provider package that has it, or convert the file with `dagshift "
        "migrate` and replace this use"
    )


class _BridgeModule(types.ModuleType):
    """A module of real Airflow, seen through the bridge."""

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)
        return bridge_attribute(self.__name__, name)


def bridge_attribute(module: str, name: str) -> Any:
    """What the shim serves for ``module.name`` from real Airflow (see the module docstring).

    Raises:
        ImportError: the installed Airflow lacks it, or it is of a kind the bridge cannot run.
    """
    full = f"{module}.{name}"
    answer = probe.ask(module, name)
    if not answer["found"]:
        raise ImportError(not_in_airflow_message(full, answer.get("error")), name=module)
    kind = answer["kind"]
    if kind == "module":
        return importlib.import_module(full if real_airflow_has(full) else answer["target"])
    if kind == "value" and "value" in answer:
        return answer["value"]
    if kind not in ("operator", "sensor", "hook", "notifier", "hitl"):
        raise ImportError(
            f"{full} is a {kind} of the installed apache-airflow ({answer['target']}), and "
            f"dagshift's bridge runs only {_SERVED} of real Airflow, each in a process of its "
            "own: a DAG file run by the shim cannot use it. Convert the file with `dagshift "
            "migrate` and replace this use, or run the DAG in Airflow",
            name=module,
        )
    key = (module, name)
    if key not in _classes:
        real_module, _, qualname = answer["target"].partition(":")
        base = {"hook": BridgeHook, "notifier": BridgeNotifier}.get(kind, BridgeOperator)
        cls = type(name, (base,), {"_real": (real_module, qualname), "_bridged_kind": kind})
        cls.__module__, cls.__qualname__ = module, name
        _classes[key] = cls
    return _classes[key]


def bridge_module(name: str) -> types.ModuleType:
    module = _BridgeModule(name)
    module.__path__ = []  # type: ignore[attr-defined]
    module.__dagshift_shim__ = True  # type: ignore[attr-defined]
    module.__dagshift_bridge__ = True  # type: ignore[attr-defined]
    return module


def run_real(payload: dict[str, Any], what: str) -> dict[str, Any]:
    """Run ``payload`` with :mod:`dagshift.compat.bridge_runner` in a process without the
    shim; its outcome (``result``, ``pushed``, or ``error``). Its output is printed here."""
    from dagshift.compat.connections import as_airflow_environment

    with tempfile.TemporaryDirectory(prefix="dagshift-bridge-") as tmp:
        request, reply = Path(tmp) / "request.pkl", Path(tmp) / "reply.pkl"
        request.write_bytes(cloudpickle.dumps(payload))
        env = {**as_airflow_environment(), **os.environ}
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
                f"the bridge could not run {what} (exit {proc.returncode}); its output is above"
            )
        return cloudpickle.loads(reply.read_bytes())


def _raise_error(outcome: dict[str, Any], what: str) -> None:
    if "error" in outcome:
        kind, message = outcome["error"]
        if kind == "skip":
            raise AirflowSkipException(message)
        raise AirflowException(f"{what}: {message}")


class BridgeOperator(BaseOperator):
    """A real Airflow operator, run through its own ``execute(context)`` by real Airflow."""

    _real: tuple[str, str] = ("", "")
    ui_color = "#ededed"

    def __init__(self, **kwargs: Any) -> None:
        base = _accepted(BaseOperator)
        own = {k: v for k, v in kwargs.items() if k in base}
        self._real_kwargs = {k: v for k, v in kwargs.items() if k not in base}
        super().__init__(**own)
        self._check_with_real_airflow()

    def _check_with_real_airflow(self) -> None:
        """Airflow builds the operator when it parses the file, so a value its constructor
        rejects is an import error there: build it in the probe process too. Only plain
        values cross; arguments holding XComArgs or the file's own functions are checked when
        the task runs."""
        kwargs = {"task_id": self.task_id, **self._real_kwargs}
        plain: list[bool] = []
        map_leaves(kwargs, lambda v: plain.append(_is_plain(v)))
        if not all(plain):
            return
        module, name = self._real
        error = probe.construct_error(f"{module}:{name}", kwargs)
        if error:
            raise AirflowException(
                f"{type(self).__module__}.{type(self).__name__}(task_id={self.task_id!r}) is "
                f"rejected by the installed apache-airflow {probe.real_airflow_version()}: "
                f"{error}"
            )

    def _templated(self) -> list[str]:
        return ["_real_kwargs"]

    def render_template_fields(self, context: dict[str, Any], jinja_env=None, resolve=None):
        # The real operator renders its own template fields; here only XComArgs get values.
        if resolve is not None:
            self._real_kwargs = map_leaves(self._real_kwargs, resolve)

    def execute(self, context: dict[str, Any]) -> Any:
        module, name = self._real
        if getattr(self, "_bridged_kind", "") == "hitl":
            raise AirflowException(
                f"{module}.{name} is a human-in-the-loop operator: it waits for an answer given "
                "in Airflow's UI, and dagshift has no such UI. Replace it with a task that reads "
                "the decision (a param of the run: `dagshift run --param`), or keep this DAG "
                "in Airflow"
            )
        payload = {
            "kind": "operator",
            "module": module,
            "name": name,
            "kwargs": {"task_id": self.task_id, "params": context["params"], **self._real_kwargs},
            "context": _portable_context(context),
        }
        # cloudpickle ships the file's functions without their file name, and operators that
        # run a callable elsewhere (PythonVirtualenvOperator) read its source: send the names.
        names: list[str | None] = []
        map_leaves(payload["kwargs"], lambda v: names.append(_code_file(v)))
        payload["code_files"] = names
        dag = getattr(self, "dag", None)
        payload["dag"] = {
            "dag_id": context["ti"].dag_id,
            "fileloc": getattr(dag, "fileloc", None),
            "native": bool(getattr(dag, "render_template_as_native_obj", False)),
        }
        outcome = run_real(payload, f"{module}.{name}")
        for key, value in outcome.get("pushed", {}).items():
            context["ti"].xcom_push(key=key, value=value)
        _raise_error(outcome, f"{module}.{name}")
        return outcome.get("result")


class BridgeHook(_ShimBaseHook):
    """A real Airflow hook: each method call runs on a real hook in a process of its own.

    Only method calls cross (``hook.get_records(sql)``); the hook is rebuilt from its
    constructor arguments for each, as a hook made in each task of an Airflow DAG would be.
    """

    _real: tuple[str, str] = ("", "")
    _bridged_kind = "hook"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__()
        self._args, self._kwargs = args, kwargs

    def get_conn(self, *args: Any, **kwargs: Any) -> Any:
        return self.__getattr__("get_conn")(*args, **kwargs)  # the real one, not BaseHook's

    def __getattr__(self, method: str) -> Any:
        if method.startswith("_"):
            raise AttributeError(method)
        module, name = self._real

        def call(*args: Any, **kwargs: Any) -> Any:
            payload = {
                "kind": "call",
                "module": module,
                "name": name,
                "init": (self._args, self._kwargs),
                "method": method,
                "call": (args, kwargs),
            }
            outcome = run_real(payload, f"{module}.{name}.{method}")
            _raise_error(outcome, f"{module}.{name}.{method}")
            return outcome.get("result")

        call.__name__ = method
        return call

    def __repr__(self) -> str:
        return f"<bridged {'.'.join(self._real)}>"


class BridgeNotifier:
    """A real Airflow notifier used as a callback: called with the task's context, it runs
    the real notifier (templates rendered, ``notify`` called) in a process of its own."""

    _real: tuple[str, str] = ("", "")
    _bridged_kind = "notifier"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self._args, self._kwargs = args, kwargs

    def __call__(self, context: dict[str, Any]) -> None:
        module, name = self._real
        payload = {
            "kind": "notify",
            "module": module,
            "name": name,
            "init": (self._args, self._kwargs),
            "context": _portable_context(context),
        }
        _raise_error(run_real(payload, f"{module}.{name}"), f"{module}.{name}")


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
