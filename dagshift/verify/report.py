"""Review reports of a migration: one self-contained HTML page, and Markdown for a pull request.

The HTML page loads nothing from the network and runs no code from the files it shows: every
piece of source text is escaped before it is highlighted (Pygments tokens, each escaped), the
DAG pictures are inline SVG, and the only script filters the summary table by status.
"""

from __future__ import annotations

import difflib
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from html import escape
from typing import Any

import networkx as nx

from dagshift.verify.svg import graph_svg

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

    @property
    def verified(self) -> str:
        if self.verification is None:
            return "not verified"
        return "verified" if all(v["ok"] for v in self.verification) else "differs"


# --------------------------------------------------------------------------- HTML
def _highlight_lines(text: str) -> list[str]:
    """Source text as a list of escaped, syntax-highlighted HTML lines."""
    from pygments.lexers import PythonLexer
    from pygments.token import STANDARD_TYPES

    lines = [""]
    for ttype, value in PythonLexer(stripnl=False, ensurenl=False).get_tokens(text):
        css = ""
        t = ttype
        while t is not None and not css:
            css = STANDARD_TYPES.get(t, "")
            t = t.parent
        for i, part in enumerate(value.split("\n")):
            if i:
                lines.append("")
            if part:
                lines[-1] += f'<span class="{css}">{escape(part)}</span>' if css else escape(part)
    if text.endswith("\n"):
        lines.pop()
    return lines


def _side_by_side(before: str, after: str, context: int = 3) -> str:
    a, b = before.splitlines(), after.splitlines()
    ha, hb = _highlight_lines(before), _highlight_lines(after)
    rows: list[str] = []

    def row(cls: str, i: int | None, j: int | None) -> None:
        left = ha[i] if i is not None else ""
        right = hb[j] if j is not None else ""
        ln = "" if i is None else str(i + 1)
        rn = "" if j is None else str(j + 1)
        rows.append(
            f'<tr class="{cls}"><td class="ln">{ln}</td><td class="code l">{left}</td>'
            f'<td class="ln">{rn}</td><td class="code r">{right}</td></tr>'
        )

    for tag, i1, i2, j1, j2 in difflib.SequenceMatcher(None, a, b, autojunk=False).get_opcodes():
        if tag == "equal":
            n = i2 - i1
            if n > 2 * context + 2:
                for k in range(context):
                    row("eq", i1 + k, j1 + k)
                rows.append(
                    f'<tr class="fold"><td colspan="4">⋯ {n - 2 * context} '
                    "unchanged lines</td></tr>"
                )
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
    return '<table class="diff">' + "".join(rows) + "</table>"


_CSS = """
body{font-family:system-ui,sans-serif;margin:1.5em;color:#222}
h1{font-size:1.4em} h2{font-size:1.15em;margin-top:2em;border-bottom:1px solid #ccc}
table.summary{border-collapse:collapse;margin:1em 0}
.summary td,.summary th{border:1px solid #ccc;padding:.3em .6em;text-align:left}
.badge{padding:.1em .5em;border-radius:.6em;font-size:.85em}
.converted{background:#d8f3dc}.partial{background:#fff3bf}.unchanged{background:#e9ecef}
.not_a_dag{background:#e7f5ff}.failed{background:#ffc9c9}.differs{background:#ffc9c9}.verified{background:#d8f3dc}
table.diff{border-collapse:collapse;width:100%;font-family:monospace;font-size:12px;table-layout:fixed}
table.diff td{vertical-align:top;white-space:pre-wrap;word-break:break-all;padding:0 .4em}
td.ln{width:3em;color:#999;text-align:right;user-select:none} tr.del td.l{background:#ffebe9}
tr.add td.r{background:#e6ffec} tr.chg td.l{background:#ffebe9} tr.chg td.r{background:#e6ffec}
tr.fold td{background:#f1f3f5;color:#666;text-align:center}
.graphs{display:flex;gap:2em;flex-wrap:wrap;align-items:flex-start} .graphs figure{margin:0}
ul.findings li{margin:.2em 0} .filters button{margin-right:.4em}
.filters button.on{font-weight:bold}
"""

_JS = """
window.addEventListener('error', function (e) {
  document.documentElement.setAttribute('data-errors', String(e.message));
});
document.addEventListener('DOMContentLoaded', function () {
  var buttons = document.querySelectorAll('.filters button');
  buttons.forEach(function (b) {
    b.addEventListener('click', function () {
      var want = b.getAttribute('data-filter');
      buttons.forEach(function (o) { o.classList.toggle('on', o === b); });
      document.querySelectorAll('[data-status]').forEach(function (el) {
        el.hidden = !(want === 'all' || el.getAttribute('data-status') === want);
      });
    });
  });
  document.body.setAttribute('data-ready', 'yes');
});
"""


