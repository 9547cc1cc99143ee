"""Running a flow on Dask.

A flow becomes a Dask graph with one key per task, ``"<flow>.<task_id>"``, whose value is
``(execute_node, plan, [upstream keys])``. Dask hands every node the *task runs* of its
upstream tasks, never bare results: a node first decides from those states and its trigger
rule whether to run at all (Airflow's rules, see :mod:`dagshift.runtime.state`), and always
returns a :class:`TaskRun` (success with a result, failed with error and traceback, skipped,
upstream_failed). A failure therefore never aborts the Dask computation; it flows through the
graph as a state, which is what makes trigger rules, skip propagation and the run's final
state come out as in Airflow.

Branching and short-circuits are decisions, not states: a task that decides that others must
be skipped puts their ids in its run's ``skip`` set, and every node passes the union of its
upstream sets on, so a task is skipped whatever its trigger rule when any upstream path
carries its id. The translation from flow to Dask graph (:func:`to_dask_graph`) is a pure
function; ``scheduler="sync"`` runs the same graph in one thread, in order.
"""

from __future__ import annotations

import itertools
import threading
import time
import traceback as tb
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import timedelta
from typing import TYPE_CHECKING, Any

import dask
import networkx as nx

from dagshift.runtime.cancel import Cancelled, ClusterFlag, Flag, cancel_requested, watching
from dagshift.runtime.context import (
    FailTask,
    RunInfo,
    SkipTask,
    _Current,
    _current,
    call_task_function,
    get_run_context,
    to_datetime,
)
from dagshift.runtime.derived import Derived, realize, realize_args
from dagshift.runtime.group_mapping import (
    at_index,
    combined_state,
    element_inputs,
    listed,
    substitute_call,
)
from dagshift.runtime.logcapture import attached, capture
from dagshift.runtime.past import wait_for_past
from dagshift.runtime.pool import run_dask_graph
from dagshift.runtime.pools import hold
from dagshift.runtime.retry_policy import RetryAction, retry_decision
from dagshift.runtime.setup_teardown import effective_leaves, indirect_setups, roles
from dagshift.runtime.state import (
    CANCELLED,
    FAILED,
    SKIPPED,
    SUCCESS,
    UPSTREAM_FAILED,
    TaskRun,
    decide,
    decide_setups,
    run_state,
)
from dagshift.runtime.task import MapSpec, ParameterRef, Pushed, TaskNode, TaskRef, refs_of

if TYPE_CHECKING:
    from dagshift.runtime.flow import Flow

__all__ = ["FlowRun", "FlowRunFailed", "RunState", "execute_node", "run_flow", "to_dask_graph"]

DEFAULT_WORKERS = 16  # tasks are often I/O bound (shell, databases): more threads than cores


class FlowRunFailed(RuntimeError):
    """Raised by ``flow.run(raise_on_failure=True)`` when the run failed."""

    def __init__(self, run: FlowRun) -> None:
        failed = [t for t, r in run.tasks.items() if r.state in (FAILED, UPSTREAM_FAILED)]
        first = next((run.tasks[t] for t in failed if run.tasks[t].error), None)
        detail = f"; first error in {first.task_id!r}: {first.error}" if first else ""
        super().__init__(f"flow {run.flow_name!r} failed: {', '.join(failed)}{detail}")
        self.run = run


@dataclass
class FlowRun:
    """The outcome of one run: its state and every task's :class:`TaskRun`."""

    flow_name: str
    run_id: str
    logical_date: Any
    state: str
    tasks: dict[str, TaskRun]
    start: float
    end: float
    params: dict[str, Any] = field(default_factory=dict)
    extra: dict[str, Any] = field(default_factory=dict)  # what tasks noted about the run

    @property
    def duration(self) -> float:
        return self.end - self.start

    @property
    def ok(self) -> bool:
        return self.state == SUCCESS

    def __getitem__(self, task_id: str) -> TaskRun:
        return self.tasks[task_id]

    def result(self, task_id: str) -> Any:
        """The result of one task (None if it did not succeed)."""
        return self.tasks[task_id].result

    def to_dict(self, results: bool = True) -> dict[str, Any]:
        """``{"state": ..., "tasks": {id: {"state": ..., "result": ...}}}`` (the JSON shape)."""
        tasks = {}
        for tid, tr in self.tasks.items():
            entry: dict[str, Any] = {"state": tr.state}
            if results:
                entry["result"] = tr.result
            tasks[tid] = entry
        return {"state": self.state, "tasks": tasks}


@dataclass
class RunState:
    """What the nodes of one run share: the run's context and who to tell when a task ends.

    With the threaded scheduler every node sees the same object, so ``info.task_runs`` fills
    up as the run goes; on a cluster each node gets its own copy holding its upstream runs.
    """

    info: RunInfo
    listeners: tuple[Callable[[TaskRun], None], ...] = ()
    topic: str | None = None  # on a cluster: where nodes publish their summaries
    cancel: Flag | None = None  # set: the run was cancelled (on a cluster: a ClusterFlag)
    deadline: float | None = None  # wall-clock time past which the run has timed out


