"""TriggerDagRunOperator and trigger_run: a run of another flow, recorded in the same history,
with its conf, waited for (and failed on Airflow's failed states) when asked."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

TARGET = """
import pendulum
from airflow.sdk import DAG, task

with DAG("target", schedule=None, start_date=pendulum.datetime(2024, 1, 1, tz="UTC")):
    @task
    def echo(dag_run=None):
        if dag_run.conf.get("fail") == "True":
            raise ValueError("asked to fail")
        return dag_run.conf
    echo()
"""
CONTROLLER = """
import pendulum
from airflow.sdk import DAG
from airflow.providers.standard.operators.trigger_dagrun import TriggerDagRunOperator

with DAG("controller", schedule=None, start_date=pendulum.datetime(2024, 1, 1, tz="UTC"),
         params={"fail": False}):
    TriggerDagRunOperator(task_id="kick", trigger_dag_id="target",
                          conf={"x": 1, "fail": "{{ params.fail }}"},
                          wait_for_completion=True, poke_interval=1)
"""


def _dagshift(*args, cwd):
    return subprocess.run([sys.executable, "-m", "dagshift", *map(str, args)], cwd=cwd,
                          capture_output=True, text=True, timeout=120)  # fmt: skip


def _error(db, tmp_path) -> str:
    """The error of the controller's task, as `dagshift runs show` records it."""
    [run] = json.loads(_dagshift("runs", "controller", "--json", "--db", db, cwd=tmp_path).stdout)
    shown = _dagshift("runs", "show", run["run_id"], "--json", "--db", db, cwd=tmp_path)
    return json.loads(shown.stdout)["tasks"][0]["error"]


def _files(tmp_path):
    (tmp_path / "target.py").write_text(textwrap.dedent(TARGET))
    (tmp_path / "controller.py").write_text(textwrap.dedent(CONTROLLER))
    db = tmp_path / "h.db"
    assert _dagshift("register", tmp_path / "target.py", "--db", db, cwd=tmp_path).returncode == 0
    return db


def test_trigger_dag_run_waits_for_the_run_it_started_with_its_conf(tmp_path):
    db = _files(tmp_path)
    out = _dagshift("run", tmp_path / "controller.py", "--json", "--db", db, cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["controller"]["tasks"]["kick"]["state"] == "success"
    runs = json.loads(_dagshift("runs", "target", "--json", "--db", db, cwd=tmp_path).stdout)
    [run] = runs
    assert (run["state"], run["trigger"], run["params"]) == ("success", "triggered",
                                                             {"x": 1, "fail": "False"})  # fmt: skip
    [controller] = json.loads(
        _dagshift("runs", "controller", "--json", "--db", db, cwd=tmp_path).stdout
    )
    assert run["why"] == f"triggered by run {controller['run_id']} of 'controller'"


def test_a_triggered_run_in_a_failed_state_fails_the_task_with_airflow_s_message(tmp_path):
    db = _files(tmp_path)
    out = _dagshift("run", tmp_path / "controller.py", "--json", "--db", db,
                    "--param", "fail=true", cwd=tmp_path)  # fmt: skip
    assert json.loads(out.stdout)["controller"]["tasks"]["kick"]["state"] == "failed"
    assert "target failed with failed state failed" in _error(db, tmp_path)


def test_an_unknown_dag_id_says_how_to_make_it_known(tmp_path):
    (tmp_path / "controller.py").write_text(textwrap.dedent(CONTROLLER))
    out = _dagshift("run", tmp_path / "controller.py", "--json", "--db", tmp_path / "h.db",
                    cwd=tmp_path)  # fmt: skip
    assert json.loads(out.stdout)["controller"]["tasks"]["kick"]["state"] == "failed"
    assert "no flow 'target' is registered" in _error(tmp_path / "h.db", tmp_path)


def test_a_target_beside_the_controller_is_found_as_in_airflows_dags_folder(tmp_path):
    """Airflow triggers a DAG parsed from the DAGs folder; `dagshift run controller.py` finds
    the target in the controller's folder (no `register` first) and records it."""
    (tmp_path / "dags").mkdir()
    (tmp_path / "dags" / "target.py").write_text(textwrap.dedent(TARGET))
    (tmp_path / "dags" / "controller.py").write_text(textwrap.dedent(CONTROLLER))
    db = tmp_path / "h.db"
    out = _dagshift("run", tmp_path / "dags" / "controller.py", "--json", "--db", db,
                    cwd=tmp_path)  # fmt: skip
    assert json.loads(out.stdout)["controller"]["tasks"]["kick"]["state"] == "success", out
    [run] = json.loads(_dagshift("runs", "target", "--json", "--db", db, cwd=tmp_path).stdout)
    assert (run["state"], run["trigger"]) == ("success", "triggered")


def test_trigger_run_from_a_functional_task_records_the_run_and_its_origin(tmp_path):
    from dagshift import Flow, get_run_context, task, trigger_run
    from dagshift.history.checkpoint import ResultStore, run_recorded
    from dagshift.history.store import Store

    @task
    def report():
        return get_run_context()["conf"]

    with Flow("report") as target:
        report()

    @task
    def kick():
        return trigger_run(target, conf={"day": "2024-01-15"}, wait_for_completion=True)

    with Flow("kicker") as kicker:
        kick()

    store = Store(tmp_path / "h.db")
    run = run_recorded(store, ResultStore.beside(store.path), kicker)
    triggered = store.get_run(run.tasks["kick"].result)
    assert (triggered["flow"], triggered["state"], triggered["params"]) == (
        "report", "success", {"day": "2024-01-15"})  # fmt: skip
