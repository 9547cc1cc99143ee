"""Arguments every operator shares: ``task_id``, ``dag``, and the task options that carry over.

``retries``, ``retry_delay``, ``retry_exponential_backoff``, ``max_retry_delay`` and
``trigger_rule``, ``pool`` and ``pool_slots`` keep their names; ``execution_timeout`` becomes
``timeout``. ``params`` keeps
its name too: as in Airflow, the task's params lie over the DAG's (the flow's) in its context
and templates, and the parameters given to a run over both (``dag_run.conf`` in Airflow 2/3).
(Only on the operator: ``params`` in ``default_args`` stays unconverted.) ``doc_md`` and its
kin keep their names (the task keeps them in its meta). Arguments that only notify or place
the task (owner, email, queue, sla, task_display_name ...) have no effect on a run and are
dropped. ``depends_on_past``, ``wait_for_downstream`` and ``ignore_first_depends_on_past`` keep
their names (the run waits for the task's past, runtime/past.py); so does ``executor_config``,
which only remote executors read: kept on the task, inert. In ``default_args``,
``depends_on_past=False`` and ``wait_for_downstream=False`` (their defaults) are dropped.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import libcst as cst
import libcst.matchers as m

from dagshift.converter.model import Unsupported, kwarg, string_value
from dagshift.converter.rules.callbacks import CALLBACKS, callback_arg
from dagshift.converter.rules.scheduling import TASK_ARGUMENTS, check_task_argument
from dagshift.runtime.task import DOC_ATTRIBUTES

__all__ = [
    "IGNORED",
    "IGNORED_IF_FALSE",
    "OperatorArgs",
    "KEPT_AS_IS",
    "TASK_OPTIONS",
    "CONVERTED_OPERATOR_PARAMETERS",
    "ignorable",
    "operator_args",
    "reaches_converted",
    "task_call",
]

DESCRIPTION = "task_id, dag=, retries, retry_delay, trigger_rule, params ... -> .override(...)"

TASK_OPTIONS = {
    "retries": "retries",
    "retry_delay": "retry_delay",
    "retry_exponential_backoff": "retry_exponential_backoff",
    "max_retry_delay": "max_retry_delay",
    "trigger_rule": "trigger_rule",
    "execution_timeout": "timeout",
    "pool": "pool",  # the slots it holds while it runs, shared by every run (runtime/pools.py)
    "pool_slots": "pool_slots",
    # the task waits for its own task in the flow's previous run (runtime/past.py)
    "depends_on_past": "depends_on_past",
    "wait_for_downstream": "wait_for_downstream",
    "ignore_first_depends_on_past": "ignore_first_depends_on_past",
    # what Airflow hands a remote executor (a Kubernetes pod override ...): local executors,
    # Airflow's and dagshift's, ignore it; the task keeps it, inert
    "executor_config": "executor_config",
    "retry_policy": "retry_policy",  # rules/retry_policy.py
}
# Arguments the task takes under the same name: the task's own params, its documentation, its
# outlets (scheduling.py)
KEPT_AS_IS = {"params"} | DOC_ATTRIBUTES | TASK_ARGUMENTS
IGNORED = {
    "owner",
    "email",
    "email_on_failure",
    "email_on_retry",
    "queue",
    "priority_weight",
    "weight_rule",
    "task_display_name",  # the name the UI shows
}


# Every constructor parameter of the operators rules convert (BaseOperator, PythonOperator and its
# branch/short-circuit kinds, BashOperator, EmptyOperator/DummyOperator, @task's operator) in
# Airflow 1.10.15, 2.11 and 3.x; tests/oracle/test_default_args_reach.py reads it off real Airflow.
# A default_args key outside it reaches no converted task (Airflow applies a key only to the
# operators whose constructor names it): it can only reach operators kept as written, which get
# the DAG's default_args whole (bridged.py).
CONVERTED_OPERATOR_PARAMETERS = frozenset(
    """
    allow_nested_operators append_env bash_command context cwd dag default_args depends_on_past
    do_xcom_push doc doc_json doc_md doc_rst doc_yaml email email_on_failure email_on_retry
    end_date env execution_timeout executor executor_config ignore_downstream_trigger_rules
    ignore_first_depends_on_past inlets kwargs_to_upstream logger_name map_index_template
    max_active_tis_per_dag max_active_tis_per_dagrun max_retry_delay multiple_outputs
    on_execute_callback on_failure_callback on_retry_callback on_skipped_callback
    on_success_callback op_args op_kwargs outlets output_encoding output_processor owner params
    pool pool_slots post_execute pre_execute priority_weight provide_context python_callable
    python_version queue render_template_as_native_obj requirements resources retries retry_delay
    retry_exponential_backoff retry_policy run_as_user show_return_value_in_logs skip_exit_code
    skip_on_exit_code sla start_date string_args system_site_packages task_concurrency
    task_display_name task_group task_id templates_dict templates_exts trigger_rule use_dill
    wait_for_downstream wait_for_past_depends_before_skipping weight_rule xcom_push
    """.split()
)


def reaches_converted(key: str) -> bool:
    """Whether a default_args key can reach a task a rule converts."""
    return key in CONVERTED_OPERATOR_PARAMETERS


# default_args keys whose False (their default) changes nothing in a run (an operator's own
# False stays: it may override a True of the DAG's default_args).
IGNORED_IF_FALSE = {"depends_on_past", "wait_for_downstream"}


def ignorable(name: str, value: cst.BaseExpression) -> bool:
    """Whether an operator (or default_args) argument has no effect on a run."""
    if name in IGNORED_IF_FALSE:
        return isinstance(value, cst.Name) and value.value == "False"
    return name in IGNORED or name == "sla"


@dataclass
class OperatorArgs:
    task_id: cst.BaseExpression
    task_id_value: str | None  # when a string literal
    options: list[cst.Arg]
    rest: dict[str, cst.Arg]


def operator_args(
    call: cst.Call, allowed: set[str], dag_var: str | None, what: str, info: Any = None
) -> OperatorArgs:
    """Split an operator call's keyword arguments; Unsupported for anything not handled
    (``info``: the file's FileInfo, to prove callbacks, rules/callbacks.py)."""
    task_id = None
    options: list[cst.Arg] = []
    rest: dict[str, cst.Arg] = {}
    for arg in call.args:
        if arg.keyword is None or arg.star:
            raise Unsupported(call, "DS010", f"positional or ** argument to {what}")
        name = arg.keyword.value
        if name == "task_id":
            task_id = arg.value
        elif name == "dag":
            if dag_var is None or not m.matches(arg.value, m.Name(dag_var)):
                raise Unsupported(call, "DS012", "dag= names another DAG than the one around it")
        elif name in TASK_OPTIONS or name in KEPT_AS_IS:
            check_task_argument(name, arg.value, call)
            options.append(kwarg(TASK_OPTIONS.get(name, name), arg.value))
        elif name in CALLBACKS and info is not None:
            options.append(kwarg(callback_arg(arg, info).keyword.value, arg.value))
        elif name in allowed:
            rest[name] = arg
        elif not ignorable(name, arg.value):
            raise Unsupported(call, "DS011", f"argument {name}= of {what} is not converted")
    if task_id is None:
        raise Unsupported(call, "DS031", f"{what} without a task_id")
    return OperatorArgs(task_id, string_value(task_id), options, rest)


def task_call(
    func: cst.BaseExpression,
    name: str | None,
    args: OperatorArgs,
    call_args: list[cst.Arg],
    extra_options: list[cst.Arg] = (),  # type: ignore[assignment]
) -> cst.Call:
    """``func(...)``, or ``func.override(task_id=..., options...)(...)`` to keep id and options."""
    options = [*args.options, *extra_options]
    if args.task_id_value is None or args.task_id_value != name or options:
        over = [kwarg("task_id", args.task_id)] + options
        func = cst.Call(cst.Attribute(func, cst.Name("override")), args=over)
    return cst.Call(func=func, args=call_args)
