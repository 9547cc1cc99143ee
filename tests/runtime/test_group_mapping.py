"""The parts of a mapped task group's run, on plain values (the whole is checked against real
Airflow through the shim: fixtures af2/af3_mapped_task_groups.py)."""

import pytest

from dagshift.runtime.derived import MapResult
from dagshift.runtime.group_mapping import (
    GroupMap,
    MappedArg,
    at_index,
    combined_state,
    element_inputs,
    substitute,
)
from dagshift.runtime.state import TaskRun


def test_a_group_expanded_over_two_arguments_runs_their_product_in_order():
    spec = GroupMap("g", expand={"x": [1, 2], "y": "ab"})
    with pytest.raises(TypeError, match="cannot map a task group over y='ab'"):
        element_inputs(spec, lambda v: v)
    spec = GroupMap("g", expand={"x": [1, 2], "y": ["a", "b"]})
    assert element_inputs(spec, lambda v: v) == [
        {"x": 1, "y": "a"},
        {"x": 1, "y": "b"},
        {"x": 2, "y": "a"},
        {"x": 2, "y": "b"},
    ]


def test_expand_kwargs_gives_one_element_per_dict_and_refuses_other_items():
    spec = GroupMap("g", expand_kwargs=[{"a": 1}, {"a": 2}])
    assert element_inputs(spec, lambda v: v) == [{"a": 1}, {"a": 2}]
    with pytest.raises(TypeError, match="needs mappings of arguments, got 3"):
        element_inputs(GroupMap("g", expand_kwargs=[3]), lambda v: v)


def test_a_lazy_input_is_read_element_by_element():
    seen = []
    lazy = MapResult.of((lambda n: seen.append(n) or n * 2,), [1, 2])
    first, second = [e["x"] for e in element_inputs(GroupMap("g", {"x": lazy}), lambda v: v)]
    assert seen == [] and second.get() == 4 and seen == [2]


def test_mapped_arguments_are_replaced_by_the_element_wherever_they_sit():
    arg = MappedArg("g", "x")
    assert substitute({"a": [arg, (arg, 1)], "b": 2}, {"x": "X"}) == {"a": ["X", ("X", 1)], "b": 2}


def test_an_upstream_task_of_the_group_is_seen_at_the_same_index():
    mapped = TaskRun(
        "g.a",
        "failed",
        pushed={"__map_states__": ["success", "failed"], "__map_results__": [1, None]},
    )
    assert (at_index(mapped, 0).state, at_index(mapped, 0).result) == ("success", 1)
    assert at_index(mapped, 1).state == "failed"
    whole = TaskRun("g.a", "upstream_failed")
    assert at_index(whole, 1) is whole


@pytest.mark.parametrize(
    ("states", "state"),
    [
        (["success", "failed", "upstream_failed"], "failed"),
        (["success", "upstream_failed"], "upstream_failed"),
        (["skipped", "success"], "success"),
        (["skipped", "skipped"], "skipped"),
    ],
)
def test_a_mapped_task_shows_one_state_as_airflow_reports_it(states, state):
    assert combined_state(states) == state
