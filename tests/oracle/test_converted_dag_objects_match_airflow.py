"""What the DAG-object rules convert runs as the original does in real Airflow 2.11, every
task's state and result: DAG factories (a function building ``dag = DAG(...)`` and returning
it, called in a loop into ``globals()``), options set on a task after it is made
(``t.trigger_rule = ...``),
and Airflow's own examples these rules made convert (a local ``ParamsDict`` annotation in a
callable; a custom operator of the file mapped with ``.partial().expand()``; a function
making operators, called in the DAG's body), with the
params each needs (a run without a required param is refused by both)."""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import Any

import pytest

from dagshift.converter.convert import convert_source
from tests.oracle.harness import OracleError, airflow_run
from tests.oracle.test_fixture_dags_in_airflow import (
    ENV,
    FIXTURE_DAGS,
    LOGICAL_DATE,
    env_for,
    oracle_generation,
    oracle_runs,
)
from tests.oracle.test_shim_parity import DAGSHIFT, dagshift_run, differences

pytestmark = pytest.mark.oracle

_ROOT = Path(__file__).resolve().parents[2]
_AIRFLOW2 = _ROOT / ".venv-airflow2" / "lib" / "python3.11" / "site-packages" / "airflow"
_EXAMPLES = _AIRFLOW2 / "example_dags"

# example id -> the params of its run (the tutorial's required_field has no default)
CASES = {
    "example_params_trigger_ui": {},
    "example_params_ui_tutorial": {"required_field": "given"},
    # custom operator classes of the file, one mapped with .partial(...).expand(value=...)
    "example_dynamic_task_mapping_with_no_taskflow_operators": {},
    # a function of the file making operators (one a custom class that skips), kept as written
    "example_skip_dag": {},
}


@pytest.mark.skipif(not DAGSHIFT.exists(), reason=f"{DAGSHIFT} is not installed")
@pytest.mark.parametrize("case", sorted(CASES))
def test_an_example_these_rules_unblock_converts_and_runs_as_in_airflow(case, tmp_path):
    path = _EXAMPLES / f"{case}.py"
    if not path.exists():
        pytest.skip(f"{path} is not installed here")
    result = convert_source(path.read_text())
    assert result.status == "converted", result.findings
    out = tmp_path / path.name
    out.write_text(result.code)
    params = CASES[case]
    run, stderr = dagshift_run(out, ENV, tmp_path, params)
    assert run is not None, stderr
    airflow = airflow_run(path, LOGICAL_DATE, generation="2", params=params, env=ENV)
    assert not differences(path.stem, airflow, run)
    if params:  # without them, both refuse the run
        with pytest.raises(OracleError, match="No value passed and Param has no default value"):
            airflow_run(path, LOGICAL_DATE, generation="2", env=ENV)
        run, stderr = dagshift_run(out, ENV, tmp_path)
        assert run is None
        assert "needs a value for parameter(s) required_field" in stderr


_TASK_OPTIONS = textwrap.dedent("""
    from datetime import timedelta

    import pendulum
    from airflow.models.dag import DAG
    from airflow.operators.bash import BashOperator
    from airflow.operators.python import PythonOperator
    from airflow.utils.trigger_rule import TriggerRule

    TRIES = []


    def flaky():
        TRIES.append(1)
        if len(TRIES) < 2:
            raise RuntimeError("first try fails")
        return len(TRIES)


    with DAG("options_set_later", schedule=None, start_date=pendulum.datetime(2024, 1, 1)):
        fails = BashOperator(task_id="fails", bash_command="exit 1")
        report = BashOperator(task_id="report", bash_command="echo reported")
        retried = PythonOperator(task_id="retried", python_callable=flaky)
        report.trigger_rule = TriggerRule.ALL_DONE
        retried.retries = 1
        retried.retry_delay = timedelta(seconds=0)
        fails >> report >> retried
    """)


def _converted(tmp_path: Path, name: str, source: str) -> tuple[Path, Path, Any]:
    """``source`` written as the original (``tmp/o/NAME``) and converted beside it
    (``tmp/NAME``: a DAG may take its id from its file name); the conversion must be full."""
    original = tmp_path / "o" / name
    original.parent.mkdir()
    original.write_text(source)
    result = convert_source(source)
    assert result.status == "converted", result.findings
    out = tmp_path / name
    out.write_text(result.code)
    return original, out, result


