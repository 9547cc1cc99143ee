"""The converter rules' fixtures convert entirely, and the conversions give what Airflow gives.

Every ``fixtures/dags/*_r_*.py`` (Variables, the context values per Airflow generation) must
convert with no TODO; its output, run with ``dagshift run --json --date 2024-01-15``, must give
the same DAG ids, run states, and every task's state and result, exactly, as the original file
in its Airflow (2.11 for 1.10/2.x style, 3.3 for 3.x style; see
test_fixture_dags_in_airflow.py). The corners the rules decide on are pinned here against the
oracle too: Airflow 3's Variable.get raises no KeyError for a missing variable.
"""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from dagshift.converter.convert import convert_source
from tests.oracle.harness import ROOT, OracleError, airflow_run
from tests.oracle.test_fixture_dags_in_airflow import (
    ENV,
    FIXTURE_DAGS,
    env_for,
    oracle_generation,
    oracle_runs,
)
from tests.oracle.test_shim_parity import (
    DAGSHIFT,
    EXAMPLE_FOLDERS,
    dagshift_run,
    differences,
)

pytestmark = pytest.mark.oracle

RULE_FIXTURES = sorted(FIXTURE_DAGS.glob("*_r_*.py"))
# Airflow 3.3's own examples that these rules made convert (dag_run.conf in a template,
# dag_display_name, Params with schemas, task groups, assets): their conversions must match
# Airflow too
_EXAMPLES = EXAMPLE_FOLDERS["example"]
UNBLOCKED = [
    _EXAMPLES / f"{name}.py" if _EXAMPLES else Path(name)
    for name in (
        "example_trigger_target_dag",
        "example_display_name",
        "example_params_trigger_ui",
        "example_task_group",
        "example_task_group_decorator",
        # scheduling.py: assets, aliases, conditions, timetables, outlet/inlet events
        "example_assets",
        "example_asset_alias",
        "example_asset_alias_with_no_taskflow",
        "example_asset_with_watchers",
        # operators.py: depends_on_past in default_args
        "example_branch_python_dop_operator_3",
        # a BashOperator template reading inlet_events.for_asset(uri=...)[-1].extra
        "example_inlet_event_extra",
    )
]
# Airflow 2.11's examples these rules made convert, matched against Airflow 2.11
_SITE_2 = next((ROOT / ".venv-airflow2" / "lib").glob("python3*/site-packages"), None)
UNBLOCKED_2 = [
    _SITE_2 / "airflow" / "example_dags" / f"{name}.py" if _SITE_2 else Path(name)
    for name in (
        # a template reading inlet_events[Dataset(...)]: Dataset is undefined there, in both
        "example_inlet_event_extra",
    )
]


@pytest.fixture(scope="module")
def rules_oracle() -> dict[str, dict]:
    runs: dict[str, dict] = {}
    for generation in ("2", "3"):
        paths = [p for p in RULE_FIXTURES if oracle_generation(p) == generation]
        if paths:
            runs |= oracle_runs(paths, generation)
    return runs


def test_there_are_rule_fixtures_of_both_generations():
    assert {oracle_generation(p) for p in RULE_FIXTURES} == {"2", "3"}


@pytest.mark.skipif(not DAGSHIFT.exists(), reason=f"{DAGSHIFT} is not installed")
@pytest.mark.parametrize("path", RULE_FIXTURES, ids=lambda p: p.stem)
def test_rule_fixture_converts_fully_and_runs_as_in_airflow(path: Path, rules_oracle, tmp_path):
    result = convert_source(path.read_text())
    assert result.status == "converted", result.findings
    assert "airflow" not in {line.split()[1].split(".")[0] for line in _imports(result.code)}
    out = tmp_path / path.name
    out.write_text(result.code)
    run, stderr = dagshift_run(out, env_for(path), tmp_path)
    assert run is not None, f"dagshift run gave no JSON:\n{stderr}"
    found = differences(path.stem, rules_oracle[path.stem], run)
    assert not found, "\n".join(found) + f"\n--- dagshift stderr:\n{stderr[-3000:]}"


def _imports(code: str) -> list[str]:
    return [ln for ln in code.splitlines() if ln.startswith(("import ", "from "))]


_SDK_KEY_ERROR = textwrap.dedent("""
    import pendulum

    from airflow.providers.standard.operators.python import PythonOperator
    from airflow.sdk import DAG, Variable


    def by_key_error():
        try:
            return Variable.get("dagshift_absent")
        except KeyError:
            return "caught"


    def by_exception():
        try:
            return Variable.get("dagshift_absent")
        except Exception:
            return "caught"


    with DAG("sdk_key_error", start_date=pendulum.datetime(2024, 1, 1), schedule=None):
        PythonOperator(task_id="by_key_error", python_callable=by_key_error)

    with DAG("sdk_exception", start_date=pendulum.datetime(2024, 1, 1), schedule=None):
        PythonOperator(task_id="by_exception", python_callable=by_exception)
    """)


