"""Drawing a flow's graph as text: Mermaid (GitHub renders it) and Graphviz DOT."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from dagshift.runtime.flow import Flow

__all__ = ["edge_label", "to_dot", "to_mermaid"]

_SHAPES = {"branch": ("{", "}"), "short_circuit": ("{{", "}}"), "task": ("[", "]")}


def _mermaid_id(task_id: str, used: dict[str, str]) -> str:
    if task_id not in used:
        base = re.sub(r"\W", "_", task_id) or "t"
        ident, n = base, 1
        while ident in used.values():
            ident, n = f"{base}_{n}", n + 1
        used[task_id] = ident
    return used[task_id]


def edge_label(bindings: list) -> str:
    parts = []
    for b in bindings:
        sel = "".join(f"[{k!r}]" for k in b.selector)
        parts.append(f"{b.argument}{sel}")
    return ", ".join(parts)


def _escape_mermaid(text: str) -> str:
    return text.replace('"', "#quot;")


def to_mermaid(flow: Flow) -> str:
    """Mermaid flowchart: solid arrows carry data (labelled), dotted arrows only order."""
    used: dict[str, str] = {}
    lines = ["flowchart LR"]
    for task_id, data in flow.graph.nodes(data=True):
        left, right = _SHAPES.get(data["task"].kind, ("[", "]"))
        lines.append(f'    {_mermaid_id(task_id, used)}{left}"{_escape_mermaid(task_id)}"{right}')
    for up, down, data in flow.graph.edges(data=True):
        a, b = _mermaid_id(up, used), _mermaid_id(down, used)
        if data["data"]:
            lines.append(f'    {a} -->|"{_escape_mermaid(edge_label(data["data"]))}"| {b}')
        else:
            lines.append(f"    {a} -.-> {b}")
    return "\n".join(lines) + "\n"


def _dot_quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def to_dot(flow: Flow) -> str:
    """Graphviz DOT: data edges solid and labelled, order edges dashed."""
    lines = [f"digraph {_dot_quote(flow.name)} {{", "    rankdir=LR;"]
    for task_id, data in flow.graph.nodes(data=True):
        shape = "diamond" if data["task"].kind != "task" else "box"
        lines.append(f"    {_dot_quote(task_id)} [shape={shape}];")
    for up, down, data in flow.graph.edges(data=True):
        if data["data"]:
            attrs = f"label={_dot_quote(edge_label(data['data']))}"
        else:
            attrs = "style=dashed"
        lines.append(f"    {_dot_quote(up)} -> {_dot_quote(down)} [{attrs}];")
    lines.append("}")
    return "\n".join(lines) + "\n"
