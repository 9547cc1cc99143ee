# ruff: noqa: E501  (DAG sources embedded in strings keep their natural lines)
"""Legacy DAGs on the runtime: what a user of `dagshift run` / `dag.test()` sees."""

import pytest

from tests.compat.conftest import run_json

HEADER = """
import pendulum
from airflow import DAG
from airflow.operators.python import PythonOperator
START = pendulum.datetime(2024, 1, 1, tz="UTC")
"""


def test_json_has_group_prefixed_ids_airflow_states_and_mapped_results_in_order(dag_file):
    path = dag_file(HEADER + """
from airflow.decorators import task, task_group

with DAG("shapes", start_date=START, schedule=None) as dag:
    @task
    def square(x):
        return x * x

    @task_group
    def load():
        @task
        def first():
            return "first"
        @task
        def fail():
            raise ValueError("no")
        @task
        def after(v):
            return v
        after(fail())
        first()

    load()
    square.expand(x=[3, 1, 2])
""")
    result = run_json(path)
    tasks = result["shapes"]["tasks"]
    assert result["shapes"]["state"] == "failed" and result["__exit__"] == 1
    assert tasks["load.first"] == {"state": "success", "result": "first"}
    assert tasks["load.fail"]["state"] == "failed"
    assert tasks["load.after"]["state"] == "upstream_failed"
    assert tasks["square"] == {"state": "success", "result": [9, 1, 4]}


def test_dag_test_runs_a_dag_with_templates_params_and_the_run_conf(load, dag_file):
    path = dag_file(HEADER + """
from airflow.operators.bash import BashOperator
from airflow.models.param import Param

with DAG("templated", start_date=START, schedule="@daily",
         params={"limit": Param(5, type="integer"), "who": "world"},
         user_defined_macros={"shout": lambda s: s.upper()}) as dag:
    BashOperator(task_id="echo", bash_command="echo {{ ds }} {{ params.limit }} {{ shout(params.who) }}")
    PythonOperator(task_id="py", python_callable=lambda params, ds_nodash: [params, ds_nodash])
""")
    dag = load(path)["templated"].dag
    run = dag.test(logical_date="2024-01-15")
    assert run.tasks["echo"].result == "2024-01-15 5 WORLD"
    assert run.tasks["py"].result == [{"limit": 5, "who": "world"}, "20240115"]
    run = dag.test(logical_date="2024-01-15", run_conf={"limit": 7})
    assert run.tasks["echo"].result == "2024-01-15 7 WORLD"


def test_template_files_come_from_template_searchpath_and_native_rendering_keeps_types(
    load, dag_file, tmp_path
):
    (tmp_path / "sql").mkdir()
    (tmp_path / "sql" / "query.sql").write_text("SELECT * FROM t WHERE day = '{{ ds }}'")
    path = dag_file(HEADER + f"""
from airflow.models.baseoperator import BaseOperator

class Query(BaseOperator):
    template_fields = ("sql",)
    template_ext = (".sql",)
    def __init__(self, sql, **kwargs):
        super().__init__(**kwargs)
        self.sql = sql
    def execute(self, context):
        return self.sql

with DAG("files", start_date=START, schedule=None, template_searchpath=["{tmp_path / 'sql'}"]):
    Query(task_id="query", sql="query.sql")

with DAG("native", start_date=START, schedule=None, render_template_as_native_obj=True):
    PythonOperator(task_id="typed", python_callable=lambda n, xs: [n + 1, sum(xs)],
                   op_kwargs={{"n": "{{{{ 41 }}}}", "xs": "{{{{ [1, 2, 3] }}}}"}})
""")
    dags = load(path)
    assert dags["files"].run(logical_date="2024-01-15").tasks["query"].result == (
        "SELECT * FROM t WHERE day = '2024-01-15'"
    )
    assert dags["native"].run().tasks["typed"].result == [42, 6]


