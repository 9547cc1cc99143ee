"""``BaseOperator``: an Airflow operator as one node of a runtime flow.

When an operator is constructed (Airflow's ``default_args`` applied first, as Airflow's
``apply_defaults`` does) and joins a DAG, it becomes a runtime task whose function is an
:class:`_OperatorCall`: at run time that copies the operator, builds the Airflow context,
substitutes the values of ``XComArg`` placeholders, renders ``template_fields`` and calls
``execute(context)``; the return value is the task's result (its XCom ``return_value``).

Data exchange is direct: an ``XComArg`` in a templated field (``task.output``, a TaskFlow
call's result) becomes a data edge of the flow, so the upstream result reaches the task as an
argument (worker to worker on a cluster); ``ti.xcom_pull`` in code reads the run's task runs.
Dependencies (``>>``, ``<<``, ``set_upstream``, ``chain`` ...) become order edges.
"""

from __future__ import annotations

import copy
import functools
import inspect
import logging
import re
from collections.abc import Callable, Sequence
from datetime import timedelta
from typing import Any

from dagshift.compat import setup_teardown
from dagshift.compat.context import (
    XCOM_RETURN_KEY,
    build_context,
    generation_of,
    reset_current_context,
    set_current_context,
)
from dagshift.compat.dag import DAG, TaskGroup, current_dag, current_group
from dagshift.compat.exceptions import AirflowException
from dagshift.compat.params import DagParam
from dagshift.compat.relatives import (
    DependencyMixin,
    Label,
    chain,
    chain_linear,
    cross_downstream,
    set_relatives,
)
from dagshift.compat.utils import normalize_trigger_rule
from dagshift.compat.xcom_args import (
    ConcatXComArg,
    DerivedXComArg,
    MappedArgument,
    MapXComArg,
    ZipXComArg,
)
from dagshift.runtime.context import current_task
from dagshift.runtime.derived import NOTSET
from dagshift.runtime.flow import Flow, current_flow
from dagshift.runtime.group_mapping import GroupMap
from dagshift.runtime.task import (
    PAST_OPTIONS,
    ROLE_OPTIONS,
    MapSpec,
    ParameterRef,
    Task,
    TaskRef,
    normalize_options,
    refs_of,
)

__all__ = [
    "BaseOperator",
    "Label",
    "XComArg",
    "chain",
    "chain_linear",
    "cross_downstream",
    "set_relatives",
]

_TASK_ID = re.compile(r"^[\w.-]+$")


# ---------------------------------------------------------------------------- XComArg
class XComArg(DependencyMixin):
    """A placeholder for a task's XCom: ``task.output``, or what a TaskFlow call returns.

    ``arg["key"]`` stands for the XCom pushed under ``key`` (a TaskFlow task with
    ``multiple_outputs`` pushes each key of its returned dict).
    """

    def __init__(self, operator: BaseOperator, key: str = XCOM_RETURN_KEY) -> None:
        self.operator = operator
        self.key = key

    def __repr__(self) -> str:
        return f"XComArg({self.operator!r}, key={self.key!r})"

    def __getitem__(self, key: str) -> XComArg:
        return XComArg(self.operator, key)

    def __iter__(self):
        raise TypeError("'XComArg' object is not iterable")

    @property
    def output(self) -> XComArg:
        """The same XCom (a mapped classic operator's ``.expand(...)`` result has one too)."""
        return self

    def __dagshift_ref__(self) -> TaskRef:
        flow = self.operator._require_flow()
        selector = () if self.key == XCOM_RETURN_KEY else (self.key,)
        return TaskRef(flow, self.operator.task_id, selector)

    @property
    def roots(self) -> list[BaseOperator]:
        return [self.operator]

    @property
    def leaves(self) -> list[BaseOperator]:
        return [self.operator]

    def _ends(self, upstream: bool) -> list[BaseOperator]:
        return [self.operator]

    def __dagshift_code__(self) -> list[Any]:  # in a flow's fingerprint: which XCom
        return ["xcom", self.operator.task_id, self.key]

    def resolve(self, context: dict[str, Any]) -> Any:
        return context["ti"].xcom_pull(task_ids=self.operator.task_id, key=self.key)

    # Setup and teardown: an XComArg stands for its operator.
    is_setup = property(
        lambda self: self.operator.is_setup,
        lambda self, value: setattr(self.operator, "is_setup", value),
    )
    is_teardown = property(
        lambda self: self.operator.is_teardown,
        lambda self, value: setattr(self.operator, "is_teardown", value),
    )
    on_failure_fail_dagrun = property(
        lambda self: self.operator.on_failure_fail_dagrun,
        lambda self, value: setattr(self.operator, "on_failure_fail_dagrun", value),
    )

    def as_setup(self) -> XComArg:
        self.operator.as_setup()
        return self

    def as_teardown(self, *, setups: Any = None, on_failure_fail_dagrun: bool | None = None):
        self.operator.as_teardown(setups=setups, on_failure_fail_dagrun=on_failure_fail_dagrun)
        return self

    def __enter__(self):
        return setup_teardown.enter(self.operator)

    def __exit__(self, *exc: Any) -> None:
        setup_teardown.leave()

    def iter_references(self):
        yield self.operator, self.key

    def map(self, f: Callable[[Any], Any]) -> MapXComArg:
        """Each element of this XCom through ``f``, computed when a downstream task reads it."""
        if self.key != XCOM_RETURN_KEY:
            raise ValueError("cannot map against non-return XCom")
        return MapXComArg(self, [f])

    def zip(self, *others: Any, fillvalue: Any = NOTSET) -> ZipXComArg:
        return ZipXComArg([self, *others], fillvalue=fillvalue)

    def concat(self, *others: Any) -> ConcatXComArg:
        return ConcatXComArg([self, *others])


