"""Setup and teardown tasks in the runtime: Airflow's rules as pure functions, then real runs.

The expected cells are read from Airflow 3.3's ``trigger_rule_dep.py`` (ALL_DONE_SETUP_SUCCESS,
``_evaluate_setup_constraint``) and ``DagRun._tis_for_dagrun_state``; the same behaviour is
checked against real Airflow 2.11 and 3.3 on the fixtures af2/af3_setup_teardown.py
(tests/oracle/test_shim_parity.py).
"""

import networkx as nx
import pytest

from dagshift import Flow, task
from dagshift.runtime.setup_teardown import effective_leaves, indirect_setups
from dagshift.runtime.state import decide, decide_setups

S, F, K, U = "success", "failed", "skipped", "upstream_failed"


@pytest.mark.parametrize(
    ("upstream", "setups", "outcome"),
    [
        ([S, F], [S], None),  # the work failed, the setup succeeded: tear down
        ([U, S], [S], None),
        ([F, F], [F], U),  # the only setup failed
        ([K, K], [K], K),  # the only setup skipped
        ([S, F, K], [F, S], None),  # one of two setups succeeded
        ([K, F], [K, F], U),  # none succeeded, not all skipped
        ([F, K], [], None),  # no setup upstream: as all_done
    ],
)
def test_a_teardown_runs_when_all_is_done_and_one_setup_succeeded(upstream, setups, outcome):
    assert decide("all_done_setup_success", upstream, setups) == outcome


def test_a_failed_or_skipped_setup_further_up_decides_for_the_work():
    assert decide_setups([S, F]) == U
    assert decide_setups([U]) == U
    assert decide_setups([K, S]) == K
    assert decide_setups([F, K]) == U  # a failure wins over a skip, as Airflow checks it first
    assert decide_setups([S, S]) is None


def _graph(edges):
    return nx.DiGraph(edges)


def test_relevant_setups_are_those_whose_teardown_comes_after_the_task_or_that_have_none():
    g = _graph([("s", "a"), ("a", "b"), ("b", "t"), ("s", "t"), ("a", "out"), ("s2", "a")])
    setups, teardowns = {"s", "s2"}, {"t"}
    assert indirect_setups(g, "b", setups, teardowns) == ("s", "s2")
    assert indirect_setups(g, "a", setups, teardowns) == ()  # both are direct upstream
    # s's teardown is not downstream of out; s2 has no teardown
    assert indirect_setups(g, "out", setups, teardowns) == ("s2",)
    assert indirect_setups(g, "t", setups, teardowns) == ()  # a teardown has none


def test_teardowns_do_not_decide_the_run_unless_they_fail_it():
    g = _graph([("s", "w"), ("w", "t"), ("s", "t"), ("w", "next")])
    assert sorted(effective_leaves(g, {"t"}, set())) == ["next"]
    g.remove_node("next")
    assert effective_leaves(g, {"t"}, set()) == ["w"]
    assert effective_leaves(g, {"t"}, {"t"}) == ["t"]
    assert effective_leaves(_graph([("t1", "t2")]), {"t1", "t2"}, set()) == ["t2"]


@task
def create():
    return "cluster"


@task
def work(cluster):
    raise RuntimeError(f"{cluster} broke")


@task
def fine(cluster=None):
    return "fine"


@task
def delete(cluster):
    return f"deleted {cluster}"


def test_a_run_tears_down_after_failed_work_and_fails_for_the_work(executor):
    with Flow("teardown_after_failure") as flow:
        cluster = create.override(setup=True)()
        done = work(cluster)
        delete.override(teardown=True, trigger_rule="all_done_setup_success")(
            cluster, upstream_tasks=[done]
        )
    run = flow.run(**executor)
    assert run.tasks["work"].state == F
    assert run.tasks["delete"].state == S and run.tasks["delete"].result == "deleted cluster"
    assert run.state == F


