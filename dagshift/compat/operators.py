"""The standard operators and sensors, with Airflow's behaviour.

PythonOperator passes context entries to the callable by the names in its signature (all of
them to ``**kwargs``), as Airflow 2 and 3 do; BashOperator runs ``bash -c`` in a temporary
folder with Airflow's ``AIRFLOW_CTX_*`` variables and returns the last line of output; exit code
99 (``skip_on_exit_code``) skips. Branching and short-circuiting are runtime task kinds: the
operator returns the callable's value and the executor skips what Airflow would skip.
"""

from __future__ import annotations

import asyncio
import functools
import inspect
import itertools
import os
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterable
from datetime import datetime, timedelta
from typing import Any

import pendulum

from dagshift.compat.baseoperator import BaseOperator
from dagshift.compat.context import generation_of
from dagshift.compat.exceptions import (
    AirflowException,
    AirflowSensorTimeout,
    AirflowSkipException,
)
from dagshift.runtime.context import call_task_function

__all__ = [
    "BaseBranchOperator",
    "BaseSensorOperator",
    "BashOperator",
    "BashSensor",
    "BranchPythonOperator",
    "DateTimeSensor",
    "DummyOperator",
    "EmptyOperator",
    "FileSensor",
    "PokeReturnValue",
    "PythonOperator",
    "PythonSensor",
    "ShortCircuitOperator",
    "TimeDeltaSensor",
    "TimeDeltaSensorAsync",
    "DateTimeSensorAsync",
    "determine_kwargs",
]


@functools.lru_cache(maxsize=4096)
def _cached_signature(fn: Callable[..., Any]) -> inspect.Signature:
    return inspect.signature(fn)


def _signature(fn: Callable[..., Any]) -> inspect.Signature:
    try:
        return _cached_signature(fn)
    except TypeError:  # an unhashable callable object
        return inspect.signature(fn)


def determine_kwargs(fn: Callable[..., Any], args: Iterable[Any], context: dict) -> dict:
    """The keyword arguments Airflow passes to a Python callable: every context entry to a
    ``**kwargs`` callable, else only the names in its signature."""
    signature = _signature(fn)
    for name in itertools.islice(signature.parameters.keys(), len(list(args))):
        if name in context:
            raise ValueError(
                f"The key {name!r} in args is a part of kwargs and therefore reserved."
            )
    if any(p.kind == p.VAR_KEYWORD for p in signature.parameters.values()):
        return dict(context)
    return {k: context[k] for k in signature.parameters if k in context}


