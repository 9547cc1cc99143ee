"""The line of every statement, found cheaply.

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

__all__ = ["statement_lines"]


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


def statement_lines(module: cst.Module, source: str | ast.Module) -> dict[int, int]:
    """id(statement) -> its first line, for every statement of ``module`` (``source``: its
    text, or its ``ast`` tree)."""
    lines: dict[int, int] = {}
    try:
        tree = ast.parse(source) if isinstance(source, str) else source
        _lines(list(module.body), tree.body, lines)
    except (IndexError, AttributeError, SyntaxError, ValueError):  # a shape ast sees otherwise
        return {}
    return lines
