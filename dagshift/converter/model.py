"""What the converter's rules share: findings, the "cannot convert" signal, small CST helpers."""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from typing import Any

import libcst as cst

from dagshift.converter.walk import nodes

__all__ = [
    "REFERENCES",
    "Finding",
    "Result",
    "Unsupported",
    "all_names",
    "assigned_names",
    "evaluated",
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
    # operators kept as written in converted DAGs: {"task_id", "operator"} each
    bridged: list[dict[str, str]] = field(default_factory=list)
    # other airflow names the converted code keeps as written (rules/kept_names.py):
    # {"name" (as the file spells it), "airflow" (its qualified name)} each
    kept: list[dict[str, str]] = field(default_factory=list)


class Unsupported(Exception):
    """A construct that cannot be converted exactly; ``node`` is where it is (original tree)."""

    def __init__(self, node: cst.CSTNode | None, code: str, message: str) -> None:
        super().__init__(message)
        self.node, self.code, self.message = node, code, message


_EQ = cst.AssignEqual(cst.SimpleWhitespace(""), cst.SimpleWhitespace(""))


def kwarg(name: str, value: cst.BaseExpression) -> cst.Arg:
    """``name=value`` written without spaces, as black does."""
    return cst.Arg(value, keyword=cst.Name(name), equal=_EQ)


def appended(args: list[cst.Arg], extra: list[cst.Arg]) -> list[cst.Arg]:
    """``args`` with ``extra`` after them, in the call's layout: written one argument per line,
    each new argument gets a line of its own, and a comment ending the last argument's line
    stays on that line (``start_date=days_ago(1),  # Override to match your needs``)."""
    if not extra:
        return list(args)
    if not args:
        return [*extra[:-1], extra[-1].with_changes(comma=cst.MaybeSentinel.DEFAULT)]
    last = args[-1].comma
    if not isinstance(last, cst.Comma):  # all on one line: ", " between
        space = cst.Comma(whitespace_after=cst.SimpleWhitespace(" "))
        new = [a.with_changes(comma=space) for a in [args[-1], *extra[:-1]]]
        return [*args[:-1], *new, extra[-1].with_changes(comma=last)]
    between = args[-2].comma if len(args) > 1 else last
    if isinstance(between, cst.Comma) and isinstance(
        last.whitespace_after, cst.ParenthesizedWhitespace
    ):
        plain = cst.TrailingWhitespace()
        if isinstance(between.whitespace_after, cst.ParenthesizedWhitespace):
            between = between.with_changes(
                whitespace_after=between.whitespace_after.with_changes(first_line=plain)
            )
        kept = (
            between.with_changes(
                whitespace_after=between.whitespace_after.with_changes(
                    first_line=last.whitespace_after.first_line
                )
            )
            if isinstance(between.whitespace_after, cst.ParenthesizedWhitespace)
            else between
        )
        last = last.with_changes(
            whitespace_after=last.whitespace_after.with_changes(first_line=plain)
        )
    else:
        kept = between
    new = [a.with_changes(comma=between) for a in extra[:-1]]
    return [*args[:-1], args[-1].with_changes(comma=kept), *new, extra[-1].with_changes(comma=last)]


@functools.lru_cache(maxsize=4096)
def _evaluated(raw: str) -> str | bytes:
    return cst.SimpleString(raw).evaluated_value


def evaluated(node: Any) -> Any:
    """``node.evaluated_value``, remembered: libcst compiles the literal each time it is asked."""
    if isinstance(node, cst.SimpleString):
        return _evaluated(node.value)
    return node.evaluated_value


def string_value(node: cst.CSTNode | None) -> str | None:
    """The value of a plain string literal, else None."""
    if isinstance(node, cst.SimpleString):
        value = evaluated(node)
        return value if isinstance(value, str) else None
    return None


def assigned_names(stmt: cst.CSTNode) -> set[str]:
    return {
        name
        for node in nodes(stmt)
        if isinstance(node, cst.AssignTarget)
        for name in all_names(node.target)
    }


def all_names(node: cst.CSTNode) -> list[str]:
    return [n.value for n in nodes(node) if type(n) is cst.Name]


# What a reference is: not an attribute's own name, a keyword, nor a parameter's name
REFERENCES = {cst.Attribute: ("value",), cst.Arg: ("value",), cst.Param: ("default",)}


def first_name(node: cst.CSTNode, wanted: set[str], skip: Any = ()) -> Any:
    """The first reference to one of ``wanted`` (a Name node, or its value for new trees),
    not looking into the nodes whose ids are in ``skip``."""
    for n in nodes(node, REFERENCES, skip):
        if type(n) is cst.Name and n.value in wanted:
            return n
    return None
