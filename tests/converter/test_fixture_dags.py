"""Every DAG file of fixtures/dags, converted, runs with ``dagshift run`` as the original does.

Each file is converted (``convert_source``) and the output run with
``.venv/bin/dagshift run OUT --json --date 2024-01-15``, as a user would. The run must succeed
(exit 0), or fail with the same run states as the original. The original's states and results
come from real Airflow: the table ``EXPECTED`` of tests/oracle/test_fixture_dags_in_airflow.py
(the oracle's runs at the same date). A file not in that table is compared with the original
run through ``dagshift run`` (the compat shim). Partially converted files run too: their kept
DAGs go through the compat shim, so where they differ from Airflow the output must run exactly
as the original does through ``dagshift run``.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

import pytest

from dagshift.converter.convert import convert_source

ROOT = Path(__file__).resolve().parents[2]
DAGSHIFT = ROOT / ".venv" / "bin" / "dagshift"
FIXTURES = sorted((ROOT / "fixtures" / "dags").glob("*.py"))
DATE = "2024-01-15"

# Files left out, with the reason.
EXCLUDED: dict[str, str] = {}

try:
    from tests.oracle.test_fixture_dags_in_airflow import ENV, ENV_FOR, EXPECTED, PARAM_RUNS
except ImportError:  # the oracle's table is not there: compare with the original's run
    ENV, ENV_FOR, EXPECTED, PARAM_RUNS = {}, {}, {}, {}


def _run(path: Path, cwd: Path, params: dict[str, Any] | None = None) -> tuple[int, dict, str]:
    env = dict(os.environ, **ENV_FOR.get(path.stem, ENV))
    env["DAGSHIFT_DB"] = str(cwd / "history.db")
    given = [f"--param={k}={json.dumps(v)}" for k, v in (params or {}).items()]
    proc = subprocess.run(
        [str(DAGSHIFT), "run", str(path), "--json", "--date", DATE, *given],
        capture_output=True,
        text=True,
        env=env,
        cwd=cwd,
        timeout=600,
        check=False,
    )
    out = proc.stdout
    start = out.rfind("\n{\n") + 1 if not out.startswith("{\n") else 0  # after task output
    try:
        runs = json.loads(out[start:]) if out.strip() else {}
    except json.JSONDecodeError:
        runs = {}
    return proc.returncode, runs, proc.stderr


def _expected(path: Path, tmp_path: Path) -> dict[str, tuple[str, dict[str, Any]]]:
    if path.stem in EXPECTED:
        return EXPECTED[path.stem]
    code, runs, err = _run(path, tmp_path)
    assert runs, f"the original does not run either ({code}): {err}"
    return {
        dag: (run["state"], {tid: t["state"] for tid, t in run["tasks"].items()})
        for dag, run in runs.items()
    }


def _differences(runs: dict[str, Any], expected: dict[str, tuple[str, dict]], stem: str) -> list:
    out = []
    if {dag: run["state"] for dag, run in runs.items()} != {d: s for d, (s, _) in expected.items()}:
        out.append(("run states", {dag: run["state"] for dag, run in runs.items()}))
    for dag, (_, tasks) in expected.items():
        for task_id, want in tasks.items():
            got = runs.get(dag, {}).get("tasks", {}).get(task_id, {})
            state, result = want if isinstance(want, tuple) else (want, None)
            if got.get("state") != state:
                out.append((dag, task_id, got.get("state"), state))
            elif isinstance(want, tuple):
                value = got.get("result")
                if value != result:
                    out.append((dag, task_id, value, result))
    return out


def _same_runs(converted: dict[str, Any], original: dict[str, Any]) -> bool:
    def shape(runs: dict[str, Any]) -> dict:
        return {
            dag: (run["state"], {t: (r["state"], r.get("result")) for t, r in run["tasks"].items()})
            for dag, run in runs.items()
        }

    return shape(converted) == shape(original)


@pytest.mark.parametrize("path", FIXTURES, ids=lambda p: p.stem)
def test_converted_fixture_dag_runs_like_the_original(path: Path, tmp_path: Path) -> None:
    if path.stem in EXCLUDED:
        pytest.skip(EXCLUDED[path.stem])
    result = convert_source(path.read_text())
    assert result.status in ("converted", "partial")
    assert convert_source(result.code).code == result.code  # stable
    out = tmp_path / path.name
    out.write_text(result.code)
    code, runs, err = _run(out, tmp_path)
    assert runs, f"dagshift run exited {code}: {err}"
    expected = _expected(path, tmp_path)
    assert code == (0 if all(s == "success" for s, _ in expected.values()) else 1), err
    differences = _differences(runs, expected, path.stem)
    if differences:
        # A DAG kept as it was runs through the compat shim: where the shim and Airflow
        # differ, the converted file must still run exactly as the original does in dagshift.
        original_code, original, _ = _run(path, tmp_path)
        assert original_code == code and _same_runs(runs, original), differences


# The @dag function parameters that become run parameters of the converted flow (the
# dag_function_params rule): their runs with params give what Airflow gives with that conf.
PARAMETER_CASES = ["af2_dag_decorator_params+email", "af3_dag_decorator_bash+url"]


@pytest.mark.parametrize("case", PARAMETER_CASES)
def test_converted_dag_function_parameter_takes_the_runs_value_as_in_airflow(
    case: str, tmp_path: Path
) -> None:
    stem, params, expected = PARAM_RUNS[case]
    result = convert_source((ROOT / "fixtures" / "dags" / f"{stem}.py").read_text())
    assert result.status == "converted", result.findings
    out = tmp_path / f"{stem}.py"
    out.write_text(result.code)
    code, runs, err = _run(out, tmp_path, params)
    assert code == 0, err
    assert not _differences(runs, expected, stem)