@pytest.mark.skipif(not DAGSHIFT.exists(), reason=f"{DAGSHIFT} is not installed")
def test_airflow_3_missing_variable_is_no_key_error_so_that_dag_stays(tmp_path):
    path = tmp_path / "af3_sdk_key_error.py"
    path.write_text(_SDK_KEY_ERROR)
    airflow = airflow_run(path, "2024-01-15", generation="3", env=ENV)
    assert airflow["sdk_key_error"]["tasks"]["by_key_error"]["state"] == "failed"
    assert airflow["sdk_exception"]["tasks"]["by_exception"] == {
        "state": "success",
        "result": "caught",
    }
    result = convert_source(_SDK_KEY_ERROR)
    assert result.status == "partial"
    assert [f.code for f in result.findings] == ["DS002"]
    assert 'with Flow("sdk_exception"' in result.code  # the other DAG converts
    out = tmp_path / "converted" / path.name
    out.parent.mkdir()
    out.write_text(result.code)
    run, stderr = dagshift_run(out, ENV, tmp_path)
    assert run is not None, stderr
    assert run["sdk_exception"]["tasks"]["by_exception"]["result"] == "caught"


@pytest.mark.skipif(not DAGSHIFT.exists(), reason=f"{DAGSHIFT} is not installed")
def test_a_converted_param_schema_accepts_and_refuses_the_runs_airflow_does(tmp_path):
    path = FIXTURE_DAGS / "af3_r_params.py"
    out = tmp_path / "converted" / path.name
    out.parent.mkdir()
    out.write_text(convert_source(path.read_text()).code)
    good = {"rows": 3, "who": "dev"}
    airflow = airflow_run(path, "2024-01-15", generation="3", params=good, env=ENV)
    run, stderr = dagshift_run(out, ENV, tmp_path, good)
    assert run is not None, stderr
    assert not differences("af3_r_params", airflow, run)
    for bad, why in (({"rows": 0}, "0 is less than the minimum of 1"), ({"who": "x"}, "'x'")):
        with pytest.raises(OracleError, match=f"Invalid input for param {next(iter(bad))}"):
            airflow_run(path, "2024-01-15", generation="3", params=bad, env=ENV)
        run, stderr = dagshift_run(out, ENV, tmp_path, bad)
        assert run is None
        assert f"Invalid input for param {next(iter(bad))}: {why}" in stderr


@pytest.mark.skipif(not DAGSHIFT.exists(), reason=f"{DAGSHIFT} is not installed")
@pytest.mark.parametrize("path", UNBLOCKED, ids=lambda p: p.stem)
def test_airflow_example_these_rules_unblock_converts_and_matches_airflow(path, tmp_path):
    if not path.exists():
        pytest.skip(f"{path} is not installed")
    result = convert_source(path.read_text())
    assert result.status == "converted", result.findings
    out = tmp_path / path.name
    out.write_text(result.code)
    run, stderr = dagshift_run(out, ENV, tmp_path)
    assert run is not None, stderr
    airflow = oracle_runs([path], "3")[path.stem]
    assert not differences(path.stem, airflow, run)


@pytest.mark.skipif(not DAGSHIFT.exists(), reason=f"{DAGSHIFT} is not installed")
@pytest.mark.parametrize("path", UNBLOCKED_2, ids=lambda p: p.stem)
def test_airflow_2_example_these_rules_unblock_converts_and_matches_airflow_2(path, tmp_path):
    if not path.exists():
        pytest.skip(f"{path} is not installed")
    result = convert_source(path.read_text())
    assert result.status == "converted", result.findings
    out = tmp_path / path.name
    out.write_text(result.code)
    run, stderr = dagshift_run(out, ENV, tmp_path)
    assert run is not None, stderr
    airflow = oracle_runs([path], "2")[path.stem]
    assert not differences(path.stem, airflow, run)


_DAG_CALLBACKS = """
import os

import pendulum

{imports}


def _write(line):
    with open(os.environ["DAGSHIFT_CALLBACK_LOG"], "a") as f:
        f.write(line + "\\n")


def finished(context):
    _write(f"finished {{context['dag'].dag_id}} {{context['reason']}} {{context['ds']}}")


def alert(context):
    _write(f"alert {{context['dag'].dag_id}} {{context['reason']}} {{context['dag_run'].conf}}")


def broken(context):
    raise RuntimeError("a broken DAG callback")


@task
def fine():
    return "fine"


@task
def fails():
    raise ValueError("no")


start = pendulum.datetime(2024, 1, 1, tz="UTC")
with DAG("run_ok", start_date=start, schedule=None, on_success_callback=[broken, finished],
         on_failure_callback=alert):
    fine()

with DAG("run_bad", start_date=start, schedule=None, on_success_callback=finished,
         on_failure_callback=[broken, alert, finished]):
    fails() >> fine()
"""
_DAG_CALLBACK_IMPORTS = {
    "2": "from airflow import DAG\nfrom airflow.decorators import task",
    "3": "from airflow.sdk import DAG, task",
}


