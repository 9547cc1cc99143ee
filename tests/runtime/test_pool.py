"""Runs started at once share one bounded pool of threads for their tasks."""

import threading
import time

import pytest

from dagshift import Flow, task
from dagshift.runtime import pool


@pytest.fixture
def small_pool():
    pool.set_max_threads(4)
    yield 4
    pool.set_max_threads(None)


def test_a_hundred_runs_at_once_run_no_more_task_bodies_at_once_than_the_process_limit(
    small_pool,
):
    ran_on: set[str] = set()
    running, most = [0], [0]
    lock = threading.Lock()

    def body() -> None:
        with lock:
            ran_on.add(threading.current_thread().name)
            running[0] += 1
            most[0] = max(most[0], running[0])
        time.sleep(0.001)
        with lock:
            running[0] -= 1

    @task
    def one():
        body()
        return 1

    @task
    def add(x):
        body()
        return x + 1

    with Flow("ten") as flow:
        ref = one()
        for _ in range(9):
            ref = add(ref)
    states: list[str] = []

    def run():
        states.append(flow.run().state)

    threads = [threading.Thread(target=run) for _ in range(100)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert states == ["success"] * 100
    # The threads that started runs work too (they would only wait), within the same cap.
    assert 1 <= most[0] <= small_pool
    assert len({name for name in ran_on if name.startswith("dagshift-task")}) <= small_pool


def test_max_active_tasks_bounds_one_run_and_sleeping_runs_still_overlap():
    running, most = [0], [0]
    lock = threading.Lock()

    @task
    def nap(i):
        with lock:
            running[0] += 1
            most[0] = max(most[0], running[0])
        time.sleep(0.05)
        with lock:
            running[0] -= 1
        return i

    with Flow("bounded", max_active_tasks=2) as bounded:
        for i in range(6):
            nap.override(task_id=f"nap_{i}")(i)
    start = time.perf_counter()
    assert bounded.run().state == "success"
    assert most[0] == 2 and time.perf_counter() - start >= 0.15  # three waves of two

    with Flow("wide") as wide:
        for i in range(6):
            nap.override(task_id=f"nap_{i}")(i)
    most[0] = 0
    start = time.perf_counter()
    runs = []
    threads = [threading.Thread(target=lambda: runs.append(wide.run())) for _ in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - start
    assert [r.state for r in runs] == ["success"] * 20
    assert most[0] > 16  # 120 sleeping tasks: many at once, not one run's worth
    assert elapsed < 1.0  # in turn they would take 20 x 0.05 s at the very least


def test_a_task_that_runs_a_flow_and_waits_for_it_does_not_block_the_pool(small_pool):
    @task
    def leaf(i):
        return i

    with Flow("inner") as inner:
        for i in range(8):
            leaf.override(task_id=f"leaf_{i}")(i)

    @task
    def outer(i):
        return sum(r.result for r in inner.run().tasks.values()) + i

    with Flow("outer") as flow:
        for i in range(8):  # more waiting tasks than the pool has threads
            outer.override(task_id=f"outer_{i}")(i)
    run = flow.run()
    assert run.state == "success"
    assert run.tasks["outer_3"].result == 28 + 3


def test_a_thread_limit_that_is_not_a_number_says_what_to_give(monkeypatch):
    monkeypatch.setenv("DAGSHIFT_MAX_THREADS", "lots")
    with pytest.raises(ValueError, match="DAGSHIFT_MAX_THREADS='lots': give a whole number"):
        pool.max_threads()
    with pytest.raises(ValueError, match="max_active_tasks must be a whole number"):
        Flow("x", max_active_tasks=0)
