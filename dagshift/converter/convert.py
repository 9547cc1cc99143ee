"""Convert one Airflow DAG file's source into dagshift flows, statically.

The converter parses with libcst and never imports the file. Each DAG of the file converts
entirely or not at all (``dag_job.py``): a DAG that holds a construct the rules do not convert
exactly stays as it was, runs through the compat shim, and gets a
``# dagshift: TODO(<code>): <reason>`` comment on the statement at fault (status ``partial``).
Airflow names left in code outside the converted DAGs are marked the same way. The rules are
listed in ``rules/__init__.py``; imports change through ``imports.py`` only.
"""

from __future__ import annotations

import ast
from collections import Counter
from typing import Any

import libcst as cst
import libcst.matchers as m
import libcst.metadata

from dagshift.converter.constants import Constants
from dagshift.converter.dag_job import HELPERS, DagJob, FileInfo
from dagshift.converter.imports import USES, Bindings, finish_imports
from dagshift.converter.locate import statement_lines
from dagshift.converter.model import Finding, Result, Unsupported, all_names, first_name
from dagshift.converter.names import DAG_DECORATORS, DAGS, TASK_DECORATORS, imports, qualified
from dagshift.converter.own_names import mark, qualify, restore
from dagshift.converter.rules.airflow_values import AirflowValues
from dagshift.converter.rules.dag_definition import dag_ids, find_sites
from dagshift.converter.rules.kept_names import kept_locals
from dagshift.converter.rules.task_groups import (
    GROUP_DECORATORS,
    is_group_function,
    rewrite_outside,
)
from dagshift.converter.rules.taskflow import is_taskflow, kept_taskflow, rewrite_taskflow
from dagshift.converter.shadowing import shadowed
from dagshift.converter.walk import holding, nodes, walk

__all__ = ["Finding", "Result", "convert_source"]

_MARK = "# dagshift: TODO"


class _Survey:
    """What the rules need to know about the whole file, gathered in the pass finding DAGs."""

    def __init__(self, names: dict[str, str]) -> None:
        self.names = names
        self.functions: dict[str, cst.FunctionDef | None] = {}
        self.references: Counter[str] = Counter()
        self.uses: Counter[str] = Counter()
        self.wraps: Counter[str] = Counter()
        self.classes: set[str] = set()

    def visit_ClassDef(self, node: cst.ClassDef) -> None:
        self.classes.add(node.name.value)

    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        name = node.name.value
        self.functions[name] = None if name in self.functions else node

    def visit_Name(self, node: cst.Name) -> None:
        self.references[node.value] += 1

    def visit_Call(self, node: cst.Call) -> None:
        if qualified(node.func, self.names) in TASK_DECORATORS and len(node.args) == 1:
            if isinstance(node.args[0].value, cst.Name):
                self.wraps[node.args[0].value.value] += 1

    def visit_Arg(self, node: cst.Arg) -> None:
        if node.keyword and node.keyword.value == "python_callable":
            if isinstance(node.value, cst.Name):
                self.uses[node.value.value] += 1
            self.references[node.keyword.value] -= 1

    def info(self, module: cst.Module) -> FileInfo:
        assigned: dict[str, Any] = {}
        for stmt in module.body:
            if isinstance(stmt, cst.SimpleStatementLine):
                for small in stmt.body:
                    if isinstance(small, cst.Assign) and len(small.targets) == 1:
                        target = small.targets[0].target
                        if isinstance(target, cst.Name):
                            assigned[target.value] = small.value
        airflow3 = any(
            f.startswith(("airflow.sdk", "airflow.providers.standard")) for f in self.names.values()
        )
        return FileInfo(
            module,
            self.names,
            self.functions,
            assigned,
            dict(self.references),
            dict(self.uses),
            airflow3,
            dict(self.wraps),
            classes=self.classes,
        )


_DAG_NAMES = DAGS | DAG_DECORATORS


def _may_define_a_dag(names: dict[str, str]) -> bool:
    """Whether the file's airflow imports reach a DAG class or ``@dag`` (or a module of one)."""
    return any(
        full in _DAG_NAMES or any(d.startswith(full + ".") for d in _DAG_NAMES)
        for full in names.values()
    )


