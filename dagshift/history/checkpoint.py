"""Result checkpoints, recorded runs, and resuming a run that did not finish.

:func:`run_recorded` runs a flow with a listener that records every task run in the
:class:`Store` with its result. A small result (pickled with cloudpickle, up to
``INLINE_LIMIT``) goes into the database in the same transaction as its record; a larger one,
or every result when a results location is named (``--results``, ``$DAGSHIFT_RESULTS``: a
folder or an fsspec URL), goes to a checkpoint file written and synced *before* its record. Either
way a task recorded as succeeded always has a readable result, so a run killed at any moment
(SIGKILL included) can be resumed. Records are written in the order tasks finish, several to
a transaction (:class:`_Writer`: a thread per Store writes what came in the last 2 ms; a run
that ends writes what is left itself, with its end, in one transaction): the task's own thread
only pickles its result (the value as it was when the task ended) and goes on. A new run is
recorded running in the transaction of its first records, at most ``_LINGER`` after it starts
(the writer's thread writes it then if no record came), and ended in the one that holds its
last records: a short run costs one transaction. Before any of its tasks starts, the
database's write lock is taken and given back, so that a history that cannot be written stops
the run before it does anything. A task whose body
finished but whose record had not been written yet when the process died runs again on resume
(at-least-once, as in Airflow). SQLite's WAL with ``synchronous=NORMAL`` keeps every committed
record across a process crash without one fsync per record.

:func:`resume_run` loads the run's flow from the file it came from, reads back the results of
the tasks that succeeded, and runs the same run id again with those as ``completed``: the
executor reuses them and runs only the rest.
"""

from __future__ import annotations

import functools
import operator
import os
import pickle
import queue
import sys
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import cloudpickle

from dagshift.history.assets import recorded_events
from dagshift.history.past import past_hook
from dagshift.history.store import IN_DB, Store, StoreError, new_run_id
from dagshift.runtime.assets import INLET_EVENTS_KEY
from dagshift.runtime.files import write_atomic
from dagshift.runtime.past import PAST_KEY
from dagshift.runtime.state import SUCCESS, TaskRun

__all__ = [
    "ResultReadError",
    "ResultStore",
    "ResumeError",
    "RunNotStarted",
    "load_completed",
    "read_result",
    "record_outlet_events",
    "resume_run",
    "run_recorded",
    "stored_parameters",
]

ENV_RESULTS = "DAGSHIFT_RESULTS"
_FORMAT = 1
INLINE_LIMIT = 256 * 1024  # pickled results up to this size stay in the database
_BATCH = 512  # task records written in one transaction at most
_PLAIN = frozenset({type(None), bool, int, float, str, bytes})
_LINGER = 0.002  # seconds the writer's thread waits for more records before a transaction


class ResultReadError(StoreError):
    """A checkpointed result cannot be read back."""


class ResumeError(StoreError):
    """A run cannot be resumed; the message says why and what to do."""


class RunNotStarted(StoreError):
    """A recorded run was not started: it had left the states it was expected in (cancelled
    while it waited in a queue)."""


