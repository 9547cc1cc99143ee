"""A run started from the UI is handed to a running `dagshift serve` of its flow on the same
history (real processes on one SQLite file): the serve runs it, once even with two serves;
with no live serve (none, stopped, or killed) the UI runs it itself."""

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from dagshift.history.store import Store

from .conftest import ROOT, Server, dagshift

# Each run appends "<run id> <pid>" to the file MARKS: who ran it, and how many times; a run
# with n=0 then waits while the file HOLD exists.
MARKER = """
import os, time
from dagshift import Flow, Parameter, get_run_context, task

@task
def mark(n):
    while n == 0 and os.path.exists(os.environ["HOLD"]):
        time.sleep(0.01)
    with open(os.environ["MARKS"], "a") as fh:
        fh.write(f"{get_run_context()['run_id']} {os.getpid()}\\n")
    return n * 10

with Flow("marker") as flow:
    mark(Parameter("n", default=1))
"""


@pytest.fixture
def folder(tmp_path):
    (tmp_path / "flows").mkdir()
    (tmp_path / "flows" / "marker.py").write_text(MARKER)
    env = {"MARKS": str(tmp_path / "marks.txt"), "HOLD": str(tmp_path / "hold")}
    db = tmp_path / "h.db"
    registered = dagshift("register", "flows/marker.py", "--db", db, cwd=tmp_path, env=env)
    assert registered.returncode == 0, registered.stderr
    return tmp_path, db, env


def _serve(folder: Path, db: Path, env: dict, *args: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "dagshift", "serve", "flows", "--db", str(db), "--poll", "0.2"]
        + list(args),
        cwd=folder,
        env={**os.environ, "PYTHONPATH": str(ROOT), **env},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _serving(db: Path) -> set[int]:
    """The pids of the serves that have announced the flow `marker`."""
    with sqlite3.connect(db) as con:
        try:
            rows = con.execute("SELECT pid, flows FROM services").fetchall()
        except sqlite3.OperationalError:  # not created yet
            return set()
    return {pid for pid, flows in rows if '"marker"' in flows}


def _wait(condition, what: str, timeout: float = 60.0):
    deadline = time.monotonic() + timeout
    while not (got := condition()):
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)
    return got


def _trigger(ui: Server, n: int) -> str:
    query = f'mutation {{ triggerRun(flow: "marker", parameters: {{n: {n}}}) {{ id }} }}'
    answer = httpx.post(ui.url + "/graphql", json={"query": query}, timeout=30).json()
    assert "errors" not in answer, answer
    return answer["data"]["triggerRun"]["id"]


def _ended(store: Store, run_id: str) -> dict:
    return _wait(
        lambda: (r := store.get_run(run_id))["state"] not in ("queued", "running") and r,
        f"run {run_id} to end",
    )


def _marks(folder: Path) -> list[tuple[str, int]]:
    path = folder / "marks.txt"
    lines = path.read_text().split() if path.exists() else []
    return [(lines[i], int(lines[i + 1])) for i in range(0, len(lines), 2)]


def _stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def test_runs_started_from_the_ui_are_run_once_by_one_of_two_serves(folder):
    tmp, db, env = folder
    serves = [_serve(tmp, db, env), _serve(tmp, db, env)]
    ui = None
    try:
        pids = {p.pid for p in serves}
        _wait(lambda: _serving(db) == pids, "both serves to announce the flow")
        ui = Server(tmp, db, env=env)
        ids = [_trigger(ui, n) for n in range(6)]
        store = Store(db)
        runs = [_ended(store, run_id) for run_id in ids]
    finally:
        if ui is not None:
            ui.stop()
        for proc in serves:
            _stop(proc)
    assert [r["state"] for r in runs] == ["success"] * 6
    assert {r["pid"] for r in runs} <= pids  # run by a serve, not by the UI's process
    assert all(r["attempts"] == 1 and r["trigger"] == "ui" for r in runs)
    marks = _marks(tmp)
    assert sorted(m[0] for m in marks) == sorted(ids)  # each run ran once, none twice
    assert all(pid == store.get_run(run_id)["pid"] for run_id, pid in marks)
    results = {r["run_id"]: store.task_runs(r["run_id"])[0]["state"] for r in runs}
    assert set(results.values()) == {"success"}
    logged = "".join(p.stderr.read() for p in serves)
    assert sum(f"started run {run_id}" in logged for run_id in ids) == 6


