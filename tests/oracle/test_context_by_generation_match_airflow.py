"""Context keys per Airflow generation: what Airflow 3.3 lacks, a converted flow must not have.

Airflow 3's context has no ``execution_date`` (nor ``next_ds``, ``prev_ds`` ...): a callable
that takes it, a ``context["execution_date"]`` and a ``{{ execution_date }}`` template fail
the task there. The converter keeps such a DAG of an Airflow 3 file with its TODO; here the
golden cases that say so are run in real Airflow 3.3 to pin that they do fail.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from dagshift.converter.convert import convert_source
from dagshift.runtime.context import AIRFLOW_CONTEXT_KEYS, AIRFLOW_ONLY_KEYS
from tests.oracle.harness import ROOT, airflow_run, airflow_run_many
from tests.oracle.test_shim_parity import DAGSHIFT, dagshift_run

pytestmark = pytest.mark.oracle

_CASES = {  # golden case -> (dag id, task id, finding)
    "airflow3_has_no_execution_date_kept": ("stamp3", "stamp", "DS061"),
    "airflow3_context_execution_date_kept": ("day3", "day", "DS061"),
    "airflow3_template_execution_date_kept": ("echo3", "echo", "DS063"),
}


def _source(case: str) -> str:
    text = (ROOT / "fixtures" / "convert" / "context" / f"{case}.py").read_text()
    return text.split("\n# output\n", 1)[0] + "\n"


def test_airflow_3_fails_a_task_reading_execution_date_and_its_dag_stays(tmp_path):
    paths = []
    for case in _CASES:
        path = tmp_path / f"af3_{case}.py"
        path.write_text(_source(case))
        paths.append(path)
    runs = airflow_run_many([(path, "2024-01-15") for path in paths], generation="3")
    for (case, (dag_id, task_id, code)), run in zip(_CASES.items(), runs, strict=True):
        assert run[dag_id]["state"] == "failed", case
        assert run[dag_id]["tasks"][task_id]["state"] == "failed", case
        result = convert_source(_source(case))
        assert result.status == "partial", case
        assert [f.code for f in result.findings] == [code], case


_TI_DATES = """
import pendulum

from airflow.providers.standard.operators.python import PythonOperator
from airflow.sdk import DAG


def by_execution_date(ti):
    return str(ti.execution_date)


def by_logical_date(ti):
    return str(ti.logical_date)


def from_the_context(logical_date):
    return str(logical_date)


with DAG("ti_dates3", start_date=pendulum.datetime(2024, 1, 1, tz="UTC"), schedule=None):
    PythonOperator(task_id="by_execution_date", python_callable=by_execution_date)
    PythonOperator(task_id="by_logical_date", python_callable=by_logical_date)
    PythonOperator(task_id="from_the_context", python_callable=from_the_context)
"""


@pytest.mark.skipif(not DAGSHIFT.exists(), reason=f"{DAGSHIFT} is not installed")
def test_the_shim_gives_an_airflow_3_task_instance_no_dates_as_airflow_3_3(tmp_path):
    # Airflow 3.3's RuntimeTaskInstance has neither execution_date nor logical_date (2.11's has
    # both): the task fails there; the date is in the context
    path = tmp_path / "af3_ti_dates.py"
    path.write_text(_TI_DATES)
    airflow = airflow_run(path, "2024-01-15", generation="3")["ti_dates3"]["tasks"]
    assert {t: r["state"] for t, r in airflow.items()} == {
        "by_execution_date": "failed",
        "by_logical_date": "failed",
        "from_the_context": "success",
    }
    run, stderr = dagshift_run(path, {}, tmp_path)
    assert run is not None, stderr
    tasks = run["ti_dates3"]["tasks"]
    assert {t: r["state"] for t, r in tasks.items()} == {t: r["state"] for t, r in airflow.items()}
    assert tasks["from_the_context"]["result"] == airflow["from_the_context"]["result"]


_WHOLE = {
    "2": """
from datetime import datetime

from airflow import DAG
from airflow.operators.python import PythonOperator
""",
    "3": """
from datetime import datetime

from airflow.providers.standard.operators.python import PythonOperator
from airflow.sdk import DAG
""",
}
_WHOLE_TASKS = """

def all_keys(**kwargs):
    print(kwargs)
    return sorted(kwargs)


def but_ds(ds=None, **kwargs):
    return sorted(kwargs)


def values(**context):
    simple = (str, int, bool, type(None), datetime)
    # Airflow 2.11 fails resolving triggering_dataset_events under dag.test() (a session
    # error); the run id has the time of the run in Airflow 3
    skip = ("triggering_dataset_events", "run_id")
    return {k: str(context[k]) for k in context if k not in skip and isinstance(context[k], simple)}


def extra(limit, **kwargs):
    return [limit, sorted(k for k in kwargs if k in ("limit", "label"))]


with DAG("whole", start_date=datetime(2024, 1, 1), schedule="@daily"):
    PythonOperator(task_id="all_keys", python_callable=all_keys)
    PythonOperator(task_id="but_ds", python_callable=but_ds)
    PythonOperator(task_id="values", python_callable=values)
    PythonOperator(
        task_id="extra", python_callable=extra, op_kwargs={"limit": 3, "label": "x"}
    )
