"""Cancel: `dagshift runs cancel RUN_ID` from another process stops a running run. Tasks not
started do not start, a running shell command is terminated, a Python task that checks the
flag stops, the run ends `cancelled`, and `dagshift run --resume` finishes it later."""

import os
import sqlite3
import subprocess
import sys
import threading
import time

import pytest

from dagshift import Flow, task
from dagshift.history.checkpoint import ResultStore, run_recorded
from dagshift.history.store import Store
from dagshift.runtime.cancel import check_cancelled

from .conftest import dagshift, spawn, wait_for

# `first` counts its runs; `sleepy` runs a shell command that sleeps 60 s while the file
# `slow` exists; `looping` checks the cancel flag; `after` would run once both are done.
LONG_FLOW = """
import os, time
from pathlib import Path
from dagshift import Flow, task, shell
from dagshift.runtime.cancel import check_cancelled

MARKS = Path(os.environ["MARKS"])

@task
def first():
    with open(MARKS / "first.count", "a") as fh:
        fh.write("x")
    return 1

@task
def sleepy(x):
    wait = f"if [ -e {MARKS}/slow ]; then sleep 60; fi"
    return shell(f"echo $$ > {MARKS}/sleepy.pid; {wait}; echo woke")

@task
def looping(x):
    (MARKS / "looping.started").write_text("")
    for _ in range(6000):
        if not (MARKS / "slow").exists():
            return "done"
        check_cancelled()
        time.sleep(0.01)
    return "gave up"

@task
def after(a, b):
    (MARKS / "after.ran").write_text("")
    return [a, b]

with Flow("long") as flow:
    one = first()
    after(sleepy(one), looping(one))
"""


@pytest.fixture
def long_run(tmp_path):
    flow = tmp_path / "long.py"
    flow.write_text(LONG_FLOW)
    (tmp_path / "slow").write_text("")
    db = tmp_path / "h.db"
    env = {"MARKS": str(tmp_path)}
    proc = spawn("run", flow, "--db", db, cwd=tmp_path, env=env)
    wait_for(
        lambda: (tmp_path / "sleepy.pid").exists() and (tmp_path / "looping.started").exists(),
        what="both long tasks to start",
    )
    store = Store(db)
    (run,) = store.list_runs()
    yield tmp_path, db, env, store, run["run_id"], proc
    if proc.poll() is None:
        proc.kill()
        proc.wait()


def _states(store, run_id):
    return {t["task_id"]: t for t in store.task_runs(run_id)}


def test_cancel_stops_a_running_run_and_what_has_not_started(long_run):
    tmp_path, db, env, store, run_id, proc = long_run
    asked = time.monotonic()
    cancel = dagshift("runs", "cancel", run_id[:8], "--db", db, cwd=tmp_path)
    assert cancel.returncode == 0, cancel.stderr
    assert "cancel requested" in cancel.stderr
    out, err = proc.communicate(timeout=30)
    took = time.monotonic() - asked
    assert took < 10, f"the run took {took:.1f}s to stop"
    assert proc.returncode == 1, err
    run = store.get_run(run_id)
    assert run["state"] == "cancelled" and run["message"] == "cancelled on request"
    tasks = _states(store, run_id)
    assert tasks["first"]["state"] == "success"
    assert tasks["sleepy"]["state"] == "cancelled"
    assert "terminated" in tasks["sleepy"]["error"]
    assert tasks["looping"]["state"] == "cancelled"
    assert tasks["looping"]["error"] == "Cancelled: the run was cancelled"
    assert tasks["after"]["state"] == "cancelled" and tasks["after"]["tries"] == 0
    assert tasks["after"]["message"] == "the run was cancelled before this task started"
    assert not (tmp_path / "after.ran").exists()
    pid = int((tmp_path / "sleepy.pid").read_text())
    with pytest.raises(ProcessLookupError):  # the shell (and its sleep) is gone
        os.kill(pid, 0)


def test_a_cancelled_run_resumes_without_redoing_what_succeeded(long_run):
    tmp_path, db, env, store, run_id, proc = long_run
    dagshift("runs", "cancel", run_id, "--db", db, cwd=tmp_path)
    proc.communicate(timeout=30)
    assert store.get_run(run_id)["state"] == "cancelled"
    (tmp_path / "slow").unlink()
    resumed = dagshift("run", "--resume", run_id, "--db", db, cwd=tmp_path, env=env)
    assert resumed.returncode == 0, resumed.stderr
    assert store.get_run(run_id)["state"] == "success"
    assert {t: r["state"] for t, r in _states(store, run_id).items()} == dict.fromkeys(
        ("first", "sleepy", "looping", "after"), "success"
    )
    assert (tmp_path / "first.count").read_text() == "x"  # reused, not run again
    assert (tmp_path / "after.ran").exists()


