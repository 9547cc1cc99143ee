"""Pools against real Airflow: what a DAG file asks of pools, and what ``dag.test()`` does.

Airflow's scheduler (``SchedulerJobRunner._executable_task_instances_to_queued``, 3.3.2 and
2.11.2) never queues a task whose pool is missing ("Tasks using non-existent pool '%s' will not
be scheduled") or whose ``pool_slots`` exceed the pool ("Requested pool slots (%s) are greater
than total pool slots"): dagshift matches that (tests/runtime/test_pools.py). ``dag.test()``,
the oracle's way of running a DAG, checks no pool at all: pinned here, so that a change in
either Airflow shows up.
"""

from __future__ import annotations

import json
import subprocess
import textwrap

import pytest

from dagshift.converter.convert import convert_source
from dagshift.runtime.loader import load_file
from tests.oracle import harness

ROOT = harness.ROOT
CASE = ROOT / "fixtures" / "convert" / "operators" / "task_pools.py"

_ATTRIBUTES = """
import json, sys
from airflow.models.dagbag import DagBag
bag = DagBag(dag_folder=sys.argv[1], include_examples=False, safe_mode=False)
assert not bag.import_errors, bag.import_errors
print(json.dumps({
    d.dag_id: {"max_active_tasks": d.max_active_tasks,
               "tasks": {t.task_id: [t.pool, t.pool_slots] for t in d.tasks}}
    for d in bag.dags.values()
}))
"""


@pytest.fixture
def shim():
    import dagshift.compat

    dagshift.compat.install()
    yield
    dagshift.compat.uninstall()


def _airflow2_attributes(dag_file, tmp_path) -> dict:
    script = tmp_path / "attributes.py"
    script.write_text(_ATTRIBUTES)
    env = harness._airflow_env(tmp_path / "home")
    proc = subprocess.run(
        [str(harness.airflow_python("2")), "-I", str(script), str(dag_file)],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(proc.stdout.splitlines()[-1])


def _dagshift_attributes(flows) -> dict:
    return {
        f.name: {
            "max_active_tasks": f.max_active_tasks,
            "tasks": {
                t: [n.options.get("pool") or "default_pool", n.options.get("pool_slots", 1)]
                for t, n in f.tasks.items()
            },
        }
        for f in flows
    }


def test_pools_of_a_dag_file_are_airflows_in_the_shim_and_the_conversion(tmp_path, shim):
    source = CASE.read_text().split("\n# output\n")[0] + "\n"
    original = tmp_path / "task_pools.py"
    original.write_text(source)
    expected = _airflow2_attributes(original, tmp_path)
    assert expected["task_pools"]["tasks"]["load_again"] == ["etl", 1]  # from default_args
    assert _dagshift_attributes(load_file(original)) == expected
    converted = tmp_path / "converted.py"
    converted.write_text(convert_source(source).code)
    assert _dagshift_attributes(load_file(converted)) == expected


_IGNORED = """
    import pendulum
    from {dag_module} import DAG
    from {python_module} import PythonOperator

    with DAG("pools_in_dag_test", start_date=pendulum.datetime(2024, 1, 1), schedule=None):
        big = PythonOperator(task_id="big", python_callable=lambda: "big", pool_slots=200)
        lost = PythonOperator(task_id="lost", python_callable=lambda: "lost", pool="nowhere")
"""


@pytest.mark.parametrize(
    "generation, dag_module, python_module",
    [
        ("3", "airflow.sdk", "airflow.providers.standard.operators.python"),
        ("2", "airflow", "airflow.operators.python"),
    ],
)
def test_dag_test_runs_tasks_whatever_their_pools(tmp_path, generation, dag_module, python_module):
    dag_file = tmp_path / f"pools_in_dag_test_{generation}.py"
    dag_file.write_text(
        textwrap.dedent(_IGNORED.format(dag_module=dag_module, python_module=python_module))
    )
    run = harness.airflow_run(dag_file, "2024-03-01", generation=generation)
    tasks = run["pools_in_dag_test"]["tasks"]
    assert tasks == {
        "big": {"state": "success", "result": "big"},  # 200 slots of default_pool's 128
        "lost": {"state": "success", "result": "lost"},  # a pool that does not exist
    }
