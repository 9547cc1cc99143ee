"""Converted fixtures, run with params (the run's conf in Airflow), give what Airflow gives.

test_shim_parity.py runs the original files of ``PARAM_RUNS`` through the compat shim; here
each file is converted first and its output run with ``dagshift run --param ...``: a task's
own ``params`` (the ``params`` task option), the flow's params and the run's parameters must
combine as Airflow combines ``dag.params``, ``task.params`` and ``dag_run.conf``.
"""

from __future__ import annotations

import pytest

from dagshift.converter.convert import convert_source
from tests.oracle.test_fixture_dags_in_airflow import FIXTURE_DAGS, PARAM_RUNS, env_for
from tests.oracle.test_shim_parity import (  # noqa: F401 (oracle: the module's fixture)
    DAGSHIFT,
    dagshift_run,
    differences,
    oracle,
)

pytestmark = pytest.mark.oracle

# Cases left out, with the reason.
EXCLUDED: dict[str, str] = {}


@pytest.mark.skipif(not DAGSHIFT.exists(), reason=f"{DAGSHIFT} is not installed")
@pytest.mark.parametrize("case", sorted(PARAM_RUNS))
def test_converted_file_with_params_matches_airflow(case, oracle, tmp_path):  # noqa: F811
    if case in EXCLUDED:
        pytest.skip(EXCLUDED[case])
    stem, params, _ = PARAM_RUNS[case]
    path = FIXTURE_DAGS / f"{stem}.py"
    result = convert_source(path.read_text())
    assert result.status in ("converted", "partial")
    out = tmp_path / path.name
    out.write_text(result.code)
    run, stderr = dagshift_run(out, env_for(path), tmp_path, params)
    assert run is not None, f"dagshift run gave no JSON:\n{stderr}"
    found = differences(case, oracle[case], run)
    assert not found, "\n".join(found) + f"\n--- dagshift stderr:\n{stderr[-3000:]}"