class ResultStore:
    """Where task results are checkpointed: a folder, or an fsspec URL (``s3://bucket/x``).

    Files are ``<base>/<run_id>/<task_id>.pkl``, holding the result, the keyed values the task
    pushed, and the tasks its decision skipped (what a resumed run needs from it).
    """

    def __init__(self, base: str | os.PathLike, inline: bool = False) -> None:
        self.base = str(base)
        self.inline = inline  # small results go into the history database instead
        self.is_url = "://" in self.base and not self.base.startswith("file://")
        if self.is_url:
            try:
                import fsspec  # noqa: F401  (optional: only for result URLs)
            except ImportError:
                raise StoreError(
                    f"results URL {self.base!r} needs fsspec: pip install fsspec (plus the "
                    "filesystem's package, e.g. s3fs), or give a local folder"
                ) from None
        else:
            self.base = str(Path(self.base.removeprefix("file://")).resolve())

    @classmethod
    def beside(cls, db_path: Path, option: str | None = None) -> ResultStore:
        """``--results`` if given, else ``$DAGSHIFT_RESULTS``, else ``results/`` by the db.

        Without either, a result up to ``INLINE_LIMIT`` pickled stays in the database with
        its record (one transaction, no file); named, the location holds every result."""
        given = option or os.environ.get(ENV_RESULTS)
        return cls(given or db_path.parent / "results", inline=not given)

    def uri(self, run_id: str, task_id: str) -> str:
        name = "".join(c if c.isalnum() or c in "-_." else "_" for c in task_id) + ".pkl"
        return f"{self.base.rstrip('/')}/{run_id}/{name}"

    @staticmethod
    def payload(task_run: TaskRun) -> bytes:
        """What a checkpoint holds for one successful task run, pickled."""
        data = {
            "format": _FORMAT,
            "result": task_run.result,
            "pushed": task_run.pushed,
            "skip": task_run.skip,
        }
        if type(task_run.result) in _PLAIN and not task_run.pushed and not task_run.skip:
            # pickle's own output for plain values, as cloudpickle's, at a fifth of the cost
            return pickle.dumps(data, protocol=cloudpickle.DEFAULT_PROTOCOL)
        return cloudpickle.dumps(data)

    def write(self, run_id: str, task_run: TaskRun, payload: bytes | None = None) -> str:
        """Checkpoint one successful task run to a file; return where it went."""
        if payload is None:
            payload = self.payload(task_run)
        uri = self.uri(run_id, task_run.task_id)
        if self.is_url:
            import fsspec

            with fsspec.open(uri, "wb", auto_mkdir=True) as fh:
                fh.write(payload)
            return uri
        path = Path(uri)
        write_atomic(path, payload, mode=0o600, fsync=True)  # results may be private
        return str(path)

    @staticmethod
    def loads(payload: bytes) -> dict[str, Any]:
        data = cloudpickle.loads(payload)
        if not isinstance(data, dict) or data.get("format") != _FORMAT:
            raise ValueError("not a dagshift result checkpoint")
        return data

    def read(self, uri: str, run_id: str, task_id: str) -> dict[str, Any]:
        """Read a checkpoint back.

        Raises:
            ResultReadError: naming the file, the run and the task.
        """
        try:
            if "://" in uri and not uri.startswith("file://"):
                import fsspec

                with fsspec.open(uri, "rb") as fh:
                    return self.loads(fh.read())
            return self.loads(Path(uri.removeprefix("file://")).read_bytes())
        except Exception as exc:
            raise ResultReadError(
                f"cannot read the result of task {task_id!r} of run {run_id} from {uri}: "
                f"{type(exc).__name__}: {exc}"
            ) from None


