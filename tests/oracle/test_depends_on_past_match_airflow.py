"""``depends_on_past`` over several runs, in real Airflow (2.11 and 3.3) and with ``dagshift run``.

fixtures/dags/af3_depends_on_past.py runs at the 14th, 15th, 16th and 17th of January 2024, in
order, in one Airflow database (``past_runner.py``: ``dag.test()`` per date) and in one dagshift
history (``dagshift run --date``, the original through the compat shim and its conversion).
``load`` fails on the 16th, so at the 17th ``load``, ``report`` and ``extract``
(``wait_for_downstream``) wait: Airflow leaves them without a state and the run running, and
``dag.test()`` loops forever; dagshift's run keeps running too, with no record of them, until it
is cancelled. The same file in 2.x style (its imports rewritten) runs on Airflow 2.11.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from dagshift.converter.convert import convert_source
from dagshift.history.store import Store
from tests.oracle import harness

pytestmark = pytest.mark.oracle

FIXTURE = harness.ROOT / "fixtures" / "dags" / "af3_depends_on_past.py"
RUNNER = Path(__file__).with_name("past_runner.py")
DATES = ["2024-01-14", "2024-01-15", "2024-01-16", "2024-01-17"]
WAITING = {"extract", "load", "report"}  # at the 17th
PATIENCE = 30  # seconds a dag.test() may take before it counts as waiting for ever

S, F, K, U = "success", "failed", "skipped", "upstream_failed"
# What Airflow does (pinned: the test below also compares with a fresh Airflow run)
EXPECTED = [
    ("success", {"extract": S, "load": S, "report": S, "pick": S, "even": S, "odd": K, "free": S}),
    ("success", {"extract": S, "load": S, "report": S, "pick": S, "even": K, "odd": S, "free": S}),
    ("failed", {"extract": S, "load": F, "report": U, "pick": S, "even": S, "odd": K, "free": S}),
    (
        "running",
        {"extract": None, "load": None, "report": None, "pick": S, "even": K, "odd": S, "free": S},
    ),
]


def _as_airflow2(source: str) -> str:
    return (
        source.replace("Airflow 3 style", "Airflow 2 style")
        .replace("airflow.providers.standard.operators.empty", "airflow.operators.empty")
        .replace("airflow.providers.standard.operators.python", "airflow.operators.python")
        .replace(
            "from airflow.sdk import DAG, task",
            "from airflow import DAG\nfrom airflow.decorators import task",
        )
    )


def _airflow_runs(source: str, generation: str, tmp_path: Path) -> list[dict]:
    """The runs in real Airflow, cached like the harness's (by content and Airflow version)."""
    version = harness._airflow_version(generation)
    material = [source, DATES, PATIENCE, version, RUNNER.read_text()]
    key = hashlib.sha256(json.dumps(material).encode()).hexdigest()
    cached = harness.cache_dir() / "past" / f"{key}.json"
    if cached.exists():
        return json.loads(cached.read_text())
    home = tmp_path / f"airflow{generation}"
    (home / "dags").mkdir(parents=True)
    shutil.copy(harness._migrated_db(generation), home / "airflow.db")
    dag_file = home / "dags" / FIXTURE.name
    dag_file.write_text(source)
    out = home / "out.json"
    cmd = [str(harness.airflow_python(generation)), "-I", str(RUNNER), str(dag_file), str(out)]
    proc = subprocess.run(
        [*cmd, generation, str(PATIENCE), *DATES],
        env=harness._airflow_env(home),
        cwd=home,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0 and out.exists(), proc.stderr[-4000:]
    runs = json.loads(out.read_text())
    cached.parent.mkdir(parents=True, exist_ok=True)
    cached.write_text(json.dumps(runs))
    return runs


@pytest.mark.parametrize("generation", ["3", "2"])
def test_airflow_leaves_a_task_whose_past_failed_without_a_state(generation, tmp_path):
    source = FIXTURE.read_text()
    runs = _airflow_runs(
        source if generation == "3" else _as_airflow2(source), generation, tmp_path
    )
    assert [(r["state"], r["tasks"]) for r in runs] == EXPECTED


def _dagshift_runs(dag_file: Path, tmp_path: Path) -> list[tuple[str, dict]]:
    """The four runs with ``dagshift run``; the last one cancelled once it waits."""
    env = {
        **os.environ,
        "DAGSHIFT_DB": str(tmp_path / "history.db"),
        "PYTHONPATH": str(harness.ROOT),
    }
    base = [sys.executable, "-m", "dagshift", "run", str(dag_file), "--json", "--date"]
    runs = []
    for date in DATES[:-1]:
        proc = subprocess.run(
            [*base, date], env=env, cwd=tmp_path, capture_output=True, text=True, timeout=300
        )
        assert proc.returncode in (0, 1), proc.stderr[-3000:]
        (flow_run,) = json.loads(proc.stdout[proc.stdout.index("{\n") :]).values()
        runs.append((flow_run["state"], {t: r["state"] for t, r in flow_run["tasks"].items()}))
    last = subprocess.Popen(
        [*base, DATES[-1]], env=env, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    try:
        store = Store(tmp_path / "history.db")
        deadline = time.time() + 120
        run = None
        while time.time() < deadline:
            found = [r for r in store.list_runs() if r["logical_date"].startswith(DATES[-1])]
            run = found[0] if found else None
            if run and len(store.task_runs(run["run_id"])) == 4:  # all but the waiting ones
                break
            time.sleep(0.5)
        assert run is not None, "the run at the 17th was not recorded"
        time.sleep(2)  # nothing more happens: they wait
        recorded = {t["task_id"]: t["state"] for t in store.task_runs(run["run_id"])}
        state = store.get_run(run["run_id"])["state"]
        runs.append((state, {t: recorded.get(t) for t in EXPECTED[-1][1]}))
        cancel = subprocess.run(
            [sys.executable, "-m", "dagshift", "runs", "cancel", run["run_id"]],
            env=env,
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert cancel.returncode == 0, cancel.stderr
        _, err = last.communicate(timeout=60)
        assert b"extract of " in err and b"waits: wait_for_downstream: load not successful" in err
        ended = {t["task_id"]: t["state"] for t in store.task_runs(run["run_id"])}
        assert {ended[t] for t in WAITING} == {"cancelled"}
        store.close()
    finally:
        if last.poll() is None:
            last.kill()
    return runs


def test_dagshift_runs_the_original_as_airflow_does(tmp_path):
    assert _dagshift_runs(FIXTURE, tmp_path) == [(s, t) for s, t in EXPECTED]


def test_dagshift_runs_the_conversion_as_airflow_does(tmp_path):
    result = convert_source(FIXTURE.read_text())
    assert not result.findings, result.findings
    converted = tmp_path / FIXTURE.name
    converted.write_text(result.code)
    assert _dagshift_runs(converted, tmp_path) == [(s, t) for s, t in EXPECTED]
