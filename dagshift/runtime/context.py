"""The context a running task sees: logical date, parameters, templating and shell helpers.

A run has one :class:`RunInfo` (its logical date, data interval, parameters, and the task runs
finished so far). While a task body runs, a context variable points at that run and at the
task, so ``get_run_context()`` can hand the body Airflow's familiar names (``ds``, ``ts``,
``logical_date``, ``params`` ...) without the executor building a dictionary for every task:
the dictionary is built only when a task asks for it.

Airflow 1.10/2.x also named a run's neighbours (``next_ds``, ``prev_execution_date``,
``yesterday_ds`` ...; gone in Airflow 3). They are here with the values Airflow 2.11 gives a run
started on demand (``dag.test()``), derived from the run's data interval as it derives them: a
scheduled flow's "previous" interval ends at the next logical date and starts at (or, for a date
off the schedule, ends at) the previous one; a flow without a schedule has neither (None).
"""

from __future__ import annotations

import contextvars
import inspect
import json
import logging
import os
import random
import subprocess
import tempfile
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import dateutil
import pendulum

from dagshift.runtime.assets import (
    OUTLET_EVENTS_KEY,
    TRIGGERING_EVENTS_KEY,
    OutletEventAccessors,
    TriggeringAssetEvents,
    asset_context,
)
from dagshift.runtime.variables import VariableAccessor

__all__ = [
    "FailTask",
    "RunInfo",
    "SkipTask",
    "AIRFLOW_CONTEXT_KEYS",
    "AIRFLOW_ONLY_KEYS",
    "airflow_context",
    "call_task_function",
    "get_run_context",
    "macros",
    "outlet_events",
    "render",
    "shell",
    "triggering_asset_events",
]


class SkipTask(Exception):
    """Raise inside a task to mark it skipped (Airflow's AirflowSkipException)."""


class FailTask(Exception):
    """Raise inside a task to fail it at once, without retries (Airflow's AirflowFailException)."""


def to_datetime(value: Any) -> pendulum.DateTime:
    """A pendulum DateTime (UTC when no zone is given) from a string, date or datetime."""
    if value is None:
        return pendulum.now("UTC")
    if isinstance(value, pendulum.DateTime):
        return value
    if isinstance(value, datetime):
        return pendulum.instance(value, tz="UTC")
    if isinstance(value, str):
        parsed = pendulum.parse(value, tz="UTC")
        if not isinstance(parsed, pendulum.DateTime):
            parsed = pendulum.datetime(parsed.year, parsed.month, parsed.day, tz="UTC")
        return parsed
    if hasattr(value, "year") and hasattr(value, "month") and hasattr(value, "day"):
        return pendulum.datetime(value.year, value.month, value.day, tz="UTC")
    raise TypeError(f"cannot use {value!r} as a date; give an ISO 8601 string or a datetime")


@dataclass
class RunInfo:
    """One run of a flow: what every task in it can see."""

    flow_name: str
    logical_date: pendulum.DateTime
    data_interval_start: pendulum.DateTime
    data_interval_end: pendulum.DateTime
    params: dict[str, Any]
    run_id: str
    conf: dict[str, Any] = field(default_factory=dict)
    task_runs: dict[str, Any] = field(default_factory=dict)
    extra: dict[str, Any] = field(default_factory=dict)
    # The parameters given to the run: over a task's own params, as dag_run.conf in Airflow
    given: dict[str, Any] = field(default_factory=dict)

    def base_context(self) -> dict[str, Any]:
        """Airflow's date and run names, computed from the logical date."""
        ld = self.logical_date
        return {
            "flow_name": self.flow_name,
            "dag_id": self.flow_name,
            "logical_date": ld,
            "ds": ld.strftime("%Y-%m-%d"),
            "ds_nodash": ld.strftime("%Y%m%d"),
            "ts": ld.isoformat(),
            "ts_nodash": ld.strftime("%Y%m%dT%H%M%S"),
            "ts_nodash_with_tz": ld.isoformat().replace("-", "").replace(":", ""),
            "data_interval_start": self.data_interval_start,
            "data_interval_end": self.data_interval_end,
            "params": self.params,
            "run_id": self.run_id,
            "conf": self.conf,
        }


@dataclass
class _Current:
    run: RunInfo
    task_id: str
    try_number: int
    map_index: int = -1
    pushed: dict[str, Any] | None = None
    params: Mapping[str, Any] | None = None  # the task's own params (its ``params`` option)
    inlets: list[Any] | None = None  # the task's inlets (its ``inlets`` option): inlet_events


_log = logging.getLogger("dagshift")
_current: contextvars.ContextVar[_Current | None] = contextvars.ContextVar(
    "dagshift_current_task", default=None
)