def test_cancelling_a_finished_or_unknown_run_says_so(tmp_path):
    db = tmp_path / "h.db"
    flow = tmp_path / "quick.py"
    flow.write_text(
        "from dagshift import Flow, task\n@task\ndef a():\n    return 1\n"
        "with Flow('quick') as flow:\n    a()\n"
    )
    assert dagshift("run", flow, "--db", db, cwd=tmp_path).returncode == 0
    run_id = Store(db).list_runs()[0]["run_id"]
    proc = dagshift("runs", "cancel", run_id, "--db", db, cwd=tmp_path)
    assert proc.returncode == 1
    assert f"run {run_id} already ended success: nothing to cancel" in proc.stderr
    proc = dagshift("runs", "cancel", "feedbeef", "--db", db, cwd=tmp_path)
    assert proc.returncode == 2 and "no run 'feedbeef'" in proc.stderr


def test_a_queued_or_abandoned_run_is_cancelled_at_once(tmp_path):
    store = Store(tmp_path / "h.db")
    store.create_run("q1", "f", logical_date="2024-01-01T00:00:00+00:00", params={})
    assert store.request_cancel("q1") == "cancelled"
    assert store.get_run("q1")["state"] == "cancelled"
    store.create_run("r1", "f", logical_date="2024-01-01T00:00:00+00:00", params={})
    store.start_run("r1")
    # the process that ran it died: nobody would poll the flag
    store._change(
        "fake a dead process", ("UPDATE runs SET pid = ? WHERE run_id = 'r1'", (2**22 + 1,))
    )
    assert store.request_cancel("r1") == "cancelled"


def test_a_cancel_of_an_earlier_attempt_does_not_stop_a_resumed_run(tmp_path):
    store = Store(tmp_path / "h.db")
    store.create_run("r1", "f", logical_date="2024-01-01T00:00:00+00:00", params={})
    store.start_run("r1")
    assert store.request_cancel("r1") == "requested"
    assert store.cancel_requested("r1") == "cancelled on request"
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    with sqlite3.connect(store.path) as db:  # the process died before it saw the cancel
        db.execute("UPDATE runs SET pid = ? WHERE run_id = 'r1'", (dead.pid,))
    store.start_run("r1")  # `dagshift runs resume r1`
    assert store.cancel_requested("r1") is None


def test_a_cancelled_task_is_not_retried_in_process(tmp_path):
    tries = []
    started = threading.Event()

    @task(retries=3)
    def spin():
        tries.append(1)
        started.set()
        while True:
            check_cancelled()
            time.sleep(0.01)

    @task
    def later(x):
        return x

    with Flow("spin") as flow:
        later(spin())

    cancel = threading.Event()
    threading.Thread(target=lambda: started.wait(10) and cancel.set(), daemon=True).start()
    store = Store(tmp_path / "h.db")
    run = run_recorded(store, ResultStore(tmp_path / "res"), flow, cancel=cancel)
    assert run.state == "cancelled"
    assert (run["spin"].state, run["spin"].tries, len(tries)) == ("cancelled", 1, 1)
    assert run["later"].state == "cancelled"
    assert store.get_run(run.run_id)["state"] == "cancelled"


# On a cluster: `spin` sleeps (it cannot be told), `never` would run after it.
ON_A_CLUSTER = """
import os, time
from pathlib import Path
from dagshift import Flow, task

@task
def start():
    return 1

@task
def spin(x):
    Path(os.environ["MARKS"], "spin.started").write_text("")
    time.sleep(60)

@task
def never(x):
    Path(os.environ["MARKS"], "never.ran").write_text("")

with Flow("cluster_spin") as flow:
    never(spin(start()))
"""


@pytest.mark.slow
def test_cancel_on_a_cluster_cancels_what_has_not_ended(tmp_path):
    flow = tmp_path / "spin.py"
    flow.write_text(ON_A_CLUSTER)
    db = tmp_path / "h.db"
    env = {"MARKS": str(tmp_path)}
    proc = spawn("run", flow, "--db", db, "--cluster", "local:1", cwd=tmp_path, env=env)
    try:
        wait_for(lambda: (tmp_path / "spin.started").exists(), 60, "spin to start")
        store = Store(db)
        (run,) = store.list_runs()
        asked = time.monotonic()
        assert dagshift("runs", "cancel", run["run_id"], "--db", db, cwd=tmp_path).returncode == 0
        proc.communicate(timeout=40)
        assert time.monotonic() - asked < 30
        assert store.get_run(run["run_id"])["state"] == "cancelled"
        states = {t["task_id"]: t["state"] for t in store.task_runs(run["run_id"])}
        assert states == {"start": "success", "spin": "cancelled", "never": "cancelled"}
        assert not (tmp_path / "never.ran").exists()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