class _Writer:
    """Writes the records of every run recorded through one :class:`Store`, several to a
    transaction: 200 runs at once share its commits.

    Records wait in a queue. A thread of its own writes what is there ``_LINGER`` after the
    first record came (a group commit: ten small tasks cost one transaction, not ten); a run
    that ends, or must have its records written now (``flush()``: a task's asset events),
    writes the queue itself, in its own thread, its end in the same transaction as its last
    records: no hand-over to another thread and back. One lock makes every write of the
    queue take the records in order.
    """

    def __init__(self, store: Store) -> None:
        self.store = store
        self.queue: queue.SimpleQueue = queue.SimpleQueue()
        self.lock = threading.Lock()
        self.waiting = threading.Event()  # set: records wait in the queue
        self.thread = threading.Thread(target=self._drain, name="dagshift-record", daemon=True)
        self.thread.start()

    @classmethod
    def of(cls, store: Store) -> _Writer:
        with _writers_lock:
            writer = store.__dict__.get("_dagshift_writer")
            if writer is None or not writer.thread.is_alive():
                writer = store.__dict__["_dagshift_writer"] = cls(store)
            return writer

    def put(
        self, recorder: _Recorder, item: tuple[TaskRun, bytes | None, str | None] | float
    ) -> None:
        """Queue a task record ``(task_run, payload, note)``, or (a time) a new run's own
        record, ``recorder.creation``: written with the first batch that has any of its
        records, or by the writer's thread once it waited ``_LINGER``."""
        self.queue.put((recorder, item))
        if not self.waiting.is_set():  # (set() takes a lock: 16 threads recording at once)
            self.waiting.set()

    def flush(self) -> None:
        """Write what is queued, now, in this thread."""
        self.finish(None, None)

    def finish(
        self,
        recorder: _Recorder | None,
        end: tuple[str, str | None] | None,
        lingering: bool = False,
    ) -> bool:
        """Write what is queued, with ``end`` (state, message) of ``recorder``'s run in the
        same transaction. False: the end was not written (the database stayed locked, or
        earlier records of the run wait in ``recorder.pending``). ``lingering`` (the writer's
        thread): runs that started less than ``_LINGER`` ago and have no record yet wait:
        most short runs end before that, and then write their row with their end."""
        with self.lock:
            items = []
            while True:
                try:
                    items.append(self.queue.get_nowait())
                except queue.Empty:
                    break
            if lingering and items:
                young = time.monotonic() - _LINGER
                if all(isinstance(item, float) and item > young for _, item in items):
                    for pair in items:
                        self.put(*pair)
                    return True
            return self._write(items, recorder, end)

    def _drain(self) -> None:
        while True:
            self.waiting.wait()
            time.sleep(_LINGER)  # the records that follow the first one come meanwhile
            self.waiting.clear()  # before the queue is read: a record put after it sets it
            self.finish(None, None, lingering=True)

    def _write(self, items: list, recorder: _Recorder | None, end: tuple | None) -> bool:
        entries = [(owner, owner.entry(*item)) for owner, item in items if type(item) is tuple]
        ended = []
        if end is not None and not recorder.pending:  # type: ignore[union-attr]
            ended = [(recorder.run_id, *end)]  # type: ignore[union-attr]
        # the runs not recorded yet that these records are of: their rows go first
        owners = [owner for owner, _ in items]
        if ended:
            owners.append(recorder)
        created = [o for o in {id(o): o for o in owners}.values() if o.creation is not None]
        if entries or ended or created:
            try:
                self.store.record_tasks(
                    (entry for _, entry in entries),
                    finished=ended,
                    created=[o.creation for o in created],
                )
            except Exception:
                # A database locked for longer than its timeout must not fail the task: the
                # records are written when the run ends (and the run fails loudly if they
                # still can't be).
                for owner, entry in entries:
                    owner.pending.append(entry)
                return False
            for owner in created:
                owner.creation = None
            for owner, entry in entries:
                owner.recorded(entry[1])
        return end is None or bool(ended)


_writers_lock = threading.Lock()