# ------------------------------------------------------------------------ operators
class _Resolved:
    """A value that came from another task: substituted, never rendered as a template."""

    __slots__ = ("value",)

    def __init__(self, value: Any) -> None:
        self.value = value


@functools.cache
def _accepted(cls: type) -> frozenset[str]:
    names: set[str] = set()
    for klass in cls.__mro__:
        init = klass.__dict__.get("__init__")
        if init is None:
            continue
        try:
            params = inspect.signature(init).parameters.values()
        except (TypeError, ValueError):
            continue
        names.update(p.name for p in params if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY))
    names.discard("self")
    return frozenset(names)


class BaseOperatorMeta(type):
    """Applies ``default_args`` (DAG's, task group's, the call's) to constructor arguments
    the operator did not get, then adds the finished operator to its DAG."""

    def __call__(cls, *args: Any, **kwargs: Any) -> Any:
        dag = kwargs.get("dag")
        if dag is None:
            dag = current_dag()
        group = kwargs.get("task_group") or current_group(dag)
        defaults: dict[str, Any] = {}
        if dag is not None:
            defaults.update(dag.default_args)
        if group is not None:
            defaults.update(group.default_args)
        defaults.update(kwargs.pop("default_args", None) or {})
        accepted = _accepted(cls)
        for key, value in defaults.items():
            if key in accepted and key not in kwargs:
                kwargs[key] = value
        if isinstance(defaults.get("params"), dict) and kwargs.get("params") is not None:
            kwargs["params"] = {**defaults["params"], **kwargs["params"]}
        kwargs["dag"], kwargs["task_group"] = dag, group
        op = super().__call__(*args, **kwargs)
        op._init_args = (args, kwargs)
        if setup_teardown.SetupTeardownContext.active:
            setup_teardown.SetupTeardownContext.update_context_map(op)
        if _pending_map:
            op._mapped, op._map_expand, op._map_expand_kwargs = _pending_map[-1]
        op._attach()
        return op


