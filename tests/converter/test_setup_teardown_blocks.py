"""Setup/teardown ``with`` blocks, converted: the flow has the graph real Airflow builds.

``with teardown(setup()):`` blocks draw edges nobody wrote (the work's roots after the setup,
its leaves before the teardown, nested blocks chained), so the converted flow's tasks, upstream
ids, roles, trigger rules and ``fails_run`` are compared with what real Airflow's DagBag builds
from the original file (Airflow 3.3 in ``.venv``, 2.11 in ``.venv-airflow2``). Run states and
results are pinned against Airflow by test_fixture_dags.py.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from dagshift.converter.convert import convert_source
from dagshift.runtime.loader import load_path
from dagshift.runtime.setup_teardown import FlowSetupTeardown
from tests.compat.airflow_graphs import airflow_dagbag, airflow_graph

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "fixtures" / "dags"
_EXAMPLES = {
    "3": next((ROOT / ".venv" / "lib").glob("python3*/site-packages")) / "airflow",
    "2": ROOT / ".venv-airflow2" / "lib" / "python3.11" / "site-packages" / "airflow",
}
GOLDEN = ROOT / "fixtures" / "convert" / "setup_teardown"
CASES = {
    "golden_pair": (GOLDEN / "setup_and_teardown_pair.py", "2"),
    "golden_with_teardown_of_setup": (GOLDEN / "with_teardown_of_setup.py", "3"),
    "golden_as_teardown": (GOLDEN / "as_teardown_of_taskflow_results.py", "3"),
    "golden_as_setup": (GOLDEN / "as_setup_of_a_taskflow_result.py", "2"),
    "golden_named": (GOLDEN / "with_a_name_bound_to_a_teardown.py", "3"),
    "af3_setup_teardown": (FIXTURES / "af3_setup_teardown.py", "3"),
    "af2_setup_teardown": (FIXTURES / "af2_setup_teardown.py", "2"),
    "example_setup_teardown_taskflow": (
        _EXAMPLES["3"] / "example_dags" / "example_setup_teardown_taskflow.py",
        "3",
    ),
    "example_setup_teardown_taskflow_2": (
        _EXAMPLES["2"] / "example_dags" / "example_setup_teardown_taskflow.py",
        "2",
    ),
}


def _converted(source: str, tmp_path: Path, name: str = "converted.py") -> dict:
    result = convert_source(source)
    assert result.status == "converted", result.findings
    path = tmp_path / name
    path.write_text(result.code)
    return {flow.name: flow for flow in load_path(str(path))}


def _graph(flows: dict) -> dict:
    return {
        name: {
            task_id: [
                sorted(flow.upstream_ids(task_id)),
                bool(node.options.get("setup")),
                bool(node.options.get("teardown")),
                node.trigger_rule,
                bool(node.options.get("fails_run")),
            ]
            for task_id, node in flow.tasks.items()
        }
        for name, flow in flows.items()
    }


@pytest.mark.oracle
@pytest.mark.parametrize("case", sorted(CASES))
def test_a_converted_setup_teardown_file_has_the_graph_airflow_builds(case, tmp_path):
    path, generation = CASES[case]
    if not path.exists():
        pytest.skip(f"{path} is not installed")
    source = path.read_text().split("\n# output\n")[0]  # a golden case: its input
    if path.parent == GOLDEN:
        path = tmp_path / "dags" / path.name
        path.parent.mkdir()
        path.write_text(source)
    converted = _graph(_converted(source, tmp_path))
    (tmp_path / "airflow").mkdir()
    assert converted == airflow_graph(path, generation, tmp_path / "airflow")


def test_with_a_work_task_fails_where_the_flow_is_defined_and_leaves_no_block_open(tmp_path):
    source = """
import pendulum
from airflow.sdk import DAG, task

@task
def ok():
    return 1

with DAG("cm", start_date=pendulum.datetime(2024, 1, 1), schedule=None):
    with ok():
        ok()
"""
    # Airflow refuses it at parse time ("Only setup/teardown tasks can be used as context
    # managers."): the converter keeps the DAG, with its TODO
    result = convert_source(source)
    assert result.status == "partial"
    assert [f.code for f in result.findings] == ["DS093"]
    from dagshift.runtime import Flow, task

    @task
    def work():
        return 1

    with Flow("direct"), pytest.raises(TypeError, match="neither a setup nor a teardown"):
        with work():
            work()
    assert not FlowSetupTeardown.active


def test_the_work_of_a_block_runs_between_its_setup_and_its_teardown(tmp_path):
    source = """
import pendulum
from airflow.sdk import DAG, setup, task, teardown

@setup
def create():
    return "c"

@teardown
def delete(c):
    return f"deleted {c}"

@task
def work(n):
    return n

with DAG("cm", start_date=pendulum.datetime(2024, 1, 1), schedule=None):
    with create() >> delete("x"):
        first = work.override(task_id="first")(1)
        work.override(task_id="second")(first)
    work.override(task_id="after")(3)
"""
    (flow,) = _converted(source, tmp_path).values()
    assert flow.upstream_ids("first") == ["create"]
    assert flow.upstream_ids("delete") == ["create", "second"]
    assert flow.upstream_ids("after") == []
    run = flow.run(logical_date="2024-01-15")
    assert run.tasks["delete"].result == "deleted x"
    assert run.tasks["second"].end <= run.tasks["delete"].start


@pytest.mark.oracle
@pytest.mark.parametrize(
    "case", ["example_setup_teardown_taskflow", "example_setup_teardown_taskflow_2"]
)
def test_airflow_s_setup_teardown_example_converted_runs_as_in_airflow(case, tmp_path):
    from tests.oracle.test_fixture_dags_in_airflow import ENV, oracle_runs
    from tests.oracle.test_shim_parity import dagshift_run, differences

    path, generation = CASES[case]
    if not path.exists():
        pytest.skip(f"{path} is not installed")
    result = convert_source(path.read_text())
    assert result.status == "converted", result.findings
    out = tmp_path / path.name
    out.write_text(result.code)
    run, stderr = dagshift_run(out, ENV, tmp_path)
    assert run is not None, stderr
    airflow = oracle_runs([path], generation)[path.stem]
    assert airflow["example_setup_teardown_taskflow"]["state"] == "success"
    assert not differences(path.stem, airflow, run)


@pytest.mark.oracle
def test_a_setup_followed_by_another_trigger_rule_is_refused_on_load_as_airflow_does(tmp_path):
    # Airflow's DagBag refuses the original: "Setup tasks must be followed with trigger rule
    # ALL_SUCCESS." (DAG.validate_setup_teardown, 2.11 and 3.3); so does loading its conversion
    from dagshift.runtime.loader import LoadError

    source = """
from airflow.sdk import DAG, task

@task
def make():
    return 1

@task
def after():
    return 2

with DAG("refused", schedule=None):
    made = make()
    made >> after.override(trigger_rule="all_done")()
    made.as_setup()
"""
    original = tmp_path / "dags" / "refused.py"
    original.parent.mkdir()
    original.write_text(source)
    (tmp_path / "airflow").mkdir()
    errors = airflow_dagbag(original, "3", tmp_path / "airflow")["errors"]
    assert any("Setup tasks must be followed with trigger rule ALL_SUCCESS" in e for e in errors)
    result = convert_source(source)
    assert result.status == "converted", result.findings
    path = tmp_path / "refused.py"
    path.write_text(result.code)
    with pytest.raises(LoadError, match="Setup tasks must be followed with trigger rule"):
        load_path(str(path))
