"""``DAG`` and ``TaskGroup``: Airflow's containers, built on one runtime :class:`Flow`.

A DAG owns a :class:`DagFlow` (a runtime flow named by the dag_id) from the moment it is
constructed, so the runtime's loader finds it like any flow; every operator that joins the DAG
becomes a node of that flow, and ``>>`` between operators becomes a flow edge. The DAG keeps
what only Airflow code looks at (``task_dict``, ``default_args``, the Jinja environment, the
task groups). ``generation`` records which Airflow the file was written for ("3" when the DAG
class came from ``airflow.sdk``, "2" otherwise, which also covers 1.10): it decides the context
names (``execution_date`` and its relatives are gone in 3), the default schedule, the data
interval of a manual run and whether a branch that skipped tasks keeps its return value.
"""

from __future__ import annotations

import functools
import inspect
import re
import sys
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

from dagshift.compat.dag_callbacks import DagCallback
from dagshift.compat.exceptions import AirflowException, DuplicateTaskIdFound, ParamValidationError
from dagshift.compat.relatives import DependencyMixin
from dagshift.runtime.context import to_datetime
from dagshift.runtime.flow import Flow, _active

__all__ = ["DAG", "DagFlow", "TaskGroup", "current_dag", "current_group", "dag"]

_dag_stack: list[DAG] = []
_UNSET = object()


def current_dag() -> DAG | None:
    return _dag_stack[-1] if _dag_stack else None


def current_group(dag: DAG | None) -> TaskGroup | None:
    if dag is None:
        return None
    return dag._group_stack[-1]


def _caller_file() -> str | None:
    frame = sys._getframe(1)
    here = Path(__file__).parent
    while frame is not None:
        path = Path(frame.f_code.co_filename)
        if here not in path.parents and "importlib" not in path.parts:
            return str(path)
        frame = frame.f_back
    return None


class DagFlow(Flow):
    """The runtime flow of an Airflow DAG: runs with Airflow's conf, params and interval."""

    def __init__(self, dag: DAG) -> None:
        self.dag = dag
        super().__init__(
            dag.dag_id,
            schedule=dag.schedule,
            description=dag.description,
            start_date=dag.start_date,
            end_date=dag.end_date,
            catchup=dag.catchup,
            tags=dag.tags,
            params=dag._param_defaults,
            max_active_runs=dag.max_active_runs,
            max_active_tasks=dag.max_active_tasks,
            data_interval="point" if dag.generation == "3" else "previous",
            run_timeout=dag.extra_arguments.get("dagrun_timeout"),
            airflow_dag=True,
            on_success=DagCallback(dag, success=True),
            on_failure=DagCallback(dag, success=False),
        )

    def loaded(self) -> None:
        """Options a DAG file sets on operators after making them (``t.trigger_rule = ...``,
        as Airflow reads them) are the flow's once the file has run, not only at run time:
        ``inspect`` and ``--verify=graph`` compare them. Then what Airflow's DagBag checks
        once the file ran (``DAG.validate``): setup and teardown rules."""
        self.dag._sync_options()
        self.dag.validate_setup_teardown()

    def check_parameters(self, parameters=None):
        """Airflow validates every param of the DAG against the run's conf when it creates
        the run, and refuses the run (``ParamValidationError``, no task starts) when one has
        no value or a value its schema rejects."""
        from dagshift.compat.params import NOTSET, Param

        given = dict(parameters or {})
        declared = {**self.dag.default_args.get("params", {}), **self.dag.params}
        for name, param in declared.items():
            if isinstance(param, Param):
                try:
                    param.resolve(given.get(name, NOTSET))
                except ParamValidationError as exc:
                    raise ParamValidationError(f"Invalid input for param {name}: {exc}") from None
        return super().check_parameters(parameters)

    def run(self, parameters=None, *, logical_date=None, data_interval=None, conf=None, **kw):
        """Run like ``dag.test()``: ``parameters`` are the run's conf, overriding params."""
        self.dag._sync_options()
        self.check_parameters(conf if conf is not None else parameters)
        ld = to_datetime(logical_date)
        if conf is None:
            conf = dict(parameters or {})
        return super().run(
            parameters, logical_date=ld, data_interval=data_interval, conf=conf, **kw
        )


