"""``airflow.plugins_manager`` and Airflow's plugins folder, loaded as Airflow loads them.

Airflow appends ``[core] plugins_folder`` (default ``{AIRFLOW_HOME}/plugins``) to ``sys.path``
when it starts, so a DAG file imports a module of that folder by its name; it imports every
``.py`` file below the folder that ``.airflowignore`` does not exclude as a module named by the
file's stem, and registers each ``AirflowPlugin`` subclass it finds: its timetables by qualified
name, its macros as ``macros.<plugin name>`` in templates. A file that fails to import is logged
and skipped, as Airflow does. ``dagshift.compat.install()`` loads the folder once.

``airflow.example_dags`` (Airflow's example DAGs and their helper modules, such as the example
plugin ``airflow.example_dags.plugins.workday``) is user-level code shipped inside the installed
apache-airflow: the shim runs those files themselves, under the shim, when they are installed.
"""

from __future__ import annotations

import importlib.machinery
import importlib.util
import inspect
import logging
import sys
import types
from pathlib import Path
from typing import Any

from dagshift.compat.configuration import conf
from dagshift.runtime.discovery import folder_files

__all__ = [
    "AirflowPlugin",
    "AirflowPluginException",
    "example_module_spec",
    "load_plugins",
    "plugin_macros",
    "registered_timetables",
]

log = logging.getLogger(__name__)


class AirflowPluginException(Exception):
    """A plugin Airflow refuses (one without a name)."""


class AirflowPlugin:
    """Base of a plugin: a named class whose lists Airflow reads (the shim reads macros and
    timetables; the web-server and executor extension points have no meaning here)."""

    name: str | None = None
    source: Any = None
    macros: list[Any] = []
    admin_views: list[Any] = []
    flask_blueprints: list[Any] = []
    fastapi_apps: list[Any] = []
    fastapi_root_middlewares: list[Any] = []
    external_views: list[Any] = []
    react_apps: list[Any] = []
    menu_links: list[Any] = []
    appbuilder_views: list[Any] = []
    appbuilder_menu_items: list[Any] = []
    global_operator_extra_links: list[Any] = []
    operator_extra_links: list[Any] = []
    timetables: list[Any] = []
    partition_mappers: list[Any] = []
    windows: list[Any] = []
    deadline_references: list[Any] = []
    listeners: list[Any] = []
    hook_lineage_readers: list[Any] = []
    priority_weight_strategies: list[Any] = []

    @classmethod
    def validate(cls) -> None:
        if not cls.name:
            raise AirflowPluginException("Your plugin needs a name.")

    @classmethod
    def on_load(cls, *args: Any, **kwargs: Any) -> None:
        """Called once when the plugin is loaded."""


_loaded: dict[str, list[AirflowPlugin]] = {}


def _is_plugin(value: Any) -> bool:
    # By name too, as Airflow 3: a plugin may subclass another module's AirflowPlugin.
    return inspect.isclass(value) and any(
        base is AirflowPlugin
        or (base.__name__ == "AirflowPlugin" and "plugins_manager" in base.__module__)
        for base in value.__mro__[1:]
    )


def _load_file(path: Path, folder: Path) -> list[AirflowPlugin]:
    loader = importlib.machinery.SourceFileLoader(path.stem, str(path))
    spec = importlib.util.spec_from_loader(path.stem, loader)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    loader.exec_module(module)
    found = []
    for value in list(module.__dict__.values()):
        if _is_plugin(value):
            value.validate()
            plugin = value()
            plugin.source = f"$PLUGINS_FOLDER/{path.relative_to(folder)}"
            found.append(plugin)
    return found


def load_plugins() -> list[AirflowPlugin]:
    """Put the plugins folder on ``sys.path`` and load its plugins (once per folder)."""
    folder = conf.get("core", "plugins_folder")
    if folder in _loaded:
        return _loaded[folder]
    if folder not in sys.path:
        sys.path.append(folder)
    plugins: list[AirflowPlugin] = []
    _loaded[folder] = plugins
    base = Path(folder)
    names: set[str | None] = set()
    for path in folder_files(base) if base.is_dir() else []:
        if path.suffix != ".py":
            continue
        try:
            for plugin in _load_file(path, base):
                if plugin.name in names:
                    log.warning("Plugin %r already registered, skipping", plugin.name)
                    continue
                names.add(plugin.name)
                plugin.on_load()
                plugins.append(plugin)
        except Exception:
            log.exception("Failed to import plugin %s", path)
    return plugins


def registered_timetables() -> dict[str, type]:
    """``{qualified name: class}`` of the timetables the loaded plugins register."""
    return {
        f"{cls.__module__}.{cls.__qualname__}": cls
        for plugins in _loaded.values()
        for plugin in plugins
        for cls in plugin.timetables
    }


def plugin_macros() -> dict[str, types.ModuleType]:
    """``{plugin name: module of its macros}``: templates reach them as ``macros.<name>``, the
    name as the plugin spells it (Airflow lowercases only the module's own name)."""
    modules = {}
    for plugins in _loaded.values():
        for plugin in plugins:
            if plugin.macros and plugin.name:
                module = types.ModuleType(f"airflow.macros.{plugin.name.lower()}")
                module.__dict__.update((fn.__name__, fn) for fn in plugin.macros)
                modules[plugin.name] = module
    return modules


def _installed_examples() -> Path | None:
    for entry in sys.path:
        folder = Path(entry or ".") / "airflow" / "example_dags"
        if (folder / "__init__.py").is_file():
            return folder
    return None


def example_module_spec(fullname: str) -> importlib.machinery.ModuleSpec | None:
    """The spec of ``airflow.example_dags[...]`` from the installed Airflow's files, if any."""
    folder = _installed_examples()
    if folder is None:
        return None
    path = folder.joinpath(*fullname.split(".")[2:])
    if (path / "__init__.py").is_file():
        return importlib.util.spec_from_file_location(
            fullname, path / "__init__.py", submodule_search_locations=[str(path)]
        )
    if path.with_suffix(".py").is_file():
        return importlib.util.spec_from_file_location(fullname, path.with_suffix(".py"))
    return None
