"""The whole context: a callable's ``**kwargs`` printed, iterated or searched becomes a mapping.

Airflow hands a callable's catch-all (``def f(ds=None, **kwargs)``) every context value its
named parameters do not take; ``pprint(kwargs)``, ``for k in kwargs``, ``"ds" in kwargs`` or
``context[name]`` with ``name`` from a literal list see all of them. The converter binds the
catch-all to ``airflow_context(generation, without=(named parameters))`` (dagshift's run
context under Airflow's keys for the file's generation: 2.11's for a 1.10/2.x file, 3.3's for
an Airflow 3 one, less ``AIRFLOW_ONLY_KEYS``, see dagshift/runtime/context.py), merged under
the arguments the task is given (op_kwargs that no parameter takes, as Airflow merges them).

Only these whole uses are let through: an argument of ``print``, ``pprint`` / ``pformat``
(from the pprint module), ``str``, ``repr``, ``len`` or ``sorted``; an f-string's
``{kwargs}``; ``for ... in kwargs`` (also in a comprehension) and ``kwargs.keys() / .values()
/ .items()``; ``key in kwargs``; and ``kwargs[key]`` / ``kwargs.get(key, ...)`` with a key
known statically: a literal, or the variable of a loop over a literal list of strings (or a
name bound once to one) or over the catch-all itself; and passing it on (``helper(kwargs)``,
``helper(x=kwargs)``, ``helper(**kwargs)``) to a function of the module, defined once and
undecorated, whose parameter is used only in these ways or by literal keys dagshift has (a
context object for the attributes dagshift's view of it has). A key Airflow has and dagshift
cannot give keeps the DAG (DS061); any other use (a key computed otherwise, a function that
reads more) keeps it too (DS060, see callables.py).
"""

from __future__ import annotations

from typing import Any

import libcst as cst
import libcst.matchers as m

from dagshift.converter.model import Unsupported, string_value
from dagshift.converter.rules.context import OBJECTS, TEMPLATE_OBJECTS
from dagshift.converter.walk import nodes, walk
from dagshift.runtime.context import AIRFLOW_CONTEXT_KEYS, AIRFLOW_ONLY_KEYS

__all__ = ["DESCRIPTION", "WholeUses", "binders", "find_whole_uses", "prologue"]

DESCRIPTION = (
    "**kwargs printed / iterated / searched -> airflow_context(): Airflow's keys for the generation"
)

_PRINTING = frozenset({"print", "str", "repr", "len", "sorted"})
_PPRINT = frozenset({"pprint", "pformat"})
_VIEWS = frozenset({"keys", "values", "items"})
_OWN = "<own keys>"  # a loop over the catch-all itself: only keys it has


class WholeUses:
    """The catch-all's whole uses in one callable (``names``: ids of the Name nodes)."""

    def __init__(self) -> None:
        self.names: set[int] = set()


def _module_pprint(module: cst.Module) -> tuple[set[str], bool]:
    """Names imported ``from pprint import ...`` (pprint/pformat) and whether ``import pprint``."""
    names: set[str] = set()
    whole = False
    for stmt in module.body:
        if not isinstance(stmt, cst.SimpleStatementLine):
            continue
        for small in stmt.body:
            if m.matches(small, m.ImportFrom(module=m.Name("pprint"))) and not isinstance(
                small.names, cst.ImportStar
            ):
                for alias in small.names:
                    if isinstance(alias.name, cst.Name) and alias.name.value in _PPRINT:
                        names.add(alias.evaluated_alias or alias.name.value)
            elif isinstance(small, cst.Import):
                whole |= any(
                    m.matches(a, m.ImportAlias(name=m.Name("pprint"), asname=None))
                    for a in small.names
                )
    return names, whole


def _top_bindings(module: cst.Module, functions: bool = True) -> set[str]:
    """Names the module binds by def (``functions``), class or assignment (they may shadow a
    builtin)."""
    found: set[str] = set()
    for stmt in module.body:
        if isinstance(stmt, cst.FunctionDef) and functions or isinstance(stmt, cst.ClassDef):
            found.add(stmt.name.value)
        elif isinstance(stmt, cst.SimpleStatementLine):
            for small in stmt.body:
                if isinstance(small, cst.Assign):
                    for target in small.targets:
                        found |= {n.value for n in nodes(target.target) if type(n) is cst.Name}
    return found


def _targets(target: cst.CSTNode) -> list[str]:
    """The names an assignment target binds (not ``a.b`` nor ``a[b]``)."""
    if type(target) is cst.Name:
        return [target.value]
    if isinstance(target, cst.Tuple | cst.List):
        return [n for e in target.elements for n in _targets(e.value)]
    if isinstance(target, cst.StarredElement):
        return _targets(target.value)
    return []


