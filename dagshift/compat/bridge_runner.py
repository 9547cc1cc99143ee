"""Runs one bridged operator, hook method or notifier with real Airflow: ``python -m
dagshift.compat.bridge_runner REQUEST REPLY`` (cloudpickle files written and read by
:mod:`dagshift.compat.bridge`).

This process never installs the shim: ``airflow`` here is the installed apache-airflow.
"""

from __future__ import annotations

import importlib
import sys
import traceback
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import cloudpickle


class _TaskInstance:
    def __init__(self, context: dict[str, Any], task_id: str, pushed: dict[str, Any]) -> None:
        self.task_id = task_id
        self.dag_id = context["dag_id"]
        self.run_id = context["run_id"]
        self.map_index = context["map_index"]
        self.try_number = context["try_number"]
        self._pushed = pushed

    def xcom_push(self, key: str, value: Any, **_: Any) -> None:
        self._pushed[key] = value

    def xcom_pull(self, *args: Any, **kwargs: Any) -> Any:
        raise RuntimeError(
            "ti.xcom_pull is not available to an operator run through dagshift's bridge: pass "
            "upstream values as XComArgs (task.output) in the operator's arguments"
        )


def _context(payload: dict[str, Any], pushed: dict[str, Any]) -> dict[str, Any]:
    context = dict(payload["context"])
    ti = _TaskInstance(context, payload.get("kwargs", {}).get("task_id", ""), pushed)
    context["ti"] = context["task_instance"] = ti
    context["dag_run"] = SimpleNamespace(
        conf=context["conf"], run_id=context["run_id"], logical_date=context.get("logical_date")
    )
    return context


def _restore_code_files(kwargs: dict[str, Any], names: list[str | None]) -> None:
    """Give the DAG file's functions back their file name, so ``inspect.getsource`` works."""
    leaves: list[Any] = []

    def walk(value: Any) -> None:
        if isinstance(value, (list, tuple)):
            for v in value:
                walk(v)
        elif isinstance(value, dict):
            for v in value.values():
                walk(v)
        else:
            leaves.append(value)

    walk(kwargs)
    for value, name in zip(leaves, names, strict=False):
        code = getattr(value, "__code__", None)
        if name and code is not None and code.co_filename != name:
            value.__code__ = code.replace(co_filename=name)


def _real_dag(info: dict[str, Any]) -> Any:
    """A real DAG for the operator: some read it (its file, native rendering) when they run."""
    from airflow import DAG

    dag = DAG(
        info["dag_id"], schedule=None, render_template_as_native_obj=info["native"]
    )  # fmt: skip
    if info["fileloc"]:
        dag.fileloc = info["fileloc"]
    return dag


def _run(payload: dict[str, Any], pushed: dict[str, Any]) -> Any:
    cls = getattr(importlib.import_module(payload["module"]), payload["name"])
    if payload["kind"] == "operator":
        context = _context(payload, pushed)
        _restore_code_files(payload["kwargs"], payload.get("code_files", []))
        operator = cls(**payload["kwargs"], dag=_real_dag(payload["dag"]))
        operator.render_template_fields(context)
        return operator.execute(context)
    args, kwargs = payload["init"]
    if payload["kind"] == "notify":
        return cls(*args, **kwargs)(_context(payload, pushed))
    margs, mkwargs = payload["call"]
    return getattr(cls(*args, **kwargs), payload["method"])(*margs, **mkwargs)


def main(request: str, reply: str) -> int:
    payload = cloudpickle.loads(Path(request).read_bytes())
    pushed: dict[str, Any] = {}
    try:
        outcome: dict[str, Any] = {"result": _run(payload, pushed), "pushed": pushed}
    except Exception as exc:  # reported to the dagshift task, which fails (or skips)
        kind = "skip" if "Skip" in type(exc).__name__ else "error"
        message = f"{type(exc).__name__}: {exc}"
        if type(exc).__name__ == "TaskDeferred":
            message = (
                "the operator deferred itself to a trigger (an asynchronous wait), which "
                "dagshift's bridge cannot run: pass deferrable=False where the operator has "
                "it, or keep this DAG in Airflow"
            )
        else:
            traceback.print_exc()
        outcome = {"error": (kind, message), "pushed": pushed}
    try:
        data = cloudpickle.dumps(outcome)
    except Exception as exc:  # a result that cannot leave this process
        data = cloudpickle.dumps({"error": ("error", f"the result cannot be sent back: {exc}")})
    Path(reply).write_bytes(data)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], sys.argv[2]))
