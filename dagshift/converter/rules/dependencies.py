"""Dependencies: ``>>``, ``<<``, ``set_upstream`` and ``set_downstream`` stay as written (the
runtime's placeholders support them); ``chain()`` and ``cross_downstream()`` become small
helpers with Airflow's exact rules (lists side by side in ``chain`` are joined pairwise);
``chain_linear()`` puts every task of one element before every task of the next.
An edge ``Label("...")`` between two tasks only annotates the edge: the edge stays, unlabelled.
"""

from __future__ import annotations

from typing import Any

import libcst as cst

from dagshift.converter.names import CHAIN, CHAIN_LINEAR, CROSS_DOWNSTREAM, LABELS, qualified
from dagshift.converter.rules import Rule

__all__ = ["CHAIN_HELPER", "CHAIN_LINEAR_HELPER", "CROSS_HELPER", "RULE"]

DESCRIPTION = (
    "chain() / chain_linear() / cross_downstream() -> _dagshift_chain / _dagshift_chain_linear"
    " / _dagshift_cross_downstream"
)

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

CHAIN_LINEAR_HELPER = """

def _dagshift_chain_linear(*elements):
    # Airflow's chain_linear(): every task of one element before all of the next element
    if not elements:
        raise ValueError("No tasks provided; nothing to do.")
    prev, deps_set = None, False
    for curr in elements:
        if prev is not None:
            for up in prev:
                up >> curr
                deps_set = True
        prev = curr if isinstance(curr, list | tuple) else [curr]
    if not deps_set:
        raise ValueError("No dependencies were set. Did you forget to expand with `*`?")
"""

CROSS_HELPER = """

def _dagshift_cross_downstream(from_tasks, to_tasks):
    # Airflow's cross_downstream(): every task of the first list before every one of the second
    for up in from_tasks:
        up >> list(to_tasks)
"""

HELPERS = {
    "_dagshift_chain": CHAIN_HELPER,
    "_dagshift_chain_linear": CHAIN_LINEAR_HELPER,
    "_dagshift_cross_downstream": CROSS_HELPER,
}


def _rewrite_call(job: Any, original: cst.Call, updated: cst.Call, full: str | None) -> Any:
    for names, helper in (
        (CHAIN, "_dagshift_chain"),
        (CHAIN_LINEAR, "_dagshift_chain_linear"),
        (CROSS_DOWNSTREAM, "_dagshift_cross_downstream"),
    ):
        if full in names:
            job.helpers.add(helper)
            return updated.with_changes(func=cst.Name(helper))
    return None


def _rewrite_binary(job: Any, original: cst.BinaryOperation, updated: cst.BinaryOperation) -> Any:
    # `a >> Label("why") >> b`: an edge label only annotates the edge; the edge stays
    if isinstance(updated.operator, cst.RightShift | cst.LeftShift):
        for side, other in ((updated.right, updated.left), (updated.left, updated.right)):
            if isinstance(side, cst.Call) and qualified(side.func, job.file.names) in LABELS:
                return other
    return None


RULE = Rule("dependencies", DESCRIPTION, rewrite_call=_rewrite_call, rewrite_binary=_rewrite_binary)
