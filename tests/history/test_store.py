"""The history database: runs recorded by `dagshift run`, listings, versions, and a corrupt or
locked file."""

import json
import sqlite3
import subprocess
import sys

import pytest

from dagshift import Flow, task
from dagshift.cli import main
from dagshift.history.store import RunNotFound, Store, StoreError, flow_fingerprint

from .conftest import HOLD_LOCK, ROOT, dagshift, wait_for

FLOWS = ROOT / "fixtures" / "flows"

FLOW_V1 = """
from dagshift import Flow, task

@task
def extract():
    return [1, 2, 3]

@task
def total(rows):
    return sum(rows)

with Flow("numbers", schedule="@daily") as flow:
    total(extract())
"""


def test_dagshift_run_records_the_run_and_its_tasks_in_a_wal_database(tmp_path, monkeypatch):
    monkeypatch.delenv("DAGSHIFT_DB")  # the default place, as a user without the variable has
    out = dagshift(
        "run", FLOWS / "etl.py", "--date", "2024-01-15", "--param", "limit=2", cwd=tmp_path
    )
    assert out.returncode == 0, out.stderr
    db = tmp_path / ".dagshift" / "dagshift.db"  # the default place
    assert sqlite3.connect(db).execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    [run] = json.loads(dagshift("runs", "--json", cwd=tmp_path).stdout)
    assert run["flow"] == "etl" and run["state"] == "success" and run["version"] == 1
    assert run["logical_date"] == "2024-01-15T00:00:00+00:00"
    assert run["params"] == {"limit": 2} and run["trigger"] == "manual"
    assert run["start"] <= run["end"] and run["duration"] >= 0
    shown = json.loads(dagshift("runs", "show", run["run_id"], "--json", cwd=tmp_path).stdout)
    tasks = {t["task_id"]: t for t in shown["tasks"]}
    assert set(tasks) == {"extract_reference", "extract_live", "transform", "load"}
    load = tasks["load"]
    assert load["state"] == "success" and load["tries"] == 1 and load["duration"] >= 0
    assert load["result_uri"] == "db:"  # a small result stays in the database with its record
    assert not (tmp_path / ".dagshift" / "results").exists()