@pytest.mark.skipif(not DAGSHIFT.exists(), reason=f"{DAGSHIFT} is not installed")
def test_options_set_on_tasks_after_they_are_made_act_as_in_airflow(tmp_path):
    original, out, result = _converted(tmp_path, "options_set_later.py", _TASK_OPTIONS)
    run, stderr = dagshift_run(out, ENV, tmp_path)
    assert run is not None, stderr
    airflow = airflow_run(original, LOGICAL_DATE, generation="2", env=ENV)
    tasks = airflow["options_set_later"]["tasks"]
    # the trigger rule set later lets `report` run after a failure; the retry set later
    # gives `flaky` its second try
    assert {t: v["state"] for t, v in tasks.items()} == {
        "fails": "failed",
        "report": "success",
        "retried": "success",
    }
    assert tasks["retried"]["result"] == 2
    assert not differences("options_set_later", airflow, run)


_FACTORY = textwrap.dedent("""
    import pendulum
    from airflow import DAG
    from airflow.operators.bash import BashOperator
    from airflow.operators.python import PythonOperator


    def greet(name):
        return f"hello {name}"


    def create_dag(dag_id, name):
        dag = DAG(dag_id, schedule="@daily", start_date=pendulum.datetime(2024, 1, 1))
        hello = PythonOperator(
            task_id="hello", python_callable=greet, op_args=[name], dag=dag
        )
        echo = BashOperator(
            task_id="echo", bash_command="echo {{ params.who }}", params={"who": name}, dag=dag
        )
        hello >> echo
        return dag


    for n in ("ann", "bob"):
        globals()[f"greet_{n}"] = create_dag(f"greet_{n}", n)
    """)


@pytest.mark.skipif(not DAGSHIFT.exists(), reason=f"{DAGSHIFT} is not installed")
def test_a_dag_factory_called_in_a_loop_gives_the_same_dags_as_in_airflow(tmp_path):
    original, out, result = _converted(tmp_path, "factory.py", _FACTORY)
    assert "def create_dag(dag_id, name):\n    with Flow(" in result.code
    run, stderr = dagshift_run(out, ENV, tmp_path)
    assert run is not None, stderr
    airflow = airflow_run(original, LOGICAL_DATE, generation="2", env=ENV)
    assert sorted(airflow) == ["greet_ann", "greet_bob"]
    assert airflow["greet_bob"]["tasks"]["hello"]["result"] == "hello bob"
    assert airflow["greet_bob"]["tasks"]["echo"]["result"] == "bob"
    assert not differences("factory", airflow, run)


_GIVEN_THE_DAG = textwrap.dedent("""
    import pendulum
    from airflow import DAG
    from airflow.exceptions import AirflowSkipException
    from airflow.operators.dummy import DummyOperator

    args = {"owner": "airflow", "start_date": pendulum.datetime(2021, 1, 1)}


    class DummySkipOperator(DummyOperator):
        def execute(self, context):
            raise AirflowSkipException


    def create_test_pipeline(suffix, trigger_rule, dag_):
        skip_operator = DummySkipOperator(task_id=f"skip_operator_{suffix}", dag=dag_)
        always_true = DummyOperator(task_id=f"always_true_{suffix}", dag=dag_)
        join = DummyOperator(task_id=trigger_rule, dag=dag_, trigger_rule=trigger_rule)
        final = DummyOperator(task_id=f"final_{suffix}", dag=dag_)
        skip_operator >> join
        always_true >> join
        join >> final


    dag = DAG(dag_id="given_the_dag", default_args=args, schedule_interval=None)
    create_test_pipeline("1", "all_success", dag)
    create_test_pipeline("2", "one_success", dag)
    """)


@pytest.mark.skipif(not DAGSHIFT.exists(), reason=f"{DAGSHIFT} is not installed")
def test_a_function_given_the_dag_to_make_operators_gives_airflows_run(tmp_path):
    original, out, result = _converted(tmp_path, "given_the_dag.py", _GIVEN_THE_DAG)
    assert 'create_test_pipeline("1", "all_success", None)' in result.code
    run, stderr = dagshift_run(out, ENV, tmp_path)
    assert run is not None, stderr
    airflow = airflow_run(original, LOGICAL_DATE, generation="2", env=ENV)
    states = {t: v["state"] for t, v in airflow["given_the_dag"]["tasks"].items()}
    # the skip propagates under all_success, not under one_success
    assert (states["all_success"], states["final_1"]) == ("skipped", "skipped")
    assert (states["one_success"], states["final_2"]) == ("success", "success")
    assert not differences("given_the_dag", airflow, run)