# Why a task ended skipped when its run passed its run_timeout (Airflow's dagrun_timeout).
TIMED_OUT = "the run passed its run_timeout (dagrun_timeout) before this task finished"


def _timed_out(run: RunState) -> bool:
    return run.deadline is not None and time.time() > run.deadline


@dataclass(frozen=True)
class ResultRef:
    """A task's result (or one key of it) as a node's input: a plain, picklable stand-in for
    the :class:`TaskRef` used while defining, which would drag the whole flow along."""

    task_id: str
    selector: tuple[Any, ...] = ()


@dataclass(frozen=True, eq=False)
class NodePlan:
    """One node of the Dask graph: everything needed to run one task, and nothing more.

    Attributes:
        node: the task node, with placeholders replaced by :class:`ResultRef`.
        upstream, downstream: ids of the direct upstream and downstream tasks.
        done: the task's run from an earlier attempt (resume): reused if it succeeded.
        graph: for a branch, the flow's bare edges (to keep tasks downstream of the choice).
        descendants: for a short-circuit, every task downstream of it.
        setups: the task's relevant setups further upstream (not among ``upstream``), whose
            runs the node also gets, after its upstream ones.
        upstream_setups: which of ``upstream`` are setup tasks (for a teardown's rule).
        teardowns: teardown tasks downstream of a short-circuit (which never skips them).
        aligned: for a task of a mapped task group, the upstream tasks of the same group,
            followed index by index (see :mod:`dagshift.runtime.group_mapping`).
        group_inputs: the tasks whose results the group is mapped over, whose runs the node
            also gets (after the setups') without their counting for its trigger rule.
        feeds_mapping: in an Airflow DAG, tasks are mapped over this (unmapped) task's result,
            which must then be a list, tuple or dict, else this task fails (as in Airflow).
    """

    task_id: str
    node: TaskNode
    upstream: tuple[str, ...]
    downstream: tuple[str, ...]
    done: TaskRun | None = None
    graph: nx.DiGraph | None = None
    descendants: frozenset[str] | None = None
    setups: tuple[str, ...] = ()
    upstream_setups: frozenset[str] = frozenset()
    teardowns: frozenset[str] = frozenset()
    aligned: frozenset[str] = frozenset()
    group_inputs: tuple[str, ...] = ()
    feeds_mapping: bool = False

    def __repr__(self) -> str:
        return f"NodePlan({self.task_id!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, NodePlan) and (self.task_id, self.upstream, self.downstream) == (
            other.task_id,
            other.upstream,
            other.downstream,
        )

    def __hash__(self) -> int:
        return hash((self.task_id, self.upstream))

    def __dask_tokenize__(self) -> tuple[Any, ...]:
        # The key already names the task and the run; hashing the task's code and arguments
        # (Dask's default for an object) would cost more than running a small task.
        return ("dagshift-node", self.task_id, id(self))


def node_key(flow_name: str, task_id: str, suffix: str = "") -> str:
    """The readable Dask key of a task: ``"<flow>.<task_id>"`` (plus a run suffix on a
    cluster, where the keys of concurrent runs of one flow must not meet)."""
    return f"{flow_name}.{task_id}{suffix}"


def _strip(value: Any) -> Any:
    if isinstance(value, TaskRef):
        return ResultRef(value.task_id, value.selector)
    if isinstance(value, Derived):
        return Derived(value.combine, tuple(_strip(v) for v in value.inputs))
    as_ref = getattr(type(value), "__dagshift_ref__", None)
    if as_ref is not None:  # another API's placeholder (an Airflow XComArg)
        return _strip(as_ref(value))
    if isinstance(value, list):
        return [_strip(v) for v in value]
    if isinstance(value, tuple):
        return tuple(_strip(v) for v in value)
    if isinstance(value, set | frozenset):
        return type(value)(_strip(v) for v in value)
    if isinstance(value, dict):
        return {_strip(k): _strip(v) for k, v in value.items()}
    return value


def _planned(node: TaskNode) -> TaskNode:
    spec = node.map_spec
    if spec is not None:
        spec = MapSpec(_strip(spec.partial), _strip(spec.expand), _strip(spec.expand_kwargs))
    meta = node.meta
    if "group_map" in meta:
        meta = {**meta, "group_map": meta["group_map"].stripped(_strip)}
    return replace(
        node, args=_strip(node.args), kwargs=_strip(node.kwargs), map_spec=spec, meta=meta
    )


def to_dask_graph(
    flow: Flow,
    run: RunState,
    completed: Mapping[str, TaskRun] | None = None,
    suffix: str = "",
    share_run: bool = False,
) -> dict[str, Any]:
    """Translate a run of a flow into a Dask graph.

    One key per task, ``"<flow>.<task_id>"``: ``(execute_node, plan, run, [upstream keys])``.
    With ``share_run`` (on a cluster) the :class:`RunState` sits under its own key,
    ``"<flow>.<run>"``, and nodes name that key, so it travels once per worker rather than
    once per task.
    """
    completed = completed or {}
    dsk: dict[str, Any] = {}
    run_arg: Any = run
    if share_run:
        run_arg = node_key(flow.name, "<run>", suffix)
        dsk[run_arg] = run
    for plan in _plans(flow):
        if plan.task_id in completed:
            plan = replace(plan, done=completed[plan.task_id])
        dsk[node_key(flow.name, plan.task_id, suffix)] = (
            execute_node,
            plan,
            run_arg,
            [
                node_key(flow.name, u, suffix)
                for u in plan.upstream + plan.setups + plan.group_inputs
            ],
        )
    return dsk


