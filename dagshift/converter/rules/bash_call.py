"""BashOperator calls in a DAG's body: what the registry dispatches to (the command's own
rewrite, Jinja and XCom in ``bash_command`` and ``env``, is ``bash_operator.py``'s).

A call becomes ``_dagshift_bash(command, env=..., xcom_<id>=<upstream>)``; a mapped
``BashOperator.partial(...).expand(bash_command=[...])`` becomes
``_dagshift_bash.expand(command=[...])`` (``env=`` through ``.partial``), and one mapped over
``.map`` / ``.zip`` / ``.concat`` of TaskFlow results ``_dagshift_bash_from_xcom.expand(...)``.
In a DAG with ``render_template_as_native_obj=True``: ``_dagshift_bash_native`` (a mapped one:
DS021). A ``bash_command`` naming a script template file (``"run.sh"``) leaves the operator to
``bridged.py``: it stays as written.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import libcst as cst
import libcst.matchers as m

from dagshift.converter.model import Unsupported, evaluated, kwarg
from dagshift.converter.names import OPERATORS
from dagshift.converter.rules import Rule, bash_operator, python_operator
from dagshift.converter.rules.dag_definition import site_dag_id
from dagshift.converter.rules.operators import OperatorArgs, operator_args, task_call
from dagshift.converter.rules.taskflow import derived_value, output_value
from dagshift.converter.rules.xcom import Pull, template_name

__all__ = ["RULE", "BashPlan"]

DESCRIPTION = bash_operator.DESCRIPTION


@dataclass
class BashPlan:
    args: OperatorArgs
    call_args: list[cst.Arg] = field(default_factory=list)
    pulled_ids: list[Pull] = field(default_factory=list)  # pulls in its templates
    mapped: cst.BaseExpression | None = None  # the commands of a mapped bash task
    helper: str = "_dagshift_bash"  # _appended for append_env=True, _native in a native DAG


def _calls(full: str | None, call: cst.Call, file: Any) -> str | None:
    if OPERATORS.get(full or "") != "bash":
        return None
    return None if _names_script_file(call, file) else "bash"


def _names_script_file(call: cst.Call, file: Any) -> bool:
    """``bash_command="run.sh"``: Airflow renders the file's text, found through the DAG's
    folder and ``template_searchpath``, with its whole context; the converter cannot read
    which names the file uses, so the operator stays as written (bridged.py: the shim finds
    the file through the flow's folder and ``template_searchpath``, and renders it)."""
    arg = next((a for a in call.args if a.keyword and a.keyword.value == "bash_command"), None)
    if arg is None:
        return False
    if isinstance(arg.value, cst.SimpleString | cst.ConcatenatedString):
        text = evaluated(arg.value)
    else:
        text = file.constants.value(arg.value)
    return isinstance(text, str) and text.endswith(bash_operator.SCRIPT_EXTENSIONS)


def _plan(job: Any, call: cst.Call, kind: str, expand: cst.Arg | None) -> BashPlan:
    allowed = {"bash_command", "env", "append_env"}
    args = operator_args(call, allowed, job.site.dag_var, "the operator", job.file)
    helper = "_dagshift_bash"
    append = args.rest.get("append_env")
    if append is not None and expand is None and m.matches(append.value, m.Name("True")):
        helper = "_dagshift_bash_appended"
    elif append is not None and not m.matches(append.value, m.Name("False")):
        raise Unsupported(call, "DS011", "argument append_env= of the operator is not converted")
    if python_operator.native_dag(job):
        if expand is not None:
            raise Unsupported(call, "DS021", "a mapped bash task in a native-rendering DAG")
        helper = helper.replace("_dagshift_bash", "_dagshift_bash_native")
    job.needs |= {"task", "render", "shell"}
    if expand is not None:
        if set(args.rest) - {"env", "append_env"}:
            raise Unsupported(call, "DS091", "partial() arguments of a mapped bash task")
        env = [kwarg("env", args.rest["env"].value)] if "env" in args.rest else []
        value = expand.value
        if isinstance(value, cst.Call) and derived_value(
            value, job.region(), job.file, job.task_vars | job.bridged_vars
        ):
            job.helpers.add("_dagshift_bash_from_xcom")
            return BashPlan(args, env, [], value, helper="_dagshift_bash_from_xcom")
        mapped = bash_operator.mapped_commands(call, value)
        job.helpers.add(helper)
        return BashPlan(args, env, [], mapped)
    command = args.rest.get("bash_command")
    if (
        command is not None
        and job.file.airflow3
        and output_value(command.value, job.region(), job.file)
    ):
        # Airflow 3 resolves an XComArg in a templated field and renders it no further; 2.11
        # fails the task (execute() checks the unrendered bash_command, the XComArg, for .sh)
        if set(args.rest) != {"bash_command"} or python_operator.native_dag(job):
            raise Unsupported(call, "DS035", "a bash_command from XCom with env or append_env")
        job.helpers.add("_dagshift_bash_from_xcom")
        return BashPlan(args, [cst.Arg(command.value)], [], helper="_dagshift_bash_from_xcom")
    job.helpers.add(helper)
    call_args, ids = bash_operator.bash_arguments(
        call,
        args.rest,
        job.file.constants,
        legacy=not job.file.airflow3,
        dag_id=site_dag_id(job.site, job.file.constants),
    )
    return BashPlan(args, call_args, ids, helper=helper)


def _build(job: Any, plan: BashPlan, index: int, node: cst.Call) -> cst.BaseExpression:
    if plan.mapped is not None:
        func = task_call(cst.Name(plan.helper), None, plan.args, []).func
        if plan.call_args:  # env= fixed for every command
            func = cst.Call(cst.Attribute(func, cst.Name("partial")), plan.call_args)
        return cst.Call(cst.Attribute(func, cst.Name("expand")), [kwarg("command", plan.mapped)])
    pull_args = [
        kwarg(template_name(pull), job.pulled(pull, index, node)) for pull in plan.pulled_ids
    ]
    return task_call(cst.Name(plan.helper), None, plan.args, plan.call_args + pull_args)


RULE = Rule("bash_operator", DESCRIPTION, _calls, _plan, _build, mapped={"bash": "bash_command"})
