"""LatestOnlyOperator, pinned against real Airflow's ``dag.test()`` in both generations.

``dag.test()`` makes a manual run in Airflow 3.3 (LatestOnly lets it proceed) and a run that is
*not* externally triggered in Airflow 2.11 (LatestOnly checks the window: an old date skips).
dagshift: ``dagshift run`` is a manual, external run; a run ``serve`` starts is a scheduled one
(``dagshift.run_type`` in the run, as Airflow's run_type).
"""

from __future__ import annotations

import json
import subprocess
import sys

import pendulum
import pytest

from tests.oracle import harness

FIXTURES = harness.ROOT / "fixtures" / "dags" / "scheduling"
DATE = "2024-01-15"


def _states(result: dict, dag_id: str) -> dict:
    return {t: v["state"] for t, v in result[dag_id]["tasks"].items()}


def _dagshift_run(path, tmp_path) -> dict:
    proc = subprocess.run(
        [sys.executable, "-m", "dagshift", "run", str(path), "--json", "--date", DATE,
         "--db", str(tmp_path / "h.db")],
        capture_output=True, text=True, timeout=120, cwd=tmp_path,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


def _scheduled_run(path, logical_date, shim) -> dict:
    from dagshift.runtime.loader import load_file

    [flow] = load_file(path)
    run = flow.run(logical_date=logical_date, run_extra={"dagshift.run_type": "scheduled"})
    return {t: tr.state for t, tr in run.tasks.items()}


@pytest.mark.oracle
def test_airflow_3_manual_run_proceeds_as_in_dag_test(tmp_path):
    path = FIXTURES / "af3_sch_latest_only.py"
    airflow = _states(harness.airflow_run(path, DATE, "3"), "af3_sch_latest_only")
    assert airflow == {"latest_only": "success", "after_latest": "success",
                       "independent": "success"}  # fmt: skip
    assert _states(_dagshift_run(path, tmp_path), "af3_sch_latest_only") == airflow


@pytest.mark.oracle
def test_airflow_2_run_not_externally_triggered_skips_an_old_date_as_dag_test(shim):
    path = FIXTURES / "af2_sch_latest_only.py"
    airflow = _states(harness.airflow_run(path, DATE, "2"), "af2_sch_latest_only")
    assert airflow == {"latest_only": "success", "after_latest": "skipped",
                       "independent": "success"}  # fmt: skip
    assert _scheduled_run(path, DATE, shim) == airflow


def test_a_manual_airflow_2_run_proceeds_it_is_externally_triggered(tmp_path):
    # Airflow 2 source: "if dag_run.external_trigger: ... allowing execution to proceed"
    result = _dagshift_run(FIXTURES / "af2_sch_latest_only.py", tmp_path)
    assert _states(result, "af2_sch_latest_only")["after_latest"] == "success"


@pytest.mark.parametrize("name", ["af3_sch_latest_only", "af2_sch_latest_only"])
def test_a_scheduled_run_of_the_latest_interval_proceeds_an_older_one_skips(name, shim):
    path = FIXTURES / f"{name}.py"
    today = pendulum.now("UTC").start_of("day")
    # The run serve started at today 00:00 (dagshift's logical date is the time a run falls
    # due; an Airflow 2 file's data interval is the day before it, as Airflow 2's run has).
    assert _scheduled_run(path, today, shim)["after_latest"] == "success"
    assert _scheduled_run(path, today.subtract(days=3), shim)["after_latest"] == "skipped"