@dataclass
class _Recorder:
    """The listener that checkpoints and records each task run as it finishes.

    The task's thread pickles a successful result (the value as it was when the task ended)
    and queues it for the store's writer thread. On a cluster, listeners get summaries without
    results: ``late`` then defers checkpoints to the end of the run, from the results that
    came back.
    """

    store: Store
    results: ResultStore
    run_id: str
    attempt: int
    stopped: threading.Event
    late: bool = False
    flow: Any = None  # whose tasks' outlets become asset events when they succeed
    # a new run's own record (Store.run_statement), until written with its first records
    creation: tuple[str, tuple] | None = None

    def __post_init__(self) -> None:
        self.pending: list[tuple] = []  # records not written yet (the database was locked)
        self._outlets: dict[str, bool] = {}
        self._writer = _Writer.of(self.store)
        if self.creation is not None:
            self._writer.put(self, time.monotonic())  # its row, if no record comes first

    def __call__(self, task_run: TaskRun) -> None:
        if self.stopped.is_set():
            return  # the run was recorded as interrupted; late finishes change nothing
        payload = note = None
        if task_run.state == SUCCESS and not self.late:
            payload, note = self._pickled(task_run)
        self._writer.put(self, (task_run, payload, note))
        if task_run.state == SUCCESS and self._has_outlets(task_run.task_id):
            # Its asset events are written before a downstream task can look for them.
            self._writer.flush()

    def _has_outlets(self, task_id: str) -> bool:
        if self.flow is None:
            return False
        known = self._outlets  # asked twice per task of the run
        if task_id not in known:
            known[task_id] = self._flow_has_outlets(task_id)
        return known[task_id]

    def _flow_has_outlets(self, task_id: str) -> bool:
        try:
            node = self.flow.get_task(task_id)
        except KeyError:
            return False
        # kept on the flow for its later runs while the node and its outlets (its own, or its
        # Airflow operator's) are the same objects, holding the same ones
        known = self.flow.__dict__.setdefault("_dagshift_outlets", {})
        seen = known.get(task_id)
        parts = (
            node,
            node.meta.get("outlets"),
            getattr(node.meta.get("operator"), "outlets", None),
        )
        parts += tuple(x for p in parts[1:] if isinstance(p, list | tuple) for x in p)
        if seen is None or len(seen[0]) != len(parts) or not all(map(operator.is_, seen[0], parts)):
            from dagshift.runtime.assets import task_outlets

            seen = known[task_id] = (parts, bool(task_outlets(node)))
        return seen[1]

    @staticmethod
    def _pickled(task_run: TaskRun) -> tuple[bytes | None, str | None]:
        try:
            return ResultStore.payload(task_run), None
        except Exception as exc:  # an unpicklable result
            return None, f"result not checkpointed ({type(exc).__name__}: {exc}); reruns on resume"

    def recorded(self, task_run: TaskRun) -> None:
        """After a task's record is written: its outlets' asset events (after, so that a
        resumed run, which does not run the task again, records no event twice)."""
        if task_run.state != SUCCESS or not self._has_outlets(task_run.task_id):
            return
        try:
            record_outlet_events(self.store, self.flow, self.run_id, task_run)
        except StoreError as exc:
            print(
                f"dagshift: asset events of {task_run.task_id!r} in run {self.run_id} were not "
                f"recorded: {exc}",
                file=sys.stderr,
            )

    def entry(self, tr: TaskRun, payload: bytes | None, note: str | None) -> tuple:
        """A record: the result stays in the database if small, else goes to a file first."""
        uri = None
        if payload is not None and (not self.results.inline or len(payload) > INLINE_LIMIT):
            try:
                uri = self.results.write(self.run_id, tr, payload)
            except Exception as exc:  # a full disk, an unreachable bucket ...
                note = f"result not checkpointed ({type(exc).__name__}: {exc}); reruns on resume"
            payload = None
        return (self.run_id, tr, self.attempt, uri, note, payload)

    def finish(
        self, flow_run: Any, returned: set[str], state: str, message: str | None = None
    ) -> None:
        """Write what is queued and deferred, and the run's end (``state``, ``message``), the
        end in the transaction of the last records; ``returned``: tasks whose results came
        back (on a cluster)."""
        late = []
        if flow_run is not None and self.late and not self.stopped.is_set():
            for tr in flow_run.tasks.values():
                if tr.state != SUCCESS:
                    continue
                if tr.task_id in returned:
                    payload, note = self._pickled(tr)
                else:
                    payload, note = None, "result stayed on the cluster; reruns on resume"
                # its log was stored with the summary, as the task ended
                late.append(self.entry(replace(tr, logs=[]), payload, note))
        if not late and self._writer.finish(self, (state, message)):
            return
        self._writer.flush()
        self.pending += late
        with self._writer.lock:  # (the writer's thread may be writing this run's row)
            created = [self.creation] if self.creation is not None else []
            self.store.record_tasks(
                self.pending, finished=[(self.run_id, state, message)], created=created
            )
            self.creation = None
        for entry in self.pending:
            self.recorded(entry[1])
        self.pending.clear()


