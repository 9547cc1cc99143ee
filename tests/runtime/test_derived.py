"""The lazy sequences behind XComArg.map / zip / concat (ported from Airflow 3.3's
``airflow/sdk/definitions/xcom_arg.py``; the fixtures af2/af3_xcomarg_lazy.py check them
against real Airflow through the shim)."""

import pytest

from dagshift.runtime.derived import (
    NOTSET,
    ConcatResult,
    Element,
    MapResult,
    ZipResult,
    elements,
)

calls: list[int] = []


def _tens(n):
    calls.append(n)
    return n * 10


def test_a_map_calls_its_function_only_for_the_elements_read():
    calls.clear()
    mapped = MapResult.of((_tens, str), [1, 2, 3])
    assert len(mapped) == 3 and calls == []
    assert mapped[1] == "20" and calls == [2]
    assert list(mapped) == ["10", "20", "30"]


def test_zip_stops_at_the_shortest_or_fills_to_the_longest():
    assert list(ZipResult.of(NOTSET, [1, 2, 3], "ab")) == [(1, "a"), (2, "b")]
    assert list(ZipResult.of(None, [1], ["a", "b"])) == [(1, "a"), (None, "b")]


def test_concat_reads_dict_keys_and_counts_from_the_end():
    joined = ConcatResult.of(["a"], {"k": 1, "j": 2}, [7])
    assert list(joined) == ["a", "k", "j", 7]
    assert joined[-1] == 7 and joined[-4] == "a"
    with pytest.raises(IndexError):
        joined[4]


@pytest.mark.parametrize("kind", ["map", "zip", "concat"])
def test_a_value_that_is_no_sequence_is_refused_with_airflows_message(kind):
    make = {
        "map": lambda v: MapResult.of((), v),
        "zip": lambda v: ZipResult.of(None, v),
        "concat": lambda v: ConcatResult.of(v),
    }[kind]
    with pytest.raises(ValueError, match=f"XCom {kind} expects sequence or dict, not int"):
        make(5)


def test_a_task_mapped_over_a_lazy_sequence_gets_one_stand_in_per_element():
    calls.clear()
    stand_ins = elements(MapResult.of((_tens,), [1, 2]))
    assert stand_ins is not None and all(isinstance(e, Element) for e in stand_ins)
    assert calls == []
    assert [e.get() for e in stand_ins] == [10, 20]
    assert elements([1, 2]) is None  # a plain list is mapped over as it is


def test_task_results_have_airflows_map_zip_and_concat():
    from dagshift import Flow, task

    with Flow("derived_methods") as flow:

        @task
        def numbers():
            return [1, 2, 3]

        @task
        def show(value):
            return value

        nums = numbers()
        show.override(task_id="m").expand(value=nums.map(_tens).map(str))
        other = numbers.override(task_id="other")()
        show.override(task_id="z").expand(value=nums.zip(other))
        show.override(task_id="f").expand(value=nums.map(str).zip([], fillvalue=0))
        show.override(task_id="c").expand(value=nums.concat(nums.map(lambda n: -n)))
        with pytest.raises(ValueError, match="plain function"):
            nums.map(show)
    tasks = flow.run().tasks
    assert tasks["m"].result == ["10", "20", "30"]
    assert tasks["z"].result == [(1, 1), (2, 2), (3, 3)]
    assert tasks["f"].result == [("1", 0), ("2", 0), ("3", 0)]
    assert tasks["c"].result == [1, 2, 3, -1, -2, -3]
