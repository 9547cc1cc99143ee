"""Groups of tasks (runtime/groups.py): Airflow's TaskGroup ids, default options, ``>>`` to and
from a group, ``@group`` functions, and a branch naming a group."""

import pytest

from dagshift import FailTask, Flow, Group, group, task


@task
def one():
    return 1


@task
def add(x, y=0):
    return x + y


@task
def broken():
    raise FailTask("no")


def test_tasks_in_nested_groups_get_the_prefixes_airflow_gives():
    with Flow("ids") as flow:
        with Group("outer"):
            one()
            with Group("inner"):
                one()
                one()
            with Group("flat", prefix=False):
                one.override(task_id="loose")()
                with Group("below"):
                    one()
    assert list(flow.tasks) == [
        "outer.one",
        "outer.inner.one",
        "outer.inner.one__1",
        "loose",
        "below.one",
    ]
    assert flow.get_task("outer.inner.one").meta["groups"] == ("outer.inner", "outer")
    assert flow.get_task("below.one").meta["groups"] == ("below", "outer.flat", "outer")


def test_group_options_lie_between_the_flows_and_the_tasks_own():
    with Flow("options", default_task_options={"retries": 1, "trigger_rule": "all_done"}) as flow:
        with Group("g", default_task_options={"retries": 3}):
            one()
            one.override(task_id="own", retries=5)()
            with Group("h", default_task_options={"trigger_rule": "always"}):
                one()
        one.override(task_id="outside")()
    options = {t: (n.options["retries"], n.options["trigger_rule"]) for t, n in flow.tasks.items()}
    assert options == {
        "g.one": (3, "all_done"),
        "g.own": (5, "all_done"),
        "g.h.one": (3, "always"),
        "outside": (1, "all_done"),
    }


def test_shift_to_a_group_reaches_its_first_tasks_and_from_it_leaves_its_last():
    with Flow("edges") as flow:
        start = one.override(task_id="start")()
        with Group("g") as g:
            a = one.override(task_id="a")()
            b = add.override(task_id="b")(a)
            c = one.override(task_id="c")()
        with Group("h") as h:
            d = one.override(task_id="d")()
        end = one.override(task_id="end")()
        start >> g >> h
        [g, h] >> end
    assert sorted(flow.graph.edges) == sorted(
        [
            ("g.a", "g.b"),
            ("start", "g.a"),
            ("start", "g.c"),
            ("g.b", "h.d"),
            ("g.c", "h.d"),
            ("g.b", "end"),
            ("g.c", "end"),
            ("h.d", "end"),
        ]
    )
    assert [r.task_id for r in g.roots()] == [a.task_id, c.task_id]
    assert [r.task_id for r in h.leaves()] == [d.task_id]
    assert b.task_id == "g.b"


def test_a_group_function_called_again_gets_the_next_suffix_and_forwards_its_result():
    @group
    def pipeline(x):
        """Two steps."""
        add.override(task_id="side")(x)
        return add(add(x))

    with Flow("calls") as flow:
        start = one.override(task_id="start")()
        first = pipeline(start)
        second = pipeline.override(group_id="other")(start)
        third = pipeline(start)
        end = add.override(task_id="end")(first, 2)
        third >> end
    assert first.task_id == "pipeline.add__1"
    assert second.task_id == "other.add__1"
    assert third.task_id == "pipeline__1.add__1"
    assert flow.groups["pipeline"].tooltip == "Two steps."
    # only the returned task is upstream of end, as with Airflow's @task_group
    assert sorted(flow.upstream_ids("end")) == ["pipeline.add__1", "pipeline__1.add__1"]
    run = flow.run(scheduler="sync")
    assert run.tasks["end"].result == 3


def test_a_group_function_returning_nothing_stands_for_its_group():
    @group(group_id="checks")
    def checks():
        broken.override(task_id="fails")()
        one.override(task_id="fine")()

    with Flow("whole") as flow:
        start = one.override(task_id="start")()
        end = one.override(task_id="end")()
        start >> checks() >> end
    assert sorted(flow.upstream_ids("end")) == ["checks.fails", "checks.fine"]
    run = flow.run(scheduler="sync")
    assert run.tasks["end"].state == "upstream_failed"


def test_a_branch_naming_a_group_runs_its_first_tasks_and_skips_the_other_path():
    @task.branch
    def pick():
        return "chosen"

    with Flow("branch") as flow:
        decide = pick()
        with Group("chosen") as chosen:
            one.override(task_id="first")() >> one.override(task_id="second")()
        with Group("other") as other:
            one.override(task_id="first")()
        decide >> [chosen, other]
    run = flow.run(scheduler="sync")
    states = {t: r.state for t, r in run.tasks.items()}
    assert states == {
        "pick": "success",
        "chosen.first": "success",
        "chosen.second": "success",
        "other.first": "skipped",
    }


def test_a_group_id_used_twice_is_refused_and_a_group_needs_a_flow():
    with Flow("twice"):
        with Group("g"):
            one()
        with pytest.raises(ValueError, match="already has a group or task 'g'"):
            with Group("g"):
                one()
    with pytest.raises(RuntimeError, match=r"inside `with Flow\(...\)`"):
        with Group("alone"):
            pass


def test_a_group_opened_again_adds_its_tasks_under_the_same_id_and_parent():
    with Flow("again") as flow:
        with Group("outer"):
            with Group("g") as g:
                one.override(task_id="a")()
        with g:
            one.override(task_id="b")()
    assert list(flow.tasks) == ["outer.g.a", "outer.g.b"]
    assert flow.get_task("outer.g.b").meta["groups"] == ("outer.g", "outer")
