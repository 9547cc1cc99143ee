"""What the converter's rules share: findings, the "cannot convert" signal, small CST helpers."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import libcst as cst

__all__ = [
    "Finding",
    "Result",
    "Unsupported",
    "all_names",
    "assigned_names",
    "first_name",
    "kwarg",
    "string_value",
]


@dataclass
class Finding:
    code: str
    line: int
    message: str


@dataclass
class Result:
    status: str  # converted | partial | unchanged | not_a_dag
    code: str
    findings: list[Finding] = field(default_factory=list)


class Unsupported(Exception):
    """A construct that cannot be converted exactly; ``node`` is where it is (original tree)."""

    def __init__(self, node: cst.CSTNode | None, code: str, message: str) -> None:
        super().__init__(message)
        self.node, self.code, self.message = node, code, message


_EQ = cst.AssignEqual(cst.SimpleWhitespace(""), cst.SimpleWhitespace(""))


def kwarg(name: str, value: cst.BaseExpression) -> cst.Arg:
    """``name=value`` written without spaces, as black does."""
    return cst.Arg(value, keyword=cst.Name(name), equal=_EQ)


def string_value(node: cst.CSTNode | None) -> str | None:
    """The value of a plain string literal, else None."""
    if isinstance(node, cst.SimpleString):
        value = node.evaluated_value
        return value if isinstance(value, str) else None
    return None


def assigned_names(stmt: cst.CSTNode) -> set[str]:
    out: set[str] = set()

    class _V(cst.CSTVisitor):
        def visit_AssignTarget(self, node: cst.AssignTarget) -> None:
            for name in all_names(node.target):
                out.add(name)

    stmt.visit(_V())
    return out


def all_names(node: cst.CSTNode) -> list[str]:
    found: list[str] = []

    class _V(cst.CSTVisitor):
        def visit_Name(self, n: cst.Name) -> None:
            found.append(n.value)

    node.visit(_V())
    return found


def first_name(node: cst.CSTNode, wanted: set[str]) -> Any:
    """The first reference to one of ``wanted`` (a Name node, or its value for new trees)."""
    found: list[cst.Name] = []

    class _V(cst.CSTVisitor):
        def visit_Attribute(self, n: cst.Attribute) -> bool:
            n.value.visit(self)
            return False  # an attribute's own name is not a reference

        def visit_Arg(self, n: cst.Arg) -> bool:
            n.value.visit(self)
            return False  # nor is a keyword

        def visit_Param(self, n: cst.Param) -> bool:
            if n.default is not None:
                n.default.visit(self)
            return False

        def visit_Name(self, n: cst.Name) -> None:
            if n.value in wanted and not found:
                found.append(n)

    node.visit(_V())
    return found[0] if found else None