class BaseOperator(DependencyMixin, metaclass=BaseOperatorMeta):
    """Airflow's base class of operators. Subclasses implement ``execute(context)``.

    Example:
        >>> class Hello(BaseOperator):
        ...     template_fields = ("name",)
        ...     def __init__(self, name, **kwargs):
        ...         super().__init__(**kwargs)
        ...         self.name = name
        ...     def execute(self, context):
        ...         return f"hello {self.name} on {context['ds']}"
    """

    template_fields: Sequence[str] = ()
    template_ext: Sequence[str] = ()
    template_fields_renderers: dict[str, str] = {}
    ui_color = "#fff"
    ui_fgcolor = "#000"
    _dagshift_kind = "task"
    _is_decorated = False

    def __init__(
        self,
        task_id: str,
        owner: str = "airflow",
        email: Any = None,
        email_on_retry: bool = True,
        email_on_failure: bool = True,
        retries: int | None = 0,
        retry_delay: timedelta | float = timedelta(seconds=300),
        retry_exponential_backoff: bool = False,
        max_retry_delay: timedelta | float | None = None,
        start_date: Any = None,
        end_date: Any = None,
        depends_on_past: bool = False,
        ignore_first_depends_on_past: bool = True,
        wait_for_past_depends_before_skipping: bool = False,
        wait_for_downstream: bool = False,
        dag: DAG | None = None,
        params: dict[str, Any] | None = None,
        priority_weight: int = 1,
        weight_rule: str = "downstream",
        queue: str = "default",
        pool: str | None = None,
        pool_slots: int = 1,
        sla: Any = None,
        execution_timeout: timedelta | None = None,
        on_execute_callback: Any = None,
        on_failure_callback: Any = None,
        on_success_callback: Any = None,
        on_retry_callback: Any = None,
        on_skipped_callback: Any = None,
        pre_execute: Any = None,
        post_execute: Any = None,
        trigger_rule: str = "all_success",
        resources: Any = None,
        run_as_user: str | None = None,
        task_concurrency: int | None = None,
        map_index_template: str | None = None,
        max_active_tis_per_dag: int | None = None,
        max_active_tis_per_dagrun: int | None = None,
        executor: str | None = None,
        executor_config: dict | None = None,
        retry_policy: Any = None,
        do_xcom_push: bool = True,
        multiple_outputs: bool = False,
        inlets: Any = None,
        outlets: Any = None,
        task_group: TaskGroup | None = None,
        doc: str | None = None,
        doc_md: str | None = None,
        doc_json: str | None = None,
        doc_yaml: str | None = None,
        doc_rst: str | None = None,
        task_display_name: str | None = None,
        logger_name: str | None = None,
        allow_nested_operators: bool = True,
        **kwargs: Any,
    ) -> None:
        if kwargs:
            raise AirflowException(
                f"Invalid arguments were passed to {type(self).__name__} (task_id: {task_id}). "
                f"Invalid arguments were:\n**kwargs: {kwargs}"
            )
        if not isinstance(task_id, str) or not _TASK_ID.match(task_id) or len(task_id) > 250:
            raise AirflowException(
                f"The key {task_id!r} has to be made of alphanumeric characters, dashes, "
                "dots and underscores exclusively"
            )
        self.task_group = task_group
        self.task_id = task_group.child_id(task_id) if task_group is not None else task_id
        self.owner = owner
        self.email = email
        self.retries = retries
        self.retry_delay = retry_delay
        self.retry_exponential_backoff = retry_exponential_backoff
        self.max_retry_delay = max_retry_delay
        self.start_date = start_date
        self.end_date = end_date
        # as Airflow's BaseOperator: waiting for the past's downstream implies the past
        self.depends_on_past = bool(depends_on_past or wait_for_downstream)
        self.wait_for_downstream = wait_for_downstream
        self.ignore_first_depends_on_past = ignore_first_depends_on_past
        self.params = dict(params or {})
        self.priority_weight = priority_weight
        self.weight_rule = weight_rule
        self.queue = queue
        self.pool = pool
        self.pool_slots = pool_slots
        self.execution_timeout = execution_timeout
        self.on_execute_callback = on_execute_callback
        self.on_failure_callback = on_failure_callback
        self.on_success_callback = on_success_callback
        self.on_retry_callback = on_retry_callback
        self.on_skipped_callback = on_skipped_callback
        self._pre_execute_hook = pre_execute
        self._post_execute_hook = post_execute
        self.trigger_rule = normalize_trigger_rule(trigger_rule)
        self.resources = resources
        self.run_as_user = run_as_user
        self.map_index_template = map_index_template
        self.max_active_tis_per_dag = max_active_tis_per_dag or task_concurrency
        self.executor_config = executor_config or {}
        self.retry_policy = retry_policy
        self.do_xcom_push = do_xcom_push
        self.multiple_outputs = multiple_outputs
        self.inlets = list(inlets or [])
        self.outlets = list(outlets or [])
        self.doc_md = doc_md or doc
        self._is_setup = self._is_teardown = self._on_failure_fail_dagrun = False
        self.upstream_task_ids: set[str] = set()
        self.downstream_task_ids: set[str] = set()
        self._dag = dag
        self._flow: Flow | None = None
        self._bindings: dict[Any, str] = {}
        self._mapped: dict[str, bool] | None = None  # mapped argument -> came from literals
        self._map_expand: dict[str, Any] | None = None
        self._map_expand_kwargs: Any = None
        self._map_spec: MapSpec | None = None
        self.log = logging.getLogger(f"airflow.task.operators.{type(self).__name__}")

    # --------------------------------------------------------------- identity
    def __repr__(self) -> str:
        return f"<Task({type(self).__name__}): {self.task_id}>"

    @property
    def task_type(self) -> str:
        return type(self).__name__

    @property
    def operator_name(self) -> str:
        return type(self).__name__

    @property
    def node_id(self) -> str:
        return self.task_id

    @property
    def label(self) -> str:
        group = self.task_group
        prefix = group.group_id + "." if group is not None and group.group_id else ""
        return self.task_id[len(prefix) :] if self.task_id.startswith(prefix) else self.task_id

    @property
    def dag(self) -> DAG | None:
        return self._dag

    @dag.setter
    def dag(self, dag: DAG) -> None:
        if self._dag is dag:
            return
        if self._dag is not None:
            raise AirflowException(
                f"The DAG assigned to {self} can not be changed (it is in {self._dag.dag_id!r})"
            )
        self._dag = dag
        dag.add_task(self)

    def has_dag(self) -> bool:
        return self._dag is not None

    @property
    def output(self) -> XComArg:
        return XComArg(self)

    @property
    def upstream_list(self) -> list[BaseOperator]:
        return [self._dag.task_dict[t] for t in sorted(self.upstream_task_ids)] if self._dag else []

    @property
    def downstream_list(self) -> list[BaseOperator]:
        tasks = self._dag.task_dict if self._dag else {}
        return [tasks[t] for t in sorted(self.downstream_task_ids) if t in tasks]

    @property
    def roots(self) -> list[BaseOperator]:
        return [self]

    @property
    def leaves(self) -> list[BaseOperator]:
        return [self]

    def get_direct_relative_ids(self, upstream: bool = False) -> set[str]:
        own = set(self.upstream_task_ids if upstream else self.downstream_task_ids)
        flow = self._flow
        if flow is not None and self.task_id in flow.graph:
            # in a converted flow, functional tasks next to it are relatives too (`op >> ref`)
            near = flow.graph.predecessors if upstream else flow.graph.successors
            own |= set(near(self.task_id))
        return own

    # ------------------------------------------------------- setup/teardown
    @property
    def is_setup(self) -> bool:
        return self._is_setup

    @is_setup.setter
    def is_setup(self, value: bool) -> None:
        if value and self._is_teardown:
            raise ValueError(
                f"Cannot mark task '{self.task_id}' as setup; task is already a teardown."
            )
        self._is_setup = bool(value)

    @property
    def is_teardown(self) -> bool:
        return self._is_teardown

    @is_teardown.setter
    def is_teardown(self, value: bool) -> None:
        if value and self._is_setup:
            raise ValueError(
                f"Cannot mark task '{self.task_id}' as teardown; task is already a setup."
            )
        self._is_teardown = bool(value)

    @property
    def on_failure_fail_dagrun(self) -> bool:
        return self._on_failure_fail_dagrun

    @on_failure_fail_dagrun.setter
    def on_failure_fail_dagrun(self, value: bool) -> None:
        if value is True and self._is_teardown is not True:
            raise ValueError(
                f"Cannot set task on_failure_fail_dagrun for '{self.task_id}' because it is "
                "not a teardown task."
            )
        self._on_failure_fail_dagrun = value

    def as_setup(self) -> BaseOperator:
        """Mark this task as a setup task."""
        self.is_setup = True
        return self

    def as_teardown(
        self, *, setups: Any = None, on_failure_fail_dagrun: bool | None = None
    ) -> BaseOperator:
        """Mark this task as a teardown (trigger rule ``all_done_setup_success``), and make
        ``setups`` (a task or a list) setup tasks directly upstream of it."""
        self.is_teardown = True
        self.trigger_rule = "all_done_setup_success"
        if on_failure_fail_dagrun is not None:
            self.on_failure_fail_dagrun = on_failure_fail_dagrun
        if setups is not None:
            for s in [setups] if isinstance(setups, DependencyMixin) else setups:
                s.is_setup = True
                s >> self
        return self

    def __enter__(self):
        return setup_teardown.enter(self)

    def __exit__(self, *exc: Any) -> None:
        setup_teardown.leave()

    # ---------------------------------------------------------- dependencies
    def _ends(self, upstream: bool) -> list[BaseOperator]:
        return [self]

    def __dagshift_ref__(self) -> TaskRef:
        return TaskRef(self._require_flow(), self.task_id)

    def __dagshift_code__(self) -> list[Any]:
        # In a flow's fingerprint the operator is its task id: its behaviour is fingerprinted
        # through the task's function (see _OperatorCall.__dagshift_code__).
        return ["operator", self.task_id]

    def _adopt_dag(self, other: BaseOperator) -> None:
        if self._dag is None and other._dag is not None:
            self.dag = other._dag
        elif other._dag is None and self._dag is not None:
            other.dag = self._dag
        elif self._dag is None and other._dag is None and self._flow is None:
            raise AirflowException(
                f"Tried to create relationships between tasks that don't have DAGs yet. "
                f"Set the DAG for at least one task and try again: {[self, other]}"
            )

    # ------------------------------------------------------------- the graph
    def _attach(self) -> None:
        """Join the DAG (or the runtime flow being defined) once constructed."""
        if self._dag is not None:
            self._dag.add_task(self)
        else:
            flow = current_flow()
            if flow is not None:
                self._join_flow(flow)

    def _require_flow(self) -> Flow:
        if self._flow is None:
            raise AirflowException(
                f"{self} belongs to no DAG: create it inside `with DAG(...)` or pass dag="
            )
        return self._flow

    def _join_flow(self, flow: Flow) -> None:
        if self._flow is flow:
            return
        self._flow = flow
        if self.task_group is not None and self._dag is not None:
            self.task_group.add(self)
        kwargs: dict[str, Any] = {}
        order: list[str] = []
        for holder in _placeholders([getattr(self, f, None) for f in self._templated()]):
            self._bind(holder, kwargs, order)
        spec = None
        if self._mapped is not None:
            spec = MapSpec(kwargs, expand=self._map_expand, expand_kwargs=self._map_expand_kwargs)
            kwargs = {}
        task = Task(_OperatorCall(self), name=self.task_id, task_id=self.task_id, kind=self._kind())
        groups = tuple(self.task_group.ancestors()) if self.task_group is not None else ()
        meta: dict[str, Any] = {"operator": self, "groups": groups}
        mapped_group = self._mapped_group()
        if mapped_group is not None:
            meta["group_map"] = mapped_group
        flow.add_task(task, (), kwargs, map_spec=spec, meta=meta)
        if spec is not None:  # what a mapped task is mapped over is upstream of it
            for ref in refs_of([spec.expand, spec.expand_kwargs]):
                self.upstream_task_ids.add(ref.task_id)
                source = flow.get_task(ref.task_id).meta.get("operator")
                if source is not None:
                    source.downstream_task_ids.add(self.task_id)
        self._sync_node()
        for upstream in order:
            flow.add_edge(upstream, self.task_id)
            self.upstream_task_ids.add(upstream)
        # Relatives set before this task had a flow.
        for other_id in list(self.upstream_task_ids):
            if other_id in flow.graph and not flow.graph.has_edge(other_id, self.task_id):
                flow.add_edge(other_id, self.task_id)
        for other_id in list(self.downstream_task_ids):
            if other_id in flow.graph and not flow.graph.has_edge(self.task_id, other_id):
                flow.add_edge(self.task_id, other_id)

    def _mapped_group(self) -> GroupMap | None:
        """The mapped task group this task is in, as the runtime's :class:`GroupMap`."""
        group = self.task_group
        while group is not None and getattr(group, "_group_map", None) is None:
            group = group.parent_group
        if group is None:
            return None
        if self._mapped is not None:
            raise AirflowException(
                f"{self} is mapped (.expand) inside the mapped task group {group.group_id!r}: "
                "dagshift's shim cannot map a task inside a mapped group; map the group alone"
            )
        expand, kwargs_list = group._group_map
        return GroupMap(
            group.group_id,
            expand=_as_refs(expand) if expand is not None else None,
            expand_kwargs=_as_refs(kwargs_list) if kwargs_list is not None else None,
        )

    def _templated(self) -> list[str]:
        return list(self.template_fields)

    def _bind(self, holder: Any, kwargs: dict[str, Any], order: list[str]) -> None:
        """A placeholder found in a templated field: a data edge for a return value, an
        order edge for another key."""
        if isinstance(holder, DerivedXComArg | MappedArgument):  # .map() / .zip() / .concat()
            for upstream, _ in holder.iter_references():
                if upstream._flow is None and self._dag is not None:
                    upstream.dag = self._dag
                upstream.downstream_task_ids.add(self.task_id)
                self.upstream_task_ids.add(upstream.task_id)
            key: Any = holder.binding_key
            ref: Any = holder.__dagshift_ref__()
        elif isinstance(holder, XComArg):
            upstream = holder.operator
            if upstream._flow is None and self._dag is not None:
                upstream.dag = self._dag
            upstream.downstream_task_ids.add(self.task_id)
            self.upstream_task_ids.add(upstream.task_id)  # a data edge is an edge in Airflow too
            if holder.key != XCOM_RETURN_KEY:
                order.append(upstream.task_id)
                return
            key = ("xcom", upstream.task_id)
            ref = TaskRef(upstream._require_flow(), upstream.task_id)
        else:  # a runtime task's placeholder
            key = ("ref", holder.task_id, holder.selector)
            ref = holder
        if key not in self._bindings:
            name = f"__input_{len(self._bindings)}"
            self._bindings[key] = name
            kwargs[name] = ref

    def _kind(self) -> str:
        return self._dagshift_kind

    def _runtime_options(self) -> dict[str, Any]:
        generation = generation_of(self)
        return normalize_options(
            {
                "retries": int(self.retries or 0),
                "retry_delay": self.retry_delay,
                "retry_exponential_backoff": bool(self.retry_exponential_backoff),
                "max_retry_delay": self.max_retry_delay,
                "timeout": self.execution_timeout,
                "trigger_rule": normalize_trigger_rule(self.trigger_rule),
                "on_success": _callback(self, self.on_success_callback),
                "on_failure": _callback(self, self.on_failure_callback),
                "on_retry": _callback(self, self.on_retry_callback),
                "on_skipped": _callback(self, self.on_skipped_callback),
                # Airflow 2.11 calls on_success_callback after on_skipped_callback too
                "success_callback_on_skip": generation != "3",
                "ignore_downstream_trigger_rules": getattr(
                    self, "ignore_downstream_trigger_rules", True
                ),
                # Airflow 2 keeps the return value of a branch or short-circuit that skipped
                # tasks; Airflow 3 pushes none.
                "drop_result_on_skip": generation == "3",
                # the slots it holds while it runs (Airflow's pools; None: default_pool)
                **({"pool": self.pool} if self.pool else {}),
                **({"pool_slots": self.pool_slots} if self.pool_slots != 1 else {}),
                **self._role_options(),
                **self._past_options(),
                # what Airflow hands its executor (a pod override ...): local executors, as
                # dagshift's, ignore it; kept on the task
                **({"executor_config": dict(self.executor_config)} if self.executor_config else {}),
                **({"retry_policy": self.retry_policy} if self.retry_policy is not None else {}),
            }
        )

    def _past_options(self) -> dict[str, bool]:
        # depends_on_past (dagshift.runtime.past); only on the tasks that set it
        if not self.depends_on_past:
            return {}
        return {
            "depends_on_past": True,
            "wait_for_downstream": bool(self.wait_for_downstream),
            "ignore_first_depends_on_past": bool(self.ignore_first_depends_on_past),
        }

    def _role_options(self) -> dict[str, bool]:
        # Only on the tasks that have a role, so that other tasks' options stay as they were.
        roles = {
            "setup": self.is_setup,
            "teardown": self.is_teardown,
            "fails_run": self.is_teardown and self.on_failure_fail_dagrun,
        }
        return {k: True for k, v in roles.items() if v}

    def _sync_node(self) -> None:
        if self._flow is None:
            return
        node = self._flow.get_task(self.task_id)
        options = self._runtime_options()
        changed = {k: v for k, v in options.items() if node.options.get(k) != v}
        # options present only when set: one unset since (t.depends_on_past = False) goes
        present_only = ROLE_OPTIONS | PAST_OPTIONS | {"executor_config", "retry_policy"}
        dropped = [k for k in present_only if k in node.options and k not in options]
        if changed or dropped:
            node.options.update(changed)
            node.task.options.update(changed)
            for key in dropped:
                node.options.pop(key)
                node.task.options.pop(key, None)
            self._flow.__dict__.pop("_dagshift_plans", None)

    # ---------------------------------------------------------------- mapping
    @classmethod
    def partial(cls, **kwargs: Any) -> _PartialOperator:
        """Fix arguments of a mapped operator; ``.expand(...)`` gives the mapped ones."""
        return _PartialOperator(cls, kwargs)

    # --------------------------------------------------------------- running
    def execute(self, context: dict[str, Any]) -> Any:
        raise NotImplementedError(f"{type(self).__name__} must implement execute(context)")

    def pre_execute(self, context: dict[str, Any]) -> None:
        if self._pre_execute_hook is not None:
            self._pre_execute_hook(context)

    def post_execute(self, context: dict[str, Any], result: Any = None) -> None:
        if self._post_execute_hook is not None:
            self._post_execute_hook(context, result)

    def on_kill(self) -> None:
        """Nothing to clean up by default."""

    def get_template_env(self):
        if self._dag is not None:
            return self._dag.get_template_env()
        from dagshift.compat.templating import make_environment

        if self._flow is not None:  # kept as written in a converted file's flow
            return make_environment(self._flow.template_folders() or ["."])
        return make_environment(["."])

    def render_template(self, content: Any, context: dict[str, Any], jinja_env=None) -> Any:
        from dagshift.compat.templating import render_value

        env = jinja_env or self.get_template_env()
        return render_value(content, context, env, tuple(self.template_ext))

    def render_template_fields(self, context: dict[str, Any], jinja_env=None, resolve=None):
        from dagshift.compat.templating import render_value

        env = jinja_env or self.get_template_env()
        exts = tuple(self.template_ext)
        for name in self.template_fields:
            value = getattr(self, name, None)
            if value is None:
                continue
            setattr(self, name, render_value(value, context, env, exts, resolve))

    def xcom_push(self, context: dict[str, Any], key: str, value: Any, **_: Any) -> None:
        context["ti"].xcom_push(key=key, value=value)

    def xcom_pull(self, context: dict[str, Any], task_ids: Any = None, **kwargs: Any) -> Any:
        return context["ti"].xcom_pull(task_ids=task_ids, **kwargs)

    def dry_run(self) -> None:
        self.log.info("Dry run of %s", self)

    def prepare_template(self) -> None:
        """Hook run before rendering (Airflow's); nothing by default."""


