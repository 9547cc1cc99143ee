"""Running flows: states, results, retries, timeouts, skips, branching, mapping, scale."""

import threading
import time
from datetime import timedelta

import pytest

from dagshift import FailTask, Flow, FlowRunFailed, SkipTask, get_run_context, task
from dagshift.runtime.context import RunInfo, to_datetime
from dagshift.runtime.executor import ResultRef, RunState, _retry_delay, execute_node, to_dask_graph


@task
def one():
    return 1


@task
def inc(x):
    return x + 1


@task
def boom():
    raise ValueError("bad input row 7")


@task
def noop(*_):
    return None


def test_to_dask_graph_has_readable_keys_and_upstream_keys():
    with Flow("tiny") as flow:
        b = inc(one())
        noop.override(task_id="c")(upstream_tasks=[b])
    info = RunInfo("tiny", *(to_datetime("2024-01-01"),) * 3, {}, "r")
    run = RunState(info)
    dsk = to_dask_graph(flow, run)
    assert list(dsk) == ["tiny.one", "tiny.inc", "tiny.c"]
    nodes = [(v[0], v[1].task_id, v[1].upstream, v[1].downstream, v[2], v[3]) for v in dsk.values()]
    assert nodes == [
        (execute_node, "one", (), ("inc",), run, []),
        (execute_node, "inc", ("one",), ("c",), run, ["tiny.one"]),
        (execute_node, "c", ("inc",), (), run, ["tiny.inc"]),
    ]
    # On a cluster the run travels under its own key, once per worker; keys carry the run.
    shared = to_dask_graph(flow, run, suffix="@r1", share_run=True)
    assert list(shared) == ["tiny.<run>@r1", "tiny.one@r1", "tiny.inc@r1", "tiny.c@r1"]
    assert shared["tiny.<run>@r1"] is run
    assert shared["tiny.inc@r1"][2:] == ("tiny.<run>@r1", ["tiny.one@r1"])
    # Placeholders become plain references, so a node never carries the whole flow.
    assert dsk["tiny.inc"][1].node.args == (ResultRef("one"),)


def test_a_run_reports_state_result_tries_and_timings_of_every_task(executor):
    with Flow("f") as flow:
        inc(inc(one()))
    run = flow.run(**executor)
    assert run.state == "success"
    assert [(t, r.state, r.result, r.tries) for t, r in run.tasks.items()] == [
        ("one", "success", 1, 1),
        ("inc", "success", 2, 1),
        ("inc__1", "success", 3, 1),
    ]
    assert all(r.duration is not None and r.duration >= 0 for r in run.tasks.values())
    assert run.to_dict() == {
        "state": "success",
        "tasks": {
            "one": {"state": "success", "result": 1},
            "inc": {"state": "success", "result": 2},
            "inc__1": {"state": "success", "result": 3},
        },
    }


def test_a_failure_is_recorded_with_error_and_traceback_and_downstream_is_upstream_failed(executor):
    with Flow("f") as flow:
        inc(boom())
    run = flow.run(**executor)
    assert run.state == "failed"
    failed = run.tasks["boom"]
    assert failed.state == "failed"
    assert failed.error == "ValueError: bad input row 7"
    assert "raise ValueError" in failed.traceback
    assert run.tasks["inc"].state == "upstream_failed"
    assert run.tasks["inc"].tries == 0


def test_raise_on_failure_raises_naming_the_failed_task():
    with Flow("f") as flow:
        boom()
    with pytest.raises(FlowRunFailed, match="boom.*bad input row 7"):
        flow.run(raise_on_failure=True)


def test_independent_tasks_run_in_parallel():
    barrier = threading.Barrier(2, timeout=5)

    @task
    def meet():
        barrier.wait()  # breaks (and fails the task) unless the other task is running too
        return "met"

    with Flow("f") as flow:
        meet(), meet()
    run = flow.run()
    assert [r.state for r in run.tasks.values()] == ["success", "success"]


def test_the_sync_scheduler_runs_in_one_thread_in_order():
    seen = []

    @task
    def record(i):
        seen.append((i, threading.current_thread().name))

    with Flow("f") as flow:
        prev = None
        for i in range(5):
            ref = record(i, upstream_tasks=[prev] if prev is not None else [])
            prev = ref
    flow.run(scheduler="sync")
    assert [i for i, _ in seen] == list(range(5))
    assert len({name for _, name in seen}) == 1


def test_retries_rerun_a_failing_task_until_it_succeeds(executor):
    @task(retries=3, retry_delay=0)
    def flaky():
        if get_run_context()["try_number"] < 3:
            raise ConnectionError("down")
        return "up"

    with Flow("f") as flow:
        flaky()
    run = flow.run(**executor)
    assert (run.tasks["flaky"].state, run.tasks["flaky"].tries) == ("success", 3)


