"""Shadowing: a name a function binds itself is not the module-level import of that name.

``def sla_callback(dag, ...)`` in a file that imports ``dag`` from ``airflow.decorators``
reads its own parameter, not Airflow's ``@dag``: such a reference is no Airflow name left in
the code. Scopes come from libcst's ScopeProvider (parameters, assignments, ``for`` and
``with`` targets, comprehension variables, ``global`` / ``nonlocal`` as Python resolves them),
computed only for a module that has candidate references, and cached for the last module.
"""

from __future__ import annotations

import libcst as cst
import libcst.metadata as meta

__all__ = ["shadowed"]

_last: list[tuple[cst.Module, dict]] = []  # (module, its scopes): the module last asked about


def _scopes(module: cst.Module) -> dict:
    if not _last or _last[0][0] is not module:
        wrapper = meta.MetadataWrapper(module, unsafe_skip_copy=True)  # keep the nodes' ids
        _last[:] = [(module, dict(wrapper.resolve(meta.ScopeProvider)))]
    return _last[0][1]


def shadowed(module: cst.Module, names: list[cst.Name]) -> set[int]:
    """The ids of those of ``names`` (references to module-level names, found in ``module``)
    that resolve to a binding of an enclosing function, lambda or comprehension only, or that
    are the whole target of a module-level ``NAME = ...``: a store, which reads no import
    (``dag = example_dag_decorator()`` after ``from airflow.decorators import dag``)."""
    if not names:
        return set()
    scopes = _scopes(module)
    out = _stores(module) & {id(name) for name in names}
    for name in names:
        scope = scopes.get(name)
        if scope is None or isinstance(scope, meta.GlobalScope):
            continue
        bindings = scope[name.value]
        if bindings and all(not isinstance(b.scope, meta.GlobalScope) for b in bindings):
            out.add(id(name))
    return out


def _stores(module: cst.Module) -> set[int]:
    return {
        id(target.target)
        for stmt in module.body
        if isinstance(stmt, cst.SimpleStatementLine)
        for small in stmt.body
        if isinstance(small, cst.Assign)
        for target in small.targets
        if isinstance(target.target, cst.Name)
    }
