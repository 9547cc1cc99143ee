"""Tasks: plain functions that become graph nodes when called inside ``with Flow(...)``.

``@task`` wraps a function in a :class:`Task`. Outside any flow, calling it calls the
function. Inside a flow, calling it checks the arguments against the function's signature
(so a wrong call fails where the flow is defined, with Python's own message), adds a node to
the flow's graph and returns a :class:`TaskRef` placeholder. Placeholders passed as arguments,
also inside lists, tuples, sets and dicts, become data edges; ``>>``, ``<<``,
``set_upstream``, ``set_downstream`` and ``upstream_tasks=[...]`` add order edges.
"""

from __future__ import annotations

import copy
import functools
import inspect
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from dagshift.runtime import setup_teardown
from dagshift.runtime.active import current_flow
from dagshift.runtime.derived import NOTSET, Derived, concatenated, mapped, zipped
from dagshift.runtime.relatives import Relatives
from dagshift.runtime.state import validate_trigger_rule

if TYPE_CHECKING:
    from dagshift.runtime.flow import Flow

__all__ = ["MapSpec", "ParameterRef", "Pushed", "Task", "TaskNode", "TaskRef", "task"]

# Options every task has, with their defaults. A flow's ``default_task_options`` sit between
# these and the options given to ``@task(...)`` or ``.override(...)``.
DEFAULT_OPTIONS: dict[str, Any] = {
    "retries": 0,
    "retry_delay": timedelta(seconds=0),
    "retry_exponential_backoff": False,
    "max_retry_delay": None,
    "timeout": None,
    "trigger_rule": "all_success",
    "on_success": None,
    "on_failure": None,
    "on_retry": None,
    "on_execute": None,  # before each try
    "on_skipped": None,  # when the task itself skips (SkipTask), not when skipped by others
    # Airflow 2 (2.11) calls on_success_callback too, after on_skipped_callback, for a task
    # that skipped itself; Airflow 3 does not
    "success_callback_on_skip": False,
    "ignore_downstream_trigger_rules": True,
    "drop_result_on_skip": True,
}
_KINDS = ("task", "branch", "short_circuit")
# Attributes that only document a task (Airflow's BaseOperator has them): kept in its meta.
DOC_ATTRIBUTES = frozenset({"doc", "doc_md", "doc_rst", "doc_json", "doc_yaml"})


def _as_timedelta(value: Any, name: str) -> timedelta | None:
    if value is None or isinstance(value, timedelta):
        return value
    if isinstance(value, int | float):
        return timedelta(seconds=value)
    raise TypeError(f"{name} must be a timedelta or a number of seconds, not {value!r}")


# Options without a default, present only on the tasks that set them. ``params``: values laid
# over the flow's params in this task's run context (Airflow's operator ``params=``); the
# parameters given to a run still win, as ``dag_run.conf`` does in Airflow 2 and 3.
# ``doc_md`` and the other documentation attributes may be given as options too
# (``@task(doc_md=...)``, ``.override(doc_md=...)``): they go to the node's meta, not its options.
# ``outlets``: the assets (:mod:`dagshift.runtime.assets`) the task updates; when it succeeds
# the history records an event of each. ``inlets``: the assets it reads (Airflow's lineage: no
# effect on a run). Both kept in the node's meta, as the documentation is.
# ``pool`` and ``pool_slots``: the slots the task holds while it runs (dagshift.runtime.pools).
# ``setup``, ``teardown`` (and ``fails_run``: a teardown whose failure fails the run, Airflow's
# ``on_failure_fail_dagrun``) mark Airflow's setup and teardown tasks, see
# :mod:`dagshift.runtime.setup_teardown`.
# ``depends_on_past``, ``wait_for_downstream``, ``ignore_first_depends_on_past``: the task runs
# only once the same task of the flow's previous run succeeded or skipped, see
# :mod:`dagshift.runtime.past`. ``executor_config``: what Airflow hands the executor for this
# task (a Kubernetes pod override ...); Airflow's local and sequential executors ignore it, and
# so does dagshift's local executor: kept, never read. ``retry_policy``: a
# :class:`dagshift.runtime.retry_policy.RetryPolicy` deciding from a failure's exception.
META_OPTIONS = DOC_ATTRIBUTES | {"outlets", "inlets"}
ROLE_OPTIONS = frozenset({"setup", "teardown", "fails_run"})
PAST_OPTIONS = frozenset({"depends_on_past", "wait_for_downstream", "ignore_first_depends_on_past"})
OPTIONAL_OPTIONS = (
    frozenset({"params", "pool", "pool_slots", "executor_config", "retry_policy"})
    | META_OPTIONS
    | ROLE_OPTIONS
    | PAST_OPTIONS
)