def test_retries_run_out_and_the_task_fails_after_waiting_the_delay(executor):
    @task(retries=2, retry_delay=timedelta(seconds=0.1))
    def always_down():
        raise ConnectionError("down")

    with Flow("f") as flow:
        always_down()
    started = time.perf_counter()
    run = flow.run(**executor)
    assert (run.tasks["always_down"].state, run.tasks["always_down"].tries) == ("failed", 3)
    assert time.perf_counter() - started >= 0.2


def test_exponential_backoff_doubles_the_delay_up_to_the_maximum():
    opts = {
        "retry_delay": timedelta(seconds=10),
        "retry_exponential_backoff": True,
        "max_retry_delay": timedelta(seconds=35),
    }
    assert [_retry_delay(opts, n) for n in (1, 2, 3, 4)] == [10, 20, 35, 35]
    assert _retry_delay({**opts, "retry_exponential_backoff": False}, 3) == 10


def test_fail_task_fails_at_once_without_retries(executor):
    @task(retries=3)
    def give_up():
        raise FailTask("credentials are wrong")

    with Flow("f") as flow:
        give_up()
    tr = flow.run(**executor).tasks["give_up"]
    assert (tr.state, tr.tries) == ("failed", 1)


def test_a_task_over_its_timeout_fails_without_waiting_for_the_body(executor):
    @task(timeout=0.2)
    def slow():
        time.sleep(3)

    with Flow("f") as flow:
        slow()
    started = time.perf_counter()
    tr = flow.run(**executor).tasks["slow"]
    assert tr.state == "failed" and "timed out after 0.2s" in tr.error
    assert time.perf_counter() - started < 2


def test_a_task_can_skip_itself_and_the_skip_propagates_under_the_default_rule(executor):
    @task
    def nothing_new():
        raise SkipTask("no new files")

    with Flow("f") as flow:
        inc(inc(nothing_new()))
    run = flow.run(**executor)
    assert [r.state for r in run.tasks.values()] == ["skipped", "skipped", "skipped"]
    assert run.tasks["nothing_new"].message == "no new files"
    assert run.state == "success"  # skipped leaves do not fail a run, as in Airflow


def test_the_run_state_comes_from_the_leaves(executor):
    with Flow("f") as flow:
        noop.override(task_id="cleanup", trigger_rule="all_done")(boom())
    run = flow.run(**executor)
    assert run.tasks["boom"].state == "failed"
    assert run.state == "success"  # the only leaf succeeded


def test_callbacks_see_the_context_of_the_task():
    calls = []
    cb = {
        "on_success": lambda ctx: calls.append(("success", ctx["task_id"])),
        "on_failure": lambda ctx: calls.append(("failure", ctx["task_id"], str(ctx["exception"]))),
        "on_retry": lambda ctx: calls.append(("retry", ctx["try_number"])),
    }
    with Flow("f") as flow:
        one.override(**cb)()
        boom.override(retries=1, **cb)()
    flow.run(scheduler="sync")
    assert calls == [("success", "one"), ("retry", 1), ("failure", "boom", "bad input row 7")]


# ------------------------------------------------------------------- branching
@task.branch
def pick(choice):
    return choice


def _branch_flow(choice, executor=None):
    with Flow("b") as flow:
        br = pick(choice)
        a = noop.override(task_id="a")()
        b = noop.override(task_id="b")()
        after_a = noop.override(task_id="after_a")()
        join = noop.override(task_id="join", trigger_rule="none_failed_min_one_success")()
        br >> [a, b]
        a >> after_a >> join
        b >> join
    return flow.run(**(executor or {}))


def test_a_branch_skips_the_direct_downstream_tasks_it_did_not_choose_and_their_followers(executor):
    run = _branch_flow("b", executor)
    states = {t: r.state for t, r in run.tasks.items()}
    assert states == {
        "pick": "success",
        "a": "skipped",
        "b": "success",
        "after_a": "skipped",
        "join": "success",
    }


def test_a_branch_to_a_list_follows_all_of_them(executor):
    run = _branch_flow(["a", "b"], executor)
    assert {t: r.state for t, r in run.tasks.items()}["after_a"] == "success"


def test_a_branch_keeps_a_direct_child_that_is_downstream_of_the_chosen_task(executor):
    # branch -> join and branch -> task1 -> join: choosing task1 must not skip join (Airflow).
    with Flow("b") as flow:
        br = pick("task1")
        t1 = noop.override(task_id="task1")()
        join = noop.override(task_id="join")()
        br >> [t1, join]
        t1 >> join
    run = flow.run(**executor)
    assert run.tasks["join"].state == "success"


