"""The package's layers, as DESIGN.md draws them: the runtime depends on no other part of
dagshift, nothing below the CLI imports it, and no module imports another that imports it back
(function-level imports included: a circle hidden in a function is still a circle)."""

import ast
from pathlib import Path

import networkx as nx
import pytest

PACKAGE = Path(__file__).parents[1] / "dagshift"


def _imports() -> nx.DiGraph:
    modules = {}
    for path in PACKAGE.rglob("*.py"):
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        modules[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    graph = nx.DiGraph()
    for name, path in modules.items():
        graph.add_node(name)
        tree = ast.parse(path.read_text())
        typing_only = {
            id(sub)
            for node in ast.walk(tree)
            if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test)
            for sub in ast.walk(node)
        }
        for node in ast.walk(tree):
            if id(node) in typing_only:
                continue
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("dagshift"):
                targets = [f"{node.module}.{a.name}" for a in node.names] + [node.module]
            elif isinstance(node, ast.Import):
                targets = [a.name for a in node.names if a.name.startswith("dagshift")]
            else:
                continue
            for target in targets:
                while target and target not in modules:
                    target = target.rpartition(".")[0]
                # a package's own __init__ and its parents are not dependencies of its modules
                if target and target != name and not name.startswith(target + "."):
                    graph.add_edge(name, target)
                    break
    return graph


GRAPH = _imports()


def test_no_module_imports_one_that_imports_it_back():
    cycles = sorted(nx.simple_cycles(GRAPH), key=len)
    assert cycles == [], " ; ".join(" -> ".join(c) for c in cycles[:5])


@pytest.mark.parametrize(
    ("layer", "may_not_import"),
    [
        ("dagshift.runtime", ("dagshift.compat", "dagshift.converter", "dagshift.history",
                              "dagshift.ui", "dagshift.verify", "dagshift.cli")),
        ("dagshift.history", ("dagshift.converter", "dagshift.ui", "dagshift.verify",
                              "dagshift.cli")),
        ("dagshift.compat", ("dagshift.converter", "dagshift.ui", "dagshift.verify",
                             "dagshift.cli")),
        ("dagshift.converter", ("dagshift.ui", "dagshift.cli")),
        ("dagshift.ui", ("dagshift.cli",)),
    ],
)  # fmt: skip
def test_a_layer_imports_only_the_layers_below_it(layer, may_not_import):
    wrong = sorted(
        (a, b)
        for a, b in GRAPH.edges
        if (a == layer or a.startswith(layer + "."))
        and any(b == other or b.startswith(other + ".") for other in may_not_import)
    )
    assert wrong == []
