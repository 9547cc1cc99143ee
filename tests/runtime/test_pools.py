"""Pools: slots shared by every run of the process, as Airflow's pools and pool_slots.

Airflow's scheduler (3.3 and 2.11, ``SchedulerJobRunner._executable_task_instances_to_queued``)
is the behaviour matched: "Tasks using non-existent pool '%s' will not be scheduled" and "Not
executing %s. Requested pool slots (%s) are greater than total pool slots" -- the task stays
scheduled until the pool changes. ``dag.test()`` ignores pools (tests/oracle/test_pools_oracle.py).
"""

from __future__ import annotations

import json
import threading
import time

import pytest

from dagshift import Flow, task
from dagshift.runtime import pools
from dagshift.runtime.pools import PoolError


@pytest.fixture(autouse=True)
def pools_file(tmp_path, monkeypatch):
    path = tmp_path / "pools.json"
    monkeypatch.setenv(pools.ENV_POOLS, str(path))
    monkeypatch.delenv(pools.ENV_SLOTS, raising=False)
    return path


def _spans_flow(name: str, spans: list, lock: threading.Lock, **options) -> Flow:
    @task(**options)
    def work(i):
        start = time.monotonic()
        time.sleep(0.02)  # long enough for another run's task to start meanwhile, if allowed
        with lock:
            spans.append((start, time.monotonic()))
        return i

    with Flow(name) as flow:
        for i in range(3):
            work.override(task_id=f"work_{i}")(i)
    return flow


def _overlaps(spans: list) -> int:
    spans = sorted(spans)
    return sum(1 for a, b in zip(spans, spans[1:], strict=False) if b[0] < a[1])