def _placeholders(values: list[Any]) -> list[Any]:
    found: list[Any] = []
    _walk(values, found, set())
    return found


def _walk(value: Any, found: list[Any], seen: set[int]) -> None:
    if isinstance(value, XComArg | TaskRef | DerivedXComArg | MappedArgument):
        found.append(value)
    elif isinstance(value, list | tuple | set | frozenset):
        for item in value:
            _walk(item, found, seen)
    elif isinstance(value, dict):
        for item in value.values():
            _walk(item, found, seen)
    elif isinstance(value, BaseOperator | DAG | TaskGroup | str | bytes | int | float):
        return
    elif getattr(type(value), "template_fields", None) and id(value) not in seen:
        seen.add(id(value))
        for name in type(value).template_fields:
            _walk(getattr(value, name, None), found, seen)


class _PartialOperator:
    """``Operator.partial(...)``: waits for ``.expand(...)`` / ``.expand_kwargs(...)``."""

    def __init__(self, cls: type[BaseOperator], kwargs: dict[str, Any]) -> None:
        if "task_id" not in kwargs:
            raise TypeError(f"{cls.__name__}.partial() needs a task_id")
        self.cls = cls
        self.kwargs = kwargs

    def expand(self, **mapped: Any) -> XComArg:
        if not mapped:
            raise TypeError("expand() needs at least one keyword argument to map over")
        return _mapped_operator(self.cls, self.kwargs, mapped, None)

    def expand_kwargs(self, kwargs_list: Any) -> XComArg:
        return _mapped_operator(self.cls, self.kwargs, None, kwargs_list)


