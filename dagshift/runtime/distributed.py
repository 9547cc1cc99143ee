"""Running a flow's Dask graph on a dask.distributed cluster.

The graph is the same one the threaded scheduler runs (see :mod:`dagshift.runtime.executor`);
only where it runs changes. Every task node returns a :class:`TaskRun` holding its result,
and downstream nodes receive those task runs worker to worker. Each node also publishes a
*summary* (state, tries, timings, error: no result) as a small event that the client
subscribes to; the client fetches the full task run only of the tasks whose results the
caller wants, so large results stay on the workers. When a worker dies, the scheduler runs
its tasks again elsewhere.

``cluster`` is an address (``tcp://host:8786``), ``local:N`` (a LocalCluster of N worker
processes started for this run and closed after it), or a ``distributed.Client``.
"""

from __future__ import annotations

import contextlib
import io
import marshal
import pickle
import queue
import threading
import time
import types
from collections import ChainMap
from collections.abc import Callable, Iterable, Iterator
from dataclasses import replace
from typing import Any

import cloudpickle

from dagshift.runtime.cancel import KILL_GRACE, ClusterFlag
from dagshift.runtime.state import TaskRun

__all__ = [
    "WORKER_SETUP",
    "SerializationError",
    "client_for",
    "publish",
    "run_graph_on_cluster",
    "summary",
]

# How long a cancelled run waits for its running tasks to stop (told through the run's
# ClusterFlag, a subprocess terminated: SIGTERM, SIGKILL KILL_GRACE later) before it cancels
# what is left on the scheduler, dropping its result.
CANCEL_GRACE = KILL_GRACE + 1.0

# Functions every worker runs once before it runs tasks (importable by name, no arguments):
# another part of dagshift registers here what a worker needs, such as the Airflow import shim.
WORKER_SETUP: list[Callable[[], None]] = []


def _prepare_workers(client: Any) -> None:
    done = getattr(client, "_dagshift_setup", set())
    for fn in WORKER_SETUP:
        if fn not in done:
            client.register_worker_callbacks(setup=fn)
            done.add(fn)
    client._dagshift_setup = done


class SerializationError(TypeError):
    """A task or one of its arguments cannot be sent to the cluster."""


def summary(task_run: TaskRun) -> TaskRun:
    """The task run without its result and exception: what the run record needs."""
    return replace(task_run, result=None, exception=None)


@contextlib.contextmanager
def client_for(cluster: Any) -> Iterator[Any]:
    """A connected ``distributed.Client`` for ``cluster``; closes what it started."""
    try:
        from distributed import Client, LocalCluster
    except ImportError as exc:  # pragma: no cover - the extra is part of the test setup
        raise RuntimeError(
            "running on a cluster needs dask.distributed: pip install 'dagshift[distributed]'"
        ) from exc
    if isinstance(cluster, Client):
        yield cluster
        return
    if not isinstance(cluster, str):
        raise TypeError(f"cluster must be an address, 'local:N' or a Client, got {cluster!r}")
    if cluster.startswith("local:"):
        try:
            workers = int(cluster.split(":", 1)[1])
        except ValueError:
            raise ValueError(
                f"expected local:N with N a number of workers, got {cluster!r}"
            ) from None
        with (
            LocalCluster(
                n_workers=workers, threads_per_worker=4, processes=True, dashboard_address=None
            ) as local,
            Client(local) as client,
        ):
            yield client
        return
    with Client(cluster, timeout="10s") as client:
        yield client


def _check_serializable(dsk: dict[str, Any]) -> None:
    for value in dsk.values():
        if not isinstance(value, tuple):
            continue
        plan = value[1]
        node = plan.node
        parts: list[tuple[str, Any]] = [("the task function", node.task.fn)]
        parts += [(f"argument {i}", v) for i, v in enumerate(node.args)]
        parts += [(f"argument {k!r}", v) for k, v in node.kwargs.items()]
        if node.map_spec is not None:
            parts += [(f"argument {k!r}", v) for k, v in node.map_spec.partial.items()]
            parts += [(f"argument {k!r}", v) for k, v in (node.map_spec.expand or {}).items()]
        for what, value in parts:
            try:
                cloudpickle.dumps(value)
            except Exception as exc:
                raise SerializationError(
                    f"task {plan.task_id!r} cannot be sent to the cluster: {what} "
                    f"({_short_repr(value)}) cannot be serialized: {exc}. Create such objects "
                    "inside the task, or run without --cluster."
                ) from exc


def _code_reduce(code: types.CodeType) -> tuple[Any, ...]:
    """A code object as Python's own .pyc format holds it, file name included (cloudpickle
    3.1.3 names the code it sends "<dynamic-code>", and a failed task's traceback then shows
    neither the file nor the source line)."""
    return marshal.loads, (marshal.dumps(code),)


class _Pickler(cloudpickle.Pickler):
    dispatch_table = ChainMap({types.CodeType: _code_reduce}, cloudpickle.Pickler.dispatch_table)


def _dumps(obj: Any) -> bytes:
    with io.BytesIO() as buffer:
        _Pickler(buffer, protocol=pickle.HIGHEST_PROTOCOL).dump(obj)
        return buffer.getvalue()


class _ByValue:
    """Sends its object with cloudpickle inside Dask's plain pickling, so functions of loaded
    DAG and flow files (registered to be pickled by value) reach workers that cannot import
    those files by name. It stays wrapped, its bytes kept, across every hop (client,
    scheduler, worker): unwrapped, the scheduler would pickle the object again with
    cloudpickle's own pickler, which names by-value code "<dynamic-code>"."""

    __slots__ = ("obj", "blob")

    def __init__(self, obj: Any, blob: bytes | None = None) -> None:
        self.obj, self.blob = obj, blob

    def __reduce__(self):
        if self.blob is None:
            self.blob = _dumps(self.obj)
        return _restore, (self.blob,)


