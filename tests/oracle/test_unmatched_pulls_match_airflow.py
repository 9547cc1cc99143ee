"""A pull by id from a task the converter does not match to its value keeps its DAG (DS076).

The converter matches a pull to the operator bound to a name in the DAG's body, and to a plain
TaskFlow task called once there (``e = extract()``); a pull from another TaskFlow task, from an
operator made in an ``if`` / ``for`` block or not bound to a name was converted to None. Real
Airflow gives these pulls the task's value, pinned here (2.11 for the 2.x-style cases, 3.3 for
the TaskFlow ones), so a None in the flow would have been wrong; the matched TaskFlow pull's
conversion gives Airflow's value.
"""

from __future__ import annotations

import pytest

from dagshift.converter.convert import convert_source
from dagshift.runtime.loader import load_path
from tests.oracle.harness import ROOT, airflow_run_many

pytestmark = pytest.mark.oracle

_CASES = {  # golden case -> (generation, dag id, the pulled value in Airflow)
    "pull_from_a_taskflow_task": ("3", "mix", 3),
    "pull_from_a_repeated_taskflow_task_kept": ("3", "twice", [2, None]),
    "pull_from_an_operator_in_an_if_kept": ("2", "ifs", 1),
    "pull_from_an_operator_in_a_for_kept": ("2", "fors", 1),
    "pull_from_an_unbound_operator_kept": ("2", "unassigned", 1),
}


def _source(case: str) -> str:
    text = (ROOT / "fixtures" / "convert" / "xcom" / f"{case}.py").read_text()
    return text.split("\n# output\n", 1)[0] + "\n"


@pytest.mark.parametrize("generation", ["2", "3"])
def test_airflow_pulls_the_value_of_a_task_the_converter_does_not_match(generation, tmp_path):
    cases = {c: v for c, v in _CASES.items() if v[0] == generation}
    paths = []
    for case in cases:
        path = tmp_path / f"af{generation}_{case}.py"
        path.write_text(_source(case))
        paths.append(path)
    runs = airflow_run_many([(path, "2024-01-15") for path in paths], generation=generation)
    for (case, (_, dag_id, value)), run in zip(cases.items(), runs, strict=True):
        pulling = "b" if generation == "2" else "show"
        assert run[dag_id]["tasks"][pulling] == {"state": "success", "result": value}, case
        result = convert_source(_source(case))
        if not case.endswith("_kept"):
            assert result.status == "converted", case
            out = tmp_path / "converted" / f"{case}.py"
            out.parent.mkdir(exist_ok=True)
            out.write_text(result.code)
            (flow,) = load_path(str(out))
            assert flow.run(logical_date="2024-01-15").tasks[pulling].result == value, case
            continue
        assert [f.code for f in result.findings] == ["DS076"], case
        assert "ti.xcom_pull" in result.code, case  # the DAG stays as written