class DAG:
    """An Airflow DAG whose tasks run on dagshift's runtime.

    Example:
        >>> with DAG("etl", schedule="@daily", start_date=datetime(2024, 1, 1)) as dag:
        ...     extract >> transform >> load
        >>> dag.test(logical_date="2024-01-15")   # a dagshift FlowRun
    """

    generation = "2"

    def __init__(
        self,
        dag_id: str | None = None,
        description: str | None = None,
        schedule: Any = _UNSET,
        schedule_interval: Any = _UNSET,
        timetable: Any = None,
        start_date: Any = None,
        end_date: Any = None,
        default_args: dict[str, Any] | None = None,
        params: dict[str, Any] | None = None,
        catchup: bool | None = None,
        tags: Any = None,
        max_active_runs: int = 16,
        max_active_tasks: int = 16,
        template_searchpath: str | list[str] | None = None,
        template_undefined: type | None = None,
        user_defined_macros: dict[str, Any] | None = None,
        user_defined_filters: dict[str, Any] | None = None,
        render_template_as_native_obj: bool = False,
        jinja_environment_kwargs: dict[str, Any] | None = None,
        on_success_callback: Any = None,
        on_failure_callback: Any = None,
        doc_md: str | None = None,
        **kwargs: Any,
    ) -> None:
        if not dag_id or not isinstance(dag_id, str):
            raise AirflowException(f"a DAG needs a dag_id (a string), got {dag_id!r}")
        if not re.fullmatch(r"[\w.-]+", dag_id):
            raise AirflowException(
                f"The key '{dag_id}' has to be made of alphanumeric characters, dashes, "
                "dots and underscores exclusively"
            )
        self.dag_id = dag_id
        self.description = description
        if schedule is not _UNSET and schedule_interval is not _UNSET:
            raise AirflowException("give schedule or schedule_interval, not both")
        if schedule is _UNSET:
            schedule = schedule_interval
        if schedule is _UNSET:
            schedule = timetable if timetable is not None else self._default_schedule()
        self.schedule = schedule
        self.schedule_interval = schedule
        self.default_args = dict(default_args or {})
        self.start_date = (
            start_date if start_date is not None else self.default_args.get("start_date")
        )
        self.end_date = end_date if end_date is not None else self.default_args.get("end_date")
        self.catchup = self.generation != "3" if catchup is None else catchup
        self.tags = list(tags or [])
        self.params = dict(params or {})
        self._param_defaults = _param_values({**self.default_args.get("params", {}), **self.params})
        self.max_active_runs = max_active_runs
        # 2.x's deprecated `concurrency=` is the same limit
        self.max_active_tasks = kwargs.pop("concurrency", None) or max_active_tasks
        if isinstance(template_searchpath, str):
            template_searchpath = [template_searchpath]
        self.template_searchpath = list(template_searchpath or [])
        self.template_undefined = template_undefined
        self.user_defined_macros = user_defined_macros
        self.user_defined_filters = user_defined_filters
        self.render_template_as_native_obj = render_template_as_native_obj
        self.jinja_environment_kwargs = jinja_environment_kwargs
        self.on_success_callback = on_success_callback
        self.on_failure_callback = on_failure_callback
        self.doc_md = doc_md
        self.extra_arguments = kwargs
        self.fileloc = kwargs.pop("fileloc", None) or _caller_file()
        self.task_dict: dict[str, Any] = {}
        self._env = None
        self._group_ids: set[str] = set()
        self.task_group = TaskGroup(None, dag=self)
        self._group_stack: list[TaskGroup] = [self.task_group]
        self._flow_tokens: list[Any] = []
        self.flow = DagFlow(self)

    def _default_schedule(self) -> Any:
        return None if self.generation == "3" else timedelta(days=1)

    def __repr__(self) -> str:
        return f"<DAG: {self.dag_id}>"

    def __dagshift_code__(self) -> list[Any]:  # in a flow's fingerprint: its id
        return ["dag", self.dag_id]

    def __enter__(self) -> DAG:
        _dag_stack.append(self)
        # A dagshift @task called inside `with DAG(...)` joins the DAG's flow.
        self._flow_tokens.append(_active.set(self.flow))
        return self

    def __exit__(self, *exc: Any) -> None:
        _active.reset(self._flow_tokens.pop())
        _dag_stack.pop()

    # ------------------------------------------------------------------ tasks
    @property
    def tasks(self) -> list[Any]:
        return list(self.task_dict.values())

    @property
    def task_ids(self) -> list[str]:
        return list(self.task_dict)

    @property
    def roots(self) -> list[Any]:
        return [t for t in self.tasks if not t.upstream_task_ids]

    @property
    def leaves(self) -> list[Any]:
        return [t for t in self.tasks if not t.downstream_task_ids]

    def has_task(self, task_id: str) -> bool:
        return task_id in self.task_dict

    def get_task(self, task_id: str) -> Any:
        try:
            return self.task_dict[task_id]
        except KeyError:
            raise AirflowException(f"Task {task_id} not found") from None

    def add_task(self, task: Any) -> None:
        """Make ``task`` a task of this DAG (a node of its flow)."""
        if task.task_id in self.task_dict:
            if self.task_dict[task.task_id] is task:
                return
            raise DuplicateTaskIdFound(
                f"Task id '{task.task_id}' has already been added to the DAG {self.dag_id!r}"
            )
        self.task_dict[task.task_id] = task
        task._join_flow(self.flow)

    def add_tasks(self, tasks: list[Any]) -> None:
        for task in tasks:
            task.dag = self

    def get_template_env(self):
        """The DAG's Jinja environment (made once)."""
        if self._env is None:
            from dagshift.compat.templating import make_environment

            folder = str(Path(self.fileloc).parent) if self.fileloc else "."
            self._env = make_environment(
                [folder, *self.template_searchpath],
                native=self.render_template_as_native_obj,
                undefined=self.template_undefined,
                macros=self.user_defined_macros,
                filters=self.user_defined_filters,
                options=self.jinja_environment_kwargs,
            )
        return self._env

    def validate_setup_teardown(self) -> None:
        """A setup's direct downstream tasks are teardowns or keep all_success (Airflow's rule:
        clearing a task clears its setups, which must not change what ran after them)."""
        for task in self.tasks:
            if not task.is_setup:
                continue
            for down in task.downstream_list:
                if not down.is_teardown and down.trigger_rule != "all_success":
                    raise ValueError(
                        "Setup tasks must be followed with trigger rule ALL_SUCCESS. "
                        f"(task {down.task_id!r} follows setup {task.task_id!r} with "
                        f"{down.trigger_rule!r}: give it all_success, or put a task between)"
                    )

    def _sync_options(self) -> None:
        """Carry options set on operators after they were created into the flow's nodes."""
        for task in self.tasks:
            task._sync_node()

    # ------------------------------------------------------------------ running
    def test(
        self,
        logical_date: Any = None,
        run_conf: dict[str, Any] | None = None,
        execution_date: Any = None,
        **options: Any,
    ):
        """Run the DAG once on dagshift and return the run (a :class:`FlowRun`)."""
        date = logical_date if logical_date is not None else execution_date
        return self.flow.run(run_conf, logical_date=date, **options)

    def run(self, *args: Any, **kwargs: Any):
        raise AirflowException(
            "DAG.run() starts an Airflow backfill; with dagshift use dag.test(logical_date=...) "
            "or `dagshift backfill`"
        )


