"""The Airflow task context, built from a dagshift run, and XCom as direct exchange.

A task of a legacy DAG runs as a runtime task; when it starts, :func:`build_context` makes the
dictionary Airflow would pass to ``execute(context)`` from the run's :class:`RunInfo`: the date
names (``ds``, ``ts``, ``logical_date``, ``data_interval_*`` and, for DAGs written for Airflow
1.10/2.x, ``execution_date`` and its relatives), ``params``, ``dag_run``, ``ti``, ``var``,
``macros``. ``ti.xcom_pull`` reads the results of the same run (``RunInfo.task_runs``: every
task finished so far with the local scheduler, the direct upstream tasks on a cluster) and
``ti.xcom_push`` adds a keyed value to the running task's run. Nothing goes to a database.
"""

from __future__ import annotations

import contextvars
import logging
import os
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from dagshift.compat.variables import VariableAccessor
from dagshift.runtime.context import airflow2_neighbours, current_task
from dagshift.runtime.context import macros as _runtime_macros
from dagshift.runtime.state import SUCCESS

if TYPE_CHECKING:
    from dagshift.runtime.context import RunInfo, _Current

__all__ = ["DagRun", "TaskInstance", "build_context", "generation_of", "get_current_context"]

XCOM_RETURN_KEY = "return_value"
_context: contextvars.ContextVar[dict | None] = contextvars.ContextVar(
    "dagshift_airflow_context", default=None
)
_NOTHING = object()
_HOSTNAME = os.uname().nodename


def generation_of(task: Any) -> str:
    """The Airflow generation ("2" or "3") whose semantics ``task`` follows: its DAG's, or, for
    an operator kept in a converted flow (no DAG), the flow's ``airflow_generation``."""
    dag = getattr(task, "dag", None)
    if dag is not None:
        return getattr(dag, "generation", "3")
    flow = getattr(task, "_flow", None)
    return str(getattr(flow, "meta", {}).get("airflow_generation", "3"))


class _Macros:
    """``airflow.macros``: the runtime's macros plus the modules Airflow exposes."""

    def __getattr__(self, name: str) -> Any:
        if name in ("time", "uuid", "random", "json"):
            return __import__(name)
        from dagshift.compat.plugins import plugin_macros

        if name in (plugins := plugin_macros()):
            return plugins[name]
        if name == "dateutil":
            import dateutil  # croniter's dependency

            return dateutil
        return getattr(_runtime_macros, name)


macros = _Macros()


class _Config:
    """``context["conf"]``: Airflow's configuration, read from ``AIRFLOW__SECTION__KEY``."""

    def get(self, section: str, key: str, fallback: Any = None, **_: Any) -> Any:
        return os.environ.get(f"AIRFLOW__{section.upper()}__{key.upper()}", fallback)

    def getboolean(self, section: str, key: str, fallback: bool = False, **_: Any) -> bool:
        value = self.get(section, key)
        return fallback if value is None else str(value).lower() in ("1", "true", "t", "yes")


class DagRun:
    """The run a task belongs to (``context["dag_run"]``)."""

    def __init__(self, info: RunInfo, dag_id: str, generation: str) -> None:
        self.dag_id = dag_id
        self.run_id = airflow_run_id(info)
        self.dagshift_run_id = info.run_id
        # how the run started ("manual" unless serve/backfill say: dagshift.history sets it)
        self.run_type = info.extra.get("dagshift.run_type", "manual")
        self.logical_date = info.logical_date
        self.data_interval_start = info.data_interval_start
        self.data_interval_end = info.data_interval_end
        if generation != "3":
            self.execution_date = info.logical_date
            if self.run_type == "asset_triggered":  # Airflow 2's DagRunType value
                self.run_type = "dataset_triggered"
        else:
            self.run_after = info.logical_date
            if no_logical_date(info, generation):
                self.logical_date = self.data_interval_start = self.data_interval_end = None
        self.conf = info.conf
        self.external_trigger = self.run_type == "manual"
        self.start_date = info.extra.get("start_date")
        self.state = "running"

    def __repr__(self) -> str:
        return f"<DagRun {self.dag_id} @ {self.logical_date}: {self.run_id}>"

    def get_task_instances(self, state: Any = None) -> list[Any]:
        raise NotImplementedError(
            "dag_run.get_task_instances() reads Airflow's metadata database, which dagshift "
            "does not have; use ti.xcom_pull(task_ids=...) for upstream results"
        )


