"""Other Airflow names kept as written: the converted code goes on using them through the shim.

An Airflow name that no rule rewrites and that is not an operator (those are ``bridged``) keeps
its import and its uses as written, and the converted file loads through the compat shim as a
file with kept operators does, when the shim gives the name the same meaning at run time and
the name reads neither Airflow's context nor XCom (the last check, DS095, still proves that no
context or XCom access is left). Which names, decided from the import alone (the converter
never imports anything):

- names the shim implements itself (``dagshift/compat/paths.py``) that are configuration,
  storage paths, connections, hooks' base, exceptions or pure helpers: ``conf``,
  ``ObjectStoragePath``, ``BaseHook``, ``Connection``, ``AirflowException``, ``ds_add``,
  ``timezone.utcnow``, ``is_venv_installed`` ... (``_SHIM_NAMES``); not ``Variable``,
  ``Param``, ``TriggerRule``, assets or timetables, which have rules of their own, nor
  ``get_current_context``, ``XCom``, ``TaskInstance`` or ``DagRun``, which read a run's state;
- a provider's hook class (``airflow.providers.x.hooks.y.ZHook``,
  ``airflow.contrib.hooks.z_hook.ZHook``): the operator bridge builds the real hook and runs
  each method call in real Airflow (apache-airflow and the provider must be installed, as for
  bridged operators);
- an upper-case constant of an Airflow module (``PROJECT_ID``): the bridge gives its value.

Anything else (a provider's other classes and functions: ``DataSourceConfig``) the shim cannot
serve: it stays, and so does the code using it (DS002). Only names imported by name are kept
(``from airflow.sdk import conf``); a module imported as such (``import airflow``) is not.
"""

from __future__ import annotations

import re

from dagshift.compat.paths import PATHS

__all__ = ["DESCRIPTION", "keepable", "kept_locals"]

DESCRIPTION = (
    "other airflow names the shim serves (conf, ObjectStoragePath, hooks, constants ...) "
    "-> kept imported as written"
)

# Names the shim implements that mean the same in converted code: none reads a run's context
# or XCom, none has a rule of its own.
_SHIM_NAMES = frozenset(
    {
        # configuration
        "conf",
        "AIRFLOW_HOME",
        "AIRFLOW_CONFIG",
        "DAGS_FOLDER",
        "PLUGINS_FOLDER",
        "get_airflow_home",
        "get_airflow_config",
        # storage, connections, hooks
        "ObjectStoragePath",
        "Connection",
        "BaseHook",
        # exceptions that only fail a task, as any exception does
        "AirflowException",
        "AirflowNotFoundException",
        "AirflowConfigException",
        # pure helpers
        "days_ago",
        "ds_add",
        "ds_format",
        "datetime_diff_for_humans",
        "utcnow",
        "make_aware",
        "coerce_datetime",
        "parse",
        "send_email",
        "get_email_address_list",
        "is_venv_installed",
    }
)
_CONSTANT = re.compile(r"[A-Z][A-Z0-9_]*")
# Airflow's own example helpers, which the shim runs from the installed Airflow's files (they
# print, and read no context): airflow/example_dags/libs/helper.py
_EXAMPLE_HELPERS = frozenset({"airflow.example_dags.libs.helper.print_stuff"})


def keepable(full: str) -> bool:
    """Whether the Airflow name ``full`` (``module.name``) may stay in converted code."""
    module, _, name = full.rpartition(".")
    if not module.startswith("airflow"):
        return False
    if full in _EXAMPLE_HELPERS:
        return True
    served = PATHS.get(module)
    if served is not None and name in served:
        return name in _SHIM_NAMES
    if full in PATHS:  # a module the shim serves, imported by name
        return False
    parts = module.split(".")
    if name.endswith("Hook") and ("hooks" in parts or parts[-1].endswith("_hook")):
        return True
    return bool(_CONSTANT.fullmatch(name)) and name != "DAG"  # a DAG class by another path


def kept_locals(names: dict[str, str]) -> set[str]:
    """The file's local names (from its airflow imports) that are kept as written."""
    return {local for local, full in names.items() if "." not in local and keepable(full)}
