"""``dagshift serve``: the long-running scheduler.

One :class:`Service` watches files and folders of flows (and legacy DAGs, which load as flows),
and each :meth:`Service.tick` does three things: reload files that are new or changed (a file
that fails to load keeps its previous flows and the error is logged), find the runs that are
due, and start them in threads, within each flow's ``max_active_runs`` and a global limit.
:meth:`Service.serve` repeats ticks, sleeping until the next due time, the next file scan, or
the end of a run (which may free a slot for a run that waits).

Time comes only from an injectable :class:`Clock`, so tests move time by hand. A run is due *at*
its schedule time (not at the end of a data interval). Where scheduling resumes after a restart
comes from the history: the last scheduled logical date recorded for the flow. Missed times
are all run with ``catchup=True``; with ``catchup=False`` only the latest missed one is. A
flow seen for the first time starts from its ``start_date`` (so without catchup its latest past
time runs at once, as in Airflow 3), and one without a start date from now (a time equal to now
included).

A flow scheduled by a timetable gets its runs from the timetable (``next_dagrun_info``, the
last scheduled run's data interval fed back, as Airflow's scheduler does); where it resumes
after a restart is that interval, recorded with the run. A flow scheduled on assets starts when
asset events it has not consumed (written by any process on the same history) satisfy its
condition, once per satisfied condition (:mod:`dagshift.history.assets`); events written
while no service ran are still pending when one starts.

A run left queued or running by a process that is gone (``serve`` killed with SIGKILL, a
crash) is taken over at the next file scan by a ``serve`` of its flow on the same host, once
(claimed in one transaction, so two services never both take it): it resumes, and tasks
recorded as succeeded are not run again. That holds for the runs a serve starts (scheduled,
asset-triggered) and for those the UI handed to one; a killed ``dagshift run`` is resumed by
hand.

A run the UI starts of a flow a live ``serve`` serves is handed to it (each serve announces
the flows it serves at every file scan): each tick claims such queued runs, once across
serves (:mod:`dagshift.history.handoff`), so they start within ``poll`` seconds.

Stopping (SIGINT/SIGTERM, or :meth:`Service.stop`): no new runs start; running ones get
``grace`` seconds to finish; those still running are recorded as ``interrupted`` (they can be
resumed with ``dagshift run --resume``).
"""

from __future__ import annotations

import signal
import sys
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pendulum

from dagshift.history import assets as asset_history
from dagshift.history import handoff
from dagshift.history.checkpoint import (
    ResultStore,
    RunNotStarted,
    load_completed,
    run_recorded,
    stored_parameters,
)
from dagshift.history.store import Store, StoreError, new_run_id
from dagshift.runtime.schedule import ScheduleError, ScheduleSpec, flow_schedule, to_utc

__all__ = ["Clock", "Service", "python_files"]

DEFAULT_MAX_ACTIVE_RUNS = 16  # per flow, Airflow's default
_SERVED_TRIGGERS = ("scheduled", "asset")  # the runs a serve starts, and so takes over
ASSET_POLL = 1.0  # seconds between looks for asset events other processes wrote
_EPS = timedelta(microseconds=1)


class Clock:
    """Wall-clock time for the service; tests pass a clock they move by hand."""

    def now(self) -> pendulum.DateTime:
        return pendulum.now("UTC")

    def wait(self, seconds: float, wake: threading.Event) -> None:
        """Sleep up to ``seconds``, returning early when ``wake`` is set."""
        wake.wait(max(0.0, seconds))


def python_files(path: Path) -> list[Path]:
    """A file, or the DAG files below a folder as the loader takes them (``.airflowignore``
    and Airflow's "might contain a DAG" heuristic honoured)."""
    from dagshift.runtime.discovery import dag_files

    return dag_files(path) if path.is_dir() else [path]


