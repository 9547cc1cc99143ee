"""Runs handed by the UI to a ``serve`` running on the same history.

A ``serve`` announces itself at every file scan (its pid, host and the flows it serves, in the
``services`` table) and withdraws when it stops. When the UI (or GraphQL's ``triggerRun``)
starts a run of a flow that a live ``serve`` serves, it does not run it itself: it records the
run ``queued`` with its parameters and logical date, owned by no process, and marks it handed
off (``run_handoffs``). At each tick a ``serve`` of that flow claims the handed-off runs of
its flows by compare-and-swap: one UPDATE sets its pid only where no pid is set yet and the run
is still queued, and drops the mark in the same transaction; so a run starts once however many
serves watch the history, and a run cancelled while it waited is not claimed. A serve is live
while its process lives (same host) or, on another host, while it announced itself within a
few of its scan periods.

A handed-off run stays marked as such in its origin (``run_origins``, kind ``handoff``), so
when the process that claimed it dies (a serve SIGKILLed mid-run) it is taken over like a
scheduled run: by the next file scan of a serve of its flow on that host (the restarted one,
or another), or by the UI that handed it off when no serve of the flow is left; the claim is
the store's compare-and-swap on the dead pid and host, so it resumes once, and tasks recorded
as succeeded are not run again.
"""

from __future__ import annotations

import json
import os
import socket
import time
from collections.abc import Iterable, Mapping
from typing import Any

import cloudpickle

from dagshift.history.assets import origin_statement
from dagshift.history.store import Store, StoreError

__all__ = [
    "active",
    "announce",
    "claim",
    "hand_off",
    "handed_off",
    "live_service",
    "waiting",
    "withdraw",
]

HANDOFF = "handoff"  # the kind of a handed-off run's origin

SCANS_OF_SILENCE = 3  # a serve on another host not seen for this many scan periods is gone
_SLACK = 5.0  # seconds, on top: a scan may wait for a slow tick


def announce(store: Store, flows: Iterable[str], poll: float) -> None:
    """Record that this process serves ``flows`` (scanning files every ``poll`` seconds)."""
    now = time.time()
    store._change(
        "announce this serve",
        (
            "INSERT INTO services (pid, host, started, seen, poll, flows) "
            "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (pid, host) DO UPDATE SET "
            "seen = excluded.seen, poll = excluded.poll, flows = excluded.flows",
            (os.getpid(), socket.gethostname(), now, now, poll, json.dumps(sorted(flows))),
        ),
    )


def withdraw(store: Store) -> None:
    """This process serves no more: runs handed over from now on run in the UI's process."""
    store._change(
        "withdraw this serve",
        ("DELETE FROM services WHERE pid = ? AND host = ?", (os.getpid(), socket.gethostname())),
    )


def live_service(store: Store, flow: str, host: str | None = None) -> dict[str, Any] | None:
    """A live ``serve`` that serves ``flow`` (``pid``, ``host``, ``seen``...), or None; with
    ``host``, only one on that host (only those can tell that a run's process there is gone).

    Entries of serves on this host whose process is gone (killed) are removed on the way."""
    rows = [dict(r) for r in store._query("SELECT * FROM services ORDER BY started")]
    gone = []
    found = None
    for row in rows:
        alive = store.run_is_alive({"state": "running", "pid": row["pid"], "host": row["host"]})
        if alive is None:  # another host: trust its last announcement for a while
            alive = time.time() - row["seen"] <= SCANS_OF_SILENCE * row["poll"] + _SLACK
        elif not alive:
            gone.append((row["pid"], row["host"]))
            continue
        if (
            alive
            and found is None
            and flow in json.loads(row["flows"])
            and host in (None, row["host"])
        ):
            found = row
    if gone:
        store._change(
            "forget serves that are gone",
            *[("DELETE FROM services WHERE pid = ? AND host = ?", key) for key in gone],
        )
    return found


def hand_off(
    store: Store,
    run_id: str,
    flow: str,
    *,
    parameters: Mapping[str, Any],
    params: Mapping[str, Any],
    logical_date: str,
    trigger: str,
    version: int | None,
    path: str | None,
) -> None:
    """Record a run ``queued``, owned by no process, for a ``serve`` of ``flow`` to claim.

    ``parameters`` are as given (pickled, as ``dagshift run`` keeps them for a resume),
    ``params`` the resolved ones shown in the history."""
    try:
        blob = cloudpickle.dumps(dict(parameters))
    except Exception:  # not picklable: the serve runs it with the JSON copy of ``params``
        blob = None
    recorded = store.create_run(
        run_id,
        flow,
        logical_date=logical_date,
        params=params,
        params_blob=blob,
        trigger=trigger,
        version=version,
        path=path,
        also=(
            ("UPDATE runs SET pid = NULL, host = NULL WHERE run_id = ?", (run_id,)),
            ("INSERT INTO run_handoffs VALUES (?, ?, ?)", (run_id, flow, time.time())),
            origin_statement(run_id, {"kind": HANDOFF, "trigger": trigger}),
        ),
    )
    if not recorded:
        raise StoreError(f"{store.path}: run {run_id} could not be recorded")


def waiting(store: Store, flows: Iterable[str]) -> list[dict[str, Any]]:
    """Handed-off runs of ``flows`` still queued and unclaimed, oldest first."""
    names = list(flows)
    if not names:
        return []
    rows = store._query(
        "SELECT r.run_id FROM run_handoffs h JOIN runs r ON r.run_id = h.run_id "
        f"WHERE h.flow IN ({', '.join('?' * len(names))}) AND r.state = 'queued' "
        "AND r.pid IS NULL ORDER BY h.created",
        tuple(names),
    )
    return [store.get_run(r["run_id"]) for r in rows]


def claim(store: Store, run_id: str) -> bool:
    """Take a handed-off run for this process; False if another serve took it first or it is
    no longer queued (cancelled)."""
    return (
        store._change(
            f"claim handed-off run {run_id}",
            (
                "UPDATE runs SET pid = ?, host = ? WHERE run_id = ? AND state = 'queued' "
                "AND pid IS NULL AND host IS NULL "
                "AND run_id IN (SELECT run_id FROM run_handoffs)",
                (os.getpid(), socket.gethostname(), run_id),
            ),
            ("DELETE FROM run_handoffs WHERE run_id = ? AND changes() = 1", (run_id,)),
        )
        == 2
    )


def handed_off(store: Store, run_ids: Iterable[str]) -> set[str]:
    """Which of ``run_ids`` were handed to a serve (claimed since or not)."""
    ids = list(run_ids)
    if not ids:
        return set()
    rows = store._query(
        "SELECT run_id FROM run_origins WHERE json_extract(reason, '$.kind') = ? "
        f"AND run_id IN ({', '.join('?' * len(ids))})",
        (HANDOFF, *ids),
    )
    return {r["run_id"] for r in rows}


def active(store: Store) -> list[str]:
    """The handed-off runs still queued or running, claimed or not."""
    rows = store._query(
        "SELECT r.run_id FROM runs r JOIN run_origins o ON o.run_id = r.run_id "
        "WHERE r.state IN ('queued', 'running') AND json_extract(o.reason, '$.kind') = ?",
        (HANDOFF,),
    )
    return [r["run_id"] for r in rows]
