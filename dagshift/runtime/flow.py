"""Flows: the graph of tasks, built by calling tasks inside ``with Flow(...)``.

The graph is a ``networkx.DiGraph`` whose nodes are task ids (attribute ``task``: the
:class:`TaskNode`) and whose edges carry ``data``: the list of bindings through which the
upstream result reaches the downstream task (empty for an order-only edge). The converter and
the import shim build this same graph, so comparing a converted flow with its original is a
graph comparison.
"""

from __future__ import annotations

import contextvars
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import networkx as nx

from dagshift.runtime import setup_teardown
from dagshift.runtime.active import _active, _collectors, current_flow
from dagshift.runtime.executor import run_flow
from dagshift.runtime.graph import to_dot, to_mermaid
from dagshift.runtime.groups import current_group
from dagshift.runtime.task import (
    META_OPTIONS,
    MapSpec,
    ParameterRef,
    Task,
    TaskNode,
    TaskRef,
    _as_timedelta,
    _callbacks,
    normalize_options,
    refs_of,
)

__all__ = ["Binding", "CycleError", "Flow", "Parameter", "ParameterRef", "current_flow"]

_NO_DEFAULT = object()


class CycleError(ValueError):
    """An edge would make the flow's graph cyclic."""


@dataclass(frozen=True)
class Binding:
    """How an upstream result feeds a downstream task: argument path and key selector."""

    argument: str
    selector: tuple[Any, ...] = ()


class Parameter(ParameterRef):
    """A value given when the flow runs: ``flow.run(parameters={"day": ...})``.

    Inside ``with Flow(...)`` it registers itself on the flow; pass it to tasks like any value.
    As a value of ``Flow(params={...})`` (under its own name) it declares that run parameter.
    ``description`` documents it; the other keywords are a JSON Schema (``type="integer"``,
    ``minimum=0``, ``enum=[...]`` ...) that the run's value (given, else the default) must
    satisfy, checked with jsonschema as Airflow checks a ``Param``.

    Example:
        ``Flow("report", params={"rows": Parameter("rows", 10, type="integer", minimum=1)})``
    """

    __slots__ = ("default", "description", "schema")

    def __init__(
        self, name: str, default: Any = _NO_DEFAULT, *, description: str | None = None, **schema
    ) -> None:
        super().__init__(name)
        self.default = default
        self.description = description
        self.schema = schema
        flow = current_flow()
        if flow is not None:
            flow.add_parameter(self)

    @property
    def required(self) -> bool:
        return self.default is _NO_DEFAULT

    def validate(self, value: Any) -> Any:
        """``value`` if it satisfies the schema; ValueError naming the parameter if not."""
        if not self.schema:
            return value
        from jsonschema import FormatChecker, ValidationError, validate

        try:
            validate(value, self.schema, format_checker=FormatChecker())
        except ValidationError as err:
            # Airflow's words (ParamValidationError), so a user finds the same message
            raise ValueError(f"Invalid input for param {self.name}: {err.message}") from None
        return value