class _MappedArgument:
    def __repr__(self) -> str:
        return "<mapped>"


_pending_map: list[tuple[dict[str, bool], Any, Any]] = []


def _mapped_operator(cls, fixed, mapped, kwargs_list, stand_in: bool = True) -> XComArg:
    """Construct a mapped operator: one task whose runs are the elements of ``mapped`` (or of
    ``kwargs_list``). The constructor sees stand-ins for the mapped arguments."""
    stand_ins = {k: _MappedArgument() for k in (mapped or {})} if stand_in else {}
    expand = {k: _as_refs(v) for k, v in mapped.items()} if mapped else None
    expand_kwargs = _as_refs(kwargs_list) if kwargs_list is not None else None
    literal = {k: not refs_of(v) for k, v in (expand or {}).items()}
    # The metaclass builds the operator and, seeing this, attaches it as a mapped task.
    _pending_map.append((literal, expand, expand_kwargs))
    try:
        op = cls(**fixed, **stand_ins)
    finally:
        _pending_map.pop()
    return XComArg(op)


def map_leaves(value: Any, fn: Callable[[Any], Any]) -> Any:
    """``value`` with ``fn`` applied to everything inside its lists, tuples and dict values."""
    if isinstance(value, list):
        return [map_leaves(v, fn) for v in value]
    if isinstance(value, tuple):
        return tuple(map_leaves(v, fn) for v in value)
    if isinstance(value, dict):
        return {k: map_leaves(v, fn) for k, v in value.items()}
    return fn(value)


