"""Task logs: what each task printed (stdout, stderr, a shell command's output) and logged
(with level and time) is kept per task run, even while tasks run at the same time in one
process, and `dagshift runs show RUN_ID --logs [--task ID]` prints it."""

import json
import textwrap

import pytest

from dagshift.history.store import Store

from .conftest import dagshift

# `left` and `right` run at once (each waits at a barrier for the other) and print, write to
# stderr and log between the waits, so lines of the two land in between each other.
TWO_AT_ONCE = """
import logging, sys, threading
from dagshift import Flow, task, shell

meet = threading.Barrier(2, timeout=20)
log = logging.getLogger("etl")

def chatter(name):
    for i in range(3):
        meet.wait()
        print(f"{name} says {i}")
        print(f"{name} complains {i}", file=sys.stderr)
        log.info("%s noted %d", name, i)
    log.warning("%s is done", name)
    return name

@task
def left():
    return chatter("left")

@task
def right():
    return chatter("right")

@task
def joined(a, b):
    out = shell("echo from-bash-$((20 + 22))")
    print("<script>alert(1)</script> and no newline at the end", end="")
    return out

@task
def broken(x):
    print("about to fail")
    raise ValueError("the input was bad")

with Flow("two_at_once") as flow:
    j = joined(left(), right())
    broken(j)
"""


@pytest.fixture
def recorded(tmp_path):
    flow = tmp_path / "two.py"
    flow.write_text(TWO_AT_ONCE)
    db = tmp_path / "h.db"
    proc = dagshift("run", flow, "--db", db, cwd=tmp_path)
    assert proc.returncode == 1, proc.stderr  # `broken` fails the run
    store = Store(db)
    (run,) = store.list_runs()
    return tmp_path, db, store, run["run_id"], proc


def _texts(store, run_id, task_id):
    return [(r["stream"], r["level"], r["text"]) for r in store.task_logs(run_id, task_id)]


def test_tasks_running_at_once_each_keep_only_their_own_lines(recorded):
    _, _, store, run_id, _ = recorded
    for name, other in (("left", "right"), ("right", "left")):
        lines = _texts(store, run_id, name)
        assert [t for s, _, t in lines if s == "stdout"] == [f"{name} says {i}" for i in range(3)]
        assert [t for s, _, t in lines if s == "stderr"] == [
            f"{name} complains {i}" for i in range(3)
        ]
        records = [(lvl, t) for s, lvl, t in lines if s == "log"]
        assert records == [("INFO", f"etl: {name} noted {i}") for i in range(3)] + [
            ("WARNING", f"etl: {name} is done")
        ]
        assert not any(other in t for _, _, t in lines)


def test_log_lines_keep_their_order_and_times(recorded):
    _, _, store, run_id, _ = recorded
    rows = store.task_logs(run_id, "left")
    assert [r["seq"] for r in rows] == sorted(r["seq"] for r in rows)
    times = [r["time"] for r in rows]
    assert times == sorted(times)
    (task,) = [t for t in store.task_runs(run_id) if t["task_id"] == "left"]
    assert task["start"] <= times[0] <= times[-1] <= task["end"]


def test_output_still_reaches_the_terminal(recorded):
    *_, proc = recorded
    assert "left says 0" in proc.stdout and "right complains 2" in proc.stderr
    assert "left is done" in proc.stderr  # a warning, as Python prints it with no logging setup


def test_a_shell_commands_output_and_an_unfinished_line_are_kept(recorded):
    _, _, store, run_id, _ = recorded
    texts = [t for _, _, t in _texts(store, run_id, "joined")]
    assert texts == ["from-bash-42", "<script>alert(1)</script> and no newline at the end"]


def test_runs_show_logs_prints_a_failed_tasks_output_then_its_traceback(recorded):
    tmp_path, db, _, run_id, _ = recorded
    proc = dagshift(
        "runs", "show", run_id[:6], "--logs", "--task", "broken", "--db", db, cwd=tmp_path
    )
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    assert out.splitlines()[0] == "--- broken (failed, tries 1)"
    assert "[stdout] about to fail" in out
    assert (
        out.index("about to fail")
        < out.index("Traceback")
        < out.index("ValueError: the input was bad")
    )
    assert "left says" not in out


def test_runs_show_logs_of_the_whole_run_groups_lines_by_task(recorded):
    tmp_path, db, _, run_id, _ = recorded
    proc = dagshift("runs", "show", run_id, "--logs", "--db", db, cwd=tmp_path)
    headers = [line for line in proc.stdout.splitlines() if line.startswith("--- ")]
    assert sorted(headers[:2]) == ["--- left (success, tries 1)", "--- right (success, tries 1)"]
    assert headers[2:] == ["--- joined (success, tries 1)", "--- broken (failed, tries 1)"]
    assert "[WARNING] etl: right is done" in proc.stdout