def run_recorded(
    store: Store,
    checkpoints: ResultStore,
    flow: Any,
    *,
    path: str | None = None,
    trigger: str = "manual",
    parameters: Mapping[str, Any] | None = None,
    logical_date: Any = None,
    run_id: str | None = None,
    completed: Mapping[str, TaskRun] | None = None,
    stopped: threading.Event | None = None,
    listeners: Iterable[Callable[[TaskRun], None]] = (),
    start_from: tuple[str, ...] | None = None,
    **options: Any,
):
    """Run ``flow`` once, recording the run and every task run in ``store``.

    A new run is registered (its flow version too) unless ``run_id`` names an existing run,
    which is then taken over (resume). ``stopped`` set by the caller means the run was recorded
    as interrupted: task runs that finish afterwards are not recorded.

    Raises:
        RunNotStarted: ``start_from`` was given and the existing run's state had left it
            (it was cancelled while queued): nothing ran.
    """
    from dagshift.runtime.context import to_datetime
    from dagshift.runtime.executor import resolve_params

    stopped = stopped or threading.Event()
    creation = None
    if run_id is None:
        params = resolve_params(flow, parameters)
        ld = to_datetime(logical_date)
        version, _ = store.register(flow, path)
        run_id = new_run_id()
        # recorded running in this process with its first records (see the module's doc);
        # a history that cannot be written stops the run now, before it does anything
        creation = store.run_statement(
            run_id,
            flow.name,
            logical_date=ld.isoformat(),
            params=params,
            params_blob=_dumps_or_none(parameters or {}),
            trigger=trigger,
            version=version,
            path=str(Path(path).resolve()) if path else None,
        )
        store.check_writable(f"record run {run_id}")
        logical_date = ld
        attempt = 1
        recorded_date = ld.isoformat()
    else:
        attempt = store.get_run(run_id)["attempts"] + 1
        recorded_date = store.get_run(run_id)["logical_date"]
        if not store.start_run(run_id, start_from) and start_from is not None:
            state = store.get_run(run_id)["state"]
            raise RunNotStarted(f"run {run_id} is {state}, no longer {' or '.join(start_from)}")
    recorder = _Recorder(
        store,
        checkpoints,
        run_id,
        attempt,
        stopped,
        late="cluster" in options,
        flow=flow,
        creation=creation,
    )
    # where the task context reads recorded asset events (inlet_events) and other runs
    options["run_extra"] = {
        "dagshift.history": str(store.path),
        INLET_EVENTS_KEY: functools.partial(recorded_events, str(store.path)),
        # depends_on_past: tasks wait for their own task in the flow's previous run
        **({PAST_KEY: hook} if (hook := past_hook(store, flow, recorded_date)) else {}),
        **options.get("run_extra", {}),
    }
    watcher = _CancelWatcher(store, run_id, options.pop("cancel", None))
    options["cancel"] = watcher.event
    watcher.start()
    try:
        flow_run = flow.run(
            parameters=parameters,
            logical_date=logical_date,
            run_id=run_id,
            listeners=[recorder, *listeners],
            completed=completed,
            **options,
        )
    except BaseException as exc:
        why = f"the run could not start: {type(exc).__name__}: {exc}"
        recorder.finish(None, set(), "failed", why)
        raise
    finally:
        watcher.stop()
    returned: set[str] = set()
    if recorder.late:
        from dagshift.runtime.executor import _wanted_results

        returned = set(_wanted_results(flow, options.get("results", "leaves")))
    cancelled = flow_run.state == "cancelled"
    why = (watcher.reason or "cancelled") if cancelled else None
    recorder.finish(flow_run, returned, flow_run.state, why)
    return flow_run