def test_the_database_path_comes_from_the_option_then_the_environment(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    env_db = tmp_path / "env.db"
    monkeypatch.setenv("DAGSHIFT_DB", str(env_db))
    assert main(["run", str(FLOWS / "etl.py")]) == 0 and env_db.exists()
    assert main(["run", str(FLOWS / "etl.py"), "--db", str(tmp_path / "opt.db")]) == 0
    assert len(Store(env_db).list_runs()) == 1 and len(Store(tmp_path / "opt.db").list_runs()) == 1
    assert not (tmp_path / ".dagshift").exists()


def test_a_failed_run_records_the_error_and_tries(tmp_path, db, capsys):
    (tmp_path / "boom.py").write_text(
        "from dagshift import Flow, task\n"
        "@task(retries=1)\ndef boom():\n    raise KeyError('customer_id')\n"
        "with Flow('boom') as flow:\n    boom()\n"
    )
    assert main(["run", str(tmp_path / "boom.py"), "--db", str(db)]) == 1
    [run] = Store(db).list_runs("boom")
    assert run["state"] == "failed"
    [task_run] = Store(db).task_runs(run["run_id"])
    assert task_run["tries"] == 2 and "KeyError" in task_run["error"]
    assert "customer_id" in task_run["traceback"]
    capsys.readouterr()
    assert main(["runs", "show", run["run_id"], "--db", str(db)]) == 0
    text = capsys.readouterr().out
    assert "failed" in text and "KeyError" in text


def test_runs_lists_newest_first_and_filters_by_flow(tmp_path, db, capsys):
    def cli(*args):
        capsys.readouterr()
        assert main([*map(str, args), "--db", str(db)]) == 0
        return capsys.readouterr().out

    for name in ("etl.py", "fan_out_in.py", "etl.py"):
        cli("run", FLOWS / name)
    runs = json.loads(cli("runs", "--json"))
    assert len(runs) == 3 and runs[0]["flow"] == "etl"
    assert [r["flow"] for r in json.loads(cli("runs", "etl", "--json"))] == ["etl", "etl"]
    assert len(json.loads(cli("runs", "--json", "--limit", "1"))) == 1
    table = cli("runs")
    assert table.count("etl") == 2 and runs[0]["run_id"] in table


def test_runs_show_of_an_unknown_id_exits_2_with_a_hint(db, capsys):
    Store(db)
    assert main(["runs", "show", "nope", "--db", str(db)]) == 2
    err = capsys.readouterr().err
    assert "no run 'nope'" in err and "dagshift runs" in err


def test_a_prefix_that_matches_several_runs_is_refused(tmp_path):
    store = Store(tmp_path / "h.db")
    for rid in ("abc111", "abc222"):
        store.create_run(rid, "f", logical_date="2024-01-01T00:00:00+00:00", params={})
    assert store.get_run("abc1")["run_id"] == "abc111"
    with pytest.raises(RunNotFound, match="matches several"):
        store.get_run("abc")


def test_a_corrupt_database_is_reported_and_left_untouched(tmp_path, capsys):
    db = tmp_path / "broken.db"
    db.write_bytes(b"this is not sqlite, but someone's runs might be in here" * 100)
    before = db.read_bytes()
    for args in (["runs"], ["run", str(FLOWS / "etl.py")], ["register", str(FLOWS)]):
        assert main([*args, "--db", str(db)]) == 2
        err = capsys.readouterr().err
        assert str(db) in err and "not a readable dagshift history database" in err
        assert "mv " in err
    assert db.read_bytes() == before


def test_a_locked_database_gives_a_clear_message_and_loses_nothing(tmp_path, db):
    store = Store(db)
    store.create_run("keep", "f", logical_date="2024-01-01T00:00:00+00:00", params={})
    locked, release = tmp_path / "locked", tmp_path / "release"
    holder = subprocess.Popen([sys.executable, "-c", HOLD_LOCK, str(db), str(locked), str(release)])
    try:
        wait_for(locked.exists, what="another process to lock the database")
        with pytest.raises(StoreError, match="locked"):
            Store(db, timeout=0.2).create_run(
                "new", "f", logical_date="2024-01-02T00:00:00+00:00", params={}
            )
    finally:
        release.write_text("")
        holder.wait(timeout=10)
    assert [r["run_id"] for r in Store(db).list_runs()] == ["keep"]


def test_register_gives_a_new_version_only_when_graph_or_code_changes(tmp_path, db, capsys):
    path = tmp_path / "numbers_flow.py"
    path.write_text(FLOW_V1)

    def register():
        assert main(["register", str(path), "--json", "--db", str(db)]) == 0
        [row] = json.loads(capsys.readouterr().out)
        return row["version"], row["new"]

    assert register() == (1, True)
    assert register() == (1, False)
    path.write_text(FLOW_V1 + "\n# a comment outside any task\n")
    assert register() == (1, False)
    path.write_text(FLOW_V1.replace("return sum(rows)", "return sum(rows) * 2"))
    assert register() == (2, True)
    path.write_text(
        FLOW_V1.replace("total(extract())", "total(extract())\n    extract()").replace(
            "return sum(rows)", "return sum(rows) * 2"
        )
    )
    assert register() == (3, True)
    assert [v["version"] for v in Store(db).versions("numbers")] == [1, 2, 3]
    out = dagshift("register", path, "--db", db, cwd=tmp_path)  # a fresh process agrees
    assert "numbers: unchanged, version 3" in out.stdout


def test_the_fingerprint_sees_options_arguments_and_edges():
    @task
    def a(x=1):
        return x

    @task
    def b(y):
        return y

    def build(retries=0, arg=1, edge=True):
        with Flow("f") as flow:
            ref = a.override(retries=retries)(arg)
            b(ref if edge else 5)
        return flow_fingerprint(flow)

    base = build()
    assert build() == base
    assert len({base, build(retries=2), build(arg=2), build(edge=False)}) == 4


def test_the_fingerprint_of_one_flow_object_follows_changes_made_to_it_in_place():
    # what the shim does between runs (op.retries = 3 updates the node's options), and what a
    # flow built in steps does: a fingerprint kept from an earlier run must not hide it
    @task
    def a(x=1):
        return x

    @task
    def b(y):
        return y

    with Flow("f") as flow:
        ref = a(1)
        b(ref)
    first = flow_fingerprint(flow)
    assert flow_fingerprint(flow) == first
    flow.get_task("a").options.update({"retries": 3})
    retried = flow_fingerprint(flow)
    assert retried != first
    flow.get_task("b").kwargs["y"] = 7
    assert flow_fingerprint(flow) not in (first, retried)
    with flow:
        b(ref)
    assert len({first, retried, flow_fingerprint(flow)}) == 3


def test_register_reports_a_file_that_does_not_load(tmp_path, db, capsys):
    (tmp_path / "bad.py").write_text("import nowhere_to_be_found\n")
    assert main(["register", str(tmp_path / "bad.py"), "--db", str(db)]) == 2
    err = capsys.readouterr().err
    assert "bad.py" in err and "nowhere_to_be_found" in err


def _dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def _running_run_of_a_killed_process(store: Store, run_id: str) -> dict:
    store.create_run(run_id, "f", logical_date="2024-01-01T00:00:00+00:00", params={})
    assert store.start_run(run_id)
    with sqlite3.connect(store.path) as db:  # as a SIGKILLed process leaves it
        db.execute("UPDATE runs SET pid = ? WHERE run_id = ?", (_dead_pid(), run_id))
    return store.get_run(run_id)


def test_a_cancel_asked_while_a_run_is_taken_over_is_not_lost(tmp_path):
    """serve takes over a run whose process died (claim, then start); a cancel asked between
    the two is this attempt's: the run still sees it once started."""
    store = Store(tmp_path / "h.db")
    run = _running_run_of_a_killed_process(store, "r1")
    assert store.claim(run)
    assert store.request_cancel("r1", "stop it") == "requested"  # this process owns it now
    assert store.start_run("r1")
    assert store.cancel_requested("r1") == "stop it"


def test_a_cancel_of_an_ended_attempt_does_not_stop_its_resume(tmp_path):
    store = Store(tmp_path / "h.db")
    store.create_run("r2", "f", logical_date="2024-01-01T00:00:00+00:00", params={})
    assert store.start_run("r2")
    assert store.request_cancel("r2") == "requested"
    assert store.finish_run("r2", "cancelled")
    assert store.requeue_run("r2")
    assert store.cancel_requested("r2") is None
    assert store.start_run("r2", only_from=("queued",))
    assert store.cancel_requested("r2") is None


def test_a_run_requeued_for_a_resume_is_no_orphan_for_a_serve_to_take(tmp_path):
    """The UI's resume requeues a run, then starts it: a serve scanning for orphans in
    between must not claim it too (both would run it)."""
    store = Store(tmp_path / "h.db")
    run = _running_run_of_a_killed_process(store, "r3")
    store.interrupt_runs(["r3"], "killed")
    assert store.requeue_run("r3")
    assert store.get_run("r3")["state"] == "queued"
    assert [r["run_id"] for r in store.orphans(["f"])] == []
    assert run["pid"] != store.get_run("r3")["pid"]