def _plans(flow: Flow) -> list[NodePlan]:
    """The flow's node plans, made once per shape of the graph and reused by later runs."""
    version = (flow.graph.number_of_nodes(), flow.graph.number_of_edges())
    cached = getattr(flow, "_dagshift_plans", None)
    if cached is not None and cached[0] == version:
        return cached[1]
    bare: nx.DiGraph | None = None
    plans = []
    setups, teardowns = roles(flow.graph, {t: flow.get_task(t).options for t in flow.graph})
    mapped_over = _mapped_over(flow) if flow.meta.get("airflow_dag") else set()
    for task_id in flow.topological_order():
        node = flow.get_task(task_id)
        extra: dict[str, Any] = {}
        group = node.meta.get("group_map")
        if group is not None:
            extra["aligned"] = frozenset(
                u
                for u in flow.upstream_ids(task_id)
                if getattr(flow.get_task(u).meta.get("group_map"), "group_id", None)
                == group.group_id
            )
            sources = refs_of([group.expand, group.expand_kwargs])
            extra["group_inputs"] = tuple(dict.fromkeys(r.task_id for r in sources))
        if task_id in mapped_over and node.map_spec is None and "group_map" not in node.meta:
            extra["feeds_mapping"] = True
        if setups:
            extra["setups"] = indirect_setups(flow.graph, task_id, setups, teardowns)
            extra["upstream_setups"] = frozenset(flow.upstream_ids(task_id)) & setups
        if node.kind == "branch":
            if bare is None:
                bare = nx.DiGraph(list(flow.graph.edges))
                # Group membership lets a branch name a group (Airflow's TaskGroup id).
                bare.add_nodes_from(
                    (t, {"groups": flow.get_task(t).meta.get("groups", ())}) for t in flow.graph
                )
            extra["graph"] = bare
        elif node.kind == "short_circuit":
            extra["descendants"] = frozenset(nx.descendants(flow.graph, task_id))
            extra["teardowns"] = frozenset(teardowns)
        plans.append(
            NodePlan(
                task_id,
                _planned(node),
                tuple(flow.upstream_ids(task_id)),
                tuple(flow.downstream_ids(task_id)),
                **extra,
            )
        )
    flow._dagshift_plans = (version, plans)
    return plans


# ------------------------------------------------------------------------ one node
def execute_node(plan: NodePlan, run: RunState, upstream_runs: list[TaskRun]) -> TaskRun:
    """Decide, run (with retries) and record one task; never raises for a task's failure."""
    node = plan.node
    for upstream in upstream_runs:  # on a cluster, the node's own copy of the run learns them
        run.info.task_runs.setdefault(upstream.task_id, upstream)
    ends = len(plan.upstream), len(plan.upstream) + len(plan.setups)
    setup_runs, group_input_runs = upstream_runs[ends[0] : ends[1]], upstream_runs[ends[1] :]
    upstream_runs = upstream_runs[: ends[0]]
    forced = _union_skips(upstream_runs)
    done = plan.done
    if done is not None and done.state == SUCCESS:
        # Resuming: a task that succeeded before is not run again; its result is reused.
        run.info.task_runs[plan.task_id] = done
        if run.topic:
            from dagshift.runtime.distributed import publish

            publish(run.topic, done)
        return done
    if _timed_out(run):
        task_run = TaskRun.not_run(plan.task_id, SKIPPED, TIMED_OUT, forced)
    elif run.cancel is not None and run.cancel.is_set():
        task_run = TaskRun.not_run(
            plan.task_id, CANCELLED, "the run was cancelled before this task started", forced
        )
    elif plan.task_id in forced:
        task_run = TaskRun.not_run(
            plan.task_id, SKIPPED, "skipped by a branch or short-circuit upstream", forced
        )
    else:
        verdict = decide_setups(_upstream_states(setup_runs))
        why = "a setup task upstream did not succeed"
        if verdict is None:
            direct_setups = [u for u in upstream_runs if u.task_id in plan.upstream_setups]
            # a mapped group's task follows the same group's tasks index by index (later)
            whole = [u for u in upstream_runs if u.task_id not in plan.aligned]
            states, setup_states = _upstream_states(whole), _upstream_states(direct_setups)
            verdict = decide(node.trigger_rule, states, setup_states)
            why = f"trigger rule {node.trigger_rule} not met"
        if verdict is not None:
            task_run = TaskRun.not_run(plan.task_id, verdict, why, forced)
        else:
            results = {u.task_id: u for u in group_input_runs + upstream_runs}
            waited = wait_for_past(
                plan, run, forced, lambda: TIMED_OUT if _timed_out(run) else None
            )
            task_run = waited or _run_watched(plan, run, results, forced)
    run.info.task_runs[plan.task_id] = task_run
    for listener in run.listeners:
        listener(task_run)
    if run.topic:
        from dagshift.runtime.distributed import publish

        publish(run.topic, task_run)
    return task_run