class SdkDAG(DAG):
    """``airflow.sdk.DAG``: a DAG written for Airflow 3."""

    generation = "3"


def _param_values(params: dict[str, Any]) -> dict[str, Any]:
    from dagshift.compat.params import Param

    return {k: (v.value if isinstance(v, Param) else v) for k, v in params.items()}


class TaskGroup(DependencyMixin):
    """A group of tasks whose ids get the group's id as a prefix (``group.task``).

    ``>>`` from a group starts at its leaves; ``>>`` to a group reaches its roots; a branch
    may return a group id to follow the group's roots.
    """

    def __init__(
        self,
        group_id: str | None,
        prefix_group_id: bool = True,
        parent_group: TaskGroup | None = None,
        dag: DAG | None = None,
        default_args: dict[str, Any] | None = None,
        tooltip: str = "",
        add_suffix_on_collision: bool = False,
        **ui: Any,
    ) -> None:
        self._group_id = group_id
        self.prefix_group_id = prefix_group_id
        self.children: dict[str, Any] = {}
        self.tooltip = tooltip
        if group_id is None:  # the DAG's root group
            self.dag, self.parent_group, self.default_args = dag, None, {}
            return
        self.dag = dag or (parent_group.dag if parent_group else None) or current_dag()
        if self.dag is None:
            raise AirflowException(
                f"TaskGroup {group_id!r} needs a DAG: create it inside `with DAG(...)` or pass dag="
            )
        self.parent_group = parent_group or current_group(self.dag)
        self.default_args = {**self.parent_group.default_args, **(default_args or {})}
        full = self.group_id
        if full in self.dag._group_ids or full in self.dag.task_dict:
            if not add_suffix_on_collision:
                raise DuplicateTaskIdFound(f"group_id '{full}' has already been added to the DAG")
            base = re.split(r"__\d+$", self._group_id)[0]
            n = 1
            while self._full(f"{base}__{n}") in self.dag._group_ids:
                n += 1
            self._group_id = f"{base}__{n}"
            full = self.group_id
        self.dag._group_ids.add(full)
        self.parent_group.children[self._group_id] = self

    def _full(self, label: str) -> str:
        return self.parent_group.child_id(label) if self.parent_group else label

    @property
    def group_id(self) -> str | None:
        if self._group_id is None:
            return None
        return self._full(self._group_id)

    @property
    def label(self) -> str | None:
        return self._group_id

    def child_id(self, label: str) -> str:
        if self.prefix_group_id and self.group_id:
            return f"{self.group_id}.{label}"
        return label

    def __repr__(self) -> str:
        return f"<TaskGroup: {self.group_id}>"

    def __dagshift_code__(self) -> list[Any]:  # in a flow's fingerprint: its id
        return ["group", self.group_id]

    def __enter__(self) -> TaskGroup:
        self.dag._group_stack.append(self)
        return self

    def __exit__(self, *exc: Any) -> None:
        self.dag._group_stack.pop()

    def add(self, task: Any) -> None:
        self.children[task.task_id] = task

    def __iter__(self) -> Iterator[Any]:
        for child in self.children.values():
            if isinstance(child, TaskGroup):
                yield from child
            else:
                yield child

    def get_roots(self) -> list[Any]:
        tasks = list(self)
        ids = {t.task_id for t in tasks}
        return [t for t in tasks if not (set(t.upstream_task_ids) & ids)]

    def get_leaves(self) -> list[Any]:
        """Tasks with nothing downstream in the group; for a teardown, the work before it
        (Airflow's rule: ``group >> task`` starts after the work, not after the teardown)."""
        tasks = list(self)
        ids = {t.task_id for t in tasks}
        found: list[Any] = []
        for task in tasks:
            if not (set(task.downstream_task_ids) & ids):
                if getattr(task, "is_teardown", False):
                    found.extend(_work_before(task, ids))
                else:
                    found.append(task)
        return found

    @property
    def roots(self) -> list[Any]:
        return self.get_roots()

    @property
    def leaves(self) -> list[Any]:
        return self.get_leaves()

    def ancestors(self) -> list[str]:
        out, group = [], self
        while group is not None and group.group_id is not None:
            out.append(group.group_id)
            group = group.parent_group
        return out

    def _ends(self, upstream: bool) -> list[Any]:
        # A group stands for its leaves upstream and its roots downstream.
        return self.get_leaves() if upstream else self.get_roots()


