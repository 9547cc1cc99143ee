"""Is a converted flow the same DAG, giving the same results, as its original?

Both sides are runtime :class:`~dagshift.runtime.flow.Flow` objects: the original comes
through the import shim, the conversion through the runtime. So the question is answered by
comparing two graphs of the one model and two runs of the one executor:

(a) the graphs: the same task ids and the same dependencies (isomorphism with task ids as
    labels, reported as the exact tasks and edges that differ), and a data edge in the
    converted flow for every XCom pull of the original;
(b) the runs, at the same logical date and parameters: each task's state and result.
"""

from __future__ import annotations

import json
import math
import random
import threading
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

import networkx as nx

from dagshift.runtime.executor import FlowRun
from dagshift.runtime.flow import Flow

__all__ = [
    "Difference",
    "FlowVerification",
    "compare_graphs",
    "compare_options",
    "compare_runs",
    "verify_flows",
]

# Task options whose values must match (callbacks are compared by presence: the shim wraps
# an Airflow callback, the converted flow holds the function itself)
_OPTIONS = (
    "retries",
    "retry_delay",
    "retry_exponential_backoff",
    "max_retry_delay",
    "timeout",
    "trigger_rule",
    "ignore_downstream_trigger_rules",
    "drop_result_on_skip",
)
_CALLBACKS = ("on_success", "on_failure", "on_retry", "on_skipped")
_PAST = ("depends_on_past", "wait_for_downstream")  # unset is False
_RETRY = {"retry_delay", "retry_exponential_backoff", "max_retry_delay"}


@dataclass(frozen=True)
class Difference:
    """One way the converted flow differs from its original."""

    kind: str  # missing_task, extra_task, missing_edge, extra_edge, missing_data_edge,
    #            state, result, missing_flow, extra_flow, run_error
    flow: str
    task: str | None
    message: str
    original: Any = None
    converted: Any = None

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["original"] = _jsonable(d["original"])
        d["converted"] = _jsonable(d["converted"])
        return d


@dataclass
class FlowVerification:
    """The verification of one flow: its differences, and the two runs when they ran."""

    flow: str
    differences: list[Difference] = field(default_factory=list)
    original_run: FlowRun | None = None
    converted_run: FlowRun | None = None
    # Tasks whose state or result differs between two runs of the original itself (a task
    # printing the time, a random draw): theirs cannot be compared, and are not
    varying: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.differences

    def to_dict(self) -> dict[str, Any]:
        return {
            "flow": self.flow,
            "ok": self.ok,
            "differences": [d.to_dict() for d in self.differences],
            "varying": list(self.varying),
        }


def _jsonable(value: Any) -> Any:
    try:
        return json.loads(json.dumps(value, default=repr))
    except (TypeError, ValueError):
        return repr(value)


def compare_graphs(
    original: Flow, converted: Flow, xcom_pulls: Iterable[tuple[str, str]] = ()
) -> list[Difference]:
    """Differences between two flow graphs; ``xcom_pulls`` are (upstream, puller) pairs of
    the original, each of which needs a data edge in the converted flow."""
    name = original.name
    a, b = original.graph, converted.graph
    diffs: list[Difference] = []
    for t in sorted(set(a) - set(b)):
        diffs.append(
            Difference("missing_task", name, t, f"task {t!r} is not in the converted flow")
        )
    for t in sorted(set(b) - set(a)):
        diffs.append(Difference("extra_task", name, t, f"task {t!r} is only in the converted flow"))
    for u, v in sorted(set(a.edges) - set(b.edges)):
        diffs.append(
            Difference(
                "missing_edge", name, v, f"the converted flow lost the dependency {u} >> {v}"
            )
        )
    pulled = set(xcom_pulls)
    implied: list[tuple[str, str]] = []
    for u, v in sorted(set(b.edges) - set(a.edges)):
        if (u, v) in pulled and b.edges[u, v]["data"] and u in a and nx.has_path(a, u, v):
            # An XCom pulled from an earlier task (not a direct upstream) became a data edge:
            # the order was already implied.
            implied.append((u, v))
            continue
        diffs.append(
            Difference("extra_edge", name, v, f"the converted flow adds the dependency {u} >> {v}")
        )
    for u, v in sorted(set(xcom_pulls)):
        if b.has_edge(u, v) and not b.edges[u, v]["data"]:
            diffs.append(
                Difference(
                    "missing_data_edge",
                    name,
                    v,
                    f"{v!r} pulls the XCom of {u!r} in the original, but the converted flow only "
                    f"orders them: the result does not reach {v!r} as an argument",
                )
            )
    if not diffs:
        # Belt and braces: with the labels equal this is the isomorphism the design asks for.
        same = nx.is_isomorphic(
            a,
            nx.restricted_view(b, [], implied),
            node_match=lambda x, y: x["task"].task_id == y["task"].task_id,
        )
        if not same:  # pragma: no cover - equal node and edge sets imply isomorphism
            diffs.append(Difference("graph", name, None, "the graphs are not isomorphic"))
    return diffs


