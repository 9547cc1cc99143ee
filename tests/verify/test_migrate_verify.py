"""`dagshift migrate --verify --report ...`: every conversion of the fixtures checked against
its original run through the shim, and the reports that carry the result."""

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
# Fixture files whose conversion cannot be verified, with the reason (none at the moment).
NOT_VERIFIABLE: dict[str, str] = {}


def _migrate(*args: str, cwd: Path = ROOT):
    proc = subprocess.run(
        [sys.executable, "-m", "dagshift", "migrate", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=600,
    )
    return proc.returncode, proc.stdout, proc.stderr


@pytest.fixture(scope="module")
def fixtures_report(tmp_path_factory):
    out = tmp_path_factory.mktemp("migrated")
    code, stdout, stderr = _migrate(
        "fixtures/dags",
        "--out",
        str(out / "flows"),
        "--exclude",
        "bad/*",
        "--verify",
        "--verify-date",
        "2024-01-15",
        "--report",
        str(out / "report.json"),
    )
    return code, stdout, stderr, json.loads((out / "report.json").read_text()), out


def test_every_conversion_of_the_fixture_dags_verifies(fixtures_report):
    code, stdout, stderr, report, _ = fixtures_report
    checked = {Path(f["path"]).name: f for f in report["files"] if f.get("verification")}
    assert len(checked) >= 40
    differing = {
        name: [d["message"] for c in f["verification"] for d in c["differences"]]
        for name, f in checked.items()
        if not all(c["ok"] for c in f["verification"])
    }
    assert set(differing) == set(NOT_VERIFIABLE), differing
    assert report["summary"]["differs"] == len(NOT_VERIFIABLE)
    assert report["summary"]["verified"] == len(checked) - len(NOT_VERIFIABLE)
    assert code == (1 if NOT_VERIFIABLE else 0)  # a difference is a failure, as with --check
    assert stdout == ""  # what verified tasks print stays off stdout
    assert "differ" in stderr.splitlines()[-1]


def test_migrate_verify_catches_a_conversion_that_changes_a_result(tmp_path):
    dags = tmp_path / "dags"
    dags.mkdir()
    shutil.copy(ROOT / "fixtures" / "dags" / "af2_taskflow_etl.py", dags / "etl.py")
    code, _, stderr = _migrate(
        str(dags),
        "--out",
        str(tmp_path / "out"),
        "--verify",
        "--verify-date",
        "2024-01-15",
        "--report",
        str(tmp_path / "r.md"),
    )
    assert code == 0, stderr
    assert "verified" in stderr
    md = (tmp_path / "r.md").read_text()
    assert "```mermaid" in md and "<details>" in md

    from dagshift.verify.migrate import verify_entry

    source = (dags / "etl.py").read_text()
    converted = (tmp_path / "out" / "etl.py").read_text()
    broken = converted.replace("return [3, 1, 2]", "return [3, 1, 2, 4]", 1)
    assert broken != converted
    entry = {"path": str(dags / "etl.py"), "status": "converted", "source": source, "code": broken}
    verify_entry(entry, logical_date="2024-01-15")
    messages = [d["message"] for c in entry["verification"] for d in c["differences"]]
    assert any("result differs" in m for m in messages), messages


def test_the_html_report_of_a_migration_shows_every_file_of_the_json_report(tmp_path):
    code, _, stderr = _migrate(
        "fixtures/dags/af2_branching.py",
        "fixtures/dags/bad",
        "--out",
        str(tmp_path / "out"),
        "--report",
        str(tmp_path / "r.html"),
    )
    assert code == 2  # bad/syntax_error.py cannot be parsed; the other files go on
    _migrate(
        "fixtures/dags/af2_branching.py",
        "fixtures/dags/bad",
        "--out",
        str(tmp_path / "out"),
        "--report",
        str(tmp_path / "r.json"),
    )
    page = (tmp_path / "r.html").read_text()
    files = json.loads((tmp_path / "r.json").read_text())["files"]
    assert f'data-files="{len(files)}"' in page
    assert "syntax_error.py" in page and "not verified" in page


RANDOM_DAG = """
import random

from airflow import DAG
from airflow.operators.python import BranchPythonOperator, PythonOperator

with DAG("random_pick", schedule=None) as dag:
    draw = PythonOperator(task_id="draw", python_callable=lambda: random.random())
    pick = BranchPythonOperator(
        task_id="pick", python_callable=lambda: random.choice(["a", "b", "c", "d", "e", "f"])
    )
    ends = [PythonOperator(task_id=x, python_callable=lambda: 1) for x in "abcdef"]
    draw >> pick >> ends
"""


def test_runs_compared_start_from_the_same_random_state(tmp_path):
    """A task drawing a random number, or a branch picking at random, verifies: the original
    and its conversion run from the same seed of Python's random module."""
    from dagshift.converter.convert import convert_source
    from dagshift.verify.migrate import verify_entry

    path = tmp_path / "random_pick.py"
    path.write_text(RANDOM_DAG)
    result = convert_source(RANDOM_DAG)
    assert result.status == "converted", result.findings
    entry = {"path": str(path), "status": "converted", "source": RANDOM_DAG, "code": result.code}
    verify_entry(entry, logical_date="2024-01-15")
    check = entry["verification"][0]
    assert check["ok"], check["differences"]  # unseeded, draw's results would differ


CLOCK_DAG = """
import time

from airflow import DAG
from airflow.operators.python import PythonOperator

with DAG("clock", schedule=None) as dag:
    now = PythonOperator(task_id="now", python_callable=lambda: time.time_ns())
    fixed = PythonOperator(task_id="fixed", python_callable=lambda: 42)
    now >> fixed
"""


def test_a_task_that_varies_between_runs_of_the_original_is_named_not_compared(tmp_path):
    """A task reading the clock differs between any two runs: verification runs the original
    again, names such tasks, and still compares the others."""
    from dagshift.converter.convert import convert_source
    from dagshift.verify.migrate import verify_entry

    path = tmp_path / "clock.py"
    path.write_text(CLOCK_DAG)
    code = convert_source(CLOCK_DAG).code
    entry = {"path": str(path), "status": "converted", "source": CLOCK_DAG, "code": code}
    verify_entry(entry, logical_date="2024-01-15")
    check = entry["verification"][0]
    assert check["ok"], check["differences"]
    assert check["varying"] == ["now"]

    broken = code.replace("lambda: 42", "lambda: 43")
    assert broken != code
    entry = {"path": str(path), "status": "converted", "source": CLOCK_DAG, "code": broken}
    verify_entry(entry, logical_date="2024-01-15")
    check = entry["verification"][0]
    assert [d["task"] for d in check["differences"]] == ["fixed"]
    assert check["varying"] == ["now"]


MARKED_DAG = """
from airflow import DAG
from airflow.operators.python import PythonOperator


def touch():
    open({marker!r}, "w").close()
    return 1


def use(ti):
    return ti.xcom_pull(task_ids="touch")


with DAG("marked", schedule=None, default_args={{"retries": 1}}) as dag:
    a = PythonOperator(task_id="touch", python_callable=touch)
    b = PythonOperator(task_id="use", python_callable=use, trigger_rule="all_done")
    a >> b
"""


def test_verify_graph_compares_graphs_and_options_and_runs_no_task(tmp_path):
    marker = tmp_path / "ran"
    dags = tmp_path / "dags"
    dags.mkdir()
    (dags / "marked.py").write_text(MARKED_DAG.format(marker=str(marker)))
    code, _, stderr = _migrate(
        str(dags),
        "--out",
        str(tmp_path / "out"),
        "--verify=graph",
        "--report",
        str(tmp_path / "r.json"),
    )
    assert code == 0, stderr
    assert stderr.splitlines()[-1].endswith("verified 1 of 1, 0 differ")
    assert not marker.exists()  # no task ran

    from dagshift.verify.migrate import verify_entry

    source = (dags / "marked.py").read_text()
    converted = (tmp_path / "out" / "marked.py").read_text()
    for old, new, expected in (
        ('trigger_rule="all_done"', 'trigger_rule="all_success"', "trigger_rule"),
        ('"retry_delay": 300', '"retry_delay": 0', "retry_delay"),
        ("(touch_xcom=a)\n    a >> b", "(touch_xcom=None)", "lost the dependency touch >> use"),
    ):
        assert old in converted, old
        entry = {
            "path": str(dags / "marked.py"),
            "status": "converted",
            "source": source,
            "code": converted.replace(old, new),
        }
        verify_entry(entry, run=False)
        messages = [d["message"] for c in entry["verification"] for d in c["differences"]]
        assert any(expected in m for m in messages), (old, messages)
    assert not marker.exists()


REQUIRED_PARAM_DAG = """
import pendulum
from airflow.sdk import DAG, Param
from airflow.providers.standard.operators.python import PythonOperator


def show(value):
    return value * 2


with DAG(
    "needs_a_value",
    schedule=None,
    start_date=pendulum.datetime(2024, 1, 1, tz="UTC"),
    params={"n": Param(type="integer")},
):
    PythonOperator(task_id="show", python_callable=show, op_args=["{{ params.n }}"])
"""


def test_a_dag_that_needs_a_parameter_is_reported_not_run_until_given_one(tmp_path):
    """Airflow refuses a run of a DAG whose required param has no value; `--verify` says so for
    that file (its graphs still compared) instead of failing with a traceback, and verifies
    it once the value is given with --param."""
    dags = tmp_path / "dags"
    dags.mkdir()
    (dags / "needs.py").write_text(REQUIRED_PARAM_DAG)
    report = tmp_path / "r.json"
    code, _, stderr = _migrate(
        str(dags), "--out", str(tmp_path / "o1"), "--verify", "--report", str(report)
    )
    assert "Traceback" not in stderr
    [entry] = json.loads(report.read_text())["files"]
    [check] = entry["verification"]
    [difference] = check["differences"]
    assert difference["kind"] == "parameters"
    assert "Invalid input for param n: No value passed" in difference["message"]
    assert "--param" in difference["message"]
    assert code == 1
    code, _, stderr = _migrate(
        str(dags),
        "--out",
        str(tmp_path / "o2"),
        "--verify",
        "--param",
        "n=21",
        "--report",
        str(report),
    )
    [entry] = json.loads(report.read_text())["files"]
    assert entry["status"] == "converted", entry["findings"]
    assert all(c["ok"] for c in entry["verification"]), entry["verification"]
    assert code == 0, stderr


SLEEPING_DAG = """
from datetime import datetime

from airflow import DAG
from airflow.operators.bash import BashOperator
from airflow.operators.python import PythonOperator


def first():
    return 1


with DAG("sleeps", start_date=datetime(2024, 1, 1), schedule_interval=None) as dag:
    PythonOperator(task_id="first", python_callable=first) >> BashOperator(
        task_id="forever", bash_command="sleep 100000"
    )
"""


def test_a_run_that_does_not_end_in_time_is_stopped_and_reported_not_verified(tmp_path):
    """A task that never ends (Airflow's own example `sleeps_forever`, a sensor waiting on the
    world) must not hang `--verify`: past --verify-timeout the run is stopped, its shell
    command terminated, and the file reported as not verified, with the flag to give it
    longer; the other files are still verified."""
    dags = tmp_path / "dags"
    dags.mkdir()
    (dags / "sleeps.py").write_text(SLEEPING_DAG)
    shutil.copy(ROOT / "fixtures" / "dags" / "af2_taskflow_etl.py", dags)
    report = tmp_path / "r.json"
    code, _, stderr = _migrate(
        str(dags),
        "--out",
        str(tmp_path / "o"),
        "--verify",
        "--verify-timeout",
        "3",
        "--verify-date",
        "2024-01-15",
        "--report",
        str(report),
    )
    files = {Path(e["path"]).name: e for e in json.loads(report.read_text())["files"]}
    [check] = files["sleeps.py"]["verification"]
    [difference] = check["differences"]
    assert difference["kind"] == "time_limit", difference
    assert "within 3 s" in difference["message"] and "--verify-timeout" in difference["message"]
    assert all(c["ok"] for c in files["af2_taskflow_etl.py"]["verification"])
    assert code == 1, stderr
    left = subprocess.run(["pgrep", "-f", "sleep 100000"], capture_output=True, text=True)
    assert left.stdout.strip() == "", "the stopped run left its shell command running"


def test_a_negative_verify_timeout_is_refused(tmp_path):
    code, _, stderr = _migrate(str(tmp_path), "--verify", "--verify-timeout", "-1")
    assert code == 2
    assert "--verify-timeout" in stderr