def test_a_failed_setup_stops_work_two_steps_down_whatever_its_trigger_rule(executor):
    @task
    def broken():
        raise RuntimeError("no cluster")

    with Flow("setup_failed") as flow:
        cluster = broken.override(setup=True)()
        first = fine.override(task_id="first")(cluster)
        second = fine.override(task_id="second", trigger_rule="all_done")(upstream_tasks=[first])
        delete.override(teardown=True, trigger_rule="all_done_setup_success")(
            cluster, upstream_tasks=[second]
        )
    run = flow.run(**executor)
    assert [run.tasks[t].state for t in ("first", "second", "delete")] == [U, U, U]
    assert run.state == F


def test_a_failing_teardown_fails_the_run_only_when_asked_to(executor):
    @task
    def broken_delete(cluster):
        raise RuntimeError("could not delete")

    for fails_run, state in ((False, S), (True, F)):
        with Flow(f"teardown_fails_{fails_run}") as flow:
            cluster = create.override(setup=True)()
            done = fine(cluster)
            broken_delete.override(
                teardown=True, trigger_rule="all_done_setup_success", fails_run=fails_run
            )(cluster, upstream_tasks=[done])
        run = flow.run(**executor)
        assert run.tasks["broken_delete"].state == F
        assert run.state == state, fails_run


_TEARDOWN = {"teardown": True, "trigger_rule": "all_done_setup_success"}


def test_with_a_teardown_wraps_the_work_made_in_the_block(executor):
    # Airflow's edges (checked against real Airflow on the converted fixtures in
    # tests/converter/test_setup_teardown_blocks.py): the work's roots after the setup, its
    # leaves before the teardown, a task made after the block outside it
    with Flow("with_block") as flow:
        cluster = create.override(setup=True)()
        with delete.override(**_TEARDOWN)(cluster):
            first = fine.override(task_id="first")()
            broken = work.override(task_id="broken")(first)
        after = fine.override(task_id="after")(upstream_tasks=[broken])
    assert flow.upstream_ids("first") == ["create"]
    assert flow.upstream_ids("delete") == ["create", "broken"]
    assert flow.upstream_ids(after.task_id) == ["broken"]
    run = flow.run(**executor)
    assert run.tasks["broken"].state == F and run.tasks["after"].state == U
    assert run.tasks["delete"].result == "deleted cluster"


def test_nested_blocks_chain_setup_to_setup_and_teardown_to_teardown():
    with Flow("nested") as flow:
        outer = create.override(task_id="outer", setup=True)()
        with outer >> fine.override(task_id="outer_down", **_TEARDOWN)():
            inner = create.override(task_id="inner", setup=True)()
            with inner >> fine.override(task_id="inner_down", **_TEARDOWN)():
                fine.override(task_id="job")()
    assert flow.upstream_ids("inner") == ["outer"]
    assert flow.upstream_ids("job") == ["inner"]
    assert flow.upstream_ids("outer_down") == ["outer", "inner_down"]


def test_as_teardown_makes_its_setups_setup_tasks_upstream_of_it(executor):
    with Flow("marked") as flow:
        made = create()
        used = fine(made)
        gone = delete(made)
        used >> gone.as_teardown(setups=made, on_failure_fail_dagrun=True)
    node = flow.get_task("delete")
    assert flow.get_task("create").options["setup"] is True
    assert (node.options["teardown"], node.trigger_rule, node.options["fails_run"]) == (
        True,
        "all_done_setup_success",
        True,
    )
    with Flow("refused"), pytest.raises(ValueError, match="already a setup"):
        create().as_setup().as_teardown()
    assert flow.run(**executor).state == S


def test_a_task_made_before_a_block_joins_its_work_through_add_task():
    # Airflow's `with teardown as ctx: ctx.add_task(task)`
    with Flow("added") as flow:
        early = fine.override(task_id="early")()
        cluster = create.override(setup=True)()
        with delete.override(**_TEARDOWN)(cluster) as context:
            context.add_task(early)
    assert flow.upstream_ids("early") == ["create"]
    assert flow.upstream_ids("delete") == ["early", "create"]
    with pytest.raises(RuntimeError, match="with` block"):
        context.add_task(early)
