"""Convert one Airflow DAG file's source into a dagshift flow, statically.

The converter parses with libcst and never imports the file. It converts a file only when
every statement of its DAG is a construct it handles exactly (see ``_OPERATORS``); any other
file is returned unchanged, with findings saying why, and keeps running through the compat
shim. So a file is converted entirely or not at all: never half-converted.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import libcst as cst
import libcst.matchers as m
import libcst.metadata

__all__ = ["Finding", "Result", "convert_source"]

# Qualified operator names, across Airflow 1.10, 2.x and 3.x, mapped to a kind.
_OPERATORS = {
    "airflow.operators.python_operator.PythonOperator": "python",
    "airflow.operators.python.PythonOperator": "python",
    "airflow.providers.standard.operators.python.PythonOperator": "python",
    "airflow.operators.bash_operator.BashOperator": "bash",
    "airflow.operators.bash.BashOperator": "bash",
    "airflow.providers.standard.operators.bash.BashOperator": "bash",
    "airflow.operators.dummy_operator.DummyOperator": "empty",
    "airflow.operators.dummy.DummyOperator": "empty",
    "airflow.operators.empty.EmptyOperator": "empty",
    "airflow.providers.standard.operators.empty.EmptyOperator": "empty",
}
_DAGS = {"airflow.DAG", "airflow.models.DAG", "airflow.models.dag.DAG", "airflow.sdk.DAG"}
# Task arguments carried over verbatim (same name and meaning in the runtime).
_TASK_OPTIONS = {
    "retries",
    "retry_delay",
    "retry_exponential_backoff",
    "max_retry_delay",
    "trigger_rule",
}
_DAG_ARGS = {
    "description",
    "start_date",
    "end_date",
    "catchup",
    "tags",
    "params",
    "max_active_runs",
}
_BASH_HELPER = """

@task
def _dagshift_bash(command, env=None):
    # bash_command and env are both templated in Airflow's BashOperator
    if env is not None:
        env = {k: render(v) if isinstance(v, str) else v for k, v in env.items()}
    return shell(render(command), env=env)
"""
_EMPTY_HELPER = """

@task
def _dagshift_empty():
    return None
"""


@dataclass
class Finding:
    code: str
    line: int
    message: str


@dataclass
class Result:
    status: str  # converted | unchanged | not_a_dag
    code: str
    findings: list[Finding] = field(default_factory=list)


class _Unsupported(Exception):
    def __init__(self, node: cst.CSTNode | None, code: str, message: str) -> None:
        super().__init__(message)
        self.node, self.code, self.message = node, code, message


def _imports(module: cst.Module) -> dict[str, str]:
    """Local name -> qualified name for every ``airflow`` import of the module."""
    names: dict[str, str] = {}
    for stmt in module.body:
        if not m.matches(stmt, m.SimpleStatementLine()):
            continue
        for small in stmt.body:
            if isinstance(small, cst.ImportFrom) and small.module is not None:
                mod = cst.helpers.get_full_name_for_node(small.module) or ""
                if small.relative or not (mod == "airflow" or mod.startswith("airflow.")):
                    continue
                if isinstance(small.names, cst.ImportStar):
                    raise _Unsupported(small, "DS001", "star import from airflow")
                for alias in small.names:
                    full = cst.helpers.get_full_name_for_node(alias.name)
                    local = alias.evaluated_alias or full
                    names[local] = f"{mod}.{full}"
            elif isinstance(small, cst.Import):
                for alias in small.names:
                    full = cst.helpers.get_full_name_for_node(alias.name) or ""
                    if full == "airflow" or full.startswith("airflow."):
                        names[alias.evaluated_alias or full] = full
    return names


def _qualified(node: cst.BaseExpression, names: dict[str, str]) -> str | None:
    dotted = cst.helpers.get_full_name_for_node(node)
    if dotted is None:
        return None
    head, _, rest = dotted.partition(".")
    if head not in names:
        return None
    return names[head] + ("." + rest if rest else "")


def _is_airflow_import(stmt: cst.CSTNode) -> bool:
    if not isinstance(stmt, cst.SimpleStatementLine):
        return False
    for small in stmt.body:
        if isinstance(small, cst.ImportFrom) and small.module is not None and not small.relative:
            mod = cst.helpers.get_full_name_for_node(small.module) or ""
            if mod == "airflow" or mod.startswith("airflow."):
                return True
        if isinstance(small, cst.Import):
            for alias in small.names:
                full = cst.helpers.get_full_name_for_node(alias.name) or ""
                if full == "airflow" or full.startswith("airflow."):
                    return True
    return False


def _kwargs(call: cst.Call, allowed: set[str], what: str) -> dict[str, cst.Arg]:
    out: dict[str, cst.Arg] = {}
    for arg in call.args:
        if arg.keyword is None or arg.star:
            raise _Unsupported(call, "DS010", f"positional or ** argument to {what}")
        name = arg.keyword.value
        if name not in allowed:
            raise _Unsupported(call, "DS011", f"argument {name}= of {what} is not converted")
        out[name] = arg
    return out


def _string(node: cst.BaseExpression) -> str | None:
    if isinstance(node, cst.SimpleString):
        value = node.evaluated_value
        return value if isinstance(value, str) else None
    return None


# Names Airflow fills from the context when a callable has a parameter of that name.
_CONTEXT_NAMES = {
    "ds",
    "ds_nodash",
    "ts",
    "ts_nodash",
    "execution_date",
    "logical_date",
    "ti",
    "task_instance",
    "params",
    "dag_run",
    "dag",
    "task",
    "conf",
    "run_id",
    "macros",
    "data_interval_start",
    "data_interval_end",
    "prev_ds",
    "next_ds",
    "var",
    "templates_dict",
    "test_mode",
    "tomorrow_ds",
    "yesterday_ds",
    "inlets",
    "outlets",
}


def _plain_params(params: cst.Parameters) -> bool:
    if params.kwonly_params or params.star_kwarg or params.posonly_params:
        return False
    if params.star_arg != cst.MaybeSentinel.DEFAULT:
        return False
    return all(p.name.value not in _CONTEXT_NAMES for p in params.params)


def _literal(node: cst.BaseExpression) -> bool:
    """A constant that Airflow's templating would leave as it is."""
    if isinstance(node, cst.SimpleString):
        return "{{" not in node.value and "{%" not in node.value
    if isinstance(node, cst.Integer | cst.Float):
        return True
    if isinstance(node, cst.Name):
        return node.value in ("None", "True", "False")
    if isinstance(node, cst.UnaryOperation) and isinstance(node.operator, cst.Minus):
        return _literal(node.expression)
    if isinstance(node, cst.List | cst.Tuple):
        return all(isinstance(e, cst.Element) and _literal(e.value) for e in node.elements)
    if isinstance(node, cst.Dict):
        return all(
            isinstance(e, cst.DictElement) and _literal(e.key) and _literal(e.value)
            for e in node.elements
        )
    return False


