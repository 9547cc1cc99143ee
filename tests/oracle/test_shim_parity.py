"""``dagshift run`` on unmodified Airflow DAG files gives what real Airflow gives.

Cases: every fixture in fixtures/dags (against its own Airflow generation, see
test_fixture_dags_in_airflow.py), the fixture runs with params there (``--param``), and every
example DAG shipped in the installed Airflow 3 and its standard provider (against Airflow 3.3).
Each case runs ``dagshift run FILE --json --date 2024-01-15`` in a subprocess with the same
``AIRFLOW_VAR_*`` variables as the oracle run and must give the same DAG ids, the same run state
per DAG, and per task the same state and the same result, exactly.

What is left out is listed in ``EXCLUDED`` with its reason; a key is a case id (the whole file),
``case/dag_id`` or ``case/dag_id/task_id``. Reasons starting with ``shim:`` are what the import
shim does not do yet; the others are out of the shim's scope or not deterministic. Set
``DAGSHIFT_PARITY_ALL=1`` to compare the ``shim:`` exclusions too (to see what a shim change
fixed).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.oracle.harness import ROOT, airflow_run_many
from tests.oracle.test_fixture_dags_in_airflow import (
    FIXTURE_DAGS,
    FIXTURES,
    LOGICAL_DATE,
    PARAM_RUNS,
    env_for,
    oracle_generation,
    oracle_runs,
    param_oracle,
)

pytestmark = pytest.mark.oracle

DAGSHIFT = ROOT / ".venv" / "bin" / "dagshift"
_SITE = next((ROOT / ".venv" / "lib").glob("python3*/site-packages"), None)
EXAMPLE_FOLDERS = {
    "example": _SITE / "airflow" / "example_dags" if _SITE else None,
    "provider": _SITE / "airflow" / "providers" / "standard" / "example_dags" if _SITE else None,
}
EXAMPLES = {
    f"{kind}:{path.stem}": path
    for kind, folder in EXAMPLE_FOLDERS.items()
    if folder and folder.is_dir()
    for path in sorted(folder.glob("*.py"))
    if path.name != "__init__.py"
}
FIXTURE_STEMS = {p.stem for p in FIXTURES}
# case id -> (DAG file, params given with --param)
CASES: dict[str, tuple[Path, dict]] = {
    **{p.stem: (p, {}) for p in FIXTURES},
    **{
        case: (FIXTURE_DAGS / f"{stem}.py", params)
        for case, (stem, params, _) in PARAM_RUNS.items()
    },
    **{case: (path, {}) for case, path in EXAMPLES.items()},
}

_K8S = "out of scope: Kubernetes executor settings"
_FOLDER = "depends on the Airflow home and DAGs folder of the run"
EXCLUDED: dict[str, str] = {
    # --- Airflow's examples outside the shim's operators or not deterministic ---
    "example:example_asset_allow_teams": (
        "out of scope: AssetAccessControl (which teams' events a consumer takes, Airflow 3.3)"
    ),
    "example:example_asset_partition": (
        "shim: partitioned assets (PartitionedAssetTimetable, partition mappers, Airflow 3.3)"
    ),
    "example:example_asset_state_store": (
        "not deterministic: its result is a random row count; and at 2024-01-15, before its "
        "start_date 2026-01-01, dag.test() leaves its tasks unrun. asset_state_store is pinned "
        "against Airflow 3.3 in tests/compat/test_asset_state.py"
    ),
    "example:example_custom_weight": "out of scope: a priority-weight plugin module",
    "example:example_dag_decorator": "out of scope: fetches a URL with httpx (network)",
    "example:example_kubernetes_executor": _K8S,
    "example:example_local_kubernetes_executor": _K8S,
    "example:example_params_ui_tutorial": "Airflow refuses the run: a required param, no default",
    "example:example_retry_policy": "out of scope: retry policies (Airflow 3.3), network",
    "example:example_task_state_store": "out of scope: task state store (Airflow 3.3)",
    "example:example_task_state_store_async": "out of scope: task state store (Airflow 3.3)",
    "example:example_task_state_store_mapped": "out of scope: task state store (Airflow 3.3)",
    "example:tutorial_objectstorage": "out of scope: fetches an HTTP API (network), duckdb",
    "example:tutorial/tutorial/print_date": "not deterministic: prints the current time",
    "provider:example_branch_operator": "not deterministic: random branch choices",
    "provider:example_branch_operator_decorator": "not deterministic: random branch choice",
    "provider:example_external_task_marker_dag": (
        "slow: child_task2 waits out its 600 s timeout on a task group the parent lacks (Airflow "
        "3.3: a run without the group's tasks never counts); external_task_group_id is pinned "
        "in tests/compat/test_external_task_sensor.py"
    ),
    "provider:example_external_task_parent_deferrable": (
        "not runnable in dag.test(): its TriggerDagRunOperator (wait_for_completion) and its "
        "deferrable ExternalTaskSensor wait on a run of child_dag that nothing runs (Airflow "
        "passes the harness's 900 s, the shim waits too); its graph, with timezone.datetime, is "
        "pinned in tests/compat/test_timezone.py"
    ),
    "provider:example_hitl_operator": (
        "needs a person: its HITL operators wait for an answer in Airflow's UI (Airflow's "
        "dag.test waits forever; dagshift refuses them at load, see tests/compat/test_hitl.py)"
    ),
    "provider:example_bash_decorator/example_bash_decorator/get_file_stats": (
        "not deterministic: the file's birth time"
    ),
    "provider:example_bash_decorator/example_bash_decorator/describe_dag_folder": _FOLDER,
    "provider:example_bash_decorator/example_bash_decorator/show_dag_folder_stats": _FOLDER,
    "provider:example_bash_operator/example_bash_operator/describe_dag_folder": _FOLDER,
    "provider:example_bash_operator/example_bash_operator/show_dag_folder_stats": _FOLDER,
    # --- the wall clock decides: pinned with times relative to now in
    # tests/compat/test_sensors_branches.py ---
    "provider:example_branch_datetime_operator/example_branch_datetime_operator_2": (
        "not deterministic: branches on the wall clock's time of day (15:00-24:00 UTC)"
    ),
    "provider:example_branch_day_of_week_operator/example_weekday_branch_operator": (
        "not deterministic: branches on the wall clock's weekday"
    ),
    "provider:example_sensors/example_sensors/week_day_sensor_failing_on_timeout": (
        "not deterministic: waits for a Monday of the wall clock"
    ),
    # target_time is the wall clock plus an hour: between 23:00 and 24:00 UTC that is a time
    # of day already passed (success), otherwise still ahead (skipped): an oracle run cached at
    # one hour and a dagshift run at another differ
    "provider:example_sensors/example_sensors/timeout_after_second_date_in_the_future": (
        "not deterministic: a time of day an hour ahead of the wall clock (wraps at midnight)"
    ),
    "provider:example_sensors/example_sensors/timeout_after_second_date_in_the_future_async": (
        "not deterministic: a time of day an hour ahead of the wall clock (wraps at midnight)"
    ),
    "provider:example_sensors/example_sensors/print_date_in_bash": (
        "not deterministic: prints the current time"
    ),
}

# Examples that read template files beside them: Airflow's DAGs folder gets copies too.
WITH_FILES: dict[str, tuple[str, ...]] = {
    "provider:example_python_decorator": ("sql/sample.sql",),
    "provider:example_python_operator": ("sql/sample.sql",),
    "example:tutorial_taskflow_templates": ("sql/tutorial_taskflow_template.sql",),
}

# Examples that need a plugin: the plugins folder of Airflow's home (and of dagshift's run) gets
# these files. Airflow registers its example plugins under their package names only with
# load_examples on (which would load every example DAG), so this file registers the one needed.
_EXAMPLE_PLUGIN = (
    '"""Airflow\'s example workday timetable, registered under its package name."""\n'
    "from airflow.example_dags.plugins.workday import WorkdayTimetablePlugin  # noqa: F401\n"
)
WITH_PLUGINS: dict[str, dict[str, str]] = {
    "example:example_workday_timetable": {"example_plugins.py": _EXAMPLE_PLUGIN},
}

