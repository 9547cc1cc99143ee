"""A flow graph drawn as an inline SVG picture, with no JavaScript and nothing fetched.

Layered layout: tasks in columns by topological generation, edges as curves from left to
right; data edges solid, order edges dashed. Every label is escaped.
"""

from __future__ import annotations

from html import escape

import networkx as nx

__all__ = ["graph_svg"]

_W_CHAR, _H, _GAP_X, _GAP_Y, _PAD = 7.2, 26, 46, 12, 10


def graph_svg(graph: nx.DiGraph, title: str = "") -> str:
    """An ``<svg>`` element drawing ``graph`` (nodes are task ids; edge attr ``data``)."""
    if graph.number_of_nodes() == 0:
        return (
            '<svg class="dag" width="200" height="30"><text x="10" y="20">(no tasks)</text></svg>'
        )
    layers = [sorted(layer, key=str) for layer in nx.topological_generations(graph)]
    widths = [max(len(str(t)) for t in layer) * _W_CHAR + 16 for layer in layers]
    pos: dict[str, tuple[float, float, float]] = {}
    x = _PAD
    for layer, width in zip(layers, widths, strict=True):
        for i, task_id in enumerate(layer):
            pos[task_id] = (x, _PAD + i * (_H + _GAP_Y), width)
        x += width + _GAP_X
    height = _PAD * 2 + max(len(layer) for layer in layers) * (_H + _GAP_Y)
    parts = [
        f'<svg class="dag" xmlns="http://www.w3.org/2000/svg" width="{x - _GAP_X + _PAD:.0f}" '
        f'height="{height:.0f}" role="img" aria-label="{escape(title)}">',
        '<defs><marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" '
        'markerHeight="7" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" '
        'fill="#555"/></marker></defs>',
    ]
    for up, down, data in graph.edges(data=True):
        x1, y1, w1 = pos[up]
        x2, y2, _ = pos[down]
        sx, sy, ex, ey = x1 + w1, y1 + _H / 2, x2, y2 + _H / 2
        mid = (sx + ex) / 2
        dash = "" if data.get("data") else ' stroke-dasharray="4 3"'
        parts.append(
            f'<path d="M{sx:.0f},{sy:.0f} C{mid:.0f},{sy:.0f} '
            f'{mid:.0f},{ey:.0f} {ex:.0f},{ey:.0f}" '
            f'fill="none" stroke="#555"{dash} marker-end="url(#arrow)"/>'
        )
    for task_id, (nx_, ny, width) in pos.items():
        parts.append(
            f'<g class="node"><rect x="{nx_:.0f}" y="{ny:.0f}" width="{width:.0f}" height="{_H}" '
            f'rx="5" fill="#eef3fb" stroke="#4a6fa5"/><text x="{nx_ + 8:.0f}" y="{ny + 17:.0f}" '
            f'font-family="monospace" font-size="12">{escape(str(task_id))}</text></g>'
        )
    parts.append("</svg>")
    return "".join(parts)
