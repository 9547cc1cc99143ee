"""A flow graph laid out for drawing as SVG: layers left to right, few crossings.

Deterministic and without a browser, so it is tested as plain data. Tasks go in layers by
longest path from the sources (a task sits one layer right of its furthest upstream). An
edge that spans several layers gets a hidden point in each layer between (the classic
Sugiyama dummy nodes), so the crossing-reduction sweeps see it. Each sweep orders a layer by
the barycentre (mean position) of its neighbours in the layer before (downward) or after
(upward); the order with the fewest crossings seen is kept. The migration report can draw
its graphs with the same :func:`layout`.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

import networkx as nx

__all__ = ["Layout", "count_crossings", "layout"]

NODE_W, NODE_H = 168, 34
GAP_X, GAP_Y = 56, 16
MARGIN = 12
SWEEPS = 8


@dataclass
class Layout:
    """Where each task and each edge go; coordinates in SVG user units."""

    width: int
    height: int
    nodes: dict[str, tuple[int, int]] = field(default_factory=dict)  # top-left corner
    edges: list[tuple[str, str, list[tuple[float, float]]]] = field(default_factory=list)
    layers: list[list[str]] = field(default_factory=list)  # tasks only, in drawing order


def _layers(graph: nx.DiGraph) -> dict[str, int]:
    level: dict[str, int] = {}
    for node in nx.topological_sort(graph):
        level[node] = max((level[u] + 1 for u in graph.predecessors(node)), default=0)
    return level


def _with_dummies(graph: nx.DiGraph, level: dict[str, int]):
    """Ranks (lists of node keys per layer) and the chain of keys each edge passes."""
    ranks: list[list] = [[] for _ in range(max(level.values(), default=-1) + 1)]
    for node in graph:  # the graph's own order first: a stable start for the sweeps
        ranks[level[node]].append(node)
    chains: dict[tuple[str, str], list] = {}
    for u, v in graph.edges:
        chain: list = [u]
        for layer in range(level[u] + 1, level[v]):
            dummy = ("·", u, v, layer)
            ranks[layer].append(dummy)
            chain.append(dummy)
        chain.append(v)
        chains[(u, v)] = chain
    return ranks, chains


def _neighbours(chains: dict, downward: bool) -> dict:
    out: dict = {}
    for chain in chains.values():
        for a, b in zip(chain, chain[1:], strict=False):
            src, dst = (a, b) if downward else (b, a)
            out.setdefault(dst, []).append(src)
    return out


def count_crossings(ranks: list[list], chains: dict) -> int:
    """Edge crossings between adjacent layers (each layer's order as given).

    Two segments cross when their ends are in opposite orders on the two layers: the count
    is the inversions of the right ends once sorted by left ends, counted with a Fenwick tree
    (wide layers of a thousand-task flow have thousands of segments)."""
    position = {key: i for rank in ranks for i, key in enumerate(rank)}
    by_layer: dict[int, list[tuple[int, int]]] = {}
    layer_of = {key: n for n, rank in enumerate(ranks) for key in rank}
    for chain in chains.values():
        for a, b in zip(chain, chain[1:], strict=False):
            by_layer.setdefault(layer_of[a], []).append((position[a], position[b]))
    total = 0
    for segments in by_layer.values():
        segments.sort()
        size = max(b for _, b in segments) + 2
        tree = [0] * (size + 1)
        seen = 0
        for _, b in segments:
            i, not_above = b + 1, 0  # how many seen so far end at or before b
            while i > 0:
                not_above += tree[i]
                i -= i & -i
            total += seen - not_above
            i = b + 1
            while i <= size:
                tree[i] += 1
                i += i & -i
            seen += 1
    return total


def _sweep(ranks: list[list], chains: dict) -> list[list]:
    best = [list(r) for r in ranks]
    best_cost = count_crossings(best, chains)
    current = [list(r) for r in ranks]
    down, up = _neighbours(chains, True), _neighbours(chains, False)
    for sweep in range(SWEEPS):
        if best_cost == 0:
            break
        downward = sweep % 2 == 0
        order = range(1, len(current)) if downward else range(len(current) - 2, -1, -1)
        links = down if downward else up
        for layer in order:
            fixed = {k: i for i, k in enumerate(current[layer - 1 if downward else layer + 1])}
            here = {k: i for i, k in enumerate(current[layer])}

            def centre(key, fixed=fixed, here=here, links=links):
                near = [fixed[n] for n in links.get(key, ()) if n in fixed]
                return (sum(near) / len(near) if near else here[key], here[key])

            current[layer].sort(key=centre)
        cost = count_crossings(current, chains)
        if cost < best_cost:
            best, best_cost = [list(r) for r in current], cost
    return best


def layout(tasks: Iterable[str], edges: Iterable[tuple[str, str]]) -> Layout:
    """Lay out a DAG of ``tasks`` and ``edges`` (upstream, downstream).

    Raises:
        networkx.NetworkXUnfeasible: the edges have a cycle.
    """
    graph = nx.DiGraph()
    graph.add_nodes_from(tasks)
    graph.add_edges_from(edges)
    level = _layers(graph)
    ranks, chains = _with_dummies(graph, level)
    ranks = _sweep(ranks, chains)
    point: dict = {}
    for x, rank in enumerate(ranks):
        for y, key in enumerate(rank):
            point[key] = (MARGIN + x * (NODE_W + GAP_X), MARGIN + y * (NODE_H + GAP_Y))
    height = max((len(r) for r in ranks), default=0) * (NODE_H + GAP_Y) - GAP_Y + 2 * MARGIN
    width = len(ranks) * (NODE_W + GAP_X) - GAP_X + 2 * MARGIN
    out = Layout(max(width, 2 * MARGIN), max(height, 2 * MARGIN))
    out.nodes = {n: point[n] for n in graph}
    out.layers = [[k for k in rank if not isinstance(k, tuple)] for rank in ranks]
    for (u, v), chain in chains.items():
        pts = [(point[u][0] + NODE_W, point[u][1] + NODE_H / 2)]
        pts += [(point[k][0] + NODE_W / 2, point[k][1] + NODE_H / 2) for k in chain[1:-1]]
        pts.append((point[v][0], point[v][1] + NODE_H / 2))
        out.edges.append((u, v, pts))
    return out