def binders(root: cst.CSTNode) -> dict[str, list[cst.CSTNode]]:
    """Name -> the nodes under ``root`` that bind it (loops, assignments, ``as``, nested
    functions and classes and their parameters)."""
    out: dict[str, list[cst.CSTNode]] = {}
    for node in nodes(root):
        targets: list[str] = []
        if isinstance(node, cst.For | cst.CompFor | cst.AssignTarget):
            targets = _targets(node.target)
        elif isinstance(node, cst.AugAssign | cst.AnnAssign | cst.NamedExpr):
            targets = _targets(node.target)
        elif isinstance(node, cst.AsName):
            targets = _targets(node.name)
        elif isinstance(node, cst.FunctionDef | cst.ClassDef):
            targets = [node.name.value]
        elif isinstance(node, cst.Param):
            targets = [node.name.value]
        for name in targets:
            out.setdefault(name, []).append(node)
    return out


class _Uses(cst.CSTVisitor):
    """Every Name of the catch-all with its ancestors (innermost last)."""

    def __init__(self, catch_all: str) -> None:
        self.catch_all = catch_all
        self.stack: list[cst.CSTNode] = []
        self.found: list[tuple[cst.Name, list[cst.CSTNode]]] = []

    def on_visit(self, node: cst.CSTNode) -> bool:
        if type(node) is cst.Name and node.value == self.catch_all:
            self.found.append((node, list(self.stack)))
        self.stack.append(node)
        return True

    def on_leave(self, original_node: cst.CSTNode) -> None:
        self.stack.pop()


_COMPREHENSIONS = (cst.ListComp, cst.SetComp, cst.DictComp, cst.GeneratorExp)


