"""default_args as real files build them: ``dict(...)``, ``{**base, ...}`` merges, and a
function of the file that returns one, read statically (never executed).

What the DAG rule needs is the dict's keys (which are task options, which are the flow's start
and end dates, which are ignorable) and, for each key, an expression that gives its value in
the converted file, evaluated once, as in the original:

- a dict written in the ``DAG(...)`` call itself (a literal, or ``dict(k=v, ...)``): each
  value's own expression (it is evaluated there and nowhere else);
- a name the module binds once, to any of the forms here (or to ``f()`` where ``f`` is a
  function of the file whose body is ``return <form>``): ``NAME["key"]``, which reads the very
  dict the user's code built; the keys come from reading the form;
- ``**NAME`` inside a merge: ``NAME["key"]`` for each of its keys, later keys winning.

A dict whose keys are not all known (a ``**`` of something else, a computed key, a function
with other statements), or whose name the file also changes (``NAME[...] = ...``,
``NAME.update(...)`` ...), is not read: its DAG stays (DS023).

A DAG made in a function of the file with ``default_args=<its parameter>`` reads the
module-level name that every call of the function in the file passes for that parameter
(``factory_argument``: a SubDAG factory called with the parent's ``ARGS``).
"""

from __future__ import annotations

from typing import Any

import libcst as cst

from dagshift.converter.model import string_value
from dagshift.converter.walk import nodes

__all__ = ["DefaultArgs", "factory_argument", "read_default_args"]

DESCRIPTION = "default_args from dict(...), {**base, ...} merges, a function's return -> options"

# key -> (the expression giving its value in the converted file, the value as written)
DefaultArgs = dict[str, tuple[cst.BaseExpression, cst.BaseExpression]]


def _lookup(name: str, key: str) -> cst.BaseExpression:
    index = cst.Index(cst.SimpleString(f'"{key}"'))
    return cst.Subscript(cst.Name(name), [cst.SubscriptElement(index)])


class _Reader:
    def __init__(self, info: Any) -> None:
        self.assigned: dict[str, cst.BaseExpression] = info.assigned
        self.functions: dict[str, cst.FunctionDef | None] = info.functions
        self.references: dict[str, int] = info.references
        self.module: cst.Module = info.module

    def written(
        self, node: cst.BaseExpression, seen: frozenset[str]
    ) -> dict[str, cst.BaseExpression] | None:
        """Key -> value as written, of the dict ``node`` builds, when its keys are known."""
        found = self.inline(node, seen)
        if found is not None:
            return {k: written for k, (_, written) in found.items()}
        if isinstance(node, cst.Name):
            named = self.named(node.value, seen)
            return None if named is None else {k: w for k, (_, w) in named.items()}
        if isinstance(node, cst.Call) and isinstance(node.func, cst.Name) and not node.args:
            fn = self.functions.get(node.func.value)
            body = _returned(fn) if fn is not None else None
            return self.written(body, seen) if body is not None else None
        return None

    def named(self, name: str, seen: frozenset[str]) -> DefaultArgs | None:
        """``NAME["key"]`` for each key of the dict the module binds ``name`` to, once."""
        value = self.assigned.get(name)
        if value is None or name in seen or self._changed(name):
            return None
        found = self.written(value, seen | {name})
        if found is None:
            return None
        return {k: (_lookup(name, k), written) for k, written in found.items()}

    def inline(self, node: cst.BaseExpression, seen: frozenset[str]) -> DefaultArgs | None:
        """A literal dict or ``dict(...)`` call: each key's value expression."""
        out: DefaultArgs = {}
        if isinstance(node, cst.Dict):
            for el in node.elements:
                if isinstance(el, cst.StarredDictElement):
                    merged = self._merged(el.value, seen)
                    if merged is None:
                        return None
                    out.update(merged)
                    continue
                key = string_value(el.key)
                if key is None:
                    return None
                out[key] = (el.value, el.value)
            return out
        if not (
            isinstance(node, cst.Call)
            and isinstance(node.func, cst.Name)
            and node.func.value == "dict"
            and self._builtin("dict")
        ):
            return None
        for arg in node.args:
            if arg.keyword is not None:
                out[arg.keyword.value] = (arg.value, arg.value)
                continue
            merged = self._merged(arg.value, seen) if arg.star in ("", "**") else None
            if merged is None:
                return None
            out.update(merged)
        return out

    def _merged(self, node: cst.BaseExpression, seen: frozenset[str]) -> DefaultArgs | None:
        if isinstance(node, cst.Name):
            return self.named(node.value, seen)
        return self.inline(node, seen)

    def _builtin(self, name: str) -> bool:
        """The file binds ``name`` nowhere, so it is the builtin."""
        return (
            name not in self.assigned
            and name not in self.functions
            and not any(
                isinstance(n, cst.ImportAlias)
                and (n.evaluated_alias or n.evaluated_name).split(".")[0] == name
                for n in nodes(self.module)
            )
        )

    def _changed(self, name: str) -> bool:
        """``name[...] = / del name[...] / name.method(...) / name |= ...`` anywhere."""
        for node in nodes(self.module):
            if isinstance(node, cst.AssignTarget | cst.Del | cst.AugAssign):
                target = node.target
                if isinstance(target, cst.Subscript | cst.Name) and _is(target, name):
                    if isinstance(node, cst.AugAssign) or isinstance(target, cst.Subscript):
                        return True
            if isinstance(node, cst.Call) and isinstance(node.func, cst.Attribute):
                if isinstance(node.func.value, cst.Name) and node.func.value.value == name:
                    return True
        return False