def _fail(jobs: list[DagJob], failed: dict[int, Unsupported], code: str, message: str) -> None:
    for job in jobs:
        if id(job) not in failed:
            failed[id(job)] = Unsupported(job.site.node, code, message)


def _run_jobs(info: FileInfo, jobs: list[DagJob]) -> dict[int, Unsupported]:
    failed: dict[int, Unsupported] = {}
    for job in jobs:
        try:
            job.run()
        except Unsupported as exc:
            failed[id(job)] = exc
    changed = True
    while changed:  # a callable shared with a DAG that stays keeps both DAGs as they were
        changed = False
        kept = {key for job in jobs if id(job) in failed for key in job.callables}
        for job in jobs:
            if id(job) not in failed and kept & set(job.callables):
                failed[id(job)] = Unsupported(
                    job.site.node, "DS038", "shares a callable with a DAG that stays as it is"
                )
                changed = True
    return failed


def flow_blocks(module: cst.Module) -> list[cst.With]:
    """``with Flow(...)`` blocks of dagshift already in the file (a file converted before, a
    DAG of it converted, another kept): the operators they keep as written stay so."""
    local = {
        alias.evaluated_alias or alias.evaluated_name
        for stmt in module.body
        if isinstance(stmt, cst.SimpleStatementLine)
        for small in stmt.body
        if isinstance(small, cst.ImportFrom)
        and small.module is not None
        and cst.helpers.get_full_name_for_node(small.module) == "dagshift"
        and not isinstance(small.names, cst.ImportStar)
        for alias in small.names
        if alias.evaluated_name == "Flow"
    }
    if not local:  # the usual case: a file never converted
        return []
    return [
        n
        for n in nodes(module)
        if type(n) is cst.With
        and isinstance(n.items[0].item, cst.Call)
        and isinstance(n.items[0].item.func, cst.Name)
        and n.items[0].item.func.value in local
    ]


def for_bridged(info: FileInfo, jobs: list[DagJob]) -> set[int]:
    """Module-level statements (custom operator classes, their helpers) that only operators
    kept as written use: they stay as written too, Airflow names and all (the shim runs them);
    and the flow blocks already in the file."""
    blocks = flow_blocks(info.module)
    wanted = set().union(*(j.bridged_names() for j in jobs)) if jobs else set()
    wanted |= {name for block in blocks for name in all_names(block)}
    functional = set().union(*(j.referenced() for j in jobs)) if jobs else set()
    found: set[int] = {id(block) for block in blocks}
    changed = True
    while changed:
        changed = False
        for stmt in info.module.body:
            defined = _defined(stmt)
            if id(stmt) in found or not defined & wanted or defined & functional:
                continue
            found.add(id(stmt))
            wanted |= set(all_names(stmt))
            changed = True
    return found


def _fail_on_leftovers(
    info: FileInfo, jobs: list[DagJob], failed: dict[int, Unsupported], outside: dict
) -> None:
    """A converted DAG that uses a module-level definition still made of airflow names stays."""
    changed = True
    while changed:
        changed = False
        ok = [j for j in jobs if id(j) not in failed]
        skip = set(outside) | {k for j in ok for k in j.replacements} | for_bridged(info, ok)
        skip |= {id(j.site.node) for j in jobs} | {id(s) for j in jobs for s in j.site.span}
        for stmt in info.module.body:
            left = _leftovers_in(stmt, info, skip)
            defined = _defined(stmt)
            if not left or not defined:
                continue
            for job in ok:
                if defined & job.referenced():
                    failed[id(job)] = Unsupported(
                        left[0], "DS002", f"uses {left[0].value!r} from airflow, which stays"
                    )
                    changed = True


def _defined(stmt: cst.CSTNode) -> set[str]:
    if isinstance(stmt, cst.FunctionDef | cst.ClassDef):
        return {stmt.name.value}
    if isinstance(stmt, cst.SimpleStatementLine):
        return {
            t.target.value
            for small in stmt.body
            if isinstance(small, cst.Assign)
            for t in small.targets
            if isinstance(t.target, cst.Name)
        }
    return set()


