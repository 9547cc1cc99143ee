"""Asset events and run origins in the history database.

Producers write (:func:`record_event`; a task's outlets when it succeeds, see
:mod:`dagshift.history.checkpoint`), consumers read: an asset-scheduled flow has a cursor, the
id of the last event its runs consumed. Events after the cursor on the flow's assets are
*pending*; when they satisfy its condition, :func:`start_consumer_run` records the run, its
origin (the events, their producers) and the moved cursor in one transaction, so a run is
started once per satisfied condition whichever process (or how many services) sees the
events, and an event written while no ``serve`` runs (or while it was killed) is still
pending when one starts. A flow seen for the first time starts its cursor at the latest event
then (Airflow queues only events that come after a DAG is scheduled on an asset).
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

from dagshift.history.store import Store, _jsonable

__all__ = [
    "consumer_cursor",
    "describe_origin",
    "event_dicts",
    "events_of",
    "external_group_states",
    "external_states",
    "events_for_run",
    "last_event_id",
    "last_scheduled_interval",
    "origin_statement",
    "pending_events",
    "record_event",
    "recorded_events",
    "record_origin",
    "run_origin",
    "satisfied_events",
    "start_consumer_run",
]


def record_event(
    store: Store,
    uri: str,
    name: str | None = None,
    extra: Mapping[str, Any] | None = None,
    *,
    flow: str | None = None,
    run_id: str | None = None,
    task_id: str | None = None,
    alias: str | None = None,
) -> int:
    """Record one update of the asset at ``uri``; return the event's id."""
    with store._lock:
        store._change(
            f"record an event of asset {uri!r}",
            (
                "INSERT INTO asset_events (uri, name, extra, flow, run_id, task_id, alias, "
                "created) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    uri,
                    name or uri,
                    json.dumps(_jsonable(dict(extra or {})), sort_keys=True),
                    flow,
                    run_id,
                    task_id,
                    alias,
                    time.time(),
                ),
            ),
        )
        return store._query("SELECT last_insert_rowid() AS id")[0]["id"]


def last_event_id(store: Store) -> int:
    rows = store._query("SELECT MAX(id) AS id FROM asset_events")
    return rows[0]["id"] or 0


def consumer_cursor(store: Store, flow: str) -> int:
    """The id of the last event ``flow``'s runs consumed; set to the latest event if new."""
    rows = store._query("SELECT last_event FROM asset_cursors WHERE flow = ?", (flow,))
    if rows:
        return rows[0]["last_event"]
    store._change(
        f"start consuming asset events for {flow!r}",
        (
            "INSERT OR IGNORE INTO asset_cursors (flow, last_event) "
            "SELECT ?, COALESCE(MAX(id), 0) FROM asset_events",
            (flow,),
        ),
    )
    return store._query("SELECT last_event FROM asset_cursors WHERE flow = ?", (flow,))[0][
        "last_event"
    ]


def pending_events(
    store: Store, flow: str, uris: Iterable[str], aliases: Iterable[str] = ()
) -> list[dict[str, Any]]:
    """Events after ``flow``'s cursor on ``uris`` or through ``aliases``, oldest first.

    An alias also stands for every asset an event through it has named: later events of that
    asset count for the alias too, as Airflow schedules an alias's consumers on those assets.
    """
    uris, aliases = list(uris), list(aliases)
    if aliases:
        marks = ", ".join("?" * len(aliases))
        named = store._query(
            f"SELECT DISTINCT uri FROM asset_events WHERE alias IN ({marks})", tuple(aliases)
        )
        uris += [r["uri"] for r in named]
    if not uris and not aliases:
        return []
    cursor = consumer_cursor(store, flow)
    where = []
    args: list[Any] = [cursor]
    if uris:
        where.append(f"uri IN ({', '.join('?' * len(uris))})")
        args += uris
    if aliases:
        where.append(f"alias IN ({', '.join('?' * len(aliases))})")
        args += aliases
    rows = store._query(
        f"SELECT * FROM asset_events WHERE id > ? AND ({' OR '.join(where)}) ORDER BY id",
        tuple(args),
    )
    return event_dicts(rows)