def get_run_context() -> dict[str, Any]:
    """Airflow-style context of the task that is running now.

    Keys: ``ds, ds_nodash, ts, ts_nodash, logical_date, data_interval_start,
    data_interval_end, params, run_id, conf, task_id, try_number, map_index, flow_name``,
    ``macros``, ``var`` (``var["value"].KEY``, ``var["json"].KEY``: Variables), ``dag_run``
    (conf, run_id, logical_date, data interval), ``ti`` / ``task_instance`` (task_id, dag_id,
    map_index), ``task`` (task_id), ``dag`` (dag_id), Airflow 2's ``task_instance_key_str``,
    ``execution_date`` (the logical date) and date neighbours (``next_ds``, ``prev_ds``,
    ``next_execution_date``, ``prev_execution_date``, ``yesterday_ds``, ``tomorrow_ds`` and
    their ``_nodash`` forms), ``outlet_events``, ``inlet_events`` and
    ``triggering_asset_events`` (Airflow 2's ``triggering_dataset_events``: the same), plus
    ``task_runs`` (the runs of tasks finished so far in this run).

    Raises:
        RuntimeError: when called outside a running task.
    """
    current = _current.get()
    if current is None:
        raise RuntimeError(
            "get_run_context() is only available while a task runs: call it inside a @task "
            "function that runs in a flow (flow.run() or `dagshift run`)"
        )
    ctx = current.run.base_context()
    if current.params:  # Airflow: the DAG's params, the task's over them, the run's conf last
        ctx["params"] = {**ctx["params"], **current.params, **current.run.given}
    ctx.update(
        task_id=current.task_id,
        try_number=current.try_number,
        map_index=current.map_index,
        task_runs=current.run.task_runs,
        run=current.run,
        macros=macros,
        var={"value": VariableAccessor(False), "json": VariableAccessor(True)},
        dag_run=DagRunView(current.run),
        # what an Airflow callback or callable reads of these objects most (the converter
        # lets through only these attributes)
        ti=_View(task_id=current.task_id, dag_id=ctx["dag_id"], map_index=current.map_index),
        task=_View(task_id=current.task_id),
        dag=_View(dag_id=ctx["dag_id"]),
        task_instance_key_str=f"{ctx['dag_id']}__{current.task_id}__{ctx['ds_nodash']}",
    )
    ctx["task_instance"] = ctx["ti"]
    ctx.update(airflow2_neighbours(current.run))
    ctx.update(asset_context(current))
    return ctx


# The keys of the context a callable's ``**kwargs`` gets in Airflow 2.11 and 3.3 (a
# PythonOperator's or a @task's, with ``templates_dict``), as real Airflow gives them.
AIRFLOW_CONTEXT_KEYS = {
    "2": frozenset(
        "conf conn dag dag_run data_interval_end data_interval_start ds ds_nodash execution_date "
        "expanded_ti_count inlet_events inlets logical_date macros map_index_template next_ds "
        "next_ds_nodash next_execution_date outlet_events outlets params "
        "prev_data_interval_end_success prev_data_interval_start_success prev_ds prev_ds_nodash "
        "prev_end_date_success prev_execution_date prev_execution_date_success "
        "prev_start_date_success run_id task task_instance task_instance_key_str templates_dict "
        "test_mode ti tomorrow_ds tomorrow_ds_nodash triggering_dataset_events ts ts_nodash "
        "ts_nodash_with_tz var yesterday_ds yesterday_ds_nodash".split()
    ),
    "3": frozenset(
        "conn dag dag_run data_interval_end data_interval_start ds ds_nodash inlet_events inlets "
        "logical_date macros map_index_template outlet_events outlets params partition_date "
        "partition_key prev_data_interval_end_success prev_data_interval_start_success "
        "prev_end_date_success prev_start_date_success run_id task task_instance "
        "task_instance_key_str task_reschedule_count task_state_store templates_dict ti "
        "triggering_asset_events ts ts_nodash ts_nodash_with_tz var".split()
    ),
}
# Of those, the keys dagshift has no equal value for, left out of airflow_context(): Airflow's
# configuration (``conf``; dagshift's run context ``conf`` is the run's), connections, the
# previous successful run's dates, the task's inlets/outlets lists, its map index template, the
# mapped-task count and Airflow 3.3's task state store.
AIRFLOW_ONLY_KEYS = {
    "2": frozenset(
        "conf conn expanded_ti_count inlets outlets map_index_template "
        "prev_data_interval_start_success prev_data_interval_end_success prev_start_date_success "
        "prev_end_date_success prev_execution_date_success".split()
    ),
    "3": frozenset(
        "conn inlets outlets map_index_template prev_data_interval_start_success "
        "prev_data_interval_end_success prev_start_date_success prev_end_date_success "
        "task_state_store".split()
    ),
}
# Values every run of a converted task has in Airflow: no templates_dict given (a given one is
# the callable's argument), not `airflow tasks test`, never rescheduled, no partition.
_CONSTANT = {
    "2": {"templates_dict": None, "test_mode": False},
    "3": {
        "templates_dict": None,
        "task_reschedule_count": 0,
        "partition_key": None,
        "partition_date": None,
    },
}