def _op_arguments(call: cst.Call, kw: dict[str, cst.Arg]) -> list[cst.Arg]:
    """op_args / op_kwargs as call arguments, when they are constants."""
    out: list[cst.Arg] = []
    eq = cst.AssignEqual(cst.SimpleWhitespace(""), cst.SimpleWhitespace(""))
    if "op_args" in kw:
        value = kw["op_args"].value
        if not isinstance(value, cst.List | cst.Tuple) or not _literal(value):
            raise _Unsupported(call, "DS033", "op_args is not a list of constants")
        out += [cst.Arg(e.value) for e in value.elements]
    if "op_kwargs" in kw:
        value = kw["op_kwargs"].value
        if not isinstance(value, cst.Dict) or not _literal(value):
            raise _Unsupported(call, "DS034", "op_kwargs is not a dict of constants")
        for e in value.elements:
            key = _string(e.key)
            if key is None or not key.isidentifier():
                raise _Unsupported(call, "DS034", "op_kwargs key is not an identifier string")
            out.append(cst.Arg(e.value, keyword=cst.Name(key), equal=eq))
    return out


def _is_task_statement(stmt: cst.BaseStatement, dag_var: str) -> bool:
    """A module-level operator call with ``dag=<dag_var>``, or a dependency statement."""
    if not (isinstance(stmt, cst.SimpleStatementLine) and len(stmt.body) == 1):
        return False
    small = stmt.body[0]
    value = small.value if isinstance(small, cst.Assign | cst.Expr) else None
    if isinstance(value, cst.BinaryOperation) and isinstance(small, cst.Expr):
        return isinstance(value.operator, cst.RightShift | cst.LeftShift)
    if m.matches(
        value, m.Call(func=m.Attribute(attr=m.Name("set_upstream") | m.Name("set_downstream")))
    ):
        return isinstance(small, cst.Expr)
    return isinstance(value, cst.Call) and any(
        m.matches(a, m.Arg(keyword=m.Name("dag"), value=m.Name(dag_var))) for a in value.args
    )


def _without_blank_lead(stmt: cst.SimpleStatementLine) -> cst.SimpleStatementLine:
    """The first statement of a new block keeps its comments but not the blank lines before."""
    return stmt.with_changes(leading_lines=[ln for ln in stmt.leading_lines if ln.comment])