def test_variables_come_from_the_environment_then_the_local_store(
    load, dag_file, tmp_path, monkeypatch
):
    monkeypatch.setenv("AIRFLOW_VAR_REGION", "eu")
    monkeypatch.setenv("DAGSHIFT_VARIABLES", str(tmp_path / "vars.json"))
    path = dag_file(HEADER + """
from airflow.models import Variable
from airflow.operators.bash import BashOperator

Variable.set("limits", {"rows": 3}, serialize_json=True)
with DAG("variables", start_date=START, schedule=None):
    PythonOperator(task_id="read", python_callable=lambda: [
        Variable.get("region"), Variable.get("limits", deserialize_json=True)["rows"],
        Variable.get("absent", default_var="fallback")])
    BashOperator(task_id="tmpl", bash_command="echo {{ var.value.region }} {{ var.json.limits.rows }}")
    PythonOperator(task_id="missing", python_callable=lambda: Variable.get("absent"))
""")
    run = load(path)["variables"].run()
    assert run.tasks["read"].result == ["eu", 3, "fallback"]
    assert run.tasks["tmpl"].result == "eu 3"
    assert run.tasks["missing"].state == "failed"
    assert "Variable absent does not exist" in run.tasks["missing"].error
    assert (tmp_path / "vars.json").is_file()


def test_callbacks_receive_the_airflow_context(load, dag_file, tmp_path):
    log = tmp_path / "callbacks.log"
    path = dag_file(HEADER + f"""
from datetime import timedelta

def note(context):
    with open("{log}", "a") as fh:
        fh.write(f"{{context['ti'].task_id}} {{context['ds']}} {{type(context.get('exception')).__name__}}\\n")

def flaky(ti):
    if ti.try_number < 2:
        raise ValueError("first try")
    return ti.try_number

with DAG("callbacks", start_date=START, schedule=None,
         default_args={{"retries": 1, "retry_delay": timedelta(0)}}):
    PythonOperator(task_id="flaky", python_callable=flaky, on_retry_callback=note,
                   on_success_callback=note)
    PythonOperator(task_id="broken", python_callable=lambda: 1 / 0, retries=0,
                   on_failure_callback=[note])
""")
    run = load(path)["callbacks"].run(logical_date="2024-01-15")
    assert run.tasks["flaky"].result == 2 and run.tasks["flaky"].tries == 2
    assert sorted(log.read_text().splitlines()) == [
        "broken 2024-01-15 ZeroDivisionError",
        "flaky 2024-01-15 NoneType",
        "flaky 2024-01-15 ValueError",
    ]


def test_a_sensor_that_times_out_fails_without_retries_and_soft_fail_skips(load, dag_file):
    path = dag_file(HEADER + """
from airflow.sensors.python import PythonSensor
from airflow.sensors.base import PokeReturnValue

pokes = []
def ready():
    pokes.append(1)
    return PokeReturnValue(len(pokes) >= 3, xcom_value="ready")

with DAG("sensors", start_date=START, schedule=None):
    PythonSensor(task_id="waits", python_callable=ready, poke_interval=0.01)
    PythonSensor(task_id="never", python_callable=lambda: False, poke_interval=0.01,
                 timeout=0.05, retries=3)
    PythonSensor(task_id="soft", python_callable=lambda: False, poke_interval=0.01,
                 timeout=0.05, soft_fail=True)
""")
    run = load(path)["sensors"].run()
    assert run.tasks["waits"].result == "ready"
    assert run.tasks["never"].state == "failed" and run.tasks["never"].tries == 1
    assert "Sensor has timed out" in run.tasks["never"].error
    assert run.tasks["soft"].state == "skipped"


def test_wrong_operator_arguments_and_duplicate_ids_fail_as_in_airflow(load, dag_file):
    from dagshift.runtime.loader import LoadError

    path = dag_file(HEADER + """
with DAG("bad", start_date=START, schedule=None):
    PythonOperator(task_id="a", python_callable=print, colour="red")
""")
    with pytest.raises(LoadError, match=r"dag.py:8: AirflowException: Invalid arguments"):
        load(path)
    path = dag_file(
        HEADER + """
with DAG("dup", start_date=START, schedule=None):
    PythonOperator(task_id="a", python_callable=print)
    PythonOperator(task_id="a", python_callable=print)
""",
        name="dup.py",
    )
    with pytest.raises(LoadError, match="Task id 'a' has already been added"):
        load(path)


