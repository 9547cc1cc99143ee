"""Review reports of a migration: one self-contained HTML page, and Markdown for a pull request.

The HTML page is the UI's autoescaped Jinja2 template ``report.html`` (needing Jinja2 only, not
the ``ui`` extra). It loads nothing from the network and runs no code from the files it shows:
source text goes to the template as Pygments tokens, each escaped there; the DAG pictures are
inline SVG drawn by the UI's one graph layout; the only script filters the summary table.
"""

from __future__ import annotations

import difflib
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from html import escape
from typing import Any

import networkx as nx
from markupsafe import Markup

from dagshift.ui.templating import environment, graph_view

__all__ = ["STATUSES", "FileReport", "render_html", "render_markdown"]

STATUSES = ("converted", "partial", "unchanged", "not_a_dag", "failed")


@dataclass
class FileReport:
    """What a report says about one file.

    Attributes:
        path: the file, relative to the input root.
        status: one of ``STATUSES``.
        findings: ``{"code", "line", "message"}`` dicts (TODOs and errors).
        before, after: the source before and after conversion (``after`` None if unchanged).
        graphs_before, graphs_after: DAG / flow name -> graph (edge attr ``data``: data edge).
        verification: ``FlowVerification.to_dict()`` per flow, or None when not verified.
        bridged: ``{"task_id", "operator"}`` dicts: operators kept as written in converted
            DAGs (run by the compat shim).
        kept: ``{"name", "airflow"}`` dicts: other airflow names the converted code keeps
            as written (conf, hooks ...: served by the compat shim).
    """

    path: str
    status: str
    findings: list[dict[str, Any]] = field(default_factory=list)
    before: str | None = None
    after: str | None = None
    graphs_before: dict[str, nx.DiGraph] = field(default_factory=dict)
    graphs_after: dict[str, nx.DiGraph] = field(default_factory=dict)
    verification: list[dict[str, Any]] | None = None
    bridged: list[dict[str, str]] = field(default_factory=list)
    kept: list[dict[str, str]] = field(default_factory=list)

    @property
    def verified(self) -> str:
        if self.verification is None:
            return "not verified"
        return "verified" if all(v["ok"] for v in self.verification) else "differs"


# --------------------------------------------------------------------------- HTML
Tokens = list[tuple[str, str]]  # (Pygments CSS class or "", text): one highlighted line


def _highlight_lines(text: str) -> list[Tokens]:
    """Source text as lines of Pygments tokens; the template escapes each token's text."""
    from pygments.lexers import PythonLexer
    from pygments.token import STANDARD_TYPES

    lines: list[Tokens] = [[]]
    for ttype, value in PythonLexer(stripnl=False, ensurenl=False).get_tokens(text):
        css = ""
        t = ttype
        while t is not None and not css:
            css = STANDARD_TYPES.get(t, "")
            t = t.parent
        for i, part in enumerate(value.split("\n")):
            if i:
                lines.append([])
            if part:
                lines[-1].append((css, part))
    if text.endswith("\n"):
        lines.pop()
    return lines


def _diff_rows(before: str, after: str, context: int = 3) -> list[dict[str, Any]]:
    """Side-by-side rows: ``cls``, line numbers ``ln``/``rn``, tokens ``left``/``right``;
    or ``fold``, the number of unchanged lines left out."""
    a, b = before.splitlines(), after.splitlines()
    ha, hb = _highlight_lines(before), _highlight_lines(after)
    rows: list[dict[str, Any]] = []

    def row(cls: str, i: int | None, j: int | None) -> None:
        rows.append(
            {
                "fold": 0,
                "cls": cls,
                "ln": "" if i is None else i + 1,
                "rn": "" if j is None else j + 1,
                "left": ha[i] if i is not None else [],
                "right": hb[j] if j is not None else [],
            }
        )

    for tag, i1, i2, j1, j2 in difflib.SequenceMatcher(None, a, b, autojunk=False).get_opcodes():
        if tag == "equal":
            n = i2 - i1
            if n > 2 * context + 2:
                for k in range(context):
                    row("eq", i1 + k, j1 + k)
                rows.append({"fold": n - 2 * context})
                for k in range(n - context, n):
                    row("eq", i1 + k, j1 + k)
            else:
                for k in range(n):
                    row("eq", i1 + k, j1 + k)
        else:
            for k in range(max(i2 - i1, j2 - j1)):
                i = i1 + k if i1 + k < i2 else None
                j = j1 + k if j1 + k < j2 else None
                row({"replace": "chg", "delete": "del", "insert": "add"}[tag], i, j)
    return rows


def _pygments_css() -> Markup:
    from pygments.formatters import HtmlFormatter

    # generated by Pygments from its own style, no user text: safe to put in <style> as is
    return Markup(HtmlFormatter(style="default").get_style_defs("table.diff"))


