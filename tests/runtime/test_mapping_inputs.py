"""What a task is mapped over: in an Airflow DAG (``airflow_dag=True``, as the shim makes them)
the task whose result it is fails when the result is no list, tuple or dict, as Airflow's task
runner does (fixtures af2/af3_mapping_inputs.py check it against real Airflow); a dagshift flow
fails the mapped task instead, saying what it got."""

import pytest

from dagshift import Flow, task


@task
def give(value):
    return value


@task
def show(v):
    return v


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (5, "unmappable return type 'int'"),
        ("abc", "unmappable return type 'str'"),
        (None, "did not push XCom for task mapping"),
    ],
)
def test_in_an_airflow_dag_the_task_giving_an_unmappable_value_fails(value, message):
    with Flow("airflow_style", airflow_dag=True) as flow:
        show.expand(v=give(value))
    run = flow.run()
    assert run.tasks["give"].state == "failed" and message in run.tasks["give"].error
    assert run.tasks["show"].state == "upstream_failed"


def test_in_a_dagshift_flow_the_mapped_task_fails_and_a_tuple_maps_like_a_list():
    with Flow("native") as flow:
        show.expand(v=give(5))
        show.expand(v=give((1, 2)))
    run = flow.run()
    assert run.tasks["give"].state == "success"
    assert run.tasks["show"].state == "failed" and "cannot map over" in run.tasks["show"].error
    assert run.tasks["show__1"].result == [1, 2]
