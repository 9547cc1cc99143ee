"""A flow's ``run_timeout`` (Airflow's ``dagrun_timeout``) ends a run as Airflow's scheduler
does (``SchedulerJobRunner._schedule_dag_run`` in 2.11 and 3.3): the run fails and every task
instance not finished by then is set to skipped, a running one too."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest

from dagshift import Flow, task
from dagshift.compat import install
from dagshift.runtime.cancel import cancel_requested
from dagshift.runtime.executor import TIMED_OUT

_LONG = 30.0  # a safety bound only: the body returns as soon as it is told to stop


@task
def first():
    return 1


@task
def waits_to_be_stopped(x):
    stopped = threading.Event()
    while not cancel_requested() and not stopped.wait(0.01):
        pass
    return x + 1


@task
def then(y):
    return y * 10


def test_a_run_past_its_timeout_fails_and_its_unfinished_tasks_are_skipped():
    with Flow("late", run_timeout=timedelta(seconds=0.3)) as flow:
        then(waits_to_be_stopped(first()))
    run = flow.run()
    assert run.state == "failed"
    assert (run.tasks["first"].state, run.tasks["first"].result) == ("success", 1)
    for task_id in ("waits_to_be_stopped", "then"):
        assert run.tasks[task_id].state == "skipped"
        assert run.tasks[task_id].result is None
        assert run.tasks[task_id].message == TIMED_OUT


def test_a_run_that_ends_within_its_timeout_is_not_touched():
    with Flow("in_time", run_timeout=_LONG) as flow:
        then(first())
    run = flow.run()
    assert run.state == "success"
    assert run.result("then") == 10


def test_the_timeout_also_ends_a_run_in_the_synchronous_scheduler():
    with Flow("late_sync", run_timeout=0.3) as flow:
        then(waits_to_be_stopped(first()))
    run = flow.run(scheduler="sync")
    assert run.state == "failed"
    assert [run.tasks[t].state for t in ("first", "waits_to_be_stopped", "then")] == [
        "success",
        "skipped",
        "skipped",
    ]


def test_a_run_timeout_that_is_not_a_duration_is_refused_at_definition():
    with pytest.raises(TypeError, match="run_timeout must be a timedelta or a number of seconds"):
        Flow("bad", run_timeout="an hour")


def test_an_airflow_dag_run_through_the_shim_keeps_its_dagrun_timeout():
    install()
    from airflow import DAG

    dag = DAG("shimmed", schedule=None, dagrun_timeout=timedelta(minutes=5))
    assert dag.flow.run_timeout == timedelta(minutes=5)