def _fold_dag_assignment(module: cst.Module, names: dict[str, str]) -> cst.Module:
    """Rewrite ``dag = DAG(...)`` + tasks with ``dag=dag`` into a ``with DAG(...) as dag:`` block.

    Only when the task statements follow the assignment as one contiguous run; otherwise the
    module comes back as it was (and is reported as not converted).
    """
    body = list(module.body)
    found = [
        i
        for i, st in enumerate(body)
        if m.matches(
            st,
            m.SimpleStatementLine(
                body=[m.Assign(targets=[m.AssignTarget(m.Name())], value=m.Call())]
            ),
        )
        and _qualified(st.body[0].value.func, names) in _DAGS
    ]
    if len(found) != 1:
        return module
    at = found[0]
    assign = body[at].body[0]
    dag_var = assign.targets[0].target.value
    run = [i for i, st in enumerate(body) if _is_task_statement(st, dag_var)]
    if not run or run[0] < at or run != list(range(run[0], run[-1] + 1)):
        return module
    block = cst.With(
        items=[cst.WithItem(assign.value, asname=cst.AsName(cst.Name(dag_var)))],
        body=cst.IndentedBlock(
            body=[_without_blank_lead(body[run[0]])] + [body[i] for i in run[1:]]
        ),
        leading_lines=body[at].leading_lines,
    )
    new_body = body[: run[0]] + [block] + body[run[-1] + 1 :]
    del new_body[at]
    return module.with_changes(body=new_body)