"""


@pytest.mark.skipif(not DAGSHIFT.exists(), reason=f"{DAGSHIFT} is not installed")
@pytest.mark.parametrize("generation", ["2", "3"])
def test_a_callable_printing_its_whole_context_sees_airflows_keys_but_those_dagshift_lacks(
    tmp_path, generation
):
    # what pprint(kwargs) shows: Airflow's keys for the generation, less AIRFLOW_ONLY_KEYS
    # (configuration, connections, previous successes ...); the text of the simple values
    path = tmp_path / f"af{generation}_whole.py"
    path.write_text(_WHOLE[generation] + _WHOLE_TASKS)
    airflow = airflow_run(path, "2024-01-15", generation=generation)["whole"]["tasks"]
    result = convert_source(path.read_text())
    assert result.status == "converted", result.findings
    converted = tmp_path / "converted" / path.name
    converted.parent.mkdir()
    converted.write_text(result.code)
    run, stderr = dagshift_run(converted, {}, tmp_path)
    assert run is not None, stderr
    tasks = run["whole"]["tasks"]
    keys = set(airflow["all_keys"]["result"])
    assert keys == AIRFLOW_CONTEXT_KEYS[generation]
    assert AIRFLOW_ONLY_KEYS[generation] <= keys
    assert tasks["all_keys"]["result"] == sorted(keys - AIRFLOW_ONLY_KEYS[generation])
    assert "ds" not in airflow["but_ds"]["result"]
    assert tasks["but_ds"]["result"] == sorted(keys - AIRFLOW_ONLY_KEYS[generation] - {"ds"})
    only = AIRFLOW_ONLY_KEYS[generation]
    assert tasks["values"]["result"] == {
        k: v for k, v in airflow["values"]["result"].items() if k not in only
    }
    assert tasks["extra"]["result"] == airflow["extra"]["result"] == [3, ["label"]]


# Example DAGs of Airflow's releases that these context rules (whole context, test_mode, xcom
# key forms, provide_context in default_args) made convert: (release, file); their conversions
# run as the original does in its Airflow (2.11 for 1.10/2.x files, 3.3 for the installed 3.x)
_UNBLOCKED = [
    ("1.10.15", "airflow/example_dags/example_passing_params_via_test_command.py"),
    ("1.10.15", "airflow/example_dags/example_xcom.py"),
    ("2.0.2", "airflow/example_dags/example_xcom.py"),
    ("2.11.0", "airflow/example_dags/example_passing_params_via_test_command.py"),
    ("installed", "airflow/example_dags/example_passing_params_via_test_command.py"),
]


@pytest.mark.skipif(not DAGSHIFT.exists(), reason=f"{DAGSHIFT} is not installed")
@pytest.mark.parametrize(("release", "name"), _UNBLOCKED, ids=lambda v: v.rsplit("/", 1)[-1])
def test_an_airflow_example_these_rules_unblock_converts_and_runs_as_in_airflow(
    tmp_path, monkeypatch, release, name
):
    import pendulum

    from tests.converter.test_corpus import _sources
    from tests.oracle import test_shim_parity
    from tests.oracle.test_shim_parity import differences

    # the old examples start days_ago(1 or 2): a run at a fixed date before that runs no task
    # in Airflow; both run today's
    today = pendulum.today("UTC").to_date_string()
    monkeypatch.setattr(test_shim_parity, "LOGICAL_DATE", today)

    source = next((s for n, s in _sources(release) if n.endswith(name)), None)
    if source is None:
        pytest.skip(f"{name} of apache-airflow {release} is not to be had")
    path = tmp_path / Path(name).name
    path.write_text(source)
    result = convert_source(source)
    assert result.status == "converted", result.findings
    converted = tmp_path / "converted" / path.name
    converted.parent.mkdir()
    converted.write_text(result.code)
    airflow = airflow_run(path, today, generation="3" if release == "installed" else "2")
    run, stderr = dagshift_run(converted, {}, tmp_path)
    assert run is not None, stderr
    assert not differences(path.stem, airflow, run), stderr[-2000:]


# golden cases of rules/context_whole.py whose results do not print the whole context (whose
# keys differ by AIRFLOW_ONLY_KEYS, pinned above): (case, generation)
_WHOLE_CASES = [
    ("printed_whole_airflow3", "3"),
    ("passed_on_to_a_function", "3"),
    ("keys_from_a_literal_list", "2"),
]


@pytest.mark.skipif(not DAGSHIFT.exists(), reason=f"{DAGSHIFT} is not installed")
@pytest.mark.parametrize(("case", "generation"), _WHOLE_CASES, ids=[c for c, _ in _WHOLE_CASES])
def test_a_whole_context_golden_case_runs_as_in_airflow(tmp_path, case, generation):
    from tests.oracle.test_shim_parity import differences

    text = (ROOT / "fixtures" / "convert" / "context_whole" / f"{case}.py").read_text()
    source, expected = text.split("\n# output\n", 1)
    path = tmp_path / f"{case}.py"
    path.write_text(source + "\n")
    converted = tmp_path / "converted" / path.name
    converted.parent.mkdir()
    converted.write_text(expected)
    airflow = airflow_run(path, "2024-01-15", generation=generation)
    run, stderr = dagshift_run(converted, {}, tmp_path)
    assert run is not None, stderr
    assert all(t["state"] == "success" for d in airflow.values() for t in d["tasks"].values())
    assert not differences(case, airflow, run), stderr[-2000:]
