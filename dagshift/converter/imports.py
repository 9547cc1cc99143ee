"""The one place imports change: airflow imports left unused go, dagshift's names come in.

``from dagshift import ...`` takes the place of the first airflow import; an airflow import
whose names are still used (by a DAG that stays, or other code) stays as it is.
"""

from __future__ import annotations

import libcst as cst

from dagshift.converter.names import TASK_DECORATORS, is_airflow_import
from dagshift.converter.shadowing import shadowed
from dagshift.converter.walk import nodes

__all__ = ["USES", "Bindings", "finish_imports"]


# Where a name is used: not in an import, nor as an attribute's own name or a keyword
USES = {cst.Import: (), cst.ImportFrom: (), cst.Attribute: ("value",), cst.Arg: ("value",)}


def _referenced(module: cst.Module, airflow: set[str]) -> set[str]:
    """Names the module refers to; an airflow name (in ``airflow``) only where it is not a
    function's own binding of the same name (a callback's ``dag`` parameter)."""
    found = [node for node in nodes(module, USES) if type(node) is cst.Name]
    local = shadowed(module, [node for node in found if node.value in airflow])
    return {node.value for node in found if id(node) not in local}


class Bindings:
    """Names the file binds itself (definitions, assignments, loop targets, other imports);
    ``dagshift``: whether it binds ``dagshift`` other than by ``import dagshift``."""

    def __init__(self) -> None:
        self.found: set[str] = set()
        self.dagshift = False
        self._import = 0

    def _add(self, names: set[str]) -> None:
        self.found |= names
        self.dagshift = self.dagshift or "dagshift" in names

    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        self._add({node.name.value})

    def visit_ClassDef(self, node: cst.ClassDef) -> None:
        self._add({node.name.value})

    def visit_AssignTarget(self, node: cst.AssignTarget) -> None:
        self._add(_names(node.target))

    def visit_For(self, node: cst.For) -> None:
        self._add(_names(node.target))

    def visit_AsName(self, node: cst.AsName) -> None:
        if not self._import:
            self._add(_names(node.name))

    def visit_Import(self, node: cst.Import) -> None:
        self._import += 1
        if not is_airflow_import(node):
            for alias in node.names:
                local = (alias.evaluated_alias or alias.evaluated_name).split(".")[0]
                self.found.add(local)
                self.dagshift = self.dagshift or (local == "dagshift" and alias.asname is not None)

    def leave_Import(self, original_node: cst.Import) -> None:
        self._import -= 1

    def visit_ImportFrom(self, node: cst.ImportFrom) -> None:
        self._import += 1
        if _from_dagshift(node):
            return  # dagshift's own names (a file converted before): not the file's
        if not is_airflow_import(node) and not isinstance(node.names, cst.ImportStar):
            for alias in node.names:
                self._add({alias.evaluated_alias or alias.evaluated_name})

    def leave_ImportFrom(self, original_node: cst.ImportFrom) -> None:
        self._import -= 1


def _names(node: cst.CSTNode) -> set[str]:
    if isinstance(node, cst.Name):
        return {node.value}
    out: set[str] = set()
    for el in getattr(node, "elements", []):
        out |= _names(el.value)
    return out


def _from_dagshift(node: cst.CSTNode) -> bool:
    return (
        isinstance(node, cst.ImportFrom)
        and node.module is not None
        and not node.relative
        and cst.helpers.get_full_name_for_node(node.module) == "dagshift"
        and not isinstance(node.names, cst.ImportStar)
    )


def _imported_from_dagshift(module: cst.Module) -> set[str]:
    """``from dagshift import a, b as c`` at module level: {"a", "b as c"}."""
    out: set[str] = set()
    for stmt in module.body:
        if isinstance(stmt, cst.SimpleStatementLine):
            for small in stmt.body:
                if _from_dagshift(small):
                    for alias in small.names:
                        name, local = alias.evaluated_name, alias.evaluated_alias
                        out.add(f"{name} as {local}" if local and local != name else name)
    return out


def _keep(alias: cst.ImportAlias, mod: str, used: set[str], taskflow: bool) -> bool:
    local = alias.evaluated_alias or alias.evaluated_name
    full = f"{mod}.{alias.evaluated_name}" if mod else alias.evaluated_name
    if taskflow and full in TASK_DECORATORS:
        return False
    return local.split(".")[0] in used


def _trimmed(small: cst.BaseSmallStatement, used: set[str], taskflow: bool):
    """The import without its unused airflow names, or None when none is left."""
    if not is_airflow_import(small):
        return small
    if isinstance(small, cst.ImportFrom):
        mod = cst.helpers.get_full_name_for_node(small.module) or ""
        names = [a for a in small.names if _keep(a, mod, used, taskflow)]
    else:
        names = [a for a in small.names if _keep(a, "", used, taskflow)]
    if not names:
        return None
    if len(names) == len(small.names):
        return small
    names[-1] = names[-1].with_changes(comma=cst.MaybeSentinel.DEFAULT)
    if isinstance(small, cst.ImportFrom) and small.lpar is None:
        return small.with_changes(names=names)
    return small.with_changes(names=names)


def finish_imports(
    module: cst.Module,
    names: dict[str, str],
    needs: set[str],
    modules: set[str],
    taskflow: bool,
    have: set[str],
) -> cst.Module:
    """Drop airflow imports no longer used; add ``from dagshift import <needs>`` and modules
    (``have``: the names the file binds)."""
    used = _referenced(module, {local.partition(".")[0] for local in names})
    needs = set(needs) - _imported_from_dagshift(module)  # a file converted before has some
    new_lines = [f"import {m}\n" for m in sorted(modules) if m not in have]
    if needs:
        new_lines.append(f"from dagshift import {', '.join(sorted(needs))}\n")
    added = [cst.parse_statement(line) for line in new_lines]
    body: list[cst.BaseStatement] = []
    for stmt in module.body:
        if isinstance(stmt, cst.SimpleStatementLine) and any(
            is_airflow_import(s) for s in stmt.body
        ):
            kept = [t for t in (_trimmed(s, used, taskflow) for s in stmt.body) if t is not None]
            if added:
                added[0] = added[0].with_changes(leading_lines=stmt.leading_lines)
                body.extend(added)
                added = []
                if kept:
                    stmt = stmt.with_changes(leading_lines=[])
            if kept:
                kept[-1] = kept[-1].with_changes(semicolon=cst.MaybeSentinel.DEFAULT)
                body.append(stmt.with_changes(body=kept))
            continue
        body.append(stmt)
    return module.with_changes(body=body + added)
