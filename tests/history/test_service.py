"""`dagshift serve`: runs start when due (a clock the test moves), within max_active_runs and a
global limit; files are picked up as they change; SIGTERM/SIGINT stop it with a grace period."""

import json
import os
import signal
import subprocess
import sys
import textwrap
import threading
from datetime import datetime, timedelta

import pendulum
import pytest

from dagshift.history.service import Service
from dagshift.history.store import Store

from .conftest import (
    HOLD_LOCK,
    LEGACY_DAG,
    FakeClock,
    counts,
    dagshift,
    spawn,
    wait_for,
    write_gated,
)


def utc(*args):
    return pendulum.datetime(*args, tz="UTC")


def flow_file(folder, name, schedule, body="return 1", **flow_options):
    path = folder / f"{name}.py"
    options = "".join(f", {k}={v!r}" for k, v in flow_options.items())
    path.write_text(textwrap.dedent(f"""
            import datetime
            from dagshift import Flow, task

            @task
            def work():
                {body}

            with Flow({name!r}, schedule={schedule!r}{options}) as flow:
                work()
            """))
    return path


@pytest.fixture
def service(tmp_path):
    made = []
    morning = utc(2024, 1, 10, 10, 30)

    def make(*paths, start=morning, **options):
        store = Store(tmp_path / "history" / "dagshift.db")
        clock = FakeClock(start)
        svc = Service(
            paths or [tmp_path / "flows"], store, clock=clock, poll=0, log=print, **options
        )
        made.append(svc)
        return svc, clock, store

    (tmp_path / "flows").mkdir()
    yield make
    for svc in made:
        svc.shutdown()


def dates(store, flow):
    return sorted(r["logical_date"] for r in store.list_runs(flow, limit=None))


def test_a_run_starts_at_its_time_not_before(tmp_path, service, capsys):
    flow_file(tmp_path / "flows", "hourly", "@hourly")
    svc, clock, store = service()
    assert svc.tick() == []
    assert "schedule: @hourly, next run 2024-01-10T11:00:00+00:00" in capsys.readouterr().out
    clock.set(utc(2024, 1, 10, 10, 59, 59))
    assert svc.tick() == []
    clock.set(utc(2024, 1, 10, 11, 0))
    [run_id] = svc.tick()
    assert svc.wait_idle()
    run = store.get_run(run_id)
    assert run["logical_date"] == "2024-01-10T11:00:00+00:00"
    assert run["trigger"] == "scheduled" and run["state"] == "success"
    assert svc.tick() == []  # not twice


def test_catchup_runs_every_missed_time_from_the_start_date(tmp_path, service):
    flow_file(tmp_path / "flows", "daily", "@daily", start_date=datetime(2024, 1, 7), catchup=True)
    svc, clock, store = service()
    assert len(svc.tick()) == 4  # 7, 8, 9, 10 January, concurrently
    assert svc.wait_idle()
    assert dates(store, "daily") == [f"2024-01-{d:02d}T00:00:00+00:00" for d in (7, 8, 9, 10)]


def test_without_catchup_a_restart_runs_only_the_latest_missed_time(tmp_path, service):
    flow_file(tmp_path / "flows", "daily", "@daily")
    svc, clock, store = service()
    assert svc.tick() == []  # new flow: it starts from now, not from the past
    clock.set(utc(2024, 1, 11))
    assert len(svc.tick()) == 1 and svc.wait_idle()
    svc.shutdown()
    # The service was down for three days; a new one reads where scheduling stood.
    again, clock2, _ = service(start=utc(2024, 1, 14, 6))
    assert len(again.tick()) == 1 and again.wait_idle()
    assert dates(store, "daily") == ["2024-01-11T00:00:00+00:00", "2024-01-14T00:00:00+00:00"]


def test_a_new_flow_with_a_past_start_date_and_no_catchup_runs_its_latest_time_at_once(
    tmp_path, service
):
    flow_file(tmp_path / "flows", "daily", "@daily", start_date=datetime(2024, 1, 1))
    svc, clock, store = service()  # 10 January, 10:30
    assert len(svc.tick()) == 1 and svc.wait_idle()
    assert dates(store, "daily") == ["2024-01-10T00:00:00+00:00"]
    assert svc.tick() == []


