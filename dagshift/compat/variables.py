"""Airflow Variables for the import shim: the runtime's store (``dagshift/runtime/variables.py``).

The shim and converted flows read and write one store, so a DAG file run through the shim and
its conversion see the same values.
"""

from __future__ import annotations

from dagshift.runtime.variables import Variable, VariableAccessor

__all__ = ["Variable", "VariableAccessor"]