def _run_watched(
    plan: NodePlan, run: RunState, results: Mapping[str, TaskRun], forced: frozenset[str]
) -> TaskRun:
    """Run the task with its output captured and the run's cancel flag visible to it."""
    with capture() as log, watching(run.cancel):
        task_run = _run_task(plan, run, results, forced)
    task_run.logs = log.entries
    if task_run.state == FAILED and run.cancel is not None and run.cancel.is_set():
        # told to stop (a Cancelled raised, a terminated subprocess): not the task's fault
        task_run.state = CANCELLED
        task_run.message = "the run was cancelled while this task ran"
    if _timed_out(run):
        # Airflow's scheduler sets every unfinished task instance of a timed-out run to
        # skipped, a running one too (its runner then kills it): whatever it would have become
        task_run.state, task_run.message, task_run.result = SKIPPED, TIMED_OUT, None
    return task_run


def _union_skips(upstream_runs: list[TaskRun]) -> frozenset[str]:
    sets = [u.skip for u in upstream_runs if u.skip]
    if not sets:
        return frozenset()
    if len(sets) == 1:
        return sets[0]
    return frozenset().union(*sets)


def _upstream_states(upstream_runs: list[TaskRun]) -> list[str]:
    states: list[str] = []
    for u in upstream_runs:
        # A mapped task counts once per element, as Airflow counts one instance per map index.
        map_states = u.pushed.get("__map_states__") if u.pushed else None
        states.extend(map_states if map_states else [u.state])
    return states


def _resolve(value: Any, results: Mapping[str, TaskRun], params: Mapping[str, Any]) -> Any:
    if isinstance(value, ResultRef):
        upstream = results.get(value.task_id)
        if upstream is not None and upstream.pushed and "__map_states__" in upstream.pushed:
            # A mapped task hands on the results of the elements that succeeded (Airflow's
            # lazy sequence of its XComs), even when other elements failed or skipped.
            pairs = zip(
                upstream.pushed["__map_results__"], upstream.pushed["__map_states__"], strict=True
            )
            out = [r for r, s in pairs if s == SUCCESS]
        else:
            out = upstream.result if upstream is not None and upstream.state == SUCCESS else None
        selector = value.selector
        if selector and isinstance(selector[0], Pushed):  # a named output, not the result
            ok = upstream is not None and upstream.state == SUCCESS
            out = (upstream.pushed or {}).get(selector[0].key) if ok else None
            selector = selector[1:]
        for key in selector:
            if out is None:
                break
            out = out.get(key) if isinstance(out, Mapping) else out[key]
        return out
    if isinstance(value, ParameterRef):
        return params[value.name]
    if isinstance(value, Derived):  # XComArg.map / zip / concat
        return value.combine(*(_resolve(v, results, params) for v in value.inputs))
    if isinstance(value, list):
        return [_resolve(v, results, params) for v in value]
    if isinstance(value, tuple):
        return tuple(_resolve(v, results, params) for v in value)
    if isinstance(value, set | frozenset):
        return type(value)(_resolve(v, results, params) for v in value)
    if isinstance(value, dict):
        return {
            _resolve(k, results, params): _resolve(v, results, params) for k, v in value.items()
        }
    return value


def _run_task(
    plan: NodePlan, run: RunState, results: Mapping[str, TaskRun], forced: frozenset[str]
) -> TaskRun:
    node = plan.node
    params = run.info.params
    start = time.time()
    if "group_map" in node.meta:
        task_run = _run_group_mapped(plan, run.info, results)
        task_run.start = start
        task_run.skip = task_run.skip | forced
        return task_run
    try:
        if node.map_spec is None:
            calls = [
                ((), _resolve(node.args, results, params), _resolve(node.kwargs, results, params))
            ]
        else:
            calls = _expand(node, results, params)
    except Exception as exc:  # a selector on a result that has no such key, for example
        return _failed(plan.task_id, exc, 0, start)
    if node.map_spec is None:
        _, args, kwargs = calls[0]
        task_run = _attempts(plan, run.info, args, kwargs, -1)
    else:
        task_run = _run_mapped(plan, run.info, calls)
    task_run.start = start
    if task_run.state == SUCCESS and node.kind != "task":
        _decide_skips(plan, node, task_run)
    if forced:
        task_run.skip = task_run.skip | forced
    return task_run


def _expand(node: TaskNode, results: Mapping[str, TaskRun], params: Mapping[str, Any]):
    spec = node.map_spec
    fixed = _resolve(spec.partial, results, params)
    if spec.expand is not None:
        values = _resolve(spec.expand, results, params)
        names = list(values)
        lists = [_as_list(name, values[name]) for name in names]
        combos = [dict(zip(names, combo, strict=True)) for combo in itertools.product(*lists)]
    else:
        combos = _as_list("expand_kwargs", _resolve(spec.expand_kwargs, results, params))
        for combo in combos:
            if not isinstance(combo, Mapping):
                raise TypeError(f"expand_kwargs() needs mappings of arguments, got {combo!r}")
    return [((), (), {**fixed, **combo}) for combo in combos]