def test_a_start_date_in_the_future_holds_the_first_run_until_then(tmp_path, service):
    flow_file(tmp_path / "flows", "hourly", "@hourly", start_date=datetime(2024, 1, 12, 8))
    svc, clock, store = service()
    clock.set(utc(2024, 1, 12, 7, 59))
    assert svc.tick() == []
    clock.set(utc(2024, 1, 12, 8))
    assert len(svc.tick()) == 1 and svc.wait_idle()
    assert dates(store, "hourly") == ["2024-01-12T08:00:00+00:00"]


def test_max_active_runs_holds_back_runs_until_one_finishes(tmp_path, service, monkeypatch):
    marks = tmp_path / "marks"
    marks.mkdir()
    monkeypatch.setenv("MARKS", str(marks))
    write_gated(
        tmp_path / "flows",
        schedule="@daily",
        start_date=datetime(2024, 1, 8),
        catchup=True,
        max_active_runs=2,
    )
    svc, clock, store = service()
    assert len(svc.tick()) == 2
    wait_for(lambda: counts(marks).get("second") == 2, what="two runs at the gate")
    assert svc.tick() == [] and len(svc.active_runs) == 2
    (marks / "second.release").write_text("")
    assert svc.wait_idle()
    assert len(svc.tick()) == 1 and svc.wait_idle()
    runs = store.list_runs("gated")
    assert sorted(r["logical_date"][:10] for r in runs) == [
        "2024-01-08",
        "2024-01-09",
        "2024-01-10",
    ]
    assert {r["state"] for r in runs} == {"success"}


def test_the_global_limit_spans_flows_and_the_oldest_due_run_goes_first(tmp_path, service):
    release = tmp_path / "release"
    hold = (
        f"while not __import__('os').path.exists({str(release)!r}): __import__('time').sleep(0.01)"
    )
    for name in ("a", "b", "c"):
        flow_file(tmp_path / "flows", name, "@daily", body=hold, start_date=datetime(2024, 1, 9),
                  catchup=True)  # fmt: skip
    svc, clock, store = service(max_runs=2)

    def flows(run_ids):
        return [(store.get_run(r)["flow"], store.get_run(r)["logical_date"][:10]) for r in run_ids]

    assert flows(svc.tick()) == [("a", "2024-01-09"), ("b", "2024-01-09")]
    assert svc.tick() == []  # both slots taken
    release.write_text("")
    assert svc.wait_idle()
    # c has waited since the 9th: it goes before the 10th of a and b.
    assert flows(svc.tick())[0] == ("c", "2024-01-09")
    while svc.wait_idle() and svc.tick():
        pass
    assert sum(len(dates(store, n)) for n in "abc") == 6


def test_two_services_on_one_database_start_each_due_time_once(tmp_path, service, capsys):
    flow_file(tmp_path / "flows", "daily", "@daily", start_date=datetime(2024, 1, 8), catchup=True)
    one, clock, store = service()
    two, clock2, _ = service()
    one.scan()
    two.scan()  # both have read the flow before either starts a run
    started = one.tick() + two.tick()
    assert one.wait_idle() and two.wait_idle()
    assert len(started) == 3  # 8, 9 and 10 January, each by one of them
    assert dates(store, "daily") == [f"2024-01-{d:02d}T00:00:00+00:00" for d in (8, 9, 10)]
    assert "was already started" in capsys.readouterr().out


def test_changed_new_broken_and_deleted_files_are_picked_up(tmp_path, service):
    folder = tmp_path / "flows"
    path = flow_file(folder, "report", "@daily")
    svc, clock, store = service()
    svc.tick()
    assert [v["version"] for v in store.versions("report")] == [1]
    flow_file(folder, "report", "@hourly", body="return 2")  # new code, new schedule
    os.utime(path, ns=(1, 1))  # a distinct stamp even on a coarse clock
    svc.tick()
    assert [v["version"] for v in store.versions("report")] == [1, 2]
    clock.set(utc(2024, 1, 10, 11))
    assert len(svc.tick()) == 1  # hourly now
    flow_file(folder, "extra", "@hourly")
    path.write_text("from dagshift import Flow\ndef broken(:\n")  # still a flow file, broken
    clock.set(utc(2024, 1, 10, 12))
    assert len(svc.tick()) == 2  # the broken file keeps its flow; the new file is scheduled
    assert "syntax error" in svc.errors[path.resolve()]
    svc.wait_idle()
    path.unlink()
    clock.set(utc(2024, 1, 10, 13))
    started = svc.tick()
    assert [store.get_run(r)["flow"] for r in started] == ["extra"]
    svc.wait_idle()


