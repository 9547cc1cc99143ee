"""Context: names Airflow fills from the task's context become ``get_run_context()`` lookups.

A callable's parameter named after a context value (``ds``, ``execution_date``, ``params``
...) is dropped from the signature and assigned from ``get_run_context()`` at the top of the
body; ``context["ds"]`` / ``kwargs.get("ds")`` through a ``**context`` catch-all and
``dag_run.conf``, ``ti.try_number``, ``dag.dag_id``, ``task.task_id`` (see ``ATTRIBUTES``)
become the same lookup. ``execution_date`` is the logical date (same value).
"""

from __future__ import annotations

import libcst as cst

from dagshift.converter.model import Unsupported

__all__ = [
    "ATTRIBUTES",
    "check_template",
    "CONTEXT_VALUES",
    "OBJECTS",
    "OTHER_CONTEXT",
    "TI_NAMES",
    "context_lookup",
]

DESCRIPTION = (
    "context values (ds, ts, execution_date, params, dag_run.conf ...) -> get_run_context()"
)

# Airflow context name -> key of dagshift's get_run_context(), when the values are the same.
CONTEXT_VALUES = {
    "ds": "ds",
    "ds_nodash": "ds_nodash",
    "ts": "ts",
    "ts_nodash": "ts_nodash",
    "logical_date": "logical_date",
    "execution_date": "logical_date",
    "data_interval_start": "data_interval_start",
    "data_interval_end": "data_interval_end",
    "params": "params",
    "run_id": "run_id",
    "try_number": "try_number",
    "ts_nodash_with_tz": "ts_nodash_with_tz",
}
TI_NAMES = {"ti", "task_instance"}
# Context objects reached only for these attributes: (object, attribute) -> context key.
ATTRIBUTES = {
    ("ti", "try_number"): "try_number",
    ("ti", "task_id"): "task_id",
    ("ti", "map_index"): "map_index",
    ("ti", "run_id"): "run_id",
    ("dag_run", "conf"): "conf",
    ("dag_run", "run_id"): "run_id",
    ("dag", "dag_id"): "dag_id",
    ("task", "task_id"): "task_id",
}
OBJECTS = {"ti": "ti", "task_instance": "ti", "dag_run": "dag_run", "dag": "dag", "task": "task"}
# Context names dagshift has no equivalent value for: a callable that reads one stays as it is.
OTHER_CONTEXT = {
    "conf",
    "macros",
    "var",
    "templates_dict",
    "test_mode",
    "prev_ds",
    "next_ds",
    "prev_ds_nodash",
    "next_ds_nodash",
    "tomorrow_ds",
    "yesterday_ds",
    "prev_execution_date",
    "next_execution_date",
    "inlets",
    "outlets",
    "triggering_dataset_events",
    "triggering_asset_events",
    "outlet_events",
    "inlet_events",
    "conn",
    "expanded_ti_count",
    "map_index_template",
    "prev_data_interval_start_success",
    "prev_data_interval_end_success",
    "prev_start_date_success",
    "prev_end_date_success",
    "task_instance_key_str",
    "asset_state_store",
    "task_state_store",
    "exception",
    "partition_date",
    "partition_key",
    "reason",
    "task_reschedule_count",
    "prev_execution_date_success",
    "yesterday_ds_nodash",
    "tomorrow_ds_nodash",
    "latest_date",
    "dag_run_id",
}


def context_lookup(key: str, quote: str = '"') -> cst.BaseExpression:
    """``get_run_context()["<key>"]`` (``quote``: the other one inside an f-string)."""
    return cst.Subscript(
        cst.Call(cst.Name("get_run_context")),
        [cst.SubscriptElement(cst.Index(cst.SimpleString(f"{quote}{key}{quote}")))],
    )


# Names a Jinja template can use with dagshift's render(): the run context and macros.
# (Airflow's ``conf`` in a template is its configuration, not the run's conf: not here.)
TEMPLATE_NAMES = {
    "ds",
    "ds_nodash",
    "ts",
    "ts_nodash",
    "ts_nodash_with_tz",
    "logical_date",
    "data_interval_start",
    "data_interval_end",
    "params",
    "run_id",
    "macros",
    "var",
}


def check_template(node: cst.CSTNode, text: str, extra: set[str] = frozenset()) -> None:
    """Unsupported unless every name the template reads has the same value in dagshift."""
    if "{{" not in text and "{%" not in text:
        return
    import jinja2
    import jinja2.meta

    try:
        used = jinja2.meta.find_undeclared_variables(jinja2.Environment().parse(text))
    except jinja2.TemplateSyntaxError as exc:
        raise Unsupported(node, "DS063", f"a template Jinja cannot parse: {exc.message}") from None
    missing = sorted(used - TEMPLATE_NAMES - set(extra))
    if missing:
        raise Unsupported(
            node, "DS063", f"a template reads {', '.join(missing)}, not in dagshift's run context"
        )