def _taskflow_outside(info: FileInfo, jobs: list[DagJob]) -> dict[int, cst.CSTNode]:
    """Module-level TaskFlow functions (outside every DAG) rewritten; Unsupported on failure."""
    inside = {id(j.site.node) for j in jobs} | {id(s) for j in jobs for s in j.site.span}
    out: dict[int, cst.CSTNode] = {}
    for stmt in info.module.body:
        if isinstance(stmt, cst.FunctionDef) and id(stmt) not in inside:
            kept = kept_taskflow(stmt, info.names)
            if kept is not None:  # a TaskFlow kind no rule converts: kept as written
                out[id(stmt)], module, kind = kept
                jobs[0].modules.add(module)
                jobs[0].bridged.append({"task_id": stmt.name.value, "operator": f"@task.{kind}"})
            elif is_taskflow(stmt, info.names):
                new, needs = rewrite_taskflow(stmt, info)
                out[id(stmt)] = _decorator_values(new, info, jobs[0])
                jobs[0].needs |= needs
            elif is_group_function(stmt, info.names):
                out[id(stmt)] = rewrite_outside(stmt, jobs[0])
            elif _taskflow_factory(stmt, info.names):
                body = []
                for inner in stmt.body.body:
                    if isinstance(inner, cst.FunctionDef):
                        new, needs = rewrite_taskflow(inner, info)
                        inner = _decorator_values(new, info, jobs[0])
                        jobs[0].needs |= needs
                    body.append(inner)
                out[id(stmt)] = stmt.with_changes(body=stmt.body.with_changes(body=body))
    return out


def _taskflow_factory(fn: cst.FunctionDef, names: dict[str, str]) -> bool:
    """A plain function that only defines TaskFlow functions and returns one (``def make():
    @teardown def drop(): ...; return drop``): each call makes a new task function, as in
    Airflow, once its TaskFlow functions are rewritten."""
    if fn.decorators or not isinstance(fn.body, cst.IndentedBlock):
        return False
    defs = [s for s in fn.body.body if isinstance(s, cst.FunctionDef)]
    last = fn.body.body[-1]
    returns = m.matches(last, m.SimpleStatementLine(body=[m.Return(value=m.Name())])) and last.body[
        0
    ].value.value in {d.name.value for d in defs}
    return (
        bool(defs)
        and returns
        and len(defs) == len(fn.body.body) - 1
        and all(is_taskflow(d, names) for d in defs)
    )


def _decorator_values(fn: cst.FunctionDef, info: FileInfo, job: DagJob) -> cst.FunctionDef:
    """A module-level TaskFlow function's decorator arguments made free of airflow by
    ``airflow_values`` (``@task(outlets=[Asset(...)])``), or Unsupported when a name stays."""
    values = AirflowValues(info.names)
    heads = info.airflow_heads()
    decorators = []
    for dec in fn.decorators:
        if isinstance(dec.decorator, cst.Call):
            dec = dec.with_changes(
                decorator=dec.decorator.with_changes(
                    args=[walk(arg, values) for arg in dec.decorator.args]
                )
            )
            found = next((f for a in dec.decorator.args if (f := first_name(a, heads))), None)
            if found is not None:
                raise Unsupported(fn, "DS002", f"uses {found.value!r} from airflow, which stays")
        decorators.append(dec)
    job.needs |= values.needs
    job.modules |= values.modules
    return fn.with_changes(decorators=decorators)


def _values_outside(
    info: FileInfo, jobs: list[DagJob], outside: dict[int, cst.CSTNode]
) -> tuple[dict[int, cst.CSTNode], AirflowValues]:
    """Module-level statements outside the DAGs made free of airflow by ``airflow_values``
    (``default_args = {"start_date": days_ago(2)}``, a helper raising AirflowSkipException)."""
    inside = {id(j.site.node) for j in jobs} | {id(s) for j in jobs for s in j.site.span}
    inside |= set(outside) | {key for j in jobs for key in j.replacements}
    inside |= for_bridged(info, jobs)  # what kept operators use stays as written
    heads = info.airflow_heads()
    values = AirflowValues(info.names)
    out: dict[int, cst.CSTNode] = {}
    for stmt in info.module.body:  # kept names too: days_ago(n) is better rewritten than kept
        if id(stmt) in inside or not _leftovers_in(stmt, info, inside, keep=False):
            continue
        if isinstance(stmt, cst.SimpleStatementLine) and any(
            isinstance(s, cst.Import | cst.ImportFrom) for s in stmt.body
        ):
            continue
        new = walk(stmt, values)
        if new is not stmt and first_name(new, heads) is None:
            out[id(stmt)] = new
    return out, values