class _Finder:
    def __init__(
        self,
        fn: cst.FunctionDef,
        catch_all: str,
        module: cst.Module,
        generation: str,
        fed: set,
        depth: int = 0,
    ) -> None:
        self.fn, self.catch_all, self.generation, self.fed = fn, catch_all, generation, fed
        self.module, self.depth = module, depth
        self.pprint, self.pprint_module = _module_pprint(module)
        self.shadowed = _top_bindings(module)
        self.bound = binders(fn)
        self.functions = _module_functions(module)

    def _literal_strings(self, node: cst.CSTNode) -> set[str] | None:
        """A literal tuple/list/set of strings, or a name bound once in the function to one."""
        if isinstance(node, cst.Tuple | cst.List | cst.Set):
            if any(isinstance(e, cst.StarredElement) for e in node.elements):
                return None
            values = [string_value(e.value) for e in node.elements]
            return set(values) if all(isinstance(v, str) for v in values) else None
        binders = self.bound.get(node.value, ()) if type(node) is cst.Name else ()
        if len(binders) == 1 and isinstance(binders[0], cst.AssignTarget):
            for a in nodes(self.fn.body):
                if isinstance(a, cst.Assign) and any(t is binders[0] for t in a.targets):
                    return self._literal_strings(a.value) if len(a.targets) == 1 else None
        return None

    def _own(self, node: cst.CSTNode, pairs: bool) -> bool:
        """``kwargs`` / ``kwargs.keys()`` (``pairs``: ``kwargs.items()``): the mapping's keys."""
        if pairs:
            views = m.Name("items")
        elif m.matches(node, m.Name(self.catch_all)):
            return True
        else:
            views = m.Name("keys")
        return m.matches(
            node, m.Call(func=m.Attribute(value=m.Name(self.catch_all), attr=views), args=[])
        )

    def _loop_keys(self, loop: cst.For | cst.CompFor, name: str) -> set[str] | None:
        target = loop.target
        if m.matches(target, m.Tuple()) and target.elements:
            first = target.elements[0].value
            if m.matches(first, m.Name(name)) and self._own(loop.iter, pairs=True):
                return {_OWN}
            return None
        if self._own(loop.iter, pairs=False):
            return {_OWN}
        return self._literal_strings(loop.iter)

    def keys(self, node: cst.CSTNode, ancestors: list[cst.CSTNode]) -> set[str] | None:
        """The keys ``node`` can be (``_OWN``: the catch-all's own), None if not known: a
        literal, or the variable of the innermost loop or comprehension binding it, which
        nothing else in that loop binds."""
        text = string_value(node)
        if isinstance(text, str):
            return {text}
        if type(node) is not cst.Name:
            return None
        for outer in reversed(ancestors):
            loops: list[cst.For | cst.CompFor] = []
            if isinstance(outer, cst.For):
                loops = [outer]
            elif isinstance(outer, _COMPREHENSIONS):
                comp, loops = outer.for_in, []
                while comp is not None:
                    loops.append(comp)
                    comp = comp.inner_for_in
            binding = [loop for loop in loops if node.value in _targets(loop.target)]
            if binding:
                if len(binders(outer).get(node.value, ())) != 1:
                    return None  # bound again inside the loop
                return self._loop_keys(binding[-1], node.value)
            if isinstance(outer, cst.FunctionDef | cst.Lambda | cst.ClassDef):
                return None
        return None

    def check_keys(self, node: cst.CSTNode, keys: set[str]) -> None:
        missing = sorted(
            k for k in keys if k in AIRFLOW_ONLY_KEYS[self.generation] and k not in self.fed
        )
        if missing:
            raise Unsupported(
                node,
                "DS061",
                f"the callable reads {', '.join(map(repr, missing))} of its context, which "
                "dagshift has no equivalent for",
            )

    def passed_on(self, arg: cst.Arg, call: cst.Call) -> bool:
        """``helper(kwargs)`` / ``helper(x=kwargs)`` / ``helper(**kwargs)`` to a function of the
        module (defined once, undecorated) that reads its parameter only as the converter lets
        a callable read its catch-all, and the keys its named parameters take dagshift has."""
        helper = self.functions.get(call.func.value) if isinstance(call.func, cst.Name) else None
        if helper is None or helper.decorators or self.depth >= _DEPTH or helper is self.fn:
            return False
        params = helper.params
        if arg.star == "**":
            star = params.star_kwarg
            if not isinstance(star, cst.Param):
                return False
            named = {p.name.value for p in [*params.params, *params.kwonly_params]}
            if named & set(OBJECTS):
                return False  # a context object as a whole: dagshift's is a view of a few reads
            self.check_keys(arg, named)
            target = star.name.value
        elif arg.star == "" and arg.keyword is not None:
            found = [p for p in [*params.params, *params.kwonly_params] if p.name == arg.keyword]
            if not found:
                return False
            target = found[0].name.value
        elif arg.star == "":
            index = [a for a in call.args if a.keyword is None].index(arg)
            if params.posonly_params or index >= len(params.params):
                return False
            target = params.params[index].name.value
        else:
            return False
        return self._reads_only(helper, target)

    def _reads_only(self, helper: cst.FunctionDef, param: str) -> bool:
        """Whether ``helper`` uses ``param`` only whole (as above) or by literal keys dagshift
        has (a context object only for the attributes dagshift's view of it has)."""
        if len(binders(helper).get(param, ())) != 1:
            return False  # bound again in the body
        sub = _Finder(helper, param, self.module, self.generation, self.fed, self.depth + 1)
        allowed = _whole_names(sub, helper, param)
        uses = _Uses(param)
        walk(helper.body, uses)
        for name, ancestors in uses.found:
            if id(name) in allowed:
                continue
            parent = ancestors[-1] if ancestors else None
            grand = ancestors[-2] if len(ancestors) > 1 else None
            key = string_value(_key_node(parent, grand)) if parent is not None else None
            if key is None or isinstance(parent, cst.ComparisonTarget):
                return False
            self.check_keys(name, {key})
            if key in TEMPLATE_OBJECTS:
                value = grand if isinstance(parent, cst.Attribute) else parent
                at = next((i for i, a in enumerate(ancestors) if a is value), 0)
                holder = ancestors[at - 1] if at > 0 else None
                if not (
                    isinstance(holder, cst.Attribute)
                    and holder.value is value
                    and holder.attr.value in TEMPLATE_OBJECTS[key]
                ):
                    return False
        return True

    def printing(self, call: cst.Call) -> bool:
        func = call.func
        if isinstance(func, cst.Name):
            if func.value in self.pprint:
                return True
            return func.value in _PRINTING and func.value not in self.shadowed
        return self.pprint_module and m.matches(
            func, m.Attribute(value=m.Name("pprint"), attr=m.Name("pprint") | m.Name("pformat"))
        )

    def whole(self, name: cst.Name, parent: Any, grand: Any) -> bool:
        """Whether this use of the catch-all is one of the whole uses let through."""
        if isinstance(parent, cst.Arg) and parent.value is name and isinstance(grand, cst.Call):
            if parent.star == "" and parent.keyword is None and self.printing(grand):
                return True
            return self.passed_on(parent, grand)
        if isinstance(parent, cst.FormattedStringExpression):
            return parent.expression is name
        if isinstance(parent, cst.For | cst.CompFor):
            return parent.iter is name
        if isinstance(parent, cst.Attribute) and parent.value is name:
            return parent.attr.value in _VIEWS | {"get"}  # .get: the key is checked below
        if isinstance(parent, cst.ComparisonTarget) and parent.comparator is name:
            return m.matches(parent.operator, m.In() | m.NotIn()) and isinstance(
                grand, cst.Comparison
            )
        if isinstance(parent, cst.Subscript) and parent.value is name:
            return True  # the key is checked below
        return False


