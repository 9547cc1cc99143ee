"""Task callbacks as Airflow calls its on_*_callback: on_execute before each try, on_retry and
on_failure per failed try, on_skipped only for a task that skips itself, lists in order."""

import pytest

from dagshift import Flow, SkipTask, task


def _recorder(calls: list, name: str):
    def record(ctx):
        calls.append((name, ctx["task_id"], ctx["try_number"]))

    return record


def test_on_execute_runs_before_every_try_and_retry_or_failure_after_each():
    calls: list = []
    tries = []

    @task(
        retries=1,
        on_execute=_recorder(calls, "execute"),
        on_retry=_recorder(calls, "retry"),
        on_failure=_recorder(calls, "failure"),
        on_success=_recorder(calls, "success"),
    )
    def flaky():
        tries.append(1)
        raise ValueError("always")

    with Flow("tries") as flow:
        flaky()
    run = flow.run(scheduler="sync")
    assert run.tasks["flaky"].state == "failed"
    assert calls == [
        ("execute", "flaky", 1),
        ("retry", "flaky", 1),
        ("execute", "flaky", 2),
        ("failure", "flaky", 2),
    ]


def test_on_skipped_is_called_for_a_task_that_skips_itself_not_for_those_it_skips():
    calls: list = []
    record = _recorder(calls, "skipped")

    @task(on_skipped=record)
    def skips():
        raise SkipTask("nothing to do")

    @task(on_skipped=record, on_execute=_recorder(calls, "execute"))
    def after(x):
        return x

    with Flow("skips") as flow:
        after(skips())
    run = flow.run(scheduler="sync")
    assert {t: r.state for t, r in run.tasks.items()} == {"skips": "skipped", "after": "skipped"}
    assert calls == [("skipped", "skips", 1)]


def test_a_list_of_callbacks_runs_in_order_and_one_that_raises_stops_no_other():
    calls: list = []

    def broken(ctx):
        raise RuntimeError("broken callback")

    @task(on_success=[_recorder(calls, "first"), broken, _recorder(calls, "third")])
    def fine():
        return "ok"

    with Flow("listed") as flow:
        fine()
    run = flow.run(scheduler="sync")
    assert (run.tasks["fine"].state, run.tasks["fine"].result) == ("success", "ok")
    assert calls == [("first", "fine", 1), ("third", "fine", 1)]


def test_a_callback_option_that_is_not_callable_is_refused_when_the_task_is_made():
    with pytest.raises(TypeError, match="on_failure must be a callable or a list of callables"):

        @task(on_failure="alert")
        def work():
            return 1


def test_a_flows_callbacks_run_once_the_run_ended_with_its_reason_and_no_tasks_keys():
    calls: list = []

    def record(name):
        def callback(ctx):
            calls.append((name, ctx["reason"], ctx["ds"], ctx["dag"].dag_id, "ti" in ctx))

        return callback

    def broken(ctx):
        raise RuntimeError("broken callback")

    @task
    def fails():
        raise ValueError("no")

    with Flow("ok", on_success=record("success"), on_failure=record("failure")) as ok:
        one = task(lambda: 1, name="one")
        one()
    with Flow("bad", on_success=record("success"), on_failure=[broken, record("f2")]) as bad:
        fails()
    assert ok.run(logical_date="2024-01-15", scheduler="sync").state == "success"
    assert bad.run(logical_date="2024-01-15", scheduler="sync").state == "failed"
    assert calls == [
        ("success", "success", "2024-01-15", "ok", False),
        ("f2", "task_failure", "2024-01-15", "bad", False),
    ]


def test_success_callback_on_skip_calls_on_success_after_on_skipped_as_airflow_2_does():
    calls: list = []

    @task(on_skipped=_recorder(calls, "skipped"), on_success=_recorder(calls, "success"))
    def skips():
        raise SkipTask("nothing to do")

    with Flow("two", default_task_options={"success_callback_on_skip": True}) as two:
        skips()
    with Flow("three") as three:
        skips()
    two.run(scheduler="sync")
    assert calls == [("skipped", "skips", 1), ("success", "skips", 1)]
    calls.clear()
    three.run(scheduler="sync")
    assert calls == [("skipped", "skips", 1)]
