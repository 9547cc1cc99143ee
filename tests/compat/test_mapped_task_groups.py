"""Mapped task groups under the shim: the graph Airflow builds, the errors Airflow raises.

What runs (per-index states, results, map indexes) is compared with real Airflow on the
fixtures af2/af3_mapped_task_groups.py and on example_dynamic_task_mapping (tests/oracle)."""

import pytest

from tests.compat.airflow_graphs import airflow_dagbag, airflow_graph, shim_graph
from tests.compat.conftest import ROOT, dagshift

FIXTURES = ROOT / "fixtures" / "dags"
_SITE = next((ROOT / ".venv" / "lib").glob("python3*/site-packages"))
CASES = {
    "af3_mapped_task_groups": (FIXTURES / "af3_mapped_task_groups.py", "3"),
    "af2_mapped_task_groups": (FIXTURES / "af2_mapped_task_groups.py", "2"),
    "example_dynamic_task_mapping": (
        _SITE / "airflow" / "example_dags" / "example_dynamic_task_mapping.py",
        "3",
    ),
}
HEADER = """
import pendulum
from airflow.sdk import DAG, task, task_group

@task_group
def group(x, y):
    @task
    def add(x, y):
        return x + y
    add(x, y)

with DAG("g", start_date=pendulum.datetime(2024, 1, 1), schedule=None):
"""


@pytest.mark.oracle
@pytest.mark.parametrize("case", sorted(CASES))
def test_the_shim_builds_the_graph_airflow_builds(case, load, tmp_path):
    path, generation = CASES[case]
    assert shim_graph(load, path) == airflow_graph(path, generation, tmp_path)


@pytest.mark.oracle
@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("    group.expand()", "no arguments to expand against"),
        ("    group.partial(x=1).expand(x=[2])", "mapping already partial argument: x"),
        ("    group.partial(x=1).partial(x=2)", "duplicate partial argument: x"),
    ],
    ids=["nothing-to-expand", "expand-a-partial-argument", "partial-twice"],
)
def test_a_wrong_group_mapping_fails_at_load_as_in_airflow(body, message, dag_file, tmp_path):
    path = dag_file(HEADER + body + "\n")
    airflow = airflow_dagbag(path, "3", tmp_path)
    assert len(airflow["errors"]) == 1 and message in airflow["errors"][0]
    code, _, err = dagshift("inspect", str(path))
    assert code != 0 and message in err and str(path) in err, err
