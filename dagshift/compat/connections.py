"""Airflow Connections without a metadata database.

``Connection`` parses and prints connections exactly as Airflow's (URI form with ``__extra__``
and ``scheme://protocol://host``, JSON form, ``get_uri``, ``extra_dejson``). A connection id is
looked up as Airflow's default secrets backends do, minus the database: the environment
variable ``AIRFLOW_CONN_<ID>`` (URI, or JSON when it starts with ``{``), then dagshift's
connections file: ``DAGSHIFT_CONNECTIONS``, else ``.dagshift/connections.json`` in the working
directory, a JSON object of ``conn_id`` to a URI string or a JSON-form object. Operators and
hooks run through the bridge see the file's connections as ``AIRFLOW_CONN_*`` variables.

Airflow 3 changed three details (query values in a URI are JSON-decoded; ``get_uri`` does not
repeat a host's protocol equal to the type, and flattens only string extras; a non-JSON extra is
an error): the installed Airflow's generation decides, Airflow 2's rules where none is.
"""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, quote, unquote, urlencode, urlsplit

from dagshift.compat.exceptions import AirflowException, AirflowNotFoundException
from dagshift.runtime.discovery import installed_airflow_generation
from dagshift.runtime.files import read_json_object

__all__ = ["Connection", "as_airflow_environment", "get_connection", "store_path"]

_log = logging.getLogger("airflow.models.connection")


def store_path() -> Path:
    return Path(os.environ.get("DAGSHIFT_CONNECTIONS", ".dagshift/connections.json"))


def _stored() -> dict[str, Any]:
    return read_json_object(store_path(), "the connections file")


def _airflow3() -> bool:
    return installed_airflow_generation() == "3"


def _invalid(uri: str) -> AirflowException:
    return AirflowException(
        "Invalid connection string." if _airflow3() else f"Invalid connection string: {uri}."
    )


def _hostname(parts: Any) -> str:
    # Airflow's _parse_netloc_to_hostname: urlsplit lowercases and drops a host with a path.
    hostname = unquote(parts.hostname or "")
    if "/" in hostname:
        hostname = parts.netloc
        if "@" in hostname:
            hostname = hostname.rsplit("@", 1)[1]
        if ":" in hostname:
            hostname = hostname.split(":", 1)[0]
        hostname = unquote(hostname)
    return hostname