class Flow:
    """A graph of tasks, defined by calling them inside ``with Flow(...)``.

    Example:
        >>> from dagshift import task, Flow
        >>> @task
        ... def one():
        ...     return 1
        >>> @task
        ... def double(x):
        ...     return 2 * x
        >>> with Flow("numbers") as flow:
        ...     double(one())
        <TaskRef numbers.double>
        >>> flow.run().tasks["double"].result
        2

    Args:
        name: the flow's name (a converted DAG keeps its dag_id).
        schedule: cron string, preset (``@daily``), timedelta, list of datetimes, or None.
        params: default values of run parameters, visible as ``params`` in the run context.
        default_task_options: options every task gets unless it sets its own
            (``retries``, ``retry_delay``, ``trigger_rule`` ...).
        description, start_date, end_date, catchup, tags, max_active_runs: kept as metadata
            for scheduling and reports.
        max_active_tasks: at most this many tasks of one run at once (Airflow's
            ``max_active_tasks``, formerly ``concurrency``); default 16. Every run of the
            process shares one pool of threads besides (``$DAGSHIFT_MAX_THREADS``, 256).
        on_success, on_failure: a function (or a list) called with the run's context, its
            ``reason`` ("success" / "task_failure", Airflow's words) and no task's keys, once a
            run has succeeded or failed (Airflow's DAG ``on_success_callback`` /
            ``on_failure_callback``); one that raises changes nothing.
        data_interval: the data interval of a run started for a date without one: "point"
            (``(date, date)``, as Airflow 3) or "previous" (the schedule period ending at the
            date, as Airflow 1.10/2.x).
        run_timeout: a timedelta or seconds (Airflow's ``dagrun_timeout``): a run still going
            that long after it started fails, and every task not finished by then ends
            ``skipped`` (a running one is told to stop, as a cancel does).
        template_searchpath: a folder (or a list) where template files are found after the
            folder of the flow's file (Airflow's ``template_searchpath``; the compat shim's
            operators kept in a converted flow load theirs so).
    """

    def __init__(
        self,
        name: str,
        schedule: Any = None,
        *,
        description: str | None = None,
        start_date: Any = None,
        end_date: Any = None,
        catchup: bool = False,
        tags: Iterable[str] = (),
        params: Mapping[str, Any] | None = None,
        default_task_options: Mapping[str, Any] | None = None,
        max_active_runs: int | None = None,
        max_active_tasks: int | None = None,
        data_interval: str = "point",
        run_timeout: Any = None,
        on_success: Any = None,
        on_failure: Any = None,
        template_searchpath: str | Iterable[str] | None = None,
        **meta: Any,
    ) -> None:
        if not isinstance(name, str) or not name:
            raise ValueError(f"a flow needs a non-empty name, got {name!r}")
        self.name = name
        self.schedule = schedule
        self.description = description
        self.start_date = start_date
        self.end_date = end_date
        self.catchup = catchup
        self.tags = list(tags)
        self.params = dict(params or {})
        declared = [v for v in self.params.values() if isinstance(v, Parameter)]
        self.default_task_options = normalize_options(default_task_options or {})
        self.max_active_runs = max_active_runs
        if max_active_tasks is not None and (
            not isinstance(max_active_tasks, int) or max_active_tasks < 1
        ):
            raise ValueError(
                f"max_active_tasks must be a whole number >= 1, not {max_active_tasks!r}"
            )
        self.max_active_tasks = max_active_tasks
        if data_interval not in ("point", "previous"):
            raise ValueError(f"data_interval must be 'point' or 'previous', not {data_interval!r}")
        self.data_interval = data_interval
        # Airflow's dagrun_timeout: past it the run fails and every unfinished task is skipped
        self.run_timeout = _as_timedelta(run_timeout, "run_timeout")
        # the run's callbacks (Airflow's DAG on_success_callback / on_failure_callback)
        self.on_success = _callbacks(on_success, "on_success")
        self.on_failure = _callbacks(on_failure, "on_failure")
        self.meta = meta
        if isinstance(template_searchpath, str):
            template_searchpath = [template_searchpath]
        self.template_searchpath = [str(p) for p in template_searchpath or ()]
        self.fileloc: str | None = None  # the file that made the flow (the loader sets it)
        self.graph = nx.DiGraph()
        self.parameters: dict[str, Parameter] = {}
        self.groups: dict[str, Any] = {}  # full id -> Group (runtime/groups.py)
        for parameter in declared:  # params={"rows": Parameter("rows", 10, type="integer")}
            self._declare(parameter)
        self._ordered = True  # every edge so far goes from an older node to a newer one
        self._id_counters: dict[str, int] = {}
        self._tokens: list[contextvars.Token] = []
        for found in _collectors.get():
            found.append(self)

    def __repr__(self) -> str:
        return f"<Flow {self.name!r}: {self.graph.number_of_nodes()} tasks>"

    def template_folders(self) -> list[str]:
        """Where template files are looked up, in order, as Airflow does for a DAG: the folder
        of the flow's file, then ``template_searchpath``."""
        own = [os.path.dirname(os.path.abspath(self.fileloc))] if self.fileloc else []
        return [*own, *self.template_searchpath]

    def __enter__(self) -> Flow:
        self._tokens.append(_active.set(self))
        return self

    def __exit__(self, *exc: Any) -> None:
        _active.reset(self._tokens.pop())

    # ----------------------------------------------------------------- building
    @property
    def tasks(self) -> dict[str, TaskNode]:
        """Task nodes by id, in the order they were added."""
        return {tid: data["task"] for tid, data in self.graph.nodes(data=True)}

    def get_task(self, task_id: str) -> TaskNode:
        try:
            return self.graph.nodes[task_id]["task"]
        except KeyError:
            raise KeyError(f"flow {self.name!r} has no task {task_id!r}") from None

    def _declare(self, parameter: Parameter) -> None:
        if self.params.get(parameter.name) is not parameter:
            raise ValueError(
                f"flow {self.name!r}: params holds Parameter {parameter.name!r} under another "
                "name; give it the key it is stored under"
            )
        if parameter.required:
            del self.params[parameter.name]
        else:  # the default reads as a plain param, in its place
            self.params[parameter.name] = parameter.default
        self.add_parameter(parameter)

    def add_parameter(self, parameter: Parameter) -> None:
        if parameter.name in self.parameters:
            raise ValueError(f"flow {self.name!r} already has a parameter {parameter.name!r}")
        self.parameters[parameter.name] = parameter

    def _new_id(self, task_: Task, group: Any = None) -> str:
        if task_.task_id is not None:
            task_id = group.child_id(task_.task_id) if group is not None else task_.task_id
            if task_id in self.graph:
                raise ValueError(f"flow {self.name!r} already has a task with id {task_id!r}")
            return task_id
        base = group.child_id(task_.name) if group is not None else task_.name
        if base not in self.graph:
            return base
        # Counting per name keeps adding the same task many times linear, not quadratic.
        n = self._id_counters.get(base, 0) + 1
        while f"{base}__{n}" in self.graph:
            n += 1
        self._id_counters[base] = n
        return f"{base}__{n}"

    def add_task(
        self,
        task_: Task,
        args: tuple[Any, ...] = (),
        kwargs: Mapping[str, Any] | None = None,
        *,
        upstream_tasks: Iterable[Any] = (),
        map_spec: MapSpec | None = None,
        meta: Mapping[str, Any] | None = None,
    ) -> TaskRef:
        """Add one call of ``task_`` as a node; return its placeholder."""
        kwargs = dict(kwargs or {})
        group = current_group(self)  # a Group open in this flow: its id prefix and options
        task_id = self._new_id(task_, group)
        grouped = group.task_options if group is not None else {}
        options = {**_defaults(), **self.default_task_options, **grouped, **task_.options}
        docs = {k: options.pop(k) for k in META_OPTIONS & set(options)}  # documentation, outlets
        if group is not None:
            docs["groups"] = group.ancestors()
            mapping = group.mapped_around()  # a task of a mapped group: one run per element
            if mapping is not None:
                if map_spec is not None:
                    raise ValueError(
                        f"task {task_id!r} is mapped (.expand) inside the mapped group "
                        f"{mapping.group_id!r}: map the group or the task, not both"
                    )
                docs["group_map"] = mapping
        node = TaskNode(
            task_id,
            task_,
            tuple(args),
            kwargs,
            options,
            len(self.graph),
            map_spec,
            {**docs, **(meta or {})},
        )
        self.graph.add_node(task_id, task=node)
        for argument, value in _arguments(node):
            for ref in refs_of(value):
                self._check_ref(ref, task_id)
                self.add_edge(ref.task_id, task_id, Binding(argument, ref.selector))
        for ref in _flatten_refs(upstream_tasks):
            self._check_ref(ref, task_id)
            self.add_edge(ref.task_id, task_id)
        setup_teardown.added(self, task_id)  # the work of an open `with setup >> teardown:`
        return TaskRef(self, task_id)

    def _check_ref(self, ref: TaskRef, task_id: str) -> None:
        if ref.flow is not self:
            raise ValueError(
                f"task {task_id!r} of flow {self.name!r} uses the result of {ref.task_id!r} "
                f"from another flow ({ref.flow.name!r}); results pass only within one flow"
            )

    def add_edge(self, upstream: str, downstream: str, binding: Binding | None = None) -> None:
        """Add an order edge, or a data edge when ``binding`` is given."""
        for tid in (upstream, downstream):
            if tid not in self.graph:
                raise KeyError(f"flow {self.name!r} has no task {tid!r}")
        if upstream == downstream:
            raise CycleError(f"task {upstream!r} cannot depend on itself")
        if self.graph.has_edge(upstream, downstream):
            data = self.graph.edges[upstream, downstream]["data"]
            if binding is not None and binding not in data:
                data.append(binding)
            return
        # While every edge points from an older node to a newer one the graph cannot have a
        # cycle, so the path search is needed only once an edge has pointed backwards.
        backwards = self.get_task(upstream).index > self.get_task(downstream).index
        if (backwards or not self._ordered) and nx.has_path(self.graph, downstream, upstream):
            path = nx.shortest_path(self.graph, downstream, upstream)
            cycle = " -> ".join([*path, downstream])
            raise CycleError(
                f"flow {self.name!r}: making {downstream!r} run after {upstream!r} would "
                f"create a cycle: {cycle}"
            )
        if backwards:
            self._ordered = False
        self.graph.add_edge(upstream, downstream, data=[binding] if binding else [])

    # ------------------------------------------------------------------ views
    def upstream_ids(self, task_id: str) -> list[str]:
        return sorted(self.graph.predecessors(task_id), key=lambda t: self.get_task(t).index)

    def downstream_ids(self, task_id: str) -> list[str]:
        return sorted(self.graph.successors(task_id), key=lambda t: self.get_task(t).index)

    def leaves(self) -> list[str]:
        return [t for t in self.graph if self.graph.out_degree(t) == 0]

    def topological_order(self) -> list[str]:
        """Task ids in an order where every task comes after its upstream tasks."""
        if self._ordered:
            return list(self.graph.nodes)
        return list(
            nx.lexicographical_topological_sort(self.graph, key=lambda t: self.get_task(t).index)
        )

    def visualize(self, format: str = "mermaid") -> str:
        """The graph as Mermaid (default) or DOT text; data edges are labelled with arguments."""
        if format == "mermaid":
            return to_mermaid(self)
        if format == "dot":
            return to_dot(self)
        raise ValueError(f"unknown format {format!r}; use 'mermaid' or 'dot'")

    # ------------------------------------------------------------------ running
    def loaded(self) -> None:
        """Called by the loader once the file that built this flow has run to its end (a
        flow built by another layer, the shim's DAG, carries in what the file set late).
        Setup tasks are checked then, as Airflow's DagBag checks them."""
        setup_teardown.validate(self)

    def check_parameters(self, parameters: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """The run parameters a run with ``parameters`` would see; raises ``ValueError`` when
        the run would be refused (a required parameter without a value, one its schema
        rejects) before any task starts."""
        from dagshift.runtime.executor import resolve_params

        return resolve_params(self, parameters)

    def run(
        self,
        parameters: Mapping[str, Any] | None = None,
        *,
        logical_date: Any = None,
        data_interval: tuple[Any, Any] | None = None,
        conf: Mapping[str, Any] | None = None,
        run_id: str | None = None,
        raise_on_failure: bool = False,
        scheduler: str = "threads",
        num_workers: int | None = None,
        **options: Any,
    ):
        """Run the flow once and return a :class:`~dagshift.runtime.executor.FlowRun`.

        Args:
            parameters: values of run parameters (also visible as ``params``).
            logical_date: the run's date (``ds``, ``ts`` ...); defaults to now, in UTC.
            data_interval: (start, end); by default derived from the schedule as Airflow 3 does.
            conf: the run's configuration (Airflow's ``dag_run.conf``); by default the
                ``parameters`` the run was started with, as a triggered DAG's conf is.
            raise_on_failure: raise :class:`FlowRunFailed` if the run fails.
            scheduler: ``"threads"`` (Dask's local threaded scheduler) or ``"sync"``
                (one thread, in order: for debugging and deterministic tests).
            options: passed to :func:`~dagshift.runtime.executor.run_flow`: ``cluster``
                (a dask.distributed address, ``local:N`` or a Client) with ``results``
                (which results come back from the cluster), ``listeners``, ``completed``.
        """
        return run_flow(
            self,
            parameters=parameters,
            logical_date=logical_date,
            data_interval=data_interval,
            conf=conf,
            run_id=run_id,
            raise_on_failure=raise_on_failure,
            scheduler=scheduler,
            num_workers=num_workers,
            **options,
        )


def _defaults() -> dict[str, Any]:
    from dagshift.runtime.task import DEFAULT_OPTIONS

    return DEFAULT_OPTIONS


def _arguments(node: TaskNode) -> list[tuple[str, Any]]:
    """(argument name, value) pairs of a node, positional arguments named by the signature."""
    names: list[str] = []
    sig = node.task.signature
    if sig is not None:
        params = list(sig.parameters.values())
        for i, _ in enumerate(node.args):
            if i < len(params) and params[i].kind in (
                params[i].POSITIONAL_ONLY,
                params[i].POSITIONAL_OR_KEYWORD,
            ):
                names.append(params[i].name)
            else:
                names.append(f"*{i}")
    else:
        names = [f"*{i}" for i in range(len(node.args))]
    pairs = list(zip(names, node.args, strict=True)) + list(node.kwargs.items())
    if node.map_spec is not None:
        pairs += list(node.map_spec.partial.items())
        if node.map_spec.expand is not None:
            pairs += list(node.map_spec.expand.items())
        if node.map_spec.expand_kwargs is not None:
            pairs.append(("**expand_kwargs", node.map_spec.expand_kwargs))
    return pairs


def _flatten_refs(items: Iterable[Any]) -> list[TaskRef]:
    refs = refs_of(list(items))
    bad = [i for i in items if not refs_of(i)]
    if bad:
        raise TypeError(f"upstream_tasks= takes task placeholders, got {bad[0]!r}")
    return refs