def _is(target: cst.BaseExpression, name: str) -> bool:
    base = target.value if isinstance(target, cst.Subscript) else target
    return isinstance(base, cst.Name) and base.value == name


def _returned(fn: cst.FunctionDef) -> cst.BaseExpression | None:
    """The expression of a function whose body is only ``return X`` (a docstring allowed)."""
    if (
        fn.params.params
        or fn.params.kwonly_params
        or fn.params.star_arg != cst.MaybeSentinel.DEFAULT
    ):
        return None
    if fn.params.star_kwarg or fn.decorators or not isinstance(fn.body, cst.IndentedBlock):
        return None
    body = list(fn.body.body)
    if body and _is_docstring(body[0]):
        body = body[1:]
    if len(body) != 1 or not isinstance(body[0], cst.SimpleStatementLine):
        return None
    small = body[0].body
    if len(small) != 1 or not isinstance(small[0], cst.Return) or small[0].value is None:
        return None
    value = small[0].value
    # the returned dict may only read module-level names: a local would differ per call
    return value if not _names_of(value) & _locals(fn) else None


def _is_docstring(stmt: cst.BaseStatement) -> bool:
    return (
        isinstance(stmt, cst.SimpleStatementLine)
        and len(stmt.body) == 1
        and isinstance(stmt.body[0], cst.Expr)
        and isinstance(stmt.body[0].value, cst.SimpleString | cst.ConcatenatedString)
    )


def _names_of(node: cst.CSTNode) -> set[str]:
    return {n.value for n in nodes(node) if type(n) is cst.Name}


def _locals(fn: cst.FunctionDef) -> set[str]:
    return {
        n.target.value
        for n in nodes(fn.body)
        if isinstance(n, cst.AssignTarget) and isinstance(n.target, cst.Name)
    }


def read_default_args(value: cst.BaseExpression, info: Any) -> DefaultArgs | None:
    """Key -> value expression of a ``default_args=`` value (see the module docstring)."""
    reader = _Reader(info)
    if isinstance(value, cst.Name):
        return reader.named(value.value, frozenset())
    return reader.inline(value, frozenset())


def factory_argument(value: cst.BaseExpression, site: cst.CSTNode, info: Any) -> cst.Name | None:
    """``default_args=args`` in a function of the file whose parameter ``args`` is, at every
    call of the function in the file, the same module-level name (``section(..., ARGS)``, a
    SubDAG factory's): that name, whose dict the DAG gets at every call; else None."""
    if info is None or not isinstance(value, cst.Name):
        return None
    fn = next(
        (
            s
            for s in info.module.body
            if isinstance(s, cst.FunctionDef) and any(n is site for n in nodes(s))
        ),
        None,
    )
    if (
        fn is None
        or fn.decorators
        or isinstance(fn.params.star_arg, cst.Param)
        or fn.params.star_kwarg
    ):
        return None
    params = [p.name.value for p in fn.params.params]
    if value.value not in params or value.value in _locals(fn):
        return None
    name = fn.name.value
    calls = [
        n
        for n in nodes(info.module)
        if isinstance(n, cst.Call) and isinstance(n.func, cst.Name) and n.func.value == name
    ]
    uses = sum(1 for n in nodes(info.module) if type(n) is cst.Name and n.value == name) - 1
    if not calls or len(calls) != uses:  # the function is also used otherwise
        return None
    given = {_argument(c, params.index(value.value), value.value) for c in calls}
    found = given.pop() if len(given) == 1 else None
    if found is None or found not in info.assigned or found in params or found in _locals(fn):
        return None
    return cst.Name(found)


def _argument(call: cst.Call, index: int, keyword: str) -> str | None:
    """The name a call passes for the parameter at ``index`` named ``keyword``, if a name."""
    if any(a.star for a in call.args):
        return None
    for i, arg in enumerate(call.args):
        if (arg.keyword is None and i == index) or (arg.keyword and arg.keyword.value == keyword):
            return arg.value.value if isinstance(arg.value, cst.Name) else None
    return None