def test_with_no_live_serve_the_ui_runs_the_flow_itself(folder):
    tmp, db, env = folder
    ui = Server(tmp, db, env=env)
    try:
        store = Store(db)
        alone = _ended(store, _trigger(ui, 1))  # no serve at all
        stopped = _serve(tmp, db, env)
        _wait(lambda: _serving(db) == {stopped.pid}, "the serve to announce the flow")
        handed = _ended(store, _trigger(ui, 2))
        _stop(stopped)  # a serve that stops withdraws
        after_stop = _ended(store, _trigger(ui, 3))
        killed = _serve(tmp, db, env)
        _wait(lambda: killed.pid in _serving(db), "the second serve to announce the flow")
        killed.kill()  # SIGKILL: it cannot withdraw, its pid is gone
        killed.wait()
        after_kill = _ended(store, _trigger(ui, 4))
    finally:
        ui.stop()
    assert handed["state"] == "success" and handed["pid"] == stopped.pid
    for run in (alone, after_stop, after_kill):
        assert run["state"] == "success" and run["pid"] == ui.proc.pid
    assert killed.pid not in _serving(db)  # the dead serve's entry was cleared


def test_a_handed_off_run_cancelled_while_it_waits_for_a_slot_is_never_started(folder):
    tmp, db, env = folder
    (tmp / "hold").write_text("")
    serve = _serve(tmp, db, env, "--max-active", "1")
    ui = None
    try:
        _wait(lambda: _serving(db) == {serve.pid}, "the serve to announce the flow")
        ui = Server(tmp, db, env=env)
        store = Store(db)
        busy = _trigger(ui, 0)  # holds the serve's one slot
        _wait(lambda: store.get_run(busy)["state"] == "running", "the first run to start")
        waiting = _trigger(ui, 5)
        assert store.get_run(waiting)["state"] == "queued"
        query = f'mutation {{ cancelRun(id: "{waiting}") {{ state }} }}'
        answer = httpx.post(ui.url + "/graphql", json={"query": query}, timeout=30).json()
        assert answer["data"]["cancelRun"]["state"] == "cancelled"
        (tmp / "hold").unlink()
        assert _ended(store, busy)["state"] == "success"
        later = _ended(store, _trigger(ui, 6))  # the serve has ticked past the cancelled one
    finally:
        if ui is not None:
            ui.stop()
        _stop(serve)
    assert later["state"] == "success" and later["pid"] == serve.pid
    assert store.get_run(waiting)["state"] == "cancelled"
    assert [m[0] for m in _marks(tmp)] == [busy, later["run_id"]]
    assert store.task_runs(waiting) == []


def test_a_handed_off_run_left_unclaimed_by_a_killed_serve_is_run_by_the_ui(folder):
    tmp, db, env = folder
    (tmp / "hold").write_text("")
    serve = _serve(tmp, db, env, "--max-active", "1")
    ui = None
    try:
        _wait(lambda: _serving(db) == {serve.pid}, "the serve to announce the flow")
        ui = Server(tmp, db, env=env)
        store = Store(db)
        busy = _trigger(ui, 0)  # holds the serve's one slot
        _wait(lambda: store.get_run(busy)["state"] == "running", "the first run to start")
        waiting = _trigger(ui, 7)
        assert store.get_run(waiting)["state"] == "queued"
        serve.kill()  # SIGKILL before it could claim the second run
        serve.wait()
        taken_back = _ended(store, waiting)
    finally:
        if ui is not None:
            ui.stop()
        _stop(serve)
    assert taken_back["state"] == "success" and taken_back["pid"] == ui.proc.pid
    assert taken_back["attempts"] == 1
    assert [m for m in _marks(tmp) if m[0] == waiting] == [(waiting, ui.proc.pid)]