def compare_options(original: Flow, converted: Flow) -> list[Difference]:
    """Differences in each common task's kind and options (retries, trigger rule ...)."""
    diffs: list[Difference] = []
    for task_id, a in original.tasks.items():
        b = converted.tasks.get(task_id)
        if b is None:
            continue  # reported by the graph comparison
        if a.kind != b.kind:
            message = f"{task_id}: a {a.kind} task in the original, a {b.kind} after conversion"
            diffs.append(Difference("option", original.name, task_id, message, a.kind, b.kind))
        # a task that skips none keeps its result either way
        names = _OPTIONS if a.kind != "task" else _OPTIONS[:-1]
        if not a.options.get("retries") and not b.options.get("retries"):
            names = [k for k in names if k not in _RETRY]  # no retry: how one waits is moot
        pairs = [(k, a.options.get(k), b.options.get(k)) for k in names]
        pairs += [(k, a.options.get(k) is None, b.options.get(k) is None) for k in _CALLBACKS]
        pairs += [(k, bool(a.options.get(k)), bool(b.options.get(k))) for k in _PAST]
        for key, x, y in pairs:
            if not _same(x, y):
                message = f"{task_id}: {key} is {x!r} in the original, {y!r} after conversion"
                diffs.append(Difference("option", original.name, task_id, message, x, y))
    return diffs


def _same(x: Any, y: Any) -> bool:
    if isinstance(x, float) and isinstance(y, float) and math.isnan(x) and math.isnan(y):
        return True
    try:
        if x == y:
            return True
    except Exception:  # noqa: BLE001 - arrays and odd objects may refuse ==
        pass
    return _jsonable(x) == _jsonable(y)


def _pushed(run: Any) -> dict[str, Any]:
    return {k: v for k, v in (run.pushed or {}).items() if not k.startswith("__")}


def _same_outputs(a: Any, b: Any) -> bool:
    """Same result and the same pushed values (XCom keys: named outputs once converted). A
    key the original pushed from its result (``multiple_outputs``, which the conversion drops:
    ``ref["key"]`` reads the result) may be a key of the converted result instead."""
    if not _same(a.result, b.result):
        return False
    pushed_a, pushed_b = _pushed(a), _pushed(b)
    if set(pushed_b) - set(pushed_a):
        return False
    result = b.result if isinstance(b.result, Mapping) else {}
    missing = object()
    for key, value in pushed_a.items():
        other = pushed_b.get(key, result.get(key, missing))
        if other is missing or not _same(value, other):
            return False
    return True


def compare_runs(original: FlowRun, converted: FlowRun) -> list[Difference]:
    """Differences in each task's state and result between two runs of one flow."""
    name = original.flow_name
    diffs: list[Difference] = []
    for task_id, a in original.tasks.items():
        b = converted.tasks.get(task_id)
        if b is None:
            continue  # reported by the graph comparison
        if a.state != b.state:
            detail = f": {b.error}" if b.error else ""
            diffs.append(
                Difference(
                    "state",
                    name,
                    task_id,
                    f"{task_id}: {a.state} in the original, {b.state} after conversion{detail}",
                    a.state,
                    b.state,
                )
            )
        elif not _same_outputs(a, b):
            diffs.append(
                Difference(
                    "result",
                    name,
                    task_id,
                    f"{task_id}: the result differs: {_short(a.result)} != {_short(b.result)}",
                    a.result,
                    b.result,
                )
            )
    return diffs


def _short(value: Any, width: int = 60) -> str:
    text = repr(value)
    return text if len(text) <= width else text[: width - 1] + "…"


def _unrunnable(flow: Flow, parameters: Mapping[str, Any] | None) -> str | None:
    """Why ``flow`` cannot be run for a verification (a required parameter without a value,
    as Airflow refuses such a run too), or None."""
    try:
        flow.check_parameters(parameters)
    except Exception as exc:  # ValueError, or the shim's ParamValidationError as Airflow's
        return f"not run: {exc}; give it to the verification runs with --param NAME=VALUE"
    return None