def _as_refs(value: Any) -> Any:
    """``value`` with XComArgs (and operators' outputs) as runtime placeholders."""
    placeholders = XComArg | DerivedXComArg
    return map_leaves(value, lambda v: v.__dagshift_ref__() if isinstance(v, placeholders) else v)


# -------------------------------------------------------------------- execution
class _Callback:
    """An Airflow callback (or a list of them) called with the task's Airflow context."""

    def __init__(self, op: BaseOperator, fns: list[Callable[[dict], Any]]) -> None:
        self.op, self.fns = op, fns

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _Callback) and (self.op, self.fns) == (other.op, other.fns)

    def __call__(self, runtime_context: dict[str, Any]) -> None:
        current = current_task()
        context = build_context(self.op, current)
        context["exception"] = runtime_context.get("exception")
        for fn in self.fns:  # each on its own, as Airflow: one that raises stops no other
            try:
                fn(context)
            except Exception:
                self.op.log.exception("Failed to run callback %r", fn)


def _listed(fn: Any) -> list[Callable[[dict], Any]]:
    """An Airflow callback argument (none, one, or a list) as a list."""
    if not fn:
        return []
    return list(fn) if isinstance(fn, list | tuple) else [fn]


def _callback(op: BaseOperator, fn: Any) -> _Callback | None:
    return _Callback(op, _listed(fn)) if fn else None


