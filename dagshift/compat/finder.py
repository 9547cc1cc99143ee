"""The import hook: ``airflow`` and its submodules served from :data:`PATHS`.

``install()`` puts :class:`ShimFinder` first on ``sys.meta_path``, so ``import airflow...``
resolves to the shim even when apache-airflow is installed in the same environment (the test
environment has it as the oracle). A path or name the table does not list fails at import
with a message naming the Airflow path and what to do.
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.util
import sys
import types
from typing import Any

from dagshift.compat.paths import PATHS

__all__ = ["AIRFLOW_VERSION", "ShimFinder", "missing_message"]

AIRFLOW_VERSION = "2.11.0+dagshift"
_HINT = (
    "install apache-airflow (and the provider package that has it) to run the real operator "
    "through dagshift's bridge, or convert the file with `dagshift migrate` and replace this "
    "use (the shim's supported paths are listed in dagshift/compat/paths.py)"
)


def missing_message(path: str) -> str:
    return f"dagshift's Airflow shim does not provide {path}: {_HINT}"


def _resolve(target: str) -> Any:
    module_name, _, attr = target.partition(":")
    value: Any = importlib.import_module(f"dagshift.compat.{module_name}")
    for part in attr.split("."):
        value = getattr(value, part)
    return value


class _ShimModule(types.ModuleType):
    """A served Airflow module; an unknown name fails with what to do."""

    def __getattr__(self, name: str) -> Any:
        full = f"{self.__name__}.{name}"
        if full in PATHS:
            return importlib.import_module(full)
        if name.startswith("_"):
            raise AttributeError(f"module {self.__name__!r} has no attribute {name!r}")
        from dagshift.compat import probe

        if probe.bridge_enabled():  # a name the shim lacks, in a module it serves
            from dagshift.compat.bridge import bridge_attribute

            return bridge_attribute(self.__name__, name)
        raise ImportError(missing_message(full), name=self.__name__)


class ShimFinder(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """Finds and loads ``airflow`` modules from the shim's path table."""

    def find_spec(self, fullname: str, path: Any = None, target: Any = None):
        if fullname != "airflow" and not fullname.startswith("airflow."):
            return None
        if fullname.startswith("airflow.example_dags") and fullname not in PATHS:
            from dagshift.compat.plugins import example_module_spec

            spec = example_module_spec(fullname)
            if spec is not None:  # Airflow's own example code, run under the shim
                return spec
        if fullname not in PATHS:
            from dagshift.compat import probe

            if not probe.bridge_enabled():
                raise ModuleNotFoundError(missing_message(fullname), name=fullname)
            answer = probe.ask(fullname)
            if not answer["found"]:
                from dagshift.compat.bridge import not_in_airflow_message

                message = not_in_airflow_message(fullname, answer.get("error"))
                raise ModuleNotFoundError(message, name=fullname)
        spec = importlib.util.spec_from_loader(fullname, self, is_package=True)
        spec.origin = "dagshift-airflow-shim"
        return spec

    def create_module(self, spec: Any) -> types.ModuleType:
        if spec.name not in PATHS:  # real Airflow's module, through the operator bridge
            from dagshift.compat.bridge import bridge_module

            return bridge_module(spec.name)
        return _ShimModule(spec.name)

    def exec_module(self, module: types.ModuleType) -> None:
        if getattr(module, "__dagshift_bridge__", False):
            self._link(module)
            return
        module.__path__ = []
        module.__dagshift_shim__ = True
        for name, target in PATHS[module.__name__].items():
            if target.startswith("@"):
                continue  # a submodule, imported when first reached
            setattr(module, name, _resolve(target))
        self._link(module)

    @staticmethod
    def _link(module: types.ModuleType) -> None:
        parent, _, child = module.__name__.rpartition(".")
        if parent and parent in sys.modules:
            setattr(sys.modules[parent], child, module)
