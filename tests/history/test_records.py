"""Recorded runs: results kept with their records, many runs recording at once."""

import subprocess
import sys
import threading
import time

import pytest

from dagshift import Flow, task
from dagshift.history.checkpoint import INLINE_LIMIT, ResultStore, load_completed, run_recorded
from dagshift.history.store import Store, StoreError
from tests.history.conftest import HOLD_LOCK, wait_for


@task
def small():
    return {"rows": [1, 2, 3]}


@task
def large():
    return b"x" * (INLINE_LIMIT + 1)


@task
def size(a, b):
    return len(a["rows"]) + len(b)


@pytest.fixture
def store(tmp_path):
    s = Store(tmp_path / "h.db")
    yield s
    s.close()


def _flow() -> Flow:
    with Flow("sizes") as flow:
        size(small(), large())
    return flow


def test_a_small_result_stays_in_the_database_and_a_large_one_goes_to_a_file(store):
    results = ResultStore.beside(store.path)
    run = run_recorded(store, results, _flow())
    uris = {t["task_id"]: t["result_uri"] for t in store.task_runs(run.run_id)}
    assert uris["small"] == "db:" and uris["size"] == "db:"
    assert uris["large"].startswith(str(store.path.parent / "results" / run.run_id))
    done = load_completed(store, results, run.run_id)
    assert done["small"].result == {"rows": [1, 2, 3]}
    assert done["large"].result == b"x" * (INLINE_LIMIT + 1)
    assert done["size"].result == 3 + INLINE_LIMIT + 1


def test_a_named_results_location_holds_every_result(store, tmp_path, monkeypatch):
    monkeypatch.setenv("DAGSHIFT_RESULTS", str(tmp_path / "elsewhere"))
    results = ResultStore.beside(store.path)
    run = run_recorded(store, results, _flow())
    files = sorted(p.name for p in (tmp_path / "elsewhere" / run.run_id).iterdir())
    assert files == ["large.pkl", "size.pkl", "small.pkl"]
    assert load_completed(store, results, run.run_id)["small"].result == {"rows": [1, 2, 3]}


def test_a_result_is_the_value_the_task_returned_even_if_a_later_task_changes_it(store):
    @task
    def rows():
        return [1, 2]

    @task
    def grow(xs):
        xs.append(3)  # a task that mutates what it was given
        return len(xs)

    with Flow("mutating") as flow:
        grow(rows())
    run = run_recorded(store, ResultStore.beside(store.path), flow)
    assert load_completed(store, ResultStore.beside(store.path), run.run_id)["rows"].result == [
        1,
        2,
    ]


def test_two_hundred_runs_recorded_at_once_all_record_every_task(store):
    @task
    def one():
        return 1

    @task
    def inc(x):
        return x + 1

    with Flow("chain") as flow:
        ref = one()
        for _ in range(4):
            ref = inc(ref)
    results = ResultStore.beside(store.path)
    runs = []
    threads = [
        threading.Thread(target=lambda: runs.append(run_recorded(store, results, flow)))
        for _ in range(200)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len({r.run_id for r in runs}) == 200
    for run in runs:
        recorded = store.task_runs(run.run_id)
        assert [t["state"] for t in recorded] == ["success"] * 5
        assert load_completed(store, results, run.run_id)["inc__3"].result == 5
    assert {r["state"] for r in store.list_runs(limit=None)} == {"success"}


def test_a_run_is_in_the_history_as_running_while_its_first_task_still_runs(store):
    release = threading.Event()

    @task
    def waits():
        assert release.wait(30)
        return 1

    with Flow("slow_start") as flow:
        waits()
    results = ResultStore.beside(store.path)
    runs = []
    worker = threading.Thread(target=lambda: runs.append(run_recorded(store, results, flow)))
    worker.start()
    try:
        other = Store(store.path)  # what another process (`dagshift runs`) sees
        deadline = time.monotonic() + 10
        while not other.list_runs("slow_start") and time.monotonic() < deadline:
            time.sleep(0.005)
        [row] = other.list_runs("slow_start")
        assert row["state"] == "running" and store.task_runs(row["run_id"]) == []
        other.close()
    finally:
        release.set()
        worker.join()
    assert store.get_run(runs[0].run_id)["state"] == "success"


def test_a_history_that_cannot_be_written_stops_a_run_before_any_task_runs(tmp_path):
    db = tmp_path / "h.db"
    store = Store(db, timeout=0.2)  # opened (and its flows registered) before the lock
    ran = []

    @task
    def side_effect():
        ran.append(1)

    with Flow("never") as flow:
        side_effect()
    store.register(flow)
    locked, release = tmp_path / "locked", tmp_path / "release"
    holder = subprocess.Popen([sys.executable, "-c", HOLD_LOCK, str(db), str(locked), str(release)])
    try:
        wait_for(locked.exists, what="another process to lock the database")
        with pytest.raises(StoreError, match="stayed locked"):
            run_recorded(store, ResultStore.beside(db), flow)
    finally:
        release.write_text("")
        holder.wait(timeout=10)
    assert ran == []
    assert Store(db).list_runs() == []


def test_an_outlet_added_to_a_task_between_two_runs_of_one_flow_gets_its_event(store):
    from dagshift.history.assets import events_of
    from dagshift.runtime.assets import Asset

    @task(outlets=[])
    def publish():
        return 1

    with Flow("publisher") as flow:
        publish()
    results = ResultStore.beside(store.path)
    run_recorded(store, results, flow)
    assert events_of(store, "s3://bucket/daily") == []
    flow.get_task("publish").meta["outlets"].append(Asset("s3://bucket/daily"))
    second = run_recorded(store, results, flow)
    assert [e["run_id"] for e in events_of(store, "s3://bucket/daily")] == [second.run_id]
