"""Mapped ``@group`` functions (runtime/groups.py): ``.expand`` / ``.partial(...).expand`` /
``.expand_kwargs`` run every task of the group once per element, as Airflow's mapped task
groups (whose states and results are pinned against real Airflow in the fixtures
af2/af3_mapped_task_groups.py, converted to these functions)."""

import pytest

from dagshift import Flow, SkipTask, get_run_context, group, task


@task
def sources():
    return [1, 2, 3]


@task
def nothing():
    return []


@task
def broken():
    raise ValueError("no input")


@task
def check(x):
    if x == 2:
        raise ValueError("two is refused")
    return x * 10


@task
def label_it(v, label):
    return f"{label}:{v}"


@task(trigger_rule="all_done")
def cleanup():
    return "clean"


@task
def index():
    return get_run_context()["map_index"]


@task(trigger_rule="all_done")
def collect(values):
    return list(values)


@group
def per_item(x, label):
    done = label_it(check(x), label)
    done >> cleanup()
    index()
    return done


def _states(run):
    return {t: (r.state, r.result) for t, r in run.tasks.items()}


def test_each_task_of_a_mapped_group_runs_once_per_element_index_by_index():
    with Flow("mapped") as flow:
        collect(per_item.partial(label="L").expand(x=sources()))
    assert _states(flow.run()) == {
        "sources": ("success", [1, 2, 3]),
        "per_item.check": ("failed", [10, None, 30]),
        "per_item.label_it": ("upstream_failed", ["L:10", None, "L:30"]),
        "per_item.cleanup": ("success", ["clean", "clean", "clean"]),
        "per_item.index": ("success", [0, 1, 2]),
        "collect": ("success", ["L:10", "L:30"]),
    }


def test_the_input_comes_before_the_first_tasks_and_every_task_taking_a_mapped_argument():
    @group
    def chained(x):
        first = index()
        first >> check(x)

    with Flow("edges") as flow:
        chained.expand(x=sources())
    assert sorted(flow.graph.edges) == [
        ("chained.index", "chained.check"),
        ("sources", "chained.check"),
        ("sources", "chained.index"),
    ]


def test_expand_kwargs_and_a_literal_list_map_the_group_and_calls_get_new_ids():
    @group
    def pair(a, b):
        @task
        def add(a, b):
            return a + b

        return add(a, b)

    @group
    def rest(a, **more):
        label_it(a, more)  # **more takes nothing mapped: an empty dict

    with Flow("kwargs") as flow:
        pair.expand_kwargs([{"a": 1, "b": 2}, {"a": 10, "b": 20}])
        pair.partial(b=1).expand(a=[5, 6])
        rest.expand_kwargs([{"a": 1}, {"a": 2}])
    states = _states(flow.run())
    assert states == {
        "pair.add": ("success", [3, 30]),
        "pair__1.add": ("success", [6, 7]),
        "rest.label_it": ("success", ["{}:1", "{}:2"]),
    }


def test_a_group_mapped_over_a_lazy_map_reads_each_element_in_its_own_run():
    @group
    def from_map(v):
        @task
        def show(v, also):
            return [v, also]

        show(v, ([v], {"v": v}))

    with Flow("lazy") as flow:
        from_map.expand(v=sources().map(lambda n: 10 // (n - 2)))
    run = flow.run()
    assert run.tasks["from_map.show"].state == "failed"
    assert run.tasks["from_map.show"].result == [
        [-10, ([-10], {"v": -10})],
        None,
        [10, ([10], {"v": 10})],
    ]


@pytest.mark.parametrize(
    ("source", "state", "inside"),
    [(broken, "failed", "upstream_failed"), (nothing, "success", "skipped")],
)
def test_a_group_whose_input_fails_or_is_empty_takes_its_fate(source, state, inside):
    @group
    def guarded(x):
        check(x) >> cleanup()

    with Flow("input") as flow:
        guarded.expand(x=source())
    run = flow.run()
    assert run.state == state
    assert {t: r.state for t, r in run.tasks.items() if "." in t} == {
        "guarded.check": inside,
        "guarded.cleanup": inside,
    }


def test_a_task_skipping_one_element_skips_what_follows_it_at_that_index_only():
    @task
    def maybe(x):
        if x == 2:
            raise SkipTask("not two")
        return x

    @group
    def skipping(x):
        after = label_it(maybe(x), "S")
        after >> cleanup()

    with Flow("skips") as flow:
        skipping.expand(x=sources())
    states = _states(flow.run())
    assert states["skipping.maybe"] == ("success", [1, None, 3])
    assert states["skipping.label_it"] == ("success", ["S:1", None, "S:3"])
    assert states["skipping.cleanup"] == ("success", ["clean"] * 3)
    assert flow.run().tasks["skipping.label_it"].pushed["__map_states__"] == [
        "success",
        "skipped",
        "success",
    ]


def test_mapping_a_group_wrongly_fails_at_definition_with_what_to_do():
    with pytest.raises(RuntimeError, match=r"inside `with Flow\(...\)`"):
        per_item.expand(x=[1])
    with Flow("wrong"):
        with pytest.raises(TypeError, match=r"both partial\(\) and expand\(\): \['x'\]"):
            per_item.partial(x=1).expand(x=[1])
        with pytest.raises(TypeError, match="unexpected keyword argument 'y'"):
            per_item.expand(y=[1])
        with pytest.raises(TypeError, match="needs a list of dicts or a task's result"):
            per_item.expand_kwargs({"x": 1})

        @group
        def mapped_task(x):
            check.expand(x=[x])

        with pytest.raises(ValueError, match="map the group or the task, not both"):
            mapped_task.expand(x=[1])

        @group
        def outer(x):
            per_item.partial(label="in").expand(x=[x])

        with pytest.raises(ValueError, match="map only one of them"):
            outer.expand(x=[1])