def test_a_branch_returning_an_unknown_id_fails(executor):
    run = _branch_flow("c", executor)
    assert run.tasks["pick"].state == "failed"
    assert "not in the flow: ['c']" in run.tasks["pick"].error
    assert run.tasks["a"].state == "upstream_failed"


def test_a_branch_returning_none_skips_every_direct_downstream_task(executor):
    run = _branch_flow(None, executor)
    assert run.tasks["a"].state == run.tasks["b"].state == "skipped"


def test_a_branch_that_skipped_something_keeps_no_result_as_in_airflow_3(executor):
    run = _branch_flow("b", executor)
    assert run.tasks["pick"].result is None


@pytest.mark.parametrize(("ignore", "grandchild"), [(True, "skipped"), (False, "success")])
def test_a_falsy_short_circuit_skips_downstream(ignore, grandchild, executor):
    @task.short_circuit(ignore_downstream_trigger_rules=ignore)
    def check():
        return []

    with Flow("s") as flow:
        c = check()
        child = noop.override(task_id="child")()
        gc = noop.override(task_id="grandchild", trigger_rule="all_done")()
        c >> child >> gc
    run = flow.run(**executor)
    assert run.tasks["child"].state == "skipped"
    assert run.tasks["grandchild"].state == grandchild


def test_a_truthy_short_circuit_lets_downstream_run_and_keeps_its_result(executor):
    @task.short_circuit
    def check():
        return 5

    with Flow("s") as flow:
        inc(check())
    run = flow.run(**executor)
    assert (run.tasks["check"].result, run.tasks["inc"].result) == (5, 6)


# --------------------------------------------------------------------- mapping
@task
def mul(x, factor=1):
    return x * factor


def test_expand_runs_the_task_once_per_element_and_returns_the_list(executor):
    with Flow("m") as flow:
        mul.partial(factor=10).expand(x=[1, 2, 3])
    assert flow.run(**executor).tasks["mul"].result == [10, 20, 30]


def test_expand_over_several_arguments_is_the_cross_product_last_varying_fastest(executor):
    with Flow("m") as flow:
        mul.expand(x=[1, 2], factor=[10, 100])
    assert flow.run(**executor).tasks["mul"].result == [10, 100, 20, 200]


def test_expand_over_an_upstream_result_and_expand_kwargs(executor):
    @task
    def values():
        return [3, 4]

    with Flow("m") as flow:
        mul.expand(x=values())
        mul.expand_kwargs([{"x": 1, "factor": 5}, {"x": 2}])
    run = flow.run(**executor)
    assert run.tasks["mul"].result == [3, 4]
    assert run.tasks["mul__1"].result == [5, 2]


def test_expand_over_an_empty_list_skips_the_task(executor):
    with Flow("m") as flow:
        mul.expand(x=[])
    assert flow.run(**executor).tasks["mul"].state == "skipped"


def test_a_mapped_element_sees_its_map_index(executor):
    @task
    def where(x):
        return (x, get_run_context()["map_index"])

    with Flow("m") as flow:
        where.expand(x=["a", "b"])
    assert flow.run(**executor).tasks["where"].result == [("a", 0), ("b", 1)]


# ----------------------------------------------------------------------- scale
def test_a_chain_of_a_thousand_tasks_passes_its_value_all_the_way():
    with Flow("chain") as flow:
        ref = one()
        for _ in range(999):
            ref = inc(ref)
    run = flow.run()
    assert len(run.tasks) == 1000
    assert run.tasks[ref.task_id].result == 1000


def test_a_thousand_task_fan_out_fan_in(executor):
    @task
    def total(parts):
        return sum(parts)

    with Flow("fan") as flow:
        src = one()
        total([inc(src) for _ in range(998)])
    run = flow.run(**executor)
    assert len(run.tasks) == 1000
    assert run.tasks["total"].result == 2 * 998


def test_listeners_see_every_task_run_as_it_finishes():
    seen = []
    with Flow("f") as flow:
        inc(one())
    flow.run(listeners=[lambda tr: seen.append((tr.task_id, tr.state))], scheduler="sync")
    assert seen == [("one", "success"), ("inc", "success")]


def test_completed_task_runs_are_reused_and_not_run_again():
    calls = []

    @task
    def counted(x):
        calls.append(x)
        return x * 2

    with Flow("f") as flow:
        counted(counted(5))
    first = flow.run()
    assert calls == [5, 10]
    done = {"counted": first.tasks["counted"]}
    second = flow.run(completed=done)
    assert calls == [5, 10, 10]  # only the second task ran again, fed the stored result
    assert second.tasks["counted__1"].result == 20
