"""Defining flows: binding, placeholders, edges, ids, cycles and drawing."""

import networkx as nx
import pytest

from dagshift import CycleError, Flow, Parameter, task
from dagshift.runtime.flow import Binding


@task
def one():
    return 1


@task
def add(x, y=0):
    return x + y


@task
def collect(items):
    return items


def test_calling_a_task_outside_a_flow_just_calls_the_function():
    assert add(2, y=3) == 5


def test_a_wrong_call_fails_where_the_flow_is_defined_with_pythons_message():
    with Flow("bad"), pytest.raises(TypeError, match="unexpected keyword argument 'z'"):
        add(1, z=2)
    with Flow("bad2"), pytest.raises(TypeError, match="missing a required argument: 'x'"):
        add()


def test_a_placeholder_argument_becomes_a_data_edge_keyed_by_the_parameter_name():
    with Flow("f") as flow:
        add(one(), y=one())
    assert set(flow.graph.edges) == {("one", "add"), ("one__1", "add")}
    assert flow.graph.edges["one", "add"]["data"] == [Binding("x")]
    assert flow.graph.edges["one__1", "add"]["data"] == [Binding("y")]


def test_placeholders_inside_lists_tuples_and_dicts_become_data_edges():
    with Flow("f") as flow:
        a, b, c = one(), one(), one()
        collect([a, (b, {"k": c})])
    assert sorted(flow.graph.predecessors("collect")) == ["one", "one__1", "one__2"]
    assert flow.run().tasks["collect"].result == [1, (1, {"k": 1})]


def test_indexing_a_placeholder_selects_a_key_of_the_result_on_the_same_edge():
    @task
    def pair():
        return {"left": 1, "right": 2}

    with Flow("f") as flow:
        p = pair()
        add(p["left"], p["right"])
    assert flow.graph.edges["pair", "add"]["data"] == [
        Binding("x", ("left",)),
        Binding("y", ("right",)),
    ]
    assert flow.run().tasks["add"].result == 3


def test_order_edges_from_every_spelling():
    with Flow("f") as flow:
        a, b, c, d, e = (one.override(task_id=n)() for n in "abcde")
        a >> b
        c << b
        [a, b] >> d
        e << [c]
        d.set_downstream(e)
        e.set_upstream(a)
    assert set(flow.graph.edges) == {
        ("a", "b"),
        ("b", "c"),
        ("a", "d"),
        ("b", "d"),
        ("c", "e"),
        ("d", "e"),
        ("a", "e"),
    }
    assert all(data["data"] == [] for *_, data in flow.graph.edges(data=True))


def test_upstream_tasks_adds_order_edges():
    with Flow("f") as flow:
        first = one()
        add(2, upstream_tasks=[first])
    assert flow.graph.edges["one", "add"]["data"] == []


def test_chains_return_the_right_hand_side():
    with Flow("f") as flow:
        a, b, c = (one.override(task_id=n)() for n in "abc")
        a >> b >> c
    assert list(nx.topological_sort(flow.graph)) == ["a", "b", "c"]


def test_the_same_task_called_twice_gives_two_nodes_with_distinct_ids():
    with Flow("f") as flow:
        one(), one(), one()
    assert list(flow.graph) == ["one", "one__1", "one__2"]


def test_override_sets_the_id_and_options_without_changing_the_original():
    with Flow("f") as flow:
        ref = add.override(task_id="sum_it", retries=3, trigger_rule="all_done")(1)
    node = flow.get_task(ref.task_id)
    assert (node.task_id, node.options["retries"], node.trigger_rule) == ("sum_it", 3, "all_done")
    assert add.options == {}


def test_a_duplicate_explicit_id_is_refused():
    with Flow("f"), pytest.raises(ValueError, match="already has a task with id 'x'"):
        one.override(task_id="x")()
        one.override(task_id="x")()


def test_flow_defaults_apply_unless_a_task_sets_its_own():
    with Flow("f", default_task_options={"retries": 2}) as flow:
        one()
        add.override(retries=0)(1)
    assert flow.get_task("one").options["retries"] == 2
    assert flow.get_task("add").options["retries"] == 0


def test_a_cycle_is_an_error_that_names_the_tasks_in_it():
    with Flow("f"):
        a, b, c = (one.override(task_id=n)() for n in "abc")
        a >> b >> c
        with pytest.raises(CycleError, match="a -> b -> c -> a"):
            c >> a


def test_a_task_cannot_depend_on_itself():
    with Flow("f"):
        a = one()
        with pytest.raises(CycleError):
            a >> a


def test_a_result_cannot_cross_flows():
    with Flow("one_flow"):
        a = one()
    with Flow("other"), pytest.raises(ValueError, match="from another flow"):
        add(a)


def test_a_placeholder_has_no_truth_value_or_iteration_while_defining():
    with Flow("f"):
        a = one()
        with pytest.raises(TypeError, match="not known while the flow is defined"):
            bool(a)
        with pytest.raises(TypeError, match="not known while the flow is defined"):
            list(a)


def test_parameters_register_on_the_flow_and_are_not_nodes():
    with Flow("f") as flow:
        n = Parameter("n", default=3)
        add(n, 1)
    assert list(flow.graph) == ["add"]
    assert flow.run().tasks["add"].result == 4
    assert flow.run(parameters={"n": 10}).tasks["add"].result == 11


def test_a_required_parameter_missing_at_run_time_names_itself():
    with Flow("f") as flow:
        add(Parameter("n"))
    with pytest.raises(ValueError, match="needs a value for parameter"):
        flow.run()


def test_visualize_gives_mermaid_with_labelled_data_edges_and_dotted_order_edges():
    with Flow("f") as flow:
        a = one()
        b = add(a)
        c = one()
        b >> c
    text = flow.visualize()
    assert text.startswith("flowchart LR\n")
    assert 'one -->|"x"| add' in text
    assert "add -.-> one__1" in text


def test_visualize_gives_dot_on_request():
    with Flow("f") as flow:
        add(one())
    dot = flow.visualize("dot")
    assert dot.startswith('digraph "f" {')
    assert '"one" -> "add" [label="x"];' in dot
    with pytest.raises(ValueError):
        flow.visualize("svg")


def test_a_task_keeps_documentation_attributes_set_on_its_placeholder():
    @task
    def one():
        return 1

    with Flow("documented") as flow:
        ref = one()
        ref.doc_md = "# One"
        ref.doc_yaml = "a: 1"
        assert (ref.doc_md, ref.doc, ref.doc_yaml) == ("# One", None, "a: 1")
        with pytest.raises(AttributeError):
            ref.owner = "someone"
    assert flow.tasks["one"].meta == {"doc_md": "# One", "doc_yaml": "a: 1"}


def test_documentation_given_as_task_options_goes_to_the_nodes_meta():
    @task(doc_md="Reads the rows.")
    def extract():
        return [3, 1, 2]

    with Flow("documented") as flow:
        rows = extract()
        extract.override(task_id="again", doc="plain text")()
    assert rows.doc_md == "Reads the rows."
    assert flow.get_task("again").meta == {"doc_md": "Reads the rows.", "doc": "plain text"}
    assert "doc_md" not in flow.get_task("extract").options  # no effect on how it runs
    assert flow.run().tasks["extract"].result == [3, 1, 2]
