"""Loading flows from Python files without knowing their variable names.

Every :class:`Flow` registers itself, when constructed, with the loaders that are collecting
at that moment; so flows built inside functions (an ``@dag`` function called at import time,
a factory) are found as well as module-level ones. Files are imported under unique module
names with their folder on ``sys.path``, as Airflow's DAG processor does.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib.util
import sys
import traceback
from collections.abc import Iterator
from pathlib import Path

from dagshift.runtime.discovery import dag_files
from dagshift.runtime.flow import Flow, _collectors

__all__ = ["LoadError", "collecting", "load_file", "load_path"]


class LoadError(Exception):
    """A file could not be loaded; the message names the file and line."""

    def __init__(self, path: Path, line: int | None, reason: str) -> None:
        where = f"{path}:{line}" if line else str(path)
        super().__init__(f"{where}: {reason}")
        self.path, self.line, self.reason = path, line, reason


@contextlib.contextmanager
def collecting() -> Iterator[list[Flow]]:
    """Collect every Flow constructed inside the block."""
    found: list[Flow] = []
    token = _collectors.set((*_collectors.get(), found))
    try:
        yield found
    finally:
        _collectors.reset(token)


def _module_name(path: Path) -> str:
    digest = hashlib.sha1(str(path).encode()).hexdigest()[:10]
    stem = "".join(c if c.isalnum() else "_" for c in path.stem)
    return f"dagshift_loaded_{stem}_{digest}"


def _error_line(exc: BaseException, path: Path) -> int | None:
    if isinstance(exc, SyntaxError) and exc.lineno:
        return exc.lineno
    frames = [f for f in traceback.extract_tb(exc.__traceback__) if Path(f.filename) == path]
    return frames[-1].lineno if frames else None


def load_file(path: str | Path, root: str | Path | None = None) -> list[Flow]:
    """Import one Python file and return the flows it constructed, in order.

    ``root`` (the DAGs folder the file was found in) is on ``sys.path`` too while it imports,
    as Airflow puts its DAGs folder there: a DAG in a subfolder imports the folder's helpers.

    Raises:
        LoadError: the file is missing, does not parse, or raised while it was imported.
    """
    path = Path(path).resolve()
    if not path.is_file():
        raise LoadError(path, None, "no such file")
    with _on_sys_path(str(path.parent), None if root is None else str(Path(root).resolve())):
        return _import(path)


@contextlib.contextmanager
def _on_sys_path(*folders: str | None) -> Iterator[None]:
    added = [f for f in dict.fromkeys(folders) if f is not None and f not in sys.path]
    sys.path[:0] = added
    try:
        yield
    finally:
        for folder in added:
            if folder in sys.path:
                sys.path.remove(folder)


def _import(path: Path) -> list[Flow]:
    name = _module_name(path)
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        with collecting() as found:
            spec.loader.exec_module(module)
        for flow in found:  # what a flow does once its file ran (the shim's DAG: validate)
            if flow.fileloc is None:
                flow.fileloc = str(path)
            flow.loaded()
    except SyntaxError as exc:
        sys.modules.pop(name, None)
        raise LoadError(path, exc.lineno, f"syntax error: {exc.msg}") from exc
    except Exception as exc:
        sys.modules.pop(name, None)
        line = _error_line(exc, path)
        raise LoadError(path, line, f"{type(exc).__name__}: {exc}") from exc
    # Loaded files are not importable by name elsewhere: ship their functions by value to
    # dask.distributed workers.
    import cloudpickle

    cloudpickle.register_pickle_by_value(module)
    return _unique(found)


def _unique(flows: list[Flow]) -> list[Flow]:
    seen: set[int] = set()
    out = []
    for flow in flows:
        if id(flow) not in seen:
            seen.add(id(flow))
            out.append(flow)
    return out


def load_path(path: str | Path, errors: list[LoadError] | None = None) -> list[Flow]:
    """Load a file, or the DAG files below a folder as Airflow's DAG discovery finds them
    (``.airflowignore``, only files that might contain a DAG: see
    :mod:`dagshift.runtime.discovery`), in sorted order.

    With ``errors`` given, a file that fails is appended to it and the other files go on;
    without it the first failure raises :class:`LoadError`.
    """
    path = Path(path)
    files = dag_files(path) if path.is_dir() else [path]
    flows: list[Flow] = []
    for file in files:
        try:
            flows.extend(load_file(file, root=path if path.is_dir() else None))
        except LoadError as exc:
            if errors is None:
                raise
            errors.append(exc)
    return flows