def normalize_options(options: Mapping[str, Any]) -> dict[str, Any]:
    """Check option names and types; return them with durations as timedeltas."""
    known = set(DEFAULT_OPTIONS) | OPTIONAL_OPTIONS
    unknown = set(options) - known
    if unknown:
        raise TypeError(
            f"unknown task option(s) {', '.join(sorted(unknown))}; "
            f"known: {', '.join(sorted(known))}"
        )
    out = dict(options)
    if out.get("params") is not None:
        if not isinstance(out["params"], Mapping):
            raise TypeError(f"params must be a mapping, not {out['params']!r}")
        out["params"] = dict(out["params"])
    for key in ("outlets", "inlets"):
        if out.get(key) is not None:
            from dagshift.runtime.assets import Asset, AssetAlias

            assets = list(out[key])
            bad = [o for o in assets if not isinstance(o, Asset | AssetAlias)]
            if bad:
                raise TypeError(f"{key} must be Assets or AssetAliases, not {bad!r}")
            out[key] = assets
    for key in ("retry_delay", "max_retry_delay", "timeout"):
        if key in out:
            out[key] = _as_timedelta(out[key], key)
    if "trigger_rule" in out:
        out["trigger_rule"] = validate_trigger_rule(out["trigger_rule"])
    if "retries" in out:
        out["retries"] = int(out["retries"] or 0)
    for key in _CALLBACKS & set(out):
        out[key] = _callbacks(out[key], key)
    _check_pool(out)
    for key in PAST_OPTIONS & set(out):
        out[key] = bool(out[key])
    if out.get("wait_for_downstream"):  # as Airflow's BaseOperator: it implies depends_on_past
        out["depends_on_past"] = True
    if out.get("retry_policy") is not None and not callable(
        getattr(out["retry_policy"], "evaluate", None)
    ):
        raise TypeError(f"retry_policy must be a RetryPolicy, not {out['retry_policy']!r}")
    if out.get("executor_config") is not None and not isinstance(out["executor_config"], Mapping):
        raise TypeError(f"executor_config must be a mapping, not {out['executor_config']!r}")
    return out


_CALLBACKS = frozenset({"on_success", "on_failure", "on_retry", "on_execute", "on_skipped"})


def _callbacks(value: Any, name: str) -> Any:
    """A callback option: None, a callable, or a list of callables (called in order)."""
    if value is None or callable(value):
        return value
    if isinstance(value, list | tuple) and all(callable(v) for v in value):
        return list(value) or None
    raise TypeError(f"{name} must be a callable or a list of callables, not {value!r}")


def _check_pool(options: dict[str, Any]) -> None:
    pool = options.get("pool")
    if pool is not None and (not isinstance(pool, str) or not pool):
        raise TypeError(f"pool must be a pool's name, not {pool!r}")
    slots = options.get("pool_slots", 1)
    if isinstance(slots, bool) or not isinstance(slots, int) or slots < 1:
        # Airflow's BaseOperator refuses it too: "pool slots for T cannot be less than 1"
        raise ValueError(f"pool_slots must be a whole number >= 1, not {slots!r}")


