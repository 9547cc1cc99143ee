"""Checkpointed results and `dagshift run --resume`: a run killed with SIGKILL half way is
finished by resuming it, and no task that finished runs again."""

import json
import os
import signal

import pytest

from dagshift.history.checkpoint import ResultStore, load_completed, resume_run, run_recorded
from dagshift.history.store import Store
from dagshift.runtime.loader import load_file

from .conftest import counts, dagshift, spawn, spoil_result, wait_for, write_gated


@pytest.fixture
def gated(tmp_path):
    marks = tmp_path / "marks"
    marks.mkdir()
    return write_gated(tmp_path), marks, {"MARKS": str(marks)}


def _recorded(db):
    """Ids of the tasks recorded as succeeded, read as another process would."""
    if not db.exists():
        return set()
    store = Store(db)
    try:
        return {
            t["task_id"]
            for r in store.list_runs()
            for t in store.task_runs(r["run_id"])
            if t["state"] == "success"
        }
    finally:
        store.close()


def _kill_half_way(tmp_path, flow_file, marks, env, db):
    """Start `dagshift run`, SIGKILL it while `second` waits; return the run id."""
    proc = spawn("run", flow_file, "--db", db, cwd=tmp_path, env=env)
    wait_for(lambda: (marks / "second.started").exists(), what="task second to start")
    wait_for(lambda: _recorded(db) >= {"first", "side"}, what="first and side to be recorded")
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=10)
    assert proc.returncode == -signal.SIGKILL
    listed = dagshift("runs", "--json", "--db", db, cwd=tmp_path, env=env)
    [run] = json.loads(listed.stdout)
    assert run["state"] == "running" and run["process_alive"] is False
    return run


def test_a_run_killed_with_sigkill_resumes_without_rerunning_finished_tasks(tmp_path, gated, db):
    flow_file, marks, env = gated
    run = _kill_half_way(tmp_path, flow_file, marks, env, db)
    shown = json.loads(
        dagshift("runs", "show", run["run_id"], "--json", "--db", db, cwd=tmp_path, env=env).stdout
    )
    finished = {t["task_id"] for t in shown["tasks"] if t["state"] == "success"}
    assert finished >= {"first"} and "second" not in finished

    (marks / "second.release").write_text("")
    resumed = dagshift(
        "run", "--resume", run["run_id"], "--json", "--db", db, cwd=tmp_path, env=env
    )
    assert resumed.returncode == 0, resumed.stderr
    out = json.loads(resumed.stdout)["gated"]
    assert out["state"] == "success"
    assert f"resumed run {run['run_id']}" in resumed.stderr
    # first ran once, and second got its stored result (token 107, not a rerun's 207)
    assert out["tasks"]["third"]["result"] == [108, "side-done", run["run_id"]]
    assert counts(marks) == {"first": 1, "side": 1, "second": 2, "third": 1}
    assert "reused" in resumed.stderr

    after = json.loads(
        dagshift(
            "runs", "show", run["run_id"][:6], "--json", "--db", db, cwd=tmp_path, env=env
        ).stdout
    )
    assert after["state"] == "success" and after["attempts"] == 2
    assert {t["task_id"]: t["state"] for t in after["tasks"]} == dict.fromkeys(
        ["first", "side", "second", "third"], "success"
    )
    attempts = {t["task_id"]: t["attempt"] for t in after["tasks"]}
    assert attempts["first"] == 1 and attempts["third"] == 2


def test_resuming_a_run_that_succeeded_says_so(tmp_path, gated, db):
    flow_file, marks, env = gated
    (marks / "second.release").write_text("")
    done = dagshift("run", flow_file, "--db", db, cwd=tmp_path, env=env)
    assert done.returncode == 0
    [run_id] = [r["run_id"] for r in Store(db).list_runs()]
    assert f"run {run_id} of 'gated': success" in done.stderr
    again = dagshift("run", "--resume", run_id, "--db", db, cwd=tmp_path, env=env)
    assert again.returncode == 2
    assert "already succeeded" in again.stderr and run_id in again.stderr


def test_resuming_a_run_id_that_does_not_exist_says_how_to_find_one(tmp_path, db):
    out = dagshift("run", "--resume", "feedbeef", "--db", db, cwd=tmp_path)
    assert out.returncode == 2
    assert "no run 'feedbeef'" in out.stderr and "dagshift runs" in out.stderr