class PythonOperator(BaseOperator):
    """Calls ``python_callable(*op_args, **op_kwargs, **<context entries it asks for>)``."""

    template_fields = ("templates_dict", "op_args", "op_kwargs")
    ui_color = "#ffefeb"

    def __init__(
        self,
        *,
        python_callable: Callable[..., Any],
        op_args: Iterable[Any] | None = None,
        op_kwargs: dict[str, Any] | None = None,
        templates_dict: dict[str, Any] | None = None,
        templates_exts: Iterable[str] | None = None,
        show_return_value_in_logs: bool = True,
        provide_context: bool | None = None,  # Airflow 1.10; the context is always offered
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        if not callable(python_callable):
            raise AirflowException("`python_callable` param must be callable")
        self.python_callable = python_callable
        self.op_args = op_args if op_args is not None else []
        self.op_kwargs = op_kwargs if op_kwargs is not None else {}
        self.templates_dict = templates_dict
        if templates_exts:
            self.template_ext = tuple(templates_exts)
        self.show_return_value_in_logs = show_return_value_in_logs

    def execute(self, context: dict[str, Any]) -> Any:
        context.update(self.op_kwargs)
        context["templates_dict"] = self.templates_dict
        self.op_kwargs = self.determine_kwargs(context)
        return self.execute_callable()

    def determine_kwargs(self, context: dict[str, Any]) -> dict[str, Any]:
        return determine_kwargs(self.python_callable, self.op_args, context)

    def execute_callable(self) -> Any:
        if inspect.iscoroutinefunction(self.python_callable) and generation_of(self) == "3":
            # Airflow 3.2+ awaits an async callable (2.x returns the coroutine unawaited).
            return asyncio.run(self.python_callable(*self.op_args, **self.op_kwargs))
        # as Airflow's callable runner: a generator runs to its end, its Metadata applied
        return call_task_function(self.python_callable, *self.op_args, **self.op_kwargs)


class BranchPythonOperator(PythonOperator):
    """The callable returns the task id(s) (or task group ids) to follow."""

    _dagshift_kind = "branch"


class BaseBranchOperator(BaseOperator):
    """Subclasses implement ``choose_branch(context)`` returning task id(s) to follow."""

    _dagshift_kind = "branch"

    def choose_branch(self, context: dict[str, Any]) -> str | Iterable[str]:
        raise NotImplementedError

    def execute(self, context: dict[str, Any]) -> Any:
        return self.choose_branch(context)


class ShortCircuitOperator(PythonOperator):
    """A falsy result skips the downstream tasks (only the direct ones, which then follow
    their trigger rules' neighbours, when ``ignore_downstream_trigger_rules=False``)."""

    _dagshift_kind = "short_circuit"
    ui_color = "#f0ede4"

    def __init__(self, *, ignore_downstream_trigger_rules: bool = True, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.ignore_downstream_trigger_rules = ignore_downstream_trigger_rules


class EmptyOperator(BaseOperator):
    """Does nothing; useful to group dependencies."""

    ui_color = "#e8f7e4"

    def execute(self, context: dict[str, Any]) -> None:
        return None


class DummyOperator(EmptyOperator):
    """Airflow 1.10/2.x name of :class:`EmptyOperator`."""


class BashOperator(BaseOperator):
    """Runs ``bash_command``; the last line of its output is the result."""

    template_fields = ("bash_command", "env", "cwd")
    template_ext = (".sh", ".bash")
    ui_color = "#f0ede4"

    def __init__(
        self,
        *,
        bash_command: str,
        env: dict[str, str] | None = None,
        append_env: bool = False,
        output_encoding: str = "utf-8",
        skip_exit_code: int | None = None,
        skip_on_exit_code: int | Iterable[int] | None = 99,
        cwd: str | None = None,
        output_processor: Callable[[str], Any] = lambda result: result,
        xcom_push: bool | None = None,  # Airflow 1.10
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.bash_command = bash_command
        self.env = env
        self.append_env = append_env
        self.output_encoding = output_encoding
        if skip_exit_code is not None:
            skip_on_exit_code = skip_exit_code
        if skip_on_exit_code is None:
            self.skip_on_exit_code: list[int] = []
        elif isinstance(skip_on_exit_code, int):
            self.skip_on_exit_code = [skip_on_exit_code]
        else:
            self.skip_on_exit_code = list(skip_on_exit_code)
        self.cwd = cwd
        self.output_processor = output_processor

    def get_env(self, context: dict[str, Any]) -> dict[str, str]:
        system = dict(os.environ)
        if self.env is None:
            env = system
        elif self.append_env:
            env = {**system, **self.env}
        else:
            env = dict(self.env)
        env.update(airflow_context_vars(context))
        return env

    def execute(self, context: dict[str, Any]) -> Any:
        if self.cwd is not None and not os.path.isdir(self.cwd):
            raise AirflowException(f"Can not find the cwd: {self.cwd}")
        from dagshift.runtime.cancel import run_process  # terminated if the run is cancelled

        with tempfile.TemporaryDirectory(prefix="airflowtmp") as tmp:
            proc = run_process(
                ["bash", "-c", self.bash_command],
                cwd=self.cwd or tmp,
                env=self.get_env(context),
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
            )
        out = proc.stdout.decode(self.output_encoding, errors="backslashreplace")
        if out:
            print(out, end="" if out.endswith("\n") else "\n")
        if proc.returncode in self.skip_on_exit_code:
            raise AirflowSkipException(
                f"Bash command returned exit code {proc.returncode}. Skipping."
            )
        if proc.returncode != 0:
            raise AirflowException(
                f"Bash command failed. The command returned a non-zero exit code "
                f"{proc.returncode}."
            )
        lines = out.splitlines()
        return self.output_processor(lines[-1].rstrip() if lines else "")


def airflow_context_vars(context: dict[str, Any]) -> dict[str, str]:
    """Airflow's ``AIRFLOW_CTX_*`` environment variables for a task's subprocesses."""
    ti = context["ti"]
    logical_date = context.get("logical_date")  # Airflow 3: none in an asset-triggered run
    date = logical_date.isoformat() if logical_date is not None else None
    env = {
        "AIRFLOW_CTX_DAG_ID": ti.dag_id,
        "AIRFLOW_CTX_TASK_ID": ti.task_id,
        "AIRFLOW_CTX_TRY_NUMBER": str(ti.try_number),
        "AIRFLOW_CTX_DAG_RUN_ID": str(context["run_id"]),
        "AIRFLOW_CTX_DAG_OWNER": str(getattr(context["task"], "owner", "airflow")),
    }
    if generation_of(context["task"]) == "3":
        if date is not None:  # Airflow 3 leaves out an unset value
            env["AIRFLOW_CTX_LOGICAL_DATE"] = date
    else:
        env["AIRFLOW_CTX_EXECUTION_DATE"] = date
    return env


# ------------------------------------------------------------------------ sensors
class PokeReturnValue:
    """What a poke may return: done or not, and the value to push when done."""

    def __init__(self, is_done: bool, xcom_value: Any = None) -> None:
        self.is_done = is_done
        self.xcom_value = xcom_value

    def __bool__(self) -> bool:
        return self.is_done


def _seconds(value: Any) -> float:
    return value.total_seconds() if isinstance(value, timedelta) else float(value)


class BaseSensorOperator(BaseOperator):
    """Calls ``poke(context)`` every ``poke_interval`` seconds until it is true or
    ``timeout`` passes (then fails without retries, or skips with ``soft_fail``).
    ``mode="reschedule"`` waits the same way: dagshift has no worker slots to give back."""

    ui_color = "#e6f1f2"

    def __init__(
        self,
        *,
        poke_interval: float | timedelta = 60,
        timeout: float | timedelta = 60 * 60 * 24 * 7,
        soft_fail: bool = False,
        mode: str = "poke",
        exponential_backoff: bool = False,
        max_wait: float | timedelta | None = None,
        silent_fail: bool = False,
        never_fail: bool = False,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.poke_interval = _seconds(poke_interval)
        self.timeout = _seconds(timeout)
        self.soft_fail = soft_fail
        self.mode = mode
        self.exponential_backoff = exponential_backoff
        self.max_wait = _seconds(max_wait) if max_wait is not None else None
        self.silent_fail = silent_fail
        self.never_fail = never_fail

    def poke(self, context: dict[str, Any]) -> bool | PokeReturnValue:
        raise NotImplementedError(f"{type(self).__name__} must implement poke(context)")

    def execute(self, context: dict[str, Any]) -> Any:
        started = time.monotonic()
        pokes = 0
        while True:
            pokes += 1
            outcome = self.poke(context)
            if isinstance(outcome, PokeReturnValue):
                if outcome.is_done:
                    return outcome.xcom_value
            elif outcome:
                return None
            waited = time.monotonic() - started
            if waited > self.timeout:
                message = (
                    f"Sensor has timed out; run duration of {waited} seconds exceeds the "
                    f"specified timeout of {self.timeout}."
                )
                if self.soft_fail or self.never_fail:
                    raise AirflowSkipException(message)
                raise AirflowSensorTimeout(message)
            interval = self.poke_interval
            if self.exponential_backoff:
                interval = min(interval * 2 ** (pokes - 1), self.max_wait or float("inf"))
            time.sleep(max(0.0, min(interval, self.timeout - waited + 0.001)))


class PythonSensor(BaseSensorOperator):
    """Pokes with ``python_callable`` (a bool or a :class:`PokeReturnValue`)."""

    template_fields = ("templates_dict", "op_args", "op_kwargs")

    def __init__(
        self,
        *,
        python_callable: Callable[..., Any],
        op_args: list[Any] | None = None,
        op_kwargs: dict[str, Any] | None = None,
        templates_dict: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.python_callable = python_callable
        self.op_args = op_args or []
        self.op_kwargs = op_kwargs or {}
        self.templates_dict = templates_dict

    def poke(self, context: dict[str, Any]) -> bool | PokeReturnValue:
        context = {**context, **self.op_kwargs, "templates_dict": self.templates_dict}
        kwargs = determine_kwargs(self.python_callable, self.op_args, context)
        outcome = self.python_callable(*self.op_args, **kwargs)
        return outcome if isinstance(outcome, PokeReturnValue) else bool(outcome)


class BashSensor(BaseSensorOperator):
    """True when ``bash_command`` exits with 0."""

    template_fields = ("bash_command", "env")

    def __init__(self, *, bash_command: str, env: dict | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.bash_command = bash_command
        self.env = env

    def poke(self, context: dict[str, Any]) -> bool:
        from dagshift.runtime.cancel import run_process  # terminated if the run is cancelled

        with tempfile.TemporaryDirectory(prefix="airflowtmp") as tmp:
            proc = run_process(["bash", "-c", self.bash_command], cwd=tmp, env=self.env)
        return proc.returncode == 0


class FileSensor(BaseSensorOperator):
    """True when ``filepath`` (a glob, under the ``fs_conn_id`` connection's ``path``; the
    connection must exist) matches a file, or a folder holding files at any depth.
    ``deferrable=True`` waits the same way."""

    template_fields = ("filepath",)

    def __init__(
        self,
        *,
        filepath: str,
        fs_conn_id: str = "fs_default",
        recursive: bool = False,
        deferrable: bool = False,
        start_from_trigger: bool = False,
        trigger_kwargs: dict[str, Any] | None = None,
        **kw: Any,
    ) -> None:
        super().__init__(**kw)
        self.filepath = filepath
        self.fs_conn_id = fs_conn_id
        self.recursive = recursive
        self.deferrable = deferrable
        self.start_from_trigger = start_from_trigger

    @property
    def path(self) -> str:
        from dagshift.compat.connections import get_connection

        # Like Airflow's FSHook: the connection must exist (neither `airflow db migrate` of 2.x
        # nor of 3.x creates fs_default).
        base = get_connection(self.fs_conn_id).extra_dejson.get("path", "")
        return os.path.join(base, self.filepath)

    def poke(self, context: dict[str, Any]) -> bool:
        import glob

        for path in glob.glob(self.path, recursive=self.recursive):
            if os.path.isfile(path):
                return True
            for _, _, files in os.walk(path):
                if files:
                    return True
        return False


class TimeDeltaSensor(BaseSensorOperator):
    """True once the run's data interval end (else its ``run_after``) plus ``delta`` (a
    timedelta, or minutes) has passed. Deferrable, it returns True when that moment has
    already passed, as Airflow's does before it would defer."""

    def __init__(
        self,
        *,
        delta: timedelta | int,
        deferrable: bool = False,
        end_from_trigger: bool = False,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.delta = delta
        self.deferrable = deferrable
        self.end_from_trigger = end_from_trigger

    def _target(self, context: dict[str, Any]) -> datetime:
        delta = self.delta if isinstance(self.delta, timedelta) else timedelta(minutes=self.delta)
        base = context.get("data_interval_end") or context["dag_run"].run_after
        return base + delta

    def poke(self, context: dict[str, Any]) -> bool:
        return pendulum.now("UTC") > self._target(context)

    def execute(self, context: dict[str, Any]) -> Any:
        if self.deferrable and pendulum.now("UTC") > self._target(context):
            return True
        super().execute(context)
        return None


class TimeDeltaSensorAsync(TimeDeltaSensor):
    """Airflow's deprecated name of ``TimeDeltaSensor(deferrable=True)``."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("deferrable", True)
        super().__init__(**kwargs)


class DateTimeSensor(BaseSensorOperator):
    """True once ``target_time`` (templated) has passed."""

    template_fields = ("target_time",)

    def __init__(self, *, target_time: str | datetime, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.target_time = target_time if isinstance(target_time, str) else target_time.isoformat()

    def poke(self, context: dict[str, Any]) -> bool:
        return pendulum.now("UTC") > pendulum.parse(self.target_time)


class DateTimeSensorAsync(DateTimeSensor):
    """``DateTimeSensor`` that Airflow defers: here it waits in the task."""

    def __init__(
        self,
        *,
        start_from_trigger: bool = False,
        end_from_trigger: bool = False,
        trigger_kwargs: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.start_from_trigger = start_from_trigger
        self.end_from_trigger = end_from_trigger
