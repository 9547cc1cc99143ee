"""One DAG's conversion: analyze its region, then rewrite it, or raise Unsupported.

The region is the DAG's body (a ``with DAG`` block, a ``@dag`` function, or the module-level
statements of an assigned DAG). Analysis gives every operator call to the rule of the registry
(``rules/__init__.py``) that takes it, which plans it (and rewrites the callables it uses); the
rewrite asks the same rule for the new call, passing pulled XCom values from the tasks that
produce them. An operator no rule converts is taken by the ``bridged`` rule: it stays as
written, a task of the flow. Nothing here touches the module: the result is a map from
original nodes to their replacements, applied by ``convert.py`` only if every check passed.
"""

from __future__ import annotations

import builtins
import re
from dataclasses import dataclass, field
from typing import Any

import libcst as cst
import libcst.matchers as m

from dagshift.converter.constants import Constants
from dagshift.converter.model import Unsupported, all_names, appended, first_name, kwarg
from dagshift.converter.names import qualified
from dagshift.converter.pull_sources import may_be_a_task, other_task_ids, taskflow_producer
from dagshift.converter.rules import (
    REGISTRY,
    Rule,
    bash_operator,
    bridged,
    call_rule,
    dependencies,
    empty_operator,
    python_operator,
    setup_teardown,
)
from dagshift.converter.rules.airflow_values import AirflowValues
from dagshift.converter.rules.callables import LocalAnnotations
from dagshift.converter.rules.dag_definition import DagSite, dag_attribute, flow_block
from dagshift.converter.rules.operators import TASK_OPTIONS
from dagshift.converter.rules.task_groups import (
    TASK_GROUPS,
    group_functions,
    group_prefixes,
    is_group_function,
    rewrite_group_function,
)
from dagshift.converter.rules.taskflow import (
    check_taskflow_call,
    derived_value,
    is_taskflow,
    kept_taskflow,
    rendered_params,
    rewrite_taskflow,
)
from dagshift.converter.rules.xcom import ANY_KEY, Pull
from dagshift.converter.walk import nodes, walk
from dagshift.runtime.task import DOC_ATTRIBUTES

__all__ = ["DagJob", "FileInfo"]