def test_an_unreadable_result_stops_the_resume_and_names_the_file(tmp_path, gated, db):
    flow_file, marks, env = gated
    run = _kill_half_way(tmp_path, flow_file, marks, env, db)
    store = Store(db)
    where = spoil_result(db, run["run_id"], "first")
    (marks / "second.release").write_text("")
    out = dagshift("run", "--resume", run["run_id"], "--db", db, cwd=tmp_path, env=env)
    assert out.returncode == 2
    assert where in out.stderr and "'first'" in out.stderr
    assert "--rerun-unreadable" in out.stderr
    assert counts(marks)["first"] == 1  # nothing ran
    assert store.get_run(run["run_id"])["state"] == "running"  # the record is kept as it was

    out = dagshift(
        "run",
        "--resume",
        run["run_id"],
        "--rerun-unreadable",
        "--json",
        "--db",
        db,
        cwd=tmp_path,
        env=env,
    )
    assert out.returncode == 0, out.stderr
    assert counts(marks) == {"first": 2, "side": 1, "second": 2, "third": 1}


def test_a_run_that_is_still_alive_is_not_taken_over(tmp_path, gated, db):
    flow_file, marks, env = gated
    proc = spawn("run", flow_file, "--db", db, cwd=tmp_path, env=env)
    try:
        wait_for(lambda: (marks / "second.started").exists(), what="task second to start")
        [run] = Store(db).list_runs()
        out = dagshift("run", "--resume", run["run_id"], "--db", db, cwd=tmp_path, env=env)
        assert out.returncode == 2 and "still running" in out.stderr
        assert str(proc.pid) in out.stderr
    finally:
        (marks / "second.release").write_text("")
        proc.wait(timeout=30)
    assert proc.returncode == 0


def test_results_go_to_an_fsspec_url_and_resume_reads_them(tmp_path, monkeypatch):
    pytest.importorskip("fsspec")
    marks = tmp_path / "marks"
    marks.mkdir()
    monkeypatch.setenv("MARKS", str(marks))
    (marks / "second.release").write_text("")
    flow_file = write_gated(tmp_path)
    [flow] = load_file(flow_file)
    store = Store(tmp_path / "h.db")
    results = ResultStore("memory://dagshift-test/results")
    run = run_recorded(store, results, flow, path=str(flow_file))
    uris = {t["task_id"]: t["result_uri"] for t in store.task_runs(run.run_id)}
    assert uris["first"].startswith("memory://dagshift-test/results/")
    assert load_completed(store, results, run.run_id)["first"].result == {"token": 107}

    store._change(
        "make the run unfinished",
        ("UPDATE runs SET state = 'failed' WHERE run_id = ?", (run.run_id,)),
        ("DELETE FROM task_runs WHERE run_id = ? AND task_id = 'third'", (run.run_id,)),
    )
    again = resume_run(store, results, run.run_id)
    assert again.ok and counts(marks)["first"] == 1 and counts(marks)["third"] == 2


def test_a_result_that_cannot_be_pickled_is_noted_and_reruns_on_resume(tmp_path):
    import threading

    from dagshift import Flow, task

    @task
    def lock():
        return threading.Lock()

    with Flow("unpicklable") as flow:
        lock()
    store = Store(tmp_path / "h.db")
    run = run_recorded(store, ResultStore(tmp_path / "r"), flow)
    [row] = store.task_runs(run.run_id)
    assert row["state"] == "success" and row["result_uri"] is None
    assert "not checkpointed" in row["result_note"]
    assert load_completed(store, ResultStore(tmp_path / "r"), run.run_id) == {}


def test_a_file_url_for_results_is_used_by_run_and_by_resume_through_the_environment(
    tmp_path, gated
):
    flow_file, marks, env = gated
    db = tmp_path / "h.db"
    elsewhere = tmp_path / "shared" / "checkpoints"
    url = f"file://{elsewhere}"
    proc = spawn("run", flow_file, "--db", db, "--results", url, cwd=tmp_path, env=env)
    wait_for(lambda: (marks / "second.started").exists(), what="task second to start")
    wait_for(lambda: _recorded(db) >= {"first", "side"}, what="first and side to be recorded")
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=10)
    [run] = Store(db).list_runs()
    assert sorted(p.name for p in (elsewhere / run["run_id"]).iterdir()) == [
        "first.pkl",
        "side.pkl",
    ]
    assert not (db.parent / "results").exists()  # nothing went to the default place
    (marks / "second.release").write_text("")
    out = dagshift("run", "--resume", run["run_id"], "--json", "--db", db, cwd=tmp_path,
                   env={**env, "DAGSHIFT_RESULTS": url})  # fmt: skip
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["gated"]["state"] == "success"
    assert counts(marks) == {"first": 1, "side": 1, "second": 2, "third": 1}
    assert "2 task(s) reused" in out.stderr