def record_outlet_events(store: Store, flow: Any, run_id: str, task_run: TaskRun) -> list[int]:
    """One asset event per outlet of a task that succeeded (and per event through an alias).

    The extra is what the task set in ``outlet_events[asset].extra`` (or yielded as
    ``Metadata``), else nothing: the asset's own ``extra`` describes the asset, not the event.
    """
    from dagshift.history.assets import record_event
    from dagshift.runtime.assets import OUTLET_EVENTS_KEY, Asset, task_outlets

    try:
        node = flow.get_task(task_run.task_id)
    except KeyError:
        return []
    told = (task_run.pushed or {}).get(OUTLET_EVENTS_KEY)
    told = told.to_pushed() if told is not None else {"extra": {}, "aliases": {}}
    ids = []
    where = {"flow": flow.name, "run_id": run_id, "task_id": task_run.task_id}
    for outlet in task_outlets(node):
        if isinstance(outlet, Asset):
            extra = told["extra"].get(outlet.uri, {})
            ids.append(record_event(store, outlet.uri, outlet.name, extra, **where))
            continue
        for name, uri, extra in told["aliases"].get(outlet.name, []):
            ids.append(record_event(store, uri, name, extra, alias=outlet.name, **where))
    return ids


class _CancelWatcher:
    """The cancel flag of one recorded run, set when a cancel of it is asked (by another
    process, through the history). One polling thread per Store serves every run recorded
    through it (:class:`_CancelPoller`): 200 runs at once poll with one query, not 200."""

    POLL = 0.5

    def __init__(self, store: Store, run_id: str, event: threading.Event | None) -> None:
        self.store, self.run_id = store, run_id
        self.event = event or threading.Event()
        self.reason: str | None = None

    def start(self) -> None:
        _CancelPoller.of(self.store).watch(self)

    def stop(self) -> None:
        _CancelPoller.of(self.store).forget(self)


class _CancelPoller:
    def __init__(self, store: Store) -> None:
        self.store = store
        self.watched: dict[str, _CancelWatcher] = {}
        self.lock = threading.Lock()
        self.thread: threading.Thread | None = None

    @classmethod
    def of(cls, store: Store) -> _CancelPoller:
        with _writers_lock:
            poller = store.__dict__.get("_dagshift_cancel_poller")
            if poller is None:
                poller = store.__dict__["_dagshift_cancel_poller"] = cls(store)
            return poller

    def watch(self, watcher: _CancelWatcher) -> None:
        with self.lock:
            self.watched[watcher.run_id] = watcher
            if self.thread is None or not self.thread.is_alive():
                self.thread = threading.Thread(
                    target=self._poll, name="dagshift-cancel", daemon=True
                )
                self.thread.start()

    def forget(self, watcher: _CancelWatcher) -> None:
        with self.lock:
            if self.watched.get(watcher.run_id) is watcher:
                del self.watched[watcher.run_id]

    def _poll(self) -> None:
        while True:
            time.sleep(_CancelWatcher.POLL)
            with self.lock:
                watched = dict(self.watched)
                if not watched:
                    self.thread = None  # the next run to watch starts another
                    return
            try:
                asked = self.store.cancels_requested(list(watched))
            except StoreError:
                continue  # a busy database: ask again at the next poll
            for run_id, reason in asked.items():
                watcher = watched[run_id]
                watcher.reason = reason
                watcher.event.set()
                self.forget(watcher)


def _dumps_or_none(value: Any) -> bytes | None:
    try:
        if type(value) is dict and all(
            type(k) in _PLAIN and type(v) in _PLAIN for k, v in value.items()
        ):
            return pickle.dumps(value, protocol=cloudpickle.DEFAULT_PROTOCOL)  # cloudpickle's bytes
        return cloudpickle.dumps(value)
    except Exception:
        return None


