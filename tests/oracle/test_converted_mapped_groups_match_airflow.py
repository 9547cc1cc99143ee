"""Converted mapped task groups (rule ``mapped_groups``, ``@group ... .expand``) against real
Airflow: the converted graph is the one Airflow builds (a mapped group's input upstream of its
first tasks and of every task taking a mapped argument), and Airflow 3's own
example_dynamic_task_mapping converts and runs as in Airflow 3, as does a DAG whose mapped
group skips one element (AirflowSkipException) before tasks of several trigger rules (the
fixtures' af2/af3_mapped_task_groups.py states and results:
tests/converter/test_fixture_dags.py)."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from dagshift.converter.convert import convert_source
from dagshift.runtime.loader import load_path
from tests.compat.airflow_graphs import airflow_graph
from tests.oracle.harness import airflow_run
from tests.oracle.test_fixture_dags_in_airflow import ENV, LOGICAL_DATE
from tests.oracle.test_shim_parity import DAGSHIFT, dagshift_run, differences

pytestmark = pytest.mark.oracle

_ROOT = Path(__file__).resolve().parents[2]
_FIXTURES = _ROOT / "fixtures" / "dags"
_SITE = next((_ROOT / ".venv" / "lib").glob("python3*/site-packages"))
_EXAMPLE = _SITE / "airflow" / "example_dags" / "example_dynamic_task_mapping.py"
GRAPHS = {
    "af3_mapped_task_groups": (_FIXTURES / "af3_mapped_task_groups.py", "3"),
    "af2_mapped_task_groups": (_FIXTURES / "af2_mapped_task_groups.py", "2"),
    "af3_mapping_inputs": (_FIXTURES / "af3_mapping_inputs.py", "3"),
    "af2_mapping_inputs": (_FIXTURES / "af2_mapping_inputs.py", "2"),
    "example_dynamic_task_mapping": (_EXAMPLE, "3"),
}


def _converted(path: Path, tmp_path: Path) -> Path:
    result = convert_source(path.read_text())
    assert result.status == "converted", result.findings
    out = tmp_path / path.name
    out.write_text(result.code)
    return out


@pytest.mark.parametrize("case", sorted(GRAPHS))
def test_a_converted_mapped_group_has_the_graph_airflow_builds(case, tmp_path):
    path, generation = GRAPHS[case]
    flows = {f.name: f for f in load_path(str(_converted(path, tmp_path)))}
    converted = {
        name: {
            t: [sorted(flow.upstream_ids(t)), node.options["trigger_rule"]]
            for t, node in flow.tasks.items()
        }
        for name, flow in flows.items()
    }
    airflow = {
        dag_id: {t: [up, rule] for t, (up, _, _, rule, _) in tasks.items()}
        for dag_id, tasks in airflow_graph(path, generation, tmp_path).items()
    }
    assert converted == airflow


@pytest.mark.skipif(not DAGSHIFT.exists(), reason=f"{DAGSHIFT} is not installed")
def test_airflow_3s_task_group_mapping_example_converts_and_runs_as_in_airflow(tmp_path):
    run, stderr = dagshift_run(_converted(_EXAMPLE, tmp_path), ENV, tmp_path)
    assert run is not None, stderr
    assert run["example_task_group_mapping"]["tasks"]["op.mul_2"]["result"] == [4, 6, 8]
    airflow = airflow_run(_EXAMPLE, LOGICAL_DATE, generation="3", env=ENV)
    assert not differences(_EXAMPLE.stem, airflow, run)


_SKIPS = textwrap.dedent("""
    import pendulum

    from airflow.sdk import dag, task, task_group
    from airflow.sdk.exceptions import AirflowSkipException


    @dag(schedule=None, start_date=pendulum.datetime(2024, 1, 1, tz="UTC"))
    def skips_in_a_mapped_group():
        @task
        def sources():
            return [1, 2, 3]

        @task_group
        def each(x):
            @task
            def maybe(x):
                if x == 2:
                    raise AirflowSkipException("not two")
                return x

            @task
            def after(v):
                return v * 10

            @task(trigger_rule="none_failed")
            def tolerant():
                return "ran"

            @task(trigger_rule="all_skipped")
            def when_skipped():
                return "skipped"

            @task(trigger_rule="none_skipped")
            def unskipped():
                return "none skipped"

            m = maybe(x)
            m >> [tolerant(), when_skipped(), unskipped()]
            return after(m)

        @task
        def collect(values):
            return list(values)

        @task(trigger_rule="none_failed")
        def collect_tolerant(values):
            return list(values)

        done = each.expand(x=sources())
        collect(done)
        collect_tolerant(done)


    skips_in_a_mapped_group()
""")


@pytest.mark.skipif(not DAGSHIFT.exists(), reason=f"{DAGSHIFT} is not installed")
def test_a_skip_inside_a_mapped_group_is_followed_index_by_index_as_in_airflow(tmp_path):
    dags = tmp_path / "dags"
    dags.mkdir()
    path = dags / "skips_in_a_mapped_group.py"
    path.write_text(_SKIPS)
    run, stderr = dagshift_run(_converted(path, tmp_path), ENV, tmp_path)
    assert run is not None, stderr
    tasks = run["skips_in_a_mapped_group"]["tasks"]
    assert tasks["each.after"]["result"] == [10, None, 30]
    assert tasks["collect"]["state"] == "skipped"
    airflow = airflow_run(path, LOGICAL_DATE, generation="3", env=ENV)
    assert not differences("skips_in_a_mapped_group", airflow, run)
