"""`dagshift backfill FLOW --start D1 --end D2`: one run per schedule time in the range, run
concurrently within max_active_runs; already succeeded times are skipped, unfinished ones
resumed; bad input exits 2 with one line that says what to do."""

import json
import textwrap

from dagshift.history.store import Store

from .conftest import LEGACY_DAG, dagshift, spawn, spoil_result, wait_for

# Each run waits (up to 20 s) in `enter` until it meets another run there (unless none is left
# to come) and records the most runs it saw there at once: a backfill that ran one at a time,
# or more at once than max_active_runs allows, shows.
OVERLAP_FLOW = """
import os, time
from pathlib import Path
from dagshift import Flow, task, get_run_context

MARKS = Path(os.environ["MARKS"])
RUNS = 4

@task
def enter():
    ds = get_run_context()["ds"]
    inside, done, met = MARKS / "inside", MARKS / "done", MARKS / "met"
    for folder in (inside, done, met):
        folder.mkdir(exist_ok=True)
    (inside / ds).write_text("")
    seen = 1
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        names = [p.name for p in inside.iterdir()]
        seen = max(seen, len(names))
        if len(names) >= 2:
            for name in names:  # tell the others they were met (they may poll too late)
                (met / name).write_text("")
        if (met / ds).exists() or len(names) + len(list(done.iterdir())) >= RUNS:
            break  # met another run, or no other run is left to come
        time.sleep(0.01)
    (MARKS / f"seen-{ds}").write_text(str(seen))
    return seen

@task
def leave(seen):
    ds = get_run_context()["ds"]
    (MARKS / "done" / ds).write_text("")
    (MARKS / "inside" / ds).unlink()
    return seen

with Flow("overlap", schedule="@daily", max_active_runs=2) as flow:
    leave(enter())
"""

# `count` runs always; `check` fails while a file named after the run's date exists.
FLAKY_FLOW = """
import os
from pathlib import Path
from dagshift import Flow, task, get_run_context

MARKS = Path(os.environ["MARKS"])

@task
def count():
    ds = get_run_context()["ds"]
    with open(MARKS / f"count-{ds}", "a") as fh:
        fh.write("x")
    return ds

@task
def check(ds):
    if (MARKS / f"fail-{ds}").exists():
        raise RuntimeError(f"{ds} is not ready")
    return ds

with Flow("flaky", schedule="0 6 * * *") as flow:
    check(count())
"""


def write(folder, name, source):
    path = folder / f"{name}.py"
    path.write_text(textwrap.dedent(source))
    return path


def test_backfill_of_a_file_runs_each_schedule_time_in_the_range_two_at_a_time(tmp_path):
    marks = tmp_path / "marks"
    marks.mkdir()
    path = write(tmp_path, "overlap", OVERLAP_FLOW)
    db = tmp_path / "h.db"
    out = dagshift(
        "backfill",
        path,
        "--start",
        "2024-03-01",
        "--end",
        "2024-03-04T12:00",
        "--json",
        "--db",
        db,
        cwd=tmp_path,
        env={"MARKS": str(marks)},
    )
    assert out.returncode == 0, out.stderr
    report = json.loads(out.stdout)
    days = ["2024-03-01", "2024-03-02", "2024-03-03", "2024-03-04"]
    assert [r["logical_date"][:10] for r in report["runs"]] == days
    assert {r["state"] for r in report["runs"]} == {"success"}
    # Runs met inside: concurrent, and never more than max_active_runs=2 at once.
    seen = [int((marks / f"seen-{d}").read_text()) for d in days]
    assert max(seen) == 2, seen
    runs = Store(db).list_runs("overlap", limit=None)
    assert sorted(r["logical_date"][:10] for r in runs) == days
    assert {r["trigger"] for r in runs} == {"backfill"}
    assert "4 to run, 2 at a time" in out.stderr


