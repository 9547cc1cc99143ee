"""Human-in-the-loop operators: those with defaults and a response timeout run without a
person; the others fail when the file loads, saying where and what to do.

Airflow's own ``dag.test()`` parks every HITL task waiting for input (it never applies the
timeout), so these cases follow the timeout fallback of Airflow's HITLTrigger, read from
airflow/providers/standard/triggers/hitl.py.
"""

import datetime

from tests.compat.conftest import dagshift

HITL_DAG = """
import datetime

import pendulum
from airflow.providers.standard.operators.empty import EmptyOperator
from airflow.providers.standard.operators.hitl import (
    ApprovalOperator,
    HITLBranchOperator,
    HITLEntryOperator,
    HITLOperator,
)
from airflow.sdk import DAG, Param

SOON = datetime.timedelta(seconds=1)

with DAG("hitl", start_date=pendulum.datetime(2024, 1, 1, tz="UTC"), schedule=None):
    HITLOperator(
        task_id="choose",
        subject="Pick",
        options=["one", "two"],
        defaults="two",
        response_timeout=SOON,
    )
    HITLEntryOperator(
        task_id="entry",
        subject="Tell",
        params={"information": Param("nothing new", type="string")},
        response_timeout=SOON,
    )
    HITLBranchOperator(
        task_id="route",
        subject="Where?",
        options=["Left", "right"],
        options_mapping={"Left": "left"},
        defaults=["Left"],
        response_timeout=SOON,
    ) >> [EmptyOperator(task_id="left"), EmptyOperator(task_id="right")]
    ApprovalOperator(
        task_id="approve", subject="Ship?", defaults="Approve", response_timeout=SOON
    ) >> EmptyOperator(task_id="ship")
    ApprovalOperator(
        task_id="reject",
        subject="Ship?",
        defaults="Reject",
        fail_on_reject=True,
        response_timeout=SOON,
    ) >> EmptyOperator(task_id="after_reject")
"""


def test_hitl_operators_with_defaults_take_them_when_the_response_timeout_passes(dag_file, load):
    run = load(dag_file(HITL_DAG))["hitl"].run()
    states = {t: r.state for t, r in run.tasks.items()}
    assert states == {
        "choose": "success",
        "entry": "success",
        "route": "success",
        "left": "success",
        "right": "skipped",
        "approve": "success",
        "ship": "success",
        "reject": "failed",
        "after_reject": "upstream_failed",
    }
    choose = run.tasks["choose"].result
    assert choose["chosen_options"] == ["two"] and choose["responded_by_user"] is None
    assert isinstance(choose["responded_at"], datetime.datetime)
    entry = run.tasks["entry"].result
    assert entry["chosen_options"] == ["OK"]
    assert entry["params_input"] == {"information": "nothing new"}
    assert 'Receive "Reject"' in run.tasks["reject"].error


def test_a_hitl_operator_that_needs_a_person_fails_at_load_with_file_line_and_what_to_do(
    dag_file,
):
    path = dag_file("""
        import pendulum
        from airflow.sdk import DAG
        from airflow.providers.standard.operators.hitl import ApprovalOperator

        with DAG("approve", start_date=pendulum.datetime(2024, 1, 1, tz="UTC"), schedule=None):
            ApprovalOperator(task_id="sign_off", subject="Ship it?")
        """)
    code, out, err = dagshift("inspect", str(path))
    assert code == 2
    assert f"{path}:7" in err
    assert "airflow.providers.standard.operators.hitl.ApprovalOperator" in err
    assert "defaults=" in err and "response_timeout=" in err and "dagshift run --param" in err