class _Converter:
    def __init__(self, module: cst.Module, names: dict[str, str]) -> None:
        self.module, self.names = module, names
        self.callables: set[str] = set()
        self.helpers: set[str] = set()
        self.functions = {s.name.value: s for s in module.body if isinstance(s, cst.FunctionDef)}

    def flow_call(self, call: cst.Call) -> cst.Call:
        args: list[cst.Arg] = []
        for i, arg in enumerate(call.args):
            key = arg.keyword.value if arg.keyword else None
            if arg.star or (key is None and i > 0):
                raise _Unsupported(call, "DS020", "DAG(...) argument form not converted")
            if key in (None, "dag_id"):
                args.insert(0, arg.with_changes(keyword=None, equal=cst.MaybeSentinel.DEFAULT))
            elif key in ("schedule", "schedule_interval"):
                args.append(arg.with_changes(keyword=cst.Name("schedule")))
            elif key == "default_args":
                args.append(
                    arg.with_changes(
                        keyword=cst.Name("default_task_options"), value=self.default_args(arg.value)
                    )
                )
            elif key in _DAG_ARGS:
                args.append(arg)
            else:
                raise _Unsupported(call, "DS021", f"DAG argument {key}= is not converted")
        if not args or args[0].keyword is not None:
            raise _Unsupported(call, "DS022", "DAG without a dag_id")
        last = args[-1].with_changes(comma=cst.MaybeSentinel.DEFAULT)
        return cst.Call(func=cst.Name("Flow"), args=[*args[:-1], last])

    def default_args(self, node: cst.BaseExpression) -> cst.BaseExpression:
        if not isinstance(node, cst.Dict):
            raise _Unsupported(node, "DS023", "default_args is not a dict literal")
        for el in node.elements:
            key = _string(el.key) if isinstance(el, cst.DictElement) else None
            if key not in _TASK_OPTIONS:
                raise _Unsupported(node, "DS024", f"default_args key {key!r} is not converted")
        return node

    def task_call(self, call: cst.Call, dag_var: str | None = None) -> cst.Call:
        try:
            return self._task_call(call, dag_var)
        except _Unsupported as exc:  # report the line of the operator as written
            raise _Unsupported(call, exc.code, exc.message) from None

    def _task_call(self, call: cst.Call, dag_var: str | None) -> cst.Call:
        kind = _OPERATORS.get(_qualified(call.func, self.names) or "")
        if kind is None:
            raise _Unsupported(call, "DS030", "operator is not one the converter handles")
        extra = {
            "python": {"python_callable", "op_args", "op_kwargs"},
            "bash": {"bash_command", "env"},
            "empty": set(),
        }
        if dag_var is not None:
            call = call.with_changes(
                args=[
                    a
                    for a in call.args
                    if not m.matches(a, m.Arg(keyword=m.Name("dag"), value=m.Name(dag_var)))
                ]
            )
        kw = _kwargs(call, _TASK_OPTIONS | {"task_id"} | extra[kind], "operator")
        task_id = _string(kw["task_id"].value) if "task_id" in kw else None
        if task_id is None:
            raise _Unsupported(call, "DS031", "task_id is not a string literal")
        options = [kw[k] for k in sorted(kw) if k in _TASK_OPTIONS]
        if kind == "python":
            fn = kw.get("python_callable")
            name = fn.value.value if fn and isinstance(fn.value, cst.Name) else None
            func = self.functions.get(name or "")
            if func is None or func.decorators or not _plain_params(func.params):
                raise _Unsupported(
                    call,
                    "DS032",
                    "python_callable is not a plain module function "
                    "(no decorators, *args, **kwargs or context-named parameters)",
                )
            self.callables.add(name)
            target, call_args = name, _op_arguments(call, kw)
        elif kind == "bash":
            target = "_dagshift_bash"
            command = kw["bash_command"].value if "bash_command" in kw else None
            if not isinstance(
                command, cst.SimpleString | cst.ConcatenatedString | cst.FormattedString
            ):
                raise _Unsupported(call, "DS035", "bash_command is not a string literal")
            text = command.evaluated_value if isinstance(command, cst.SimpleString) else None
            if text is None or text.rstrip().endswith((".sh", ".bash")):
                raise _Unsupported(
                    call,
                    "DS036",
                    "bash_command names a script template file " "or is not a plain string",
                )
            call_args = [cst.Arg(kw["bash_command"].value)] if "bash_command" in kw else []
            if "env" in kw:
                call_args.append(
                    cst.Arg(
                        kw["env"].value,
                        keyword=cst.Name("env"),
                        equal=cst.AssignEqual(cst.SimpleWhitespace(""), cst.SimpleWhitespace("")),
                    )
                )
        else:
            target, call_args = "_dagshift_empty", []
        self.helpers.add(target) if target.startswith("_dagshift") else None
        func_expr: cst.BaseExpression = cst.Name(target)
        if target != task_id or options:
            eq = cst.AssignEqual(cst.SimpleWhitespace(""), cst.SimpleWhitespace(""))
            over = [cst.Arg(cst.SimpleString(repr(task_id)), keyword=cst.Name("task_id"), equal=eq)]
            over += [a.with_changes(comma=cst.MaybeSentinel.DEFAULT, equal=eq) for a in options]
            func_expr = cst.Call(cst.Attribute(func_expr, cst.Name("override")), args=over)
        return cst.Call(func=func_expr, args=call_args)

    def body_statement(self, stmt: cst.BaseStatement, dag_var: str | None) -> cst.BaseStatement:
        if isinstance(stmt, cst.SimpleStatementLine) and len(stmt.body) == 1:
            small = stmt.body[0]
            if m.matches(small, m.Assign(targets=[m.AssignTarget(m.Name())], value=m.Call())):
                return stmt.with_changes(
                    body=[small.with_changes(value=self.task_call(small.value, dag_var))]
                )
            if isinstance(small, cst.Expr) and self.is_dependency(small.value, dag_var):
                return stmt
            if isinstance(small, cst.Expr) and isinstance(small.value, cst.Call):
                return stmt.with_changes(
                    body=[small.with_changes(value=self.task_call(small.value, dag_var))]
                )
            if isinstance(small, cst.Expr) and self.is_dependency(small.value, dag_var):
                return stmt
        raise _Unsupported(stmt, "DS040", "statement in the DAG body is not converted")

    def is_dependency(self, node: cst.BaseExpression, dag_var: str | None) -> bool:
        if isinstance(node, cst.BinaryOperation):
            return (
                isinstance(node.operator, (cst.RightShift, cst.LeftShift))
                and self.is_dependency(node.left, dag_var)
                and self.is_dependency(node.right, dag_var)
            )
        if m.matches(
            node,
            m.Call(
                func=m.Attribute(
                    value=m.Name(), attr=m.Name("set_upstream") | m.Name("set_downstream")
                ),
                args=[m.Arg(keyword=None, star="")],
            ),
        ):
            return self.is_dependency(node.func.value, dag_var) and self.is_dependency(
                node.args[0].value, dag_var
            )
        if isinstance(node, cst.List):
            return all(
                isinstance(e, cst.Element)
                and isinstance(e.value, cst.Name)
                and e.value.value != dag_var
                for e in node.elements
            )
        return isinstance(node, cst.Name) and node.value != dag_var

    def convert(self) -> cst.Module:
        withs = [s for s in self.module.body if isinstance(s, cst.With)]
        dag_withs = [
            s
            for s in withs
            if len(s.items) == 1
            and isinstance(s.items[0].item, cst.Call)
            and _qualified(s.items[0].item.func, self.names) in _DAGS
        ]
        if len(dag_withs) != 1:
            raise _Unsupported(
                None, "DS050", "the file does not hold exactly one `with DAG(...)` block"
            )
        body: list[cst.BaseStatement] = []
        placed = False
        for stmt in self.module.body:
            if _is_airflow_import(stmt):
                if not placed:
                    body.append(
                        cst.parse_statement("from dagshift import Flow, task\n").with_changes(
                            leading_lines=stmt.leading_lines
                        )
                    )
                    placed = True
                continue
            if stmt is dag_withs[0]:
                stmt = self.convert_with(stmt)
            elif isinstance(
                stmt, cst.SimpleStatementLine | cst.FunctionDef | cst.ClassDef | cst.If
            ):
                pass
            else:
                raise _Unsupported(stmt, "DS051", "module-level statement is not converted")
            body.append(stmt)
        body = [self.decorate(s) for s in body]
        return self.module.with_changes(body=body)

    def convert_with(self, stmt: cst.With) -> cst.With:
        item = stmt.items[0]
        dag_var = (
            item.asname.name.value
            if item.asname and isinstance(item.asname.name, cst.Name)
            else None
        )
        inner = [self.body_statement(s, dag_var) for s in stmt.body.body]
        new_item = item.with_changes(item=self.flow_call(item.item))
        return stmt.with_changes(items=[new_item], body=stmt.body.with_changes(body=inner))

    def decorate(self, stmt: cst.BaseStatement) -> cst.BaseStatement:
        if isinstance(stmt, cst.FunctionDef) and stmt.name.value in self.callables:
            return stmt.with_changes(decorators=[cst.Decorator(cst.Name("task"))])
        return stmt