def test_a_database_locked_by_another_process_delays_runs_and_loses_none(tmp_path, capsys):
    (tmp_path / "flows").mkdir()
    flow_file(tmp_path / "flows", "hourly", "@hourly")
    db = tmp_path / "h.db"
    store = Store(db, timeout=0.2)
    clock = FakeClock(utc(2024, 1, 10, 10, 30))
    svc = Service([tmp_path / "flows"], store, clock=clock, poll=0, log=print)
    locked, release = tmp_path / "locked", tmp_path / "release"
    args = [sys.executable, "-c", HOLD_LOCK, str(db), str(locked), str(release)]

    def hold():
        holder = subprocess.Popen(args)
        wait_for(locked.exists, what="another process to lock the database")
        return holder

    def free(holder):
        release.write_text("")
        holder.wait(timeout=10)
        locked.unlink()
        release.unlink()

    holder = hold()
    try:
        assert svc.tick() == []  # the flow cannot be registered yet
        assert "stayed locked" in capsys.readouterr().out
    finally:
        free(holder)
    clock.set(utc(2024, 1, 10, 11))
    [first] = svc.tick()  # loaded now, and its 11:00 run starts
    assert svc.wait_idle()

    clock.set(utc(2024, 1, 10, 12))
    holder = hold()
    try:
        assert svc.tick() == []  # due, but the run cannot be recorded
        assert "cannot start a run of 'hourly'" in capsys.readouterr().out
    finally:
        free(holder)
    clock.set(utc(2024, 1, 10, 12, 20))
    [second] = svc.tick()  # the 12:00 run, late but not lost
    assert svc.wait_idle()
    assert [store.get_run(r)["logical_date"][11:16] for r in (first, second)] == ["11:00", "12:00"]
    svc.shutdown()


def test_an_unparseable_schedule_is_logged_and_the_other_flows_go_on(tmp_path, service, capsys):
    flow_file(tmp_path / "flows", "bad", "every day")
    flow_file(tmp_path / "flows", "good", "@hourly")
    svc, clock, store = service()
    svc.tick()
    assert "flow 'bad': cannot parse schedule 'every day'" in capsys.readouterr().out
    clock.set(utc(2024, 1, 10, 11))
    assert len(svc.tick()) == 1 and svc.wait_idle()


def test_a_schedule_broken_by_an_edit_keeps_the_last_good_one(tmp_path, service, capsys):
    path = flow_file(tmp_path / "flows", "hourly", "@hourly")
    svc, clock, store = service()
    svc.tick()
    flow_file(tmp_path / "flows", "hourly", "every hour")
    os.utime(path, ns=(1, 1))
    svc.tick()
    assert "cannot parse schedule 'every hour'" in capsys.readouterr().out
    clock.set(utc(2024, 1, 10, 11))
    assert len(svc.tick()) == 1 and svc.wait_idle()  # still hourly
    assert [v["version"] for v in store.versions("hourly")] == [1]


def test_the_service_sleeps_until_the_next_due_time(tmp_path, service):
    flow_file(tmp_path / "flows", "hourly", "@hourly")
    svc, clock, store = service(start=utc(2024, 1, 10, 10, 59, 58))
    svc.poll = 60
    svc.tick()
    assert svc.next_wakeup() == pytest.approx(2.0)


def test_a_flow_with_no_free_slot_does_not_wake_the_service_before_a_run_ends(
    tmp_path, service, monkeypatch
):
    marks = tmp_path / "marks"
    marks.mkdir()
    monkeypatch.setenv("MARKS", str(marks))
    write_gated(tmp_path / "flows", schedule="@hourly", start_date=datetime(2024, 1, 10),
                catchup=True, max_active_runs=1)  # fmt: skip
    svc, clock, store = service()
    svc.poll = 60
    assert len(svc.tick()) == 1  # 00:00; ten more are due but the one slot is taken
    assert svc.next_wakeup() == 60  # not 0: that would spin until the run ends
    (marks / "second.release").write_text("")
    svc.wait_idle()
    assert svc.next_wakeup() == 0