_CALLABLES = textwrap.dedent("""
    import functools
    import operator

    import pendulum
    from airflow.models.dag import DAG
    from airflow.operators.python import PythonOperator


    def scaled(value, factor=1, **context):
        return [value * factor, context["ds"]]


    class Greeter:
        def __init__(self, greeting):
            self.greeting = greeting

        def greet(self, name, ds=None):
            return f"{self.greeting} {name} on {ds}"


    def build():
        def nested(x):
            return x + 100

        return nested


    with DAG("callables", schedule=None, start_date=pendulum.datetime(2024, 1, 1)):
        PythonOperator(
            task_id="with_defaults", python_callable=lambda a, b=2: a * b, op_args=[21]
        )
        PythonOperator(
            task_id="partial", python_callable=functools.partial(scaled, factor=3), op_args=[5]
        )
        PythonOperator(task_id="imported", python_callable=operator.add, op_args=[2, 3])
        PythonOperator(
            task_id="method", python_callable=Greeter("hello").greet, op_kwargs={"name": "ann"}
        )
        PythonOperator(task_id="made_by_a_function", python_callable=build(), op_args=[1])
        PythonOperator(task_id="missing_argument", python_callable=lambda needed: needed)
    """)


@pytest.mark.skipif(not DAGSHIFT.exists(), reason=f"{DAGSHIFT} is not installed")
def test_callables_no_rule_rewrites_stay_as_written_and_are_called_as_airflow_does(tmp_path):
    original, out, result = _converted(tmp_path, "callables.py", _CALLABLES)
    assert len(result.bridged) == 6
    run, stderr = dagshift_run(out, ENV, tmp_path)
    assert run is not None, stderr
    airflow = airflow_run(original, LOGICAL_DATE, generation="2", env=ENV)
    tasks = airflow["callables"]["tasks"]
    assert tasks["with_defaults"]["result"] == 42
    assert tasks["partial"]["result"] == [15, LOGICAL_DATE]
    assert tasks["method"]["result"] == f"hello ann on {LOGICAL_DATE}"
    assert tasks["missing_argument"]["state"] == "failed"
    assert not differences("callables", airflow, run)


_TEST_MODE = {
    "2": textwrap.dedent("""
        import pendulum
        from airflow.models.dag import DAG
        from airflow.operators.python import PythonOperator


        def report(test_mode, params):
            return params["absent"] if test_mode else f"test_mode={test_mode}"


        with DAG("test_mode_2", schedule=None, start_date=pendulum.datetime(2024, 1, 1)):
            PythonOperator(task_id="report", python_callable=report)
        """),
    "3": textwrap.dedent("""
        import pendulum
        from airflow.providers.standard.operators.python import PythonOperator
        from airflow.sdk import DAG


        def report(test_mode="its default"):
            return f"test_mode={test_mode}"


        with DAG("test_mode_3", schedule=None, start_date=pendulum.datetime(2024, 1, 1)):
            PythonOperator(task_id="report", python_callable=report)
        """),
}


@pytest.mark.skipif(not DAGSHIFT.exists(), reason=f"{DAGSHIFT} is not installed")
@pytest.mark.parametrize("generation", ["2", "3"])
def test_test_mode_in_a_callable_is_what_airflow_passes(generation, tmp_path):
    source = _TEST_MODE[generation]
    name = f"test_mode_{generation}"
    original, out, result = _converted(tmp_path, f"{name}.py", source)
    run, stderr = dagshift_run(out, ENV, tmp_path)
    assert run is not None, stderr
    airflow = airflow_run(original, LOGICAL_DATE, generation=generation, env=ENV)
    tasks = airflow[name]["tasks"]
    # Airflow 2: False outside `airflow tasks test`; Airflow 3: no such context value
    expected = "test_mode=False" if generation == "2" else "test_mode=its default"
    assert (tasks["report"]["state"], tasks["report"]["result"]) == ("success", expected)
    assert not differences(name, airflow, run)


_SPLIT_TEMPLATE = textwrap.dedent("""
    import pendulum
    from airflow.models.dag import DAG
    from airflow.operators.bash import BashOperator
    from airflow.operators.python import PythonOperator


    def produce():
        return {"items": ["first"]}


    with DAG("split_template", schedule=None, start_date=pendulum.datetime(2024, 1, 1)):
        made = PythonOperator(task_id="produce", python_callable=produce)
        # one Jinja expression across two parts of an implicitly concatenated string
        shown = BashOperator(
            task_id="show",
            bash_command="echo {{ task_instance.xcom_pull('produce')"
            "['items'][0] }}",
        )
        made >> shown
    """)