def event_dicts(rows: Iterable[Any]) -> list[dict[str, Any]]:
    out = []
    for row in rows:
        event = dict(row)
        event["extra"] = json.loads(event["extra"])
        event["timestamp"] = datetime.fromtimestamp(event["created"], UTC).isoformat()
        out.append(event)
    return out


def origin_statement(
    run_id: str, reason: Mapping[str, Any], run_after: Any = None, interval: Any = None
) -> tuple[str, tuple]:
    """The statement recording why ``run_id`` started (for ``Store.create_run(also=...)``)."""
    start, end = (None, None) if interval is None else interval
    iso = lambda v: None if v is None else v.isoformat()  # noqa: E731
    return (
        "INSERT OR REPLACE INTO run_origins VALUES (?, ?, ?, ?, ?)",
        (run_id, iso(run_after), iso(start), iso(end), json.dumps(_jsonable(dict(reason)))),
    )


def record_origin(
    store: Store, run_id: str, reason: Mapping[str, Any], run_after=None, interval=None
) -> None:
    """Record why ``run_id`` started (``{"kind": "manual"|"scheduled"|..., ...}``)."""
    store._change(
        f"record why run {run_id} started", origin_statement(run_id, reason, run_after, interval)
    )


def run_origin(store: Store, run_id: str) -> dict[str, Any] | None:
    """Why a run started and the interval it was given; None for runs recorded without one."""
    rows = store._query("SELECT * FROM run_origins WHERE run_id = ?", (run_id,))
    if not rows:
        return None
    out = dict(rows[0])
    out["reason"] = json.loads(out["reason"])
    return out


def events_for_run(store: Store, run_id: str) -> list[dict[str, Any]]:
    """The asset events that started ``run_id`` (its ``triggering_asset_events``)."""
    origin = run_origin(store, run_id)
    ids = (origin or {}).get("reason", {}).get("events") or []
    if not ids:
        return []
    rows = store._query(
        f"SELECT * FROM asset_events WHERE id IN ({', '.join('?' * len(ids))}) ORDER BY id",
        tuple(ids),
    )
    return event_dicts(rows)


def start_consumer_run(
    store: Store,
    run_id: str,
    flow: str,
    events: list[dict[str, Any]],
    **create: Any,
) -> bool:
    """Record an asset-triggered run consuming ``events``; False if another process did.

    The run, its origin and the flow's cursor move together: the logical date is the time of
    the newest event, so two services seeing the same events record one run.
    """
    newest = events[-1]
    reason = {
        "kind": "asset",
        "events": [e["id"] for e in events],
        "assets": sorted({e["uri"] for e in events}),
        "producers": sorted({f"{e['flow']}/{e['run_id']}" for e in events if e["flow"]}),
    }
    return store.create_run(
        run_id,
        flow,
        logical_date=newest["timestamp"],
        trigger="asset",
        once=True,
        also=(
            origin_statement(run_id, reason, datetime.now(UTC)),
            (
                "INSERT OR REPLACE INTO asset_cursors (flow, last_event) VALUES (?, ?)",
                (flow, newest["id"]),
            ),
        ),
        **create,
    )


def last_scheduled_interval(store: Store, flow: str) -> Any:
    """The data interval of ``flow``'s latest scheduled timetable run (where ``serve`` resumes)."""
    import pendulum

    from dagshift.runtime.timetables import DataInterval

    rows = store._query(
        "SELECT o.data_interval_start AS s, o.data_interval_end AS e FROM runs r "
        "JOIN run_origins o ON o.run_id = r.run_id WHERE r.flow = ? AND r.trigger = 'scheduled' "
        "AND o.data_interval_start IS NOT NULL ORDER BY o.data_interval_end DESC, r.created DESC "
        "LIMIT 1",
        (flow,),
    )
    if not rows:
        return None
    return DataInterval(pendulum.parse(rows[0]["s"]), pendulum.parse(rows[0]["e"]))