class _Apply(cst.CSTTransformer):
    """Replacements, helper definitions, and a TODO comment above each statement at fault.

    The statement holding a failure's node is the innermost one around it when the pass meets
    the node; a statement with several failures gets the first (in ``failures`` order).
    """

    def __init__(
        self,
        replacements: dict[int, Any],
        failures: list[Unsupported],
        before: dict[int, list[cst.BaseStatement]],
        lines: dict[int, int],
    ) -> None:
        self.replacements, self.before, self.lines = replacements, before, lines
        self.failures = {id(exc.node): i for i, exc in reversed(list(enumerate(failures)))}
        self.all = failures
        self.stack: list[cst.CSTNode] = []
        self.held: dict[int, int] = {}  # id(statement) -> index of its first failure
        self.findings: list[Finding] = []
        self.paths: set[int] = set()  # the nodes to enter: those holding a target

    def targets(self) -> set[int]:
        return set(self.replacements) | set(self.failures) | set(self.before)

    def on_visit(self, node: cst.CSTNode) -> bool:
        if isinstance(node, cst.SimpleStatementLine | cst.BaseCompoundStatement):
            self.stack.append(node)
        index = self.failures.get(id(node))
        if index is not None and self.stack:
            key = id(self.stack[-1])
            self.held[key] = min(self.held.get(key, index), index)
        return id(node) in self.paths

    def on_leave(self, original: cst.CSTNode, updated: cst.CSTNode) -> Any:
        if self.stack and self.stack[-1] is original:
            self.stack.pop()
        out = self._leave(original, updated)
        if id(original) not in self.before or not self.before[id(original)]:
            return out
        nodes = list(out.nodes) if isinstance(out, cst.FlattenSentinel) else [out]
        nodes[-1] = _spaced(nodes[-1])  # an assigned DAG's hoisted definitions come first
        return cst.FlattenSentinel([*nodes[:-1], *self.before[id(original)], nodes[-1]])

    def _leave(self, original: cst.CSTNode, updated: cst.CSTNode) -> Any:
        if isinstance(updated, cst.Module):
            return _unmarked_twice(updated)
        if id(original) in self.replacements:
            return self.replacements[id(original)]
        if id(original) in self.held and hasattr(updated, "leading_lines"):
            exc = self.all[self.held[id(original)]]
            self.findings.append(Finding(exc.code, self.lines.get(id(original), 1), exc.message))
            text = " ".join(f"{_MARK}({exc.code}): {exc.message}".split())  # one line
            lines = list(updated.leading_lines)
            if text in {ln.comment.value for ln in lines if ln.comment}:
                return updated  # marked already: an output converted again stays as it is
            lines.append(cst.EmptyLine(comment=cst.Comment(text)))
            return updated.with_changes(leading_lines=lines)
        return updated


def _unmarked_twice(module: cst.Module) -> cst.Module:
    """Drop a TODO just added above the first statement that the module's header holds already.

    libcst parses comment lines above a file's first statement into ``Module.header``, not
    into the statement's ``leading_lines``: an output converted again would mark that
    statement a second time (found by tests/converter/test_mutations.py)."""
    if not module.body or not module.header:
        return module
    first = module.body[0]
    lines = list(getattr(first, "leading_lines", ()))
    header = {ln.comment.value for ln in module.header if ln.comment}
    kept = [
        ln
        for ln in lines
        if not (ln.comment and ln.comment.value.startswith(_MARK) and ln.comment.value in header)
    ]
    if len(kept) == len(lines):
        return module
    return module.with_changes(body=[first.with_changes(leading_lines=kept), *module.body[1:]])


