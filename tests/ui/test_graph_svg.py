"""The server-side graph layout: layers by longest path, and crossing reduction."""

import networkx as nx

from dagshift.ui.graph_svg import _layers, _with_dummies, count_crossings, layout


def _crossings(tasks, edges, lay):
    graph = nx.DiGraph(edges)
    graph.add_nodes_from(tasks)
    _, chains = _with_dummies(graph, _layers(graph))
    order = {t: i for layer in lay.layers for i, t in enumerate(layer)}
    ranks = [sorted(layer, key=order.get) for layer in lay.layers]
    # dummies are left out of lay.layers: compare only on graphs without long edges
    return count_crossings(ranks, chains)


def test_a_task_sits_one_layer_right_of_its_furthest_upstream():
    lay = layout(["a", "b", "c", "d"], [("a", "b"), ("b", "c"), ("a", "c"), ("c", "d")])
    assert lay.layers == [["a"], ["b"], ["c"], ["d"]]
    xs = [lay.nodes[t][0] for t in "abcd"]
    assert xs == sorted(xs) and len(set(xs)) == 4
    (points,) = [p for u, v, p in lay.edges if (u, v) == ("a", "c")]
    assert len(points) == 3  # bent through the layer it spans


def test_crossings_of_a_tangled_two_layer_graph_are_removed():
    # in the order given, every edge crosses every other: a->z, b->y, c->x
    tasks = ["a", "b", "c", "x", "y", "z"]
    edges = [("a", "z"), ("b", "y"), ("c", "x")]
    assert count_crossings([["a", "b", "c"], ["x", "y", "z"]], {e: list(e) for e in edges}) == 3
    lay = layout(tasks, edges)
    assert _crossings(tasks, edges, lay) == 0


def test_a_wide_random_dag_ends_with_fewer_crossings_than_it_started():
    graph = nx.gnp_random_graph(60, 0.08, seed=7, directed=True)
    edges = [(str(u), str(v)) for u, v in graph.edges if u < v]
    tasks = [str(n) for n in graph]
    g = nx.DiGraph(edges)
    g.add_nodes_from(tasks)
    ranks, chains = _with_dummies(g, _layers(g))
    before = count_crossings(ranks, chains)
    from dagshift.ui.graph_svg import _sweep

    after = count_crossings(_sweep(ranks, chains), chains)
    assert after < before / 2


def test_the_layout_is_deterministic_and_an_empty_graph_has_a_size():
    edges = [("a", "b"), ("a", "c"), ("c", "d")]
    assert layout("abcd", edges) == layout("abcd", edges)
    empty = layout([], [])
    assert empty.width > 0 and empty.height > 0 and empty.nodes == {}
