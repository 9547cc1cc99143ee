"""TaskFlow: ``@task``, ``@task.branch``, ``@task.short_circuit``, ``@task.bash``,
``@task.sensor`` and ``@task_group``, as in ``airflow.decorators`` / ``airflow.sdk``.

Calling a decorated function inside a DAG creates a Python operator whose ``op_args`` /
``op_kwargs`` are the call's arguments and returns an :class:`XComArg` of it; passing that to
another call makes a data edge, exactly as in Airflow. Task ids are the function's name, made
unique with ``__1``, ``__2`` ... as Airflow does.
"""

from __future__ import annotations

import copy
import functools
import inspect
import re
import typing
from collections.abc import Callable, Mapping
from typing import Any

from dagshift.compat.baseoperator import XComArg, _mapped_operator, _Resolved
from dagshift.compat.dag import TaskGroup, current_dag, current_group
from dagshift.compat.exceptions import AirflowException
from dagshift.compat.operators import (
    BaseSensorOperator,
    BashOperator,
    PokeReturnValue,
    PythonOperator,
    determine_kwargs,
)
from dagshift.compat.venv import ExternalPythonOperator, PythonVirtualenvOperator
from dagshift.compat.xcom_args import MappedArgument

__all__ = ["setup", "task", "task_group", "teardown"]


class _DecoratedPythonOperator(PythonOperator):
    _is_decorated = True

    def __init__(self, *, python_callable, op_args=(), op_kwargs=None, **kwargs: Any) -> None:
        super().__init__(
            python_callable=python_callable,
            op_args=list(op_args),
            op_kwargs=dict(op_kwargs or {}),
            **kwargs,
        )

    def _unmap(self, element: dict[str, Any]) -> Any:
        literal = self._mapped or {}
        op = copy.copy(self)
        values = {k: (v if literal.get(k, False) else _Resolved(v)) for k, v in element.items()}
        op.op_kwargs = {**self.op_kwargs, **values}
        return op


class _DecoratedBranchOperator(_DecoratedPythonOperator):
    _dagshift_kind = "branch"


