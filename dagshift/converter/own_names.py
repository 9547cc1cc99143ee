"""A file that binds a name the converted code imports from dagshift (a loop's ``task``
variable, a function named ``render``): dagshift's comes in as ``import dagshift`` and reads
``dagshift.NAME``; the file's own ``NAME`` stays as written.

Which ``NAME`` is whose cannot be told from the converted tree: rules write new nodes for the
file's names too (a ``python_callable`` becomes ``fn.override(...)``). So the file is converted
with its own ``NAME`` spelled as a marker no rule writes (``mark``): every ``NAME`` left in the
output is then dagshift's (``qualify``), and the markers turn back into ``NAME`` (``restore``).
Without a clash nothing changes: no alias, and converting the output again changes nothing
(it imports ``dagshift`` itself, which ``Bindings`` does not count as a clash).
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import libcst as cst

from dagshift.converter.imports import USES
from dagshift.converter.model import Result
from dagshift.converter.walk import holding, nodes, walk

__all__ = ["mark", "qualify", "restore"]


class _Rename(cst.CSTTransformer):
    """Replaces the Name nodes whose ids are in ``targets`` by ``make(node)``."""

    def __init__(self, targets: set[int], paths: set[int], make: Any) -> None:
        self.targets, self.paths, self.make = targets, paths, make

    def on_visit(self, node: cst.CSTNode) -> bool:
        return id(node) in self.paths

    def leave_Name(self, original_node: cst.Name, updated_node: cst.Name) -> Any:
        return self.make(updated_node) if id(original_node) in self.targets else updated_node


def _renamed(module: cst.Module, targets: set[int], make: Any) -> cst.Module:
    return walk(module, _Rename(targets, holding(module, targets), make)) if targets else module


def mark(module: cst.Module, source: str, clash: set[str]) -> tuple[str, dict[str, str]]:
    """The source with the file's own names in ``clash`` spelled as markers (everywhere but as
    an attribute's name: ``ti.task`` is no binding), and ``{marker: name}``."""
    markers: dict[str, str] = {}
    for name in sorted(clash):
        marker, n = f"{name}_dagshift_own", 0
        while marker in source or marker in markers:
            n += 1
            marker = f"{name}_dagshift_own{n}"
        markers[marker] = name
    spelled = {name: marker for marker, name in markers.items()}
    refs = {cst.Attribute: ("value",)}  # keywords and parameters are the file's names too
    targets = {id(n) for n in nodes(module, refs) if type(n) is cst.Name and n.value in clash}
    new = _renamed(module, targets, lambda n: n.with_changes(value=spelled[n.value]))
    return new.code, markers


def qualify(module: cst.Module, clash: set[str]) -> cst.Module:
    """``dagshift.NAME`` for every reference to a name in ``clash`` (after ``mark``, all the
    converter's)."""
    targets = {id(n) for n in nodes(module, USES) if type(n) is cst.Name and n.value in clash}
    return _renamed(module, targets, lambda n: cst.Attribute(cst.Name("dagshift"), n))


def restore(result: Result, markers: dict[str, str], source: str) -> Result:
    """``result`` (of the marked source) with the file's names spelled back."""

    def back(text: str) -> str:
        for marker, name in markers.items():
            text = text.replace(marker, name)
        return text

    code = back(result.code)
    if result.status == "unchanged" or code == source and not result.findings:
        return Result("unchanged" if result.status != "not_a_dag" else "not_a_dag", source)
    findings = [replace(f, message=back(f.message)) for f in result.findings]
    bridged = [{k: back(v) for k, v in b.items()} for b in result.bridged]
    return replace(result, code=code, findings=findings, bridged=bridged)