def _leftovers(info: FileInfo, skip: set[int]) -> list[cst.Name]:
    """References to airflow names outside the converted (and the kept) DAGs."""
    return _leftovers_in(info.module, info, skip)


def _leftovers_in(
    root: cst.CSTNode, info: FileInfo, skip: set[int], keep: bool = True
) -> list[cst.Name]:
    """References to airflow names under ``root`` (but names kept as written, with ``keep``)."""
    heads = info.airflow_heads() if keep else {n.partition(".")[0] for n in info.names}
    found = [
        node for node in nodes(root, USES, skip) if type(node) is cst.Name and node.value in heads
    ]
    local = shadowed(info.module, found)  # a function's own `dag` parameter is no airflow name
    return [node for node in found if id(node) not in local]


def convert_source(
    source: str, syntax: ast.Module | None = None, _own: frozenset[str] = frozenset()
) -> Result:
    """Convert one file's source; raises ``libcst.ParserSyntaxError`` if it does not parse.

    ``syntax``: the source's ``ast`` tree when the caller has it already (findings' lines);
    ``_own``: dagshift names the file binds itself, spelled as markers here (own_names.py)."""
    module = cst.parse_module(source)
    try:
        names = imports(module)
    except Unsupported as exc:
        return _marked(module, source, [exc], {}, [], syntax=syntax)
    if not _may_define_a_dag(names):  # a converted file keeping operators imports airflow
        return Result("not_a_dag", source)
    survey, bindings, constants = _Survey(names), Bindings(), Constants()
    sites = find_sites(module, names, [survey, bindings, constants])
    if not sites:
        return Result("not_a_dag", source)
    info = survey.info(module)
    info.constants = constants
    info.bound = bindings.found
    info.dag_vars = {site.dag_var for site in sites if site.dag_var}
    info.dag_ids = dag_ids(sites, constants)
    info.kept = kept_locals(names)
    for block in flow_blocks(module):  # DAGs converted before: Flows now, as they are here
        asname = block.items[0].asname
        if asname is not None and isinstance(asname.name, cst.Name):
            info.dag_vars.add(asname.name.value)
    jobs = [DagJob(info, site) for site in sites]
    failed = _run_jobs(info, jobs)
    outside: dict[int, cst.CSTNode] = {}
    uses_taskflow = any(full in TASK_DECORATORS | GROUP_DECORATORS for full in names.values())
    if uses_taskflow and failed:
        _fail(jobs, failed, "DS083", "TaskFlow DAG in a file whose other DAG stays as it is")
    elif uses_taskflow:
        try:
            outside = _taskflow_outside(info, jobs)
        except Unsupported as exc:
            failed = {id(j): exc for j in jobs}
    values: dict[int, cst.CSTNode] = {}
    if not failed:  # module-level code whose airflow names all have a dagshift equivalent
        values, extra = _values_outside(info, jobs, outside)
        outside.update(values)
        jobs[0].needs |= extra.needs
        jobs[0].modules |= extra.modules
    _fail_on_leftovers(info, jobs, failed, outside)
    if failed and values:  # a DAG stays: so does the code around it
        outside = {k: v for k, v in outside.items() if k not in values}
        _fail_on_leftovers(info, jobs, failed, outside)
    if uses_taskflow and failed:
        _fail(jobs, failed, "DS083", "TaskFlow DAG in a file whose other DAG stays as it is")
        outside = {}
    ok = [j for j in jobs if id(j) not in failed]
    needs = set().union(*(j.needs for j in ok)) if ok else set()
    clash = needs & bindings.found
    # the file's own name is also airflow's (its import): which one a reference means is unclear
    refused = sorted(clash & set(info.names)) or sorted(clash if bindings.dagshift or _own else ())
    if refused:
        _fail(
            jobs, failed, "DS003", f"the file binds {', '.join(refused)}, a dagshift name it needs"
        )
        ok = []
    elif clash:  # dagshift's comes in as dagshift.NAME, the file's stays
        marked, markers = mark(module, source, clash)
        return restore(convert_source(marked, syntax, frozenset(clash)), markers, source)
    failures = [failed[id(j)] for j in jobs if id(j) in failed]
    return _assemble(info, source, jobs, ok, failures, outside, bindings.found, syntax, _own)