@pytest.mark.skipif(not DAGSHIFT.exists(), reason=f"{DAGSHIFT} is not installed")
def test_a_template_across_concatenated_parts_pulls_as_in_airflow(tmp_path):
    original, out, result = _converted(tmp_path, "split_template.py", _SPLIT_TEMPLATE)
    run, stderr = dagshift_run(out, ENV, tmp_path)
    assert run is not None, stderr
    airflow = airflow_run(original, LOGICAL_DATE, generation="2", env=ENV)
    assert airflow["split_template"]["tasks"]["show"]["result"] == "first"
    assert not differences("split_template", airflow, run)


_TRIGGER_TARGET = textwrap.dedent("""
    import pendulum
    from airflow import DAG
    from airflow.operators.bash import BashOperator

    with DAG("trigger_target", start_date=pendulum.datetime(2021, 1, 1), schedule_interval=None):
        BashOperator(
            task_id="bash_task",
            bash_command='echo "Here is the message: $message"',
            env={"message": '{{ dag_run.conf["message"] if dag_run else "" }}'},
        )
    """)


@pytest.mark.skipif(not DAGSHIFT.exists(), reason=f"{DAGSHIFT} is not installed")
def test_a_template_testing_dag_run_for_truth_renders_as_in_airflow(tmp_path):
    original, out, result = _converted(tmp_path, "trigger_target.py", _TRIGGER_TARGET)
    for conf in ({}, {"message": "hi"}):
        run, stderr = dagshift_run(out, ENV, tmp_path, conf)
        assert run is not None, stderr
        airflow = airflow_run(original, LOGICAL_DATE, generation="2", conf=conf, env=ENV)
        task = airflow["trigger_target"]["tasks"]["bash_task"]
        # Airflow renders with StrictUndefined: a conf without the key fails the task
        expected = ("success", "Here is the message: hi") if conf else ("failed", None)
        assert (task["state"], task["result"]) == expected
        assert not differences("trigger_target", airflow, run)


# fixtures/dags files these rules made convert (DAGs in a loop registered through globals(),
# callables kept as written ...): their conversions give what Airflow gives
UNBLOCKED_FIXTURES = ["legacy_110_multi_dag", "af2_xcom_styles", "af3_corners_mapping"]


@pytest.mark.skipif(not DAGSHIFT.exists(), reason=f"{DAGSHIFT} is not installed")
@pytest.mark.parametrize("stem", UNBLOCKED_FIXTURES)
def test_a_fixture_these_rules_unblock_converts_and_runs_as_in_airflow(stem, tmp_path):
    path = FIXTURE_DAGS / f"{stem}.py"
    result = convert_source(path.read_text())
    assert result.status == "converted", result.findings
    out = tmp_path / path.name
    out.write_text(result.code)
    run, stderr = dagshift_run(out, env_for(path), tmp_path)
    assert run is not None, stderr
    airflow = oracle_runs([path], oracle_generation(path))[stem]
    assert not differences(stem, airflow, run)


def _dag_function(imports: str, dag_id: str) -> str:
    return textwrap.dedent(f"""
        import pendulum
        {imports}


        @dag(schedule=None, start_date=pendulum.datetime(2024, 1, 1, tz="UTC"))
        def {dag_id}(name: str = "world", times=2):
            @task
            def greet(who, n):
                return " ".join([f"hello {{who}}"] * n)

            greet(name, n=times)


        {dag_id}()
        """)


_DAG_FUNCTIONS = {
    "2": _dag_function("from airflow.decorators import dag, task", "dag_function_2"),
    "3": _dag_function("from airflow.sdk import dag, task", "dag_function_3"),
}


@pytest.mark.skipif(not DAGSHIFT.exists(), reason=f"{DAGSHIFT} is not installed")
@pytest.mark.parametrize("generation", ["2", "3"])
def test_dag_function_parameters_are_run_parameters_as_in_airflow(generation, tmp_path):
    source = _DAG_FUNCTIONS[generation]
    name = f"dag_function_{generation}"
    original, out, result = _converted(tmp_path, f"{name}.py", source)
    for params, shown in (
        ({}, "hello world hello world"),
        ({"name": "ann", "times": 1}, "hello ann"),
    ):
        run, stderr = dagshift_run(out, ENV, tmp_path, params)
        assert run is not None, stderr
        airflow = airflow_run(original, LOGICAL_DATE, generation=generation, params=params, env=ENV)
        assert airflow[name]["tasks"]["greet"]["result"] == shown
        assert not differences(name, airflow, run)