class _DecoratedShortCircuitOperator(_DecoratedPythonOperator):
    _dagshift_kind = "short_circuit"

    def __init__(self, *, ignore_downstream_trigger_rules: bool = True, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.ignore_downstream_trigger_rules = ignore_downstream_trigger_rules


class _DecoratedBashOperator(_DecoratedPythonOperator, BashOperator):
    """``@task.bash``: the function returns the command to run."""

    template_fields = ("op_args", "op_kwargs", "env", "cwd")

    def __init__(self, *, python_callable, op_args=(), op_kwargs=None, **kwargs: Any) -> None:
        BashOperator.__init__(self, bash_command="", **kwargs)
        self.python_callable = python_callable
        self.op_args = list(op_args)
        self.op_kwargs = dict(op_kwargs or {})
        self.templates_dict = None

    def execute(self, context: dict[str, Any]) -> Any:
        kwargs = determine_kwargs(self.python_callable, self.op_args, {**context, **self.op_kwargs})
        command = self.python_callable(*self.op_args, **kwargs)
        if not isinstance(command, str) or not command.strip():
            raise TypeError(
                "The returned value from the TaskFlow callable must be a non-empty string."
            )
        self.bash_command = self.render_template(command, context)
        return BashOperator.execute(self, context)


class _DecoratedSensorOperator(BaseSensorOperator):
    """``@task.sensor``: the function is the poke."""

    template_fields = ("op_args", "op_kwargs")
    _is_decorated = True

    def __init__(self, *, python_callable, op_args=(), op_kwargs=None, **kwargs: Any) -> None:
        kwargs.pop("multiple_outputs", None)
        super().__init__(**kwargs)
        self.python_callable = python_callable
        self.op_args = list(op_args)
        self.op_kwargs = dict(op_kwargs or {})

    def poke(self, context: dict[str, Any]) -> Any:
        kwargs = determine_kwargs(self.python_callable, self.op_args, {**context, **self.op_kwargs})
        outcome = self.python_callable(*self.op_args, **kwargs)
        return outcome if isinstance(outcome, PokeReturnValue) else bool(outcome)

    _unmap = _DecoratedPythonOperator._unmap


class _DecoratedVirtualenvOperator(_DecoratedPythonOperator, PythonVirtualenvOperator):
    """``@task.virtualenv``: the function's source, its decorators removed, runs in a venv."""

    custom_operator_name = "@task.virtualenv"
    template_fields = PythonVirtualenvOperator.template_fields

    def get_python_source(self) -> str:
        from dagshift.compat.venv_script import decorated_source

        return decorated_source(self.python_callable, self.custom_operator_name)


class _DecoratedExternalPythonOperator(_DecoratedPythonOperator, ExternalPythonOperator):
    """``@task.external_python``: the function's source runs with another interpreter."""

    custom_operator_name = "@task.external_python"
    template_fields = ExternalPythonOperator.template_fields
    get_python_source = _DecoratedVirtualenvOperator.get_python_source


def _infer_multiple_outputs(fn: Callable[..., Any]) -> bool:
    try:
        hints = typing.get_type_hints(fn)
    except Exception:  # unresolvable annotations: Airflow also falls back to False
        return False
    ret = hints.get("return")
    if ret is None:
        return False
    origin = typing.get_origin(ret) or ret
    return isinstance(origin, type) and issubclass(origin, Mapping)


def unique_task_id(task_id: str) -> str:
    """``task_id``, or ``task_id__N`` when the DAG (in the current group) already has it."""
    dag = current_dag()
    if dag is None:
        return task_id
    group = current_group(dag)
    full = group.child_id(task_id) if group is not None else task_id
    if full not in dag.task_dict:
        return task_id
    prefix = re.split(r"__\d+$", full)[0]
    suffixes = [0]
    for existing in dag.task_dict:
        match = re.match(rf"^{re.escape(prefix)}__(\d+)$", existing)
        if match:
            suffixes.append(int(match.group(1)))
    core = re.split(r"__\d+$", task_id)[0]
    return f"{core}__{max(suffixes) + 1}"


class _TaskDecorator:
    """A decorated function: calling it inside a DAG adds a task and returns its XComArg."""

    _airflow_is_task_decorator = True  # map() refuses one, as Airflow does
    # Set by @setup / @teardown, and kept by override(), as in Airflow.
    is_setup = False
    is_teardown = False
    on_failure_fail_dagrun = False

    def __init__(self, fn: Callable[..., Any], operator_class: type, kwargs: dict[str, Any]):
        self.function = fn
        self.operator_class = operator_class
        self.kwargs = dict(kwargs)
        if self.kwargs.get("multiple_outputs") is None:
            self.kwargs["multiple_outputs"] = _infer_multiple_outputs(fn)
        self.signature = inspect.signature(fn)
        functools.update_wrapper(self, fn)

    def __repr__(self) -> str:
        return f"<TaskFlow {self.function.__name__}>"

    def _options(self) -> dict[str, Any]:
        if self.is_teardown:
            if "trigger_rule" in self.kwargs:
                raise ValueError("Trigger rule not configurable for teardown tasks.")
            self.kwargs.update(trigger_rule="all_done_setup_success")
        options = dict(self.kwargs)
        options.pop("on_failure_fail_dagrun", None)
        options["task_id"] = unique_task_id(options.get("task_id") or self.function.__name__)
        return options

    def _mark(self, ref: XComArg) -> XComArg:
        """Give the new task this decorator's setup/teardown role."""
        op = ref.operator
        op.is_setup = self.is_setup
        op.is_teardown = self.is_teardown
        op.on_failure_fail_dagrun = self.kwargs.get(
            "on_failure_fail_dagrun", self.on_failure_fail_dagrun
        )
        return ref

    def __call__(self, *args: Any, **kwargs: Any) -> XComArg:
        self.signature.bind_partial(*args, **kwargs)
        op = self.operator_class(
            python_callable=self.function, op_args=args, op_kwargs=kwargs, **self._options()
        )
        return self._mark(XComArg(op))

    def override(self, **kwargs: Any) -> _TaskDecorator:
        new = _TaskDecorator(self.function, self.operator_class, {**self.kwargs, **kwargs})
        new.is_setup, new.is_teardown = self.is_setup, self.is_teardown
        new.on_failure_fail_dagrun = self.on_failure_fail_dagrun
        return new

    def partial(self, **kwargs: Any) -> _TaskFlowPartial:
        self.signature.bind_partial(**kwargs)
        return _TaskFlowPartial(self, kwargs)

    def expand(self, **mapped: Any) -> XComArg:
        return _TaskFlowPartial(self, {}).expand(**mapped)

    def expand_kwargs(self, kwargs_list: Any) -> XComArg:
        return _TaskFlowPartial(self, {}).expand_kwargs(kwargs_list)


class _TaskFlowPartial:
    def __init__(self, decorator: _TaskDecorator, fixed: dict[str, Any]) -> None:
        self.decorator = decorator
        self.fixed = fixed

    def _ctor(self) -> dict[str, Any]:
        return {
            "python_callable": self.decorator.function,
            "op_args": (),
            "op_kwargs": dict(self.fixed),
            **self.decorator._options(),
        }

    def expand(self, **mapped: Any) -> XComArg:
        if not mapped:
            raise TypeError("expand() needs at least one keyword argument to map over")
        overlap = set(mapped) & set(self.fixed)
        if overlap:
            raise TypeError(f"arguments given to both partial() and expand(): {sorted(overlap)}")
        self.decorator.signature.bind_partial(**self.fixed, **mapped)
        cls = self.decorator.operator_class
        ref = _mapped_operator(cls, self._ctor(), mapped, None, stand_in=False)
        return self.decorator._mark(ref)

    def expand_kwargs(self, kwargs_list: Any) -> XComArg:
        cls = self.decorator.operator_class
        ref = _mapped_operator(cls, self._ctor(), None, kwargs_list, stand_in=False)
        return self.decorator._mark(ref)


def _decorator(operator_class: type):
    def decorate(python_callable: Callable[..., Any] | None = None, **kwargs: Any):
        if python_callable is not None and callable(python_callable):
            return _TaskDecorator(python_callable, operator_class, kwargs)
        return lambda fn: _TaskDecorator(fn, operator_class, kwargs)

    return decorate


def _unsupported(name: str):
    def decorate(*args: Any, **kwargs: Any):
        raise NotImplementedError(
            f"@task.{name} is not provided by dagshift's Airflow shim: install apache-airflow "
            "and its provider to run this file with Airflow, or rewrite the task as a plain "
            "@task (dagshift migrate marks it with a TODO)"
        )

    return decorate


class _TaskNamespace:
    """``task`` and its variants ``task.branch``, ``task.short_circuit`` ..."""

    def __init__(self) -> None:
        self.python = _decorator(_DecoratedPythonOperator)
        self.branch = _decorator(_DecoratedBranchOperator)
        self.short_circuit = _decorator(_DecoratedShortCircuitOperator)
        self.bash = _decorator(_DecoratedBashOperator)
        self.sensor = _decorator(_DecoratedSensorOperator)
        self.virtualenv = _decorator(_DecoratedVirtualenvOperator)
        self.external_python = _decorator(_DecoratedExternalPythonOperator)

    def __call__(self, python_callable: Callable[..., Any] | None = None, **kwargs: Any):
        return self.python(python_callable, **kwargs)

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)
        return _unsupported(name)


