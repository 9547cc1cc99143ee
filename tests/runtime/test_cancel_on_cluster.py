"""Cancel reaches tasks running on dask.distributed workers (a real LocalCluster on loopback):
a Python task checking the flag on a worker stops, a shell command there is terminated, what
has not started does not start, the run ends `cancelled`, and it resumes."""

import os
import threading
import time

import pytest

from dagshift.history.checkpoint import ResultStore, resume_run, run_recorded
from dagshift.history.store import Store
from dagshift.runtime.loader import load_file

pytestmark = pytest.mark.slow

# `looping` checks the cancel flag while the file `slow` exists and notes on which process it
# saw the cancel; `sleepy` runs a shell that sleeps while `slow` exists; `after` needs both.
FLOW = """
import os, time
from pathlib import Path
from dagshift import Flow, task, shell
from dagshift.runtime.cancel import Cancelled, check_cancelled

MARKS = Path({marks!r})

@task
def first():
    with open(MARKS / "first.count", "a") as fh:
        fh.write("x")
    return 1

@task
def looping(x):
    (MARKS / "looping.started").write_text(str(os.getpid()))
    while (MARKS / "slow").exists():
        try:
            check_cancelled()
        except Cancelled:
            (MARKS / "looping.saw-cancel").write_text(str(os.getpid()))
            raise
        time.sleep(0.01)
    return "done"

@task
def sleepy(x):
    wait = f"while [ -e {{MARKS}}/slow ]; do sleep 0.05; done"
    return shell(f"echo $$ > {{MARKS}}/sleepy.pid; {{wait}}; echo woke")

@task
def after(a, b):
    (MARKS / "after.ran").write_text("")
    return [a, b]

with Flow("cluster_long") as flow:
    one = first()
    after(looping(one), sleepy(one))
"""


def _wait(condition, what, timeout=60.0):
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.02)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    with open(f"/proc/{pid}/stat") as fh:
        return fh.read().split(") ", 1)[1][:1] != "Z"


@pytest.fixture
def long_flow(tmp_path):
    marks = tmp_path / "marks"
    marks.mkdir()
    (marks / "slow").write_text("")
    path = tmp_path / "cluster_long.py"
    path.write_text(FLOW.format(marks=str(marks)))
    (flow,) = load_file(path)
    return marks, path, flow


def _started(marks):
    return (marks / "looping.started").exists() and (marks / "sleepy.pid").exists()


def test_a_cancel_reaches_the_tasks_running_on_workers(cluster_client, long_flow):
    marks, _, flow = long_flow
    cancel = threading.Event()
    box = {}
    runner = threading.Thread(
        target=lambda: box.update(run=flow.run(cluster=cluster_client, cancel=cancel)),
        daemon=True,
    )
    runner.start()
    _wait(lambda: _started(marks), "both long tasks to start on the workers")
    shell_pid = int((marks / "sleepy.pid").read_text())
    worker_pids = set(cluster_client.run(os.getpid).values())
    cancel.set()
    runner.join(60)
    assert not runner.is_alive()
    run = box["run"]
    assert run.state == "cancelled"
    looping, sleepy, after = (run.tasks[t] for t in ("looping", "sleepy", "after"))
    # the task saw the cancel itself, on a worker: not dropped by the client after a grace
    assert int((marks / "looping.saw-cancel").read_text()) in worker_pids
    assert looping.state == "cancelled" and looping.error == "Cancelled: the run was cancelled"
    assert looping.message == "the run was cancelled while this task ran"
    assert sleepy.state == "cancelled" and "terminated" in sleepy.error
    assert not _alive(shell_pid)  # the shell on the worker's host is gone
    assert after.state == "cancelled" and after.tries == 0
    assert not (marks / "after.ran").exists()
    assert run.tasks["first"].state == "success"


def test_a_run_cancelled_on_a_cluster_from_the_history_resumes(cluster_client, long_flow, tmp_path):
    marks, path, flow = long_flow
    store = Store(tmp_path / "h.db")
    results = ResultStore.beside(store.path)
    box = {}
    runner = threading.Thread(
        target=lambda: box.update(
            # results="all": checkpoints of every task (else they stay on the workers and
            # rerun on resume)
            run=run_recorded(
                store, results, flow, path=str(path), cluster=cluster_client, results="all"
            )
        ),
        daemon=True,
    )
    runner.start()
    _wait(lambda: _started(marks), "both long tasks to start on the workers")
    (run,) = store.list_runs()
    assert store.request_cancel(run["run_id"]) == "requested"  # as `dagshift runs cancel` does
    runner.join(60)
    assert box["run"].state == "cancelled"
    assert store.get_run(run["run_id"])["state"] == "cancelled"
    tasks = {t["task_id"]: t for t in store.task_runs(run["run_id"])}
    assert tasks["looping"]["message"] == "the run was cancelled while this task ran"
    assert (marks / "looping.saw-cancel").exists()
    (marks / "slow").unlink()
    resumed = resume_run(store, results, run["run_id"], cluster=cluster_client, results="all")
    assert resumed.state == "success"
    states = {t["task_id"]: t["state"] for t in store.task_runs(run["run_id"])}
    assert states == dict.fromkeys(("first", "looping", "sleepy", "after"), "success")
    assert (marks / "first.count").read_text() == "x"  # reused, not run again
    assert (marks / "after.ran").exists()