@pytest.mark.skipif(not DAGSHIFT.exists(), reason=f"{DAGSHIFT} is not installed")
@pytest.mark.parametrize("generation", ["2", "3"])
def test_dag_callbacks_are_called_once_the_run_ended_as_airflow_calls_them(generation, tmp_path):
    # dag.test() of Airflow 2.11 and 3.3 calls the DAG's callbacks with the reason; a broken one
    # changes nothing (the log path differs per test run, so the oracle's cache never skips it)
    source = _DAG_CALLBACKS.format(imports=_DAG_CALLBACK_IMPORTS[generation])
    path = tmp_path / f"af{generation}_run_callbacks.py"
    path.write_text(source)
    logs = {side: tmp_path / f"{side}.log" for side in ("airflow", "dagshift")}
    airflow = airflow_run(
        path,
        "2024-01-15",
        generation=generation,
        env={"DAGSHIFT_CALLBACK_LOG": str(logs["airflow"])},
    )
    result = convert_source(source)
    assert result.status == "converted", result.findings
    out = tmp_path / "converted" / path.name
    out.parent.mkdir()
    out.write_text(result.code)
    run, stderr = dagshift_run(out, {"DAGSHIFT_CALLBACK_LOG": str(logs["dagshift"])}, tmp_path)
    assert run is not None, stderr
    assert {d: r["state"] for d, r in run.items()} == {d: r["state"] for d, r in airflow.items()}
    assert {d: r["state"] for d, r in airflow.items()} == {"run_ok": "success", "run_bad": "failed"}
    lines = {side: sorted(log.read_text().splitlines()) for side, log in logs.items()}
    assert lines["airflow"] == [
        "alert run_bad task_failure {}",
        "finished run_bad task_failure 2024-01-15",
        "finished run_ok success 2024-01-15",
    ]
    assert lines["dagshift"] == lines["airflow"]


_INLET_TEMPLATE_2 = """
import pendulum
from airflow import DAG
from airflow.datasets import Dataset
from airflow.operators.bash import BashOperator
from airflow.operators.python import PythonOperator

raw = Dataset("s3://bucket/raw.csv")


def produce(outlet_events=None):
    outlet_events[raw].extra = {"rows": 3, "note": "<a>&'b'"}


with DAG("reads_events", schedule=None, start_date=pendulum.datetime(2024, 1, 1, tz="UTC")):
    p = PythonOperator(task_id="produce", python_callable=produce, outlets=[raw])
    r = BashOperator(
        task_id="read",
        inlets=[raw],
        bash_command="echo {{ inlet_events['s3://someone@bucket/raw.csv'] | length }} "
        "{{ inlet_events[0][-1].extra.rows }} '{{ inlet_events[0][-1].extra | tojson }}'",
    )
    p >> r
"""
# dag.test() records a dataset event only for a dataset in Airflow's database (which a
# deployment's DAG processor writes): the oracle's copy adds it first, in a task of its own
_DATASET_MODEL = """

def model():
    from airflow.models.dataset import DatasetModel
    from airflow.utils.session import create_session

    with create_session() as session:
        session.add(DatasetModel(uri=raw.uri))


with DAG("""


def test_airflow_2_template_reading_a_recorded_event_renders_as_in_airflow_2(tmp_path):
    oracle_file = tmp_path / "oracle" / "reads_events.py"
    oracle_file.parent.mkdir()
    source = _INLET_TEMPLATE_2.replace("\n\nwith DAG(", _DATASET_MODEL).replace(
        "    p >> r", '    PythonOperator(task_id="model", python_callable=model) >> p >> r'
    )
    oracle_file.write_text(source)
    airflow = airflow_run(oracle_file, "2024-01-15", generation="2")["reads_events"]
    assert airflow["tasks"]["read"] == {
        "state": "success",
        "result": '1 3 {"note": "\\u003ca\\u003e\\u0026\\u0027b\\u0027", "rows": 3}',
    }
    result = convert_source(_INLET_TEMPLATE_2)
    assert result.status == "converted", result.findings
    out = tmp_path / "reads_events.py"
    out.write_text(result.code)
    run, stderr = dagshift_run(out, ENV, tmp_path)
    assert run is not None, stderr
    assert run["reads_events"]["tasks"]["read"] == airflow["tasks"]["read"]