def airflow_context(generation: str, without: tuple[str, ...] = ()) -> dict[str, Any]:
    """The running task's context as Airflow ``generation`` ("2": 2.11, also for 1.10 files;
    "3") hands it to a callable's ``**kwargs``: Airflow's keys less ``AIRFLOW_ONLY_KEYS`` and
    ``without`` (the callable's named parameters, which Python binds apart).

    Example:
        ``airflow_context("3", without=("ds",))["task_instance_key_str"]`` in task ``t`` of
        flow ``f`` at 2024-01-15 gives ``"f__t__20240115"``.
    """
    ctx = {**get_run_context(), **_CONSTANT[generation]}
    keys = AIRFLOW_CONTEXT_KEYS[generation] - AIRFLOW_ONLY_KEYS[generation] - set(without)
    return {key: ctx[key] for key in sorted(keys)}


class _View:
    """A read-only object with a few named attributes (``ti.task_id``, ``dag.dag_id``)."""

    def __init__(self, **values: Any) -> None:
        self.__dict__.update(values)

    def __repr__(self) -> str:
        return f"<{', '.join(f'{k}={v!r}' for k, v in self.__dict__.items())}>"


class DagRunView:
    """``dag_run`` in a template or callable: the run's conf, id and dates (read only)."""

    def __init__(self, run: RunInfo) -> None:
        self.dag_id = run.flow_name
        self.run_id = run.run_id
        self.conf = run.conf
        self.logical_date = run.logical_date
        self.data_interval_start = run.data_interval_start
        self.data_interval_end = run.data_interval_end

    def __repr__(self) -> str:
        return f"<DagRun {self.dag_id} @ {self.logical_date}: {self.run_id}>"


def airflow2_neighbours(run: RunInfo) -> dict[str, Any]:
    """Airflow 2's names for the dates around a run (see the module docstring)."""
    ld, start, end = run.logical_date, run.data_interval_start, run.data_interval_end
    scheduled = start != end  # the "point" interval of a flow without a schedule
    following = end if scheduled else None
    # a date on the schedule ends its interval; one off it falls after the interval's end
    previous = (start if end == ld else end) if scheduled else None
    yesterday, tomorrow = ld - timedelta(days=1), ld + timedelta(days=1)
    out: dict[str, Any] = {
        "execution_date": ld,
        "next_execution_date": following,
        "prev_execution_date": previous,
        "yesterday_ds": yesterday.strftime("%Y-%m-%d"),
        "yesterday_ds_nodash": yesterday.strftime("%Y%m%d"),
        "tomorrow_ds": tomorrow.strftime("%Y-%m-%d"),
        "tomorrow_ds_nodash": tomorrow.strftime("%Y%m%d"),
    }
    for name, value in (("next", following), ("prev", previous)):
        out[f"{name}_ds"] = value.strftime("%Y-%m-%d") if value is not None else None
        out[f"{name}_ds_nodash"] = value.strftime("%Y%m%d") if value is not None else None
    return out


def current_task() -> _Current | None:
    """The running task's handle (run, id, try), or None outside a task."""
    return _current.get()


def push(key: str, value: Any) -> None:
    """Publish a keyed value besides the task's result (Airflow's ``xcom_push``)."""
    current = _current.get()
    if current is None or current.pushed is None:
        raise RuntimeError("push() is only available while a task runs")
    current.pushed[key] = value


class _Macros:
    """Airflow's ``macros`` namespace for templates."""

    datetime = datetime
    timedelta = timedelta
    json = json
    pendulum = pendulum
    time = time
    uuid = uuid
    random = random
    dateutil = dateutil

    @staticmethod
    def ds_add(ds: str, days: int) -> str:
        if not days:
            return str(ds)
        return (datetime.strptime(str(ds), "%Y-%m-%d") + timedelta(days=days)).strftime("%Y-%m-%d")

    @staticmethod
    def ds_format(ds: str, input_format: str, output_format: str) -> str:
        return datetime.strptime(str(ds), input_format).strftime(output_format)

    @staticmethod
    def datetime_diff_for_humans(dt: Any, since: Any = None) -> str:
        return pendulum.instance(dt).diff_for_humans(pendulum.instance(since) if since else None)