def test_runs_show_logs_as_json_and_an_unknown_task(recorded):
    tmp_path, db, _, run_id, _ = recorded
    proc = dagshift(
        "runs", "show", run_id, "--logs", "--task", "left", "--json", "--db", db, cwd=tmp_path
    )
    rows = json.loads(proc.stdout)["logs"]
    assert {r["task_id"] for r in rows} == {"left"} and len(rows) == 10
    proc = dagshift("runs", "show", run_id, "--logs", "--task", "nope", "--db", db, cwd=tmp_path)
    assert proc.returncode == 2
    assert "has no task 'nope'" in proc.stderr and "left" in proc.stderr


def test_a_log_past_the_size_limit_is_cut_with_a_note(tmp_path):
    flow = tmp_path / "loud.py"
    flow.write_text(textwrap.dedent("""
            from dagshift import Flow, task

            @task
            def loud():
                for i in range(1000):
                    print(f"line {i:04d}")

            with Flow("loud") as flow:
                loud()
            """))
    db = tmp_path / "h.db"
    proc = dagshift("run", flow, "--db", db, cwd=tmp_path, env={"DAGSHIFT_LOG_LIMIT": "100"})
    assert proc.returncode == 0, proc.stderr
    store = Store(db)
    rows = store.task_logs(store.list_runs()[0]["run_id"])
    assert [r["text"] for r in rows[:-1]] == [f"line {i:04d}" for i in range(10)]
    assert rows[-1]["level"] == "NOTE"
    assert "log truncated: 9900 more characters" in rows[-1]["text"]
    assert "DAGSHIFT_LOG_LIMIT" in rows[-1]["text"]


# On a worker, `left` and `right` meet through files (a lock cannot travel to the cluster).
ON_A_CLUSTER = """
import logging, os, time
from pathlib import Path
from dagshift import Flow, task, shell

def chatter(name, other):
    marks = Path(os.environ["MARKS"])
    for i in range(3):
        (marks / f"{name}{i}").write_text("")
        deadline = time.monotonic() + 20
        while not (marks / f"{other}{i}").exists() and time.monotonic() < deadline:
            time.sleep(0.01)
        print(f"{name} says {i}")
        logging.getLogger("etl").info("%s noted %d", name, i)
    return name

@task
def left():
    return chatter("left", "right")

@task
def right():
    return chatter("right", "left")

@task
def joined(a, b):
    return shell("echo from-bash-$((20 + 22))")

with Flow("on_a_cluster") as flow:
    joined(left(), right())
"""


@pytest.mark.slow
def test_logs_come_back_from_dask_distributed_workers(tmp_path):
    flow = tmp_path / "cluster.py"
    flow.write_text(ON_A_CLUSTER)
    db = tmp_path / "h.db"
    proc = dagshift(
        "run",
        flow,
        "--db",
        db,
        "--cluster",
        "local:1",
        cwd=tmp_path,
        timeout=120,
        env={"MARKS": str(tmp_path)},
    )
    assert proc.returncode == 0, proc.stderr
    store = Store(db)
    run_id = store.list_runs()[0]["run_id"]
    for name in ("left", "right"):
        assert _texts(store, run_id, name) == [
            entry
            for i in range(3)
            for entry in (
                ("stdout", None, f"{name} says {i}"),
                ("log", "INFO", f"etl: {name} noted {i}"),
            )
        ]
    assert _texts(store, run_id, "joined") == [("stdout", None, "from-bash-42")]


def test_logging_is_left_as_it_was_between_tasks():
    import logging

    from dagshift import Flow, task

    @task
    def note():
        # (pytest's own handlers configure the root here, so its level, WARNING, is respected)
        logging.getLogger("in.task").warning("kept")
        return logging.getLogger().level

    with Flow("logs_in_process") as flow:
        note()
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    run = flow.run()
    assert [e[2:] for e in run["note"].logs] == [("WARNING", "in.task: kept")]
    assert (list(root.handlers), root.level) == (handlers, level)


def test_a_run_raises_an_unconfigured_root_logger_once_not_for_every_task(monkeypatch):
    import logging

    from dagshift import Flow, task

    root = logging.getLogger()
    monkeypatch.setattr(root, "handlers", [])  # Python's default: logging not configured
    monkeypatch.setattr(root, "level", logging.WARNING)
    levels = []
    real = root.setLevel
    # every change of the root's level clears the cache of every logger in the process
    monkeypatch.setattr(root, "setLevel", lambda level: (levels.append(level), real(level)))

    @task
    def step(i):
        logging.getLogger("etl").info("step %d", i)
        return i

    with Flow("many_steps") as flow:
        for i in range(30):
            step.override(task_id=f"step_{i}")(i)
    run = flow.run(results="all")
    assert [e[2:] for e in run["step_7"].logs] == [("INFO", "etl: step 7")]
    assert levels == [logging.INFO, logging.WARNING]
    assert root.level == logging.WARNING and root.handlers == []
