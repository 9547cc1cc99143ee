"""Run history in one SQLite file: flows, their versions, runs and task runs.

One :class:`Store` holds one connection, shared by the threads of a process under a lock;
several processes (a ``serve``, a ``dagshift run``, a ``dagshift runs``) share the file through
SQLite's write-ahead log, each write a short transaction that waits for a busy file rather than
failing. Rows are only ever added or moved forward (``running`` -> ``success``/``failed``/
``interrupted``); nothing here deletes a run, and a file that cannot be read is reported, never
replaced, so no recorded run is lost.

A run whose process died (SIGKILL, power loss) stays ``running`` with the id and host of the
process that owned it; :meth:`Store.run_is_alive` tells a live run from a dead one, and
``dagshift run --resume`` takes it over. Versions: :func:`flow_fingerprint` hashes a flow's graph
and the code of its tasks; :meth:`Store.register` adds a version only when that hash changes.
"""

from __future__ import annotations

import functools
import hashlib
import inspect
import json
import operator
import os
import re
import socket
import sqlite3
import threading
import time
import uuid
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from datetime import date, datetime
from pathlib import Path
from typing import Any

__all__ = [
    "DEFAULT_DB",
    "RunNotFound",
    "Store",
    "StoreError",
    "default_db_path",
    "default_timeout",
    "flow_fingerprint",
    "new_run_id",
]

