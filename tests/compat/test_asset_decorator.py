"""``@asset`` / ``@asset.multi`` under the shim: the DAGs and runs real Airflow 3.3 gives.

One file of our own: an ``@asset`` with a URI, one scheduled on it that takes it as an inlet and
uses ``self``, ``context`` and a defaulted parameter, one with ``name=``/``dag_id=``, one on a
``@task`` function, and an ``@asset.multi``. Real Airflow's DagBag gives each DAG's id, schedule,
catchup and per task its outlets and inlets (by name); ``dag.test`` gives states and results.
"""

import json
import os
import subprocess

import pytest

from dagshift.runtime.assets import BaseAsset
from dagshift.runtime.loader import LoadError
from tests.compat.conftest import dagshift, run_json
from tests.oracle.harness import airflow_python, airflow_run

DAG_FILE = """
from airflow.sdk import Asset, asset, task

@asset(uri="s3://bucket/raw", schedule=None)
def raw():
    return "raw made"

@asset(schedule=raw, tags=["derived"])
def cleaned(self, context, raw, suffix="!"):
    return [self.name, self.uri, raw.name, raw.uri, context["dag"].dag_id + suffix]

@asset(name="report_asset", uri="file:///tmp/report.csv", dag_id="make_report", schedule=None)
def report():
    return 3

@asset(schedule=None)
@task(retries=2)
def with_task():
    return "a task"

@asset.multi(outlets=[Asset("left"), Asset("right")], schedule=None)
def both(outlet_events):
    return sorted(a.name for a in outlet_events)
"""
STRUCTURE = """
import json, sys
from airflow.dag_processing.dagbag import DagBag
def names(assets):
    return sorted([a.name, getattr(a, "uri", None)] for a in assets)
bag = DagBag(sys.argv[1])
print(json.dumps({"errors": [str(e) for e in bag.import_errors.values()], "dags": {
    d.dag_id: {"schedule": type(d.timetable).__name__, "catchup": d.catchup, "tags": sorted(d.tags),
               "tasks": {t.task_id: [names(t.outlets), sorted(a.name for a in t.inlets),
                                     t.retries] for t in d.tasks}}
    for d in bag.dags.values()}}))
"""


def _write(tmp_path):
    path = tmp_path / "dags" / "asset_functions.py"
    path.parent.mkdir()
    path.write_text(DAG_FILE)
    return path


@pytest.mark.oracle
def test_the_dags_are_airflows_dags(tmp_path, load):
    path = _write(tmp_path)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW", "DAGSHIFT"))}
    env |= {"AIRFLOW_HOME": str(tmp_path / "home"), "AIRFLOW__CORE__DAGS_FOLDER": str(path.parent)}
    proc = subprocess.run(
        [str(airflow_python("3")), "-I", "-c", STRUCTURE, str(path)],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    airflow = json.loads(proc.stdout.splitlines()[-1])
    assert not airflow["errors"]
    ours = {}
    for dag_id, flow in load(path).items():
        dag = flow.dag
        schedule = "NullTimetable" if dag.schedule is None else type(dag.schedule).__name__
        if isinstance(dag.schedule, BaseAsset):
            schedule = "AssetTriggeredTimetable"
        ours[dag_id] = {
            "schedule": schedule,
            "catchup": dag.catchup,
            "tags": sorted(dag.tags),
            "tasks": {
                t.task_id: [
                    sorted([a.name, a.uri] for a in t.outlets),
                    sorted(a.name for a in t.inlets),
                    t.retries,
                ]
                for t in dag.tasks
            },
        }
    assert ours == airflow["dags"]
    assert set(ours) == {"raw", "cleaned", "make_report", "with_task", "both"}


@pytest.mark.oracle
def test_the_runs_give_airflows_states_and_results(tmp_path):
    path = _write(tmp_path)
    airflow = airflow_run(path, "2024-01-15")
    ours = run_json(path, db=tmp_path / "h.db")
    assert ours.pop("__exit__") == 0
    assert ours == airflow
    assert airflow["cleaned"]["tasks"]["cleaned"]["result"] == [
        "cleaned",
        "cleaned",
        "raw",
        "s3://bucket/raw",
        "cleaned!",
    ]


def test_a_parameter_that_names_no_asset_fails_the_task_with_what_to_do(tmp_path):
    path = tmp_path / "typo.py"
    path.write_text(
        "from airflow.sdk import asset\n\n"
        "@asset(schedule=None)\n"
        "def made(missing_asset):\n"
        "    return 1\n"
    )
    db = str(tmp_path / "h.db")
    code, _, err = dagshift("run", str(path), "--date", "2024-01-15", "--db", db)
    assert code == 1
    run_id = err.split("dagshift: run ")[1].split()[0]
    _, shown, _ = dagshift("runs", "--db", db, "show", run_id, "--json")
    assert "AirflowException: asset 'missing_asset' not found" in shown


def test_a_task_with_its_own_outlets_is_refused_at_load(load, tmp_path):
    path = tmp_path / "refused.py"
    path.write_text(
        "from airflow.sdk import Asset, asset, task\n\n"
        "@asset(schedule=None)\n"
        "@task(outlets=[Asset('x')])\n"
        "def made():\n"
        "    return 1\n"
    )
    with pytest.raises(LoadError, match="refused.py:3: TypeError: @task decorator with 'outlets'"):
        load(path)
