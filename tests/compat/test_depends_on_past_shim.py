"""The shim carries an operator's depends_on_past family and executor_config to its task.

How a run then waits on its past is tested over real runs in tests/history/test_depends_on_past.py
and against real Airflow in tests/oracle/test_depends_on_past_match_airflow.py.
"""

from dagshift.runtime.loader import load_file

SOURCE = """
import pendulum
from airflow.sdk import DAG
from airflow.providers.standard.operators.empty import EmptyOperator

with DAG("past_options", start_date=pendulum.datetime(2024, 1, 1, tz="UTC"), schedule=None,
         default_args={"depends_on_past": True}) as dag:
    inherited = EmptyOperator(task_id="inherited")
    own = EmptyOperator(task_id="own", depends_on_past=False)
    later = EmptyOperator(task_id="later")
    later.depends_on_past = False  # as in Airflow, an attribute set after the call counts
    strict = EmptyOperator(task_id="strict", depends_on_past=False, wait_for_downstream=True,
                           ignore_first_depends_on_past=False,
                           executor_config={"KubernetesExecutor": {"image": "etl:2"}})
"""


def _options(flow, task_id):
    keys = ("depends_on_past", "wait_for_downstream", "ignore_first_depends_on_past")
    return {k: v for k, v in flow.get_task(task_id).options.items() if k in keys}


def test_each_operator_depends_on_its_past_as_airflow_sets_it(shim, dag_file):
    (flow,) = load_file(dag_file(SOURCE))
    on = {"depends_on_past": True, "wait_for_downstream": False}
    assert _options(flow, "inherited") == {**on, "ignore_first_depends_on_past": True}
    assert _options(flow, "own") == {} and _options(flow, "later") == {}
    # wait_for_downstream implies depends_on_past (Airflow's BaseOperator)
    assert _options(flow, "strict") == {
        "depends_on_past": True,
        "wait_for_downstream": True,
        "ignore_first_depends_on_past": False,
    }


def test_executor_config_is_kept_on_the_task_and_a_run_ignores_it(shim, dag_file):
    (flow,) = load_file(dag_file(SOURCE))
    assert flow.get_task("strict").options["executor_config"] == {
        "KubernetesExecutor": {"image": "etl:2"}
    }
    assert "executor_config" not in flow.get_task("own").options
    assert flow.run(logical_date="2024-01-02").state == "success"  # no history: no past