class Connection:
    """An Airflow connection: ``Connection(conn_id, conn_type, host, ...)`` or ``uri=...``."""

    EXTRA_KEY = "__extra__"

    def __init__(
        self,
        conn_id: str | None = None,
        conn_type: str | None = None,
        description: str | None = None,
        host: str | None = None,
        login: str | None = None,
        password: str | None = None,
        schema: str | None = None,
        port: int | None = None,
        extra: str | dict | None = None,
        uri: str | None = None,
    ) -> None:
        self.conn_id, self.description = conn_id, description
        if extra and not isinstance(extra, str):
            extra = json.dumps(extra)
        if uri and (conn_type or host or login or password or schema or port or extra):
            raise AirflowException(
                "You must create an object using the URI or individual values "
                "(conn_type, host, login, password, schema, port or extra)."
                "You can't mix these two ways to create this object."
            )
        self.conn_type, self.host, self.login, self.password = conn_type, host, login, password
        self.schema, self.port, self.extra = schema, port, extra
        if uri:
            self._parse_from_uri(uri)
        if self.extra and _airflow3():
            # Airflow 3 validates in the extra setter, before conn_id is set: hence None.
            self._validate_extra(self.extra, None)

    @staticmethod
    def _validate_extra(extra: str, conn_id: str | None) -> None:
        try:
            parsed = json.loads(extra)
        except ValueError:
            message = f"Encountered non-JSON in `extra` field for connection {conn_id!r}."
            raise ValueError(message) from None
        if not isinstance(parsed, dict):
            raise ValueError(
                "Encountered JSON value in `extra` which does not parse as a dictionary in "
                f"connection {conn_id!r}. The `extra` field must contain a JSON "
                "representation of a Python dict."
            )

    @staticmethod
    def _normalize_conn_type(conn_type: str) -> str:
        if conn_type == "postgresql":
            return "postgres"
        return conn_type.replace("-", "_")

    def _parse_from_uri(self, uri: str) -> None:
        schemes = uri.count("://")
        if schemes > 2:
            raise _invalid(uri)
        with_protocol = schemes == 2
        conn_type = urlsplit(uri).scheme
        self.conn_type = self._normalize_conn_type(conn_type)
        rest = uri.replace(f"{conn_type}://", "" if with_protocol else "//")
        if with_protocol:
            first = rest.split("://", 1)[0]
            if "@" in first or ":" in first:
                raise _invalid(uri)
        parts = urlsplit(rest)
        host = _hostname(parts)
        protocol = parts.scheme if with_protocol else None
        self.host = f"{protocol}://{host}" if host and protocol else host
        quoted_schema = parts.path[1:]
        self.schema = unquote(quoted_schema) if quoted_schema else quoted_schema
        self.login = unquote(parts.username) if parts.username else parts.username
        self.password = unquote(parts.password) if parts.password else parts.password
        self.port = parts.port
        if parts.query:
            query: dict[str, Any] = dict(parse_qsl(parts.query, keep_blank_values=True))
            if self.EXTRA_KEY in query:
                self.extra = query[self.EXTRA_KEY]
                return
            if _airflow3():
                for key, value in query.items():
                    try:
                        query[key] = json.loads(value) if value else value
                    except ValueError:
                        pass
            self.extra = json.dumps(query)

    def get_uri(self) -> str:
        """The connection as a URI, exactly as Airflow writes it."""
        airflow3 = _airflow3()
        uri = f"{self.conn_type.lower().replace('_', '-')}://" if self.conn_type else "//"
        protocol, host = (None, self.host)
        if self.host and "://" in self.host:
            protocol, host = self.host.split("://", 1)
            if airflow3 and protocol == self.conn_type:  # Airflow 3 does not repeat it
                protocol, host = None, self.host
        if protocol:
            uri += f"{protocol}://"
        authority = quote(self.login, safe="") if self.login is not None else ""
        if self.password is not None:
            authority += ":" + quote(self.password, safe="")
        if authority:
            uri += authority + "@"
        host_block = quote(host, safe="") if host else ""
        if self.port:
            host_block += f"@:{self.port}" if not host_block and not authority else f":{self.port}"
        if self.schema:
            host_block += f"/{quote(self.schema, safe='')}"
        uri += host_block
        if self.extra:
            try:
                query: str | None = urlencode(self.extra_dejson)
            except TypeError:
                query = None
            flat = not airflow3 or all(isinstance(v, str) for v in self.extra_dejson.values())
            same = query and self.extra_dejson == dict(parse_qsl(query, keep_blank_values=True))
            if not (flat and same):
                query = urlencode({self.EXTRA_KEY: self.extra})
            uri += ("?" if self.schema else "/?") + query
        return uri

    def get_extra_dejson(self, nested: bool = False) -> dict:
        """``extra`` as a dict ({} when it is not JSON, as Airflow logs and returns)."""
        if not self.extra:
            return {}
        try:
            extra = json.loads(self.extra)
        except ValueError:
            _log.exception("Failed parsing the json for conn_id %s", self.conn_id)
            return {}
        if nested:
            for key, value in list(extra.items()):
                if isinstance(value, str):
                    try:
                        extra[key] = json.loads(value)
                    except ValueError:
                        pass
        return extra

    @property
    def extra_dejson(self) -> dict:
        return self.get_extra_dejson()

    def get_password(self) -> str | None:
        return self.password

    def get_extra(self) -> str | None:
        return self.extra

    def to_dict(self, *, prune_empty: bool = False, validate: bool = True) -> dict[str, Any]:
        conn = {
            "conn_id": self.conn_id,
            "conn_type": self.conn_type,
            "description": self.description,
            "host": self.host,
            "login": self.login,
            "password": self.password,
            "schema": self.schema,
            "port": self.port,
        }
        if prune_empty:
            conn = {k: v for k, v in conn.items() if v not in (None, "")}
        extra = self.extra_dejson
        if extra or not prune_empty:
            conn["extra"] = extra
        if validate:
            json.dumps(conn)
        return conn

    @classmethod
    def from_json(cls, value: str, conn_id: str | None = None) -> Connection:
        kwargs = json.loads(value)
        extra = kwargs.pop("extra", None)
        if extra:
            kwargs["extra"] = extra if isinstance(extra, str) else json.dumps(extra)
        if kwargs.get("conn_type"):
            kwargs["conn_type"] = cls._normalize_conn_type(kwargs["conn_type"])
        port = kwargs.pop("port", None)
        if port:
            try:
                kwargs["port"] = int(port)
            except ValueError:
                message = f"Expected integer value for `port`, but got {port!r} instead."
                raise ValueError(message) from None
        return cls(conn_id=conn_id, **kwargs)

    def as_json(self) -> str:
        conn = self.to_dict(prune_empty=True, validate=False)
        conn.pop("conn_id", None)
        return json.dumps(conn)

    @classmethod
    def get_connection_from_secrets(cls, conn_id: str) -> Connection:
        return get_connection(conn_id)

    def get_hook(self, *, hook_params: dict | None = None) -> Any:
        raise AirflowException(
            f"Connection.get_hook ({self.conn_id!r}, type {self.conn_type!r}) needs Airflow's "
            "provider registry: construct the provider's hook class by name instead (it runs "
            "through dagshift's bridge where apache-airflow and the provider are installed)"
        )

    def __repr__(self) -> str:
        return self.conn_id or ""


def _parse(conn_id: str, value: Any, where: str) -> Connection:
    try:
        if isinstance(value, dict):
            return Connection.from_json(json.dumps(value), conn_id=conn_id)
        value = str(value).strip()
        if value.startswith("{"):
            return Connection.from_json(value, conn_id=conn_id)
        return Connection(conn_id=conn_id, uri=value)
    except (ValueError, TypeError, AirflowException) as exc:
        raise AirflowException(f"connection {conn_id!r} in {where} is invalid: {exc}") from exc


def get_connection(conn_id: str) -> Connection:
    """The connection ``conn_id`` from ``AIRFLOW_CONN_<ID>``, else dagshift's connections file.

    Raises:
        AirflowNotFoundException: neither defines it (Airflow's own message).
    """
    raw = os.environ.get(f"AIRFLOW_CONN_{conn_id.upper()}")
    if raw is not None:
        return _parse(conn_id, raw, f"AIRFLOW_CONN_{conn_id.upper()}")
    stored = _stored()
    if conn_id in stored:
        return _parse(conn_id, stored[conn_id], str(store_path()))
    raise AirflowNotFoundException(f"The conn_id `{conn_id}` isn't defined")


def as_airflow_environment() -> dict[str, str]:
    """The connections file as ``AIRFLOW_CONN_*`` variables, for real Airflow's processes."""
    return {
        f"AIRFLOW_CONN_{conn_id.upper()}": _parse(conn_id, value, str(store_path())).as_json()
        for conn_id, value in _stored().items()
    }