class PatientClock(FakeClock):
    """Time stands still, and waits last as long as asked unless something wakes them."""

    def wait(self, seconds, wake):
        self.waits.append(seconds)
        wake.wait(seconds)


def test_a_waiting_run_starts_as_soon_as_the_run_before_it_ends(tmp_path):
    flow_file(tmp_path, "daily", "@daily", start_date=datetime(2024, 1, 7), catchup=True,
              max_active_runs=1)  # fmt: skip
    store = Store(tmp_path / "h.db")
    svc = Service([tmp_path / "daily.py"], store, clock=PatientClock(utc(2024, 1, 10, 10, 30)),
                  poll=600, log=print)  # fmt: skip
    thread = threading.Thread(target=svc.serve, kwargs={"install_signals": False})
    thread.start()
    try:
        # One at a time, four runs: each starts when the last ends, not at the next file scan
        # ten minutes later.
        wait_for(lambda: len(store.list_runs("daily", state="success")) == 4, timeout=30,
                 what="four runs one after another")  # fmt: skip
    finally:
        svc.stop()
        thread.join(30)
    assert not thread.is_alive()
    assert dates(store, "daily") == [f"2024-01-{d:02d}T00:00:00+00:00" for d in (7, 8, 9, 10)]


# ------------------------------------------------------------ real process, real signals
@pytest.fixture
def served(tmp_path):
    marks = tmp_path / "marks"
    marks.mkdir()
    folder = tmp_path / "flows"
    folder.mkdir()
    day = pendulum.now("UTC").subtract(days=2)
    start = datetime(day.year, day.month, day.day)
    write_gated(folder, schedule="@daily", start_date=start, catchup=True, max_active_runs=1)
    return folder, marks, {"MARKS": str(marks)}, tmp_path / "h.db"


def test_sigterm_lets_the_running_run_finish_and_starts_no_more(tmp_path, served):
    folder, marks, env, db = served
    proc = spawn(
        "serve", folder, "--db", db, "--poll", "0.1", "--grace", "20", cwd=tmp_path, env=env
    )
    wait_for(lambda: (marks / "second.started").exists(), what="the first run to start")
    proc.send_signal(signal.SIGTERM)
    wait_for(lambda: "SIGTERM received" in _stderr_so_far(proc, tmp_path), what="the stop")
    (marks / "second.release").write_text("")
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err
    [run] = Store(db).list_runs("gated")  # three runs were due; one at a time; one ran
    assert run["state"] == "success" and run["trigger"] == "scheduled", proc._seen + err
    assert counts(marks) == {"first": 1, "side": 1, "second": 1, "third": 1}


def _stderr_so_far(proc, tmp_path):
    """What the service logged so far, read from the pipe without blocking.

    Raw reads of the descriptor: a buffered readline could pull the awaited line into Python's
    buffer, where select() no longer sees it.
    """
    import select

    buf = getattr(proc, "_seen", "")
    fd = proc.stderr.fileno()
    while select.select([fd], [], [], 0)[0]:
        chunk = os.read(fd, 65536)
        if not chunk:
            break
        buf += chunk.decode(errors="replace")
    proc._seen = buf
    return buf


def test_sigint_past_the_grace_period_records_the_run_as_interrupted(tmp_path, served):
    folder, marks, env, db = served
    proc = spawn(
        "serve", folder, "--db", db, "--poll", "0.1", "--grace", "0.2", cwd=tmp_path, env=env
    )
    wait_for(lambda: (marks / "second.started").exists(), what="the first run to start")
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err
    [run] = Store(db).list_runs("gated")
    assert run["state"] == "interrupted" and "SIGINT" in run["message"]
    assert f"dagshift run --resume {run['run_id']}" in err
    (marks / "second.release").write_text("")
    resumed = dagshift(
        "run", "--resume", run["run_id"], "--json", "--db", db, cwd=tmp_path, env=env
    )
    assert resumed.returncode == 0, resumed.stderr
    assert json.loads(resumed.stdout)["gated"]["state"] == "success"
    assert counts(marks) == {"first": 1, "side": 1, "second": 2, "third": 1}


