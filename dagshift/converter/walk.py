"""Fast traversals of libcst trees for the converter.

libcst's own traversal (``node.visit(visitor)``) rebuilds every node it passes (a new
dataclass, validated), even for a read-only ``CSTVisitor`` and for the untouched parts of a
``CSTTransformer``'s tree: that cost most of a conversion's time. Here:

- ``walk(node, visitor)`` calls the same ``on_visit`` / ``on_leave`` methods in the same order
  and returns what ``node.visit(visitor)`` returns, but rebuilds a node (``with_changes``) only
  when a child came back changed; an untouched tree comes back as the very same object;
- ``nodes(root)`` yields the nodes under ``root`` in that order, read-only;
- ``scan(root, objects)`` calls plain objects' ``visit_<Node>`` / ``leave_<Node>`` in one pass;
- ``holding(root, ids)``: the nodes a transformer replacing those nodes needs to enter.

Whitespace, punctuation and operator tokens (``skipped``), which no rule of the converter
visits, are not entered. The children's order is libcst's own: for each node type, the order
in which its ``_visit_and_replace_children`` visits fields, recorded once through
``on_visit_attribute``, keeping the fields whose annotation can hold a node that is not
skipped. ``on_visit_attribute`` / ``on_leave_attribute`` hooks are not called.
"""

from __future__ import annotations

import typing
from collections.abc import Iterator, Sequence
from typing import Any

import libcst as cst

__all__ = ["holding", "nodes", "scan", "skipped", "walk"]

# Nodes made only of whitespace, punctuation and operator tokens: no converter rule visits them.
_SKIPPED_BASES = (
    cst.BaseParenthesizableWhitespace,
    cst.Newline,
    cst.TrailingWhitespace,
    cst.EmptyLine,
    cst.Comment,
    cst.LeftParen,
    cst.RightParen,
    cst.LeftSquareBracket,
    cst.RightSquareBracket,
    cst.LeftCurlyBrace,
    cst.RightCurlyBrace,
    cst.Comma,
    cst.Colon,
    cst.Semicolon,
    cst.Dot,
    cst.AssignEqual,
    cst.ImportStar,
    cst.Asynchronous,
    cst.BaseBinaryOp,
    cst.BaseBooleanOp,
    cst.BaseCompOp,
    cst.BaseUnaryOp,
    cst.BaseAugOp,
)
_SEQUENCES = (tuple, list)
_BODY = "body"  # libcst drops a statement emptied by removals in a body (visit_body_sequence)
_FIELDS: dict[type, tuple[str, ...]] = {}  # node type -> the fields to enter, in libcst's order


_ENTERED: dict[type, bool] = {}  # type -> a node type not skipped (ABCs: isinstance is slow)


def skipped(kind: type) -> bool:
    """Whether nodes of this type are left out of every traversal here."""
    return issubclass(kind, _SKIPPED_BASES)


def _entered(value: Any) -> bool:
    """Whether ``value`` is a node to enter (not None, a sentinel, nor a skipped node)."""
    kind = type(value)
    found = _ENTERED.get(kind)
    if found is None:
        found = _ENTERED[kind] = issubclass(kind, cst.CSTNode) and not skipped(kind)
    return found


class _Recorder(cst.CSTVisitor):
    """Records the fields a node's ``_visit_and_replace_children`` visits, in order."""

    def __init__(self) -> None:
        self.fields: list[str] = []

    def on_visit(self, node: cst.CSTNode) -> bool:
        return False

    def on_visit_attribute(self, node: cst.CSTNode, attribute: str) -> None:
        if attribute not in self.fields:
            self.fields.append(attribute)


def _may_hold_node(annotation: Any) -> bool:
    """Whether a field so annotated can hold a node that is not skipped."""
    if isinstance(annotation, type):
        return issubclass(annotation, cst.CSTNode) and not skipped(annotation)
    return any(_may_hold_node(arg) for arg in typing.get_args(annotation))


# type -> fields that can hold a node but that the recording did not meet: libcst visits some
# only when set (FormattedStringExpression.format_spec), so a node that has one records again
_UNMET: dict[type, tuple[str, ...]] = {}


def _fields(node: Any) -> tuple[str, ...]:
    kind = type(node)
    fields = _FIELDS.get(kind)
    unmet = _UNMET.get(kind)
    if fields is None or (unmet and any(getattr(node, name) is not None for name in unmet)):
        recorder = _Recorder()
        node._visit_and_replace_children(recorder)
        hints = typing.get_type_hints(kind)
        fields = _FIELDS[kind] = tuple(
            name for name in recorder.fields if _may_hold_node(hints.get(name, cst.CSTNode))
        )
        _UNMET[kind] = tuple(
            name
            for name in kind.__dataclass_fields__
            if name not in recorder.fields and _may_hold_node(hints.get(name))
        )
    return fields


def _children(node: Any, fields: tuple[str, ...] | None = None) -> list[Any]:
    """The nodes in ``node``'s fields (``fields``, else all that can hold one), in order."""
    children: list[Any] = []
    for name in _fields(node) if fields is None else fields:
        value = getattr(node, name)
        if type(value) in _SEQUENCES:
            children.extend(value)
        elif _entered(value):
            children.append(value)  # not None, a MaybeSentinel, nor a skipped alternative
    return children