def _restore(blob: bytes) -> _ByValue:
    return _ByValue(cloudpickle.loads(blob), blob)


def _unwrapped(fn: Callable[..., Any], *args: Any) -> Any:
    """``fn(*args)`` on a worker, each wrapped argument unwrapped."""
    return fn(*(a.obj if isinstance(a, _ByValue) else a for a in args))


def _by_value(dsk: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in dsk.items():
        if isinstance(value, tuple):
            fn, plan, run, *rest = value
            run = run if isinstance(run, str) else _ByValue(run)
            value = (_unwrapped, fn, _ByValue(plan), run, *rest)
        out[key] = value
    return out


def _short_repr(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def publish(topic: str, task_run: TaskRun) -> None:
    """Send a task run's summary to the client from the worker running it (one small event,
    instead of one more task per node in the graph)."""
    from distributed import get_worker

    get_worker().log_event(topic, _event(task_run))


def _event(task_run: TaskRun) -> dict[str, Any]:
    return {name: getattr(task_run, name) for name in _EVENT_FIELDS}


_EVENT_FIELDS = (
    "task_id",
    "state",
    "error",
    "traceback",
    "tries",
    "start",
    "end",
    "message",
    "logs",
)


def _from_event(msg: dict[str, Any]) -> TaskRun:
    return TaskRun(**{k: msg.get(k) for k in _EVENT_FIELDS})


def _cancelled(task_id: str, listeners) -> TaskRun:
    from dagshift.runtime.state import CANCELLED

    task_run = TaskRun.not_run(task_id, CANCELLED, "the run was cancelled before this task ended")
    for listener in listeners:
        listener(task_run)
    return task_run


def run_graph_on_cluster(
    dsk: dict[str, tuple[Any, ...]],
    cluster: Any,
    want_results: Iterable[str],
    listeners: Iterable[Callable[[TaskRun], None]] = (),
    topic: str | None = None,
    cancel: threading.Event | None = None,
    flag: ClusterFlag | None = None,
) -> list[TaskRun]:
    """Compute ``dsk`` on the cluster; return one task run per node, in the graph's order.

    Only the nodes in ``want_results`` (Dask keys) come back with their results; the others
    come back as summaries, which the nodes publish on ``topic`` as they finish. A summary
    that did not arrive (a worker lost at the wrong moment) is fetched from its node. Once
    ``cancel`` is set, ``flag`` (the run's cancel flag as the nodes see it) is set on the
    cluster: nodes not started end ``cancelled`` without running, running ones are told (a
    subprocess is terminated). Nodes still pending ``CANCEL_GRACE`` seconds later (a task that
    never checks) are cancelled on the scheduler and come back ``cancelled``; their results
    are dropped.
    """
    _check_serializable(dsk)
    keys = [k for k, v in dsk.items() if isinstance(v, tuple)]
    want = set(want_results)
    listeners = tuple(listeners)
    arrived: queue.Queue[dict[str, Any]] = queue.Queue()
    summaries: dict[str, TaskRun] = {}

    def drain(block: float | None) -> None:
        while True:
            try:
                msg = arrived.get(timeout=block) if block else arrived.get_nowait()
            except queue.Empty:
                return
            task_run = _from_event(msg)
            summaries[task_run.task_id] = task_run
            for listener in listeners:
                listener(task_run)
            block = None

    told: float | None = None  # when the nodes were told of a cancel
    with client_for(cluster) as client:
        _prepare_workers(client)
        if topic:
            client.subscribe_topic(topic, lambda event: arrived.put(event[1]))
        try:
            futures = dict(zip(keys, client.get(_by_value(dsk), keys, sync=False), strict=True))
            pending = list(futures.values())
            while pending:
                drain(0.05)  # summaries as they come, for listeners (progress, run records)
                pending = [f for f in pending if not f.done()]
                if not pending or cancel is None or not cancel.is_set():
                    continue
                if told is None:
                    told = time.monotonic()
                    if flag is not None:
                        flag.raise_on(client)
                if flag is None or time.monotonic() - told > CANCEL_GRACE:
                    client.cancel(pending)
                    break
            drain(None)
            by_task = {dsk[k][1].task_id: k for k in keys}
            stopped = {k for k, f in futures.items() if f.cancelled()}
            for key in stopped:
                task_id = dsk[key][1].task_id
                if task_id not in summaries:
                    summaries[task_id] = _cancelled(task_id, listeners)
            errors = [f for f in futures.values() if f.status == "error"]
            if errors:
                errors[0].result()  # raises the cluster's error (a lost task, a bad result)
            deadline = time.monotonic() + 2.0
            while len(summaries) < len(keys) and time.monotonic() < deadline:
                drain(0.05)
            missing = [k for t, k in by_task.items() if t not in summaries]
            late = client.gather([client.submit(summary, futures[k], pure=False) for k in missing])
            for task_run in late:
                summaries[task_run.task_id] = task_run
                for listener in listeners:
                    listener(task_run)
            try:
                full = dict(
                    zip(
                        [k for k in keys if k in want and k not in stopped],
                        client.gather([futures[k] for k in keys if k in want and k not in stopped]),
                        strict=True,
                    )
                )
            except pickle.PicklingError as exc:
                raise SerializationError(
                    f"a task result cannot be sent from the cluster: {exc}"
                ) from exc
        finally:
            if topic:
                client.unsubscribe_topic(topic)
            if flag is not None and told is not None:
                with contextlib.suppress(Exception):  # the cluster may be going away
                    flag.clear(client)
    return [full[k] if k in full else summaries[dsk[k][1].task_id] for k in keys]
