"""Airflow's ``BaseHook``, served by the shim whether or not apache-airflow is installed.

DAG files and their helper modules subclass it or call ``BaseHook.get_connection(conn_id)``
at import time; both work here, with connections from ``AIRFLOW_CONN_*`` and dagshift's
connections file (:mod:`dagshift.compat.connections`). Provider hooks (``PostgresHook``...)
are real Airflow's, through the bridge.
"""

from __future__ import annotations

import logging
from typing import Any

from dagshift.compat.connections import Connection, get_connection

__all__ = ["BaseHook"]


class BaseHook:
    """Abstract base class for hooks, as Airflow's: ``get_connection``, ``get_conn``, ``log``."""

    conn_name_attr: str | None = None
    default_conn_name: str | None = None
    conn_type: str | None = None
    hook_name: str | None = None

    def __init__(self, logger_name: str | None = None) -> None:
        self._logger_name = logger_name

    @property
    def log(self) -> logging.Logger:
        cls = type(self)
        return logging.getLogger(
            self._logger_name or f"airflow.task.hooks.{cls.__module__}.{cls.__name__}"
        )

    @classmethod
    def get_connection(cls, conn_id: str) -> Connection:
        """The connection ``conn_id``; ``AirflowNotFoundException`` when it is not defined."""
        conn = get_connection(conn_id)
        logging.getLogger("airflow.hooks.base").info("Retrieving connection '%s'", conn.conn_id)
        return conn

    @classmethod
    def get_connections(cls, conn_id: str) -> list[Connection]:
        return [cls.get_connection(conn_id)]

    @classmethod
    def get_hook(cls, conn_id: str) -> Any:
        return cls.get_connection(conn_id).get_hook()

    def get_conn(self) -> Any:
        raise NotImplementedError()

    @classmethod
    def get_connection_form_widgets(cls) -> dict[str, Any]:
        return {}

    @classmethod
    def get_ui_field_behaviour(cls) -> dict[str, Any]:
        return {}