def walk(node: Any, visitor: cst.CSTVisitor | cst.CSTTransformer) -> Any:
    """What ``node.visit(visitor)`` returns, reached without rebuilding unchanged nodes."""
    return _visit(node, visitor, isinstance(visitor, cst.CSTTransformer))


def _visit(node: Any, visitor: Any, transform: bool) -> Any:
    updated = node
    if visitor.on_visit(node):
        changes: dict[str, Any] | None = None
        for name in _fields(node):
            value = getattr(node, name)
            if type(value) in _SEQUENCES:
                new_seq = _sequence(value, visitor, transform, name == _BODY)
                if new_seq is not None:
                    changes = changes or {}
                    changes[name] = new_seq
            elif _entered(value):
                new = _visit(value, visitor, transform)
                if transform and new is not value:
                    changes = changes or {}
                    changes[name] = _single(node, name, value, new)
        if changes:
            updated = node.with_changes(**changes)
    if transform:
        return visitor.on_leave(node, updated)
    visitor.on_leave(node)
    return node


def _single(parent: Any, name: str, old: Any, new: Any) -> Any:
    if isinstance(new, cst.FlattenSentinel):
        raise TypeError(f"a {type(old).__name__} in {type(parent).__name__}.{name} flattened")
    if isinstance(new, cst.RemovalSentinel):
        default = parent.__dataclass_fields__[name].default
        if default is None or isinstance(default, cst.MaybeSentinel):
            return default
        raise TypeError(f"a {type(old).__name__} removed from {type(parent).__name__}.{name}")
    return new


def _sequence(items: Any, visitor: Any, transform: bool, body: bool) -> tuple[Any, ...] | None:
    """The new sequence, or None when every item came back as it was."""
    out: list[Any] = []
    changed = False
    for child in items:
        new = _visit(child, visitor, transform)
        if not transform or new is child:
            out.append(child)
            continue
        changed = True
        if isinstance(new, cst.RemovalSentinel):
            continue
        news = list(new) if isinstance(new, cst.FlattenSentinel) else [new]
        for item in news:
            if body and not child._is_removable() and item._is_removable():
                continue  # as libcst: a statement emptied by removals goes
            out.append(item)
    return tuple(out) if changed else None


def nodes(
    root: Any, enter: dict[type, tuple[str, ...]] | None = None, skip: Any = ()
) -> Iterator[Any]:
    """``root`` and the nodes under it, in the order a visitor meets them, read-only.

    ``enter`` names, for some node types, the only fields to go into (``{cst.Attribute:
    ("value",)}``: an attribute's name is not a reference); a node whose id is in ``skip`` is
    neither yielded nor entered.
    """
    stack = [root]
    while stack:
        node = stack.pop()
        if id(node) in skip:
            continue
        yield node
        children = _children(node, enter.get(type(node)) if enter else None)
        children.reverse()
        stack.extend(children)


def holding(root: Any, targets: set[int]) -> set[int]:
    """The ids of the nodes under ``root`` that are or hold a node whose id is in ``targets``:
    the only nodes a transformer replacing those targets needs to enter."""
    out: set[int] = set()

    def go(node: Any) -> bool:
        hit = id(node) in targets
        for child in _children(node):
            if go(child):
                hit = True
        if hit:
            out.add(id(node))
        return hit

    go(root)
    return out


def scan(root: Any, objects: Sequence[Any]) -> None:
    """One read-only pass calling each object's ``visit_<Node>(node)`` before a node's
    children and ``leave_<Node>(node)`` after them (plain objects, not visitors: libcst's
    batched visitor calls every visitor's stub for every node)."""
    visits: dict[type, list[Any]] = {}
    leaves: dict[type, list[Any]] = {}

    def go(node: Any) -> None:
        kind = type(node)
        before = visits.get(kind)
        if before is None:
            before = visits[kind] = _methods(objects, "visit_" + kind.__name__)
            leaves[kind] = _methods(objects, "leave_" + kind.__name__)
        for method in before:
            method(node)
        for child in _children(node):
            go(child)
        for method in leaves[kind]:
            method(node)

    go(root)


def _methods(objects: Sequence[Any], name: str) -> list[Any]:
    return [getattr(o, name) for o in objects if hasattr(o, name)]


def parameter_uses(root: Any, wanted: set[str]) -> set[int]:
    """Ids of the ``Name`` nodes under ``root`` that are a function's (or lambda's) parameter
    named one of ``wanted``, or a reference to it in that function's body: names that are
    not the module's (``def callback(dag, ...)`` beside ``from airflow.decorators import
    dag``). A function declaring such a name ``global``/``nonlocal`` gets none."""
    out: set[int] = set()
    for node in nodes(root):
        if not isinstance(node, cst.FunctionDef | cst.Lambda):
            continue
        params = node.params
        every = [*params.posonly_params, *params.params, *params.kwonly_params]
        every += [p for p in (params.star_arg, params.star_kwarg) if isinstance(p, cst.Param)]
        own = {p.name.value for p in every} & wanted
        inner = list(nodes(node.body))
        own -= {
            n.name.value for d in inner if isinstance(d, cst.Global | cst.Nonlocal) for n in d.names
        }
        if not own:
            continue
        out |= {id(p.name) for p in every if p.name.value in own}
        out |= {id(n) for n in inner if type(n) is cst.Name and n.value in own}
    return out