def _as_list(name: str, value: Any) -> list[Any]:
    return listed(name, value, what="")


def _run_mapped(plan: NodePlan, info: RunInfo, calls: list) -> TaskRun:
    if not calls:
        return TaskRun.not_run(plan.task_id, SKIPPED, "mapped over an empty input")
    runs = [_attempts(plan, info, args, kwargs, i) for i, (_, args, kwargs) in enumerate(calls)]
    states = [r.state for r in runs]
    if FAILED in states:
        state = FAILED
    elif all(s == SKIPPED for s in states):
        state = SKIPPED
    else:
        state = SUCCESS
    return _mapped_task_run(plan.task_id, state, runs)


def _mapped_task_run(task_id: str, state: str, runs: list[TaskRun]) -> TaskRun:
    """A mapped task's one record: one result per map index, None where an element did not
    succeed, as Airflow shows it; the first failure's error."""
    first_error = next((r for r in runs if r.state == FAILED), None)
    return TaskRun(
        task_id,
        state,
        result=[r.result if r.state == SUCCESS else None for r in runs],
        error=first_error.error if first_error else None,
        traceback=first_error.traceback if first_error else None,
        exception=first_error.exception if first_error else None,
        tries=max(r.tries for r in runs),
        end=time.time(),
        pushed={
            "__map_states__": [r.state for r in runs],
            "__map_results__": [r.result for r in runs],
        },
    )


def _run_group_mapped(plan: NodePlan, info: RunInfo, results: Mapping[str, TaskRun]) -> TaskRun:
    """A task of a mapped task group: one instance per element of the group's input, each
    deciding on its own index of the upstream tasks of the same group."""
    node, params = plan.node, info.params
    start = time.time()
    sources = [results[t].state for t in plan.group_inputs if t in results]
    if any(state != SUCCESS for state in sources):  # nothing to map over: as Airflow, the
        # group's tasks take the input's fate, whatever their trigger rule
        failed = {FAILED, UPSTREAM_FAILED} & set(sources)
        why = "the input its task group is mapped over did not succeed"
        return TaskRun.not_run(plan.task_id, UPSTREAM_FAILED if failed else SKIPPED, why)
    try:
        inputs = element_inputs(node.meta["group_map"], lambda v: _resolve(v, results, params))
    except Exception as exc:
        return _failed(plan.task_id, exc, 0, start)
    if not inputs:
        return TaskRun.not_run(plan.task_id, SKIPPED, "its task group is mapped over nothing")
    whole = _upstream_states([results[t] for t in plan.upstream if t not in plan.aligned])
    runs = []
    for i, element in enumerate(inputs):
        here = {t: (at_index(r, i) if t in plan.aligned else r) for t, r in results.items()}
        verdict = decide(node.trigger_rule, whole + [here[t].state for t in plan.aligned])
        if verdict is not None:
            runs.append(TaskRun.not_run(plan.task_id, verdict, "trigger rule not met"))
            continue
        try:
            args, kwargs = substitute_call(node.args, node.kwargs, element)
            args, kwargs = _resolve(args, here, params), _resolve(kwargs, here, params)
        except Exception as exc:
            runs.append(_failed(plan.task_id, exc, 0, start))
            continue
        runs.append(_attempts(plan, info, args, kwargs, i))
    return _mapped_task_run(plan.task_id, combined_state([r.state for r in runs]), runs)


def _mapped_over(flow: Flow) -> set[str]:
    """The tasks whose results other tasks (or mapped task groups) are mapped over."""
    found: set[str] = set()
    for task_id in flow.graph:
        node = flow.get_task(task_id)
        group = node.meta.get("group_map")
        sources: list[Any] = []
        if node.map_spec is not None:
            sources += [node.map_spec.expand, node.map_spec.expand_kwargs]
        if group is not None:
            sources += [group.expand, group.expand_kwargs]
        found |= {ref.task_id for ref in refs_of(sources)}
    return found


def _check_mappable(value: Any) -> None:
    """Airflow's check on a result that tasks are mapped over (its task runner's messages)."""
    if value is None:
        raise TypeError("did not push XCom for task mapping")
    if not isinstance(value, Sequence | dict) or isinstance(value, str | bytes | bytearray):
        raise TypeError(f"unmappable return type {type(value).__qualname__!r}")


def _retry_delay(options: Mapping[str, Any], tries: int) -> float:
    delay: timedelta = options["retry_delay"] or timedelta(0)
    if options["retry_exponential_backoff"]:
        delay = delay * (2 ** (tries - 1))
    if options["max_retry_delay"] is not None:
        delay = min(delay, options["max_retry_delay"])
    return delay.total_seconds()


