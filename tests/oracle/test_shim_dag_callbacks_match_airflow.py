"""A DAG's on_success_callback / on_failure_callback, run unmodified through the shim, as
Airflow's ``dag.test()`` calls them.

Both generations call them once the run ended, with the reason ("success" / "task_failure")
and the context of one task instance of the run, which each picks its own way (pinned here):
Airflow 3.3 the task that succeeded (on success) or failed (on failure) last, by end date;
Airflow 2.11 the last row of ``dagrun.get_task_instances()``, whatever its state. The tasks
are made so that definition order, id order and end order each name another task. The log
path differs per test run, so the oracle's cache never skips Airflow here.
"""

from __future__ import annotations

import pytest

from tests.oracle.harness import airflow_run
from tests.oracle.test_shim_parity import DAGSHIFT, dagshift_run

pytestmark = pytest.mark.oracle

_SOURCE = """
import os

import pendulum

{imports}


def _write(line):
    with open(os.environ["DAGSHIFT_CALLBACK_LOG"], "a") as f:
        f.write(line + "\\n")


def finished(context):
    ti, task = context["ti"], context["task"]
    assert context["task_instance"] is ti
    _write(
        f"finished {{context['dag'].dag_id}} {{context['reason']}} {{ti.task_id}} "
        f"{{task.task_id}} {{context['ds']}} {{'execution_date' in context}}"
    )


def alert(context):
    _write(
        f"alert {{context['dag'].dag_id}} {{context['reason']}} {{context['ti'].task_id}} "
        f"{{context['dag_run'].conf}}"
    )


def broken(context):
    raise RuntimeError("a broken DAG callback")


def ok():
    return "ok"


def fails():
    raise ValueError("no")


def _chain(callable_, rule):
    # defined zulu, alpha, mike; run mike, zulu, alpha
    zulu = PythonOperator(task_id="zulu", python_callable=callable_, trigger_rule=rule)
    alpha = PythonOperator(task_id="alpha", python_callable=callable_, trigger_rule=rule)
    mike = PythonOperator(task_id="mike", python_callable=callable_)
    mike >> zulu >> alpha


start = pendulum.datetime(2024, 1, 1, tz="UTC")
with DAG("cb_ok", start_date=start, schedule=None, on_success_callback=[broken, finished],
         on_failure_callback=alert):
    _chain(ok, "all_success")

with DAG("cb_bad", start_date=start, schedule=None, on_success_callback=finished,
         on_failure_callback=[broken, alert, finished]):
    _chain(fails, "all_done")

with DAG("cb_none", start_date=start, schedule=None):
    _chain(ok, "all_success")
"""
_IMPORTS = {
    "2": "from airflow import DAG\nfrom airflow.operators.python import PythonOperator",
    "3": "from airflow.providers.standard.operators.python import PythonOperator\n"
    "from airflow.sdk import DAG",
}
_LINES = {  # the task instance: 2.11 the last task defined, 3.3 the last to end so
    "2": [
        "alert cb_bad task_failure mike {}",
        "finished cb_bad task_failure mike mike 2024-01-15 True",
        "finished cb_ok success mike mike 2024-01-15 True",
    ],
    "3": [
        "alert cb_bad task_failure alpha {}",
        "finished cb_bad task_failure alpha alpha 2024-01-15 False",
        "finished cb_ok success alpha alpha 2024-01-15 False",
    ],
}


@pytest.mark.skipif(not DAGSHIFT.exists(), reason=f"{DAGSHIFT} is not installed")
@pytest.mark.parametrize("generation", ["2", "3"])
def test_shim_calls_the_dag_callbacks_as_airflow_dag_test_does(generation, tmp_path):
    path = tmp_path / f"af{generation}_shim_dag_callbacks.py"
    path.write_text(_SOURCE.format(imports=_IMPORTS[generation]))
    logs = {side: tmp_path / f"{side}.log" for side in ("airflow", "dagshift")}
    env = {"DAGSHIFT_CALLBACK_LOG": str(logs["airflow"])}
    airflow = airflow_run(path, "2024-01-15", generation=generation, env=env)
    states = {dag_id: run["state"] for dag_id, run in airflow.items()}
    assert states == {"cb_ok": "success", "cb_bad": "failed", "cb_none": "success"}
    lines = sorted(logs["airflow"].read_text().splitlines())
    assert lines == _LINES[generation]
    run, stderr = dagshift_run(path, {"DAGSHIFT_CALLBACK_LOG": str(logs["dagshift"])}, tmp_path)
    assert run is not None, stderr
    assert {dag_id: r["state"] for dag_id, r in run.items()} == states
    assert sorted(logs["dagshift"].read_text().splitlines()) == lines