def satisfied_events(store: Store, flow: str, condition: Any) -> list[dict[str, Any]] | None:
    """The pending events of ``flow`` when they satisfy ``condition`` (else None)."""
    keys = list(condition.keys())
    uris = [k for k in keys if not k.startswith("alias:")]
    aliases = [k[len("alias:") :] for k in keys if k.startswith("alias:")]
    events = pending_events(store, flow, uris, aliases)
    if not events:
        return None
    ready = {e["uri"]: True for e in events}
    ready.update({f"alias:{e['alias']}": True for e in events if e["alias"]})
    if aliases:  # an alias also stands for the assets its events named
        named = store._query(
            f"SELECT DISTINCT uri, alias FROM asset_events WHERE alias IN "
            f"({', '.join('?' * len(aliases))})",
            tuple(aliases),
        )
        for row in named:
            if ready.get(row["uri"]):
                ready[f"alias:{row['alias']}"] = True
    return events if condition.evaluate(ready) else None


def events_of(store: Store, uri: str | None = None, alias: str | None = None) -> list[dict]:
    """Every recorded event of the asset at ``uri`` (or through ``alias``), oldest first."""
    column, value = ("uri", uri) if uri is not None else ("alias", alias)
    rows = store._query(f"SELECT * FROM asset_events WHERE {column} = ? ORDER BY id", (value,))
    return event_dicts(rows)


def recorded_events(
    path: str, *, uri: str | None = None, alias: str | None = None
) -> list[dict[str, Any]]:
    """:func:`events_of` the history at ``path`` (a task's ``inlet_events`` read through it)."""
    store = Store(path)
    try:
        return events_of(store, uri=uri, alias=alias)
    finally:
        store.close()


def describe_origin(store: Store, run: Mapping[str, Any]) -> str:
    """Why ``run`` started, in words (for ``dagshift runs``)."""
    origin = run_origin(store, run["run_id"])
    reason = (origin or {}).get("reason") or {}
    kind = reason.get("kind")
    if kind == "asset":
        events = events_for_run(store, run["run_id"])
        by = sorted({f"{e['uri']} by {e['flow'] or '?'}/{e['task_id'] or '?'}" for e in events})
        return f"{len(events)} asset event(s): " + "; ".join(by)
    if kind == "triggered":
        return f"triggered by run {reason.get('by_run')} of {reason.get('by_flow')!r}"
    if kind == "schedule":
        text = f"schedule {reason.get('schedule')}"
        if origin and origin.get("data_interval_start"):
            text += f", interval {origin['data_interval_start']} - {origin['data_interval_end']}"
        return text
    return {"manual": "manual", "backfill": "backfill", "scheduled": "schedule"}.get(
        run["trigger"], run["trigger"]
    )


def external_states(
    store: Store, flow: str, logical_dates: Iterable[Any], task_ids: Iterable[str] | None
) -> list[str | None]:
    """The states an ExternalTaskSensor looks at: per logical date, the latest run of ``flow``
    there (its state, or each of ``task_ids``' states in it); None where there is none."""
    task_ids = list(task_ids) if task_ids is not None else None
    out: list[str | None] = []
    for when in logical_dates:
        iso = when.isoformat()
        rows = store._query(
            "SELECT run_id, state FROM runs WHERE flow = ? AND logical_date = ? "
            "ORDER BY created DESC, rowid DESC LIMIT 1",
            (flow, iso),
        )
        if task_ids is None:
            out.append(rows[0]["state"] if rows else None)
            continue
        states = (
            {t["task_id"]: t["state"] for t in store.task_runs(rows[0]["run_id"])} if rows else {}
        )
        out.extend(states.get(t) for t in task_ids)
    return out


def external_group_states(
    store: Store, flow: str, logical_dates: Iterable[Any], group_id: str
) -> list[dict[str, str] | None]:
    """Per logical date, the states of the tasks of group ``group_id`` (task ids under
    ``<group_id>.``, nested groups included) in the latest run of ``flow`` there; None where
    there is no run."""
    out: list[dict[str, str] | None] = []
    prefix = f"{group_id}."
    for when in logical_dates:
        rows = store._query(
            "SELECT run_id FROM runs WHERE flow = ? AND logical_date = ? "
            "ORDER BY created DESC, rowid DESC LIMIT 1",
            (flow, when.isoformat()),
        )
        if not rows:
            out.append(None)
            continue
        tasks = store.task_runs(rows[0]["run_id"])
        out.append({t["task_id"]: t["state"] for t in tasks if t["task_id"].startswith(prefix)})
    return out
