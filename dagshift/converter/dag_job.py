"""One DAG's conversion: analyze its region, then rewrite it, or raise Unsupported.

The region is the DAG's body (a ``with DAG`` block, a ``@dag`` function, or the module-level
statements of an assigned DAG). Analysis plans every operator call (and rewrites the callables
they use); the rewrite turns each operator call into a task call, passing pulled XCom values
from the tasks that produce them. Nothing here touches the module: the result is a map from
original nodes to their replacements, applied by ``convert.py`` only if every check passed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import libcst as cst
import libcst.matchers as m

from dagshift.converter.constants import Constants
from dagshift.converter.model import Unsupported, all_names, first_name, kwarg
from dagshift.converter.names import CHAIN, CROSS_DOWNSTREAM, LABELS, OPERATORS, qualified
from dagshift.converter.rules import bash_operator, dependencies, empty_operator, python_operator
from dagshift.converter.rules.airflow_values import AirflowValues
from dagshift.converter.rules.dag_definition import DagSite, flow_block
from dagshift.converter.rules.operators import operator_args, task_call
from dagshift.converter.rules.python_operator import PYTHON_ARGS, PythonPlan, python_plan
from dagshift.converter.rules.taskflow import is_taskflow, rewrite_taskflow
from dagshift.converter.rules.xcom import Pull
from dagshift.converter.walk import walk
from dagshift.runtime.task import DOC_ATTRIBUTES

__all__ = ["DagJob", "FileInfo"]

HELPERS = {
    "_dagshift_bash": bash_operator.HELPER,
    "_dagshift_empty": empty_operator.HELPER,
    "_dagshift_chain": dependencies.CHAIN_HELPER,
    "_dagshift_cross_downstream": dependencies.CROSS_HELPER,
    "_dagshift_render": python_operator.RENDER_HELPER,
}


# conv-rules: Airflow 2's date neighbours of a run, which the runtime derives from its interval
_NEIGHBOURS = re.compile(r"\b(next|prev)_(ds|ds_nodash|execution_date)\b")

# Attributes a DAG file may set on its DAG that only document it: set on the flow as well.
# (On a task, DOC_ATTRIBUTES only: dagshift's TaskRef keeps them.)
_DOC_ATTRIBUTES = DOC_ATTRIBUTES | {"description"}


@dataclass
class FileInfo:
    """What every DAG of a file shares."""

    module: cst.Module
    names: dict[str, str]
    functions: dict[str, cst.FunctionDef | None]  # None: defined more than once
    assigned: dict[str, cst.BaseExpression]  # module-level NAME = value, assigned once
    references: dict[str, int]  # Name references (definitions included) per name
    callable_uses: dict[str, int]  # python_callable=NAME uses per name
    airflow3: bool = False  # written for Airflow 3 (airflow.sdk / the standard provider)
    task_wraps: dict[str, int] = field(default_factory=dict)  # task(NAME) TaskFlow calls
    constants: Constants = field(default_factory=Constants)  # names bound once to a string


@dataclass
class _Plan:
    """A Bash or Empty operator call."""

    kind: str
    args: Any
    call_args: list[cst.Arg] = field(default_factory=list)
    pulled_ids: list[Pull] = field(default_factory=list)  # pulls in its templates
    mapped: cst.BaseExpression | None = None  # the commands of a mapped bash task


@dataclass
class _Producer:
    var: str
    index: int
    pushes: set[str]


@dataclass
class DagJob:
    file: FileInfo
    site: DagSite
    replacements: dict[int, Any] = field(default_factory=dict)  # id(original) -> new
    originals: dict[int, cst.CSTNode] = field(default_factory=dict)
    callables: dict[int, tuple[str, str]] = field(default_factory=dict)  # id(fn) -> kind, code
    helpers: set[str] = field(default_factory=set)
    needs: set[str] = field(default_factory=lambda: {"Flow"})
    modules: set[str] = field(default_factory=set)
    plans: dict[int, Any] = field(default_factory=dict)
    producers: dict[str, _Producer] = field(default_factory=dict)
    task_vars: set[str] = field(default_factory=set)  # names bound to an operator's task
    dynamic_ids: bool = False
    _referenced: set[str] | None = None

    def referenced(self) -> set[str]:
        """Names the DAG's region and its callables refer to."""
        if self._referenced is None:
            nodes = [*self.region(), *self.originals.values()] if self.site.kind != "other" else []
            self._referenced = {name for node in nodes for name in all_names(node)}
        return self._referenced

    # ------------------------------------------------------------------ analysis
    def region(self) -> list[cst.BaseStatement]:
        site = self.site
        if site.kind == "assign":
            return site.span[1:]
        if site.kind == "with":
            return list(site.node.body.body)
        return list(site.node.body.body)

    def run(self) -> None:
        if self.site.kind == "other":
            raise Unsupported(
                self.site.node, "DS054", "a DAG made other than by with, NAME = DAG(...) or @dag"
            )
        body = self.region()
        analyzer = _Analyzer(self)
        for index, stmt in enumerate(body):
            analyzer.index = index
            walk(stmt, analyzer)
            self._producer(stmt, index)
        rewriter = _Rewriter(self)
        values = AirflowValues(self.file.names)
        new_body = []
        for index, stmt in enumerate(body):
            rewriter.index = index
            new_body.append(walk(walk(stmt, rewriter), values))
        for key, new in list(self.replacements.items()):  # callables outside the region
            self.replacements[key] = walk(new, values)
        self._check_left(body, new_body)
        code = "".join(self.file.module.code_for_node(n) for n in [*body, *self.originals.values()])
        # Airflow 1.10/2.x: a run for a date covers the schedule period that ends at that date
        # (conv-rules: the date neighbours, next_ds ..., are derived from that interval)
        previous = not self.file.airflow3 and bool(
            "data_interval" in code or _NEIGHBOURS.search(code)
        )
        self.replacements.update(flow_block(self.site, new_body, self.file, values, previous))
        self.needs |= values.needs
        self.modules |= values.modules

    def _producer(self, stmt: cst.BaseStatement, index: int) -> None:
        if not m.matches(
            stmt, m.SimpleStatementLine([m.Assign(targets=[m.AssignTarget(m.Name())])])
        ):
            return
        plan = self.plans.get(id(stmt.body[0].value))
        if plan is None:
            return
        var = stmt.body[0].targets[0].target.value
        self.task_vars.add(var)
        if plan.args.task_id_value is None:
            return
        pushes = plan.pushes if isinstance(plan, PythonPlan) else set()
        self.producers[plan.args.task_id_value] = _Producer(var, index, pushes)

    def plan(self, call: cst.Call, kind: str, expand: cst.Arg | None = None) -> Any:
        what = "the operator"
        allowed = {"bash": {"bash_command", "env"}, "empty": set()}.get(kind, PYTHON_ARGS)
        args = operator_args(call, allowed, self.site.dag_var, what)
        if args.task_id_value is None:
            self.dynamic_ids = True
        if kind == "bash":
            self.helpers.add("_dagshift_bash")
            self.needs |= {"task", "render", "shell"}
            if expand is not None:
                if set(args.rest) - {"env"}:
                    raise Unsupported(call, "DS091", "partial() arguments of a mapped bash task")
                mapped = bash_operator.mapped_commands(call, expand.value)
                env = [kwarg("env", args.rest["env"].value)] if "env" in args.rest else []
                return _Plan("bash", args, env, [], mapped)
            call_args, ids = bash_operator.bash_arguments(
                call, args.rest, self.file.constants, legacy=not self.file.airflow3  # conv-rules
            )
            return _Plan("bash", args, call_args, ids)
        if kind == "empty":
            self.helpers.add("_dagshift_empty")
            self.needs.add("task")
            return _Plan("empty", args)
        return python_plan(self, call, kind, args, expand)

    def register(self, fn: cst.FunctionDef, new: cst.FunctionDef, kind: str) -> None:
        code = self.file.module.code_for_node(new)
        if self.callables.get(id(fn), (kind, code)) != (kind, code):
            raise Unsupported(fn, "DS038", f"{fn.name.value} is used by tasks of other kinds")
        self.callables[id(fn)] = (kind, code)
        self.replacements[id(fn)] = new
        self.originals[id(fn)] = fn

    # ------------------------------------------------------------------ rewrite
    def pulled(self, pull: Pull, index: int, node: cst.CSTNode) -> cst.BaseExpression:
        values = [self._pulled_one(t, pull, index, node) for t in pull.task_ids]
        return cst.List([cst.Element(v) for v in values]) if pull.many else values[0]

    def _pulled_one(self, task_id: str, pull: Pull, index: int, node) -> cst.BaseExpression:
        default = cst.Name("None")  # the callable applies the pull's default= to None
        producer = self.producers.get(task_id)
        if producer is None:
            if self.dynamic_ids or pull.many:
                raise Unsupported(node, "DS077", f"pull from {task_id!r}: no task of that id here")
            return default
        if producer.index >= index:
            raise Unsupported(
                node, "DS078", f"pull from {task_id!r}, which is defined after the task pulling it"
            )
        ref: cst.BaseExpression = cst.Name(producer.var)
        key = pull.key or ("return_value" if producer.pushes else None)
        if key is None:
            return ref
        if key != "return_value" and key not in producer.pushes:
            return default
        return cst.Subscript(ref, [cst.SubscriptElement(cst.Index(cst.SimpleString(f'"{key}"')))])

    def build(self, plan: Any, index: int, node: cst.Call) -> cst.BaseExpression:
        if isinstance(plan, PythonPlan):
            extra = [kwarg(p, self.pulled(pull, index, node)) for p, pull in plan.pulls.items()]
            if plan.expand_kwargs is not None:
                func = task_call(plan.target, plan.target_name, plan.args, [], plan.extra_options)
                mapped = cst.Attribute(func.func, cst.Name("expand_kwargs"))
                return cst.Call(mapped, [cst.Arg(plan.expand_kwargs)])
            args = plan.call_args + extra
            return task_call(plan.target, plan.target_name, plan.args, args, plan.extra_options)
        if plan.kind == "bash" and plan.mapped is not None:
            func = task_call(cst.Name("_dagshift_bash"), None, plan.args, []).func
            if plan.call_args:  # env= fixed for every command
                func = cst.Call(cst.Attribute(func, cst.Name("partial")), plan.call_args)
            return cst.Call(
                cst.Attribute(func, cst.Name("expand")), [kwarg("command", plan.mapped)]
            )
        if plan.kind == "bash":
            pull_args = [
                kwarg("xcom_" + pull.param_name(), self.pulled(pull, index, node))
                for pull in plan.pulled_ids
            ]
            return task_call(
                cst.Name("_dagshift_bash"), None, plan.args, plan.call_args + pull_args
            )
        return task_call(cst.Name("_dagshift_empty"), None, plan.args, [])

    def _task_doc(self, stmt: cst.BaseStatement) -> bool:
        """``t.doc_md = ...`` (or doc, doc_rst, doc_json, doc_yaml) on a task of this DAG."""
        if not m.matches(
            stmt, m.SimpleStatementLine([m.Assign([m.AssignTarget(m.Attribute(m.Name()))])])
        ):
            return False
        target = stmt.body[0].targets[0].target
        return target.value.value in self.task_vars and target.attr.value in DOC_ATTRIBUTES

    def _check_left(self, body: list[cst.BaseStatement], new_body: list[cst.CSTNode]) -> None:
        """No name from airflow (nor the DAG variable) may be left in the converted region."""
        allowed = {
            local
            for local, full in self.file.names.items()
            if full in ("airflow.decorators.task", "airflow.sdk.task")
        }
        heads = {n.partition(".")[0] for n in self.file.names} - allowed
        if self.site.dag_var:
            heads.add(self.site.dag_var)
        for old, new in zip(body, new_body, strict=True):
            doc = self.site.dag_var and m.matches(  # dag.doc_md = ...: an attribute of the flow
                old,
                m.SimpleStatementLine(
                    [m.Assign([m.AssignTarget(m.Attribute(m.Name(self.site.dag_var), m.Name()))])]
                ),
            )
            if doc and old.body[0].targets[0].target.attr.value in _DOC_ATTRIBUTES:
                found = first_name(old.body[0].value, heads)
            elif self._task_doc(old):  # t.doc_md = ...: TaskRef keeps documentation
                found = first_name(new, heads)
            elif m.matches(
                old, m.SimpleStatementLine([m.Assign([m.AssignTarget(m.Attribute(m.Name()))])])
            ):
                raise Unsupported(
                    old, "DS053", "an attribute set on a task, other than doc_md and its kin"
                )
            else:
                found = first_name(new, heads)
            if found is not None:
                left = found.value
                at = first_name(old, {left}) or old
                if left == self.site.dag_var:
                    raise Unsupported(at, "DS052", f"the DAG object {left!r} is used beyond dag=")
                raise Unsupported(
                    at, "DS002", f"uses {left!r} from airflow beyond what is converted"
                )
        for key, new in self.replacements.items():
            found = first_name(new, heads - {self.site.dag_var or ""})
            if found is not None:
                left = found.value
                original = self.originals[key]
                at = first_name(original, {left}) or original
                raise Unsupported(
                    at, "DS002", f"uses {left!r} from airflow beyond what is converted"
                )


