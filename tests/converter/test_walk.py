"""``walk`` and ``nodes`` meet the nodes libcst's own traversal meets, in the same order, and
a transformer run through ``walk`` gives the code libcst's ``visit`` gives."""

from __future__ import annotations

from pathlib import Path

import libcst as cst
import pytest

from dagshift.converter.walk import nodes, skipped, walk

FILES = sorted((Path(__file__).parents[2] / "fixtures" / "dags").glob("*.py"))


class _Order(cst.CSTVisitor):
    def __init__(self) -> None:
        self.seen: list[tuple[str, str]] = []

    def on_visit(self, node: cst.CSTNode) -> bool:
        if skipped(type(node)):
            return False
        self.seen.append(("in", type(node).__name__))
        return True

    def on_leave(self, original_node: cst.CSTNode) -> None:
        if not skipped(type(original_node)):
            self.seen.append(("out", type(original_node).__name__))


class _Rename(cst.CSTTransformer):
    """Renames every name, drops every `pass`, and doubles every expression statement."""

    def leave_Name(self, original_node: cst.Name, updated_node: cst.Name) -> cst.Name:
        return updated_node.with_changes(value=updated_node.value + "_x")

    def leave_Pass(self, original_node, updated_node):
        return cst.RemoveFromParent()

    def leave_Expr(self, original_node, updated_node):
        return cst.FlattenSentinel([updated_node, updated_node])


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_walk_meets_nodes_in_libcst_order(path: Path) -> None:
    module = cst.parse_module(path.read_text())
    ours, theirs = _Order(), _Order()
    assert walk(module, ours) is module
    module.visit(theirs)
    assert ours.seen == theirs.seen
    assert [type(n).__name__ for n in nodes(module)] == [
        name for step, name in theirs.seen if step == "in"
    ]


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_walk_transforms_as_libcst_does(path: Path) -> None:
    module = cst.parse_module(path.read_text())
    assert walk(module, _Rename()).code == module.visit(_Rename()).code


def test_walk_hands_back_unchanged_nodes_themselves() -> None:
    module = cst.parse_module("def f(a):\n    return a.b + 1\n")
    assert walk(module, cst.CSTTransformer()) is module
    renamed = walk(module, _Rename())
    assert renamed.code == "def f_x(a_x):\n    return a_x.b_x + 1\n"


def test_a_parameter_named_like_an_import_is_told_from_the_import() -> None:
    from dagshift.converter.walk import parameter_uses

    module = cst.parse_module(
        "from airflow.decorators import dag\n"
        "def cb(dag):\n    return dag\n"
        "def other():\n    return dag\n"
        "f = lambda dag=dag: dag\n"
    )
    names = [n for n in nodes(module) if type(n) is cst.Name and n.value == "dag"]
    own = parameter_uses(module, {"dag"})
    # cb's parameter and its use, the lambda's parameter and body: not the import; the
    # import itself, other()'s use and the lambda's default are
    assert [id(n) in own for n in names] == [False, True, True, False, True, False, True]