macros = _Macros()


def _jinja_env(native: bool = False):
    import jinja2
    import jinja2.nativetypes

    cls = jinja2.nativetypes.NativeEnvironment if native else jinja2.Environment
    env = cls(undefined=jinja2.StrictUndefined, keep_trailing_newline=True)
    env.filters.update(FILTERS)
    return env


def _formatted(fmt: str) -> Any:
    return lambda value: None if value is None else value.strftime(fmt)


def _iso(value: Any) -> str | None:
    return None if value is None else value.isoformat()


def _iso_nodash(value: Any) -> str | None:
    return None if value is None else value.isoformat().replace("-", "").replace(":", "")


# Airflow's template filters (the same five in 2.x and 3.x; ds_add is a macro, not a filter)
FILTERS = {
    "ds": _formatted("%Y-%m-%d"),
    "ds_nodash": _formatted("%Y%m%d"),
    "ts": _iso,
    "ts_nodash": _formatted("%Y%m%dT%H%M%S"),
    "ts_nodash_with_tz": _iso_nodash,
}


def render(template: str, *, native: bool = False, **extra: Any) -> Any:
    """Render a Jinja2 template with the running task's context, ``macros`` and ``extra``.

    Example:
        ``render("echo {{ ds }} {{ params.limit }}")`` inside a task of a run whose logical
        date is 2024-01-15 gives ``"echo 2024-01-15 10"``.
    """
    current = _current.get()
    ctx: dict[str, Any] = get_run_context() if current is not None else {}
    ctx.setdefault("macros", macros)
    ctx.update(extra)
    return _jinja_env(native).from_string(template).render(**ctx)


def shell(
    command: str,
    env: Mapping[str, str] | None = None,
    cwd: str | None = None,
    append_env: bool = False,
    skip_on_exit_code: int | None = 99,
) -> str:
    """Run ``command`` with bash, as Airflow's BashOperator does.

    Output goes to this process's stdout; the last line of stdout is returned (BashOperator's
    XCom). Exit code 99 skips the task; any other non-zero exit code fails it.
    """
    full_env = dict(os.environ) if env is None or append_env else {}
    if env:
        full_env.update(env)
    from dagshift.runtime.cancel import run_process  # terminated if the run is cancelled

    with tempfile.TemporaryDirectory(prefix="dagshift-") as tmp:
        proc = run_process(
            ["bash", "-c", command],
            cwd=cwd or tmp,
            env=full_env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
    out = proc.stdout
    if out:
        print(out, end="" if out.endswith("\n") else "\n")
    if skip_on_exit_code is not None and proc.returncode == skip_on_exit_code:
        raise SkipTask(f"Bash command returned exit code {skip_on_exit_code}. Skipping.")
    if proc.returncode != 0:
        raise RuntimeError(
            f"Bash command failed. The command returned a non-zero exit code {proc.returncode}."
        )
    lines = out.splitlines()
    return lines[-1].rstrip() if lines else ""


def outlet_events() -> OutletEventAccessors:
    """The running task's ``outlet_events`` (set extras, add events through aliases).

    Raises:
        RuntimeError: outside a running task.
    """
    current = current_task()
    if current is None or current.pushed is None:
        raise RuntimeError("outlet_events() is only available while a task runs")
    return current.pushed.setdefault(OUTLET_EVENTS_KEY, OutletEventAccessors())


def triggering_asset_events() -> TriggeringAssetEvents:
    """The events that started the running task's run (empty for other runs)."""
    current = current_task()
    if current is None:
        raise RuntimeError("triggering_asset_events() is only available while a task runs")
    return TriggeringAssetEvents(current.run.extra.get(TRIGGERING_EVENTS_KEY, ()))


def call_task_function(fn: Any, *args: Any, **kwargs: Any) -> Any:
    """``fn(*args, **kwargs)``, as Airflow's callable runner calls a task's function: a
    generator function is run to its end, each :class:`~dagshift.runtime.assets.Metadata` it
    yields applied to the task's ``outlet_events``, anything else ignored with a warning; the
    result is the generator's return value."""
    if not inspect.isgeneratorfunction(fn):
        return fn(*args, **kwargs)
    from dagshift.runtime.assets import Metadata

    events = outlet_events()
    result: Any = None

    def _run() -> Any:
        nonlocal result
        result = yield from fn(*args, **kwargs)

    for value in _run():
        if isinstance(value, Metadata):
            events.apply(value)
        else:
            _log.warning("Ignoring unknown data of %r received from task", type(value))
    return result
