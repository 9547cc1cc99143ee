"""A whole Airflow 2 repository: every DAG real Airflow's DagBag loads, the shim loads the same.

``fixtures/repo_af2`` is laid out like a real repository (see its README): DAGs in subfolders,
helpers in ``dags/utils`` that subclass ``BaseHook`` via ``airflow.hooks.base_hook``, provider
operators through Airflow 2's import-time alias modules, an ``.airflowignore``, and files that
real Airflow fails to load (a missing provider, a removed class, a value the operator's
constructor rejects). Both sides run in ``.venv-airflow2-repo`` (``make repo-env``): apache-airflow
2.11.2 and the docker provider with dagshift installed beside them, as a team would have it.
"""

import json
import os
import subprocess
from pathlib import Path

import pytest

from tests.oracle.harness import ROOT

pytestmark = pytest.mark.oracle

REPO = ROOT / "fixtures" / "repo_af2" / "dags"
VENV = ROOT / ".venv-airflow2-repo" / "bin"
DAGBAG = """
import json, sys
from airflow.models.dagbag import DagBag
bag = DagBag(sys.argv[1], include_examples=False)
dags = {
    dag_id: {
        "file": dag.fileloc,
        "tasks": sorted(dag.task_dict),
        "edges": sorted([u, d] for u, t in dag.task_dict.items() for d in t.downstream_task_ids),
    }
    for dag_id, dag in bag.dags.items()
}
print(json.dumps({"dags": dags, "errors": sorted(bag.import_errors)}))
"""

needs_env = pytest.mark.skipif(
    not (VENV / "dagshift").exists(), reason="run `make repo-env` (CI's `make test` does)"
)


def _env(tmp_path: Path) -> dict[str, str]:
    keep = {k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW", "DAGSHIFT"))}
    return {
        **keep,
        "AIRFLOW_HOME": str(tmp_path / "home"),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__DAGS_FOLDER": str(REPO),
        "DAGSHIFT_CACHE": str(tmp_path / "cache"),
    }


@pytest.fixture(scope="module")
def airflow(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("dagbag")
    proc = subprocess.run(
        [str(VENV / "python"), "-c", DAGBAG, str(REPO)],
        capture_output=True,
        text=True,
        env=_env(tmp),
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(proc.stdout.splitlines()[-1])


def _inspect(tmp_path: Path) -> tuple[dict, str]:
    proc = subprocess.run(
        [str(VENV / "dagshift"), "inspect", str(REPO), "--json"],
        capture_output=True,
        text=True,
        env=_env(tmp_path),
        cwd=tmp_path,
        timeout=300,
    )
    return json.loads(proc.stdout), proc.stderr


@needs_env
def test_every_dag_airflow_loads_the_shim_loads_with_the_same_tasks_and_edges(airflow, tmp_path):
    ours, _ = _inspect(tmp_path)
    assert len(airflow["dags"]) == 4  # the fixture is what it says: 4 DAGs in 3 files load
    assert sorted(ours) == sorted(airflow["dags"])
    for dag_id, theirs in airflow["dags"].items():
        dag = ours[dag_id]
        assert dag["file"] == theirs["file"], dag_id
        assert sorted(t["id"] for t in dag["tasks"]) == theirs["tasks"], dag_id
        assert sorted([e["from"], e["to"]] for e in dag["edges"]) == theirs["edges"], dag_id


@needs_env
def test_the_files_airflow_cannot_load_fail_in_the_shim_too_with_file_and_line(airflow, tmp_path):
    _, err = _inspect(tmp_path)
    prefix = "dagshift: cannot load "
    failed = sorted(
        line.removeprefix(prefix).split(":")[0]
        for line in err.splitlines()
        if line.startswith(prefix)
    )
    assert failed == airflow["errors"] and len(failed) == 3
    assert "bad_docker_args.py:9:" in err and "Invalid `auto_remove` value True" in err
    assert "legacy_http.py:6:" in err and "SimpleHttpOperator is neither" in err
    assert "notify_slack.py:5:" in err and "airflow.providers.slack" in err
    # The helpers and the scratch folder are left out by .airflowignore, as in Airflow.
    assert "utils" not in err and "scratch" not in err


@needs_env
def test_inspect_reports_what_the_shim_served_and_what_went_to_the_bridge(tmp_path):
    ours, _ = _inspect(tmp_path)
    names = ours["etl_docker"]["airflow_names"]
    assert names["bridge"] == ["airflow.operators.docker_operator.DockerOperator"]
    assert "airflow.operators.python_operator.PythonOperator" in names["shim"]
    weekly = ours["weekly_reports"]["airflow_names"]
    assert "airflow.sensors.http_sensor.HttpSensor" in weekly["bridge"]
    assert "airflow.hooks.base.BaseHook" in weekly["shim"]
