"""What ``dagshift migrate --verify`` and ``--report FILE`` add to a migration.

The converter never imports the files it converts. Verification does, on request: it loads
each original through the import shim and its conversion through the runtime, draws both
graphs and runs both at one logical date (see :mod:`dagshift.verify.compare`); with
``--verify=graph`` it compares graphs, data edges and task options and runs no task (the
files are still imported: module-level code runs, as when Airflow parses them). Reports are
written atomically in the format of the file's suffix: ``.html`` (self-contained page),
``.md`` (for a pull request) or JSON (the converter's schema plus ``verification`` per file).
"""

from __future__ import annotations

import json
import sys
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from dagshift.runtime.files import write_atomic
from dagshift.verify.report import FileReport, render_html, render_markdown

__all__ = ["verify_entry", "write_migration_report"]


def _graphs(flows: list[Any]) -> dict[str, Any]:
    return {flow.name: flow.graph for flow in flows}


def verify_entry(
    entry: dict[str, Any],
    *,
    logical_date: Any = None,
    parameters: Mapping[str, Any] | None = None,
    run: bool = True,
    time_limit: float | None = None,
) -> dict[str, Any]:
    """Verify one converter entry (``path``, ``status``, ``source``, ``code``) in place;
    ``run=False``: compare graphs, data edges and task options only, running no task;
    ``time_limit``: seconds each run may take (``verify_flows``).

    Adds ``verification`` (a list of per-flow results, or None when there is nothing to
    verify), ``graphs_before`` and ``graphs_after``; a file that cannot be loaded gets a
    verification that says why.
    """
    import dagshift.compat
    from dagshift.runtime.loader import LoadError, load_file
    from dagshift.verify.compare import verify_flows

    entry.setdefault("verification", None)
    if entry.get("status") not in ("converted", "partial") or entry.get("code") is None:
        return entry
    dagshift.compat.install()
    original = Path(entry["path"])
    with tempfile.TemporaryDirectory(prefix="dagshift-verify-") as tmp:
        # Beside the original's folder content (imports of sibling modules keep working).
        converted = Path(tmp) / original.name
        converted.write_text(entry["code"], encoding="utf-8")
        sys.path.insert(0, str(original.parent.resolve()))  # the original's sibling modules
        try:
            before = load_file(original)
            after = load_file(converted)
        except LoadError as exc:
            failure = {"kind": "load", "flow": None, "task": None, "message": str(exc)}
            entry["verification"] = [{"flow": original.name, "ok": False, "differences": [failure]}]
            return entry
        finally:
            sys.path.remove(str(original.parent.resolve()))
        entry["graphs_before"] = _graphs(before)
        entry["graphs_after"] = _graphs(after)
        checks = verify_flows(
            before,
            after,
            logical_date=logical_date,
            parameters=parameters,
            run=run,
            time_limit=time_limit,
        )
    entry["verification"] = [check.to_dict() for check in checks]
    return entry


def _file_report(entry: dict[str, Any]) -> FileReport:
    after = entry.get("code")
    return FileReport(
        path=str(entry["path"]),
        status=entry["status"],
        findings=list(entry.get("findings", [])),
        before=entry.get("source"),
        after=after if after is not None and after != entry.get("source") else None,
        graphs_before=entry.get("graphs_before", {}),
        graphs_after=entry.get("graphs_after", {}),
        verification=entry.get("verification"),
        bridged=list(entry.get("bridged", [])),
        kept=list(entry.get("kept", [])),
    )


def _json(entries: list[dict[str, Any]], summary: Mapping[str, int]) -> str:
    files = []
    for e in entries:
        item = {k: e[k] for k in ("path", "status", "findings")}
        item["path"] = str(item["path"])
        item["bridged"] = e.get("bridged", [])
        item["kept"] = e.get("kept", [])
        if "verification" in e:
            item["verification"] = e["verification"]
        files.append(item)
    verified = [e["verification"] for e in entries if e.get("verification") is not None]
    out = {
        "files": files,
        "summary": {
            **summary,
            "bridged": sum(len(e.get("bridged", ())) for e in entries),
            "verified": sum(1 for v in verified if all(c["ok"] for c in v)),
            "differs": sum(1 for v in verified if not all(c["ok"] for c in v)),
        },
    }
    return json.dumps(out, indent=2, default=str) + "\n"


def write_migration_report(
    target: str | Path, entries: list[dict[str, Any]], summary: Mapping[str, int]
) -> None:
    """Write the report for ``entries`` to ``target`` (.html, .md, else JSON), atomically."""
    target = Path(target)
    if target.suffix == ".html":
        text = render_html([_file_report(e) for e in entries])
    elif target.suffix == ".md":
        text = render_markdown([_file_report(e) for e in entries])
    else:
        text = _json(entries, summary)
    write_atomic(target, text)
