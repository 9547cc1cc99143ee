"""Context keys per Airflow generation: what Airflow 3.3 lacks, a converted flow must not have.

Airflow 3's context has no ``execution_date`` (nor ``next_ds``, ``prev_ds`` ...): a callable
that takes it, a ``context["execution_date"]`` and a ``{{ execution_date }}`` template fail
the task there. The converter keeps such a DAG of an Airflow 3 file with its TODO; here the
golden cases that say so are run in real Airflow 3.3 to pin that they do fail.
"""

from __future__ import annotations

import pytest

from dagshift.converter.convert import convert_source
from tests.oracle.harness import ROOT, airflow_run_many

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
