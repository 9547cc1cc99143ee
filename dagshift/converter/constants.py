"""Names a file binds exactly once to a string: their text, known without running the file.

``templated_command = textwrap.dedent('''...''')`` then ``bash_command=templated_command`` is
how Airflow's tutorial (and the DAGs copied from it) pass a template. The name's text is known
statically when the whole module binds the name exactly once (every scope and every binding
form counted: assignments, loop and ``with`` targets, imports, parameters, definitions, ``del``,
``global``), by ``NAME = <string literal>`` or ``NAME = dedent(<string literal>)`` where
``dedent`` is :func:`textwrap.dedent` through the file's own imports (themselves bound once).
A use of such a name anywhere either reads that one value or fails with ``NameError``, in
Airflow and in the converted flow alike. A ``from ... import *`` of any module could bind
anything: then no name is known.
"""

from __future__ import annotations

import textwrap
from collections import Counter

import libcst as cst

from dagshift.converter.model import evaluated

__all__ = ["Constants"]


def _targets(node: cst.CSTNode | None) -> list[str]:
    """Names bound by an assignment target (tuples and lists unpacked; attributes bind none)."""
    if isinstance(node, cst.Name):
        return [node.value]
    if isinstance(node, cst.StarredElement | cst.Element):
        return _targets(node.value)
    return [name for el in getattr(node, "elements", ()) for name in _targets(el)]


class Constants:
    """A scan object (``walk.scan``) counting every binding of every name of a module."""

    def __init__(self) -> None:
        self.bound: Counter[str] = Counter()
        self.values: dict[str, cst.BaseExpression] = {}  # NAME = value (one target)
        self.imported: dict[str, str] = {}  # local name -> "textwrap" / "textwrap.dedent"
        self.star = False
        self._import = 0

    # ------------------------------------------------------------------ bindings
    def _bind(self, names: list[str]) -> None:
        self.bound.update(names)

    def visit_Assign(self, node: cst.Assign) -> None:
        if len(node.targets) == 1 and isinstance(node.targets[0].target, cst.Name):
            self.values[node.targets[0].target.value] = node.value

    def visit_AssignTarget(self, node: cst.AssignTarget) -> None:
        self._bind(_targets(node.target))

    def visit_AnnAssign(self, node: cst.AnnAssign) -> None:
        self._bind(_targets(node.target))

    def visit_AugAssign(self, node: cst.AugAssign) -> None:
        self._bind(_targets(node.target))

    def visit_NamedExpr(self, node: cst.NamedExpr) -> None:
        self._bind(_targets(node.target))

    def visit_For(self, node: cst.For) -> None:
        self._bind(_targets(node.target))

    def visit_CompFor(self, node: cst.CompFor) -> None:
        self._bind(_targets(node.target))

    def visit_Del(self, node: cst.Del) -> None:
        self._bind(_targets(node.target))

    def visit_AsName(self, node: cst.AsName) -> None:  # with ... as x, except E as x
        if not self._import:
            self._bind(_targets(node.name))

    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        self._bind([node.name.value])

    def visit_ClassDef(self, node: cst.ClassDef) -> None:
        self._bind([node.name.value])

    def visit_Param(self, node: cst.Param) -> None:
        self._bind([node.name.value])

    def visit_Global(self, node: cst.Global) -> None:
        self._bind([n.name.value for n in node.names])

    def visit_Nonlocal(self, node: cst.Nonlocal) -> None:
        self._bind([n.name.value for n in node.names])

    def visit_MatchAs(self, node: cst.MatchAs) -> None:
        self._bind(_targets(node.name))

    def visit_MatchStar(self, node: cst.MatchStar) -> None:
        self._bind(_targets(node.name))

    def visit_MatchMapping(self, node: cst.MatchMapping) -> None:
        self._bind(_targets(node.rest))

    def visit_Import(self, node: cst.Import) -> None:
        self._import += 1
        for alias in node.names:
            full = alias.evaluated_name
            local = alias.evaluated_alias or full.split(".")[0]
            self._bind([local])
            if full == "textwrap":
                self.imported[local] = "textwrap"

    def leave_Import(self, original_node: cst.Import) -> None:
        self._import -= 1

    def visit_ImportFrom(self, node: cst.ImportFrom) -> None:
        self._import += 1
        if isinstance(node.names, cst.ImportStar):
            self.star = True
            return
        module = cst.helpers.get_full_name_for_node(node.module) if node.module else None
        for alias in node.names:
            local = alias.evaluated_alias or alias.evaluated_name
            self._bind([local])
            if module == "textwrap" and not node.relative and alias.evaluated_name == "dedent":
                self.imported[local] = "textwrap.dedent"

    def leave_ImportFrom(self, original_node: cst.ImportFrom) -> None:
        self._import -= 1

    # ------------------------------------------------------------------ reading
    def _once(self, name: str) -> bool:
        return not self.star and self.bound[name] == 1

    def _is_dedent(self, func: cst.BaseExpression) -> bool:
        if isinstance(func, cst.Name):
            return self.imported.get(func.value) == "textwrap.dedent" and self._once(func.value)
        return (
            isinstance(func, cst.Attribute)
            and isinstance(func.value, cst.Name)
            and func.attr.value == "dedent"
            and self.imported.get(func.value.value) == "textwrap"
            and self._once(func.value.value)
        )

    def text(self, node: cst.BaseExpression) -> str | None:
        """The string ``node`` (a Name) is bound to, when the module binds it once, else None."""
        if not isinstance(node, cst.Name) or not self._once(node.value):
            return None
        value = self.values.get(node.value)
        dedent = False
        if isinstance(value, cst.Call) and self._is_dedent(value.func):
            args = value.args
            if len(args) != 1 or args[0].keyword is not None or args[0].star:
                return None
            value, dedent = args[0].value, True
        if not isinstance(value, cst.SimpleString | cst.ConcatenatedString):
            return None
        text = evaluated(value)
        if not isinstance(text, str):  # bytes, or an f-string part
            return None
        return textwrap.dedent(text) if dedent else text
