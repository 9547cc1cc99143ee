"""EmptyOperator / DummyOperator -> a ``_dagshift_empty`` task returning None."""

from __future__ import annotations

__all__ = ["HELPER"]

DESCRIPTION = "EmptyOperator / DummyOperator -> _dagshift_empty task"

HELPER = """

@task
def _dagshift_empty():
    return None
"""