class TaskInstance:
    """``ti`` / ``task_instance``: identity of the running task, and XCom."""

    def __init__(self, task: Any, current: _Current, dag_id: str, run_id: str) -> None:
        self.task = task
        self.task_id = task.task_id
        self.dag_id = dag_id
        self.run_id = run_id
        self._current = current
        self.map_index = current.map_index
        self.try_number = current.try_number
        self.max_tries = getattr(task, "retries", 0) or 0
        self.hostname = _HOSTNAME
        self._generation = generation_of(task)
        if self._generation != "3":  # Airflow 3's task instance has neither
            self.logical_date = current.run.logical_date
            self.execution_date = current.run.logical_date
        self.state = "running"

    @property
    def log(self) -> logging.Logger:
        return logging.getLogger(f"airflow.task.{self.task_id}")

    def __repr__(self) -> str:
        return f"<TaskInstance: {self.dag_id}.{self.task_id} {self.run_id} [running]>"

    @property
    def key(self) -> tuple[str, str, str, int, int]:
        return (self.dag_id, self.task_id, self.run_id, self.try_number, self.map_index)

    def xcom_push(self, key: str, value: Any, execution_date: Any = None) -> None:
        """Add a keyed value to this task's run, readable by later tasks of the run."""
        pushed = self._current.pushed
        if pushed is None:
            raise RuntimeError("xcom_push is only available while the task runs")
        pushed[key] = value

    def xcom_pull(
        self,
        task_ids: str | Iterable[str] | None = None,
        dag_id: str | None = None,
        key: str = XCOM_RETURN_KEY,
        include_prior_dates: bool = False,
        map_indexes: Any = _NOTHING,
        default: Any = None,
        run_id: str | None = None,
    ) -> Any:
        """Values of this run's tasks, with the semantics of the DAG's Airflow generation.

        Airflow 2: one id gives its value (``default`` when there is none), a list of ids a
        list of the values that exist, in order; no id means any task. Airflow 3: no id means
        this task; without ``map_indexes`` each id contributes its values (None when it has
        none) and ``default`` is not used; one id with one value gives that value.
        """
        if dag_id is not None and dag_id != self.dag_id:
            raise NotImplementedError(
                f"xcom_pull(dag_id={dag_id!r}) reads another DAG's runs from Airflow's "
                "database; dagshift exchanges data only within one run"
            )
        if self._generation == "3":
            return self._pull_3(task_ids, key, map_indexes, default)
        if map_indexes is _NOTHING:
            map_indexes = None
        if task_ids is None:
            return self._pull_any(key, default)
        if isinstance(task_ids, str):
            found = self._pull_one(task_ids, key, map_indexes)
            return default if found is _NOTHING else found
        values = []
        for task_id in task_ids:
            found = self._pull_one(task_id, key, map_indexes)
            if found is not _NOTHING:
                values.append(found)
        return values

    def _pull_3(self, task_ids: Any, key: str, map_indexes: Any, default: Any) -> Any:
        single = isinstance(task_ids, str | None)
        ids = [self.task_id] if task_ids is None else [task_ids] if single else list(task_ids)
        if map_indexes is _NOTHING:
            xcoms: list[Any] = []
            for task_id in ids:
                values = self._values(task_id, key)
                if values is None:
                    xcoms.append(None)
                else:
                    xcoms.extend(values)
            return xcoms[0] if single and len(xcoms) == 1 else xcoms
        single_index = isinstance(map_indexes, int | None)
        indexes = [map_indexes] if single_index else list(map_indexes)
        out = []
        for task_id in ids:
            values = self._values(task_id, key, keep_index=True) or []
            for index in indexes:
                value = values[index] if isinstance(index, int) and index < len(values) else None
                if index is None and len(values) == 1:
                    value = values[0]
                out.append(default if value is None else value)
        return out[0] if single and single_index else out

    def _pull_one(self, task_id: str, key: str, map_indexes: Any) -> Any:  # Airflow 2
        info = self._current.run
        info.extra.setdefault("xcom_pulls", set()).add((task_id, self.task_id))
        task_run = info.task_runs.get(task_id)
        if task_run is None:
            return _NOTHING
        if key == XCOM_RETURN_KEY:
            map_results = (task_run.pushed or {}).get("__map_results__")
            if map_results is not None:
                states = task_run.pushed["__map_states__"]
                values = [r for r, s in zip(map_results, states, strict=True) if s == SUCCESS]
                if map_indexes is None:
                    return values
                if isinstance(map_indexes, int):
                    ok = states[map_indexes] == SUCCESS
                    return map_results[map_indexes] if ok else _NOTHING
                return [map_results[i] for i in map_indexes if states[i] == SUCCESS]
            if task_run.state != SUCCESS or task_run.result is None:
                return _NOTHING
            return task_run.result
        pushed = task_run.pushed or {}
        return pushed.get(key, _NOTHING)

    def _pull_any(self, key: str, default: Any) -> Any:  # Airflow 2: any task of the run
        for task_run in reversed(list(self._current.run.task_runs.values())):
            pushed = task_run.pushed or {}
            if key in pushed:
                return pushed[key]
            if key == XCOM_RETURN_KEY and task_run.state == SUCCESS and task_run.result is not None:
                return task_run.result
        return default

    def _values(self, task_id: str, key: str, keep_index: bool = False) -> list[Any] | None:
        """Every value ``task_id`` has under ``key`` in this run, in map-index order."""
        info = self._current.run
        info.extra.setdefault("xcom_pulls", set()).add((task_id, self.task_id))
        task_run = info.task_runs.get(task_id)
        if task_run is None:
            return None
        pushed = task_run.pushed or {}
        if key == XCOM_RETURN_KEY and "__map_results__" in pushed:
            pairs = zip(pushed["__map_results__"], pushed["__map_states__"], strict=True)
            if keep_index:
                return [r if s == SUCCESS else None for r, s in pairs]
            values = [r for r, s in pairs if s == SUCCESS and r is not None]
            return values or None
        if key == XCOM_RETURN_KEY:
            ok = task_run.state == SUCCESS and task_run.result is not None
            return [task_run.result] if ok else None
        return [pushed[key]] if key in pushed else None

    def get_template_context(self) -> dict[str, Any]:
        return get_current_context()


