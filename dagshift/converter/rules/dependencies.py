"""Dependencies: ``>>``, ``<<``, ``set_upstream`` and ``set_downstream`` stay as written (the
runtime's placeholders support them); ``chain()`` and ``cross_downstream()`` become small
helpers with Airflow's exact rules (lists side by side in ``chain`` are joined pairwise).
An edge ``Label("...")`` between two tasks only annotates the edge: the edge stays, unlabelled.
"""

from __future__ import annotations

__all__ = ["CHAIN_HELPER", "CROSS_HELPER"]

DESCRIPTION = "chain() / cross_downstream() -> _dagshift_chain / _dagshift_cross_downstream"

CHAIN_HELPER = """

def _dagshift_chain(*tasks):
    # Airflow's chain(): neighbours in order; two lists side by side are joined pairwise
    for up, down in zip(tasks, tasks[1:]):
        if isinstance(up, list | tuple) and isinstance(down, list | tuple):
            if len(up) != len(down):
                raise ValueError("chain() needs lists of the same length side by side")
            for u, d in zip(up, down):
                u >> d
        elif isinstance(up, list | tuple):
            for u in up:
                u >> down
        else:
            up >> down
"""

CROSS_HELPER = """

def _dagshift_cross_downstream(from_tasks, to_tasks):
    # Airflow's cross_downstream(): every task of the first list before every one of the second
    for up in from_tasks:
        up >> list(to_tasks)
"""
