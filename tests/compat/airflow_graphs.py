"""Real Airflow's graph of a DAG file next to the shim's: tasks, upstream ids, roles, rules.

``airflow_dagbag`` loads a file with Airflow's DagBag in its own environment (Airflow 3.3 in
``.venv``, 2.11 in ``.venv-airflow2``), in a subprocess; ``shim_graph`` loads it through the
shim. Both give ``{dag_id: {task_id: [upstream ids, is_setup, is_teardown, trigger rule,
on_failure_fail_dagrun]}}``.
"""

import json
import os
import subprocess
from pathlib import Path

import pytest

from tests.compat.conftest import ROOT

__all__ = ["airflow_dagbag", "airflow_graph", "shim_graph"]

PYTHON = {"3": ROOT / ".venv" / "bin" / "python", "2": ROOT / ".venv-airflow2" / "bin" / "python"}
DAGBAG = """
import json, sys
if sys.argv[2] == "2":
    from airflow.models.dagbag import DagBag
    bag = DagBag(sys.argv[1], include_examples=False)
else:
    from airflow.dag_processing.dagbag import DagBag
    bag = DagBag(sys.argv[1])
print(json.dumps({"errors": [str(e) for e in bag.import_errors.values()], "dags": {
    dag_id: {
        t.task_id: [sorted(t.upstream_task_ids), t.is_setup, t.is_teardown,
                    str(getattr(t.trigger_rule, "value", t.trigger_rule)), t.on_failure_fail_dagrun]
        for t in dag.tasks
    }
    for dag_id, dag in bag.dags.items()
}}))
"""


def airflow_dagbag(path: Path, generation: str, tmp_path: Path) -> dict:
    python = PYTHON[generation]
    if not python.exists():
        pytest.skip(f"{python} is not installed (make test builds it)")
    keep = {k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW", "DAGSHIFT"))}
    env = {
        **keep,
        "AIRFLOW_HOME": str(tmp_path / "home"),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__DAGS_FOLDER": str(path.parent),
    }
    proc = subprocess.run(
        [str(python), "-I", "-c", DAGBAG, str(path), generation],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(proc.stdout.splitlines()[-1])


def airflow_graph(path: Path, generation: str, tmp_path: Path) -> dict:
    loaded = airflow_dagbag(path, generation, tmp_path)
    assert not loaded["errors"], loaded["errors"]
    return loaded["dags"]


def shim_graph(load, path: Path) -> dict:
    graph = {}
    for dag_id, flow in load(path).items():
        graph[dag_id] = {
            t.task_id: [
                sorted(t.upstream_task_ids),
                t.is_setup,
                t.is_teardown,
                t.trigger_rule,
                t.on_failure_fail_dagrun,
            ]
            for t in flow.dag.tasks
        }
    return graph
