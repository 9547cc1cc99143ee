"""Template XCom pulls of every literal form, and the context names templates read, run as in
Airflow: each BashOperator of a DAG per generation echoes one template; converted, every task's
result (the echoed line) must be Airflow's, exactly.

A list pull is Airflow 3's list (None for a task without a value); Airflow 2.11 keeps only the
tasks with a value and renders the list as ``LazySelectSequence([n items])``: a 1.10/2.x file
converts it only indexed (its whole rendering keeps the DAG, pinned here too).
"""

from __future__ import annotations

import pytest

from dagshift.converter.convert import convert_source
from tests.oracle.harness import airflow_run
from tests.oracle.test_shim_parity import DAGSHIFT, dagshift_run

pytestmark = pytest.mark.oracle

_HEADER = {
    "2": """from datetime import datetime

from airflow import DAG
from airflow.operators.bash import BashOperator
from airflow.operators.python import PythonOperator
""",
    "3": """from datetime import datetime

from airflow.providers.standard.operators.bash import BashOperator
from airflow.providers.standard.operators.python import PythonOperator
from airflow.sdk import DAG
""",
}
_PRODUCERS = """

def first(ti):
    ti.xcom_push(key="k", value="pushed")
    return 1


def second():
    return "two"


def nothing():
    return None


with DAG("pulls", start_date=datetime(2024, 1, 1), schedule=None) as dag:
    a = PythonOperator(task_id="a", python_callable=first)
    b = PythonOperator(task_id="b", python_callable=second)
    n = PythonOperator(task_id="n", python_callable=nothing)
"""
_BOTH = {
    "many_first": "{{ ti.xcom_pull(task_ids=['a', 'b'])[0] }}",
    "none_first": "{{ ti.xcom_pull(task_ids=['n', 'b'])[0] }}",
    "many_key_first": "{{ ti.xcom_pull(task_ids=['a'], key='k')[0] }}",
    "tuple_last": "{{ ti.xcom_pull(task_ids=('a', 'b'))[1] }}",
    "positional_key": "{{ ti.xcom_pull('a', key='k') }}",
    "key_first": "{{ ti.xcom_pull(key='k', task_ids='a') }}",
    "own_dag_id": "{{ task_instance.xcom_pull(task_ids='a', dag_id='pulls', key='k') }}",
    "double_quotes": '{{ ti.xcom_pull(task_ids=\\"b\\") }}',
    "names": "{{ task_instance_key_str }} {{ dag_run.run_id == run_id }}",
}
_AIRFLOW_3 = {
    "many": "{{ ti.xcom_pull(task_ids=['a', 'b']) }}",
    "many_none": "{{ ti.xcom_pull(task_ids=['n', 'b']) }}",
    "many_key": "{{ ti.xcom_pull(key='k', task_ids=['a', 'b']) }}",
}


def _source(generation: str, templates: dict[str, str]) -> str:
    tasks = "".join(
        f'    [a, b, n] >> BashOperator(task_id="{tid}", bash_command="""echo "{text}" """)\n'
        for tid, text in templates.items()
    )
    return _HEADER[generation] + _PRODUCERS + tasks


@pytest.mark.skipif(not DAGSHIFT.exists(), reason=f"{DAGSHIFT} is not installed")
@pytest.mark.parametrize("generation", ["2", "3"])
def test_template_pulls_of_literal_forms_give_what_airflow_renders(tmp_path, generation):
    templates = {**_BOTH, **(_AIRFLOW_3 if generation == "3" else {})}
    path = tmp_path / f"af{generation}_pulls.py"
    path.write_text(_source(generation, templates))
    airflow = airflow_run(path, "2024-01-15", generation=generation)["pulls"]["tasks"]
    result = convert_source(path.read_text())
    assert result.status == "converted", result.findings
    converted = tmp_path / "converted" / path.name
    converted.parent.mkdir()
    converted.write_text(result.code)
    run, stderr = dagshift_run(converted, {}, tmp_path)
    assert run is not None, stderr
    tasks = run["pulls"]["tasks"]
    assert {t: r["state"] for t, r in tasks.items()} == {t: "success" for t in airflow}
    assert {t: tasks[t]["result"] for t in templates} == {
        t: airflow[t]["result"] for t in templates
    }
    assert airflow["names"]["result"] == "pulls__names__20240115 True"


