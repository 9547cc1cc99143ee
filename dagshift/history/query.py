"""What the UI and the GraphQL API ask of the history, beyond single rows: a version's shape
(tasks, edges, parameters, schedule, source) and what changed between two versions, the next
scheduled runs, a short view of a checkpointed result. Reads go through the
:class:`~dagshift.history.store.Store`; nothing here writes."""

from __future__ import annotations

import difflib
import time
from pathlib import Path
from typing import Any

from dagshift.history.store import SOURCE_LIMIT, Store, flow_shape

__all__ = ["SOURCE_LIMIT", "flow_shape", "next_scheduled", "result_preview", "version_changes"]

PREVIEW_LIMIT = 2_000


def version_changes(store: Store, flow: str, old: int, new: int) -> dict[str, Any] | None:
    """Tasks and edges added and removed from version ``old`` to ``new``, and the unified
    diff of the flow's file; None when either version's shape was not recorded."""
    a, b = store.version_graph(flow, old), store.version_graph(flow, new)
    if a is None or b is None:
        return None
    tasks_a = {t["id"] for t in a["tasks"]}
    tasks_b = {t["id"] for t in b["tasks"]}
    edges_a = {tuple(e) for e in a["edges"]}
    edges_b = {tuple(e) for e in b["edges"]}
    diff = difflib.unified_diff(
        (a["source"] or "").splitlines(keepends=True),
        (b["source"] or "").splitlines(keepends=True),
        f"version {old}",
        f"version {new}",
    )
    return {
        "old": old,
        "new": new,
        "tasks_added": sorted(tasks_b - tasks_a),
        "tasks_removed": sorted(tasks_a - tasks_b),
        "edges_added": sorted(edges_b - edges_a),
        "edges_removed": sorted(edges_a - edges_b),
        "code_diff": "".join(diff),
    }


def next_scheduled(store: Store, now: float | None = None, limit: int = 10) -> list[dict]:
    """The next due time of every flow whose latest version has a schedule, soonest first."""
    import cloudpickle
    import pendulum

    when = pendulum.from_timestamp(time.time() if now is None else now)
    out = []
    for row in store.latest_schedules():
        if not row["blob"]:
            continue
        try:
            due = cloudpickle.loads(row["blob"]).next_after(when)
        except Exception:  # pickled by code that changed since: no preview, not an error
            continue
        if due is not None:
            out.append({"flow": row["flow"], "due": due.isoformat(), "schedule": row["schedule"]})
    return sorted(out, key=lambda r: r["due"])[:limit]


def result_preview(
    store: Any, uri: str | None, note: str | None, run_id: str, task_id: str
) -> str | None:
    """A short ``repr`` of a checkpointed result (or why there is none)."""
    if not uri:
        return note
    from dagshift.history.checkpoint import ResultReadError, ResultStore, read_result
    from dagshift.history.store import IN_DB

    files = ResultStore(store.path.parent if uri == IN_DB else Path(uri).parent.parent)
    try:
        data = read_result(store, files, {"task_id": task_id, "result_uri": uri}, run_id)
    except ResultReadError as exc:
        return str(exc)
    text = repr(data["result"])
    return text if len(text) <= PREVIEW_LIMIT else text[: PREVIEW_LIMIT - 3] + "..."
