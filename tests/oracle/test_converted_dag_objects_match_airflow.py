"""Airflow's own example DAGs that the DAG-object rules made convert (a local ``ParamsDict``
annotation in a callable): their conversions run as the originals do in real Airflow 2.11,
every task's state and result, with the params each needs (a run without a required param is
refused by both)."""

from __future__ import annotations

from pathlib import Path

import pytest

from dagshift.converter.convert import convert_source
from tests.oracle.harness import OracleError, airflow_run
from tests.oracle.test_fixture_dags_in_airflow import ENV, LOGICAL_DATE
from tests.oracle.test_shim_parity import DAGSHIFT, dagshift_run, differences

pytestmark = pytest.mark.oracle

_ROOT = Path(__file__).resolve().parents[2]
_AIRFLOW2 = _ROOT / ".venv-airflow2" / "lib" / "python3.11" / "site-packages" / "airflow"
_EXAMPLES = _AIRFLOW2 / "example_dags"

# example id -> the params of its run (the tutorial's required_field has no default)
CASES = {
    "example_params_trigger_ui": {},
    "example_params_ui_tutorial": {"required_field": "given"},
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