def _assemble(info, source, jobs, ok, failures, outside, have, syntax, own) -> Result:
    replacements: dict[int, Any] = dict(outside)
    for job in ok:
        replacements.update(job.replacements)
    skip = set(replacements) | {id(j.site.node) for j in jobs} | for_bridged(info, ok)
    skip |= {id(s) for j in jobs for s in j.site.span}
    left = _leftovers(info, skip)
    if failures:  # the decorators of the DAGs that stay need no finding of their own
        decorators = TASK_DECORATORS | DAG_DECORATORS | GROUP_DECORATORS
        kept = {local for local, full in info.names.items() if full in decorators}
        left = [n for n in left if n.value not in kept]
    failures = failures + [
        Unsupported(n, "DS002", f"uses {n.value!r} from airflow, which stays") for n in left
    ]
    result = _marked(
        info.module,
        source,
        failures,
        replacements,
        ok,
        info.names,
        bool(outside),
        have,
        syntax,
        info.kept,
        own,
    )
    result.bridged = [b for j in ok for b in j.bridged]
    return result


def _marked(
    module,
    source,
    failures,
    replacements,
    ok,
    names=None,
    taskflow=False,
    have=frozenset(),
    syntax=None,
    kept=frozenset(),
    own=frozenset(),
) -> Result:
    failures = [
        exc if exc.node is not None else Unsupported(module.body[0], exc.code, exc.message)
        for exc in failures
    ]
    lines = statement_lines(module, syntax or source) if failures else {}
    before: dict[int, list[cst.BaseStatement]] = {}
    if ok:
        helpers = sorted(set().union(*(j.helpers for j in ok)))
        first = next((s for s in module.body if _contains(s, ok)), None)
        if first is not None:
            before[id(first)] = _helper_statements(helpers)
    apply = _Apply(replacements, failures, before, lines)
    apply.paths = holding(module, apply.targets())
    new = walk(module, apply)
    findings = apply.findings
    if ok:
        needs = set().union(*(j.needs for j in ok))
        modules = set().union(*(j.modules for j in ok))
        if own:
            new, needs, modules = qualify(new, set(own)), needs - own, modules | {"dagshift"}
        new = finish_imports(
            new, names or {}, needs, modules, taskflow or _any_taskflow(ok), set(have)
        )
    findings.sort(key=lambda f: (f.line, f.code))
    # ``walk`` hands back the very module when nothing changed: no need to print it
    code = source if new is module else new.code
    if code == source and not findings:
        return Result("unchanged", code)
    result = Result("partial" if findings else "converted", code, findings)
    if ok and kept:  # airflow names the converted code still uses, served by the shim
        used = {n.value for n in nodes(new, USES) if type(n) is cst.Name and n.value in kept}
        result.kept = [{"name": local, "airflow": names[local]} for local in sorted(used)]
    return result


def _any_taskflow(jobs: list[DagJob]) -> bool:
    return any("task" in j.needs for j in jobs)


def _contains(stmt: cst.CSTNode, jobs: list[DagJob]) -> bool:
    wanted = {id(j.site.node) for j in jobs}
    return any(id(node) in wanted for node in nodes(stmt))


def _helper_statements(helpers: list[str]) -> list[cst.BaseStatement]:
    if not helpers:
        return []
    stmts = list(cst.parse_module("".join(HELPERS[h] for h in helpers).lstrip("\n")).body)
    stmts[0] = stmts[0].with_changes(leading_lines=[cst.EmptyLine(), cst.EmptyLine()])
    return stmts


def _spaced(stmt: Any) -> Any:
    """Two blank lines before a statement that follows the helpers."""
    lines = list(getattr(stmt, "leading_lines", []))
    blank = 0
    while blank < len(lines) and lines[blank].comment is None:
        blank += 1
    if blank >= 2 or not hasattr(stmt, "leading_lines"):
        return stmt
    return stmt.with_changes(leading_lines=[cst.EmptyLine()] * (2 - blank) + lines)
