"""``airflow.settings``: the values DAG files read, from dagshift's ``conf``.

``Session`` is :func:`dagshift.compat.orm.Session`: dagshift has no metadata database, and a
query through it fails with what to do instead.
"""

from __future__ import annotations

import logging
import os

import pendulum

from dagshift.compat.configuration import AIRFLOW_HOME, conf
from dagshift.compat.orm import Session

__all__ = [
    "AIRFLOW_HOME",
    "CAN_FORK",
    "DAGS_FOLDER",
    "LOG_FORMAT",
    "LOGGING_LEVEL",
    "PLUGINS_FOLDER",
    "SIMPLE_LOG_FORMAT",
    "SQL_ALCHEMY_CONN",
    "Session",
    "TIMEZONE",
    "engine",
]

LOGGING_LEVEL = logging.INFO
LOG_FORMAT = conf.get("logging", "log_format")
SIMPLE_LOG_FORMAT = conf.get("logging", "simple_log_format")
DAGS_FOLDER: str = os.path.expanduser(conf.get_mandatory_value("core", "dags_folder"))
PLUGINS_FOLDER: str = conf.get("core", "plugins_folder")
SQL_ALCHEMY_CONN: str = conf.get("database", "sql_alchemy_conn")
_tz = conf.get("core", "default_timezone")
TIMEZONE = pendulum.local_timezone() if _tz == "system" else pendulum.timezone(_tz)
CAN_FORK = hasattr(os, "fork")
engine = None  # no metadata database
