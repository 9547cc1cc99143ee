"""``airflow.configuration``: ``conf``, ``AIRFLOW_HOME`` and Airflow's lookup order, no Airflow.

``conf.get(section, key)`` answers as Airflow does: the environment variable
``AIRFLOW__{SECTION}__{KEY}``, then ``{AIRFLOW_HOME}/airflow.cfg`` (or ``$AIRFLOW_CONFIG``) when
the file exists, then Airflow's default (:mod:`dagshift.compat.config_defaults`: the installed
Airflow's generation, Airflow 2's where none is installed), then ``fallback``. An option with
none of these raises ``AirflowConfigException`` with Airflow's message and what to do. Values
are strings; ``getboolean``/``getint``/``getfloat``/``getlist``/``getjson`` convert with
Airflow's rules and error messages.
"""

from __future__ import annotations

import configparser
import importlib
import json
import os
from typing import Any

from dagshift.compat.config_defaults import DEFAULTS
from dagshift.compat.exceptions import AirflowConfigException
from dagshift.runtime.discovery import installed_airflow_generation

__all__ = ["AIRFLOW_HOME", "AirflowConfigParser", "conf", "get_airflow_config", "get_airflow_home"]

_MISSING = object()


def get_airflow_home() -> str:
    return os.path.expanduser(os.path.expandvars(os.environ.get("AIRFLOW_HOME", "~/airflow")))


def get_airflow_config(airflow_home: str) -> str:
    path = os.environ.get("AIRFLOW_CONFIG")
    if path is None:
        return os.path.join(airflow_home, "airflow.cfg")
    return os.path.expanduser(os.path.expandvars(path))


class AirflowConfigParser:
    """Airflow's configuration, read-only except for ``set`` (this process only)."""

    def __init__(self) -> None:
        self._set: dict[str, str] = {}
        self._file: configparser.ConfigParser | None = None
        self._file_key: tuple[str, float] | None = None

    def _cfg(self) -> configparser.ConfigParser | None:
        path = get_airflow_config(get_airflow_home())
        try:
            stamp = os.stat(path).st_mtime
        except OSError:
            return None
        if self._file_key != (path, stamp):
            parser = configparser.ConfigParser(interpolation=None, strict=False)
            try:
                parser.read(path)
            except configparser.Error as exc:
                raise AirflowConfigException(
                    f"{path}: cannot read Airflow's config: {exc}"
                ) from exc
            self._file, self._file_key = parser, (path, stamp)
        return self._file

    def _lookup(self, section: str, key: str) -> str | None:
        section, key = section.lower(), key.lower()
        name = f"{section}.{key}"
        if name in self._set:
            return self._set[name]
        env = os.environ.get(f"AIRFLOW__{section.upper()}__{key.upper()}")
        if env is not None:
            return env
        cfg = self._cfg()
        if cfg is not None and cfg.has_option(section, key):
            return cfg.get(section, key)
        default = DEFAULTS[installed_airflow_generation() or "2"].get(name)
        return None if default is None else default.replace("{AIRFLOW_HOME}", get_airflow_home())

    def get(self, section: str, key: str, fallback: Any = _MISSING, **_: Any) -> Any:
        value = self._lookup(section, key)
        if value is not None:
            return value
        if fallback is not _MISSING:
            return fallback
        raise AirflowConfigException(
            f"section/key [{section}/{key}] not found in config (dagshift carries Airflow's "
            "defaults for the options DAG files usually read; set "
            f"AIRFLOW__{section.upper()}__{key.upper()} to give this one a value)"
        )

    def get_mandatory_value(self, section: str, key: str, **kwargs: Any) -> str:
        value = self.get(section, key, **kwargs)
        if value is None:
            raise ValueError(f"The value {section}/{key} should be set!")
        return value

    def has_option(self, section: str, option: str, **_: Any) -> bool:
        return self._lookup(section, option) is not None

    def getboolean(self, section: str, key: str, **kwargs: Any) -> bool:
        val = str(self.get(section, key, **kwargs)).lower().strip()
        if "#" in val:
            val = val.split("#")[0].strip()
        if val in ("t", "true", "1"):
            return True
        if val in ("f", "false", "0"):
            return False
        raise AirflowConfigException(
            f'Failed to convert value to bool. Please check "{key}" key in "{section}" section. '
            f'Current value: "{val}".'
        )

    def _convert(self, section: str, key: str, kind: type, name: str, **kwargs: Any) -> Any:
        val = self.get(section, key, **kwargs)
        if val is None:
            raise AirflowConfigException(
                f"Failed to convert value None to {name}. "
                f'Please check "{key}" key in "{section}" section is set.'
            )
        try:
            return kind(val)
        except ValueError:
            raise AirflowConfigException(
                f'Failed to convert value to {name}. Please check "{key}" key in "{section}" '
                f'section. Current value: "{val}".'
            ) from None

    def getint(self, section: str, key: str, **kwargs: Any) -> int:
        return self._convert(section, key, int, "int", **kwargs)

    def getfloat(self, section: str, key: str, **kwargs: Any) -> float:
        return self._convert(section, key, float, "float", **kwargs)

    def getlist(self, section: str, key: str, delimiter: str = ",", **kwargs: Any) -> list[str]:
        val = self._convert(section, key, str, "list", **kwargs)
        return [item.strip() for item in val.split(delimiter)]

    def getjson(self, section: str, key: str, fallback: Any = None, **_: Any) -> Any:
        data = self._lookup(section, key)
        if data is None or data == "":
            return fallback
        try:
            return json.loads(data)
        except ValueError as exc:
            raise AirflowConfigException(
                f"Unable to parse [{section}] {key!r} as valid json"
            ) from exc

    def getimport(self, section: str, key: str, **kwargs: Any) -> Any:
        path = self.get(section, key, **kwargs)
        if not path:
            return None
        module, _, name = path.rpartition(".")
        try:
            return getattr(importlib.import_module(module), name)
        except (ImportError, AttributeError):
            raise AirflowConfigException(
                f'The object could not be loaded. Please check "{key}" key in "{section}" '
                f'section. Current value: "{path}".'
            ) from None

    def getsection(self, section: str) -> dict[str, str] | None:
        """The section's options (defaults, file, environment, in that order of precedence)."""
        section = section.lower()
        table = DEFAULTS[installed_airflow_generation() or "2"]
        names = {k.split(".", 1)[1] for k in table if k.startswith(f"{section}.")}
        cfg = self._cfg()
        if cfg is not None and cfg.has_section(section):
            names |= set(cfg.options(section))
        prefix = f"AIRFLOW__{section.upper()}__"
        names |= {k[len(prefix) :].lower() for k in os.environ if k.startswith(prefix)}
        found = {n: self._lookup(section, n) for n in sorted(names)}
        found = {n: v for n, v in found.items() if v is not None}
        return found or None

    def set(self, section: str, option: str, value: str) -> None:
        self._set[f"{section.lower()}.{option.lower()}"] = str(value)

    def remove_option(self, section: str, option: str, **_: Any) -> None:
        self._set.pop(f"{section.lower()}.{option.lower()}", None)


conf = AirflowConfigParser()
AIRFLOW_HOME = get_airflow_home()
AIRFLOW_CONFIG = get_airflow_config(AIRFLOW_HOME)