def test_timedelta_interval_schedules_run_on_the_interval(tmp_path, service):
    flow_file(tmp_path / "flows", "every6", timedelta(hours=6))
    svc, clock, store = service()
    clock.set(utc(2024, 1, 10, 12))
    assert len(svc.tick()) == 1 and svc.wait_idle()
    clock.set(utc(2024, 1, 10, 17, 59))
    assert svc.tick() == []
    clock.set(utc(2024, 1, 10, 18))
    assert len(svc.tick()) == 1 and svc.wait_idle()


def test_a_second_signal_stops_waiting_for_the_grace_period(tmp_path, served):
    folder, marks, env, db = served
    proc = spawn("serve", folder, "--db", db, "--poll", "0.1", "--grace", "600", cwd=tmp_path,
                 env=env)  # fmt: skip
    try:
        wait_for(lambda: (marks / "second.started").exists(), what="the first run to start")
        proc.send_signal(signal.SIGINT)
        wait_for(lambda: "signal again to stop waiting" in _stderr_so_far(proc, tmp_path),
                 what="the service to wait for its run")  # fmt: skip
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=30)  # not ten minutes
    finally:
        (marks / "second.release").write_text("")
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 0, err
    [run] = Store(db).list_runs("gated")
    assert run["state"] == "interrupted"
    assert run["message"] == "interrupted: SIGINT received, and again within the 600s grace period"


PID_FLOW = """
import os
from datetime import datetime
from pathlib import Path
from dagshift import Flow, task

@task
def where():
    pid = os.getpid()
    with open(Path(os.environ["MARKS"]) / "pids", "a") as fh:
        fh.write(f"{pid}\\n")
    return pid

with Flow("pids", schedule="@daily", start_date=datetime(2024, 1, 1),
          end_date=datetime(2024, 1, 2), catchup=True) as flow:
    where()
"""


def _serve_until(tmp_path, folder, marks, db, *extra, runs, timeout=60):
    """Run `dagshift serve` until ``runs`` runs succeeded, then stop it with SIGTERM."""
    proc = spawn("serve", folder, "--db", db, "--poll", "0.1", *extra, cwd=tmp_path,
                 env={"MARKS": str(marks)})  # fmt: skip
    try:
        wait_for(
            lambda: db.exists()
            and len(Store(db).list_runs(state="success")) >= runs
            or proc.poll() is not None,
            timeout=timeout,
            what=f"{runs} successful runs",
        )
    finally:
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    return proc, err


def test_serve_schedules_an_unmodified_legacy_airflow_dag(tmp_path):
    marks, folder = tmp_path / "marks", tmp_path / "dags"
    marks.mkdir()
    folder.mkdir()
    (folder / "legacy.py").write_text(LEGACY_DAG)
    db = tmp_path / "h.db"
    _, err = _serve_until(tmp_path, folder, marks, db, runs=3)
    runs = Store(db).list_runs("legacy_daily", limit=None)
    assert sorted(r["logical_date"] for r in runs) == [
        "2024-01-01T00:00:00+00:00",
        "2024-01-02T00:00:00+00:00",
        "2024-01-03T00:00:00+00:00",
    ]
    assert {(r["state"], r["trigger"], r["version"]) for r in runs} == {("success", "scheduled", 1)}
    assert sorted(p.name for p in marks.iterdir()) == ["ds-2024-01-01", "ds-2024-01-02",
                                                        "ds-2024-01-03"]  # fmt: skip
    assert "loaded 'legacy_daily'" in err


def test_serve_runs_tasks_on_a_local_cluster_started_once(tmp_path):
    pytest.importorskip("distributed")
    marks, folder = tmp_path / "marks", tmp_path / "flows"
    marks.mkdir()
    folder.mkdir()
    (folder / "pids.py").write_text(PID_FLOW)
    db = tmp_path / "h.db"
    proc, err = _serve_until(tmp_path, folder, marks, db, "--cluster", "local:1", runs=2,
                             timeout=120)  # fmt: skip
    pids = set((marks / "pids").read_text().split())
    assert len(pids) == 1 and str(proc.pid) not in pids  # one worker process, not the service
    store = Store(db)
    for run in store.list_runs("pids"):
        [task] = store.task_runs(run["run_id"])
        assert task["state"] == "success" and task["result_uri"]  # checkpointed from the cluster
    assert err.count("running tasks on local:1") == 1