class _Analyzer(cst.CSTVisitor):
    def __init__(self, job: DagJob) -> None:
        self.job, self.index = job, 0
        self.partials: set[int] = set()
        self.depth = 0  # inside a function defined in the DAG body

    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        self.depth += 1

    def leave_FunctionDef(self, original_node: cst.FunctionDef) -> None:
        self.depth -= 1

    def visit_Call(self, node: cst.Call) -> None:
        names = self.job.file.names
        if not self.depth and m.matches(
            node.func, m.Attribute(attr=m.Name("map") | m.Name("zip") | m.Name("concat"))
        ):
            raise Unsupported(node, "DS092", "XComArg .map/.zip/.concat is not converted")
        kind = OPERATORS.get(qualified(node.func, names) or "")
        full = qualified(node.func, names) or ""
        if kind is not None and id(node) not in self.partials:
            self.job.plans[id(node)] = self.job.plan(node, kind)
            return
        if full.endswith(("Operator", "Sensor")) and id(node) not in self.partials:
            raise Unsupported(node, "DS030", f"{full.rpartition('.')[2]} is not converted")
        if m.matches(
            node,
            m.Call(
                func=m.Attribute(
                    value=m.Call(func=m.Attribute(attr=m.Name("partial"))),
                    attr=m.Name("expand"),
                )
            ),
        ):
            inner = node.func.value
            kind = OPERATORS.get(qualified(inner.func.value, names) or "")
            if kind is None:
                return
            mapped_arg = {"python": "op_kwargs", "bash": "bash_command"}.get(kind)
            if len(node.args) != 1 or not m.matches(
                node.args[0], m.Arg(keyword=m.Name(mapped_arg or "-"))
            ):
                raise Unsupported(
                    node, "DS090", "an operator mapped other than over op_kwargs / bash_command"
                )
            self.partials.add(id(inner))
            self.job.plans[id(node)] = self.job.plan(
                inner.with_changes(func=inner.func.value), kind, node.args[0]
            )