def _attempts(plan: NodePlan, info: RunInfo, args, kwargs, map_index: int) -> TaskRun:
    node = plan.node
    options = node.options
    max_tries = options["retries"] + 1
    start = time.time()
    tries = 0
    while True:
        tries += 1
        current = _Current(
            info,
            plan.task_id,
            tries,
            map_index,
            pushed={},
            params=options.get("params"),
            inlets=node.meta.get("inlets"),
        )
        token = _current.set(current)
        try:
            with hold(options.get("pool"), options.get("pool_slots", 1), plan.task_id):
                _callback(options.get("on_execute"), None, None)
                result = _call(node, realize_args(args), realize(kwargs), options["timeout"])
            if plan.feeds_mapping:
                _check_mappable(result)
        except SkipTask as exc:
            task_run = TaskRun(plan.task_id, SKIPPED, tries=tries, message=str(exc) or None)
            _callback(options.get("on_skipped"), None, task_run)
            if options.get("success_callback_on_skip"):
                _callback(options["on_success"], None, task_run)
        except Exception as exc:
            final = isinstance(exc, FailTask | Cancelled)  # no policy is asked (Airflow's too)
            policy = None if final else options.get("retry_policy")
            decision = retry_decision(policy, exc, tries, options["retries"])
            # a policy's FAIL fails it now, whatever retries are left
            retry = tries < max_tries and not final and decision.action != RetryAction.FAIL
            retry = retry and not cancel_requested()
            if retry:
                _callback(options["on_retry"], exc, None)
                _current.reset(token)
                given = decision.retry_delay if decision.action == RetryAction.RETRY else None
                time.sleep(_retry_delay(options, tries) if given is None else given.total_seconds())
                continue
            task_run = _failed(plan.task_id, exc, tries, start)
            _callback(options["on_failure"], exc, task_run)
        else:
            task_run = TaskRun(plan.task_id, SUCCESS, result=result, tries=tries)
            _callback(options["on_success"], None, task_run)
        task_run.pushed = current.pushed or {}
        _current.reset(token)
        task_run.start, task_run.end = start, time.time()
        return task_run


def _failed(task_id: str, exc: BaseException, tries: int, start: float) -> TaskRun:
    return TaskRun(
        task_id,
        FAILED,
        error=f"{type(exc).__name__}: {exc}",
        traceback="".join(tb.format_exception(exc)),
        exception=exc,
        tries=tries,
        start=start,
        end=time.time(),
    )


def _callback(fns: Any, exc: BaseException | None, task_run) -> None:
    """Call a callback option (one function or a list) with the run context, as Airflow does:
    each in order, one that raises logged and changing nothing."""
    if not fns:
        return
    ctx = get_run_context()
    ctx["exception"] = exc
    ctx["task_run"] = task_run
    for fn in fns if isinstance(fns, list) else [fns]:
        try:
            fn(ctx)
        except Exception:  # a broken callback must not change the task's state, as in Airflow
            tb.print_exc()


def _call(node: TaskNode, args, kwargs, timeout: timedelta | None) -> Any:
    if timeout is None:  # a generator function runs to its end (its yielded Metadata apply)
        return call_task_function(node.task.fn, *args, **kwargs)
    import contextvars

    box: dict[str, Any] = {}
    ctx = contextvars.copy_context()

    def target() -> None:
        try:
            box["result"] = ctx.run(call_task_function, node.task.fn, *args, **kwargs)
        except BaseException as exc:  # handed to the calling thread
            box["error"] = exc

    worker = threading.Thread(target=target, name=f"dagshift-{node.task_id}", daemon=True)
    worker.start()
    worker.join(timeout.total_seconds())
    if worker.is_alive():
        # Python cannot stop a thread: the body is abandoned and its result ignored.
        raise TimeoutError(f"task {node.task_id!r} timed out after {timeout.total_seconds():g}s")
    if "error" in box:
        raise box["error"]
    return box.get("result")


def _decide_skips(plan: NodePlan, node: TaskNode, task_run: TaskRun) -> None:
    downstream = plan.downstream
    if node.kind == "branch":
        graph = plan.graph
        try:
            chosen = _branch_ids(task_run.result, graph)
        except ValueError as exc:
            failed = _failed(plan.task_id, exc, task_run.tries, task_run.start or time.time())
            task_run.__dict__.update(failed.__dict__)
            return
        follow = set(chosen)
        for task_id in chosen:
            follow |= nx.descendants(graph, task_id)
        skip = {d for d in downstream if d not in follow}
    elif not task_run.result and downstream:  # a short-circuit whose condition is falsy
        if node.options["ignore_downstream_trigger_rules"]:
            skip = set(plan.descendants or ())
        else:
            skip = set(downstream)
        skip -= plan.teardowns  # as Airflow's ShortCircuitOperator, which never skips them
    else:
        skip = set()
    if skip:
        task_run.skip = frozenset(skip)
        if node.options["drop_result_on_skip"]:
            # Airflow 3 pushes no return value for a task that skipped others.
            task_run.result = None


