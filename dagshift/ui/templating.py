"""The one Jinja2 environment of the UI's pages and the HTML migration report.

It needs only Jinja2 and networkx (core dependencies), not the ``ui`` extra, so ``migrate
--report report.html`` writes its page without Starlette installed. Every template is
autoescaped whatever its name (SVG included): task ids, errors, logs and code are hostile
input. Graphs are drawn by the ``graph_svg`` macro in ``_macros.html`` from one
:func:`~dagshift.ui.graph_svg.layout`, in the UI and in the report alike.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

import jinja2

from dagshift.ui.graph_svg import NODE_H, NODE_W, layout

__all__ = ["environment", "graph_view"]

TEMPLATES = Path(__file__).parent / "templates"


def _when(ts: float | None) -> str:
    return "" if ts is None else datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%d %H:%M:%S")


def _seconds(value: float | None) -> str:
    if value is None:
        return ""
    return f"{value:.2f}s" if value < 60 else f"{value / 60:.1f}min"


def environment() -> jinja2.Environment:
    """A fresh environment over ``dagshift/ui/templates``, autoescaping every template."""
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES),
        autoescape=True,  # every template, whatever its name (SVG included)
        undefined=jinja2.StrictUndefined,
    )
    env.filters.update(when=_when, seconds=_seconds, q=lambda s: quote(str(s), safe=""))
    env.globals.update(node_w=NODE_W, node_h=NODE_H)
    return env


def graph_view(
    tasks: Iterable[str],
    edges: Iterable[tuple[str, str]],
    states: dict[str, str] | None = None,
    order_edges: Iterable[tuple[str, str]] = (),
    label: str = "task graph",
) -> dict[str, Any]:
    """What the ``graph_svg`` macro draws: the layout, each task's state, which edges pass
    no data (drawn dashed) and the picture's accessible label. Edges to unknown tasks are
    left out."""
    tasks = [str(t) for t in tasks]
    known = set(tasks)
    edges = [(str(u), str(v)) for u, v in edges if str(u) in known and str(v) in known]
    return {
        "layout": layout(tasks, edges),
        "states": states or {},
        "order": {(str(u), str(v)) for u, v in order_edges},
        "label": label,
    }