task = _TaskNamespace()


def _as_decorator(func: Any, role: str) -> _TaskDecorator:
    if inspect.isfunction(func):
        func = task(func)
    if not isinstance(func, _TaskDecorator):
        raise AirflowException(
            f"@{role} marks a TaskFlow task (a function or a @task); task groups cannot be "
            f"marked as setup or teardown, got {func!r}"
        )
    return func


def setup(func: Callable[..., Any]) -> _TaskDecorator:
    """``@setup``: a TaskFlow task that is a setup task."""
    decorated = _as_decorator(func, "setup")
    decorated.is_setup = True
    return decorated


def teardown(_func: Callable[..., Any] | None = None, *, on_failure_fail_dagrun: bool = False):
    """``@teardown`` / ``@teardown(on_failure_fail_dagrun=True)``: a TaskFlow task that is a
    teardown task (its failure fails the run only with ``on_failure_fail_dagrun``)."""

    def mark(func: Callable[..., Any]) -> _TaskDecorator:
        decorated = _as_decorator(func, "teardown")
        decorated.is_teardown = True
        decorated.on_failure_fail_dagrun = on_failure_fail_dagrun
        return decorated

    return mark if _func is None else mark(_func)


def _prevent_duplicates(first: dict, second: dict, reason: str) -> None:
    duplicated = sorted(set(first) & set(second))
    if len(duplicated) == 1:
        raise TypeError(f"{reason} argument: {duplicated[0]}")
    if duplicated:
        raise TypeError(f"{reason} arguments: {', '.join(duplicated)}")


