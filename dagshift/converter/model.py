"""What the converter's rules share: findings, the "cannot convert" signal, small CST helpers."""

from __future__ import annotations

from dataclasses import dataclass, field

import libcst as cst

__all__ = ["Finding", "Result", "Unsupported", "kwarg", "string_value"]


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