def _run(
    flow: Flow, time_limit: float | None, parameters: Mapping[str, Any] | None, date: Any
) -> tuple[FlowRun, bool]:
    """One verification run of ``flow``: (the run, whether it passed ``time_limit``)."""
    if not time_limit:
        return flow.run(parameters=parameters, logical_date=date), False
    stop = threading.Event()
    timer = threading.Timer(time_limit, stop.set)
    timer.daemon = True
    timer.start()
    try:
        done = flow.run(parameters=parameters, logical_date=date, cancel=stop)
    finally:
        timer.cancel()
    return done, stop.is_set()


def verify_flows(
    originals: Iterable[Flow],
    converted: Iterable[Flow],
    *,
    logical_date: Any = None,
    parameters: Mapping[str, Any] | None = None,
    xcom_pulls: Mapping[str, Iterable[tuple[str, str]]] | None = None,
    run: bool = True,
    time_limit: float | None = None,
) -> list[FlowVerification]:
    """Match flows by name, compare their graphs, and (with ``run``) run both and compare.

    ``time_limit``: seconds each run may take; a run still going then is stopped (its running
    tasks are told to stop, shell commands are terminated) and the flow is reported as not
    verified, not as differing task by task (a sensor waiting on the world, a task that sleeps).
    """
    import pendulum

    by_name = {f.name: f for f in converted}
    date = logical_date or pendulum.now("UTC").start_of("day")
    out: list[FlowVerification] = []
    seen: set[str] = set()
    for original in originals:
        seen.add(original.name)
        check = FlowVerification(original.name)
        out.append(check)
        other = by_name.get(original.name)
        if other is None:
            check.differences.append(
                Difference(
                    "missing_flow",
                    original.name,
                    None,
                    f"no converted flow named {original.name!r}",
                )
            )
            continue
        runs = run
        if runs:
            missing = _unrunnable(original, parameters) or _unrunnable(other, parameters)
            if missing is not None:  # neither side can run; the graphs are still compared
                check.differences.append(Difference("parameters", original.name, None, missing))
                runs = False
        pulls = set((xcom_pulls or {}).get(original.name, ()))
        if not runs:  # without a run the pulls are those the converted flow passes as data
            pulls |= {(u, v) for u, v, d in other.graph.edges(data=True) if d["data"]}
        check.differences += compare_options(original, other)
        if runs:
            # Both start from the same state of Python's `random` (a branch that picks at
            # random picks alike), as a test would seed it
            seed = f"dagshift-verify:{original.name}"
            random.seed(seed)
            check.original_run, late = _run(original, time_limit, parameters, date)
            if not late:
                random.seed(seed)
                check.converted_run, late = _run(other, time_limit, parameters, date)
            if late:
                side = "original" if check.converted_run is None else "converted flow"
                message = (
                    f"not verified: the {side}'s run did not end within {time_limit:g} s and "
                    "was stopped; give it longer with --verify-timeout SECONDS (0: no limit)"
                )
                check.differences.append(Difference("time_limit", original.name, None, message))
                pulls |= {(u, v) for u, v, d in other.graph.edges(data=True) if d["data"]}
                check.differences += compare_graphs(original, other, pulls)
                continue
            # The shim notes every xcom_pull it serves: (pulled task, pulling task). A pull the
            # converted flow still makes through the shim (a kept operator) needs no data edge.
            pulls |= set(check.original_run.extra.get("xcom_pulls", ()))
            pulls -= set(check.converted_run.extra.get("xcom_pulls", ()))
        check.differences += compare_graphs(original, other, pulls)
        if runs:
            ran = compare_runs(check.original_run, check.converted_run)
            if ran:  # is it the conversion, or does the original itself vary from run to run?
                random.seed(seed)
                again = original.run(parameters=parameters, logical_date=date)
                check.varying = sorted({d.task for d in compare_runs(check.original_run, again)})
                ran = [d for d in ran if d.task not in check.varying]
            check.differences += ran
    for name in sorted(set(by_name) - seen):
        check = FlowVerification(name)
        check.differences.append(
            Difference(
                "extra_flow",
                name,
                None,
                f"the converted file has a flow {name!r} the original lacks",
            )
        )
        out.append(check)
    return out