def _varying(check: dict) -> str:
    """The tasks left uncompared because they vary between runs of the original itself."""
    varying = check.get("varying") or ()
    if not varying:
        return ""
    return f" (not compared, they vary between runs of the original: {', '.join(varying)})"


def _graphs(report: FileReport) -> list[tuple[str, str, dict[str, Any]]]:
    """(name, "before"/"after", what the shared ``graph_svg`` macro draws) per graph."""
    out = []
    for label, graphs in (("before", report.graphs_before), ("after", report.graphs_after)):
        for name, graph in graphs.items():
            order = [(u, v) for u, v, data in graph.edges(data=True) if not data.get("data")]
            view = graph_view(graph.nodes, graph.edges, order_edges=order, label=f"{name} {label}")
            out.append((name, label, view))
    return out


def _diff(report: FileReport) -> list[dict[str, Any]] | None:
    if report.before is not None and report.after is not None and report.before != report.after:
        return _diff_rows(report.before, report.after)
    return None


def render_html(files: Iterable[FileReport], title: str = "dagshift migration report") -> str:
    """One self-contained HTML page for reviewing a migration (the UI's autoescaped
    ``report.html`` template and its graph layout)."""
    files = list(files)
    return (
        environment()
        .get_template("report.html")
        .render(
            title=title,
            files=files,
            statuses=STATUSES,
            counts=Counter(f.status for f in files),
            bridged_total=sum(len(f.bridged) for f in files),
            graphs=[_graphs(f) for f in files],
            diffs=[_diff(f) for f in files],
            varying=_varying,
            pygments_css=_pygments_css(),
        )
        + "\n"
    )


# ------------------------------------------------------------------------ Markdown
def graph_mermaid(graph: nx.DiGraph) -> str:
    """Mermaid text of a graph (GitHub renders it in a ```mermaid block)."""
    ids = {t: f"n{i}" for i, t in enumerate(graph.nodes)}
    lines = ["flowchart LR"]
    for task_id, ident in ids.items():
        lines.append(f'    {ident}["{str(task_id).replace(chr(34), "#quot;")}"]')
    for up, down, data in graph.edges(data=True):
        arrow = "-->" if data.get("data") else "-.->"
        lines.append(f"    {ids[up]} {arrow} {ids[down]}")
    return "\n".join(lines)


def _fence(text: str, lang: str) -> str:
    longest = max((len(run) for run in text.split("\n") if set(run) == {"`"}), default=0)
    ticks = "`" * max(3, longest + 1)
    return f"{ticks}{lang}\n{text.rstrip()}\n{ticks}"


def render_markdown(files: Iterable[FileReport], title: str = "dagshift migration report") -> str:
    """A Markdown report for a pull request: summary, per file a collapsible diff, the graph
    as Mermaid, and the TODO list."""
    files = list(files)
    counts = Counter(f.status for f in files)
    out = [f"# {title}", "", "| status | files |", "| --- | --- |"]
    out += [f"| {s} | {counts.get(s, 0)} |" for s in STATUSES]
    out += [f"| operators bridged | {sum(len(f.bridged) for f in files)} |"]
    out += ["", "| file | status | findings | bridged | verification |"]
    out += ["| --- | --- | --- | --- | --- |"]
    out += [
        f"| `{f.path}` | {f.status} | {len(f.findings)} | {len(f.bridged)} | {f.verified} |"
        for f in files
    ]
    for f in files:
        out += ["", f"## `{f.path}` — {f.status}", ""]
        for finding in f.findings:
            out.append(
                f"- [ ] line {finding.get('line') or '?'}: `{finding.get('code')}` "
                f"{escape(str(finding.get('message')))}"
            )
        for b in f.bridged:
            out.append(
                f"- bridged (kept as written, runs through the shim): `{b['task_id']}` "
                f"({b['operator']})"
            )
        for k in f.kept:
            out.append(
                f"- kept (an airflow name served by the shim): `{k['name']}` ({k['airflow']})"
            )
        for name, graph in f.graphs_after.items():
            out += ["", f"Flow `{name}`:", "", _fence(graph_mermaid(graph), "mermaid")]
        if f.before is not None and f.after is not None and f.before != f.after:
            diff = "".join(
                difflib.unified_diff(
                    f.before.splitlines(keepends=True),
                    f.after.splitlines(keepends=True),
                    fromfile=f"a/{f.path}",
                    tofile=f"b/{f.path}",
                )
            )
            out += [
                "",
                "<details><summary>diff</summary>",
                "",
                _fence(diff, "diff"),
                "",
                "</details>",
            ]
        if f.verification is not None:
            out.append("")
            for check in f.verification:
                mark = "✓" if check["ok"] else "✗"
                out.append(f"- {mark} verification of `{check['flow']}`{escape(_varying(check))}")
                out += [f"  - {escape(d['message'])}" for d in check["differences"]]
    return "\n".join(out) + "\n"