def load_completed(
    store: Store, checkpoints: ResultStore, run_id: str, rerun_unreadable: bool = False
) -> dict[str, TaskRun]:
    """The succeeded task runs of a run, with their results read back from checkpoints.

    A succeeded task without a checkpoint (its result could not be pickled) is left out, so it
    runs again. A checkpoint that cannot be read raises :class:`ResultReadError`, unless
    ``rerun_unreadable``, which runs that task again instead.
    """
    done: dict[str, TaskRun] = {}
    for row in store.task_runs(run_id):
        if row["state"] != SUCCESS or not row["result_uri"]:
            continue
        try:
            data = read_result(store, checkpoints, row, run_id)
        except ResultReadError as exc:
            if rerun_unreadable:
                continue
            raise ResultReadError(
                f"{exc}. Nothing was run. Restore the file, or pass --rerun-unreadable to run "
                f"{row['task_id']!r} again"
            ) from None
        done[row["task_id"]] = TaskRun(
            row["task_id"],
            SUCCESS,
            result=data["result"],
            tries=row["tries"],
            start=row["start"],
            end=row["end"],
            pushed=data["pushed"] or {},
            skip=frozenset(data["skip"] or ()),
        )
    return done


def read_result(
    store: Store, checkpoints: ResultStore, row: Mapping[str, Any], run_id: str
) -> dict[str, Any]:
    """What a task run's record points at (``result_uri``): a checkpoint file, or the result
    kept in the database itself.

    Raises:
        ResultReadError: naming the file (or the database), the run and the task.
    """
    task_id = row["task_id"]
    if row["result_uri"] != IN_DB:
        return checkpoints.read(row["result_uri"], run_id, task_id)
    try:
        payload = store.result_payload(run_id, task_id)
        if payload is None:
            raise ValueError("the record says the result is in the database, and it is not")
        return ResultStore.loads(payload)
    except Exception as exc:
        raise ResultReadError(
            f"cannot read the result of task {task_id!r} of run {run_id} from the history "
            f"database {store.path}: {type(exc).__name__}: {exc}"
        ) from None


def resume_run(
    store: Store,
    checkpoints: ResultStore,
    run_id: str,
    *,
    force: bool = False,
    rerun_unreadable: bool = False,
    **options: Any,
):
    """Run again only the tasks of ``run_id`` that did not succeed; return the FlowRun.

    Raises:
        RunNotFound: no such run.
        ResumeError: the run succeeded already, is still running in a live process, or its
            flow cannot be found in the file it came from.
        ResultReadError: a stored result cannot be read (see ``rerun_unreadable``).
    """
    from dagshift.runtime.loader import LoadError, load_file

    run = store.get_run(run_id)
    run_id = run["run_id"]
    if run["state"] == SUCCESS:
        raise ResumeError(f"run {run_id} of {run['flow']!r} already succeeded: nothing to resume")
    alive = store.run_is_alive(run)
    if alive and not force:
        raise ResumeError(
            f"run {run_id} is still running (process {run['pid']} on {run['host']}); stop it "
            "first, or pass --force if you know it is gone"
        )
    if not run["path"]:
        raise ResumeError(f"run {run_id} has no recorded flow file, so it cannot be resumed")
    try:
        flows = [f for f in load_file(run["path"]) if f.name == run["flow"]]
    except LoadError as exc:
        raise ResumeError(f"cannot load the flow of run {run_id}: {exc}") from None
    if not flows:
        raise ResumeError(f"{run['path']} no longer defines flow {run['flow']!r} (run {run_id})")
    completed = load_completed(store, checkpoints, run_id, rerun_unreadable)
    parameters = stored_parameters(store, run)
    return run_recorded(
        store,
        checkpoints,
        flows[0],
        path=run["path"],
        parameters=parameters,
        logical_date=run["logical_date"],
        run_id=run_id,
        completed=completed,
        **options,
    )


def stored_parameters(store: Store, run: Mapping[str, Any]) -> dict[str, Any]:
    """The parameters a recorded run was started with, as given (their JSON copy if the
    pickled ones no longer load)."""
    blob = store.params_blob(run["run_id"])
    if blob is not None:
        try:
            return cloudpickle.loads(blob)
        except Exception:  # pickled by code that no longer exists: the JSON copy will do
            pass
    return dict(run["params"])