class _OperatorCall:
    """The runtime function of an operator's task."""

    def __init__(self, op: BaseOperator) -> None:
        self.op = op
        self.__name__ = op.task_id

    def __repr__(self) -> str:
        return f"<run {self.op!r}>"

    def __dagshift_code__(self) -> list[Any]:
        """What the task's behaviour depends on, for flow versions: the operator's class and
        code, and its constructor arguments (other tasks named by id, not walked)."""
        from dagshift.history.store import _canon

        cls = type(self.op)
        args, kwargs = self.op._init_args
        own = {k: v for k, v in kwargs.items() if k not in ("dag", "task_group")}
        return [cls.__module__, cls.__qualname__, _class_source(cls), _canon([args, own])]

    def __call__(self, **inputs: Any) -> Any:
        current = current_task()
        if current is None:
            raise RuntimeError(f"{self.op} runs only inside a flow run")
        op = self._instance(inputs)
        context = build_context(op, current)
        token = set_current_context(context)
        try:
            resolve = functools.partial(
                _resolve, op=self.op, inputs=inputs, context=context, params=current.run.params
            )
            op.prepare_template()
            op.render_template_fields(context, resolve=resolve)
            op.pre_execute(context)
            # after pre_execute, each on its own: Airflow logs one that raises and runs the task
            for fn in _listed(op.on_execute_callback):
                try:
                    fn(context)
                except Exception:
                    op.log.exception("Failed to run on_execute_callback %r", fn)
            result = op.execute(context)
            op.post_execute(context, result)
        finally:
            reset_current_context(token)
        if op.multiple_outputs and result is not None:
            if not isinstance(result, dict):
                raise TypeError(
                    f"Returned output was type {type(result)} expected dictionary for "
                    "multiple_outputs"
                )
            for key, value in result.items():
                if not isinstance(key, str):
                    raise TypeError(
                        "Returned dictionary keys must be strings when using multiple_outputs, "
                        f"found {key} ({type(key)}) instead"
                    )
                current.pushed[key] = value
        return result if op.do_xcom_push else None

    def _instance(self, inputs: dict[str, Any]) -> BaseOperator:
        base = self.op
        mapped = {k: v for k, v in inputs.items() if not k.startswith("__input_")}
        if base._mapped is None or not mapped:
            return copy.copy(base)
        return base._unmap(mapped)