@pytest.mark.parametrize("generation", ["2", "3"])
def test_a_template_pull_converted_with_no_airflow_equivalent_keeps_its_dag(tmp_path, generation):
    kept = {"key_none": "{{ ti.xcom_pull(task_ids='a', key=None) }}"}
    if generation == "2":
        kept["many"] = "{{ ti.xcom_pull(task_ids=['a', 'b']) }}"
    path = tmp_path / f"af{generation}_kept.py"
    path.write_text(_source(generation, kept))
    airflow = airflow_run(path, "2024-01-15", generation=generation)["pulls"]["tasks"]
    if generation == "2":  # what a list renders as in Airflow 2.11
        assert airflow["many"]["result"] == "LazySelectSequence([2 items])"
        assert airflow["key_none"]["result"] == "1"  # any key: the latest XCom
    else:
        assert airflow["key_none"]["state"] == "failed"
    result = convert_source(path.read_text())
    assert result.status == "partial"
    assert {f.code for f in result.findings} == {"DS075"}


_CALLABLE_PULLS = """from datetime import datetime

from airflow import DAG
from airflow.operators.python import PythonOperator

KEY = "pushed key"


def push(ti):
    ti.xcom_push(key=KEY, value=[1, 2])


def push_and_return(ti):
    ti.xcom_push(key="other", value="x")
    return "returned"


def returns():
    return {"a": "b"}


def puller(ti):
    return [
        ti.xcom_pull(task_ids="push", key=None),
        ti.xcom_pull(task_ids="returns", key=None),
        list(ti.xcom_pull(key=None, task_ids=["push", "returns"])),
        ti.xcom_pull(task_ids="push", key=KEY),
        ti.xcom_pull(task_ids="push_and_return", key=KEY),
    ]


with DAG("callable_pulls", start_date=datetime(2024, 1, 1), schedule=None):
    pushed = PythonOperator(task_id="push", python_callable=push)
    both = PythonOperator(task_id="push_and_return", python_callable=push_and_return)
    returned = PythonOperator(task_id="returns", python_callable=returns)
    pull = PythonOperator(task_id="puller", python_callable=puller)
    [pushed, both, returned] >> pull
"""


@pytest.mark.skipif(not DAGSHIFT.exists(), reason=f"{DAGSHIFT} is not installed")
def test_airflow_2_pulls_of_any_key_and_of_a_key_named_once_give_airflows_values(tmp_path):
    # key=None in Airflow 2.11: the task's latest XCom of any key, converted where the task
    # writes one XCom only; key=KEY: the string the name is bound to
    path = tmp_path / "af2_callable_pulls.py"
    path.write_text(_CALLABLE_PULLS)
    airflow = airflow_run(path, "2024-01-15", generation="2")["callable_pulls"]["tasks"]
    assert airflow["puller"]["result"] == [[1, 2], {"a": "b"}, [[1, 2], {"a": "b"}], [1, 2], None]
    result = convert_source(path.read_text())
    assert result.status == "converted", result.findings
    converted = tmp_path / "converted" / path.name
    converted.parent.mkdir()
    converted.write_text(result.code)
    run, stderr = dagshift_run(converted, {}, tmp_path)
    assert run is not None, stderr
    assert run["callable_pulls"]["tasks"]["puller"] == airflow["puller"]
    # a task that pushes a key and returns a value: which is latest is Airflow's timing
    ambiguous = _CALLABLE_PULLS.replace(
        'task_ids="returns", key=None', 'task_ids="push_and_return", key=None'
    )
    assert [f.code for f in convert_source(ambiguous).findings] == ["DS071"]
