"""XComArg.map / zip / concat under the shim: what a DAG file gets at load, as in Airflow.

What runs (lazy elements, per-index failures and skips, results) is compared with real Airflow
on the fixtures af2/af3_xcomarg_lazy.py and af3_xcomarg_map_zip.py (tests/oracle)."""

import pytest

from tests.compat.airflow_graphs import airflow_dagbag
from tests.compat.conftest import dagshift

HEADER = """
import pendulum
from airflow.sdk import DAG, task

@task
def nums():
    return [1, 2]

@task
def show(v):
    return v

with DAG("x", start_date=pendulum.datetime(2024, 1, 1), schedule=None):
"""


@pytest.mark.oracle
@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("    nums()['k'].map(str)", "cannot map against non-return XCom"),
        (
            "    show.expand(v=nums().map(show))",
            "map() argument must be a plain function, not a @task operator",
        ),
    ],
    ids=["non-return-key", "a-task-as-function"],
)
def test_a_wrong_map_fails_at_load_as_in_airflow(body, message, dag_file, tmp_path):
    path = dag_file(HEADER + body + "\n")
    airflow = airflow_dagbag(path, "3", tmp_path)
    assert len(airflow["errors"]) == 1 and message in airflow["errors"][0]
    code, _, err = dagshift("inspect", str(path))
    assert code != 0 and message in err and str(path) in err, err


def test_the_sources_of_a_zip_are_upstream_of_the_task_using_it(load, dag_file):
    path = dag_file(HEADER + "    a, b = nums(), nums()\n    show(a.zip(b.map(str)))\n")
    dag = load(path)["x"].dag
    assert dag.get_task("show").upstream_task_ids == {"nums", "nums__1"}