class _TaskGroupFactory:
    """A ``@task_group`` function: calling it builds its tasks inside a :class:`TaskGroup` and
    returns what the function returns, or the group when that is None; ``.expand(...)`` /
    ``.expand_kwargs(...)`` build a *mapped* group (every task inside runs once per element,
    see :mod:`dagshift.runtime.group_mapping`), ``.partial(...)`` fixes arguments first."""

    def __init__(self, fn: Callable[..., Any], tg_kwargs: dict, partial_kwargs: dict) -> None:
        self.function = fn
        self.tg_kwargs = dict(tg_kwargs)
        self.partial_kwargs = dict(partial_kwargs)
        self.signature = inspect.signature(fn)
        functools.update_wrapper(self, fn)

    def _create(self, mapped_over: Any, *args: Any, **kwargs: Any) -> Any:
        options = {"add_suffix_on_collision": True, **self.tg_kwargs}
        group_id = options.pop("group_id", None) or self.function.__name__
        with TaskGroup(group_id, **options) as group:
            if mapped_over is not None:
                group._group_map = mapped_over
                expand, kwargs_list = mapped_over
                sources = _placeholder_values(expand if expand is not None else kwargs_list)
                names = (
                    list(expand)
                    if isinstance(expand, dict)
                    else [n for n in self.signature.parameters if n not in self.partial_kwargs]
                )
                kwargs.update({n: MappedArgument(group, n, sources) for n in names})
            returned = self.function(*args, **kwargs)
            if mapped_over is not None:  # as Airflow's MappedTaskGroup.__exit__
                for source in sources:
                    for op, _ in source.iter_references():
                        group.set_upstream(op)
        return group if returned is None else returned

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self._create(None, *args, **kwargs)

    def override(self, **kwargs: Any) -> _TaskGroupFactory:
        return _TaskGroupFactory(self.function, {**self.tg_kwargs, **kwargs}, self.partial_kwargs)

    def partial(self, **kwargs: Any) -> _TaskGroupFactory:
        _prevent_duplicates(self.partial_kwargs, kwargs, "duplicate partial")
        self.signature.bind_partial(**self.partial_kwargs, **kwargs)
        return _TaskGroupFactory(self.function, self.tg_kwargs, {**self.partial_kwargs, **kwargs})

    def expand(self, **kwargs: Any) -> Any:
        if not kwargs:
            raise TypeError("no arguments to expand against")
        _prevent_duplicates(self.partial_kwargs, kwargs, "mapping already partial")
        self.signature.bind_partial(**self.partial_kwargs, **kwargs)
        return self._create((dict(kwargs), None), **self.partial_kwargs)

    def expand_kwargs(self, kwargs: Any) -> Any:
        if not isinstance(kwargs, list | tuple | XComArg):
            raise TypeError(f"expected XComArg or list[dict], not {type(kwargs).__name__}")
        return self._create((None, kwargs), **self.partial_kwargs)


def _placeholder_values(expand: Any) -> list[Any]:
    values = expand.values() if isinstance(expand, dict) else [expand]
    return [v for v in values if hasattr(v, "iter_references")]


def task_group(python_callable: Callable[..., Any] | None = None, **tg_kwargs: Any):
    """``@task_group`` / ``@task_group(group_id=..., ...)`` (see :class:`_TaskGroupFactory`)."""
    if python_callable is not None and callable(python_callable):
        return _TaskGroupFactory(python_callable, tg_kwargs, {})
    return lambda fn: _TaskGroupFactory(fn, tg_kwargs, {})
