"""Airflow's metadata database, as far as a DAG file without one can go.

dagshift keeps no Airflow metadata database: its run history is its own (``dagshift runs``, the
GraphQL API). A DAG file that imports ``settings.Session`` or the ORM models (``DagModel``,
``ImportError``, ``DagRun.find``...) loads as in Airflow; the first use that needs the database
fails with an error that names it and says what to do instead, in the task that made it.
"""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Callable, Iterator
from typing import Any

from dagshift.compat.exceptions import AirflowException

__all__ = [
    "DagModel",
    "ImportError",
    "NEW_SESSION",
    "NoMetadataDatabase",
    "Session",
    "create_session",
    "no_database",
    "provide_session",
]


class NoMetadataDatabase(AirflowException):
    """What needs Airflow's metadata database, which dagshift does not have."""


def no_database(what: str) -> NoMetadataDatabase:
    return NoMetadataDatabase(
        f"{what} needs Airflow's metadata database, and dagshift runs DAGs without one: read "
        "dagshift's run history with `dagshift runs` (or its GraphQL API), pass what a task "
        "needs from upstream tasks (XCom), or keep this DAG in Airflow"
    )


class _Session:
    """``settings.Session()``: made and closed freely; a query fails with what to do."""

    def __enter__(self) -> _Session:
        return self

    def __exit__(self, *exc: Any) -> None:
        return None

    def close(self) -> None:
        return None

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)
        raise no_database(f"settings.Session().{name}")


def Session(*args: Any, **kwargs: Any) -> _Session:  # noqa: N802 - Airflow's name
    return _Session()


@contextlib.contextmanager
def create_session(*args: Any, **kwargs: Any) -> Iterator[_Session]:
    """``airflow.utils.session.create_session``: a session that cannot query."""
    yield _Session()


NEW_SESSION: Any = None


def provide_session(func: Callable[..., Any]) -> Callable[..., Any]:
    """``@provide_session``: gives the function a ``session`` when the caller passes none."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        if kwargs.get("session") is None:
            kwargs["session"] = _Session()
        return func(*args, **kwargs)

    return wrapper


class _Model:
    """An ORM model class: importable and subclassable; its queries fail with what to do."""

    __tablename__ = ""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        raise no_database(f"airflow.models.{type(self).__name__}(...)")


class _ModelMeta(type):
    def __getattr__(cls, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)
        raise no_database(f"{cls.__name__}.{name}")


class DagModel(_Model, metaclass=_ModelMeta):
    __tablename__ = "dag"


class ImportError(_Model, metaclass=_ModelMeta):  # noqa: A001 - Airflow's name
    __tablename__ = "import_error"
