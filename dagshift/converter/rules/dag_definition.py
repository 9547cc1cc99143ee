"""DAG definitions -> ``with Flow(...)`` blocks.

Three forms, several per file: ``with DAG(...) as dag:`` (anywhere), a module-level
``dag = DAG(...)`` whose tasks name it with ``dag=dag`` (the statements from the assignment to
the last one that uses the DAG or its tasks become the block; function and class definitions
among them move above it, unchanged), and ``@dag`` functions (the body becomes the block).
Arguments: dag_id, schedule / schedule_interval -> schedule, description, start_date,
end_date, catchup, tags, params (``Param`` values: see ``params.py``), max_active_runs,
dagrun_timeout -> run_timeout (past it the run fails and its unfinished tasks are skipped),
documentation ones as metadata, and
default_args: its task options -> default_task_options, its start_date/end_date -> the flow's.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import libcst as cst
import libcst.matchers as m

from dagshift.converter.model import (
    Unsupported,
    appended,
    assigned_names,
    first_name,
    kwarg,
    string_value,
)
from dagshift.converter.names import DAG_DECORATORS, DAGS, qualified
from dagshift.converter.rules.callbacks import (
    CALLBACKS,
    RUN_CALLBACKS,
    callback_arg,
    callback_option,
)
from dagshift.converter.rules.dag_function_params import parameter_statements
from dagshift.converter.rules.default_args import (
    DefaultArgs,
    factory_argument,
    read_default_args,
)
from dagshift.converter.rules.operators import (
    IGNORED_IF_FALSE,
    TASK_OPTIONS,
    ignorable,
    reaches_converted,
)
from dagshift.converter.rules.params import flow_params
from dagshift.converter.walk import nodes, scan, walk

__all__ = [
    "DagSite",
    "dag_attribute",
    "dag_ids",
    "find_sites",
    "flow_arguments",
    "flow_block",
    "site_dag_id",
]

DESCRIPTION = "with DAG / dag = DAG + dag=dag / @dag -> with Flow(...); DAG arguments"

_FLOW_ARGS = {
    "description",
    "start_date",
    "end_date",
    "catchup",
    "tags",
    "params",
    "max_active_runs",
    "doc_md",
    "max_active_tasks",
    "concurrency",
    "is_paused_upon_creation",
    "default_view",
    "orientation",
    "owner_links",
    "access_control",
    "dag_display_name",  # the name the UI shows: metadata of the flow
    # where template files are found after the flow file's folder (Flow.template_folders)
    "template_searchpath",
    # called by Airflow 2's scheduler when a task misses its sla=, outside every run (Airflow
    # 3 has no SLAs): no run's states or results depend on it; dagshift, which has no SLAs
    # either (a task's sla= is dropped, see operators.py), keeps it as metadata of the flow
    "sla_miss_callback",
}


@dataclass
class DagSite:
    """Where one DAG is defined. ``kind``: with | assign | decorator."""

    kind: str
    node: cst.CSTNode  # the With, the assignment statement, or the FunctionDef
    call_args: Sequence[cst.Arg]
    dag_var: str | None
    span: list[cst.BaseStatement]  # module-level statements of an assigned DAG (assign only)
    dag_id: str | None = None  # default dag_id (a @dag function's name)


def _dag_call(node: cst.CSTNode, names: dict[str, str]) -> bool:
    return isinstance(node, cst.Call) and qualified(node.func, names) in DAGS


def _mentions(stmt: cst.CSTNode, wanted: set[str]) -> bool:
    return any(type(node) is cst.Name and node.value in wanted for node in nodes(stmt))


def _bound(stmt: cst.CSTNode) -> set[str]:
    out: set[str] = set()
    if isinstance(stmt, cst.SimpleStatementLine):
        for small in stmt.body:
            if isinstance(small, cst.Assign):
                for t in small.targets:
                    for el in [t.target, *getattr(t.target, "elements", [])]:
                        node = el.value if isinstance(el, cst.Element) else el
                        if isinstance(node, cst.Name):
                            out.add(node.value)
    return out


def _assign_span(body: Sequence[cst.BaseStatement], at: int, var: str) -> list[cst.BaseStatement]:
    """The assignment, then every statement up to the last that uses the DAG or its tasks."""
    wanted = {var}
    last = at
    for i in range(at + 1, len(body)):
        if _mentions(body[i], wanted):
            last = i
            wanted |= _bound(body[i])
            if isinstance(body[i], cst.FunctionDef):  # makes tasks of the DAG (`dag=dag`)
                wanted.add(body[i].name.value)
    return list(body[at : last + 1])


class _Finder:
    def __init__(self, names: dict[str, str]) -> None:
        self.names = names
        self.sites: list[DagSite] = []
        self.calls: list[cst.Call] = []  # every DAG(...) call, to find those made otherwise

    def visit_Call(self, node: cst.Call) -> None:
        if _dag_call(node, self.names):
            self.calls.append(node)

    def visit_With(self, node: cst.With) -> None:
        if len(node.items) == 1 and _dag_call(node.items[0].item, self.names):
            asname = node.items[0].asname
            var = asname.name.value if asname and isinstance(asname.name, cst.Name) else None
            self.sites.append(DagSite("with", node, node.items[0].item.args, var, []))

    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        for dec in node.decorators:
            target = dec.decorator.func if isinstance(dec.decorator, cst.Call) else dec.decorator
            if qualified(target, self.names) in DAG_DECORATORS:
                args = dec.decorator.args if isinstance(dec.decorator, cst.Call) else []
                self.sites.append(DagSite("decorator", node, args, None, [], node.name.value))


def find_sites(
    module: cst.Module, names: dict[str, str], also: Sequence[Any] = ()
) -> list[DagSite]:
    """Every DAG definition of the module; a DAG made another way is an ``other`` site.

    ``also``: other visitors to run in the same pass over the tree.
    """
    finder = _Finder(names)
    scan(module, [finder, *also])
    sites = _find(module, names, finder)
    known = {id(a) for site in sites for a in site.call_args}
    for call in finder.calls:
        if not call.args or id(call.args[0]) not in known:
            sites.append(DagSite("other", call, call.args, None, []))
    return sites


def _find(module: cst.Module, names: dict[str, str], finder: _Finder) -> list[DagSite]:
    _find_assigned(list(module.body), names, finder)
    for stmt in module.body:
        if isinstance(stmt, cst.For) and isinstance(stmt.body, cst.IndentedBlock):
            # a DAG per iteration: Airflow finds those registered through globals() only
            _find_assigned(list(stmt.body.body), names, finder, registered=True)
    for stmt in module.body:  # DAG factories: a function of the module building its DAG
        if (
            isinstance(stmt, cst.FunctionDef)
            and isinstance(stmt.body, cst.IndentedBlock)
            and _registered(module, stmt.name.value)
        ):
            _find_assigned(list(stmt.body.body), names, finder, factory=True)
    return finder.sites


def _registered(module: cst.Module, name: str) -> bool:
    """Whether the module uses function ``name`` only as a factory whose every DAG Airflow
    finds: each use a call assigned, at module level, to a global (``NAME = f(...)``, in
    loops too, or ``globals()[...] = f(...)``). Airflow registers such a DAG, and only such
    (it is made without ``with``): the Flow made instead is found the same way. A function
    used otherwise (or only by other modules: a SubDAG's) keeps its DAG."""
    uses = sum(1 for n in nodes(module) if type(n) is cst.Name and n.value == name) - 1
    found = _sub_dags(module, name)
    pending: list[cst.CSTNode] = list(module.body)
    while pending:
        stmt = pending.pop()
        if isinstance(stmt, cst.SimpleStatementLine):
            found += sum(1 for small in stmt.body if _registers(small, name))
        elif isinstance(stmt, cst.For | cst.If | cst.While | cst.With | cst.Try):
            pending += [n for n in nodes(stmt) if isinstance(n, cst.SimpleStatementLine)]
    return found > 0 and found == uses


def _sub_dags(module: cst.Module, name: str) -> int:
    """Calls of ``name`` given as ``SubDagOperator(subdag=name(...))``: Airflow finds such a
    DAG through its parent's operator, and lists it as a DAG of the file."""
    found = 0
    for n in nodes(module):
        if not isinstance(n, cst.Call) or not (
            cst.helpers.get_full_name_for_node(n.func) or ""
        ).endswith("SubDagOperator"):
            continue
        found += sum(
            1
            for a in n.args
            if a.keyword
            and a.keyword.value == "subdag"
            and m.matches(a.value, m.Call(m.Name(name)))
        )
    return found


def _registers(small: cst.BaseSmallStatement, name: str) -> bool:
    if not m.matches(small, m.Assign([m.AssignTarget()], m.Call(m.Name(name)))):
        return False
    target = small.targets[0].target
    return isinstance(target, cst.Name) or m.matches(
        target, m.Subscript(m.Call(m.Name("globals"), args=[]))
    )


def _find_assigned(
    body: list[cst.BaseStatement],
    names: dict[str, str],
    finder: _Finder,
    factory: bool = False,
    registered: bool = False,
) -> None:
    """``NAME = DAG(...)`` statements of one body (the module's, a factory function's, or a
    module-level loop's: ``registered``, there ``globals()[...] = NAME = DAG(...)`` only)."""
    for i, stmt in enumerate(body):
        var = _assigned_dag(stmt, names)
        if var is not None and (not registered or len(stmt.body[0].targets) > 1):
            span = _assign_span(body, i, var)
            if factory and len(span) > 1 and _returns(span[-1], var):
                span = span[:-1]  # `return dag` stays after the block: it returns the Flow
            finder.sites.append(DagSite("assign", stmt, stmt.body[0].value.args, var, span))


def _assigned_dag(stmt: cst.BaseStatement, names: dict[str, str]) -> str | None:
    """NAME of ``NAME = DAG(...)``, also with ``globals()[...] =`` targets before it."""
    if not m.matches(stmt, m.SimpleStatementLine([m.Assign()])):
        return None
    assign = stmt.body[0]
    if not _dag_call(assign.value, names):
        return None
    *others, last = assign.targets
    if not isinstance(last.target, cst.Name) or not all(_registers_global(t) for t in others):
        return None
    return last.target.value


def _registers_global(target: cst.AssignTarget) -> bool:
    return m.matches(target.target, m.Subscript(m.Call(m.Name("globals"), args=[])))


def _returns(stmt: cst.BaseStatement, var: str) -> bool:
    return m.matches(stmt, m.SimpleStatementLine([m.Return(m.Name(var))]))


def dag_ids(sites: Sequence[DagSite], constants: Any) -> dict[str, str]:
    """DAG name -> dag_id, for the DAGs bound once (by ``with ... as`` or ``NAME = DAG``) to a
    DAG whose dag_id is a string known statically (see ``constants.py``)."""
    out: dict[str, str] = {}
    for site in sites:
        if site.kind not in ("with", "assign") or not site.dag_var:
            continue
        if constants.star or constants.bound[site.dag_var] != 1:
            continue
        given = [a for i, a in enumerate(site.call_args) if _is_dag_id(i, a)]
        found = constants.value(given[0].value) if len(given) == 1 else None
        if isinstance(found, str):
            out[site.dag_var] = found
    return out


def site_dag_id(site: DagSite, constants: Any) -> str | None:
    """The DAG's id, when it is a string known statically (or a @dag function's name)."""
    given = [a for i, a in enumerate(site.call_args) if _is_dag_id(i, a)]
    found = constants.value(given[0].value) if len(given) == 1 else site.dag_id
    return found if isinstance(found, str) else None


def _is_dag_id(index: int, arg: cst.Arg) -> bool:
    if arg.keyword is not None:
        return arg.keyword.value == "dag_id"
    return index == 0 and not arg.star


def dag_attribute(node: cst.Attribute, ids: dict[str, str]) -> cst.BaseExpression | None:
    """``dag.dag_id`` of a DAG of the file bound once -> its dag_id, a string literal: the
    value Airflow's attribute has, whether that DAG converts or stays (a converted DAG is a
    Flow, whose id is its ``name``)."""
    if isinstance(node.value, cst.Name) and node.attr.value == "dag_id" and node.value.value in ids:
        text = ids[node.value.value]
        return cst.SimpleString(f'"{text}"' if '"' not in text and "\\" not in text else repr(text))
    return None


def _default_args(
    value: cst.BaseExpression, assigned: dict[str, cst.BaseExpression], info: Any = None
) -> tuple[cst.BaseExpression | None, dict[str, cst.BaseExpression]]:
    """default_args -> (default_task_options value or None, flow arguments it gives)."""
    node = value
    if isinstance(value, cst.Name):
        node = assigned.get(value.value)  # type: ignore[assignment]
    plain = isinstance(node, cst.Dict) and not any(
        isinstance(el, cst.StarredDictElement) for el in node.elements
    )
    if not plain:
        read = read_default_args(value, info) if info is not None else None
        if read is None:
            raise Unsupported(
                value,
                "DS023",
                "default_args is not a dict known statically (a literal, dict(...), a merge "
                "of those, or a name bound once to one or to a function of the file returning one)",
            )
        return _read_options(value, read, info)
    options: list[cst.DictElement] = []
    flow: dict[str, cst.BaseExpression] = {}
    for el in node.elements:
        key = string_value(el.key) if isinstance(el, cst.DictElement) else None
        if key in IGNORED_IF_FALSE and ignorable(key, el.value):
            continue  # its default
        if key in TASK_OPTIONS:
            new_key = cst.SimpleString(f'"{TASK_OPTIONS[key]}"')
            options.append(el.with_changes(key=new_key) if key != TASK_OPTIONS[key] else el)
        elif key in ("start_date", "end_date"):
            flow[key] = el.value
        elif key in CALLBACKS and (option := callback_option(key, el.value, info)):
            options.append(el.with_changes(key=cst.SimpleString(f'"{option}"')))
        elif key == _PROVIDE_CONTEXT:
            pass  # see _PROVIDE_CONTEXT
        elif not ignorable(key or "", el.value) and (key is None or reaches_converted(key)):
            raise Unsupported(value, "DS024", _not_converted(key))
    if not options:
        return None, flow
    if isinstance(value, cst.Name) and len(options) == len(node.elements):
        # the very dict, when its keys are all the runtime's option names already
        # (execution_timeout is timeout, on_failure_callback on_failure ...)
        if all(o.key is e.key for o, e in zip(options, node.elements, strict=True)):
            return value, flow
    options = [el.with_changes(comma=cst.MaybeSentinel.DEFAULT) for el in options]
    return cst.Dict(options), flow


# 1.10's PythonOperator option to hand the callable its context: Airflow 2.11 (the oracle of
# 1.10/2.x files) hands it always and applies no default_args key that no operator's signature
# has, as provide_context; a converted callable gets its context either way.
_PROVIDE_CONTEXT = "provide_context"


def _not_converted(key: str | None) -> str:
    if key in CALLBACKS:  # rules/callbacks.py says which callbacks convert
        return (
            f"default_args {key} is not one function of this file reading only context "
            "values dagshift has"
        )
    return f"default_args key {key!r} is not converted"


def _read_options(
    value: cst.BaseExpression, read: DefaultArgs, info: Any
) -> tuple[cst.BaseExpression | None, dict[str, cst.BaseExpression]]:
    """(default_task_options, flow arguments) from default_args read by ``default_args.py``."""
    options: list[cst.DictElement] = []
    flow: dict[str, cst.BaseExpression] = {}
    for key, (expr, written) in read.items():
        if key in IGNORED_IF_FALSE and ignorable(key, written):
            continue  # its default
        if key in TASK_OPTIONS:
            options.append(cst.DictElement(cst.SimpleString(f'"{TASK_OPTIONS[key]}"'), expr))
        elif key in ("start_date", "end_date"):
            flow[key] = expr
        elif key in CALLBACKS and (option := callback_option(key, written, info)):
            options.append(cst.DictElement(cst.SimpleString(f'"{option}"'), expr))
        elif key == _PROVIDE_CONTEXT:
            pass  # see _PROVIDE_CONTEXT
        elif not ignorable(key, written) and reaches_converted(key):
            raise Unsupported(value, "DS024", _not_converted(key))
    return (cst.Dict(options) if options else None), flow


def flow_arguments(
    call: cst.CSTNode,
    call_args: Sequence[cst.Arg],
    dag_id: str | None,
    assigned: dict[str, cst.BaseExpression],
    names: dict[str, str] | None = None,
    needs: set[str] | None = None,
    info: Any = None,
) -> list[cst.Arg]:
    """``Flow(...)`` arguments for a DAG's arguments (``assigned``: module-level constants,
    ``names``: the file's airflow imports, to find ``Param`` in ``params``; ``needs`` gets the
    dagshift names the arguments use; ``info``: the file's FileInfo, to read default_args
    built in code)."""
    args: list[cst.Arg] = []
    first: cst.Arg | None = cst.Arg(cst.SimpleString(f'"{dag_id}"')) if dag_id else None
    from_defaults: dict[str, cst.BaseExpression] = {}
    for i, arg in enumerate(call_args):
        key = arg.keyword.value if arg.keyword else None
        if arg.star or (key is None and i > 0):
            raise Unsupported(call, "DS020", "DAG(...) argument form not converted")
        if key in (None, "dag_id"):
            first = arg.with_changes(keyword=None, equal=cst.MaybeSentinel.DEFAULT)
        elif key in ("schedule", "schedule_interval"):
            args.append(arg.with_changes(keyword=cst.Name("schedule")))
        elif key == "dagrun_timeout":  # the flow's run_timeout: Airflow's scheduler outcome
            args.append(arg.with_changes(keyword=cst.Name("run_timeout")))
        elif key == "default_args":
            value = factory_argument(arg.value, call, info) or arg.value
            options, from_defaults = _default_args(value, assigned, info)
            if options is not None:
                args.append(
                    arg.with_changes(keyword=cst.Name("default_task_options"), value=options)
                )
        elif key == "params" and (declared := flow_params(arg.value, names or {})) is not None:
            args.append(arg.with_changes(value=declared))
            if needs is not None:
                needs.add("Parameter")
        elif key == "concurrency":  # Airflow 2's name of the same per-run limit
            args.append(arg.with_changes(keyword=cst.Name("max_active_tasks")))
        elif key in _FLOW_ARGS:
            args.append(arg)
        elif key == "render_template_as_native_obj" and m.matches(
            arg.value, m.Name("True") | m.Name("False")
        ):  # True: the tasks render natively (rules/python_operator.py, dag_job._native_only)
            pass
        elif key in RUN_CALLBACKS and info is not None:  # rules/callbacks.py
            args.append(callback_arg(arg, info, run=True))
        else:
            raise Unsupported(call, "DS021", f"DAG argument {key}= is not converted")
    given = {a.keyword.value for a in args if a.keyword}
    added = [kwarg(k, v) for k, v in from_defaults.items() if k not in given]
    if added and args and isinstance(args[-1].comma, cst.Comma):
        # a call written one argument per line: the new ones follow the same layout
        args = appended(args, added)
    else:
        args += added
    if first is None:
        raise Unsupported(call, "DS022", "DAG without a dag_id")
    out = [first, *args]
    if call_args and isinstance(call_args[-1].comma, cst.Comma):
        # a call written one argument per line keeps that layout
        if dag_id and first is not None and first.keyword is None and len(call_args):
            out[0] = first.with_changes(comma=call_args[0].comma)
        return [*out[:-1], out[-1].with_changes(comma=call_args[-1].comma)]
    return [*out[:-1], out[-1].with_changes(comma=cst.MaybeSentinel.DEFAULT)]


def flow_block(
    site: DagSite,
    new_body: list[cst.BaseStatement],
    file: Any,
    values: cst.CSTTransformer,
    previous_interval: bool = False,
) -> dict[int, Any]:
    """Replacements that make the DAG's region a ``with Flow(...)`` block."""
    args = flow_arguments(
        site.node, site.call_args, site.dag_id, file.assigned, file.names, values.needs, file
    )
    args = [walk(a, values) for a in args]
    if previous_interval:
        extra = kwarg("data_interval", cst.SimpleString('"previous"'))
        if isinstance(args[-1].comma, cst.Comma):  # one argument per line
            args = appended(args, [extra])
        else:
            args = [*args, extra]
    heads = file.airflow_heads()
    for new_arg in args:
        found = first_name(new_arg, heads)
        if found is not None:
            at = next((n for a in site.call_args if (n := first_name(a, {found.value}))), site.node)
            raise Unsupported(at, "DS026", f"a DAG argument uses {found.value!r} from airflow")
    call = site.node.body[0].value if site.kind == "assign" else None
    if site.kind == "decorator":
        call = next(
            (
                d.decorator
                for d in site.node.decorators
                if isinstance(d.decorator, cst.Call) and _is_dag_decorator(d, file.names)
            ),
            None,
        )
    flow = (call or cst.Call(cst.Name("Flow"))).with_changes(func=cst.Name("Flow"), args=args)
    if site.kind == "with":
        item = site.node.items[0].with_changes(
            item=site.node.items[0].item.with_changes(func=cst.Name("Flow"), args=args)
        )
        new = site.node.with_changes(items=[item], body=site.node.body.with_changes(body=new_body))
        return {id(site.node): new}
    if site.kind == "decorator":
        fn = site.node
        declared: list[cst.BaseStatement] = []
        if (
            fn.params.params
            or fn.params.kwonly_params
            or fn.params.posonly_params
            or fn.params.star_arg != (cst.MaybeSentinel.DEFAULT)
            or fn.params.star_kwarg
        ):
            declared = parameter_statements(fn, site.call_args, file)
            values.needs.add("Parameter")
        head = []
        if new_body and m.matches(new_body[0], m.SimpleStatementLine([m.Expr(m.SimpleString())])):
            head, new_body = [new_body[0]], new_body[1:]
        if declared and new_body:  # the parameters, then a blank line, then the body
            lines = getattr(new_body[0], "leading_lines", None)
            if lines is not None:
                new_body[0] = new_body[0].with_changes(leading_lines=[cst.EmptyLine(), *lines])
        new_body = [*declared, *new_body]
        block = cst.With(
            [cst.WithItem(flow)],
            cst.IndentedBlock(
                [_no_blank_lead(new_body[0]), *new_body[1:]]
                if new_body
                else [cst.SimpleStatementLine([cst.Pass()])]
            ),
        )
        decorators = [d for d in fn.decorators if not _is_dag_decorator(d, file.names)]
        new_fn = fn.with_changes(
            decorators=decorators,
            params=cst.Parameters(),
            body=fn.body.with_changes(body=[*head, block]),
        )
        return {id(fn): new_fn}
    return _place_assigned(site, flow, new_body)


def _place_assigned(
    site: DagSite, flow: cst.Call, new_body: list[cst.BaseStatement]
) -> dict[int, Any]:
    out: dict[int, Any] = {}
    bound = {site.dag_var or ""}
    hoisted, inside = [], []
    for old, new in zip(site.span[1:], new_body, strict=True):
        if isinstance(old, cst.FunctionDef | cst.ClassDef) and first_name(old, bound) is None:
            hoisted.append(new)
        else:
            inside.append(new)
            bound |= assigned_names(old)
        out[id(old)] = cst.RemoveFromParent()
    assign = site.node
    inside = [_dedented_blanks(stmt) for stmt in inside]
    others = assign.body[0].targets[:-1]
    if others:  # globals()[...] = dag = DAG(...): the flow is registered the same way
        register = cst.SimpleStatementLine([cst.Assign(others, cst.Name(site.dag_var))])
        inside = [register, *inside]
    block = cst.With(
        [cst.WithItem(flow, asname=cst.AsName(cst.Name(site.dag_var)))],
        cst.IndentedBlock(
            [_no_blank_lead(inside[0]), *inside[1:]]
            if inside
            else [cst.SimpleStatementLine([cst.Pass()])]
        ),
        leading_lines=assign.leading_lines,
    )
    if hoisted:
        lines = [ln for ln in assign.leading_lines if ln.comment]
        block = block.with_changes(leading_lines=[cst.EmptyLine(), cst.EmptyLine(), *lines])
        hoisted[0] = hoisted[0].with_changes(leading_lines=[cst.EmptyLine(), cst.EmptyLine()])
    out[id(assign)] = cst.FlattenSentinel([*hoisted, block])
    return out


def _dedented_blanks(stmt: cst.BaseStatement) -> cst.BaseStatement:
    """Blank lines of a statement moved into a block carry no indentation."""
    lines = getattr(stmt, "leading_lines", None)
    if not lines:
        return stmt
    out: list[cst.EmptyLine] = []
    for ln in lines:
        if ln.comment:
            out.append(ln)
        elif not out or out[-1].comment:  # at most one blank line in a row inside the block
            out.append(ln.with_changes(indent=False))
    return stmt.with_changes(leading_lines=out)


def _is_dag_decorator(dec: cst.Decorator, names: dict[str, str]) -> bool:
    target = dec.decorator.func if isinstance(dec.decorator, cst.Call) else dec.decorator
    return qualified(target, names) in DAG_DECORATORS


def _no_blank_lead(stmt: cst.BaseStatement) -> cst.BaseStatement:
    """The first statement of a new block keeps its comments but not the blank lines before."""
    lines = getattr(stmt, "leading_lines", None)
    if lines is None:
        return stmt
    return stmt.with_changes(leading_lines=[ln for ln in lines if ln.comment])
