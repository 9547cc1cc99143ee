"""Setup and teardown tasks under the shim: the graph Airflow builds, the errors Airflow raises.

Run states and results are compared with real Airflow in tests/oracle (fixtures
af2_setup_teardown.py / af3_setup_teardown.py and Airflow's example_setup_teardown*); here each
file's tasks, upstream edges, roles and trigger rules as the shim builds them are compared with
what real Airflow's DagBag builds from the same file (Airflow 3.3 in ``.venv``, 2.11 in
``.venv-airflow2``), since the ``with`` blocks draw edges nobody wrote.
"""

import pytest

from tests.compat.airflow_graphs import airflow_dagbag, airflow_graph, shim_graph
from tests.compat.conftest import ROOT, dagshift

FIXTURES = ROOT / "fixtures" / "dags"
_SITE = next((ROOT / ".venv" / "lib").glob("python3*/site-packages"))
EXAMPLES = _SITE / "airflow" / "example_dags"
CASES = {
    "af3_setup_teardown": (FIXTURES / "af3_setup_teardown.py", "3"),
    "af2_setup_teardown": (FIXTURES / "af2_setup_teardown.py", "2"),
    "example_setup_teardown": (EXAMPLES / "example_setup_teardown.py", "3"),
    "example_setup_teardown_taskflow": (EXAMPLES / "example_setup_teardown_taskflow.py", "3"),
}


@pytest.mark.oracle
@pytest.mark.parametrize("case", sorted(CASES))
def test_the_shim_builds_the_graph_airflow_builds(case, load, tmp_path):
    path, generation = CASES[case]
    assert shim_graph(load, path) == airflow_graph(path, generation, tmp_path)


def test_the_work_inside_with_a_teardown_lies_between_its_setup_and_it(load, dag_file):
    path = dag_file("""
        import pendulum
        from airflow.sdk import DAG, setup, task, teardown

        @setup
        def create():
            return "c"

        @teardown
        def delete(c):
            return c

        @task
        def work():
            return 1

        with DAG("cm", start_date=pendulum.datetime(2024, 1, 1), schedule=None) as dag:
            with delete(create()):
                work()
        """)
    dag = load(path)["cm"].dag
    assert dag.get_task("work").upstream_task_ids == {"create"}
    assert dag.get_task("delete").upstream_task_ids == {"create", "work"}
    assert dag.get_task("delete").trigger_rule == "all_done_setup_success"


@pytest.mark.oracle
@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("drop()\n    drop()", "Trigger rule not configurable for teardown tasks."),
        ("with ok():\n        pass", "Only setup/teardown tasks can be used as context managers."),
        (
            "ok.override(on_failure_fail_dagrun=True)()",
            "Cannot set task on_failure_fail_dagrun for 'ok' because it is not a teardown task.",
        ),
        ("drop().as_setup()", "Cannot mark task 'drop' as setup; task is already a teardown."),
        (
            "ok().as_setup() >> ok.override(trigger_rule='all_done')()",
            "Setup tasks must be followed with trigger rule ALL_SUCCESS.",
        ),
    ],
    ids=[
        "teardown-called-twice",
        "with-a-work-task",
        "fail-dagrun-on-work",
        "teardown-as-setup",
        "setup-then-all-done",
    ],
)
def test_misused_setup_and_teardown_fail_at_load_as_in_airflow(body, message, dag_file, tmp_path):
    path = dag_file(f"""
import pendulum
from airflow.sdk import DAG, task, teardown

@task
def ok():
    return 1

@teardown
def drop():
    return 2

with DAG("bad", start_date=pendulum.datetime(2024, 1, 1), schedule=None):
    {body}
""")
    airflow = airflow_dagbag(path, "3", tmp_path)
    assert len(airflow["errors"]) == 1 and message in airflow["errors"][0]
    code, _, err = dagshift("inspect", str(path))
    assert code != 0
    assert message in err and f"{path}" in err, err
