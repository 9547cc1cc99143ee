"""SubDagOperator under the shim (Airflow 1.10/2.x only).

A sub-DAG that succeeds is compared with real Airflow 2.11 on the fixtures af2_subdag.py and
legacy_110_subdag.py (tests/oracle). A failing one cannot be: under ``dag.test()`` Airflow 2.11's
operator finds the sub-DAG's failed run, resets it to running and waits for a scheduler that
never comes. Its outcome here follows the operator's code (``post_execute``: the task fails with
"Expected state: SUCCESS. Actual state: failed"), which a scheduler-driven Airflow shows.
"""

import pytest

from tests.compat.airflow_graphs import airflow_dagbag
from tests.compat.conftest import dagshift, run_json

HEADER = """
import pendulum
from airflow import DAG
from airflow.operators.python import PythonOperator
from airflow.operators.subdag import SubDagOperator

START = pendulum.datetime(2024, 1, 1, tz="UTC")


def boom():
    raise RuntimeError("boom")
"""


def test_a_failing_sub_dag_fails_its_task_and_the_tasks_after_it(dag_file):
    path = dag_file(HEADER + """
with DAG("parent.section", start_date=START, schedule=None) as sub:
    PythonOperator(task_id="ok", python_callable=lambda: 1) >> PythonOperator(
        task_id="bad", python_callable=boom
    )

with DAG("parent", start_date=START, schedule=None) as dag:
    section = SubDagOperator(task_id="section", subdag=sub)
    section >> PythonOperator(task_id="after", python_callable=lambda: 2)
""")
    result = run_json(path)
    parent = result["parent"]
    assert parent["state"] == "failed"
    assert parent["tasks"]["section"]["state"] == "failed"
    assert parent["tasks"]["after"]["state"] == "upstream_failed"
    assert result["parent.section"]["tasks"]["bad"]["state"] == "failed"


def test_a_converted_sub_dag_flow_runs_as_its_kept_operator_s_sub_dag(dag_file):
    """A converted file: the factory returns a Flow, the SubDagOperator stays as written."""
    path = dag_file("""
import pendulum
from dagshift import Flow, task
from airflow.operators.subdag import SubDagOperator

START = pendulum.datetime(2024, 1, 1, tz="UTC")


@task
def boom():
    raise RuntimeError("boom")


def section(parent, child):
    with Flow(f"{parent}.{child}", start_date=START, schedule="@daily") as sub:
        task(lambda: 1).override(task_id="ok")() >> boom()
    return sub


with Flow("parent", start_date=START, schedule=None, airflow_generation="2") as flow:
    kept = SubDagOperator(task_id="section", subdag=section("parent", "section"))
    kept >> task(lambda: 2).override(task_id="after")()
""")
    result = run_json(path)
    parent = result["parent"]
    assert parent["tasks"]["section"]["state"] == "failed"
    assert parent["tasks"]["after"]["state"] == "upstream_failed"
    assert result["parent.section"]["tasks"]["boom"]["state"] == "failed"


@pytest.mark.oracle
def test_a_sub_dag_named_otherwise_than_parent_dot_task_fails_at_load_as_in_airflow(
    dag_file, tmp_path
):
    path = dag_file(HEADER + """
with DAG("wrong_name", start_date=START, schedule=None) as sub:
    PythonOperator(task_id="ok", python_callable=lambda: 1)

with DAG("parent", start_date=START, schedule=None) as dag:
    SubDagOperator(task_id="section", subdag=sub)
""")
    message = (
        "The subdag's dag_id should have the form '{parent_dag_id}.{this_task_id}'. "
        "Expected 'parent.section'; received 'wrong_name'."
    )
    airflow = airflow_dagbag(path, "2", tmp_path)
    assert len(airflow["errors"]) == 1 and message in airflow["errors"][0]
    code, _, err = dagshift("inspect", str(path))
    assert code != 0 and message in err and str(path) in err, err


def test_an_airflow_3_dag_with_a_sub_dag_is_refused_at_load_saying_what_to_use(dag_file):
    path = dag_file("""
import pendulum
from airflow.sdk import DAG
from airflow.providers.standard.operators.empty import EmptyOperator
from airflow.operators.subdag import SubDagOperator

with DAG("parent.section", start_date=pendulum.datetime(2024, 1, 1), schedule=None) as sub:
    EmptyOperator(task_id="ok")

with DAG("parent", start_date=pendulum.datetime(2024, 1, 1), schedule=None):
    SubDagOperator(task_id="section", subdag=sub)
""")
    code, _, err = dagshift("inspect", str(path))
    assert code != 0 and str(path) in err
    assert "SubDagOperator does not exist in Airflow 3" in err and "TaskGroup" in err