def _branch_ids(result: Any, graph: nx.DiGraph) -> set[str]:
    if result is None:
        return set()
    if isinstance(result, str):
        chosen = {result}
    elif isinstance(result, Iterable):
        chosen = set(result)
        bad = [c for c in chosen if not isinstance(c, str)]
        if bad:
            raise ValueError(f"a branch must return task ids (strings), got {bad!r}")
    else:
        raise ValueError(
            f"a branch must return a task id, a list of task ids or None, got {result!r}"
        )
    for group in [c for c in chosen if c not in graph]:
        members = {t for t, groups in graph.nodes(data="groups") if group in (groups or ())}
        if members:  # a group id stands for the group's first tasks
            chosen.discard(group)
            chosen |= {t for t in members if not set(graph.predecessors(t)) & members}
    invalid = sorted(chosen - set(graph))
    if invalid:
        raise ValueError(f"the branch returned task ids that are not in the flow: {invalid}")
    return chosen


# ------------------------------------------------------------------------- one run
def default_data_interval(
    schedule: Any, logical_date, policy: str = "point", tz: Any = None
) -> tuple[Any, Any]:
    """The data interval of a run started on demand for ``logical_date``.

    ``policy="point"`` (the default) is what Airflow 3 gives a manual run: ``(date, date)``
    whatever the schedule. ``"previous"`` is Airflow 1.10/2.x: the schedule period that ends
    at the date (or at the last time on schedule before it): ``(date - delta, date)`` for a
    timedelta, the previous cron period for a cron string or preset, ``(date, date)`` for
    none or ``@once``. Cron times are taken in ``tz`` (the flow's start date's zone).
    """
    if callable(getattr(schedule, "infer_manual_data_interval", None)):
        # A timetable says what a manual run covers, in Airflow 2 and 3 alike.
        interval = schedule.infer_manual_data_interval(run_after=logical_date)
        return to_datetime(interval.start), to_datetime(interval.end)
    if policy == "point":
        return logical_date, logical_date
    if policy != "previous":
        raise ValueError(f"data_interval must be 'point' or 'previous', not {policy!r}")
    if isinstance(schedule, timedelta):
        return logical_date - schedule, logical_date
    if not isinstance(schedule, str) or schedule in ("@once", "@continuous"):
        return logical_date, logical_date
    from croniter import croniter

    from dagshift.runtime.schedule import PRESETS

    cron = PRESETS.get(schedule, schedule)
    local = logical_date.in_timezone(tz) if tz is not None else logical_date
    end = local if croniter.match(cron, local) else croniter(cron, local).get_prev(type(local))
    start = croniter(cron, end).get_prev(type(local))
    return to_datetime(start), to_datetime(end)


def _wanted_results(flow: Flow, results: str | Iterable[str]) -> list[str]:
    if results == "all":
        return list(flow.graph)
    if results == "leaves":
        return flow.leaves()
    if results == "none":
        return []
    if isinstance(results, str):
        raise ValueError(f"results must be 'all', 'leaves', 'none' or task ids, got {results!r}")
    wanted = list(results)
    unknown = [t for t in wanted if t not in flow.graph]
    if unknown:
        raise ValueError(f"flow {flow.name!r} has no task(s) {', '.join(unknown)}")
    return wanted


def resolve_params(flow: Flow, parameters: Mapping[str, Any] | None) -> dict[str, Any]:
    """Run parameters: flow ``params`` and Parameter defaults, overridden by ``parameters``."""
    params = dict(flow.params)
    for name, p in flow.parameters.items():
        if not p.required:
            params.setdefault(name, p.default)
    params.update(parameters or {})
    missing = [n for n, p in flow.parameters.items() if p.required and n not in params]
    if missing:
        raise ValueError(
            f"flow {flow.name!r} needs a value for parameter(s) {', '.join(missing)}: "
            f"pass parameters={{...}} (or --param NAME=VALUE)"
        )
    for name, p in flow.parameters.items():  # conv-rules: a schema, as Airflow's Param has
        p.validate(params[name])
    return params


def _run_leaves(flow: Flow) -> list[str]:
    """The tasks whose states decide the run's: its leaves, teardowns aside (see
    :func:`dagshift.runtime.setup_teardown.effective_leaves`)."""
    options = {t: flow.get_task(t).options for t in flow.graph}
    _, teardowns = roles(flow.graph, options)
    if not teardowns:
        return flow.leaves()
    fail_run = {t for t in teardowns if options[t].get("fails_run")}
    return effective_leaves(flow.graph, teardowns, fail_run)