# Examples that give one asset URI different names (Airflow 3 then fails runs of both when they
# share a DAGs folder): each runs in an Airflow process of its own, as it runs alone in dagshift.
# Examples that need another example in their DAGs folder: a TriggerDagRunOperator's target
# (Airflow finds it among the DAGs parsed from the folder; `dagshift run` beside the file).
# Both sides get it: the oracle runs them in one process, dagshift runs a copy beside a copy.
COMPANIONS: dict[str, tuple[str, ...]] = {
    "provider:example_trigger_controller_dag": ("example:example_trigger_target_dag",),
}
ISOLATED = {"example:example_inlet_event_extra", "example:example_outlet_event_extra"}

# Deferred tasks Airflow's dag.test cannot finish: it runs the trigger inline until its moment
# (an hour ahead) and ignores the task's timeout. Airflow's oracle runs them with
# deferrable=False, which has the outcome a triggerer gives (the deferral times out, soft_fail
# skips); dagshift runs the example as it is (it never defers).
NON_DEFERRED: dict[str, tuple[str, ...]] = {
    "provider:example_sensors": ("timeout_after_second_date_in_the_future_async",),
}

_ALL = os.environ.get("DAGSHIFT_PARITY_ALL") == "1"


def excluded(key: str) -> str | None:
    """The reason ``key`` (case, case/dag or case/dag/task) is left out, if it is."""
    parts = key.split("/")
    for n in range(1, len(parts) + 1):
        reason = EXCLUDED.get("/".join(parts[:n]))
        if reason and not (_ALL and reason.startswith("shim:")):
            return reason
    return None