class Task:
    """A function that runs as one node of a flow.

    Example:
        >>> @task(retries=2)
        ... def add(x, y):
        ...     return x + y
        >>> add(1, 2)        # outside a flow: just a call
        3
    """

    def __init__(
        self,
        fn: Callable[..., Any],
        *,
        name: str | None = None,
        task_id: str | None = None,
        kind: str = "task",
        **options: Any,
    ) -> None:
        if not callable(fn):
            raise TypeError(f"@task needs a function, got {fn!r}")
        if kind not in _KINDS:
            raise ValueError(f"unknown task kind {kind!r}")
        self.fn = fn
        self.name = name or getattr(fn, "__name__", None) or type(fn).__name__
        self.task_id = task_id
        self.kind = kind
        self.options = normalize_options(options)
        self.signature = _signature(fn)
        functools.update_wrapper(self, fn, updated=())

    def __repr__(self) -> str:
        return f"<Task {self.name}>"

    def override(self, **changes: Any) -> Task:
        """A copy with other options; ``task_id=`` sets the node id exactly.

        Example: ``transform.override(task_id="transform_rows", retries=3)(rows)``.
        """
        new = copy.copy(self)
        if "task_id" in changes:
            new.task_id = changes.pop("task_id")
        if "name" in changes:
            new.name = changes.pop("name")
        new.options = {**self.options, **normalize_options(changes)}
        return new

    def __call__(self, *args: Any, upstream_tasks: Iterable[Any] = (), **kwargs: Any) -> Any:
        flow = current_flow()
        if flow is None:
            if upstream_tasks:
                raise TypeError("upstream_tasks= only has a meaning inside `with Flow(...)`")
            return self.fn(*args, **kwargs)
        if self.signature is not None:
            self.signature.bind(*args, **kwargs)
        return flow.add_task(self, args, kwargs, upstream_tasks=upstream_tasks)

    def run(self, *args: Any, **kwargs: Any) -> Any:
        """Call the function directly, inside a flow or not."""
        return self.fn(*args, **kwargs)

    # Dynamic task mapping, in Airflow's manner.
    def partial(self, **kwargs: Any) -> _Partial:
        """Fix some arguments before ``.expand(...)``."""
        return _Partial(self, kwargs)

    def expand(self, **kwargs: Any) -> TaskRef:
        """One node that runs the function for every element (cross product of the lists)."""
        return _Partial(self, {}).expand(**kwargs)

    def expand_kwargs(self, kwargs_list: Any) -> TaskRef:
        """One node that runs the function once per mapping of keyword arguments."""
        return _Partial(self, {}).expand_kwargs(kwargs_list)


def _signature(fn: Callable[..., Any]) -> inspect.Signature | None:
    try:
        return inspect.signature(fn)
    except (TypeError, ValueError):
        return None


@dataclass
class MapSpec:
    """How a mapped node expands: fixed keyword arguments plus lists to map over."""

    partial: dict[str, Any]
    expand: dict[str, Any] | None = None
    expand_kwargs: Any = None


class _Partial:
    def __init__(self, task_: Task, fixed: dict[str, Any]) -> None:
        self.task = task_
        self.fixed = fixed

    def _flow(self) -> Flow:
        flow = current_flow()
        if flow is None:
            raise RuntimeError(
                f"{self.task.name}.expand(...) builds a mapped task: "
                "call it inside `with Flow(...)`"
            )
        return flow

    def expand(self, **kwargs: Any) -> TaskRef:
        if not kwargs:
            raise TypeError("expand() needs at least one keyword argument to map over")
        overlap = set(kwargs) & set(self.fixed)
        if overlap:
            raise TypeError(f"arguments given to both partial() and expand(): {sorted(overlap)}")
        if self.task.signature is not None:
            self.task.signature.bind(**self.fixed, **dict.fromkeys(kwargs))
        spec = MapSpec(dict(self.fixed), expand=dict(kwargs))
        return self._flow().add_task(self.task, (), {}, map_spec=spec)

    def expand_kwargs(self, kwargs_list: Any) -> TaskRef:
        if self.task.signature is not None:
            self.task.signature.bind_partial(**self.fixed)
        spec = MapSpec(dict(self.fixed), expand_kwargs=kwargs_list)
        return self._flow().add_task(self.task, (), {}, map_spec=spec)


@dataclass
class TaskNode:
    """A node of a flow graph: one call of a task, with its bound arguments and options."""

    task_id: str
    task: Task
    args: tuple[Any, ...]
    kwargs: dict[str, Any]
    options: dict[str, Any]
    index: int
    map_spec: MapSpec | None = None
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def kind(self) -> str:
        return self.task.kind

    @property
    def trigger_rule(self) -> str:
        return self.options["trigger_rule"]


