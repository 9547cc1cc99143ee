"""The dates an asset-triggered run shows its tasks, through a real ``dagshift serve``.

Airflow 3 gives a run started by asset events no logical date: its task runner sets
``logical_date``, ``ds``, ``ts`` (and relatives) and the data interval only
``if logical_date := coerce_datetime(dag_run.logical_date)``, with the comment "logical_date and
data_interval either coexist or be None together" (airflow/sdk/execution_time/task_runner.py,
3.3), and the scheduler creates asset-triggered runs with ``logical_date=None`` and a
``run_after``. Airflow 2.11's dataset-triggered runs keep an ``execution_date``: the time of the
newest queued event (scheduler_job_runner._create_dag_runs_dataset_triggered), with a data
interval. dagshift's history keeps each run's date (the newest event's time, which makes two
services record one run) and shows the run to Airflow 3 code as Airflow 3 does.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys

from dagshift.history.store import Store
from tests.history.conftest import ROOT, spawn, wait_for

CONSUMER_3 = """
import json, os
import pendulum
from airflow.sdk import DAG, Asset, get_current_context, task
from airflow.providers.standard.operators.bash import BashOperator

with DAG("dates_3", schedule=[Asset("s3://dates/raw.csv")],
         start_date=pendulum.datetime(2024, 1, 1, tz="UTC")):

    @task
    def seen(dag_run=None):
        context = get_current_context()
        names = ("logical_date", "ds", "ts", "data_interval_start", "data_interval_end")
        out = {
            "dag_run.logical_date": dag_run.logical_date,
            "dag_run.data_interval_start": dag_run.data_interval_start,
            "run_after_set": dag_run.run_after is not None,
            "run_type": dag_run.run_type,
            "in_context": sorted(n for n in names if n in context),
            "get": context.get("logical_date"),
        }
        with open(os.path.join(os.environ["MARKS"], "dates_3"), "w") as fh:
            json.dump(out, fh)

    seen() >> BashOperator(task_id="env", bash_command="echo ${AIRFLOW_CTX_LOGICAL_DATE:-unset}")
"""
PRODUCER_3 = """
import pendulum
from airflow.sdk import DAG, Asset, task

with DAG("make_3", schedule=None, start_date=pendulum.datetime(2024, 1, 1, tz="UTC")):
    task(outlets=[Asset("s3://dates/raw.csv")])(lambda: 1).override(task_id="write")()
"""
CONSUMER_2 = """
import json, os
from datetime import datetime
from airflow import DAG
from airflow.datasets import Dataset
from airflow.operators.python import PythonOperator

def seen(dag_run=None, execution_date=None, logical_date=None, ds=None, **_):
    out = {"dag_run.execution_date": str(dag_run.execution_date),
           "execution_date": str(execution_date), "logical_date": str(logical_date), "ds": ds,
           "run_type": dag_run.run_type}
    with open(os.path.join(os.environ["MARKS"], "dates_2"), "w") as fh:
        json.dump(out, fh)

with DAG("dates_2", schedule=[Dataset("file:///tmp/dates/ds.csv")],
         start_date=datetime(2024, 1, 1), catchup=False):
    PythonOperator(task_id="seen", python_callable=seen)
"""
PRODUCER_2 = """
from datetime import datetime
from airflow.datasets import Dataset
from airflow.decorators import dag, task

@dag(schedule=None, start_date=datetime(2024, 1, 1), catchup=False)
def make_2():
    @task(outlets=[Dataset("file:///tmp/dates/ds.csv")])
    def write():
        return 1
    write()

make_2()
"""


def _dagshift(*args, cwd, env):
    return subprocess.run(
        [sys.executable, "-m", "dagshift", *map(str, args)],
        cwd=cwd, env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip


def _serve_and_produce(tmp_path, files: dict[str, str], producers: list[str], consumers):
    folder, marks, db = tmp_path / "dags", tmp_path / "marks", tmp_path / "h.db"
    folder.mkdir()
    marks.mkdir()
    for name, text in files.items():
        (folder / name).write_text(text)
    env = {**os.environ, "PYTHONPATH": str(ROOT), "MARKS": str(marks)}
    proc = spawn("serve", folder, "--db", db, "--poll", "0.2", cwd=tmp_path, env=env)
    try:
        wait_for(lambda: db.exists() and len(Store(db).flows()) >= len(files)
                 or proc.poll() is not None, timeout=60, what="serve to load")  # fmt: skip
        assert proc.poll() is None, proc.communicate()[1]
        for name in producers:
            done = _dagshift("run", folder / name, "--db", db, cwd=tmp_path, env=env)
            assert done.returncode == 0, done.stderr
        wait_for(lambda: all(
            [r["state"] for r in Store(db).list_runs(c, limit=None)] == ["success"]
            for c in consumers), timeout=60, what="the consumer runs")  # fmt: skip
    finally:
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    return marks, db


def test_an_airflow_3_asset_triggered_run_has_no_logical_date(tmp_path):
    marks, db = _serve_and_produce(
        tmp_path, {"dates_3.py": CONSUMER_3, "make_3.py": PRODUCER_3}, ["make_3.py"], ["dates_3"]
    )
    assert json.loads((marks / "dates_3").read_text()) == {
        "dag_run.logical_date": None,
        "dag_run.data_interval_start": None,
        "run_after_set": True,
        "run_type": "asset_triggered",
        "in_context": [],
        "get": None,
    }
    [run] = Store(db).list_runs("dates_3", limit=None)
    assert run["trigger"] == "asset" and run["logical_date"]  # the history keeps its date
    shown = _dagshift("runs", "--db", db, "show", run["run_id"], "--logs", cwd=tmp_path,
                      env=os.environ)  # fmt: skip
    assert "unset" in shown.stdout  # no AIRFLOW_CTX_LOGICAL_DATE either


def test_an_airflow_2_dataset_triggered_run_keeps_its_execution_date(tmp_path):
    marks, db = _serve_and_produce(
        tmp_path, {"dates_2.py": CONSUMER_2, "make_2.py": PRODUCER_2}, ["make_2.py"], ["dates_2"]
    )
    seen = json.loads((marks / "dates_2").read_text())
    [run] = Store(db).list_runs("dates_2", limit=None)
    assert seen["run_type"] == "dataset_triggered"  # Airflow 2.11's DagRunType value
    assert seen["execution_date"] == seen["dag_run.execution_date"] == seen["logical_date"]
    assert seen["execution_date"] != "None" and seen["ds"] == seen["execution_date"][:10]
    assert run["logical_date"].startswith(seen["ds"])  # the recorded date (newest event's)