def _work_before(task: Any, ids: set[str]) -> Iterator[Any]:
    """The last non-teardown tasks in the group upstream of teardown ``task`` (Airflow's
    ``recurse_for_first_non_teardown``)."""

    def has_other_work_downstream(upstream: Any) -> bool:
        return any(
            d.task_id != task.task_id and d.task_id in ids and not d.is_teardown
            for d in upstream.downstream_list
        )

    for upstream in task.upstream_list:
        if upstream.task_id not in ids:
            continue
        if upstream.is_teardown:
            yield from _work_before(upstream, ids)
        elif task.is_teardown and upstream.is_setup:
            continue  # not through the setup-to-teardown edge
        elif not has_other_work_downstream(upstream):
            yield upstream


def make_dag_decorator(cls: type[DAG]) -> Callable[..., Any]:
    """``@dag`` (``airflow.decorators`` / ``airflow.sdk``) for the DAG class ``cls``."""

    def dag(dag_id: Any = None, **dag_kwargs: Any):
        def wrap(fn: Callable[..., Any]):
            sig = inspect.signature(fn)
            defaults = {n: p.default for n, p in sig.parameters.items() if p.default is not p.empty}

            @functools.wraps(fn)
            def factory(*args: Any, **kwargs: Any) -> DAG:
                from dagshift.compat.params import DagParam

                bound = sig.bind_partial(*args, **kwargs)
                params = {**defaults, **dict(dag_kwargs.get("params") or {}), **bound.arguments}
                options = dict(dag_kwargs)
                options["params"] = params
                options.setdefault("doc_md", fn.__doc__)
                options.setdefault("fileloc", inspect.getsourcefile(fn))
                with cls(dag_id if isinstance(dag_id, str) else fn.__name__, **options) as dg:
                    call = {n: DagParam(n, dg) for n in sig.parameters if n in params}
                    fn(**call)
                return dg

            return factory

        if callable(dag_id) and not dag_kwargs:  # bare @dag
            fn, dag_id = dag_id, None
            return wrap(fn)
        return wrap

    return dag


dag = make_dag_decorator(DAG)
sdk_dag = make_dag_decorator(SdkDAG)