def test_a_branch_to_a_task_group_follows_the_groups_first_tasks(load, dag_file):
    path = dag_file(HEADER + """
from airflow.operators.python import BranchPythonOperator
from airflow.utils.task_group import TaskGroup
from airflow.operators.empty import EmptyOperator

with DAG("groups", start_date=START, schedule=None):
    pick = BranchPythonOperator(task_id="pick", python_callable=lambda: "load")
    with TaskGroup("load") as load:
        a = EmptyOperator(task_id="a")
        b = EmptyOperator(task_id="b")
        a >> b
    other = EmptyOperator(task_id="other")
    pick >> [load, other]
""")
    run = load(path)["groups"].run()
    states = {t: r.state for t, r in run.tasks.items()}
    assert states == {
        "pick": "success",
        "load.a": "success",
        "load.b": "success",
        "other": "skipped",
    }
    assert run.tasks["pick"].result == "load"  # Airflow 2 keeps a branch's return value


def test_a_task_before_a_group_of_taskflow_calls_reaches_only_its_first_task(load, dag_file):
    # Airflow 3.3 (example_task_group_decorator): start >> group links start to task_1 only;
    # the data edges inside the group make task_2 and task_3 no roots of it
    path = dag_file(HEADER + """
from airflow.decorators import task, task_group

@task
def step(value):
    return value

@task_group
def steps(value):
    step.override(task_id="third")(step.override(task_id="second")(step(value)))

with DAG("roots", start_date=START, schedule=None):
    start = step.override(task_id="start")(0)
    start >> steps(1)
""")
    flow = load(path)["roots"]
    upstream = {t: flow.upstream_ids(t) for t in flow.tasks}
    assert upstream == {
        "start": [],
        "steps.step": ["start"],
        "steps.second": ["steps.step"],
        "steps.third": ["steps.second"],
    }


def test_xcom_pull_follows_the_files_airflow_generation(load, dag_file):
    body = """
def produce():
    return "b"

def pulls(ti):
    return [ti.xcom_pull(task_ids="missing", default="fallback"),
            ti.xcom_pull(task_ids=["missing", "produce"])]

with DAG("pulls", start_date=START, schedule=None):
    PythonOperator(task_id="produce", python_callable=produce) >> PythonOperator(
        task_id="pulls", python_callable=pulls)
"""
    two = dag_file(HEADER + body, name="two.py")
    three = dag_file(
        HEADER.replace("from airflow import DAG", "from airflow.sdk import DAG") + body,
        name="three.py",
    )
    assert load(two)["pulls"].run().tasks["pulls"].result == ["fallback", ["b"]]
    # Airflow 3.3 ignores the default without map_indexes and keeps a None per missing task.
    assert load(three)["pulls"].run().tasks["pulls"].result == [None, [None, "b"]]


def test_a_raising_callback_of_a_list_stops_no_other_nor_the_task_and_skips_get_on_skipped(
    load, dag_file
):
    path = dag_file(HEADER + """
from airflow.exceptions import AirflowSkipException

LOG = []

def broken(context):
    raise RuntimeError("a broken callback")

def note(context):
    LOG.append((context["ti"].task_id, "noted"))

def skipped(context):
    LOG.append((context["ti"].task_id, "skipped"))

def nothing():
    raise AirflowSkipException("nothing to do")

with DAG("callbacks", start_date=START, schedule=None):
    PythonOperator(task_id="fine", python_callable=lambda: 1, on_success_callback=[broken, note],
                   on_execute_callback=[broken, note])
    PythonOperator(task_id="skips", python_callable=nothing, on_skipped_callback=skipped,
                   on_success_callback=note)
""")
    flow = load(path)["callbacks"]
    run = flow.run(scheduler="sync")
    assert {t: r.state for t, r in run.tasks.items()} == {"fine": "success", "skips": "skipped"}
    log = flow.get_task("fine").meta["operator"].on_success_callback[1].__globals__["LOG"]
    # an Airflow 2 file: on_success_callback follows on_skipped_callback, as Airflow 2.11 calls it
    by_task = sorted(log, key=lambda entry: entry[0])  # each task's in the order they ran
    assert by_task == [
        ("fine", "noted"),  # on_execute, after its broken neighbour
        ("fine", "noted"),
        ("skips", "skipped"),
        ("skips", "noted"),
    ]
