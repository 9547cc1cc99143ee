"""Where a node is: the statement that holds it and that statement's line, found cheaply.

libcst's position metadata regenerates the code with position tracking, which costs more than
the rest of a conversion. A finding needs only the line of the statement that holds its node
(the TODO comment goes above that statement), so this module walks libcst's statements beside
those of Python's own ``ast`` (C-fast), which carry line numbers: statements correspond one to
one (``a; b`` counts twice, a decorated definition starts at its first decorator).
"""

from __future__ import annotations

import ast
from typing import Any

import libcst as cst

__all__ = ["locate"]


def _lines(stmts: list[Any], nodes: list[ast.stmt], out: dict[int, int]) -> None:
    i = 0
    for stmt in stmts:
        node = nodes[i]
        decorators = getattr(node, "decorator_list", None)
        out[id(stmt)] = decorators[0].lineno if decorators else node.lineno
        if isinstance(stmt, cst.SimpleStatementLine):
            i += len(stmt.body)
            continue
        i += 1
        _nested(stmt, node, out)


def _block(block: Any) -> list[Any]:
    return list(block.body) if isinstance(block, cst.IndentedBlock) else [block]


def _nested(stmt: Any, node: ast.stmt, out: dict[int, int]) -> None:
    """The statements inside a compound statement, beside the ast node's."""
    if isinstance(stmt.body, cst.SimpleStatementSuite):  # `if x: a; b` on one line
        return
    _lines(_block(stmt.body), node.body, out)
    orelse = getattr(stmt, "orelse", None)
    if isinstance(stmt, cst.If) and isinstance(orelse, cst.If):  # elif
        _lines([orelse], node.orelse, out)
    elif orelse is not None and not isinstance(orelse.body, cst.SimpleStatementSuite):
        _lines(_block(orelse.body), node.orelse, out)
    handlers = zip(getattr(stmt, "handlers", ()), getattr(node, "handlers", ()), strict=True)
    for handler, ast_handler in handlers:
        if not isinstance(handler.body, cst.SimpleStatementSuite):
            _lines(_block(handler.body), ast_handler.body, out)
    final = getattr(stmt, "finalbody", None)
    if final is not None and not isinstance(final.body, cst.SimpleStatementSuite):
        _lines(_block(final.body), node.finalbody, out)


def _holders(module: cst.Module, wanted: set[int]) -> dict[int, cst.CSTNode]:
    """id(node) -> the innermost statement holding it."""
    found: dict[int, cst.CSTNode] = {}
    stack: list[cst.CSTNode] = []

    class _V(cst.CSTVisitor):
        def on_visit(self, node: cst.CSTNode) -> bool:
            if isinstance(node, cst.SimpleStatementLine | cst.BaseCompoundStatement):
                stack.append(node)
            if id(node) in wanted and stack:
                found[id(node)] = stack[-1]
            return len(found) < len(wanted)

        def on_leave(self, original: cst.CSTNode) -> None:
            if stack and stack[-1] is original:
                stack.pop()

    module.visit(_V())
    return found


def locate(module: cst.Module, source: str, nodes: list[cst.CSTNode]) -> dict[int, Any]:
    """id(node) -> (line, innermost statement holding the node), for nodes in ``module``."""
    holders = _holders(module, {id(n) for n in nodes})
    lines: dict[int, int] = {}
    try:
        _lines(list(module.body), ast.parse(source).body, lines)
    except (IndexError, AttributeError, SyntaxError):  # a shape ast sees otherwise
        lines = {}
    return {key: (lines.get(id(stmt), 1), stmt) for key, stmt in holders.items()}
