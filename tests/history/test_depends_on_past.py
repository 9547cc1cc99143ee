"""``depends_on_past`` over recorded runs: which previous run counts, and a backfill in order.

What Airflow does with a failed past (the task waits without a state, the run stays running) is
pinned against real Airflow in tests/oracle/test_depends_on_past_match_airflow.py; these are the
history's other cases of Airflow's ``PrevDagrunDep``.
"""

import itertools
import threading

import pytest

from dagshift import Flow, task
from dagshift.history.checkpoint import ResultStore, run_recorded
from dagshift.history.store import Store
from tests.history.conftest import dagshift


@task
def step():
    return "done"


@task
def boom():
    raise ValueError("broken")


@pytest.fixture
def store(tmp_path):
    s = Store(tmp_path / "h.db")
    yield s
    s.close()


def _flow(*tasks, catchup=False, **options) -> Flow:
    with Flow("past", catchup=catchup) as flow:
        for task_id, fn in tasks:
            fn.override(task_id=task_id, **options)()
    return flow


def _waits(store, flow, date, **options):
    """Start a run in a thread; return (its run id, its task states, after it was cancelled)
    if it is still waiting two seconds later, else None."""
    cancel = threading.Event()
    out = {}
    runner = threading.Thread(
        target=lambda: out.update(
            run=run_recorded(
                store,
                ResultStore(store.path.parent / "res"),
                flow,
                logical_date=date,
                cancel=cancel,
                **options,
            )
        )
    )
    runner.start()
    runner.join(2)
    waiting = runner.is_alive()
    cancel.set()
    runner.join(30)
    states = {t: r.state for t, r in out["run"].tasks.items()}
    return states if waiting else None


def _run(store, flow, date, **options):
    run = run_recorded(
        store, ResultStore(store.path.parent / "res"), flow, logical_date=date, **options
    )
    return {t: r.state for t, r in run.tasks.items()}


def test_a_task_new_in_this_version_runs_when_no_earlier_run_had_it(store):
    _run(store, _flow(("old", step)), "2024-01-01")
    both = _flow(("old", step), ("new", step), depends_on_past=True)
    assert _run(store, both, "2024-01-02") == {"old": "success", "new": "success"}


def test_without_ignore_first_depends_on_past_a_new_task_waits(store):
    _run(store, _flow(("old", step)), "2024-01-01")
    both = _flow(
        ("old", step), ("new", step), depends_on_past=True, ignore_first_depends_on_past=False
    )
    assert _waits(store, both, "2024-01-02") == {"old": "success", "new": "cancelled"}


def test_a_failed_later_run_does_not_hold_an_earlier_date(store):
    flow = _flow(("t", step), depends_on_past=True)
    _run(store, _flow(("t", boom)), "2024-01-05")
    assert _run(store, flow, "2024-01-02") == {"t": "success"}
    assert _run(store, flow, "2024-01-03") == {"t": "success"}
    assert _waits(store, flow, "2024-01-06") == {"t": "cancelled"}


def test_with_catchup_a_manual_run_is_not_the_previous_one(store):
    _run(store, _flow(("t", step), catchup=True), "2024-01-01", trigger="scheduled")
    _run(store, _flow(("t", boom), catchup=True), "2024-01-02")  # by hand, and failed
    without = _flow(("t", step), depends_on_past=True)
    assert _waits(store, without, "2024-01-03") == {"t": "cancelled"}
    flow = _flow(("t", step), catchup=True, depends_on_past=True)
    assert _run(store, flow, "2024-01-03", trigger="scheduled") == {"t": "success"}


SLOW_FLOW = """
import time
from dagshift import Flow, task

@task
def slow():
    time.sleep(0.5)
    return "done"

with Flow("slow_past", schedule="@daily", max_active_runs=4,
          default_task_options={"depends_on_past": DEPENDS}) as flow:
    slow()
"""


@pytest.mark.parametrize("depends", [True, False])
def test_a_backfill_runs_a_task_that_depends_on_its_past_one_date_after_the_other(
    depends, tmp_path
):
    path = tmp_path / "slow.py"
    path.write_text(SLOW_FLOW.replace("DEPENDS", str(depends)))
    db = tmp_path / "h.db"
    proc = dagshift(
        "backfill",
        path,
        "--start",
        "2024-01-01",
        "--end",
        "2024-01-04T00:00:00",
        "--max-active",
        "4",
        "--db",
        db,
        "--json",
        cwd=tmp_path,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    store = Store(db)
    runs = sorted(store.list_runs(), key=lambda r: r["logical_date"])
    spans = [store.task_runs(r["run_id"])[0] for r in runs]
    store.close()
    assert [t["state"] for t in spans] == ["success"] * 4
    in_order = all(b["start"] >= a["end"] for a, b in itertools.pairwise(spans))
    assert in_order == depends  # without it, the four runs' tasks overlap


def test_a_task_waiting_on_its_past_is_skipped_when_the_run_times_out(store):
    _run(store, _flow(("t", boom)), "2024-01-01")
    with Flow("past", run_timeout=1) as flow:
        step.override(task_id="t", depends_on_past=True)()
        step.override(task_id="free")()
    run = run_recorded(
        store, ResultStore(store.path.parent / "res"), flow, logical_date="2024-01-02"
    )
    # Airflow's scheduler fails a run past its dagrun_timeout and skips its unfinished tasks
    assert run.state == "failed"
    assert (run["t"].state, run["free"].state) == ("skipped", "success")
    assert "run_timeout" in run["t"].message
