"""The run context, templating and the shell helper."""

from datetime import timedelta

import pytest

from dagshift import Flow, get_run_context, render, shell, task


def _run_one(fn, **run_kwargs):
    with Flow("ctx", **run_kwargs.pop("flow", {})) as flow:
        task(fn)()
    executor = run_kwargs.pop("executor", {})
    return flow.run(**run_kwargs, **executor).tasks[fn.__name__]


def test_the_context_has_airflows_date_names_for_the_logical_date(executor):
    def dates():
        c = get_run_context()
        return {k: str(c[k]) for k in ("ds", "ds_nodash", "ts", "ts_nodash", "run_id", "task_id")}

    tr = _run_one(dates, executor=executor, logical_date="2024-01-15T06:30:00")
    assert tr.result == {
        "ds": "2024-01-15",
        "ds_nodash": "20240115",
        "ts": "2024-01-15T06:30:00+00:00",
        "ts_nodash": "20240115T063000",
        "run_id": "manual__2024-01-15T06:30:00+00:00",
        "task_id": "dates",
    }


def test_a_run_on_demand_has_the_point_interval_of_airflow_3_by_default(executor):
    def interval():
        c = get_run_context()
        return c["data_interval_start"].isoformat(), c["data_interval_end"].isoformat()

    for schedule in (timedelta(days=1), "@daily", None):
        tr = _run_one(
            interval, executor=executor, logical_date="2024-01-15", flow={"schedule": schedule}
        )
        assert tr.result == ("2024-01-15T00:00:00+00:00", "2024-01-15T00:00:00+00:00")


def test_the_previous_policy_gives_the_schedule_period_ending_at_the_date_as_airflow_2(executor):
    def interval():
        c = get_run_context()
        return c["data_interval_start"].isoformat(), c["data_interval_end"].isoformat()

    cases = [
        (timedelta(hours=6), "2024-01-15T06:00", ("2024-01-15T00:00:00", "2024-01-15T06:00:00")),
        ("@daily", "2024-01-15", ("2024-01-14T00:00:00", "2024-01-15T00:00:00")),
        ("@daily", "2024-01-15T10:30", ("2024-01-14T00:00:00", "2024-01-15T00:00:00")),
        ("0 6 * * 1", "2024-01-17", ("2024-01-08T06:00:00", "2024-01-15T06:00:00")),
        ("@once", "2024-01-15", ("2024-01-15T00:00:00", "2024-01-15T00:00:00")),
    ]
    for schedule, date, (start, end) in cases:
        flow = {"schedule": schedule, "data_interval": "previous"}
        tr = _run_one(interval, executor=executor, logical_date=date, flow=flow)
        assert tr.result == (start + "+00:00", end + "+00:00"), schedule


def test_params_merge_flow_defaults_with_run_parameters(executor):
    def params():
        return dict(get_run_context()["params"])

    tr = _run_one(params, executor=executor, flow={"params": {"a": 1, "b": 2}}, parameters={"b": 3})
    assert tr.result == {"a": 1, "b": 3}


def test_a_tasks_params_lie_over_the_flows_and_the_run_parameters_over_both(executor):
    # Airflow (2.x/3.x process_params): dag.params, then task.params, then dag_run.conf
    @task
    def seen():
        return dict(get_run_context()["params"])

    @task
    def echo():
        return render("{{ params.a }} {{ params.b }} {{ params.c }}")

    with Flow("p", params={"a": "flow", "b": "flow", "c": "flow"}) as flow:
        seen.override(task_id="own", params={"b": "task", "d": "task"})()
        seen.override(task_id="plain")()
        echo.override(params={"a": "task"})()
    run = flow.run(parameters={"c": "run", "d": "run"}, **executor)
    assert run.tasks["own"].result == {"a": "flow", "b": "task", "c": "run", "d": "run"}
    assert run.tasks["plain"].result == {"a": "flow", "b": "flow", "c": "run", "d": "run"}
    assert run.tasks["echo"].result == "task flow run"