HELPERS = {
    "_dagshift_bash": bash_operator.HELPER,
    "_dagshift_bash_appended": bash_operator.APPEND_HELPER,
    "_dagshift_bash_native": bash_operator.NATIVE_HELPER,
    "_dagshift_bash_native_appended": bash_operator.NATIVE_APPEND_HELPER,
    "_dagshift_bash_from_xcom": bash_operator.XCOM_HELPER,
    "_dagshift_empty": empty_operator.HELPER,
    **dependencies.HELPERS,
    "_dagshift_render": python_operator.RENDER_HELPER,
    "_dagshift_no_result": python_operator.NO_RESULT_HELPER,
    "_dagshift_render_native": python_operator.NATIVE_RENDER_HELPER,
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
    classes: set[str] = field(default_factory=set)  # classes the file defines
    dag_vars: set[str] = field(default_factory=set)  # names of the file's DAG objects
    dag_ids: dict[str, str] = field(default_factory=dict)  # DAG name bound once -> its dag_id
    bound: set[str] = field(default_factory=set)  # names the file binds itself (Bindings)
    kept: set[str] = field(default_factory=set)  # airflow names kept as written (kept_names)

    def airflow_heads(self) -> set[str]:
        """The first parts of the file's airflow names that converted code may not use (all
        but those kept as written)."""
        return {n.partition(".")[0] for n in self.names} - self.kept


@dataclass
class _Producer:
    var: str
    index: float
    pushes: set[str]
    bridged: bool = False  # an operator that stays as written
    taskflow: bool = False  # a TaskFlow task (pull_sources.taskflow_producer): no keys known
    returns: bool = True  # it may have a return value XCom


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
    plans: dict[int, tuple[Rule, Any]] = field(default_factory=dict)
    # id of an ``.as_setup()`` / ``.as_teardown(...)`` call -> its ``setups=`` value, or None
    roles: dict[int, Any] = field(default_factory=dict)
    producers: dict[str, _Producer] = field(default_factory=dict)
    task_vars: set[str] = field(default_factory=set)  # names bound to an operator's task
    bridged_vars: set[str] = field(default_factory=set)  # ... to an operator that stays
    bridged: list[dict[str, str]] = field(default_factory=list)  # task_id, operator
    kept_functions: set[int] = field(default_factory=set)  # TaskFlow functions kept as written
    dynamic_ids: bool = False
    group_items: set[int] | None = None  # TaskGroup(...) calls that are `with` items
    nested_index: dict[int, float] = field(default_factory=dict)  # statements in groups
    producer_calls: set[int] = field(default_factory=set)  # operator calls bound to a name
    _other_ids: set[str] | None = None  # ids other tasks may have (pull_sources.py)
    _referenced: set[str] | None = None
    _bridged_names: set[str] | None = None

    def _bridged_calls(self) -> set[int]:
        return {key for key, (_, plan) in self.plans.items() if getattr(plan, "bridged", False)}

    def referenced(self) -> set[str]:
        """Names the DAG's converted code refers to (its region and callables, not the calls
        of operators that stay as written)."""
        if self._referenced is None:
            roots = [*self.region(), *self.originals.values()] if self.site.kind != "other" else []
            skip = self._bridged_calls()
            self._referenced = {
                n.value for root in roots for n in nodes(root, skip=skip) if type(n) is cst.Name
            }
        return self._referenced

    def bridged_names(self) -> set[str]:
        """Names the calls of operators that stay as written refer to (after the analysis)."""
        if self._bridged_names is None:
            wanted = self._bridged_calls()
            calls = self._bridged_originals(self.region()) if wanted else []
            self._bridged_names = {name for call in calls for name in all_names(call)}
        return self._bridged_names

    # ------------------------------------------------------------------ analysis
    def region(self) -> list[cst.BaseStatement]:
        site = self.site
        if site.kind == "assign":
            return site.span[1:]
        return list(site.node.body.body)

    def run(self) -> None:
        if self.site.kind == "other":
            raise Unsupported(
                self.site.node,
                "DS054",
                "a DAG made other than by with, NAME = DAG(...), @dag or a factory whose "
                "every call is assigned to a global",
            )
        body = self.region()
        analyzer = _Analyzer(self)
        for index, stmt in enumerate(body):
            analyzer.index = index
            walk(stmt, analyzer)
            for inner, at in [(stmt, index), *self._in_blocks(stmt, index, analyzer.blocks)]:
                self._producer(inner, at)
                self._grouped_producers(inner, at)
                found = taskflow_producer(self, inner)
                if found is not None:
                    self.producers.setdefault(
                        found[1], _Producer(found[0], at, set(), taskflow=True)
                    )
        if python_operator.native_dag(self):  # rules/python_operator.py renders natively
            _native_only(self, body)
        if group_functions(self):  # the ids of their tasks are not known statically
            self.dynamic_ids = True
        rewriter = _Rewriter(self)
        values = AirflowValues(self.file.names)
        unannotated = LocalAnnotations(self.file.airflow_heads())
        new_body = []
        for index, stmt in enumerate(body):
            rewriter.index = index
            new_body.append(walk(walk(walk(stmt, rewriter), values), unannotated))
        for key, new in list(self.replacements.items()):  # callables outside the region
            self.replacements[key] = walk(walk(new, values), unannotated)
        self._check_left(body, new_body)
        roots = [*body, *self.originals.values()]
        legacy = not self.file.airflow3
        # Airflow 1.10/2.x: a run for a date covers the schedule period that ends at that date
        # (the date neighbours, next_ds ..., are derived from that interval too)
        previous = legacy and (
            bool(self.bridged)
            or "airflow_context" in self.needs  # a whole context: its neighbours too
            or _mentions(roots, "data_interval")
            or _mentions(roots, _NEIGHBOURS)
        )
        replacements = flow_block(self.site, new_body, self.file, values, previous)
        if self.bridged and legacy:  # the shim gives kept operators a 1.10/2.x context
            replacements = _with_flow_kwarg(replacements, "airflow_generation", '"2"')
        defaults = self._defaults_code()
        emitted = [v for v in replacements.values() if isinstance(v, cst.CSTNode)]
        used = {n.value for root in roots for n in nodes(root) if type(n) is cst.Name}
        called = [fn for name, fn in self.file.functions.items() if fn and name in used]
        may_retry = "retries" in defaults or _mentions(
            [*roots, *self.site.call_args, *emitted, *called], "retries"
        )  # default_args read from a function's return come out only in the emitted Flow;
        # a module-level `@task(retries=...)` the DAG calls retries too
        if may_retry and "retry_delay" not in defaults:
            # Airflow waits 300 s before a retry unless told otherwise; dagshift's default is 0
            replacements = _with_retry_delay(replacements)
        if _maps_over_results(emitted):
            # Airflow fails the task whose result is mapped over when it is no list, tuple or
            # dict (the mapped task is then upstream_failed); a dagshift flow fails the mapped
            # task unless the flow is marked as an Airflow DAG
            replacements = _with_flow_kwarg(replacements, "airflow_dag", "True")
        if legacy and _mentions([*roots, *self.site.call_args, *emitted], "on_success"):
            # Airflow 2.11 calls on_success_callback also after a task skipped itself
            replacements = _with_default_option(
                replacements, "success_callback_on_skip", '"success_callback_on_skip": True'
            )
        self.replacements.update(replacements)
        self.needs |= values.needs
        self.modules |= values.modules

    def _defaults_code(self) -> str:
        """The source of the DAG's default_args (through a module-level name)."""
        for arg in self.site.call_args:
            if arg.keyword and arg.keyword.value == "default_args":
                value = arg.value
                if isinstance(value, cst.Name):
                    value = self.file.assigned.get(value.value, value)
                return self.file.module.code_for_node(value)
        return ""

    def _grouped_producers(self, stmt: cst.BaseStatement, index: int) -> None:
        """The producers inside ``with TaskGroup`` blocks: their ids have the groups' prefix,
        and they are ordered between ``index`` and the next statement of the region."""
        inside = group_prefixes(stmt, self.file.names)
        for k, (child, prefix) in enumerate(inside):
            at = index + (k + 1) / (len(inside) + 1)
            self.nested_index[id(child)] = at
            if prefix is None:
                self.dynamic_ids = True  # a pull by id cannot be matched to its task
            else:
                self._producer(child, at, prefix)

    def _in_blocks(self, stmt: cst.BaseStatement, index: float, blocks: set[int]) -> list:
        """(statement, position) of each statement inside the setup/teardown ``with`` blocks
        of ``stmt``, nested ones too: their tasks are tasks of the flow, in order."""
        if id(stmt) not in blocks:
            return []
        out: list[tuple[cst.BaseStatement, float]] = []
        children = stmt.body.body
        for k, child in enumerate(children):
            at = index + (k + 1) / (len(children) + 1)
            self.nested_index[id(child)] = at
            out += [(child, at), *self._in_blocks(child, at, blocks)]
        return out

    def _producer(self, stmt: cst.BaseStatement, index: float, prefix: str = "") -> None:
        if not m.matches(
            stmt, m.SimpleStatementLine([m.Assign(targets=[m.AssignTarget(m.Name())])])
        ):
            return
        rule_plan = self.plans.get(id(stmt.body[0].value))
        if rule_plan is None:
            return
        plan = rule_plan[1]
        self.producer_calls.add(id(stmt.body[0].value))
        var = stmt.body[0].targets[0].target.value
        bridged = getattr(plan, "bridged", False)
        (self.bridged_vars if bridged else self.task_vars).add(var)
        if plan.args.task_id_value is None:
            return
        pushes = getattr(plan, "pushes", set())
        self.producers[prefix + plan.args.task_id_value] = _Producer(
            var, index, pushes, bridged, returns=getattr(plan, "returns", True)
        )

    def plan(self, call: cst.Call, rule: Rule, kind: str, expand: cst.Arg | None = None) -> None:
        """The rule's plan of an operator call, kept for the rewrite."""
        plan = rule.plan(self, call, kind, expand)
        if plan.args.task_id_value is None:
            self.dynamic_ids = True
        if getattr(plan, "bridged", False):
            task_id = plan.args.task_id_value
            self.bridged.append({"task_id": task_id or "?", "operator": plan.operator})
        self.plans[id(call)] = (rule, plan)

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
            if self.dynamic_ids:
                raise Unsupported(node, "DS077", f"pull from {task_id!r}: no task of that id here")
            if self._other_ids is None:
                self._other_ids = other_task_ids(self)
            if may_be_a_task(task_id, self._other_ids):  # its value is not None in Airflow
                raise Unsupported(
                    node,
                    "DS076",
                    f"pull from {task_id!r}, which may be a task not matched to its value "
                    "(a TaskFlow task, or an operator made in an if/for block or not bound)",
                )
            # no such task in the DAG: Airflow pulls None too (in a list pull, Airflow 3 keeps
            # None in its place and 2.x leaves it out, as for a task without a value)
            return default
        if producer.index >= index:
            raise Unsupported(
                node, "DS078", f"pull from {task_id!r}, which is defined after the task pulling it"
            )
        ref: cst.BaseExpression = cst.Name(producer.var)
        key = self._any_key(task_id, producer, node) if pull.key == ANY_KEY else pull.key
        if key is None:
            return ref
        if producer.bridged:
            raise Unsupported(
                node, "DS079", f"a pull by key= from {task_id!r}, an operator that stays"
            )
        if producer.taskflow:
            raise Unsupported(node, "DS076", f"a pull by key= from {task_id!r}, a TaskFlow task")
        if key not in producer.pushes:
            return default
        # a pushed key is a named output of the task, apart from its result
        return cst.Call(
            cst.Attribute(ref, cst.Name("pushed")), [cst.Arg(cst.SimpleString(f'"{key}"'))]
        )

    @staticmethod
    def _any_key(task_id: str, producer: _Producer, node: cst.CSTNode) -> str | None:
        """The key of the one XCom a task writes (None: its return value), for a pull of any
        key (Airflow 2.11 reads the latest): a task that pushes nothing, or pushes one key
        and returns no value."""
        if producer.bridged or producer.taskflow:
            pass
        elif not producer.pushes:
            return None
        elif len(producer.pushes) == 1 and not producer.returns:
            return next(iter(producer.pushes))
        raise Unsupported(
            node,
            "DS071",
            f"xcom_pull key=None from {task_id!r}: the latest of its XComs, not known statically",
        )

    def _task_doc(self, stmt: cst.BaseStatement) -> bool:
        """``t.doc_md = ...`` (or doc, doc_rst, doc_json, doc_yaml) on a task of this DAG."""
        if not m.matches(
            stmt, m.SimpleStatementLine([m.Assign([m.AssignTarget(m.Attribute(m.Name()))])])
        ):
            return False
        target = stmt.body[0].targets[0].target
        return target.value.value in self.task_vars and target.attr.value in DOC_ATTRIBUTES

    def _task_option(self, stmt: cst.BaseStatement) -> bool:
        """``t.trigger_rule = ...`` (a task option: retries, execution_timeout ...) on a task of
        this DAG: the converted task takes it the same way (``TaskRef`` sets its option)."""
        if not m.matches(
            stmt, m.SimpleStatementLine([m.Assign([m.AssignTarget(m.Attribute(m.Name()))])])
        ):
            return False
        target = stmt.body[0].targets[0].target
        return target.value.value in self.task_vars and target.attr.value in TASK_OPTIONS

    def _on_bridged(self, stmt: cst.BaseStatement) -> bool:
        """``t.attribute = ...`` on an operator that stays: an operator's attribute, as written."""
        return (
            m.matches(
                stmt,
                m.SimpleStatementLine([m.Assign([m.AssignTarget(m.Attribute(m.Name()))])]),
            )
            and stmt.body[0].targets[0].target.value.value in self.bridged_vars
        )

    def _check_left(self, body: list[cst.BaseStatement], new_body: list[cst.CSTNode]) -> None:
        """No name from airflow (nor the DAG variable) may be left in the converted region,
        but in the calls of operators that stay (and the DAG variable not even there)."""
        allowed = {
            local
            for local, full in self.file.names.items()
            if full in ("airflow.decorators.task", "airflow.sdk.task")
        }
        heads = self.file.airflow_heads() - allowed
        dags = (self.file.dag_vars | {self.site.dag_var}) - {None}  # a DAG is a Flow once converted
        heads |= dags
        funcs = {id(self_call.func) for self_call in self._bridged_originals(body)}
        defs = self._kept_definitions(body) | self._kept_templates(body)
        for old, new in zip(body, new_body, strict=True):
            if id(old) in defs or id(old) in self.kept_functions:
                continue  # a class, function or template only kept operators use: as written
            kept = (
                {id(n) for n in nodes(new) if type(n) is cst.Call and id(n.func) in funcs}
                if funcs
                else set()
            )
            attribute = _sets_attribute(old)  # `x.attr = ...` (the matchers are slow)
            doc = (
                attribute
                and self.site.dag_var
                and m.matches(  # dag.doc_md = ...: the flow's
                    old,
                    m.SimpleStatementLine(
                        [
                            m.Assign(
                                [m.AssignTarget(m.Attribute(m.Name(self.site.dag_var), m.Name()))]
                            )
                        ]
                    ),
                )
            )
            if doc and old.body[0].targets[0].target.attr.value in _DOC_ATTRIBUTES:
                found = first_name(old.body[0].value, heads)
            elif attribute and self._task_doc(old):  # t.doc_md = ...: TaskRef keeps it
                found = first_name(new, heads)
            elif attribute and self._on_bridged(old):
                found = first_name(new, dags)
            elif attribute and self._task_option(old):  # t.trigger_rule = ...: TaskRef sets it
                found = first_name(new, heads)
            elif attribute and m.matches(
                old, m.SimpleStatementLine([m.Assign([m.AssignTarget(m.Attribute(m.Name()))])])
            ):
                raise Unsupported(
                    old, "DS053", "an attribute set on a task, other than doc_md and its kin"
                )
            else:
                found = first_name(new, heads, kept)
                for call in (n for n in nodes(new) if id(n) in kept):
                    found = found or first_name(call, dags)
            if found is not None:
                self._left(old, found)
            _no_airflow_access(old, new, kept)
        for key, new in self.replacements.items():
            _no_airflow_access(self.originals[key], new)
            found = first_name(new, heads - {self.site.dag_var or ""})
            if found is not None:
                left = found.value
                original = self.originals[key]
                at = first_name(original, {left}) or original
                raise Unsupported(
                    at, "DS002", f"uses {left!r} from airflow beyond what is converted"
                )

    def _kept_definitions(self, body: list[cst.BaseStatement]) -> set[int]:
        """Classes and functions of the region that only operators kept as written use."""
        wanted = self.bridged_names()
        skip = self._bridged_calls()
        out: set[int] = set()
        for stmt in body:
            if not isinstance(stmt, cst.ClassDef | cst.FunctionDef) or id(stmt) in self.originals:
                continue
            name = stmt.name.value
            if name not in wanted:
                continue
            others = [n for s in body if s is not stmt for n in nodes(s, skip=skip)]
            if name in wanted and not any(type(n) is cst.Name and n.value == name for n in others):
                out.add(id(stmt))
        return out

    def _kept_templates(self, body: list[cst.BaseStatement]) -> set[int]:
        """Statements of the region binding a name, once in the file, to a string that only
        operators kept as written use (``JOB_ID = '{{ ti.xcom_pull("create")["jobId"] }}'``
        given to a provider operator's templated field): the shim renders it in that operator
        as Airflow does, so it may pull XCom."""
        wanted = self.bridged_names()
        if not wanted:
            return set()
        skip = self._bridged_calls()
        out: set[int] = set()
        for stmt in body:
            if not m.matches(
                stmt,
                m.SimpleStatementLine(
                    [
                        m.Assign(
                            [m.AssignTarget(m.Name())], m.SimpleString() | m.ConcatenatedString()
                        )
                    ]
                ),
            ):
                continue
            name = stmt.body[0].targets[0].target.value
            if name not in wanted or self.file.constants.text(cst.Name(name)) is None:
                continue
            others = [n for s in body if s is not stmt for n in nodes(s, skip=skip)]
            if not any(type(n) is cst.Name and n.value == name for n in others):
                out.add(id(stmt))
        return out

    def _bridged_originals(self, body: list[cst.BaseStatement]) -> list[cst.Call]:
        wanted = self._bridged_calls()
        if not wanted:
            return []
        return [n for stmt in body for n in nodes(stmt) if id(n) in wanted]

    def _left(self, old: cst.CSTNode, found: Any) -> None:
        left = found.value
        at = first_name(old, {left}) or old
        if left == self.site.dag_var or left in self.file.dag_vars:
            raise Unsupported(at, "DS052", f"the DAG object {left!r} is used beyond dag=")
        raise Unsupported(at, "DS002", f"uses {left!r} from airflow beyond what is converted")


def _sets_attribute(stmt: cst.CSTNode) -> bool:
    return (
        type(stmt) is cst.SimpleStatementLine
        and len(stmt.body) == 1
        and type(stmt.body[0]) is cst.Assign
        and any(type(t.target) is cst.Attribute for t in stmt.body[0].targets)
    )


def _maps_over_results(roots: list[cst.CSTNode]) -> bool:
    """Whether a task or group under ``roots`` is mapped (``.expand`` / ``.expand_kwargs``)
    over something other than literals: a task's result, perhaps."""
    for root in roots:
        for n in nodes(root):
            func = getattr(n, "func", None)
            if (
                type(n) is cst.Call
                and type(func) is cst.Attribute
                and func.attr.value in ("expand", "expand_kwargs")
                and any(type(v) in (cst.Call, cst.Name) for a in n.args for v in nodes(a.value))
            ):
                return True
    return False


def _mentions(roots: list[cst.CSTNode], word: str | re.Pattern) -> bool:
    """Whether a name or a string literal under ``roots`` holds ``word`` (or matches it, a
    pattern); cheaper than printing the code."""
    found = word.search if isinstance(word, re.Pattern) else (lambda text: word in text)
    return any(
        found(n.value)
        for root in roots
        for n in nodes(root)
        if type(n) in (cst.Name, cst.SimpleString, cst.FormattedStringText)
    )


_SETUP_TEARDOWN = {"as_setup", "as_teardown"}


def _setup_names(value: cst.BaseExpression, names: set[str]) -> bool:
    """Whether ``setups=`` is a name (or a list of names) bound to ``X(...).as_setup()``:
    Airflow makes them setups, already so in the converted flow."""
    items = [e.value for e in value.elements] if isinstance(value, cst.List) else [value]
    return bool(items) and all(isinstance(i, cst.Name) and i.value in names for i in items)


# What reaches Airflow's context or XCom at run time; none may be left in converted code.
_ACCESS = {"xcom_pull", "xcom_push", "get_current_context", "get_template_context"}


def _no_airflow_access(old: cst.CSTNode, new: cst.CSTNode, skip: Any = ()) -> None:
    """Unsupported when converted code (``new``, but the ``skip`` nodes) still reaches Airflow's
    context or XCom: a call named so, or a template pulling XCom (the rules convert every form
    they prove; this is the proof that none is left)."""
    for n in nodes(new, skip=skip):
        name = None
        if type(n) is cst.Attribute and n.attr.value in _ACCESS:
            name = n.attr.value
        elif type(n) is cst.Name and n.value in _ACCESS:
            name = n.value
        elif type(n) is cst.SimpleString and "{{" in n.value and ".xcom_p" in n.value:
            name = "xcom in a template"
        if name is not None:
            at = next((x for x in nodes(old) if type(x) is type(n) and x.deep_equals(n)), old)
            raise Unsupported(
                at, "DS095", f"converted code would still reach Airflow at run time ({name})"
            )


def _with_flow_kwarg(replacements: dict[int, Any], name: str, value: str) -> dict[int, Any]:
    """The replacements with ``name=value`` added to the ``Flow(...)`` call they make."""

    class _Add(cst.CSTTransformer):
        def leave_Call(self, original: cst.Call, updated: cst.Call) -> cst.Call:
            if not m.matches(updated.func, m.Name("Flow")):
                return updated
            args = list(updated.args)
            extra = cst.Arg(cst.parse_expression(value), keyword=cst.Name(name), equal=_EQ)
            return updated.with_changes(args=appended(args, [extra]))

    return _with_flow_args(replacements, _Add())


def _with_flow_args(replacements: dict[int, Any], change: cst.CSTTransformer) -> dict[int, Any]:
    """The replacements with the items of their ``with Flow(...)`` statement changed."""
    out: dict[int, Any] = {}
    for key, new in replacements.items():
        if isinstance(new, cst.FlattenSentinel):
            out[key] = cst.FlattenSentinel([_first_with(n, change) for n in new.nodes])
        elif isinstance(new, cst.CSTNode):
            out[key] = _first_with(new, change)
        else:
            out[key] = new
    return out


_EQ = cst.AssignEqual(cst.SimpleWhitespace(""), cst.SimpleWhitespace(""))
_AIRFLOW_RETRY_DELAY = '"retry_delay": 300'  # seconds: Airflow's [core] default_task_retry_delay


def _with_retry_delay(replacements: dict[int, Any]) -> dict[int, Any]:
    """The Flow's ``default_task_options`` with Airflow's retry delay, unless they have one."""
    return _with_default_option(replacements, "retry_delay", _AIRFLOW_RETRY_DELAY)


def _with_default_option(replacements: dict[int, Any], key: str, entry: str) -> dict[int, Any]:
    """The Flow's ``default_task_options`` with ``entry`` (``"key": value``), unless they
    mention ``key`` already."""
    found = []

    class _Add(cst.CSTTransformer):
        def leave_Arg(self, original: cst.Arg, updated: cst.Arg) -> cst.Arg:
            if not (updated.keyword and updated.keyword.value == "default_task_options"):
                return updated
            found.append(updated)
            value = updated.value
            if _mentions([value], key):
                return updated  # what the DAG's default_args give, however built
            if isinstance(value, cst.Dict):
                element = cst.parse_expression("{" + entry + "}").elements[0]
                last = value.elements[-1].with_changes(
                    comma=cst.Comma(whitespace_after=cst.SimpleWhitespace(" "))
                )
                return updated.with_changes(
                    value=value.with_changes(elements=[*value.elements[:-1], last, element])
                )
            code = cst.Module([]).code_for_node(value)
            merged = cst.parse_expression(f"{{**{code}, {entry}}}")
            return updated.with_changes(value=merged)

    out = _with_flow_args(replacements, _Add())
    if not found:
        out = _with_flow_kwarg(out, "default_task_options", "{" + entry + "}")
    return out


def _first_with(node: cst.CSTNode, add: cst.CSTTransformer) -> cst.CSTNode:
    """``node`` with the items of its ``with Flow(...)`` statement given to ``add``."""
    if isinstance(node, cst.With):
        return node.with_changes(items=[walk(item, add) for item in node.items])
    if isinstance(node, cst.FunctionDef):  # a @dag function: the block is in its body
        body = [_first_with(s, add) for s in node.body.body]
        return node.with_changes(body=node.body.with_changes(body=body))
    return node


class _Analyzer(cst.CSTVisitor):
    def __init__(self, job: DagJob) -> None:
        self.job, self.index = job, 0
        self.partials: set[int] = set()
        self.depth = 0  # inside a function defined in the DAG body
        self.setup_names: set[str] = set()  # bound to ``X(...).as_setup()`` in the body
        self.blocks: set[int] = set()  # ``with`` blocks over a setup or teardown task
        self.other_withs: list[int] = []  # the TaskGroup (or builtin) ``with`` blocks around

    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        self.depth += 1

    def leave_FunctionDef(self, original_node: cst.FunctionDef) -> None:
        self.depth -= 1

    def visit_Call(self, node: cst.Call) -> bool:
        names = self.job.file.names
        if not self.depth and m.matches(
            node.func, m.Attribute(attr=m.Name("map") | m.Name("zip") | m.Name("concat"))
        ):
            operators = self.job.task_vars | self.job.bridged_vars
            if not derived_value(node, self.job.region(), self.job.file, operators):
                raise Unsupported(node, "DS092", "XComArg .map/.zip/.concat is not converted")
        if type(node.func) is cst.Attribute and node.func.attr.value in _SETUP_TEARDOWN:
            return True  # checked on leaving, once the operator inside has its plan
        if id(node) in self.partials:
            return True
        if m.matches(
            node,
            m.Call(
                func=m.Attribute(
                    value=m.Call(func=m.Attribute(attr=m.Name("partial"))),
                    attr=m.Name("expand"),
                )
            ),
        ):
            return self._mapped(node, names)
        full = qualified(node.func, names)
        taken = call_rule(full, node, self.job.file)
        if taken is not None and self.depth and taken[0] is bridged.RULE:
            taken = None  # an operator made inside a function of the body: not kept as written
        if taken is not None:
            self.job.plan(node, *taken)
            return not getattr(self.job.plans[id(node)][1], "bridged", False)
        if (full or "").endswith(("Operator", "Sensor")):
            raise Unsupported(node, "DS030", f"{full.rpartition('.')[2]} is not converted")
        return True

    def visit_With(self, node: cst.With) -> None:
        """``with teardown(setup()):`` over a converted setup or teardown task stays (the
        runtime draws Airflow's edges, rules/setup_teardown.py); another ``with`` item is a
        TaskGroup or a builtin's."""
        if self.depth:
            return
        if setup_teardown.is_block(node, self.job.region(), self.job.file):
            if self.other_withs:  # its tasks' positions and ids are the group's: not analyzed
                raise Unsupported(
                    node, "DS093", "a setup or teardown with block inside a TaskGroup's block"
                )
            self.blocks.add(id(node))
            return
        self.other_withs.append(id(node))
        for item in node.items:
            root = item.item
            if type(root) is cst.Call and qualified(root.func, self.job.file.names) in TASK_GROUPS:
                continue
            while type(root) in (cst.Call, cst.Attribute):
                root = root.func if type(root) is cst.Call else root.value
            if type(root) is cst.Name and root.value in self.job.file.dag_vars:
                raise Unsupported(node, "DS052", f"the DAG object {root.value!r} as a with item")
            if type(root) is not cst.Name or not hasattr(builtins, root.value):
                raise Unsupported(
                    node, "DS093", "a with block over a task not known to be a setup or teardown"
                )

    def leave_With(self, original_node: cst.With) -> None:
        if self.other_withs and self.other_withs[-1] == id(original_node):
            self.other_withs.pop()
        if id(original_node) in self.blocks:
            setup_teardown.check_block(original_node, self.job.plans, self.job.file)

    def visit_Assign(self, node: cst.Assign) -> None:
        if m.matches(
            node,
            m.Assign(
                targets=[m.AssignTarget(m.Name())],
                value=m.Call(func=m.Attribute(value=m.Call(), attr=m.Name("as_setup")), args=[]),
            ),
        ):
            self.setup_names.add(node.targets[0].target.value)

    def leave_Call(self, original_node: cst.Call) -> None:
        node = original_node
        if type(node.func) is not cst.Attribute or node.func.attr.value not in _SETUP_TEARDOWN:
            return
        taken = self.job.plans.get(id(node.func.value))
        mapped = m.matches(node.func.value, m.Call(func=m.Attribute(attr=m.Name("expand"))))
        if taken is None and not self.depth:  # of a TaskFlow task: the runtime has the methods
            if setup_teardown.taskflow_role(node, self.job.region(), self.job.file):
                return
        if taken is None or getattr(taken[1], "bridged", False) or self.depth or mapped:
            raise Unsupported(node, "DS093", "a setup or teardown role of a task not converted")
        args = taken[1].args
        if node.func.attr.value == "as_setup":
            if node.args:
                raise Unsupported(node, "DS093", "as_setup() with arguments")
            args.options.append(kwarg("setup", cst.Name("True")))
            self.job.roles[id(node)] = None
            return
        setups, fails = None, []
        for arg in node.args:
            name = arg.keyword.value if arg.keyword else None
            if name == "setups" and _setup_names(arg.value, self.setup_names):
                setups = arg.value
            elif name == "on_failure_fail_dagrun" and m.matches(
                arg.value, m.Name("True") | m.Name("False") | m.Name("None")
            ):
                fails = [kwarg("fails_run", cst.Name("True"))] if arg.value.value == "True" else []
            else:
                raise Unsupported(node, "DS093", f"as_teardown argument {name or 'positional'}")
        # as in Airflow, as_teardown replaces the trigger rule
        args.options[:] = [a for a in args.options if a.keyword.value != "trigger_rule"]
        args.options += [
            kwarg("teardown", cst.Name("True")),
            kwarg("trigger_rule", cst.SimpleString('"all_done_setup_success"')),
            *fails,
        ]
        self.job.roles[id(node)] = setups

    def _mapped(self, node: cst.Call, names: dict[str, str]) -> bool:
        """``Operator.partial(...).expand(...)``: the rule of the operator maps it."""
        inner = node.func.value
        operator = inner.func.value
        taken = (
            None
            if self.depth
            else call_rule(
                qualified(operator, names), inner.with_changes(func=operator), self.job.file
            )
        )
        if taken is None or (self.depth and taken[0] is bridged.RULE):
            return True
        rule, kind = taken
        mapped_arg = rule.mapped.get(kind)
        if mapped_arg == "*":  # an operator kept as written maps as its call says (the shim)
            fits = bool(node.args) and all(a.keyword is not None and not a.star for a in node.args)
        else:
            fits = (
                mapped_arg is not None
                and len(node.args) == 1
                and m.matches(node.args[0], m.Arg(keyword=m.Name(mapped_arg)))
            )
        if not fits:
            raise Unsupported(
                node, "DS090", "an operator mapped other than over its one mapped argument"
            )
        self.partials.add(id(inner))
        plan = rule.plan(self.job, inner.with_changes(func=operator), kind, node.args[0])
        if plan.args.task_id_value is None:
            self.job.dynamic_ids = True
        if getattr(plan, "bridged", False):
            task_id = plan.args.task_id_value
            self.job.bridged.append({"task_id": task_id or "?", "operator": plan.operator})
        self.job.plans[id(node)] = (rule, plan)
        return True


def _native_only(job: DagJob, body: list[cst.BaseStatement]) -> None:
    """render_template_as_native_obj=True: only PythonOperator, BashOperator and EmptyOperator
    tasks, whose rendering the converter makes native; any other task keeps the TODO."""
    native = {"python_operator", "bash_operator", "empty_operator"}
    others = {rule.name for rule, _ in job.plans.values()} - native
    functions = [f for s in body for f in m.findall(s, m.FunctionDef())]
    if others or any(is_taskflow(f, job.file.names) for f in functions):
        raise Unsupported(
            job.site.node, "DS021", "render_template_as_native_obj=True with tasks of other kinds"
        )


class _Rewriter(cst.CSTTransformer):
    def __init__(self, job: DagJob) -> None:
        self.job, self.index = job, 0
        names = job.file.names
        self.taskflow = {  # TaskFlow functions of the DAG's body: they render their templates
            f.name.value
            for s in job.region()
            for f in m.findall(s, m.FunctionDef())
            if is_taskflow(f, names) and kept_taskflow(f, names) is None
        }

    def on_visit(self, node: cst.CSTNode) -> bool:
        at = self.job.nested_index.get(id(node)) if self.job.nested_index else None
        if at is not None:  # a statement inside a `with TaskGroup` block: its own position
            self.index = at
        return super().on_visit(node)

    def leave_Call(self, original: cst.Call, updated: cst.Call) -> cst.BaseExpression:
        if id(original) in self.job.roles:  # the role is in the task's options now
            setups, task = self.job.roles[id(original)], updated.func.value
            if setups is None:
                return task
            setups = next(a.value for a in updated.args if a.keyword.value == "setups")
            return cst.BinaryOperation(
                setups, cst.RightShift(), task, lpar=[cst.LeftParen()], rpar=[cst.RightParen()]
            )
        taken = self.job.plans.get(id(original))
        if taken is not None:
            rule, plan = taken
            return rule.build(self.job, plan, self.index, updated if plan_keeps(plan) else original)
        full = qualified(original.func, self.job.file.names)
        check_taskflow_call(original, self.job.file, self.taskflow)
        for rule in REGISTRY:
            if rule.rewrite_call is not None:
                new = rule.rewrite_call(self.job, original, updated, full)
                if new is not None:
                    return new
        return updated

    def leave_BinaryOperation(self, original: cst.BinaryOperation, updated: cst.BinaryOperation):
        for rule in REGISTRY:
            if rule.rewrite_binary is not None:
                new = rule.rewrite_binary(self.job, original, updated)
                if new is not None:
                    return new
        return updated

    def leave_AssignTarget(self, original: cst.AssignTarget, updated: cst.AssignTarget):
        # `t.execution_timeout = ...` on a converted task: the option's dagshift name
        target = updated.target
        if m.matches(target, m.Attribute(m.Name(), m.Name())):
            attr = target.attr.value
            if target.value.value in self.job.task_vars and TASK_OPTIONS.get(attr, attr) != attr:
                return updated.with_changes(
                    target=target.with_changes(attr=cst.Name(TASK_OPTIONS[attr]))
                )
        return updated

    def leave_Attribute(self, original: cst.Attribute, updated: cst.Attribute):
        # `t.output` of a converted operator is its result: the task's placeholder itself
        if m.matches(original, m.Attribute(m.Name(), m.Name("output"))):
            if original.value.value in self.job.task_vars:
                return updated.value
        return dag_attribute(original, self.job.file.dag_ids) or updated

    def leave_FunctionDef(self, original: cst.FunctionDef, updated: cst.FunctionDef):
        if id(original) in self.job.replacements:
            new = self.job.replacements.pop(id(original))
            self.job.originals.pop(id(original))
            return new
        kept = kept_taskflow(original, self.job.file.names)
        if kept is not None:  # a TaskFlow kind no rule converts: kept as written (the shim)
            new, module, kind = kept
            self.job.modules.add(module)
            self.job.bridged.append({"task_id": original.name.value, "operator": f"@task.{kind}"})
            self.job.kept_functions.add(id(original))
            return new
        if is_taskflow(original, self.job.file.names):
            rendered = ()
            if original.name.value in self.taskflow:
                rendered = rendered_params(original, self.job.file)
            if rendered:
                self.job.helpers.add("_dagshift_render")
            new, needs = rewrite_taskflow(original, self.job.file, rendered)
            self.job.needs |= needs
            return new
        if is_group_function(original, self.job.file.names):
            return rewrite_group_function(updated, self.job, original)
        return updated


def plan_keeps(plan: Any) -> bool:
    """Whether the rule rewrites the call as it is after its children's rewrite (an operator
    that stays keeps its arguments as written, but their own rewrites)."""
    return getattr(plan, "bridged", False)