class _Rewriter(cst.CSTTransformer):
    def __init__(self, job: DagJob) -> None:
        self.job, self.index = job, 0

    def leave_Call(self, original: cst.Call, updated: cst.Call) -> cst.BaseExpression:
        plan = self.job.plans.get(id(original))
        if plan is not None:
            return self.job.build(plan, self.index, original)
        full = qualified(original.func, self.job.file.names)
        for names, helper in (
            (CHAIN, "_dagshift_chain"),
            (CROSS_DOWNSTREAM, "_dagshift_cross_downstream"),
        ):
            if full in names:
                self.job.helpers.add(helper)
                return updated.with_changes(func=cst.Name(helper))
        return updated

    def leave_BinaryOperation(self, original: cst.BinaryOperation, updated: cst.BinaryOperation):
        # `a >> Label("why") >> b`: an edge label only annotates the edge; the edge stays
        if isinstance(updated.operator, cst.RightShift | cst.LeftShift):
            for side, other in ((updated.right, updated.left), (updated.left, updated.right)):
                if (
                    isinstance(side, cst.Call)
                    and qualified(side.func, self.job.file.names) in LABELS
                ):
                    return other
        return updated

    def leave_FunctionDef(self, original: cst.FunctionDef, updated: cst.FunctionDef):
        if id(original) in self.job.replacements:
            new = self.job.replacements.pop(id(original))
            self.job.originals.pop(id(original))
            return new
        if is_taskflow(original, self.job.file.names):
            new, uses_context = rewrite_taskflow(original, self.job.file)
            self.job.needs.add("task")
            if uses_context:
                self.job.needs.add("get_run_context")
            return new
        return updated
