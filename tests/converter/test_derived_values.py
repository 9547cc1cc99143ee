"""``.map`` / ``.zip`` / ``.concat`` of operator outputs and mapped tasks: converted, as in Airflow.

A converted operator's ``.output`` is its task's reference (dagshift's ``map`` and friends), a
kept one's the shim's XComArg (``dagshift.compat.xcom_args``, whose sources may be converted
tasks' references): the converted file's run must give every task's state and result that real
Airflow 3.3 gives for the original (the mapped-task-results and TaskFlow cases are the fixtures
af2/af3_xcomarg_lazy.py, pinned in test_fixture_dags.py).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from dagshift.converter.convert import convert_source

SOURCE = """
import pendulum

from airflow.providers.standard.operators.bash import BashOperator
from airflow.providers.standard.operators.python import PythonOperator
from airflow.sdk import DAG, BaseOperator, task


class Listing(BaseOperator):
    def execute(self, context):
        return ["x", "y"]


def _listed():
    return [1, 2, 3]


with DAG("map_of_output", schedule=None, start_date=pendulum.datetime(2024, 1, 1, tz="UTC")):

    @task
    def show(value):
        return value

    @task
    def whole(values):
        return [len(values), list(values)]

    made = PythonOperator(task_id="made", python_callable=_listed)
    echoed = BashOperator(task_id="echoed", bash_command="echo abc")
    show.override(task_id="doubled").expand(value=made.output.map(lambda n: n * 2))
    whole.override(task_id="zipped")(made.output.zip(echoed.output, fillvalue="-"))
    listing = Listing(task_id="listing")
    show.override(task_id="kept").expand(value=listing.output.map(lambda s: s + "!"))
    whole.override(task_id="kept_concat")(listing.output.concat(made.output))
    whole.override(task_id="concat_kept")(made.output.concat(listing.output))
"""


def test_a_map_of_operator_outputs_converts_with_the_kept_operator_bridged():
    result = convert_source(SOURCE)
    assert result.status == "converted", result.findings
    assert result.bridged == [{"task_id": "listing", "operator": "Listing"}]
    assert "made.map(lambda n: n * 2)" in result.code  # a converted operator: its reference
    assert "listing.output.map(" in result.code  # a kept one: the shim's XComArg


@pytest.mark.oracle
def test_a_map_of_operator_outputs_runs_as_in_airflow(tmp_path: Path):
    from tests.oracle.harness import airflow_run
    from tests.oracle.test_fixture_dags_in_airflow import ENV
    from tests.oracle.test_shim_parity import dagshift_run, differences

    original = tmp_path / "dags" / "af3_map_of_output.py"
    original.parent.mkdir()
    original.write_text(SOURCE)
    airflow = airflow_run(original, "2024-01-15", generation="3", env=ENV)
    assert airflow["map_of_output"]["tasks"]["kept_concat"] == {
        "state": "success",
        "result": [5, ["x", "y", 1, 2, 3]],
    }
    out = tmp_path / "converted" / original.name
    out.parent.mkdir()
    out.write_text(convert_source(SOURCE).code)
    run, stderr = dagshift_run(out, ENV, tmp_path)
    assert run is not None, stderr
    assert not differences("af3_map_of_output", airflow, run)


MAPPED_SKIP = """
import pendulum

from {decorators} import dag, task
from {exceptions} import AirflowSkipException


@dag(schedule=None, start_date=pendulum.datetime(2024, 1, 1, tz="UTC"))
def map_of_mapped_skip():
    @task
    def double(n):
        if n == 2:
            raise AirflowSkipException("two")
        return n * 2

    @task(trigger_rule="none_failed")
    def show(value):
        return value

    @task(trigger_rule="none_failed")
    def whole(values):
        return list(values)

    doubled = double.expand(n=[1, 2, 3])
    show.expand(value=doubled.map(lambda n: n + 1))
    whole(doubled.map(lambda n: n + 1))
    whole.override(task_id="plain")(doubled)


map_of_mapped_skip()
"""
_GENERATIONS = {
    "2": {"decorators": "airflow.decorators", "exceptions": "airflow.exceptions"},
    "3": {"decorators": "airflow.sdk", "exceptions": "airflow.sdk.exceptions"},
}


@pytest.mark.oracle
@pytest.mark.parametrize("generation", sorted(_GENERATIONS))
def test_a_map_of_a_mapped_task_with_a_skipped_element_leaves_it_out_as_airflow(
    generation: str, tmp_path: Path
):
    # Airflow 2.11 and 3.3 agree: the skipped element is no element of the map
    from tests.oracle.harness import airflow_run
    from tests.oracle.test_fixture_dags_in_airflow import ENV
    from tests.oracle.test_shim_parity import dagshift_run, differences

    source = MAPPED_SKIP.format(**_GENERATIONS[generation])
    original = tmp_path / "dags" / f"af{generation}_map_of_mapped_skip.py"
    original.parent.mkdir()
    original.write_text(source)
    airflow = airflow_run(original, "2024-01-15", generation=generation, env=ENV)
    assert airflow["map_of_mapped_skip"]["tasks"]["show"] == {"state": "success", "result": [3, 7]}
    result = convert_source(source)
    assert result.status == "converted", result.findings
    out = tmp_path / "converted" / original.name
    out.parent.mkdir()
    out.write_text(result.code)
    run, stderr = dagshift_run(out, ENV, tmp_path)
    assert run is not None, stderr
    assert not differences(original.stem, airflow, run)