def _pygments_css() -> str:
    from pygments.formatters import HtmlFormatter

    return HtmlFormatter(style="default").get_style_defs("table.diff")


def _findings_html(findings: Sequence[dict[str, Any]]) -> str:
    if not findings:
        return ""
    items = "".join(
        f'<li><code>line {escape(str(f.get("line") or "?"))}</code> '
        f'<code>{escape(str(f.get("code", "")))}</code> {escape(str(f.get("message", "")))}</li>'
        for f in findings
    )
    return f'<h3>TODOs and findings</h3><ul class="findings">{items}</ul>'


def _bridged_html(bridged: Sequence[dict[str, str]]) -> str:
    if not bridged:
        return ""
    items = "".join(
        f"<li><code>{escape(b['task_id'])}</code> ({escape(b['operator'])})</li>" for b in bridged
    )
    return (
        "<h3>Bridged: operators kept as written (run by the compat shim)</h3>"
        f'<ul class="bridged">{items}</ul>'
    )


def _verification_html(report: FileReport) -> str:
    if report.verification is None:
        return "<p>Verification: not run.</p>"
    parts = []
    for check in report.verification:
        varying = _varying(check)
        if check["ok"]:
            parts.append(
                f"<li>✓ {escape(check['flow'])}: same graph, same states and results"
                f"{escape(varying)}</li>"
            )
        else:
            diffs = "".join(f"<li>{escape(d['message'])}</li>" for d in check["differences"])
            parts.append(f"<li>✗ {escape(check['flow'])}{escape(varying)}<ul>{diffs}</ul></li>")
    return f"<h3>Verification</h3><ul>{''.join(parts)}</ul>"


def _varying(check: dict) -> str:
    """The tasks left uncompared because they vary between runs of the original itself."""
    varying = check.get("varying") or ()
    if not varying:
        return ""
    return f" (not compared, they vary between runs of the original: {', '.join(varying)})"


def _graphs_html(report: FileReport) -> str:
    figures = []
    for label, graphs in (("before", report.graphs_before), ("after", report.graphs_after)):
        for name, graph in graphs.items():
            figures.append(
                f"<figure>{graph_svg(graph, f'{name} {label}')}"
                f"<figcaption>{escape(name)} — {label}</figcaption></figure>"
            )
    return f'<div class="graphs">{"".join(figures)}</div>' if figures else ""


def _file_section(index: int, report: FileReport) -> str:
    body = [
        f'<section class="file" id="f{index}" data-status="{escape(report.status)}">',
        f'<h2>{escape(report.path)} <span class="badge {escape(report.status)}">'
        f"{escape(report.status)}</span></h2>",
        _findings_html(report.findings),
        _bridged_html(report.bridged),
        _graphs_html(report),
    ]
    if report.before is not None and report.after is not None and report.before != report.after:
        body.append(_side_by_side(report.before, report.after))
    elif report.before is not None:
        body.append("<p>No changes.</p>")
    body.append(_verification_html(report))
    body.append("</section>")
    return "".join(body)


def render_html(files: Iterable[FileReport], title: str = "dagshift migration report") -> str:
    """One self-contained HTML page for reviewing a migration."""
    files = list(files)
    counts = Counter(f.status for f in files)
    rows = "".join(
        f'<tr data-status="{escape(f.status)}"><td><a href="#f{i}">{escape(f.path)}</a></td>'
        f'<td><span class="badge {escape(f.status)}">{escape(f.status)}</span></td>'
        f"<td>{len(f.findings)}</td><td>{len(f.bridged)}</td>"
        f'<td><span class="badge {f.verified.replace(" ", "_")}">{f.verified}</span></td></tr>'
        for i, f in enumerate(files)
    )
    buttons = '<button data-filter="all" class="on">all</button>' + "".join(
        f'<button data-filter="{s}">{s} ({counts.get(s, 0)})</button>' for s in STATUSES
    )
    totals = ", ".join(f"{counts.get(s, 0)} {s}" for s in STATUSES)
    totals += f"; {sum(len(f.bridged) for f in files)} operators bridged"
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f"<title>{escape(title)}</title><style>{_CSS}{_pygments_css()}</style>"
        f"<script>{_JS}</script></head><body>"
        f"<h1>{escape(title)}</h1><p>{len(files)} files: {totals}.</p>"
        f'<div class="filters">{buttons}</div>'
        f'<table class="summary" id="summary" data-files="{len(files)}"><thead><tr><th>file</th>'
        f"<th>status</th><th>findings</th><th>bridged</th><th>verification</th></tr></thead>"
        f"<tbody>{rows}</tbody></table>"
        + "".join(_file_section(i, f) for i, f in enumerate(files))
        + "</body></html>\n"
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