def _line(module: cst.Module, node: cst.CSTNode | None) -> int:
    if node is None:
        return 1
    wrapper = cst.metadata.MetadataWrapper(module, unsafe_skip_copy=True)
    positions = wrapper.resolve(cst.metadata.PositionProvider)
    return positions[node].start.line if node in positions else 1


def _leftover_airflow_name(module: cst.Module, heads: set[str]) -> cst.Name | None:
    """The first reference to one of ``heads`` (names imported from airflow), if any."""
    found: list[cst.Name] = []

    class _Visitor(cst.CSTVisitor):
        def visit_Import(self, node: cst.Import) -> bool:
            return False

        def visit_ImportFrom(self, node: cst.ImportFrom) -> bool:
            return False

        def visit_Attribute(self, node: cst.Attribute) -> bool:
            node.value.visit(self)
            return False  # an attribute's own name is not a reference

        def visit_Name(self, node: cst.Name) -> None:
            if node.value in heads:
                found.append(node)

    module.visit(_Visitor())
    return found[0] if found else None


def convert_source(source: str) -> Result:
    """Convert one file's source; raises ``libcst.ParserSyntaxError`` if it does not parse."""
    module = cst.parse_module(source)
    try:
        names = _imports(module)
    except _Unsupported as exc:
        return Result(
            "unchanged", source, [Finding(exc.code, _line(module, exc.node), exc.message)]
        )
    if not names:
        return Result("not_a_dag", source)
    converter = _Converter(_fold_dag_assignment(module, names), names)
    try:
        new = converter.convert()
    except _Unsupported as exc:
        finding = Finding(
            exc.code,
            _line(module, exc.node),
            f"{exc.message}; the file is kept as it is and runs through the compat shim",
        )
        return Result("unchanged", source, [finding])
    heads = {local.partition(".")[0] for local in names}
    remaining = _leftover_airflow_name(new, heads)
    if remaining is not None:
        leftover = _leftover_airflow_name(module, {remaining.value}) or remaining
        finding = Finding(
            "DS002",
            _line(module, leftover),
            f"the file uses {leftover.value!r} from airflow beyond what is converted; "
            "the file is kept as it is and runs through the compat shim",
        )
        return Result("unchanged", source, [finding])
    code = new.code
    extra = sorted(h for h in converter.helpers)
    if "_dagshift_bash" in extra:
        code = code.replace(
            "from dagshift import Flow, task\n",
            "from dagshift import Flow, render, shell, task\n",
            1,
        )
    helpers = "".join(_BASH_HELPER if h == "_dagshift_bash" else _EMPTY_HELPER for h in extra)
    if helpers:
        marker = cst.parse_module(code)
        first_with = next(s for s in marker.body if isinstance(s, cst.With))
        pos = code.find(marker.code_for_node(first_with).lstrip("\n").splitlines()[0])
        head = code[:pos].rstrip("\n")
        code = head + "\n" + helpers + "\n\n" + code[pos:]
    cst.parse_module(code)  # the output must parse
    return Result("converted", code)