def test_a_failed_backfill_run_is_resumed_by_the_same_command_and_done_times_are_skipped(
    tmp_path,
):
    marks = tmp_path / "marks"
    marks.mkdir()
    env = {"MARKS": str(marks)}
    path = write(tmp_path, "flaky", FLAKY_FLOW)
    db = tmp_path / "h.db"
    assert dagshift("register", path, "--db", db, cwd=tmp_path, env=env).returncode == 0
    (marks / "fail-2024-05-02").write_text("")
    args = ("backfill", "flaky", "--start", "2024-05-01", "--end", "2024-05-03", "--json")
    first = dagshift(*args, "--db", db, cwd=tmp_path, env=env)
    assert first.returncode == 1  # one run failed
    states = {r["logical_date"]: r["state"] for r in json.loads(first.stdout)["runs"]}
    assert states == {
        "2024-05-01T06:00:00+00:00": "success",
        "2024-05-02T06:00:00+00:00": "failed",
        "2024-05-03T06:00:00+00:00": "success",
    }
    failed = next(r for r in json.loads(first.stdout)["runs"] if r["state"] == "failed")

    (marks / "fail-2024-05-02").unlink()
    again = dagshift(*args, "--db", db, cwd=tmp_path, env=env)
    assert again.returncode == 0, again.stderr
    [rerun] = json.loads(again.stdout)["runs"]
    assert rerun == {**failed, "state": "success"}  # the same run, finished
    assert "2 already succeeded" in again.stderr
    # `count` of the failed day succeeded the first time and was not run again.
    assert {p.name: p.read_text() for p in marks.glob("count-*")} == {
        "count-2024-05-01": "x",
        "count-2024-05-02": "x",
        "count-2024-05-03": "x",
    }
    assert len(Store(db).list_runs("flaky", limit=None)) == 3


def test_rerun_runs_every_time_again_as_new_runs(tmp_path):
    marks = tmp_path / "marks"
    marks.mkdir()
    path = write(tmp_path, "flaky", FLAKY_FLOW)
    db = tmp_path / "h.db"
    args = ("backfill", path, "--start", "2024-05-01", "--end", "2024-05-02", "--db", db)
    env = {"MARKS": str(marks)}
    assert dagshift(*args, cwd=tmp_path, env=env).returncode == 0
    assert dagshift(*args, "--rerun", cwd=tmp_path, env=env).returncode == 0
    assert len(Store(db).list_runs("flaky", limit=None)) == 4
    assert (marks / "count-2024-05-01").read_text() == "xx"


def one_line_error(out):
    assert out.returncode == 2, out.stdout + out.stderr
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1, out.stderr
    return lines[0]


def test_an_unparseable_schedule_names_the_file_and_records_nothing(tmp_path):
    path = write(
        tmp_path,
        "bad",
        """
        from dagshift import Flow, task

        @task
        def work():
            return 1

        with Flow("bad", schedule="every monday") as flow:
            work()
        """,
    )
    db = tmp_path / "h.db"
    out = dagshift("backfill", path, "--start", "2024-01-01", "--end", "2024-01-02", "--db", db,
                   cwd=tmp_path)  # fmt: skip
    line = one_line_error(out)
    assert str(path.resolve()) in line and "cannot parse schedule 'every monday'" in line
    assert "five cron fields" in line
    assert Store(db).list_runs() == []


def test_an_unknown_flow_and_a_bad_date_say_what_to_do(tmp_path):
    db = tmp_path / "h.db"
    out = dagshift("backfill", "nightly", "--start", "2024-01-01", "--end", "2024-01-02",
                   "--db", db, cwd=tmp_path)  # fmt: skip
    line = one_line_error(out)
    assert "flow 'nightly' is not registered" in line and "dagshift register FILE" in line

    path = write(tmp_path, "flaky", FLAKY_FLOW)
    out = dagshift("backfill", path, "--start", "first of May", "--end", "2024-05-02",
                   "--db", db, cwd=tmp_path, env={"MARKS": str(tmp_path)})  # fmt: skip
    assert "cannot read 'first of May' as a date" in one_line_error(out)
    assert Store(db).list_runs() == []


def test_a_file_with_several_flows_asks_for_a_name(tmp_path):
    path = write(
        tmp_path,
        "two",
        """
        from dagshift import Flow, task

        @task
        def work():
            return 1

        with Flow("a", schedule="@daily"):
            work()
        with Flow("b", schedule="@daily"):
            work()
        """,
    )
    db = tmp_path / "h.db"
    out = dagshift("backfill", path, "--start", "2024-01-01", "--end", "2024-01-01", "--db", db,
                   cwd=tmp_path)  # fmt: skip
    assert "defines 2 flows (a, b)" in one_line_error(out)
    out = dagshift("backfill", "b", "--path", path, "--start", "2024-01-01", "--end",
                   "2024-01-01", "--json", "--db", db, cwd=tmp_path)  # fmt: skip
    assert out.returncode == 0, out.stderr
    assert [r["logical_date"] for r in json.loads(out.stdout)["runs"]] == [
        "2024-01-01T00:00:00+00:00"
    ]