def airflow_run_id(info: RunInfo) -> str:
    """The run id Airflow code sees: dagshift's history ids are not in Airflow's format, so a
    recorded run shows as the manual run of its logical date, as ``dag.test()`` names it."""
    if info.run_id.startswith(("manual__", "scheduled__", "backfill__", "asset_triggered__")):
        return info.run_id
    return f"manual__{info.logical_date.isoformat()}"


def no_logical_date(info: RunInfo, generation: str) -> bool:
    """Airflow 3 gives an asset-triggered run no logical date (nor data interval); the history
    keeps its date (the newest event's time, Airflow 3's ``run_after``) as the run's key.
    Airflow 2's dataset-triggered runs have that date as their logical date."""
    return generation == "3" and info.extra.get("dagshift.run_type") == "asset_triggered"


# The context entries Airflow 3 sets only when the run has a logical date (task_runner.py).
_DATED = (
    "logical_date",
    "ds",
    "ds_nodash",
    "ts",
    "ts_nodash",
    "ts_nodash_with_tz",
    "data_interval_start",
    "data_interval_end",
    "prev_data_interval_start_success",
    "prev_data_interval_end_success",
)


def _run_context(info: RunInfo, dag: Any, dag_id: str, generation: str) -> dict[str, Any]:
    """The entries every task of one run shares (made once per run and DAG)."""
    key = ("airflow_context", dag_id, generation)
    cached = info.extra.get(key)
    if cached is not None:
        return cached
    run_id = airflow_run_id(info)
    base = info.base_context()
    ld = info.logical_date
    shared: dict[str, Any] = {
        "dag": dag,
        "dag_run": DagRun(info, dag_id, generation),
        "run_id": run_id,
        "logical_date": ld,
        "ds": base["ds"],
        "ds_nodash": base["ds_nodash"],
        "ts": base["ts"],
        "ts_nodash": base["ts_nodash"],
        "ts_nodash_with_tz": base["ts_nodash_with_tz"],
        "data_interval_start": info.data_interval_start,
        "data_interval_end": info.data_interval_end,
        "var": {"value": VariableAccessor(False), "json": VariableAccessor(True)},
        "macros": macros,
        "conf": _Config(),
        "inlets": [],
        "outlets": [],
        "map_index_template": None,
        "test_mode": False,
        "prev_data_interval_start_success": None,
        "prev_data_interval_end_success": None,
        "prev_start_date_success": None,
    }
    if generation != "3":
        # the dates around the run, as Airflow 2.11 derives them (one derivation with the
        # runtime's, which converted flows read)
        shared.update(airflow2_neighbours(info), prev_execution_date_success=None)
    elif no_logical_date(info, generation):
        for name in _DATED:
            del shared[name]
    info.extra[key] = shared
    return shared