def test_task_params_must_be_a_mapping():
    with pytest.raises(TypeError, match="params must be a mapping"):
        task(lambda: 1, params=["a"])


def test_the_logical_date_defaults_to_now():
    import pendulum

    def when():
        return get_run_context()["logical_date"]

    before = pendulum.now("UTC")
    assert _run_one(when).result >= before


def test_context_outside_a_task_says_where_to_call_it():
    with pytest.raises(RuntimeError, match="only available while a task runs"):
        get_run_context()


def test_render_uses_the_context_macros_and_extra_values(executor):
    def templated():
        return render("{{ ds }} {{ macros.ds_add(ds, 1) }} {{ params.n }} {{ who }}", who="me")

    tr = _run_one(templated, executor=executor, logical_date="2024-02-28", parameters={"n": 7})
    assert tr.result == "2024-02-28 2024-02-29 7 me"


def test_render_fails_on_an_undefined_name_instead_of_printing_nothing(executor):
    def templated():
        return render("{{ no_such_name }}")

    tr = _run_one(templated, executor=executor)
    assert tr.state == "failed" and "no_such_name" in tr.error


def test_render_can_return_native_objects(executor):
    def native():
        return render("{{ [1, 2] + [3] }}", native=True)

    assert _run_one(native, executor=executor).result == [1, 2, 3]


def test_shell_returns_the_last_line_of_output_like_bash_operator():
    assert shell("echo first; echo last") == "last"
    assert shell("true") == ""
    assert shell("echo $GREETING", env={"GREETING": "hi"}) == "hi"


def test_shell_fails_on_a_non_zero_exit_and_skips_on_99(executor):
    def failing():
        return shell("exit 3")

    def skipping():
        return shell("exit 99")

    failed = _run_one(failing, executor=executor)
    assert failed.state == "failed" and "non-zero exit code 3" in failed.error
    assert _run_one(skipping, executor=executor).state == "skipped"


def test_a_runs_conf_is_the_parameters_it_was_started_with_unless_given_apart():
    @task
    def read():
        ctx = get_run_context()
        return dict(ctx["conf"]), ctx["params"]["label"]

    with Flow("conf_default", params={"label": "rows"}) as flow:
        read()
    assert flow.run().tasks["read"].result == ({}, "rows")
    started = flow.run(parameters={"label": "items"}).tasks["read"].result
    assert started == ({"label": "items"}, "items")  # as a DAG triggered with that conf
    apart = flow.run(parameters={"label": "items"}, conf={"x": 1}).tasks["read"].result
    assert apart == ({"x": 1}, "items")


def test_airflow_context_has_airflows_keys_for_the_generation_less_those_without_equivalent(
    executor,
):
    from dagshift import airflow_context
    from dagshift.runtime.context import AIRFLOW_CONTEXT_KEYS, AIRFLOW_ONLY_KEYS

    def both():
        two, three = airflow_context("2", without=("ds",)), airflow_context("3")
        return sorted(two), sorted(three), two["test_mode"], three["task_instance_key_str"]

    tr = _run_one(both, executor=executor, logical_date="2024-01-15")
    two, three, test_mode, key = tr.result
    assert two == sorted(AIRFLOW_CONTEXT_KEYS["2"] - AIRFLOW_ONLY_KEYS["2"] - {"ds"})
    assert three == sorted(AIRFLOW_CONTEXT_KEYS["3"] - AIRFLOW_ONLY_KEYS["3"])
    assert "execution_date" in two and "execution_date" not in three and "conf" not in two
    assert (test_mode, key) == (False, "ctx__both__20240115")


def test_airflow_context_outside_a_task_says_where_it_works():
    from dagshift import airflow_context

    with pytest.raises(RuntimeError, match="only available while a task runs"):
        airflow_context("3")