@dataclass(frozen=True)
class Pushed:
    """A selector: the value a task published under ``key`` with :func:`dagshift.push` (a
    named output, apart from its result), not a key of its result."""

    key: str


class ParameterRef:
    """Placeholder for a run parameter's value (a :class:`~dagshift.runtime.flow.Parameter`)."""

    __slots__ = ("name",)

    def __init__(self, name: str) -> None:
        self.name = name

    def __repr__(self) -> str:
        return f"<Parameter {self.name}>"


class TaskRef(Relatives):
    """Placeholder for a task's result while a flow is being defined.

    ``ref["key"]`` stands for one key (or index) of the result; it is the same node.
    ``ref.pushed("key")`` stands for the value the task pushed under ``key`` (a named
    output: Airflow's ``xcom_push``), None when the task pushed none.
    Documentation attributes (``ref.doc_md = "..."``, also ``doc``, ``doc_rst``, ``doc_json``,
    ``doc_yaml``) are kept in the node's ``meta``, as Airflow keeps them on the operator.
    A task option set as an attribute (``ref.trigger_rule = "none_failed"``, ``ref.retries``
    ...) is the task's from then on, as an Airflow operator's attribute set after it is made.
    A setup or teardown task's reference opens a ``with`` block whose tasks it wraps
    (:mod:`dagshift.runtime.setup_teardown`).
    """

    __slots__ = ("flow", "task_id", "selector")

    def __setattr__(self, name: str, value: Any) -> None:
        if name in DOC_ATTRIBUTES:
            self.node.meta[name] = value
        elif name in DEFAULT_OPTIONS:
            self.node.options[name] = normalize_options({name: value})[name]
        else:
            object.__setattr__(self, name, value)

    def __getattr__(self, name: str) -> Any:
        if name in DOC_ATTRIBUTES:
            return self.node.meta.get(name)
        if name in DEFAULT_OPTIONS:
            return self.node.options[name]
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")

    def __init__(self, flow: Flow, task_id: str, selector: tuple[Any, ...] = ()) -> None:
        self.flow = flow
        self.task_id = task_id
        self.selector = selector

    def __repr__(self) -> str:
        sel = "".join(f"[{k!r}]" for k in self.selector)
        return f"<TaskRef {self.flow.name}.{self.task_id}{sel}>"

    @property
    def node(self) -> TaskNode:
        return self.flow.get_task(self.task_id)

    def __getitem__(self, key: Any) -> TaskRef:
        return TaskRef(self.flow, self.task_id, (*self.selector, key))

    def pushed(self, key: str) -> TaskRef:
        """The task's named output ``key`` (what it published with ``push(key, value)``)."""
        if self.selector:
            raise TypeError(f"pushed({key!r}) is taken from the task, not from a part of it")
        return TaskRef(self.flow, self.task_id, (Pushed(key),))

    def map(self, f: Callable[[Any], Any]) -> Derived:
        """Each element of the result through ``f``, computed when read (Airflow's
        ``XComArg.map``): a task mapped over it computes each element in its own run."""
        return mapped(self, f)

    def zip(self, *others: Any, fillvalue: Any = NOTSET) -> Derived:
        """Tuples of the elements of this result and ``others`` (Airflow's ``XComArg.zip``):
        as long as the shortest, or the longest with a ``fillvalue``."""
        return zipped(self, *others, fillvalue=fillvalue)

    def concat(self, *others: Any) -> Derived:
        """The elements of this result and then of ``others`` (Airflow's ``XComArg.concat``)."""
        return concatenated(self, *others)

    def as_setup(self) -> TaskRef:
        """Make the task a setup task (Airflow's ``as_setup()``); returns this reference."""
        setup_teardown.mark_setup(self)
        return self

    def as_teardown(
        self, *, setups: Any = None, on_failure_fail_dagrun: bool | None = None
    ) -> TaskRef:
        """Make the task a teardown of ``setups`` (Airflow's ``as_teardown(...)``, see
        :func:`dagshift.runtime.setup_teardown.mark_teardown`); returns this reference."""
        setup_teardown.mark_teardown(self, setups, on_failure_fail_dagrun)
        return self

    # `with teardown_ref:` / `with setup_ref >> teardown_ref:`, as Airflow's operators
    def __enter__(self) -> Any:
        return setup_teardown.enter(self)

    def __exit__(self, *exc: Any) -> None:
        setup_teardown.leave()

    def __iter__(self):
        raise TypeError(
            f"the result of task {self.task_id!r} is not known while the flow is defined; "
            "pass it whole to another task, or index it with a constant key"
        )

    def __bool__(self) -> bool:
        raise TypeError(
            f"the result of task {self.task_id!r} is not known while the flow is defined; "
            "decide on it inside a task (for example with @task.branch)"
        )

    # Order edges, in Airflow's manner.
    def set_downstream(self, other: Any) -> None:
        for ref in _refs(other):
            self.flow.add_edge(self.task_id, ref.task_id)

    def set_upstream(self, other: Any) -> None:
        for ref in _refs(other, upstream=True):
            self.flow.add_edge(ref.task_id, self.task_id)


