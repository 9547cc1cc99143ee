"""Terminal output of runs: one rich table per run."""

from __future__ import annotations

import sys
from collections.abc import Iterable

from rich.console import Console
from rich.table import Table

from dagshift.runtime.executor import FlowRun

__all__ = ["print_runs", "run_table"]

_STYLES = {"success": "green", "failed": "bold red", "skipped": "yellow", "upstream_failed": "red"}


def _short(text: str | None, width: int = 60) -> str:
    if not text:
        return ""
    text = text.strip().splitlines()[-1] if text.strip() else ""
    return text if len(text) <= width else text[: width - 1] + "…"


def _repr(tr) -> str:
    return "" if tr.state != "success" or tr.result is None else repr(tr.result)


def run_table(run: FlowRun) -> Table:
    """A table of one run: task, state, tries, duration, and the error of a failed task."""
    title = f"{run.flow_name}: [{_STYLES.get(run.state, '')}]{run.state}[/] in {run.duration:.2f}s"
    table = Table(title=title, title_justify="left")
    table.add_column("task")
    table.add_column("state")
    table.add_column("tries", justify="right")
    table.add_column("duration", justify="right")
    table.add_column("result / error")
    for task_id, tr in run.tasks.items():
        duration = f"{tr.duration:.3f}s" if tr.duration is not None and tr.tries else "-"
        note = _short(tr.error) or _short(tr.message) or _short(_repr(tr))
        style = _STYLES.get(tr.state, "")
        table.add_row(task_id, f"[{style}]{tr.state}[/]", str(tr.tries), duration, note)
    return table


def print_runs(runs: Iterable[FlowRun], console: Console | None = None) -> None:
    console = console or Console(file=sys.stdout)
    for run in runs:
        console.print(run_table(run))