def find_whole_uses(
    fn: cst.FunctionDef, catch_all: str, module: cst.Module, airflow3: bool, fed: set[str]
) -> WholeUses:
    """The catch-all's whole uses (see the module docstring); DS061 for a key dagshift lacks."""
    finder = _Finder(fn, catch_all, module, "3" if airflow3 else "2", fed)
    uses = WholeUses()
    uses.names = _whole_names(finder, fn, catch_all)
    return uses


def _whole_names(finder: _Finder, fn: cst.FunctionDef, catch_all: str) -> set[int]:
    found = _Uses(catch_all)
    walk(fn.body, found)
    names: set[int] = set()
    for name, ancestors in found.found:
        parent = ancestors[-1] if ancestors else None
        grand = ancestors[-2] if len(ancestors) > 1 else None
        if not finder.whole(name, parent, grand):
            continue
        key_node = _key_node(parent, grand)
        if key_node is not None:
            if string_value(key_node) is not None and not isinstance(parent, cst.ComparisonTarget):
                continue  # kwargs["ds"]: a context lookup (callables.py)
            keys = finder.keys(key_node, ancestors)
            if keys is None or _object_read(keys, parent, grand, ancestors):
                continue  # a key computed otherwise, an object's attribute: DS060
            finder.check_keys(key_node, keys - {_OWN})
        elif isinstance(parent, cst.Attribute) and parent.attr.value == "get":
            continue  # .get not called with a key
        names.add(id(name))
    return names


_DEPTH = 3  # how deep a context passed on from function to function is followed


def _module_functions(module: cst.Module) -> dict[str, cst.FunctionDef]:
    """The module's functions defined once at its top level and bound no other way there."""
    defs: dict[str, list[cst.FunctionDef]] = {}
    for stmt in module.body:
        if isinstance(stmt, cst.FunctionDef):
            defs.setdefault(stmt.name.value, []).append(stmt)
    others = _top_bindings(module, functions=False)
    return {n: fns[0] for n, fns in defs.items() if len(fns) == 1 and n not in others}


def _object_read(keys: set[str], parent: Any, grand: Any, ancestors: list[cst.CSTNode]) -> bool:
    """``kwargs[key].attr`` where the key may be a context object (ti, dag_run ...): those
    are read through their attributes only (callables.py), never as a whole."""
    if not keys & (set(OBJECTS) | {_OWN}) or isinstance(parent, cst.ComparisonTarget):
        return False
    if keys & set(OBJECTS):
        return True  # literal keys of objects: callables.py's attribute forms
    value = grand if isinstance(parent, cst.Attribute) else parent  # kwargs.get(k) / kwargs[k]
    at = next((i for i, a in enumerate(ancestors) if a is value), 0)
    holder = ancestors[at - 1] if at > 0 else None
    return isinstance(holder, cst.Attribute) and holder.value is value


def _key_node(parent: Any, grand: Any) -> cst.CSTNode | None:
    """The key of ``kwargs[key]``, ``kwargs.get(key, ...)`` or ``key in kwargs``, if one."""
    if isinstance(parent, cst.Subscript):
        if len(parent.slice) == 1 and isinstance(parent.slice[0].slice, cst.Index):
            return parent.slice[0].slice.value
        return cst.Ellipsis()  # a slice: no key known
    if isinstance(parent, cst.Attribute) and parent.attr.value == "get":
        if isinstance(grand, cst.Call) and grand.func is parent and 1 <= len(grand.args) <= 2:
            return grand.args[0].value
        return None
    if isinstance(parent, cst.ComparisonTarget) and isinstance(grand, cst.Comparison):
        if len(grand.comparisons) == 1:
            return grand.left
        return cst.Ellipsis()
    return None


def prologue(
    fn: cst.FunctionDef, catch_all: str, airflow3: bool, merged: bool
) -> cst.BaseStatement:
    """``kwargs = airflow_context(...)``; ``merged``: over the arguments the task is given."""
    generation = "3" if airflow3 else "2"
    named = [
        p.name.value
        for p in [*fn.params.params, *fn.params.kwonly_params]
        if p.name.value in AIRFLOW_CONTEXT_KEYS[generation]
    ]
    quoted = ", ".join(f'"{n}"' for n in named)
    without = f", without=({quoted},)" if named else ""
    value = f'airflow_context("{generation}"{without})'
    if merged:
        value = f"{{**{value}, **{catch_all}}}"
    return cst.parse_statement(f"{catch_all} = {value}\n")
