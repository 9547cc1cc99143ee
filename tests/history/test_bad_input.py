"""Bad input through the real command: each case exits 2 with one line on stderr that names the
file (or run) and says what to do, and the runs already recorded are all still there."""

import subprocess
import sys
import textwrap

import pytest

from dagshift.history.store import Store

from .conftest import HOLD_LOCK, dagshift, spoil_result, wait_for

FLOW = """
from dagshift import Flow, task

@task
def work():
    return 1

with Flow("etl", schedule=SCHEDULE) as flow:
    work()
"""


def flow_file(folder, schedule="@daily"):
    path = folder / "etl.py"
    path.write_text(textwrap.dedent(FLOW.replace("SCHEDULE", repr(schedule))))
    return path


def one_line(out):
    assert out.returncode == 2, out.stdout + out.stderr
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1, out.stderr
    return lines[0]


@pytest.fixture
def recorded(tmp_path):
    """A history holding one finished run."""
    db = tmp_path / "h.db"
    out = dagshift("run", flow_file(tmp_path), "--db", db, cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    [run] = Store(db).list_runs()
    return db, run["run_id"]


def test_a_locked_database_names_the_file_and_the_way_out(tmp_path, recorded):
    db, run_id = recorded
    locked, release = tmp_path / "locked", tmp_path / "release"
    holder = subprocess.Popen([sys.executable, "-c", HOLD_LOCK, str(db), str(locked), str(release)])
    try:
        wait_for(locked.exists, what="another process to lock the database")
        env = {"DAGSHIFT_DB_TIMEOUT": "0.3"}
        for args in (["runs"], ["run", tmp_path / "etl.py"], ["register", tmp_path / "etl.py"]):
            line = one_line(dagshift(*args, "--db", db, cwd=tmp_path, env=env))
            assert str(db) in line and "stayed locked for 0.3s" in line
            assert "DAGSHIFT_DB_TIMEOUT" in line
    finally:
        release.write_text("")
        holder.wait(timeout=10)
    assert [r["run_id"] for r in Store(db).list_runs()] == [run_id]


def test_a_timeout_that_is_not_a_number_is_refused(tmp_path, recorded):
    db, _ = recorded
    out = dagshift("runs", "--db", db, cwd=tmp_path, env={"DAGSHIFT_DB_TIMEOUT": "soon"})
    assert "$DAGSHIFT_DB_TIMEOUT must be a number of seconds, got 'soon'" in one_line(out)


@pytest.mark.parametrize(
    "command",
    [
        ["serve", "{folder}"],
        ["backfill", "{file}", "--start", "2024-01-01", "--end", "2024-01-02"],
        ["run", "--resume", "abc123"],
        ["runs", "show", "abc123"],
    ],
    ids=["serve", "backfill", "resume", "show"],
)
def test_a_corrupt_database_is_named_and_left_as_it_was(tmp_path, command):
    db = tmp_path / "h.db"
    db.write_bytes(b"runs of last year, on a disk that had a bad day " * 100)
    before = db.read_bytes()
    file = flow_file(tmp_path)
    args = [a.format(folder=tmp_path, file=file) for a in command]
    line = one_line(dagshift(*args, "--db", db, cwd=tmp_path, timeout=30))
    assert str(db) in line and "not a readable dagshift history database" in line
    assert f"mv {db} {db}.broken" in line
    assert db.read_bytes() == before


def test_an_unknown_run_id_points_at_the_list_of_runs(tmp_path, recorded):
    db, run_id = recorded
    for args in (["runs", "show", "0ddba11"], ["run", "--resume", "0ddba11"]):
        line = one_line(dagshift(*args, "--db", db, cwd=tmp_path))
        assert "no run '0ddba11'" in line and "dagshift runs" in line
    assert [r["run_id"] for r in Store(db).list_runs()] == [run_id]


def test_register_refuses_an_unparseable_schedule_and_keeps_the_history(tmp_path, recorded):
    db, run_id = recorded
    path = flow_file(tmp_path, schedule="61 * * * *")
    line = one_line(dagshift("register", path, "--db", db, cwd=tmp_path))
    assert str(path.resolve()) in line and "cannot parse schedule '61 * * * *'" in line
    assert [v["version"] for v in Store(db).versions("etl")] == [1]  # no version for it
    assert [r["run_id"] for r in Store(db).list_runs()] == [run_id]


def test_serve_refuses_a_path_that_does_not_exist(tmp_path):
    out = dagshift("serve", tmp_path / "flwos", "--db", tmp_path / "h.db", cwd=tmp_path)
    assert f"no such file or folder: {tmp_path / 'flwos'}" in one_line(out)


def test_an_unreadable_result_file_is_named_and_the_run_kept_when_resuming(tmp_path):
    path = tmp_path / "two.py"
    path.write_text(textwrap.dedent("""
            import os
            from dagshift import Flow, task

            @task
            def first():
                return 41

            @task
            def second(x):
                if os.environ.get("FAIL"):
                    raise RuntimeError("not yet")
                return x + 1

            with Flow("two") as flow:
                second(first())
            """))
    db = tmp_path / "h.db"
    assert dagshift("run", path, "--db", db, cwd=tmp_path, env={"FAIL": "1"}).returncode == 1
    [run] = Store(db).list_runs()
    first = next(t for t in Store(db).task_runs(run["run_id"]) if t["result_uri"])
    uri = spoil_result(db, run["run_id"], first["task_id"], b"\x80\x05trunc")
    line = one_line(dagshift("run", "--resume", run["run_id"], "--db", db, cwd=tmp_path))
    assert uri in line and "'first'" in line and "--rerun-unreadable" in line
    assert Store(db).get_run(run["run_id"])["state"] == "failed"
