"""Running a flow's Dask graph on a dask.distributed cluster.

The graph is the same one the threaded scheduler runs (see :mod:`dagshift.runtime.executor`);
only where it runs changes. Every task node returns a :class:`TaskRun` holding its result,
and downstream nodes receive those task runs worker to worker. The client asks for a
*summary* of every node (state, tries, timings, error: a copy without the result) and for
the full task run only of the tasks whose results the caller wants, so large results stay
on the workers. When a worker dies, the scheduler runs its tasks again elsewhere.

``cluster`` is an address (``tcp://host:8786``), ``local:N`` (a LocalCluster of N worker
processes started for this run and closed after it), or a ``distributed.Client``.
"""

from __future__ import annotations

import contextlib
import pickle
from collections.abc import Callable, Iterable, Iterator
from dataclasses import replace
from typing import Any

import cloudpickle

from dagshift.runtime.state import TaskRun

__all__ = ["SerializationError", "client_for", "run_graph_on_cluster", "summary"]


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
            raise ValueError(f"expected local:N with N a number of workers, got {cluster!r}") from None
        with LocalCluster(
            n_workers=workers, threads_per_worker=4, processes=True, dashboard_address=None
        ) as local, Client(local) as client:
            yield client
        return
    with Client(cluster, timeout="10s") as client:
        yield client


def _check_serializable(dsk: dict[str, tuple[Any, ...]]) -> None:
    for _, plan, _ in dsk.values():
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


def _short_repr(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def run_graph_on_cluster(
    dsk: dict[str, tuple[Any, ...]],
    cluster: Any,
    want_results: Iterable[str],
    listeners: Iterable[Callable[[TaskRun], None]] = (),
) -> list[TaskRun]:
    """Compute ``dsk`` on the cluster; return one task run per node, in the graph's order.

    Only the nodes in ``want_results`` (Dask keys) come back with their results.
    """
    _check_serializable(dsk)
    want = set(want_results)
    graph = dict(dsk)
    fetch: list[str] = []
    for key in dsk:
        if key in want:
            fetch.append(key)
        else:
            graph[f"{key}#summary"] = (summary, key)
            fetch.append(f"{key}#summary")
    listeners = tuple(listeners)
    with client_for(cluster) as client:
        futures = client.get(graph, fetch, sync=False)
        if listeners:
            from distributed import as_completed

            for future in as_completed(futures):
                task_run = future.result()
                for listener in listeners:
                    listener(task_run)
        try:
            runs = client.gather(futures)
        except pickle.PicklingError as exc:
            raise SerializationError(f"a task result cannot be sent from the cluster: {exc}") from exc
    return list(runs)