@functools.cache
def _class_source(cls: type) -> str:
    try:
        return inspect.getsource(cls)
    except (OSError, TypeError):
        return cls.__qualname__


def _resolve(
    value: Any, op: BaseOperator, inputs: dict[str, Any], context: dict, params: dict
) -> Any:
    if isinstance(value, _Resolved):
        return value.value
    if isinstance(value, DerivedXComArg | MappedArgument):
        return inputs[op._bindings[value.binding_key]]
    if isinstance(value, XComArg):
        if value.key == XCOM_RETURN_KEY:
            return inputs[op._bindings[("xcom", value.operator.task_id)]]
        return context["ti"].xcom_pull(task_ids=value.operator.task_id, key=value.key)
    if isinstance(value, TaskRef):
        return inputs[op._bindings[("ref", value.task_id, value.selector)]]
    if isinstance(value, DagParam):
        return value.resolve(context)
    if isinstance(value, ParameterRef):  # a converted @dag function's parameter (a DagParam):
        return params[value.name]  # the run's value, given or the default, as dag_run.conf
    return value


def _unmap(self: BaseOperator, element: dict[str, Any]) -> BaseOperator:
    """This mapped operator with one element's arguments, as Airflow unmaps it."""
    args, kwargs = self._init_args
    literal = self._mapped or {}
    values = {k: (v if literal.get(k, False) else _Resolved(v)) for k, v in element.items()}
    op = type(self).__new__(type(self))
    type(self).__init__(op, *args, **{**kwargs, **values})
    for name in ("_flow", "_bindings", "_mapped", "upstream_task_ids", "downstream_task_ids"):
        setattr(op, name, getattr(self, name))
    return op


BaseOperator._unmap = _unmap  # type: ignore[attr-defined]