@dataclass
class _Entry:
    """A flow the service schedules."""

    flow: Any
    path: Path
    spec: ScheduleSpec
    cursor: pendulum.DateTime | None  # the last logical date scheduled (or the start point)
    active: set[str] = field(default_factory=set)
    last: Any = None  # a timetable's: the data interval of the last scheduled run
    _memo: tuple[Any, Any] | None = None  # (cursor, the schedule time after it)

    def next_after(self, now: datetime) -> pendulum.DateTime | None:
        """The first schedule time after the cursor (or after ``now`` without one), computed
        once per cursor: a tick asks every flow each time it starts a run."""
        if self.cursor is None:
            return self.spec.next_after(now)
        if self._memo is None or self._memo[0] != self.cursor:
            self._memo = (self.cursor, self.spec.next_after(self.cursor))
        return self._memo[1]

    @property
    def limit(self) -> int:
        limit = self.flow.max_active_runs or DEFAULT_MAX_ACTIVE_RUNS
        timetable_limit = getattr(self.spec.timetable, "active_runs_limit", None)
        return min(limit, timetable_limit) if timetable_limit else limit


@dataclass
class _Due:
    """A run to start now: its logical date, data interval, and why."""

    when: pendulum.DateTime  # for ordering across flows: when it fell due
    logical_date: pendulum.DateTime
    interval: Any = None  # a timetable's DataInterval; None: the flow's default
    events: list[dict[str, Any]] | None = None  # an asset-triggered run's events
    run_type: str = "scheduled"  # Airflow's run_type: "manual" for a run handed over


@dataclass
class _Active:
    run_id: str
    flow: str
    thread: threading.Thread
    stopped: threading.Event


