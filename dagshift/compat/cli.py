"""``dagshift inspect FILE``: the DAGs and flows a file defines, their tasks and edges.

Only the file's own module code runs (as when Airflow parses a DAG file); no task runs.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

__all__ = ["describe", "register"]


def describe(flow: Any) -> dict[str, Any]:
    """A JSON-ready description of one flow or Airflow DAG."""
    dag = getattr(flow, "dag", None)
    tasks = []
    for task_id, node in flow.tasks.items():
        op = node.meta.get("operator")
        tasks.append(
            {
                "id": task_id,
                "type": type(op).__name__ if op is not None else f"@task {node.task.name}",
                "trigger_rule": node.trigger_rule,
                "retries": node.options["retries"],
                "mapped": node.map_spec is not None,
                "upstream": flow.upstream_ids(task_id),
            }
        )
    edges = [
        {
            "from": up,
            "to": down,
            "data": [b.argument for b in data.get("data", [])],
        }
        for up, down, data in flow.graph.edges(data=True)
    ]
    schedule = flow.schedule
    return {
        "kind": "airflow_dag" if dag is not None else "flow",
        "file": getattr(dag, "fileloc", None),
        "schedule": schedule if schedule is None or isinstance(schedule, str) else str(schedule),
        "airflow_generation": getattr(dag, "generation", None),
        "tasks": tasks,
        "edges": edges,
    }


def airflow_names(path: str | Path) -> dict[str, list[str]]:
    """The Airflow names a loaded file imports, by who serves them: ``shim`` (dagshift's own
    implementation) or ``bridge`` (real Airflow, in a process of its own)."""
    import ast
    import sys

    from dagshift.compat.bridge import _classes
    from dagshift.compat.paths import PATHS

    tree = ast.parse(Path(path).read_text(encoding="utf-8"))
    found: dict[str, list[str]] = {"shim": [], "bridge": []}
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [(node.module, a.name) for a in node.names]
        elif isinstance(node, ast.Import):
            names = [(a.name.rpartition(".")[0], a.name.rpartition(".")[2]) for a in node.names]
        else:
            continue
        for module, name in names:
            full = f"{module}.{name}" if module else name
            if not full.startswith("airflow"):
                continue
            shim = full in PATHS or name in PATHS.get(module, {})
            bridged = (module, name) in _classes or getattr(
                sys.modules.get(full), "__dagshift_bridge__", False
            )
            if shim or bridged:
                found["shim" if shim else "bridge"].append(full)
    return {k: sorted(set(v)) for k, v in found.items()}


def _inspect(args: argparse.Namespace) -> int:
    import dagshift.compat
    from dagshift.runtime.loader import LoadError, load_path

    dagshift.compat.install()
    errors: list[LoadError] = []
    flows = load_path(args.path, errors)
    for error in errors:
        print(f"dagshift: cannot load {error}", file=sys.stderr)
    found = {flow.name: describe(flow) for flow in flows}
    names: dict[str, dict[str, list[str]]] = {}
    for info in found.values():
        if info["file"]:
            names.setdefault(info["file"], airflow_names(info["file"]))
            info["airflow_names"] = names[info["file"]]
    if args.json:
        print(json.dumps(found, indent=2, default=str))
    else:
        _print(found)
        for file, served in names.items():
            bridged = ", ".join(served["bridge"]) or "none"
            print(f"{file}: {len(served['shim'])} Airflow names from the shim; bridged: {bridged}")
    if errors:
        return 2
    if not flows:
        print(f"dagshift: no flows or DAGs found in {args.path}", file=sys.stderr)
        return 2
    return 0


def _print(found: dict[str, Any]) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console()
    for name, info in found.items():
        kind = "Airflow DAG" if info["kind"] == "airflow_dag" else "flow"
        table = Table(title=f"{name} ({kind}, schedule: {info['schedule']})", title_justify="left")
        for column in ("task", "type", "trigger rule", "upstream"):
            table.add_column(column)
        for t in info["tasks"]:
            mapped = " (mapped)" if t["mapped"] else ""
            table.add_row(t["id"], t["type"] + mapped, t["trigger_rule"], ", ".join(t["upstream"]))
        console.print(table)


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "inspect",
        help="list the DAGs and flows in a file with their tasks and edges",
        description="Import FILE (or every .py file in a folder) with the Airflow shim and "
        "list its DAGs and flows, their tasks and edges, without running any task.",
    )
    p.add_argument("path", metavar="FILE|FOLDER")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(func=_inspect)