def run_flow(
    flow: Flow,
    parameters: Mapping[str, Any] | None = None,
    *,
    logical_date: Any = None,
    data_interval: tuple[Any, Any] | None = None,
    conf: Mapping[str, Any] | None = None,
    run_id: str | None = None,
    raise_on_failure: bool = False,
    scheduler: str = "threads",
    num_workers: int | None = None,
    listeners: Iterable[Callable[[TaskRun], None]] = (),
    completed: Mapping[str, TaskRun] | None = None,
    cluster: Any = None,
    results: str | Iterable[str] = "leaves",
    run_extra: Mapping[str, Any] | None = None,
    cancel: threading.Event | None = None,
) -> FlowRun:
    """Run ``flow`` once; see :meth:`Flow.run`.

    ``listeners`` are called with every task run as it finishes (progress, run records);
    ``completed`` holds task runs of an earlier attempt of this run: those that succeeded are
    reused, not run again (resume). ``cancel``, once set, cancels the run (see
    :mod:`dagshift.runtime.cancel`; on a cluster too: the tasks on the workers are told).
    With ``cluster`` (an address, ``local:N`` or a ``distributed.Client``) the tasks run on
    dask.distributed, and only the results named by ``results`` (``"all"``, ``"leaves"``,
    ``"none"`` or task ids) come back to this process.
    ``run_extra`` seeds the run's ``RunInfo.extra`` (what started it: the asset events of an
    asset-triggered run, read by the task context).
    """
    params = resolve_params(flow, parameters)
    ld = to_datetime(logical_date)
    if data_interval is None:
        tz = getattr(flow.start_date, "tzinfo", None)
        start_di, end_di = default_data_interval(flow.schedule, ld, flow.data_interval, tz)
    else:
        start_di, end_di = (to_datetime(d) for d in data_interval)
    info = RunInfo(
        flow_name=flow.name,
        logical_date=ld,
        data_interval_start=start_di,
        data_interval_end=end_di,
        params=params,
        run_id=run_id or f"manual__{ld.isoformat()}",
        # as Airflow's dag_run.conf: what the run was started with, unless given apart
        conf=dict(parameters or {}) if conf is None else dict(conf),
        given=dict(parameters or {}),
        extra=dict(run_extra or {}),
    )
    suffix = "" if cluster is None else f"@{uuid.uuid4().hex[:12]}"
    started = time.time()
    timeout = getattr(flow, "run_timeout", None)
    deadline = None if timeout is None else started + timeout.total_seconds()
    timer = None
    if cluster is None:
        if deadline is not None:  # running bodies and subprocesses are told to stop
            cancel = cancel or threading.Event()
            timer = threading.Timer(timeout.total_seconds(), cancel.set)
            timer.daemon = True
        run = RunState(info, tuple(listeners), cancel=cancel, deadline=deadline)
    else:
        flag = None if cancel is None else ClusterFlag(f"dagshift-cancel{suffix}")
        run = RunState(info, (), topic=f"dagshift-run{suffix}", cancel=flag, deadline=deadline)
    dsk = to_dask_graph(flow, run, completed, suffix, share_run=cluster is not None)
    keys = [k for k, v in dsk.items() if isinstance(v, tuple)]
    if scheduler not in ("threads", "sync"):
        raise ValueError(f"unknown scheduler {scheduler!r}; use 'threads' or 'sync'")
    if timer is not None:
        timer.start()
    try:
        if not keys:
            task_runs: list[TaskRun] = []
        elif cluster is not None:
            from dagshift.runtime.distributed import run_graph_on_cluster

            wanted = _wanted_results(flow, results)
            task_runs = run_graph_on_cluster(
                dsk,
                cluster,
                [node_key(flow.name, t, suffix) for t in wanted],
                listeners,
                run.topic,
                cancel=cancel,
                flag=run.cancel,
            )
        elif scheduler == "sync":
            with attached():
                task_runs = dask.get(dsk, keys)
        else:
            limit = num_workers or flow.max_active_tasks or DEFAULT_WORKERS
            with attached():
                task_runs = run_dask_graph(dsk, keys, max(1, min(limit, len(keys))))
    finally:
        if timer is not None:
            timer.cancel()
    tasks = {tr.task_id: tr for tr in task_runs}
    leaves = [tasks[t].state for t in _run_leaves(flow)]
    cancelled = any(tr.state == CANCELLED for tr in task_runs)
    timed_out = any(tr.message == TIMED_OUT for tr in task_runs)
    result = FlowRun(
        flow.name,
        info.run_id,
        ld,
        FAILED if timed_out else CANCELLED if cancelled else run_state(leaves),
        tasks,
        started,
        time.time(),
        params,
        info.extra,
    )
    _run_callbacks(flow, info, result.state)
    if raise_on_failure and not result.ok:
        raise FlowRunFailed(result)
    return result


def _run_callbacks(flow: Flow, info: RunInfo, state: str) -> None:
    """The flow's on_success / on_failure once a run ended so, as Airflow calls a DAG's."""
    fns = {SUCCESS: flow.on_success, FAILED: flow.on_failure}.get(state)
    if not fns:
        return
    # the run stays current while they run: a callback may read it (current_task().run), as
    # the compat shim's DAG callbacks do to hand over the context of one of the run's tasks
    token = _current.set(_Current(info, "", 0, -1, pushed={}))
    try:
        ctx = get_run_context()
        for key in ("task_id", "try_number", "map_index", "ti", "task_instance", "task"):
            ctx.pop(key, None)  # no task's: Airflow gives one of the run's, which differs
        ctx["reason"] = "success" if state == SUCCESS else "task_failure"
        for fn in fns if isinstance(fns, list) else [fns]:
            try:
                fn(ctx)
            except Exception:  # as Airflow: a broken callback changes nothing of the run
                tb.print_exc()
    finally:
        _current.reset(token)