DEFAULT_DB = Path(".dagshift") / "dagshift.db"
ENV_DB = "DAGSHIFT_DB"
ENV_TIMEOUT = "DAGSHIFT_DB_TIMEOUT"
DEFAULT_TIMEOUT = 30.0
ACTIVE = ("queued", "running")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS flows (
    name TEXT PRIMARY KEY,
    created REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS versions (
    flow TEXT NOT NULL REFERENCES flows(name),
    version INTEGER NOT NULL,
    fingerprint TEXT NOT NULL,
    path TEXT,
    tasks INTEGER NOT NULL,
    edges INTEGER NOT NULL,
    created REAL NOT NULL,
    PRIMARY KEY (flow, version)
);
CREATE TABLE IF NOT EXISTS runs (
    run_id TEXT PRIMARY KEY,
    flow TEXT NOT NULL REFERENCES flows(name),
    version INTEGER,
    path TEXT,
    trigger TEXT NOT NULL,
    params TEXT NOT NULL,
    params_blob BLOB,
    logical_date TEXT NOT NULL,
    state TEXT NOT NULL,
    created REAL NOT NULL,
    start REAL,
    end REAL,
    pid INTEGER,
    host TEXT,
    attempts INTEGER NOT NULL DEFAULT 0,
    message TEXT
);
CREATE INDEX IF NOT EXISTS runs_by_flow ON runs (flow, logical_date);
CREATE INDEX IF NOT EXISTS runs_by_state ON runs (state);
CREATE TABLE IF NOT EXISTS task_runs (
    run_id TEXT NOT NULL REFERENCES runs(run_id),
    task_id TEXT NOT NULL,
    state TEXT NOT NULL,
    tries INTEGER NOT NULL,
    start REAL,
    end REAL,
    duration REAL,
    error TEXT,
    traceback TEXT,
    message TEXT,
    result_uri TEXT,
    result_note TEXT,
    attempt INTEGER NOT NULL,
    PRIMARY KEY (run_id, task_id)
);
CREATE TABLE IF NOT EXISTS results (
    run_id TEXT NOT NULL,
    task_id TEXT NOT NULL,
    payload BLOB NOT NULL,
    PRIMARY KEY (run_id, task_id)
);
-- Scheduling beyond the clock (dagshift/history/assets.py reads and writes these).
-- Why a run started, and the run time and data interval a timetable gave it.
CREATE TABLE IF NOT EXISTS run_origins (
    run_id TEXT PRIMARY KEY REFERENCES runs(run_id),
    run_after TEXT,
    data_interval_start TEXT,
    data_interval_end TEXT,
    reason TEXT NOT NULL
);
-- One row per asset update: a task's outlet when it succeeded (or an event sent by hand).
CREATE TABLE IF NOT EXISTS asset_events (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    uri TEXT NOT NULL,
    name TEXT NOT NULL,
    extra TEXT NOT NULL,
    flow TEXT,
    run_id TEXT,
    task_id TEXT,
    alias TEXT,
    created REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS asset_events_by_uri ON asset_events (uri, id);
-- Per asset-scheduled flow: the last event id its runs have consumed.
CREATE TABLE IF NOT EXISTS asset_cursors (
    flow TEXT PRIMARY KEY,
    last_event INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS task_logs (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    run_id TEXT NOT NULL REFERENCES runs(run_id),
    task_id TEXT NOT NULL,
    attempt INTEGER NOT NULL,
    time REAL NOT NULL,
    stream TEXT NOT NULL,
    level TEXT,
    text TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS task_logs_by_run ON task_logs (run_id, task_id, seq);
CREATE INDEX IF NOT EXISTS runs_by_created ON runs (created);
CREATE TABLE IF NOT EXISTS version_graphs (
    flow TEXT NOT NULL,
    version INTEGER NOT NULL,
    graph TEXT NOT NULL,
    schedule BLOB,
    PRIMARY KEY (flow, version)
);
CREATE TABLE IF NOT EXISTS run_cancels (
    run_id TEXT PRIMARY KEY REFERENCES runs(run_id),
    requested REAL NOT NULL,
    reason TEXT
);
-- Runs handed to a `serve` (dagshift/history/handoff.py reads and writes these): each live
-- serve and the flows it serves, and the queued runs waiting for one to claim them.
CREATE TABLE IF NOT EXISTS services (
    pid INTEGER NOT NULL,
    host TEXT NOT NULL,
    started REAL NOT NULL,
    seen REAL NOT NULL,
    poll REAL NOT NULL,
    flows TEXT NOT NULL,
    PRIMARY KEY (pid, host)
);
CREATE TABLE IF NOT EXISTS run_handoffs (
    run_id TEXT PRIMARY KEY REFERENCES runs(run_id),
    flow TEXT NOT NULL,
    created REAL NOT NULL
);
-- Airflow 3.3's asset state store: JSON values kept per asset name and key across runs
-- (dagshift/history/asset_state.py).
CREATE TABLE IF NOT EXISTS asset_state (
    asset TEXT NOT NULL,
    key TEXT NOT NULL,
    value TEXT NOT NULL,
    updated REAL NOT NULL,
    PRIMARY KEY (asset, key)
);
"""

# A task run's result kept in the database itself: its record's result_uri is this prefix.
IN_DB = "db:"

# Pages in the write-ahead log past which a commit copies it into the database file (a
# checkpoint). SQLite's default, 1,000, costs a recorded run of ten small tasks (ten pages or
# so) a tenth of a checkpoint, whose two fsyncs cost more than the rest of its commit; copying
# is cheap, the fsyncs are not, and they cost the same for 8,000 pages (a log of 32 MB at
# most). What a commit guarantees is unchanged: with WAL and synchronous=NORMAL a committed
# transaction survives a crash of the process as soon as it is in the log.
WAL_CHECKPOINT_PAGES = 8_000


class StoreError(RuntimeError):
    """The history database cannot be used; the message names the file and what to do."""


class RunNotFound(StoreError):
    """No run has the given id (or the id prefix matches several)."""


def default_db_path(option: str | os.PathLike | None = None) -> Path:
    """``--db`` if given, else ``$DAGSHIFT_DB``, else ``.dagshift/dagshift.db`` here."""
    return Path(option or os.environ.get(ENV_DB) or DEFAULT_DB)


def default_timeout() -> float:
    """Seconds to wait for a database another process holds: ``$DAGSHIFT_DB_TIMEOUT``, else 30.

    Raises:
        StoreError: the variable is not a number of seconds.
    """
    raw = os.environ.get(ENV_TIMEOUT, "").strip()
    if not raw:
        return DEFAULT_TIMEOUT
    try:
        value = float(raw)
    except ValueError:
        value = -1.0
    if value < 0:
        raise StoreError(f"${ENV_TIMEOUT} must be a number of seconds, got {raw!r}")
    return value


def new_run_id() -> str:
    """A short unique run id; the CLI accepts any unique prefix of it."""
    return uuid.uuid4().hex[:12]


class Store:
    """The run history database.

    Example:
        >>> store = Store(tmp / "dagshift.db")                       # doctest: +SKIP
        >>> version, new = store.register(flow, "flows/etl.py")      # doctest: +SKIP
        >>> store.list_runs("etl")                                   # doctest: +SKIP
    """

    def __init__(self, path: str | os.PathLike, timeout: float | None = None) -> None:
        self.path = Path(path)
        self.timeout = timeout = default_timeout() if timeout is None else timeout
        self._lock = threading.RLock()
        self._versions: dict[str, tuple[str, int]] = {}  # flow: (fingerprint, version) seen
        self.path.parent.mkdir(parents=True, exist_ok=True)
        try:
            self._db = sqlite3.connect(
                self.path, timeout=timeout, check_same_thread=False, isolation_level=None
            )
            self._db.row_factory = sqlite3.Row
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")  # durable across crashes in WAL
            self._db.execute(f"PRAGMA wal_autocheckpoint={WAL_CHECKPOINT_PAGES}")
            self._db.executescript(f"BEGIN IMMEDIATE; {_SCHEMA} COMMIT;")
        except sqlite3.Error as exc:
            raise self._error(exc, "open") from None

    # ------------------------------------------------------------------ plumbing
    def _error(self, exc: sqlite3.Error, doing: str) -> StoreError:
        text = str(exc)
        if "locked" in text or "busy" in text:
            return StoreError(
                f"{self.path}: the history database stayed locked for {self.timeout:g}s while "
                f"trying to {doing}; another process holds a long write on it. Retry when it "
                f"is done (or wait longer: ${ENV_TIMEOUT}=SECONDS), or point --db / ${ENV_DB} at "
                "another file"
            )
        if isinstance(exc, sqlite3.DatabaseError) and not isinstance(exc, sqlite3.OperationalError):
            return StoreError(
                f"{self.path}: not a readable dagshift history database ({text}). It was left "
                f"untouched: move it aside (mv {self.path} {self.path}.broken) and recover it "
                f"with `sqlite3 {self.path}.broken .recover`, or use --db / ${ENV_DB} for "
                "another file"
            )
        return StoreError(f"{self.path}: cannot {doing}: {text}")

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield self._db
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            else:
                self._db.execute("COMMIT")

    def _query(self, sql: str, args: tuple = (), doing: str = "read") -> list[sqlite3.Row]:
        with self._lock:
            try:
                return self._db.execute(sql, args).fetchall()
            except sqlite3.Error as exc:
                raise self._error(exc, doing) from None

    def _change(self, doing: str, *statements: tuple[str, tuple]) -> int:
        try:
            with self._write() as db:
                changed = 0
                for sql, args in statements:
                    changed += db.execute(sql, args).rowcount
                return changed
        except sqlite3.Error as exc:
            raise self._error(exc, doing) from None

    def close(self) -> None:
        with self._lock:
            self._db.close()

    # ------------------------------------------------------------------ versions
    def register(self, flow: Any, path: str | os.PathLike | None = None) -> tuple[int, bool]:
        """Record ``flow`` under its name; return (version, whether it is a new version)."""
        fingerprint = flow_fingerprint(flow)
        known = self._versions.get(flow.name)
        if known is not None and known[0] == fingerprint:
            # Recorded already, through this Store: a version, once added, stays that
            # fingerprint's, whatever other processes add after it.
            return known[1], False
        now = time.time()
        # Most runs are of a version already recorded: a read answers that without a write.
        last = self._query(
            "SELECT version, fingerprint FROM versions WHERE flow = ? "
            "ORDER BY version DESC LIMIT 1",
            (flow.name,),
            doing=f"register flow {flow.name!r}",
        )
        if last and last[0]["fingerprint"] == fingerprint:
            self._versions[flow.name] = (fingerprint, last[0]["version"])
            return last[0]["version"], False
        try:
            with self._write() as db:
                db.execute("INSERT OR IGNORE INTO flows VALUES (?, ?)", (flow.name, now))
                last = db.execute(
                    "SELECT version, fingerprint FROM versions WHERE flow = ? "
                    "ORDER BY version DESC LIMIT 1",
                    (flow.name,),
                ).fetchone()
                if last is not None and last["fingerprint"] == fingerprint:
                    self._versions[flow.name] = (fingerprint, last["version"])
                    return last["version"], False
                version = 1 if last is None else last["version"] + 1
                db.execute(
                    "INSERT INTO versions VALUES (?, ?, ?, ?, ?, ?, ?)",
                    (
                        flow.name,
                        version,
                        fingerprint,
                        str(Path(path).resolve()) if path else None,
                        flow.graph.number_of_nodes(),
                        flow.graph.number_of_edges(),
                        now,
                    ),
                )
                graph, schedule = flow_shape(flow, path)
                db.execute(
                    "INSERT OR REPLACE INTO version_graphs VALUES (?, ?, ?, ?)",
                    (flow.name, version, graph, schedule),
                )
            self._versions[flow.name] = (fingerprint, version)
            return version, True
        except sqlite3.Error as exc:
            raise self._error(exc, f"register flow {flow.name!r}") from None

    def versions(self, flow: str) -> list[dict[str, Any]]:
        rows = self._query("SELECT * FROM versions WHERE flow = ? ORDER BY version", (flow,))
        return [dict(r) for r in rows]

    def version_graph(self, flow: str, version: int | None = None) -> dict[str, Any] | None:
        """A version's tasks, edges, parameters, schedule text and file source (the latest
        version when None); None for versions recorded before dagshift kept them."""
        sql = "SELECT * FROM version_graphs WHERE flow = ?"
        args: tuple = (flow,)
        if version is None:
            sql += " ORDER BY version DESC LIMIT 1"
        else:
            sql += " AND version = ?"
            args += (int(version),)
        rows = self._query(sql, args)
        if not rows:
            return None
        out = json.loads(rows[0]["graph"])
        out["version"] = rows[0]["version"]
        out["schedule_blob"] = rows[0]["schedule"]
        return out

    def latest_schedules(self) -> list[dict[str, Any]]:
        """Each flow's latest recorded schedule: ``flow``, ``schedule`` (text), ``blob``."""
        rows = self._query(
            "SELECT g.flow, json_extract(g.graph, '$.schedule') AS schedule, g.schedule AS blob "
            "FROM version_graphs g JOIN (SELECT flow, MAX(version) AS v FROM version_graphs "
            "GROUP BY flow) m ON g.flow = m.flow AND g.version = m.v ORDER BY g.flow"
        )
        return [dict(r) for r in rows]

    def flows(self) -> list[dict[str, Any]]:
        """Every flow with its latest version, path and run count."""
        rows = self._query(
            "SELECT f.name, v.version, v.path, v.created, "
            "(SELECT COUNT(*) FROM runs r WHERE r.flow = f.name) AS runs "
            "FROM flows f LEFT JOIN versions v ON v.flow = f.name AND v.version = "
            "(SELECT MAX(version) FROM versions WHERE flow = f.name) ORDER BY f.name"
        )
        return [dict(r) for r in rows]

    # ---------------------------------------------------------------------- runs
    def create_run(
        self,
        run_id: str,
        flow: str,
        *,
        logical_date: str,
        params: Mapping[str, Any],
        params_blob: bytes | None = None,
        trigger: str = "manual",
        version: int | None = None,
        path: str | None = None,
        state: str = "queued",
        once: bool = False,
        also: tuple[tuple[str, tuple], ...] = (),
        started: bool = False,
    ) -> bool:
        """Record a new run; True if recorded. ``started``: recorded running in this process
        (what :meth:`start_run` would do next), in the same transaction.

        With ``once``, nothing is recorded (False) when the flow already has a run of this
        trigger for this logical date: checked and written in one transaction, so two services
        scheduling the same flow from one database start each time once. ``also`` are more
        statements ``(sql, args)`` written in the same transaction when the run is recorded
        (its origin, the asset events it consumes).
        """
        sql, values, now = self._run_insert(
            run_id,
            flow,
            logical_date=logical_date,
            params=params,
            params_blob=params_blob,
            trigger=trigger,
            version=version,
            path=path,
            state=state,
            started=started,
        )
        if once:
            sql += (
                " WHERE NOT EXISTS (SELECT 1 FROM runs WHERE flow = ? AND logical_date = ? "
                "AND trigger = ?)"
            )
            values += (flow, logical_date, trigger)
        try:
            with self._write() as db:
                db.execute("INSERT OR IGNORE INTO flows VALUES (?, ?)", (flow, now))
                if db.execute(sql, values).rowcount != 1:
                    return False
                for statement, args in also:
                    db.execute(statement, args)
                return True
        except sqlite3.Error as exc:
            raise self._error(exc, f"record run {run_id}") from None

    @staticmethod
    def _run_insert(
        run_id: str,
        flow: str,
        *,
        logical_date: str,
        params: Mapping[str, Any],
        params_blob: bytes | None = None,
        trigger: str = "manual",
        version: int | None = None,
        path: str | None = None,
        state: str = "queued",
        started: bool = False,
    ) -> tuple[str, tuple, float]:
        now = time.time()
        values = (
            run_id,
            flow,
            version,
            path,
            trigger,
            json.dumps(_jsonable(dict(params)), sort_keys=True),
            params_blob,
            logical_date,
            state,
            now,
        )
        values += (os.getpid(), socket.gethostname())  # who will run it: not an orphan
        if started:
            values = (*values[:8], "running", *values[9:], now, 1)
        else:
            values += (None, 0)
        sql = (
            "INSERT INTO runs (run_id, flow, version, path, trigger, params, params_blob, "
            "logical_date, state, created, pid, host, start, attempts) "
            "SELECT ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?"
        )
        return sql, values, now

    def run_statement(
        self,
        run_id: str,
        flow: str,
        *,
        logical_date: str,
        params: Mapping[str, Any],
        params_blob: bytes | None = None,
        trigger: str = "manual",
        version: int | None = None,
        path: str | None = None,
    ) -> tuple[str, tuple]:
        """The statement that records a new run running in this process, for
        :meth:`record_tasks` to write with the run's first records (``created``). The flow
        must be registered (:meth:`register`)."""
        sql, values, _ = self._run_insert(
            run_id,
            flow,
            logical_date=logical_date,
            params=params,
            params_blob=params_blob,
            trigger=trigger,
            version=version,
            path=path,
            started=True,
        )
        return sql, values

    def check_writable(self, doing: str) -> None:
        """Take the write lock and give it back, writing nothing: raises :class:`StoreError`
        now if the database stays locked (or cannot be written), before work is done that
        could not be recorded."""
        try:
            with self._lock:
                self._db.execute("BEGIN IMMEDIATE")
                self._db.execute("ROLLBACK")
        except sqlite3.Error as exc:
            raise self._error(exc, doing) from None

    def start_run(self, run_id: str, only_from: tuple[str, ...] | None = None) -> bool:
        """Mark a run running in this process (again, when resuming); with ``only_from``, only
        if its state is still one of those (checked in the same transaction, so a run
        cancelled while it waited is not started). True if it was started."""
        sql = (
            "UPDATE runs SET state = 'running', start = COALESCE(start, ?), end = NULL, "
            "pid = ?, host = ?, attempts = attempts + 1, message = NULL WHERE run_id = ?"
        )
        args: tuple = (time.time(), os.getpid(), socket.gethostname(), run_id)
        if only_from is not None:
            sql += f" AND state IN ({', '.join('?' * len(only_from))})"
            args += tuple(only_from)
        try:
            with self._write() as db:
                before = db.execute(
                    "SELECT state, pid, host FROM runs WHERE run_id = ?", (run_id,)
                ).fetchone()
                if db.execute(sql, args).rowcount != 1:
                    return False
                owned = before is not None and tuple(before) in {
                    (state, os.getpid(), socket.gethostname()) for state in ("queued", "running")
                }
                if not owned:
                    # a cancel asked of an earlier attempt (ended, or its process gone) does not
                    # stop this one (a resume after it); one asked while this process held the
                    # run (claimed for a takeover, requeued for a resume) is this attempt's
                    db.execute("DELETE FROM run_cancels WHERE run_id = ?", (run_id,))
                return True
        except sqlite3.Error as exc:
            raise self._error(exc, f"start run {run_id}") from None

    def orphans(self, flows: Iterable[str], ours: Iterable[str] = ()) -> list[dict[str, Any]]:
        """Queued or running runs of ``flows`` whose process on this host is gone (killed),
        leaving out ``ours`` (the runs the caller knows it runs)."""
        names = list(flows)
        if not names:
            return []
        marks = ", ".join("?" * len(names))
        rows = self._query(
            f"SELECT * FROM runs WHERE state IN ('queued', 'running') AND flow IN ({marks}) "
            "ORDER BY logical_date, created",
            tuple(names),
        )
        mine = set(ours)
        return [
            r
            for r in map(_run_dict, rows)
            if r["run_id"] not in mine and self.run_is_alive(r) is False
        ]

    def claim(self, run: Mapping[str, Any]) -> bool:
        """Take over an orphaned run for this process; False if another process was first."""
        return bool(
            self._change(
                f"take over run {run['run_id']}",
                (
                    "UPDATE runs SET pid = ?, host = ? WHERE run_id = ? "
                    "AND state IN ('queued', 'running') AND pid IS ? AND host IS ?",
                    (os.getpid(), socket.gethostname(), run["run_id"], run["pid"], run["host"]),
                ),
            )
        )

    def finish_run(self, run_id: str, state: str, message: str | None = None) -> bool:
        """Set a running run's final state; False if it was no longer running (interrupted)."""
        return bool(self._change(f"finish run {run_id}", _finishing(run_id, state, message)))

    def requeue_run(self, run_id: str) -> bool:
        """Mark an ended, unsuccessful run ``queued`` again, owned by this process (a resume
        about to start here); False if it is not in such a state. Owned, not ownerless: a
        ``serve`` taking over orphans (queued or running with no live process) must not
        claim it between this and its start. A cancel asked of an earlier attempt is
        forgotten."""
        try:
            with self._write() as db:
                changed = db.execute(
                    "UPDATE runs SET state = 'queued', message = NULL, pid = ?, host = ? "
                    "WHERE run_id = ? AND state NOT IN ('queued', 'running', 'success')",
                    (os.getpid(), socket.gethostname(), run_id),
                ).rowcount
                if changed:
                    db.execute("DELETE FROM run_cancels WHERE run_id = ?", (run_id,))
                return bool(changed)
        except sqlite3.Error as exc:
            raise self._error(exc, f"requeue run {run_id}") from None

    def request_cancel(self, run_id: str, reason: str = "cancelled on request") -> str:
        """Cancel a run: ``"requested"`` (its live process will stop it, polling
        :meth:`cancel_requested`), ``"cancelled"`` (queued, or its process is gone: recorded
        cancelled now) or ``"finished"`` (it had ended already: nothing changed)."""
        run = self.get_run(run_id)
        if run["state"] not in ACTIVE:
            return "finished"
        if run["state"] == "queued" or self.run_is_alive(run) is False:
            changed = self._change(
                f"cancel run {run_id}",
                (
                    "UPDATE runs SET state = 'cancelled', end = ?, message = ? "
                    "WHERE run_id = ? AND state IN ('queued', 'running')",
                    (time.time(), reason, run["run_id"]),
                ),
            )
            return "cancelled" if changed else "finished"
        self._change(
            f"cancel run {run_id}",
            (
                "INSERT OR REPLACE INTO run_cancels VALUES (?, ?, ?)",
                (run["run_id"], time.time(), reason),
            ),
        )
        return "requested"

    def cancel_requested(self, run_id: str) -> str | None:
        """The reason given if a cancel of this (running) run was requested, else None."""
        return self.cancels_requested([run_id]).get(run_id)

    def cancels_requested(self, run_ids: list[str]) -> dict[str, str]:
        """Of ``run_ids``, those whose cancel was requested, with the reason given."""
        found: dict[str, str] = {}
        for at in range(0, len(run_ids), 500):  # SQLite's limit on bound parameters
            chunk = run_ids[at : at + 500]
            rows = self._query(
                f"SELECT run_id, reason FROM run_cancels WHERE run_id IN "
                f"({', '.join('?' * len(chunk))})",
                tuple(chunk),
            )
            found.update({r["run_id"]: r["reason"] or "cancelled on request" for r in rows})
        return found

    def interrupt_runs(self, run_ids: list[str], message: str) -> None:
        """Record runs that were stopped before they finished as ``interrupted``."""
        self._change(
            "record interrupted runs",
            *[
                (
                    "UPDATE runs SET state = 'interrupted', end = ?, message = ? "
                    "WHERE run_id = ? AND state IN ('queued', 'running')",
                    (time.time(), message, rid),
                )
                for rid in run_ids
            ],
        )

    def record_task(
        self,
        run_id: str,
        task_run: Any,
        attempt: int,
        result_uri: str | None = None,
        result_note: str | None = None,
        payload: bytes | None = None,
    ) -> None:
        self.record_tasks([(run_id, task_run, attempt, result_uri, result_note, payload)])

    def record_tasks(
        self,
        entries: Iterable[tuple[str, Any, int, str | None, str | None, bytes | None]],
        finished: Iterable[tuple[str, str, str | None]] = (),
        created: Iterable[tuple[str, tuple]] = (),
    ) -> None:
        """Record task runs in one transaction: ``(run_id, task_run, attempt, result_uri,
        result_note, payload)`` each. A ``payload`` (a pickled result) is stored in the
        database with its record, atomically, and ``result_uri`` becomes ``db:``; a task
        recorded again replaces its record (and drops an older payload). ``finished``:
        ``(run_id, state, message)`` of runs that end with these records, in the same
        transaction (as :meth:`finish_run`), so a run is never recorded ended without them.
        ``created``: statements of :meth:`run_statement`, written first (the runs these
        records are of, recorded in the transaction of their first records)."""
        created = list(created)
        results: list[tuple[str, list[tuple]]] = []  # in order: a task's rows may come twice
        logs: list[tuple] = []
        tasks: list[tuple] = []
        last = ""
        for run_id, tr, attempt, result_uri, result_note, payload in entries:
            last = f"{tr.task_id} of run {run_id}"
            if payload is not None:
                result_uri = IN_DB
                _add(
                    results,
                    "INSERT OR REPLACE INTO results VALUES (?, ?, ?)",
                    (run_id, tr.task_id, payload),
                )
            elif attempt > 1:  # a first attempt has no older payload to drop
                _add(
                    results,
                    "DELETE FROM results WHERE run_id = ? AND task_id = ?",
                    (run_id, tr.task_id),
                )
            logs.extend(
                (run_id, tr.task_id, attempt, *entry) for entry in getattr(tr, "logs", None) or ()
            )
            tasks.append(
                (
                    run_id,
                    tr.task_id,
                    tr.state,
                    tr.tries,
                    tr.start,
                    tr.end,
                    tr.duration,
                    tr.error,
                    tr.traceback,
                    tr.message,
                    result_uri,
                    result_note,
                    attempt,
                )
            )
        # a run that ends in the transaction that records it: one row written, not a row and
        # then its update
        ending = {run_id: (state, message) for run_id, state, message in finished}
        created = [
            _ended(sql, args, *ending.pop(args[0])) if args[0] in ending else (sql, args)
            for sql, args in created
        ]
        ends = [_finishing(run_id, state, message) for run_id, (state, message) in ending.items()]
        if not (tasks or ends or created):
            return
        if last:
            doing = f"record task {last}"
        elif ends:
            doing = f"record the end of run {ends[0][1][3]}"
        else:
            doing = f"record run {created[0][1][0]}"
        try:
            with self._write() as db:
                for sql, args in created:
                    db.execute(sql, args)
                for sql, rows in results:
                    db.executemany(sql, rows)
                if logs:
                    db.executemany(
                        "INSERT INTO task_logs (run_id, task_id, attempt, time, stream, level, "
                        "text) VALUES (?, ?, ?, ?, ?, ?, ?)",
                        logs,
                    )
                if tasks:
                    db.executemany(
                        "INSERT OR REPLACE INTO task_runs VALUES "
                        "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                        tasks,
                    )
                for sql, args in ends:
                    db.execute(sql, args)
        except sqlite3.Error as exc:
            raise self._error(exc, doing) from None

    def result_payload(self, run_id: str, task_id: str) -> bytes | None:
        """The pickled result a task run keeps in the database (result_uri ``db:``)."""
        rows = self._query(
            "SELECT payload FROM results WHERE run_id = ? AND task_id = ?", (run_id, task_id)
        )
        return rows[0]["payload"] if rows else None

    def get_run(self, run_id: str) -> dict[str, Any]:
        """One run by id or unique id prefix.

        Raises:
            RunNotFound: no run matches, or the prefix matches several.
        """
        rows = self._query("SELECT * FROM runs WHERE run_id = ?", (run_id,))
        if not rows and run_id:
            rows = self._query(
                "SELECT * FROM runs WHERE run_id LIKE ? ESCAPE '\\' ORDER BY created LIMIT 6",
                (run_id.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%",),
            )
        if not rows:
            raise RunNotFound(
                f"no run {run_id!r} in {self.path}; list runs with `dagshift runs` "
                f"(with --db {self.path} if you gave it)"
            )
        if len(rows) > 1:
            ids = ", ".join(r["run_id"] for r in rows)
            raise RunNotFound(f"run id prefix {run_id!r} matches several runs ({ids}); give more")
        return _run_dict(rows[0])

    def list_runs(
        self, flow: str | None = None, state: str | None = None, limit: int | None = 50
    ) -> list[dict[str, Any]]:
        """Runs, newest first."""
        sql, args = "SELECT * FROM runs WHERE 1 = 1", []
        if flow is not None:
            sql += " AND flow = ?"
            args.append(flow)
        if state is not None:
            sql += " AND state = ?"
            args.append(state)
        sql += " ORDER BY created DESC, rowid DESC"
        if limit:
            sql += f" LIMIT {int(limit)}"
        return [_run_dict(r) for r in self._query(sql, tuple(args))]

    def runs_page(
        self,
        flow: str | None = None,
        state: str | None = None,
        limit: int = 50,
        after: str | None = None,
    ) -> list[dict[str, Any]]:
        """A page of runs, newest first, after the run ``after`` (the last id of the page
        before): keyset pagination on the creation time, so a page costs the same at any
        depth of a long history.

        Raises:
            RunNotFound: ``after`` is not a run id.
        """
        sql, args = "SELECT * FROM runs WHERE 1 = 1", []
        if after:
            mark = self._query("SELECT created, rowid FROM runs WHERE run_id = ?", (after,))
            if not mark:
                raise RunNotFound(f"no run {after!r} in {self.path} to page after")
            sql += " AND (created, rowid) < (?, ?)"  # a row value: SQLite seeks the index
            args += [mark[0]["created"], mark[0]["rowid"]]
        if flow is not None:
            sql += " AND flow = ?"
            args.append(flow)
        if state is not None:
            sql += " AND state = ?"
            args.append(state)
        sql += f" ORDER BY created DESC, rowid DESC LIMIT {max(0, int(limit))}"
        return [_run_dict(r) for r in self._query(sql, tuple(args))]

    def run_counts(self) -> dict[str, int]:
        """How many runs are in each state."""
        rows = self._query("SELECT state, COUNT(*) AS n FROM runs GROUP BY state")
        return {r["state"]: r["n"] for r in rows}

    def params_blob(self, run_id: str) -> bytes | None:
        """The run's parameters as given, pickled (the JSON column is for display)."""
        rows = self._query("SELECT params_blob FROM runs WHERE run_id = ?", (run_id,))
        return rows[0]["params_blob"] if rows else None

    def task_runs(self, run_id: str) -> list[dict[str, Any]]:
        rows = self._query(
            "SELECT * FROM task_runs WHERE run_id = ? ORDER BY start IS NULL, start, rowid",
            (run_id,),
        )
        return [dict(r) for r in rows]

    def task_logs(
        self,
        run_id: str,
        task_id: str | None = None,
        after: int = 0,
        limit: int | None = None,
    ) -> list[dict[str, Any]]:
        """Log lines of a run (or of one task), oldest first, each with its ``seq`` cursor:
        pass the last ``seq`` seen as ``after`` to read only what came since."""
        sql = "SELECT * FROM task_logs WHERE run_id = ? AND seq > ?"
        args: list[Any] = [run_id, int(after)]
        if task_id is not None:
            sql += " AND task_id = ?"
            args.append(task_id)
        sql += " ORDER BY seq"
        if limit:
            sql += f" LIMIT {int(limit)}"
        return [dict(r) for r in self._query(sql, tuple(args))]

    def previous_run(
        self, flow: str, logical_date: str, scheduled_only: bool = False
    ) -> dict[str, Any] | None:
        """The flow's latest run with an earlier logical date (``scheduled_only``: not a
        manual one), as Airflow's previous DAG run for ``depends_on_past``."""
        manual = " AND trigger != 'manual'" if scheduled_only else ""
        rows = self._query(
            f"SELECT * FROM runs WHERE flow = ? AND logical_date < ?{manual} "
            "ORDER BY logical_date DESC, created DESC LIMIT 1",
            (flow, logical_date),
        )
        return _run_dict(rows[0]) if rows else None

    def task_ran_before(self, flow: str, task_id: str, logical_date: str) -> bool:
        """Whether a run of ``flow`` before ``logical_date`` has a record of ``task_id``."""
        rows = self._query(
            "SELECT 1 FROM task_runs JOIN runs USING (run_id) "
            "WHERE runs.flow = ? AND task_runs.task_id = ? AND runs.logical_date < ? LIMIT 1",
            (flow, task_id, logical_date),
        )
        return bool(rows)

    def last_logical_date(self, flow: str, triggers: tuple[str, ...]) -> str | None:
        marks = ", ".join("?" * len(triggers))
        rows = self._query(
            f"SELECT MAX(logical_date) AS d FROM runs WHERE flow = ? AND trigger IN ({marks})",
            (flow, *triggers),
        )
        return rows[0]["d"]

    def succeeded_dates(self, flow: str) -> set[str]:
        rows = self._query(
            "SELECT logical_date FROM runs WHERE flow = ? AND state = 'success'", (flow,)
        )
        return {r["logical_date"] for r in rows}

    def run_is_alive(self, run: Mapping[str, Any]) -> bool | None:
        """Whether the process running ``run`` still lives (None: on another host, unknown)."""
        if run["state"] not in ACTIVE or run["pid"] is None:
            return False
        if run["host"] != socket.gethostname():
            return None
        try:
            os.kill(run["pid"], 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            return True
        return _not_zombie(run["pid"])


def _add(groups: list[tuple[str, list[tuple]]], sql: str, row: tuple) -> None:
    """Append ``row`` to the last group if it has the same statement, else start a group."""
    if groups and groups[-1][0] == sql:
        groups[-1][1].append(row)
    else:
        groups.append((sql, [row]))


def _finishing(run_id: str, state: str, message: str | None) -> tuple[str, tuple]:
    return (
        "UPDATE runs SET state = ?, end = ?, message = ? WHERE run_id = ? AND state = 'running'",
        (state, time.time(), message, run_id),
    )


def _ended(sql: str, args: tuple, state: str, message: str | None) -> tuple[str, tuple]:
    """:meth:`Store.run_statement`'s insert of a run, as the run ended (``state``)."""
    head, select = sql.split(") SELECT ")
    return (
        f"{head}, end, message) SELECT {select}, ?, ?",
        (*args[:8], state, *args[9:], time.time(), message),
    )


def _not_zombie(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().split(") ", 1)[1][:1] != "Z"
    except (OSError, IndexError):
        return True


def _run_dict(row: sqlite3.Row) -> dict[str, Any]:
    out = dict(row)
    out.pop("params_blob", None)
    out["params"] = json.loads(out["params"])
    if out["start"] is not None and out["end"] is not None:
        out["duration"] = out["end"] - out["start"]
    else:
        out["duration"] = None
    return out


def _jsonable(value: Any) -> Any:
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    return repr(value)


SOURCE_LIMIT = 500_000  # characters of a flow's file kept per version (for the code diff)


def flow_shape(flow: Any, path: str | os.PathLike | None) -> tuple[str, bytes | None]:
    """What a version's page shows, as JSON (tasks, edges, parameters, schedule, the file's
    source), and its schedule pickled so its next due time can be computed later."""
    import cloudpickle

    from dagshift.runtime.schedule import describe, flow_schedule

    try:
        spec = flow_schedule(flow)
        schedule_text, blob = describe(spec), cloudpickle.dumps(spec)
    except Exception as exc:  # an unreadable or unpicklable schedule still gets a page
        schedule_text, blob = f"unreadable: {exc}", None
    source = None
    if path:
        try:
            source = Path(path).read_text(errors="replace")[:SOURCE_LIMIT]
        except OSError:
            source = None
    params = {n: _jsonable(p.default) for n, p in flow.parameters.items() if not p.required}
    shape = {
        "tasks": [{"id": t, "kind": d["task"].task.kind} for t, d in flow.graph.nodes(data=True)],
        "edges": sorted([u, v] for u, v in flow.graph.edges),
        "params": {**_jsonable(dict(getattr(flow, "params", {}) or {})), **params},
        "required": [n for n, p in flow.parameters.items() if p.required],
        "schedule": schedule_text,
        "source": source,
    }
    return json.dumps(shape, default=str), blob


# ---------------------------------------------------------------------- versions
_ADDRESS = re.compile(r" at 0x[0-9a-fA-F]+")


def flow_fingerprint(flow: Any) -> str:
    """A hash of a flow's graph (tasks, options, arguments, edges) and its tasks' code.

    Dates inside objects are left out: they are scheduling metadata, and a file that computes
    ``start_date=now()`` would otherwise get a new version every time it loads.
    """
    tasks = [_node_canon(task_id, data["task"]) for task_id, data in flow.graph.nodes(data=True)]
    cache = flow.__dict__.setdefault("_dagshift_edge_fingerprints", {})
    edges = []
    for u, v, d in flow.graph.edges(data=True):
        bindings = tuple(d.get("data", []))
        cached = cache.get((u, v))
        if cached is None or not _same(cached[0], bindings):
            cached = cache[(u, v)] = (bindings, [u, v, sorted(_canon(b) for b in bindings)])
        edges.append(cached[1])
    params = sorted((n, _canon(p.default)) for n, p in flow.parameters.items())
    # The parts above are the very objects kept on the nodes and edges while nothing changed:
    # then the hash is too (hashing a 1,000-task flow's JSON, sources included, cost 50 ms).
    key = (tuple(map(id, tasks)), tuple(map(id, edges)), repr(params))
    cached = flow.__dict__.get("_dagshift_fingerprint")
    if cached is not None and cached[0] == key:
        return cached[2]
    edges.sort()
    blob = json.dumps([tasks, edges, params], sort_keys=True, default=str)
    digest = hashlib.sha256(blob.encode()).hexdigest()
    # the parts themselves are kept too, so that no id in the key can be reused meanwhile
    flow.__dict__["_dagshift_fingerprint"] = (key, (tasks, edges), digest)
    return digest


def _node_canon(task_id: str, node: Any) -> list[Any]:
    """One task's part of the fingerprint, kept on the node while the objects it was made
    from stay the same ones (a recorded run of a 1,000-task flow would otherwise spend more
    on its fingerprint than on its records). The node keeps those objects alive, so an
    identity check cannot be fooled by an address reused; an option set anew (``op.retries =
    3`` in the shim) is a new object, and the part is made again."""
    parts = (
        task_id,
        node.task,
        node.task.fn,
        node.map_spec,
        len(node.args),
        *node.args,
        len(node.kwargs),
        *node.kwargs,
        *node.kwargs.values(),
        len(node.options),
        *node.options.values(),
        len(node.meta),
        *node.meta,
        *node.meta.values(),
    )
    cached = node.__dict__.get("_dagshift_fingerprint")
    if cached is not None and _same(cached[0], parts):
        return cached[1]
    value = [
        task_id,
        node.task.kind,
        _canon(node.options),
        _canon(node.args),
        _canon(node.kwargs),
        _canon(node.map_spec),
        _canon(node.meta),
        _code(node.task.fn),
    ]
    node.__dict__["_dagshift_fingerprint"] = (parts, value)
    return value


def _same(old: tuple, new: tuple) -> bool:
    """The very same objects, one by one (a C loop: this runs for every task of every run)."""
    return len(old) == len(new) and all(map(operator.is_, old, new))


def _canon(value: Any, depth: int = 0) -> Any:
    if depth > 4:
        return "..."
    if value is None or isinstance(value, bool | int | float | str):
        return value
    identity = getattr(type(value), "__dagshift_code__", None)
    if identity is not None:  # an object that states what its behaviour depends on
        return identity(value)
    kind = type(value).__name__
    if kind in ("TaskRef", "ResultRef"):
        return ["ref", value.task_id, _canon(list(value.selector), depth + 1)]
    if hasattr(value, "name") and kind in ("Parameter", "ParameterRef"):
        return ["param", value.name]
    if isinstance(value, datetime | date):
        return "<date>"
    if isinstance(value, list | tuple):
        return [_canon(v, depth + 1) for v in value]
    if isinstance(value, set | frozenset):
        return sorted((_canon(v, depth + 1) for v in value), key=repr)
    if isinstance(value, Mapping):
        return sorted(([repr(k), _canon(v, depth + 1)] for k, v in value.items()), key=repr)
    if callable(value) and (inspect.isfunction(value) or inspect.ismethod(value)):
        return _code(value, depth + 1)
    if hasattr(value, "graph") and kind in ("Flow", "DAG"):
        return ["flow", getattr(value, "name", None) or getattr(value, "dag_id", None)]
    fields = getattr(value, "__dict__", None)
    if isinstance(fields, dict) and depth < 3:
        return [kind, _canon(dict(fields), depth + 1)]
    return _ADDRESS.sub("", repr(value))


@functools.lru_cache(maxsize=4096)
def _source(code: Any) -> str:
    # One function used by many tasks (a DAG's 200 operators) is read from its file once.
    return inspect.getsource(code)


def _code(fn: Any, depth: int = 0) -> Any:
    """The identity of a function's behaviour: its source (or bytecode), defaults and closure."""
    identity = getattr(type(fn), "__dagshift_code__", None)
    if identity is not None:  # an object that states what its behaviour depends on
        return identity(fn)
    inner = getattr(fn, "func", None)
    if inner is not None and hasattr(fn, "args"):  # functools.partial
        return ["partial", _code(inner, depth + 1), _canon(fn.args, depth + 1)]
    fn = inspect.unwrap(getattr(fn, "__func__", fn))
    code = getattr(fn, "__code__", None)
    if code is None:  # a callable object: its class's __call__ and its attributes
        owner = next((k for k in type(fn).__mro__ if "__call__" in vars(k)), object)
        call = vars(owner).get("__call__") if owner not in (object, type) else None
        state = _canon(getattr(fn, "__dict__", {}), depth + 1)
        return [type(fn).__qualname__, _code(call, depth + 1) if call else None, state]
    try:
        body = _source(code)
    except (OSError, TypeError):
        body = code.co_code.hex() + repr(code.co_consts)
    cells = []
    for cell in fn.__closure__ or ():
        try:
            cells.append(_canon(cell.cell_contents, depth + 1))
        except ValueError:  # an empty cell
            cells.append(None)
    return [_ADDRESS.sub("", body), _canon(fn.__defaults__, depth + 1), cells]