# A flow of two steps: `first` succeeds at once, `second` waits while HOLD exists. Each step
# appends "<run id> <step> <input> <run type> <pid>" to STEPS: which process ran it, on what,
# how often, and the run_type Airflow's `dag_run` shows it (dagshift's shim reads the same).
TWO_STEPS = """
import os, time
from dagshift import Flow, Parameter, get_run_context, task

def _mark(step, value):
    ctx = get_run_context()
    kind = ctx["run"].extra.get("dagshift.run_type", "manual")
    with open(os.environ["STEPS"], "a") as fh:
        fh.write(f"{ctx['run_id']} {step} {value} {kind} {os.getpid()}\\n")

@task
def first(n):
    _mark("first", n)
    return n + 1

@task
def second(x):
    while os.path.exists(os.environ["HOLD"]):
        time.sleep(0.01)
    _mark("second", x)
    return x * 10

with Flow("twostep") as flow:
    second(first(Parameter("n", default=1)))
"""


@pytest.fixture
def two_steps(folder):
    tmp, db, env = folder
    (tmp / "flows" / "twostep.py").write_text(TWO_STEPS)
    env = {**env, "STEPS": str(tmp / "steps.txt")}
    registered = dagshift("register", "flows/twostep.py", "--db", db, cwd=tmp, env=env)
    assert registered.returncode == 0, registered.stderr
    (tmp / "hold").write_text("")
    return tmp, db, env


def _trigger_two_steps(ui: Server) -> str:
    query = 'mutation { triggerRun(flow: "twostep", parameters: {n: 1}) { id } }'
    answer = httpx.post(ui.url + "/graphql", json={"query": query}, timeout=30).json()
    assert "errors" not in answer, answer
    return answer["data"]["triggerRun"]["id"]


def _held_in(store: Store, run_id: str, pids: set[int]) -> int:
    """Wait until a serve of ``pids`` runs ``run_id`` with `first` recorded as succeeded and
    `second` held; return that serve's pid."""

    def held():
        run = store.get_run(run_id)
        tasks = {t["task_id"]: t["state"] for t in store.task_runs(run_id)}
        return run["state"] == "running" and tasks.get("first") == "success" and run["pid"]

    pid = _wait(held, f"run {run_id} to be held in its second task")
    assert pid in pids
    return pid


def _steps(folder: Path) -> list[tuple[str, str, int, str, int]]:
    path = folder / "steps.txt"
    lines = [line.split() for line in path.read_text().splitlines()] if path.exists() else []
    return [(run, step, int(value), kind, int(pid)) for run, step, value, kind, pid in lines]


def _assert_resumed(tmp: Path, store: Store, run: dict, killed: int, by: int) -> None:
    """Run once to success across two processes: `first` by the killed serve only, `second`
    by the one that took the run over, on `first`'s checkpointed result, both as a manual run
    (Airflow's run_type of a triggered run; not `scheduled` after the takeover)."""
    assert run["state"] == "success" and run["pid"] == by and run["trigger"] == "ui"
    assert run["attempts"] == 2
    steps = [s for s in _steps(tmp) if s[0] == run["run_id"]]
    assert steps == [
        (run["run_id"], "first", 1, "manual", killed),
        (run["run_id"], "second", 2, "manual", by),
    ]
    tasks = {t["task_id"]: (t["state"], t["attempt"]) for t in store.task_runs(run["run_id"])}
    assert tasks == {"first": ("success", 1), "second": ("success", 2)}