def test_backfill_of_an_unmodified_legacy_dag_file_gives_each_run_its_date(tmp_path):
    marks = tmp_path / "marks"
    marks.mkdir()
    path = tmp_path / "legacy.py"
    path.write_text(LEGACY_DAG)
    out = dagshift("backfill", path, "--start", "2023-12-30", "--end", "2024-01-31", "--json",
                   "--db", tmp_path / "h.db", cwd=tmp_path, env={"MARKS": str(marks)})  # fmt: skip
    assert out.returncode == 0, out.stderr
    # Only the DAG's own window (start_date 1 January, end_date 3 January) has run times.
    runs = json.loads(out.stdout)["runs"]
    assert [r["logical_date"][:10] for r in runs] == ["2024-01-01", "2024-01-02", "2024-01-03"]
    assert sorted(p.name for p in marks.iterdir()) == [
        "ds-2024-01-01",
        "ds-2024-01-02",
        "ds-2024-01-03",
    ]


def test_an_unreadable_result_of_an_unfinished_time_stops_the_backfill_until_told(tmp_path):
    marks = tmp_path / "marks"
    marks.mkdir()
    env = {"MARKS": str(marks)}
    path = write(tmp_path, "flaky", FLAKY_FLOW)
    db = tmp_path / "h.db"
    (marks / "fail-2024-05-01").write_text("")
    args = ("backfill", path, "--start", "2024-05-01", "--end", "2024-05-01", "--db", db)
    assert dagshift(*args, cwd=tmp_path, env=env).returncode == 1
    [run] = Store(db).list_runs()
    first = next(t for t in Store(db).task_runs(run["run_id"]) if t["result_uri"])
    uri = spoil_result(db, run["run_id"], first["task_id"], b"\x80garbage")
    (marks / "fail-2024-05-01").unlink()
    line = one_line_error(dagshift(*args, cwd=tmp_path, env=env))
    assert uri in line and "--rerun-unreadable" in line
    assert (marks / "count-2024-05-01").read_text() == "x"  # nothing ran
    out = dagshift(*args, "--rerun-unreadable", cwd=tmp_path, env=env)
    assert out.returncode == 0, out.stderr
    assert (marks / "count-2024-05-01").read_text() == "xx"
    assert [r["state"] for r in Store(db).list_runs()] == ["success"]  # the same run, finished


# `hold` waits (up to 60 s) for the file `go`; each run leaves a mark named after its date.
GATED_FLOW = """
import os, time
from pathlib import Path
from dagshift import Flow, task, get_run_context

MARKS = Path(os.environ["MARKS"])

@task
def hold():
    ds = get_run_context()["ds"]
    (MARKS / f"ran-{ds}").write_text("")
    deadline = time.monotonic() + 60
    while not (MARKS / "go").exists() and time.monotonic() < deadline:
        time.sleep(0.01)
    return ds

with Flow("gated", schedule="@daily", max_active_runs=1) as flow:
    hold()
"""


def test_a_queued_backfill_run_cancelled_from_another_process_is_not_started_later(tmp_path):
    marks = tmp_path / "marks"
    marks.mkdir()
    path = write(tmp_path, "gated", GATED_FLOW)
    db = tmp_path / "h.db"
    env = {"MARKS": str(marks)}
    args = ("backfill", path, "--start", "2024-06-01", "--end", "2024-06-03", "--json")
    proc = spawn(*args, "--db", db, cwd=tmp_path, env=env)
    try:
        wait_for(lambda: (marks / "ran-2024-06-01").exists(), 60, "the first run to start")
        store = Store(db)
        queued = {r["logical_date"][:10]: r for r in store.list_runs() if r["state"] == "queued"}
        assert sorted(queued) == ["2024-06-02", "2024-06-03"]  # one run at a time
        run_id = queued["2024-06-02"]["run_id"]  # the next one the backfill would start
        cancel = dagshift("runs", "cancel", run_id, "--db", db, cwd=tmp_path)
        assert cancel.returncode == 0 and "cancelled" in cancel.stderr, cancel.stderr
        (marks / "go").write_text("")
        out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 1, err  # not every time ran
    states = {r["logical_date"][:10]: r["state"] for r in json.loads(out)["runs"]}
    assert states == {"2024-06-01": "success", "2024-06-02": "cancelled", "2024-06-03": "success"}
    assert store.get_run(run_id)["state"] == "cancelled"
    assert store.task_runs(run_id) == []  # nothing of it ran
    assert not (marks / "ran-2024-06-02").exists() and (marks / "ran-2024-06-03").exists()
    assert f"run {run_id} is cancelled" in err