@pytest.fixture(scope="module")
def oracle(request, tmp_path_factory) -> dict[str, dict]:
    """The cases selected in this session and not left out, run in Airflow (cached on disk).

    Only selected cases run (``-k example_workday_timetable`` starts Airflow for that one).
    """
    selected = {
        item.callspec.params["case"]
        for item in request.session.items
        if item.module is request.module
        and "case" in getattr(getattr(item, "callspec", None), "params", {})
    }
    wanted = sorted(case for case in selected if not excluded(case))
    runs: dict[str, dict] = {}
    for generation in ("2", "3"):
        fixtures = [
            case
            for case in wanted
            if case in FIXTURE_STEMS and oracle_generation(CASES[case][0]) == generation
        ]
        by_stem = oracle_runs([CASES[case][0] for case in fixtures], generation)
        runs |= {case: by_stem[CASES[case][0].stem] for case in fixtures}
    if any(case in PARAM_RUNS for case in wanted):
        runs |= param_oracle()
    special = set(WITH_FILES) | set(NON_DEFERRED) | set(WITH_PLUGINS) | ISOLATED
    examples = [case for case in wanted if case in EXAMPLES and case not in special]
    files = [EXAMPLES[c] for c in examples]
    files += [
        EXAMPLES[other]
        for case in examples
        for other in COMPANIONS.get(case, ())
        if EXAMPLES[other] not in files
    ]
    by_stem = oracle_runs(files, "3")
    runs |= {case: by_stem[EXAMPLES[case].stem] for case in examples}
    cases = [case for case in wanted if case in special and case not in ISOLATED]
    jobs = [_oracle_job(case, tmp_path_factory.mktemp("oracle-variant")) for case in cases]
    runs |= dict(zip(cases, airflow_run_many(jobs, "3"), strict=True))
    for case in (case for case in wanted if case in ISOLATED):
        (runs[case],) = airflow_run_many([_oracle_job(case, tmp_path_factory.mktemp("alone"))])
    return runs


def _oracle_job(case: str, tmp: Path) -> dict:
    """The oracle run of an example that needs its template files or a non-deferred copy."""
    path = EXAMPLES[case]
    if case in NON_DEFERRED:
        source = path.read_text()
        for task_id in NON_DEFERRED[case]:
            at = source.index("deferrable=True", source.index(f'task_id="{task_id}"'))
            source = source[:at] + "deferrable=False" + source[at + len("deferrable=True") :]
        path = tmp / path.name
        path.write_text(source)
    files = {rel: (EXAMPLES[case].parent / rel).read_bytes() for rel in WITH_FILES.get(case, ())}
    plugins = {rel: text.encode() for rel, text in WITH_PLUGINS.get(case, {}).items()}
    return {
        "dag_file": path,
        "logical_date": LOGICAL_DATE,
        "env": env_for(path),
        "files": files,
        "plugins": plugins,
    }