def _at_once(flows_and_dates) -> list:
    out: list = []
    threads = [
        threading.Thread(target=lambda f=f, d=d: out.append(f.run(logical_date=d)))
        for f, d in flows_and_dates
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    return out


def test_two_concurrent_runs_sharing_a_one_slot_pool_never_overlap():
    pools.set_pool("one", 1)
    spans: list = []
    lock = threading.Lock()
    first = _spans_flow("first", spans, lock, pool="one")
    second = _spans_flow("second", spans, lock, pool="one")
    runs = _at_once([(first, "2024-01-01"), (second, "2024-01-02")])
    assert [r.state for r in runs] == ["success", "success"]
    assert len(spans) == 6
    assert _overlaps(spans) == 0


def test_the_same_runs_without_the_pool_do_run_at_once():
    # the control: the flows above can overlap, so no overlap above is the pool's doing
    barrier = threading.Barrier(6, timeout=20)

    @task
    def meet(i):
        return barrier.wait() is not None

    with Flow("met") as flow:
        for i in range(3):
            meet.override(task_id=f"meet_{i}")(i)
    runs = _at_once([(flow, "2024-01-01"), (flow, "2024-01-02")])
    assert [r.state for r in runs] == ["success", "success"]


def test_a_task_holds_its_pool_slots_while_it_runs():
    pools.set_pool("three", 3)
    held: list[int] = []
    lock = threading.Lock()

    @task(pool="three", pool_slots=2)
    def heavy(i):
        with lock:
            held.append(pools.in_use("three"))
        time.sleep(0.01)

    @task(pool="three")
    def light(i):
        with lock:
            held.append(pools.in_use("three"))
        time.sleep(0.01)

    with Flow("slots") as flow:
        for i in range(4):
            heavy.override(task_id=f"heavy_{i}")(i)
            light.override(task_id=f"light_{i}")(i)
    assert flow.run().state == "success"
    assert len(held) == 8 and max(held) <= 3
    assert pools.in_use("three") == 0


def test_tasks_naming_no_pool_share_default_pool_which_has_128_slots():
    listed = pools.pools()
    assert listed["default_pool"]["slots"] == 128
    seen: list[int] = []

    @task
    def plain():
        seen.append(pools.in_use("default_pool"))

    with Flow("plain") as flow:
        plain()
    assert flow.run().state == "success"
    assert seen == [1]


def test_a_task_needing_more_slots_than_its_pool_has_waits_until_the_pool_grows(capfd):
    pools.set_pool("small", 2)
    ran = threading.Event()

    @task(pool="small", pool_slots=3)
    def big():
        ran.set()
        return "big"

    with Flow("big") as flow:
        big()
    out: list = []
    runner = threading.Thread(target=lambda: out.append(flow.run()))
    runner.start()
    deadline = time.monotonic() + 20
    err = ""
    while "needs 3 slots of pool 'small', which has 2" not in err:
        assert time.monotonic() < deadline, err
        time.sleep(0.05)
        err += capfd.readouterr().err
    assert "dagshift pools set small 3" in err
    assert not ran.is_set()  # as Airflow's scheduler: not started
    pools.set_pool("small", 3)
    runner.join(20)
    assert out[0].state == "success" and out[0].result("big") == "big"


def test_a_task_waiting_for_a_pool_that_does_not_exist_ends_when_its_run_is_cancelled(capfd):
    @task(pool="nowhere")
    def lost():
        return 1

    with Flow("lost") as flow:
        lost()
    cancel = threading.Event()
    out: list = []
    runner = threading.Thread(target=lambda: out.append(flow.run(cancel=cancel)))
    runner.start()
    deadline = time.monotonic() + 20
    err = ""
    while "pool 'nowhere', which does not exist" not in err:
        assert time.monotonic() < deadline, err
        time.sleep(0.05)
        err += capfd.readouterr().err
    cancel.set()
    runner.join(20)
    assert out[0].state == "cancelled"
    assert out[0]["lost"].state == "cancelled"


def test_the_environment_overrides_the_pools_file(monkeypatch):
    pools.set_pool("api", 4, "the vendor's API")
    monkeypatch.setenv(pools.ENV_SLOTS, "api=1,extra=-1")
    listed = pools.pools()
    assert listed["api"]["slots"] == 1
    assert listed["extra"]["slots"] == -1  # unlimited, as Airflow's -1


def test_set_and_delete_write_the_pools_file_in_airflows_export_shape(pools_file):
    pools.set_pool("etl", 5, "nightly loads")
    assert json.loads(pools_file.read_text()) == {
        "etl": {"slots": 5, "description": "nightly loads", "include_deferred": False}
    }
    assert pools.delete_pool("etl") is True
    assert pools.delete_pool("etl") is False
    with pytest.raises(PoolError, match="default_pool cannot be deleted"):
        pools.delete_pool("default_pool")


@pytest.mark.parametrize(
    "text, message",
    [
        ("{not json", "cannot read the pools file"),
        ('{"etl": {"slots": "four"}}', "pool 'etl': slots must be a whole number"),
        ('{"etl": []}', "pool 'etl' must be"),
    ],
)
def test_a_broken_pools_file_is_named_with_what_to_do(pools_file, text, message):
    pools_file.write_text(text)
    with pytest.raises(PoolError, match=message) as info:
        pools.pools()
    assert str(pools_file) in str(info.value)


def test_a_broken_override_says_how_to_write_it(monkeypatch):
    monkeypatch.setenv(pools.ENV_SLOTS, "api")
    with pytest.raises(PoolError, match="give NAME=SLOTS"):
        pools.pools()


@pytest.mark.parametrize("slots", [0, -1, 1.5, True])
def test_pool_slots_below_one_is_refused_where_the_task_is_defined(slots):
    with pytest.raises(ValueError, match="pool_slots must be a whole number >= 1"):

        @task(pool_slots=slots)
        def t():
            return 1


def test_a_pool_made_smaller_while_its_slots_are_held_gives_out_no_more_than_its_new_size():
    pools.set_pool("shrinking", 3)
    held = [pools.hold("shrinking") for _ in range(3)]
    for h in held:
        h.__enter__()
    pools.set_pool("shrinking", 1)
    assert pools.pools()["shrinking"]["running"] == 3  # running tasks are not stopped
    held[0].__exit__(None, None, None)
    held[1].__exit__(None, None, None)
    assert pools.in_use("shrinking") == 1
    entered = threading.Event()

    def another():
        with pools.hold("shrinking"):
            entered.set()

    waiter = threading.Thread(target=another)
    waiter.start()
    assert not entered.wait(0.3)  # the one slot is still held
    held[2].__exit__(None, None, None)
    waiter.join(10)
    assert entered.is_set()
    assert pools.in_use("shrinking") == 0
    pools.set_pool("shrinking", 2)  # and made larger again: two at once
    both = [pools.hold("shrinking"), pools.hold("shrinking")]
    for h in both:
        h.__enter__()
    assert pools.in_use("shrinking") == 2
    for h in both:
        h.__exit__(None, None, None)


def test_a_pool_of_millions_of_slots_counts_the_slots_its_tasks_hold():
    pools.set_pool("huge", 10_000_000)
    with pools.hold("huge"), pools.hold("huge", 3):
        assert pools.in_use("huge") == 4
    assert pools.in_use("huge") == 0
