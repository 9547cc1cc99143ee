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

:meth:`Constants.value` goes one step further, as real DAG files build commands: an expression
made only of string and number literals, such names (bound once to such an expression),
f-strings of them (conversions and plain format specs included), ``+`` of two strings and
``"...".format(...)`` of them has the one value Python gives it when the file loads. It is
computed here by reading (an f-string's text is unescaped as Python does, each field formatted
with :func:`format`): no code of the file runs.
"""

from __future__ import annotations

import ast
import string
import textwrap
from collections import Counter
from typing import Any

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
        if not isinstance(node, cst.Name):
            return None
        found = self.value(node)
        return found if isinstance(found, str) else None

    def value(self, node: cst.BaseExpression, _seen: frozenset[str] = frozenset()) -> Any:
        """The str, int or float ``node`` evaluates to when the file loads, or None when that
        is not known statically (see the module docstring)."""
        if isinstance(node, cst.Name):
            return self._named(node.value, _seen)
        if isinstance(node, cst.Integer | cst.Float):
            return node.evaluated_value
        if isinstance(node, cst.SimpleString):
            found = evaluated(node)
            return found if isinstance(found, str) else None
        if isinstance(node, cst.ConcatenatedString):
            return _joined(self.value(node.left, _seen), self.value(node.right, _seen))
        if isinstance(node, cst.FormattedString):
            return self._formatted(node, _seen)
        if isinstance(node, cst.BinaryOperation) and isinstance(node.operator, cst.Add):
            return _joined(self.value(node.left, _seen), self.value(node.right, _seen))
        if isinstance(node, cst.Call):
            return self._called(node, _seen)
        return None

    def _named(self, name: str, seen: frozenset[str]) -> Any:
        if name in seen or not self._once(name) or name not in self.values:
            return None
        return self.value(self.values[name], seen | {name})

    def _called(self, call: cst.Call, seen: frozenset[str]) -> Any:
        args = call.args
        if any(a.star for a in args):
            return None
        if self._is_dedent(call.func):
            if len(args) != 1 or args[0].keyword is not None:
                return None
            found = self.value(args[0].value, seen)
            return textwrap.dedent(found) if isinstance(found, str) else None
        func = call.func
        if not (isinstance(func, cst.Attribute) and func.attr.value == "format"):
            return None
        template = self.value(func.value, seen)
        if not isinstance(template, str) or not _plain_fields(template):
            return None
        values = [self.value(a.value, seen) for a in args]
        if any(v is None for v in values):
            return None
        positional = [v for a, v in zip(args, values, strict=True) if a.keyword is None]
        named = {a.keyword.value: v for a, v in zip(args, values, strict=True) if a.keyword}
        try:
            return template.format(*positional, **named)
        except (IndexError, KeyError, ValueError):  # Python fails the same call when loading
            return None

    def _formatted(self, node: cst.FormattedString, seen: frozenset[str]) -> str | None:
        prefix = node.start.lower().replace("f", "")  # r, and the opening quote(s)
        out: list[str] = []
        for part in node.parts:
            if isinstance(part, cst.FormattedStringText):
                text = part.value.replace("{{", "{").replace("}}", "}")
                out.append(ast.literal_eval(prefix + text + node.end))
                continue
            if part.equal is not None:  # f"{x=}" also prints the expression's source
                return None
            found = self.value(part.expression, seen)
            spec = part.format_spec or []
            if found is None or not all(isinstance(p, cst.FormattedStringText) for p in spec):
                return None
            found = {"r": repr, "s": str, "a": ascii}.get(part.conversion or "", _same)(found)
            try:
                out.append(format(found, "".join(p.value for p in spec)))
            except ValueError:
                return None
        return "".join(out)


def _same(value: Any) -> Any:
    return value


def _joined(left: Any, right: Any) -> str | None:
    return left + right if isinstance(left, str) and isinstance(right, str) else None


def _plain_fields(template: str) -> bool:
    """``str.format`` fields that are only positions or names (no attribute, index, nesting)."""
    try:
        fields = list(string.Formatter().parse(template))
    except ValueError:
        return False
    for _, name, spec, _ in fields:
        if name is None:
            continue
        if not (name == "" or name.isdigit() or name.isidentifier()) or "{" in (spec or ""):
            return False
    return True