def dagshift_run(
    path: Path, env: dict[str, str], tmp: Path, params: dict | None = None
) -> tuple[dict | None, str]:
    """``dagshift run PATH --json --date 2024-01-15 [--param K=JSON ...]``: (JSON, stderr)."""
    keep = {k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW", "DAGSHIFT"))}
    (tmp / "home").mkdir(exist_ok=True)
    (tmp / "counters").mkdir(exist_ok=True)
    environment = {
        **keep,
        "AIRFLOW_HOME": str(tmp / "home"),
        "DAGSHIFT_DB": str(tmp / "dagshift.db"),
        "DAGSHIFT_RESULTS": str(tmp / "results"),
        "DAGSHIFT_FIXTURE_COUNTERS": str(tmp / "counters"),
        "TZ": "UTC",
        **env,
    }
    proc = subprocess.run(
        [str(DAGSHIFT), "run", str(path), "--json", "--date", LOGICAL_DATE]
        + [arg for k, v in (params or {}).items() for arg in ("--param", f"{k}={json.dumps(v)}")],
        env=environment,
        cwd=tmp,
        capture_output=True,
        text=True,
        timeout=600,
    )
    # Task output (a BashOperator's stdout, print()) may come before the JSON object, which
    # starts on its own line "{"; a run it triggered without waiting may print after it.
    lines = proc.stdout.splitlines()
    starts = [i for i, line in enumerate(lines) if line == "{"]
    for start in reversed(starts):
        try:
            found, _ = json.JSONDecoder().raw_decode("\n".join(lines[start:]))
        except ValueError:
            continue
        if isinstance(found, dict):
            return found, proc.stderr
    return None, f"exit {proc.returncode}\n{proc.stdout[-2000:]}\n{proc.stderr[-4000:]}"


def _exact(value) -> str:
    """A result as canonical JSON: unlike ==, tells 1 from 1.0 and from True."""
    return json.dumps(value, sort_keys=True)


def differences(case: str, airflow: dict, dagshift: dict) -> list[str]:
    """Every difference between Airflow's and dagshift's runs not left out by ``EXCLUDED``."""
    found = []
    for dag_id in sorted(set(airflow) | set(dagshift)):
        key = f"{case}/{dag_id}"
        if excluded(key):
            continue
        if dag_id not in dagshift or dag_id not in airflow:
            where = "dagshift" if dag_id not in dagshift else "Airflow"
            found.append(f"{key}: DAG missing in {where}")
            continue
        a, d = airflow[dag_id], dagshift[dag_id]
        if a["state"] != d.get("state"):
            found.append(f"{key}: run state airflow {a['state']} vs dagshift {d.get('state')}")
        a_tasks, d_tasks = a["tasks"], d.get("tasks", {})
        for task_id in sorted(set(a_tasks) | set(d_tasks), key=str):
            tkey = f"{key}/{task_id}"
            if excluded(tkey):
                continue
            if task_id not in d_tasks or task_id not in a_tasks:
                where = "dagshift" if task_id not in d_tasks else "Airflow"
                found.append(f"{tkey}: task missing in {where}")
                continue
            at, dt = a_tasks[task_id], d_tasks[task_id]
            if at["state"] != dt.get("state"):
                found.append(f"{tkey}: state airflow {at['state']} vs dagshift {dt.get('state')}")
            elif _exact(at["result"]) != _exact(dt.get("result")):
                found.append(
                    f"{tkey}: result airflow {json.dumps(at['result'])} "
                    f"vs dagshift {json.dumps(dt.get('result'))}"
                )
    return found


@pytest.mark.skipif(not DAGSHIFT.exists(), reason=f"{DAGSHIFT} is not installed")
@pytest.mark.parametrize("case", sorted(CASES))
def test_dagshift_run_matches_airflow(case, oracle, tmp_path):
    reason = excluded(case)
    if reason:
        pytest.skip(reason)
    path, params = CASES[case]
    if case in COMPANIONS:  # the example and what it needs, in one folder
        (tmp_path / "dags").mkdir()
        for source in (path, *(EXAMPLES[other] for other in COMPANIONS[case])):
            shutil.copy(source, tmp_path / "dags" / source.name)
        path = tmp_path / "dags" / path.name
    for rel, text in WITH_PLUGINS.get(case, {}).items():  # {AIRFLOW_HOME}/plugins, as Airflow's
        (tmp_path / "home" / "plugins" / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / "home" / "plugins" / rel).write_text(text)
    result, stderr = dagshift_run(path, env_for(path), tmp_path, params)
    assert result is not None, f"dagshift run gave no JSON:\n{stderr}"
    found = differences(case, oracle[case], result)
    assert not found, "\n".join(found) + (f"\n--- dagshift stderr:\n{stderr[-3000:]}")


def test_exclusions_name_known_cases_and_give_reasons():
    for key, reason in EXCLUDED.items():
        assert key.split("/")[0] in CASES, key
        assert reason.strip(), key
