"""Run unmodified Airflow DAG files on dagshift: an import shim for Airflow's authoring API.

Example:
    >>> import dagshift.compat
    >>> dagshift.compat.install()
    >>> from airflow import DAG      # now served by dagshift
    >>> from airflow.operators.python import PythonOperator

``dagshift run`` installs the shim itself. DAGs become runtime flows (``dag.flow``), run with
``dag.test(logical_date=...)`` or ``dagshift run FILE --date 2024-01-15``.
"""

from __future__ import annotations

import sys

from dagshift.compat.finder import ShimFinder

__all__ = ["install", "installed", "uninstall"]

_finder = ShimFinder()


def installed() -> bool:
    return _finder in sys.meta_path


def install() -> None:
    """Serve ``airflow.*`` from the shim in this process (idempotent).

    Raises:
        RuntimeError: real Airflow was already imported in this process; the two cannot mix.
    """
    if installed():
        return
    real = sys.modules.get("airflow")
    if real is not None and not getattr(real, "__dagshift_shim__", False):
        raise RuntimeError(
            "apache-airflow is already imported in this process, so dagshift's Airflow shim "
            "cannot serve `airflow`: call dagshift.compat.install() before anything imports "
            "airflow (or run the file with `dagshift run`)"
        )
    sys.meta_path.insert(0, _finder)
    # Tasks of legacy DAGs sent to dask.distributed workers need the shim there too.
    from dagshift.runtime.distributed import WORKER_SETUP

    if install not in WORKER_SETUP:
        WORKER_SETUP.append(install)
    from dagshift.compat.plugins import load_plugins

    load_plugins()


def uninstall() -> None:
    """Stop serving ``airflow`` and forget the shim's modules (for tests)."""
    if installed():
        sys.meta_path.remove(_finder)
    for name in [n for n in sys.modules if n == "airflow" or n.startswith("airflow.")]:
        if getattr(sys.modules[name], "__dagshift_shim__", False):
            del sys.modules[name]