class Service:
    """Schedules the flows found under ``paths`` and records their runs in ``store``.

    Example:
        >>> svc = Service(["flows/"], Store(".dagshift/dagshift.db"))  # doctest: +SKIP
        >>> svc.serve()                                                 # doctest: +SKIP
    """

    def __init__(
        self,
        paths: Iterable[str | Path],
        store: Store,
        results: ResultStore | None = None,
        *,
        clock: Clock | None = None,
        max_runs: int = 8,
        grace: float = 30.0,
        poll: float = 5.0,
        log: Callable[[str], None] | None = None,
        load: Callable[[Path], list[Any]] | None = None,
        run_options: dict[str, Any] | None = None,
    ) -> None:
        from dagshift.runtime.loader import load_file

        self.paths = [Path(p) for p in paths]
        self.store = store
        self.results = results or ResultStore.beside(store.path)
        self.clock = clock or Clock()
        self.max_runs = max_runs
        self.grace = grace
        self.poll = poll
        self.log = log or (lambda msg: print(f"dagshift serve: {msg}", file=sys.stderr, flush=True))
        self._load = load or load_file
        self.run_options = dict(run_options or {})
        self.entries: dict[str, _Entry] = {}
        self.errors: dict[Path, str] = {}
        self._seen: dict[Path, tuple[int, int]] = {}
        self._by_file: dict[Path, list[str]] = {}
        self._active: dict[str, _Active] = {}
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._wake = threading.Event()  # a run ended or a stop came: tick again now
        self._hurry = threading.Event()  # stop waiting for running runs
        self._last_scan: float | None = None
        self._warned: set[tuple[str, str]] = set()

    # ------------------------------------------------------------------- files
    def scan(self) -> None:
        """Load new and changed files; forget flows of files that are gone."""
        present: set[Path] = set()
        for root in self.paths:
            if not root.exists():
                if root not in self.errors:
                    self.log(f"{root}: no such file or folder (watching for it)")
                    self.errors[root] = "missing"
                continue
            self.errors.pop(root, None)
            for file in python_files(root):
                file = file.resolve()
                present.add(file)
                try:
                    st = file.stat()
                except OSError:
                    continue
                stamp = (st.st_mtime_ns, st.st_size)
                if self._seen.get(file) != stamp:
                    self._seen[file] = stamp
                    self._load_file(file)
        for gone in [f for f in self._seen if f not in present]:
            del self._seen[gone]
            for name in self._by_file.pop(gone, []):
                self.entries.pop(name, None)
                self.log(f"{gone} is gone: stopped scheduling {name!r}")
        self._report_unproduced()

    def _poll_watchers(self) -> None:
        """Record an event for each firing of an asset watcher of a loaded consumer."""
        from dagshift.runtime.assets import iter_assets

        for entry in list(self.entries.values()):
            for asset in iter_assets(entry.spec.assets) if entry.spec.assets else ():
                for watcher in asset.watchers:
                    for extra in watcher.poll():
                        asset_history.record_event(self.store, asset.uri, asset.name, extra)
                        self.log(f"watcher {watcher.name!r} fired: an event of {asset.uri!r}")

    def _report_unproduced(self) -> None:
        """Name assets that consumers wait on and no loaded flow produces (once each)."""
        from dagshift.runtime.assets import flow_outlets, iter_assets

        produced: set[str] = set()
        for entry in self.entries.values():
            produced |= flow_outlets(entry.flow)
            for asset in iter_assets(entry.spec.assets) if entry.spec.assets else ():
                if asset.watchers:
                    produced.add(asset.uri)
        for name, entry in self.entries.items():
            if entry.spec.assets is None:
                continue
            for key in entry.spec.assets.keys():
                if key not in produced and (name, key) not in self._warned:
                    self._warned.add((name, key))
                    self.log(
                        f"{name!r} waits on asset {key!r}, which no flow loaded here updates: "
                        "it starts only when another process records an event of it "
                        f"(e.g. `dagshift run PRODUCER.py` with --db {self.store.path})"
                    )

    def _load_file(self, file: Path) -> None:
        try:
            flows = self._load(file)
        except Exception as exc:  # LoadError, or anything a broken file throws
            self.errors[file] = str(exc)
            self.log(f"cannot load {exc} (its previous flows, if any, stay scheduled)")
            return
        self.errors.pop(file, None)
        names = []
        for flow in flows:
            owner = self._owner(flow.name)
            if owner is not None and owner != file:
                self.log(f"{file}: flow {flow.name!r} is already defined in {owner}; ignored")
                continue
            old = self.entries.get(flow.name)
            try:
                spec = flow_schedule(flow)
                version, new = self.store.register(flow, file)
                cursor = old.cursor if old else self._initial_cursor(flow.name, spec)
                last = old.last if old else None
                if spec.timetable is not None and old is None:
                    last = asset_history.last_scheduled_interval(self.store, flow.name)
                if spec.assets is not None:
                    asset_history.consumer_cursor(self.store, flow.name)
            except (ScheduleError, StoreError) as exc:
                if isinstance(exc, StoreError):
                    self._seen.pop(file, None)  # the database was busy: load it again next scan
                if old is not None:
                    names.append(flow.name)  # as with a file that fails: the last good one stays
                kept = " (its previous version stays scheduled)" if old is not None else ""
                self.log(f"{file}: {exc}{kept}")
                continue
            entry = _Entry(flow, file, spec, cursor, old.active if old else set(), last)
            self.entries[flow.name] = entry
            names.append(flow.name)
            what = "new version" if new else "version"
            upcoming = self._upcoming(entry)
            then = f", next run {upcoming.isoformat()}" if upcoming is not None else ""
            self.log(
                f"loaded {flow.name!r} from {file} ({what} {version}, schedule: "
                f"{_show(spec)}{then})"
            )
        for name in self._by_file.get(file, []):
            if name not in names:
                self.entries.pop(name, None)
                self.log(f"{file} no longer defines {name!r}: stopped scheduling it")
        self._by_file[file] = names

    def _owner(self, name: str) -> Path | None:
        return next((f for f, names in self._by_file.items() if name in names), None)

    def _initial_cursor(self, name: str, spec: ScheduleSpec) -> pendulum.DateTime | None:
        last = self.store.last_logical_date(name, ("scheduled",))
        if last is not None:
            return to_utc(last)
        if spec.start_date is not None:
            # With catchup every time since the start date is due; without, :meth:`due` takes
            # only the latest one (Airflow 3's CronTriggerTimetable does the same).
            return spec.start_date - _EPS
        # A time equal to now is due now (as in :meth:`due`), also for a flow just seen.
        return self.clock.now() - _EPS

    # --------------------------------------------------------------- scheduling
    def _upcoming(self, entry: _Entry) -> pendulum.DateTime | None:
        if entry.spec.timetable is not None:
            info = entry.spec.next_info(entry.last, self.clock.now())
            return None if info is None else to_utc(info.run_after)
        return entry.spec.next_after(entry.cursor) if entry.cursor is not None else None

    def due_run(self, entry: _Entry, now: datetime) -> _Due | None:
        """The run of ``entry`` to start now (by its schedule or its assets), or None."""
        found = []
        if entry.spec.assets is not None:
            events = asset_history.satisfied_events(self.store, entry.flow.name, entry.spec.assets)
            if events:
                at = to_utc(events[-1]["timestamp"])
                found.append(_Due(at, at, None, events))
        if entry.spec.timetable is not None:
            info = entry.spec.next_info(entry.last, now)
            if info is not None and info.run_after <= now:
                ld = info.logical_date if info.logical_date is not None else info.run_after
                found.append(_Due(to_utc(info.run_after), to_utc(ld), info.data_interval))
        elif entry.spec.schedule is not None:
            when = self.due(entry, now)
            if when is not None:
                found.append(_Due(when, when))
        return min(found, key=lambda d: d.when) if found else None

    def due(self, entry: _Entry, now: datetime) -> pendulum.DateTime | None:
        """The next logical date of ``entry``'s time schedule to start now, or None."""
        first = entry.next_after(now)
        if first is None or first > now:
            return None
        if entry.spec.catchup:
            return first
        return _latest_due(entry.spec, first, now)

    def tick(self) -> list[str]:
        """Scan files when a poll is due (and take over runs whose process was killed), then
        start every run that is due and fits."""
        mono = time.monotonic()
        scanned = self._last_scan is None or mono - self._last_scan >= self.poll
        if scanned:
            self._last_scan = mono
            self.scan()
            self._announce()
        started: list[str] = []
        if self._stopping.is_set():
            return started
        self._reap()
        if scanned:
            started += self._recover()
        started += self._take_handoffs()
        self._poll_watchers()
        now = self.clock.now()
        skip: set[str] = set()  # flows whose run could not be recorded: next tick
        while len(self._active) < self.max_runs:
            # Oldest due time first, across flows: one flow's long catch-up does not starve
            # the others, and runs start in the order they fell due.
            waiting = [
                (due.when, order, entry, due)
                for order, entry in enumerate(self.entries.values())
                if entry.flow.name not in skip
                and len(entry.active) < entry.limit
                and (due := self.due_run(entry, now)) is not None
            ]
            if not waiting:
                break
            _, _, entry, due = min(waiting, key=lambda w: (w[0], w[1]))
            if due.events is None and due.interval is not None:
                entry.last = due.interval
            elif due.events is None:
                entry.cursor = due.logical_date
            run_id = self._start(entry, due)
            if run_id:
                started.append(run_id)
            else:
                skip.add(entry.flow.name)
        return started

    def next_wakeup(self) -> float:
        """Seconds until the next due time or file scan.

        Flows with no free slot are left out: a run that ends wakes the service anyway.
        """
        now = self.clock.now()
        wait = self.poll
        if len(self._active) >= self.max_runs:
            return wait
        for entry in self.entries.values():
            if len(entry.active) >= entry.limit:
                continue
            if entry.spec.assets is not None:
                wait = min(wait, ASSET_POLL)  # events come from other processes too
            if entry.spec.timetable is not None:
                when = self._upcoming(entry)
            else:
                when = entry.next_after(now)
            if when is not None:
                wait = min(wait, max(0.0, (when - now).total_seconds()))
        return wait

    def _start(self, entry: _Entry, due: _Due) -> str | None:
        flow = entry.flow
        run_id = new_run_id()
        when = due.logical_date
        try:
            created = self._record(entry, run_id, due)
        except StoreError as exc:
            if due.events is None and due.interval is None:
                entry.cursor = when - _EPS  # try this time again on the next tick
            self.log(f"cannot start a run of {flow.name!r} for {when}: {exc}")
            return None
        if not created:
            self.log(
                f"{flow.name!r} for {when.isoformat()} was already started (by another "
                f"serve on {self.store.path}?): not starting it again"
            )
            return None
        why = f" on {len(due.events)} asset event(s)" if due.events else ""
        self.log(f"started run {run_id} of {flow.name!r} for {when.isoformat()}{why}")
        self._launch(entry, run_id, due, {})
        return run_id

    def _recover(self) -> list[str]:
        """Take over the runs of known flows whose process was killed: each resumes where it
        stopped (tasks recorded as succeeded are not run again), within the limits."""
        try:
            found = self.store.orphans(self.entries, ours=self.active_runs)
            # a handed-off run with no pid yet waits for a claim (_take_handoffs), not this
            handed = handoff.handed_off(self.store, [r["run_id"] for r in found if r["pid"]])
            orphans = [
                run
                for run in found
                # a killed `dagshift run` (or UI run) resumes by hand
                if run["trigger"] in _SERVED_TRIGGERS or run["run_id"] in handed
            ]
        except StoreError as exc:
            self.log(f"cannot look for runs left by a stopped process: {exc}")
            return []
        resumed: list[str] = []
        for run in orphans:
            entry = self.entries.get(run["flow"])
            if len(self._active) >= self.max_runs or self._stopping.is_set():
                break
            if entry is None or len(entry.active) >= entry.limit or run["run_id"] in self._active:
                continue
            try:
                if not self.store.claim(run):
                    continue  # another serve took it over first
                completed = load_completed(self.store, self.results, run["run_id"], True)
                parameters = stored_parameters(self.store, run)
            except StoreError as exc:
                self.log(f"cannot take over run {run['run_id']}: {exc}")
                continue
            self.log(
                f"resuming run {run['run_id']} of {run['flow']!r} for {run['logical_date']}: "
                f"the process that ran it ({run['pid']}) is gone; {len(completed)} task(s) done"
            )
            extra = {"parameters": parameters, "completed": completed}
            self._launch(entry, run["run_id"], self._due_of(run), extra)
            resumed.append(run["run_id"])
        return resumed

    def _announce(self) -> None:
        """Tell the UI which flows this serve runs, so it hands their runs over."""
        try:
            handoff.announce(self.store, [] if self._stopping.is_set() else self.entries, self.poll)
        except StoreError as exc:
            self.log(f"cannot record this serve in the history: {exc}")

    def _take_handoffs(self) -> list[str]:
        """Claim and start the runs handed over (by the UI) of flows with a free slot."""
        free = [n for n, e in self.entries.items() if len(e.active) < e.limit]
        if not free or len(self._active) >= self.max_runs:
            return []
        started: list[str] = []
        try:
            runs = handoff.waiting(self.store, free)
        except StoreError as exc:
            self.log(f"cannot look for runs handed over: {exc}")
            return started
        for run in runs:
            entry = self.entries[run["flow"]]
            if len(self._active) >= self.max_runs or len(entry.active) >= entry.limit:
                continue
            try:
                if not handoff.claim(self.store, run["run_id"]):
                    continue  # another serve was first, or it was cancelled meanwhile
                parameters = stored_parameters(self.store, run)
            except StoreError as exc:
                self.log(f"cannot take run {run['run_id']} handed over: {exc}")
                continue
            ld = to_utc(pendulum.parse(run["logical_date"]))
            self.log(
                f"started run {run['run_id']} of {run['flow']!r} for {ld.isoformat()}: "
                f"handed over ({run['trigger']})"
            )
            extra = {"parameters": parameters, "start_from": ("queued",)}
            self._launch(entry, run["run_id"], _Due(ld, ld, run_type="manual"), extra)
            started.append(run["run_id"])
        return started

    def _due_of(self, run: dict[str, Any]) -> _Due:
        """How a recorded run was started (its date, interval, asset events), to resume it."""
        from dagshift.runtime.timetables import DataInterval

        origin = asset_history.run_origin(self.store, run["run_id"]) or {}
        ld = to_utc(pendulum.parse(run["logical_date"]))
        interval = None
        if origin.get("data_interval_start"):
            interval = DataInterval(
                pendulum.parse(origin["data_interval_start"]),
                pendulum.parse(origin["data_interval_end"]),
            )
        events = None
        kind = origin.get("reason", {}).get("kind")
        if kind == "asset":
            events = asset_history.events_for_run(self.store, run["run_id"]) or None
        run_type = "manual" if kind == handoff.HANDOFF else "scheduled"
        return _Due(ld, ld, interval, events, run_type)

    def _launch(self, entry: _Entry, run_id: str, due: _Due, extra: dict[str, Any]) -> None:
        stopped = threading.Event()
        thread = threading.Thread(
            target=self._execute,
            args=(entry, run_id, stopped, due, extra),
            name=f"dagshift-run-{run_id}",
            daemon=True,
        )
        with self._lock:
            self._active[run_id] = _Active(run_id, entry.flow.name, thread, stopped)
            entry.active.add(run_id)
        thread.start()

    def _record(self, entry: _Entry, run_id: str, due: _Due) -> bool:
        """Record the run (and why it started) before it starts; False: already recorded."""
        flow = entry.flow
        version, _ = self.store.register(flow, entry.path)
        common = dict(params=_defaults(flow), version=version, path=str(entry.path))
        if due.events:
            return asset_history.start_consumer_run(
                self.store, run_id, flow.name, due.events, **common
            )
        reason = {"kind": "schedule", "schedule": _show(entry.spec)}
        origin = asset_history.origin_statement(run_id, reason, due.when, due.interval)
        return self.store.create_run(
            run_id,
            flow.name,
            logical_date=due.logical_date.isoformat(),
            trigger="scheduled",
            once=True,
            also=(origin,),
            **common,
        )

    def _execute(
        self, entry: _Entry, run_id: str, stopped: threading.Event, due: _Due, extra: dict
    ) -> None:
        from dagshift.runtime.assets import TRIGGERING_EVENTS_KEY

        options = dict(self.run_options)
        if due.interval is not None:
            options["data_interval"] = (due.interval.start, due.interval.end)
        options["run_extra"] = {"dagshift.run_type": due.run_type}  # Airflow's run_type
        if due.events:
            options["run_extra"] = {
                "dagshift.run_type": "asset_triggered",
                TRIGGERING_EVENTS_KEY: due.events,
            }
        flow = entry.flow
        try:
            result = run_recorded(
                self.store,
                self.results,
                flow,
                path=str(entry.path),
                logical_date=due.logical_date,
                run_id=run_id,
                stopped=stopped,
                **options,
                **extra,
            )
            if not stopped.is_set():
                self.log(f"run {run_id} of {flow.name!r}: {result.state} ({result.duration:.1f}s)")
        except RunNotStarted as exc:
            self.log(f"run {run_id} of {flow.name!r} not started: {exc}")
        except Exception as exc:
            if not stopped.is_set():  # else: cut short on purpose (a cluster closed under it)
                self.log(
                    f"run {run_id} of {flow.name!r} failed to run: {type(exc).__name__}: {exc}"
                )
        finally:
            with self._lock:
                self._active.pop(run_id, None)
                entry.active.discard(run_id)
            self._wake.set()

    def _reap(self) -> None:
        with self._lock:
            for run_id, active in list(self._active.items()):
                if not active.thread.is_alive():
                    self._active.pop(run_id)

    # --------------------------------------------------------------- lifecycle
    @property
    def active_runs(self) -> list[str]:
        with self._lock:
            return list(self._active)

    def wait_idle(self, timeout: float = 30.0) -> bool:
        """Wait for the runs started so far to finish (for tests and shutdown)."""
        deadline = time.monotonic() + timeout
        for active in list(self._active.values()):
            active.thread.join(max(0.0, deadline - time.monotonic()))
        return not any(a.thread.is_alive() for a in list(self._active.values()))

    def stop(self) -> None:
        """Start no more runs; :meth:`serve` then shuts down."""
        self._stopping.set()
        self._wake.set()

    def hurry(self) -> None:
        """Stop waiting for running runs (a second SIGINT/SIGTERM): record them now."""
        self.stop()
        self._hurry.set()

    def shutdown(self, reason: str = "the service stopped") -> list[str]:
        """Give running runs ``grace`` seconds, then record the rest as interrupted."""
        self._stopping.set()
        try:
            handoff.withdraw(self.store)  # runs started from now on run in the UI's process
        except StoreError as exc:
            self.log(f"cannot record in the history that this serve stops: {exc}")
        if self._active:
            self.log(
                f"stopping: waiting up to {self.grace:g}s for {len(self._active)} run(s) "
                "(signal again to stop waiting)"
            )
        deadline = time.monotonic() + self.grace
        while self._active and not self._hurry.is_set():
            left_s = deadline - time.monotonic()
            if left_s <= 0:
                break
            self._hurry.wait(min(0.05, left_s))
        with self._lock:
            left = [a for a in self._active.values() if a.thread.is_alive()]
            for active in left:
                active.stopped.set()
        if not left:
            return []
        ids = [a.run_id for a in left]
        if self._hurry.is_set():
            message = f"interrupted: {reason}, and again within the {self.grace:g}s grace period"
        else:
            message = f"interrupted: {reason} after a {self.grace:g}s grace period"
        self.store.interrupt_runs(ids, message)
        for run_id in ids:
            self.log(
                f"run {run_id} recorded as interrupted (resume: dagshift run --resume {run_id})"
            )
        return ids

    def serve(self, install_signals: bool = True) -> list[str]:
        """Tick until stopped; return the ids of runs recorded as interrupted.

        The first SIGINT/SIGTERM stops the service (after the grace period); a second one
        stops it without waiting further.
        """
        reason = ["stop requested"]
        if install_signals:

            def on_signal(signum: int, _frame: Any) -> None:
                if self._stopping.is_set():
                    self.hurry()
                    return
                reason[0] = f"{signal.Signals(signum).name} received"
                self.stop()

            for sig in (signal.SIGINT, signal.SIGTERM):
                signal.signal(sig, on_signal)
        self.log(f"serving {', '.join(map(str, self.paths))} (history: {self.store.path})")
        while not self._stopping.is_set():
            self._wake.clear()
            self.tick()
            self.clock.wait(self.next_wakeup(), self._wake)
        self.log(reason[0])
        return self.shutdown(reason[0])


def _latest_due(spec: ScheduleSpec, first: pendulum.DateTime, now: datetime) -> pendulum.DateTime:
    """The last due time in ``[first, now]``, without walking years of a minutely schedule."""
    start = first
    for window in (timedelta(hours=1), timedelta(days=1), timedelta(days=32), timedelta(days=400)):
        probe = spec.next_after(max(first, to_utc(now) - window) - _EPS)
        if probe is not None and probe <= now:
            start = probe
            break
    latest = start
    t = spec.next_after(start)
    while t is not None and t <= now:
        latest = t
        t = spec.next_after(t)
    return latest


def _defaults(flow: Any) -> dict[str, Any]:
    from dagshift.runtime.executor import resolve_params

    try:
        return resolve_params(flow, None)
    except ValueError:
        return dict(flow.params)


def _show(spec: ScheduleSpec) -> str:
    from dagshift.runtime.schedule import describe

    return describe(spec)
