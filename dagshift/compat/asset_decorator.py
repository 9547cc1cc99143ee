"""``@asset`` and ``@asset.multi`` (Airflow 3): an asset defined by the function that makes it.

As Airflow 3.3's ``airflow.sdk.definitions.asset.decorators``: ``@asset(schedule=..., uri=...)``
on ``f`` is an ``Asset`` (named ``f.__name__`` unless ``name=``; its URI is the name unless
``uri=``) and a DAG with the asset's name as id (or ``dag_id=``), ``catchup=False``, and one task
``f.__name__`` whose only outlet is the asset. The task is a PythonOperator whose arguments are
filled by name: ``self`` is the asset, ``context`` the task's context, ``outlet_events`` the
context's; a parameter with a default keeps it; any other parameter names an inlet asset (one
of the task's inlets, found by name among the assets ``@asset`` defined, where Airflow looks in
its database). ``@asset.multi(outlets=[...])`` makes a DAG named by the function whose task
updates every outlet. When ``f`` is a ``@task``, that task gets the outlets (a ``@task`` given
``outlets=`` itself is a TypeError, as in Airflow).
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterator
from typing import Any

from dagshift.compat.dag import SdkDAG
from dagshift.compat.exceptions import AirflowException
from dagshift.compat.operators import PythonOperator
from dagshift.runtime.assets import Asset

__all__ = ["AssetDefinition", "MultiAssetDefinition", "asset"]

_NOT_INLETS = ("self", "context", "outlet_events")
# Every asset defined with @asset in this process, by name: what Airflow finds in its database.
_DEFINED: dict[str, Asset] = {}


def _check_arguments(f: Callable) -> None:
    for name, param in inspect.signature(f).parameters.items():
        if param.kind == inspect.Parameter.VAR_POSITIONAL:
            raise TypeError(f"wildcard '*{name}' is not supported in @asset")
        if param.kind == inspect.Parameter.VAR_KEYWORD:
            raise TypeError(f"wildcard '**{name}' is not supported in @asset")
        if param.kind == inspect.Parameter.POSITIONAL_ONLY and param.default is param.empty:
            raise TypeError(
                f"positional-only argument '{name}' without a default is not supported in @asset"
            )


def _asset_named(name: str) -> Asset:
    try:
        return _DEFINED[name]
    except KeyError:
        raise AirflowException(
            f"asset {name!r} not found: an @asset function's parameters name assets defined "
            "with @asset (give the parameter a default if it is not an asset)"
        ) from None


class _AssetMainOperator(PythonOperator):
    """The task of an ``@asset`` DAG: the function, its arguments filled by name."""

    def __init__(self, *, definition_name: str, inlet_names: list[str], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._definition_name = definition_name
        self._inlet_names = inlet_names

    @property
    def inlets(self) -> list[Any]:
        # Resolved when read: an inlet may be defined further down the file.
        return [_DEFINED[n] for n in self._inlet_names if n in _DEFINED] + self._other_inlets

    @inlets.setter
    def inlets(self, value: list[Any]) -> None:
        self._other_inlets = list(value or [])

    @classmethod
    def from_definition(cls, definition: Any) -> _AssetMainOperator:
        function = definition._function
        _check_arguments(function)
        parameters = inspect.signature(function).parameters
        return cls(
            task_id=function.__name__,
            inlet_names=[
                name
                for name, param in parameters.items()
                if name not in _NOT_INLETS and param.default is param.empty
            ],
            outlets=list(definition.iter_outlets()),
            python_callable=function,
            definition_name=definition.name,
        )

    def _arguments(self, context: dict[str, Any]) -> Iterator[tuple[str, Any]]:
        for key, param in inspect.signature(self.python_callable).parameters.items():
            if param.default is not param.empty:
                yield key, param.default
            elif key == "self":
                yield key, _asset_named(self._definition_name)
            elif key == "context":
                yield key, context
            elif key == "outlet_events":
                yield key, context["outlet_events"]
            else:
                yield key, _asset_named(key)

    def determine_kwargs(self, context: dict[str, Any]) -> dict[str, Any]:
        return dict(self._arguments(context))


def _instantiate_task(definition: Any) -> None:
    function = definition._function
    if getattr(function, "_airflow_is_task_decorator", False):
        if "outlets" in function.kwargs:
            raise TypeError("@task decorator with 'outlets' argument is not supported in @asset")
        function.kwargs["outlets"] = list(definition.iter_outlets())
        function()
    else:
        _AssetMainOperator.from_definition(definition)


class _DagFactory:
    """The DAG arguments ``@asset`` and ``@asset.multi`` take."""

    def __init__(
        self,
        *,
        schedule: Any,
        is_paused_upon_creation: bool | None = None,
        dag_id: str | None = None,
        dag_display_name: str | None = None,
        description: str | None = None,
        params: dict[str, Any] | None = None,
        on_success_callback: Any = None,
        on_failure_callback: Any = None,
        access_control: Any = None,
        owner_links: dict[str, str] | None = None,
        tags: Any = (),
    ) -> None:
        self.schedule = schedule
        self.dag_id = dag_id
        self.description = description
        self.params = params
        self.on_success_callback = on_success_callback
        self.on_failure_callback = on_failure_callback
        self.tags = tags
        self.ui = {
            "is_paused_upon_creation": is_paused_upon_creation,
            "dag_display_name": dag_display_name,
            "access_control": access_control,
            "owner_links": dict(owner_links or {}),
        }

    def create_dag(self, *, default_dag_id: str) -> SdkDAG:
        dag_id = self.dag_id or default_dag_id
        return SdkDAG(
            dag_id=dag_id,
            schedule=self.schedule,
            catchup=False,
            description=self.description,
            params=self.params,
            on_success_callback=self.on_success_callback,
            on_failure_callback=self.on_failure_callback,
            tags=self.tags,
            **{**self.ui, "dag_display_name": self.ui["dag_display_name"] or dag_id},
        )


def _top_level(f: Callable) -> None:
    if f.__name__ != f.__qualname__:
        raise ValueError("nested function not supported")


class AssetDefinition(Asset):
    """The asset an ``@asset`` function defines; creating it creates its DAG."""

    def __init__(self, *, name: str, uri: str, group: str, extra: Any, function: Any, source: Any):
        super().__init__(name=name, uri=uri, group=group, extra=extra)
        self._function = function
        self._source = source
        _DEFINED[self.name] = self
        with source.create_dag(default_dag_id=self.name):
            _instantiate_task(self)

    def iter_outlets(self) -> Iterator[Asset]:
        yield self


class MultiAssetDefinition:
    """What ``@asset.multi`` gives: its function's name, its outlets, and their one DAG."""

    def __init__(self, *, function: Any, source: Any, name: str) -> None:
        self.name = name
        self._function = function
        self._source = source
        self.objects = list(source.outlets)
        with source.create_dag(default_dag_id=function.__name__):
            _instantiate_task(self)

    def iter_outlets(self) -> Iterator[Any]:
        yield from self.objects


class _Multi(_DagFactory):
    """``@asset.multi(outlets=[...], schedule=...)``: a one-task DAG updating every outlet."""

    def __init__(self, *, outlets: Any, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.outlets = list(outlets)

    def __call__(self, f: Callable) -> MultiAssetDefinition:
        _top_level(f)
        if not self.outlets:
            raise ValueError("no outlets provided")
        return MultiAssetDefinition(function=f, source=self, name=f.__name__)


class asset(_DagFactory):  # noqa: N801 - Airflow's name
    """``@asset(schedule=..., name=, uri=, group=, extra=, dag_id=, ...)`` on a function."""

    multi = _Multi

    def __init__(
        self,
        *,
        name: str | None = None,
        uri: Any = None,
        group: str = "asset",
        extra: dict[str, Any] | None = None,
        watchers: Any = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.name = name
        self.uri = uri
        self.group = group
        self.extra = dict(extra or {})
        self.watchers = list(watchers or [])

    def __call__(self, f: Callable) -> AssetDefinition:
        _top_level(f)
        name = self.name or f.__name__
        return AssetDefinition(
            name=name,
            uri=name if self.uri is None else str(self.uri),
            group=self.group,
            extra=self.extra,
            function=f,
            source=self,
        )