def test_a_handed_off_run_whose_serve_is_killed_mid_run_is_resumed_by_another_serve(two_steps):
    tmp, db, env = two_steps
    serves = {p.pid: p for p in (_serve(tmp, db, env), _serve(tmp, db, env))}
    ui = None
    try:
        _wait(lambda: {p for p in serves if p in _serving(db)} == set(serves), "both serves")
        ui = Server(tmp, db, env=env)
        store = Store(db)
        run_id = _trigger_two_steps(ui)
        killed = _held_in(store, run_id, set(serves))
        serves[killed].kill()  # SIGKILL mid-run: its run stays `running` under a dead pid
        serves[killed].wait()
        (tmp / "hold").unlink()
        run = _ended(store, run_id)
    finally:
        if ui is not None:
            ui.stop()
        for proc in serves.values():
            _stop(proc)
    (survivor,) = set(serves) - {killed}
    _assert_resumed(tmp, store, run, killed, survivor)  # not by the UI: a serve was left
    logged = serves[survivor].stderr.read()
    assert f"resuming run {run_id} of 'twostep'" in logged and "1 task(s) done" in logged


def test_a_handed_off_run_whose_serve_is_killed_mid_run_is_resumed_by_the_restarted_serve(
    two_steps,
):
    tmp, db, env = two_steps
    first = _serve(tmp, db, env)
    restarted = None
    ui = None
    try:
        _wait(lambda: first.pid in _serving(db), "the serve to announce the flow")
        ui = Server(tmp, db, env=env)
        store = Store(db)
        run_id = _trigger_two_steps(ui)
        _held_in(store, run_id, {first.pid})
        ui.stop()  # only a serve is left to take the run over
        first.kill()
        first.wait()
        assert store.get_run(run_id)["state"] == "running"  # under a dead pid, until...
        restarted = _serve(tmp, db, env)
        (tmp / "hold").unlink()
        run = _ended(store, run_id)
    finally:
        if ui is not None:
            ui.stop()
        for proc in (first, restarted):
            if proc is not None:
                _stop(proc)
    _assert_resumed(tmp, store, run, first.pid, restarted.pid)


def test_a_handed_off_run_whose_only_serve_is_killed_mid_run_is_resumed_by_the_ui(two_steps):
    tmp, db, env = two_steps
    serve = _serve(tmp, db, env)
    ui = None
    try:
        _wait(lambda: serve.pid in _serving(db), "the serve to announce the flow")
        ui = Server(tmp, db, env=env)
        store = Store(db)
        run_id = _trigger_two_steps(ui)
        _held_in(store, run_id, {serve.pid})
        # a serve of the flow on another machine, announced a moment ago: it cannot see that
        # a process on this host is gone, so it is no reason for the UI to wait
        with sqlite3.connect(db) as con:
            con.execute(
                "INSERT INTO services VALUES (1, 'elsewhere.example', ?, ?, 3600, ?)",
                (time.time(), time.time(), '["twostep"]'),
            )
        serve.kill()
        serve.wait()
        (tmp / "hold").unlink()
        run = _ended(store, run_id)
    finally:
        if ui is not None:
            ui.stop()
        _stop(serve)
    _assert_resumed(tmp, store, run, serve.pid, ui.proc.pid)
    assert "resuming it here" in ui.proc.stderr.read()


def test_a_ui_started_later_resumes_a_handed_off_run_left_by_a_killed_serve(two_steps):
    tmp, db, env = two_steps
    serve = _serve(tmp, db, env)
    ui = later = None
    try:
        _wait(lambda: serve.pid in _serving(db), "the serve to announce the flow")
        ui = Server(tmp, db, env=env)
        store = Store(db)
        run_id = _trigger_two_steps(ui)
        _held_in(store, run_id, {serve.pid})
        ui.stop()  # the UI that handed the run off is gone too
        serve.kill()
        serve.wait()
        (tmp / "hold").unlink()
        later = Server(tmp, db, env=env)  # it finds the run in the history
        run = _ended(store, run_id)
    finally:
        for server in (ui, later):
            if server is not None:
                server.stop()
        _stop(serve)
    _assert_resumed(tmp, store, run, serve.pid, later.proc.pid)