def _refs(obj: Any, upstream: bool = False) -> list[TaskRef]:
    """The tasks ``obj`` stands for on one side of ``>>``: a group (runtime/groups.py) stands
    for its last tasks ``upstream``, for its first ones downstream."""
    if isinstance(obj, TaskRef):
        return [obj]
    if isinstance(obj, list | tuple | set | frozenset):
        out: list[TaskRef] = []
        for item in obj:
            out.extend(_refs(item, upstream))
        return out
    ends = getattr(obj, "__dagshift_ends__", None)
    if callable(ends):
        return ends(upstream)
    as_ref = getattr(obj, "__dagshift_ref__", None)
    if callable(as_ref):
        return _refs(as_ref())
    raise TypeError(f"expected a task placeholder (or a list of them), got {obj!r}")


def refs_of(obj: Any) -> list[TaskRef]:
    """Every task placeholder inside ``obj`` (lists, tuples, sets and dict values included)."""
    found: list[TaskRef] = []
    _collect(obj, found)
    return found


def _collect(obj: Any, found: list[TaskRef]) -> None:
    if isinstance(obj, TaskRef):
        found.append(obj)
    elif isinstance(obj, list | tuple | set | frozenset):
        for item in obj:
            _collect(item, found)
    elif isinstance(obj, dict):
        for key, value in obj.items():
            _collect(key, found)
            _collect(value, found)
    elif isinstance(obj, Derived):
        for item in obj.inputs:
            _collect(item, found)
    else:
        # Placeholders of other APIs (an Airflow XComArg or operator in a mixed flow).
        as_ref = getattr(type(obj), "__dagshift_ref__", None)
        if as_ref is not None:
            _collect(as_ref(obj), found)


def _decorate(kind: str, fn: Callable[..., Any] | None, options: dict[str, Any]):
    if fn is not None:
        return Task(fn, kind=kind, **options)
    return lambda f: Task(f, kind=kind, **options)


def task(fn: Callable[..., Any] | None = None, **options: Any):
    """Make a function a task: ``@task`` or ``@task(name=..., retries=..., ...)``.

    Options: ``name``, ``retries``, ``retry_delay``, ``retry_exponential_backoff``,
    ``max_retry_delay``, ``timeout``, ``trigger_rule``, ``params`` (laid over the flow's params
    for this task), and callbacks, each a function of the run context or a list of them, called
    as Airflow calls its ``on_*_callback``: ``on_execute`` (before each try), ``on_retry`` (a
    try failed and another follows), ``on_failure`` (the last try failed), ``on_success``,
    ``on_skipped`` (the task raised SkipTask). Durations are timedeltas or seconds.
    """
    return _decorate("task", fn, options)


def _branch(fn: Callable[..., Any] | None = None, **options: Any):
    """A task that returns the id(s) of the direct downstream tasks to follow."""
    return _decorate("branch", fn, options)


def _short_circuit(fn: Callable[..., Any] | None = None, **options: Any):
    """A task whose falsy result skips downstream tasks.

    With ``ignore_downstream_trigger_rules=True`` (the default) every downstream task is
    skipped; with False only the direct downstream tasks are, and the rest follow their rules.
    """
    return _decorate("short_circuit", fn, options)


task.branch = _branch  # type: ignore[attr-defined]
task.short_circuit = _short_circuit  # type: ignore[attr-defined]