def build_context(task: Any, current: _Current) -> dict[str, Any]:
    """The Airflow context of ``task`` running as ``current`` (a runtime task handle)."""
    info = current.run
    dag = getattr(task, "dag", None)
    generation = generation_of(task)
    dag_id = dag.dag_id if dag is not None else info.flow_name
    context = dict(_run_context(info, dag, dag_id, generation))
    ti = TaskInstance(task, current, dag_id, context["run_id"])
    params = dict(getattr(dag, "_param_defaults", {}) or {})
    if dag is None:  # a kept operator of a converted flow: the flow's params under its own
        params.update(info.params)
    params.update(getattr(task, "params", None) or {})
    params.update(info.given if dag is None else info.conf)
    context.update(
        task=task,
        ti=ti,
        task_instance=ti,
        params=params,
        task_instance_key_str=f"{dag_id}__{task.task_id}__"
        + (context["ds_nodash"] if "ds_nodash" in context else context["run_id"]),
    )
    from dagshift.compat.assets import scheduling_context  # outlets, asset events

    context.update(scheduling_context(task, current, generation))
    return context


def set_current_context(context: dict[str, Any] | None) -> contextvars.Token:
    return _context.set(context)


def reset_current_context(token: contextvars.Token) -> None:
    _context.reset(token)


def get_current_context() -> dict[str, Any]:
    """The context of the Airflow task that is running now (``airflow.operators.python``)."""
    context = _context.get()
    if context is None:
        if current_task() is not None:
            raise RuntimeError(
                "get_current_context() works inside a task of an Airflow DAG; in a dagshift "
                "@task use dagshift.get_run_context()"
            )
        raise RuntimeError(
            "Current context was requested but no context was found! "
            "Are you running within an Airflow task?"
        )
    return context


Context = dict  # Airflow's Context is a mapping of the names above


class XCom:
    """``airflow.models.XCom``: reading XComs goes through ``ti.xcom_pull`` in dagshift."""

    @staticmethod
    def get_one(*args: Any, **kwargs: Any) -> Any:
        raise NotImplementedError(
            "XCom.get_one reads Airflow's metadata database, which dagshift does not have: use "
            "ti.xcom_pull(task_ids=...) inside the task"
        )

    get_many = get_value = get_one


class SkipMixin:
    """Operators that skip others: with dagshift, return the branch or condition instead."""

    def skip(self, *args: Any, **kwargs: Any) -> None:
        raise NotImplementedError(
            "SkipMixin.skip writes task states to Airflow's database; derive from "
            "BaseBranchOperator or ShortCircuitOperator so dagshift's executor skips"
        )

    skip_all_except = skip
