"""Context: names Airflow fills from the task's context become ``get_run_context()`` lookups.

A callable's parameter named after a context value (``ds``, ``execution_date``, ``params``
...) is dropped from the signature and assigned from ``get_run_context()`` at the top of the
body; ``context["ds"]`` / ``kwargs.get("ds")`` through a ``**context`` catch-all and
``dag_run.conf``, ``ti.try_number``, ``dag.dag_id``, ``task.task_id`` (see ``ATTRIBUTES``)
become the same lookup.

Per the file's Airflow generation: Airflow 3 removed ``execution_date`` (in 1.10/2.x the
logical date, same value), ``next_ds``, ``prev_ds``, ``next_execution_date``,
``prev_execution_date``, ``yesterday_ds``, ``tomorrow_ds`` (and their ``_nodash`` forms):
those convert only in a file written for Airflow 1.10/2.x (``legacy``), where dagshift's run
context has Airflow 2.11's values; in an Airflow 3 file Airflow fails the template
(StrictUndefined), the callable (no such argument, KeyError) or passes its default, so its DAG
stays. ``macros``, ``var``, ``task_instance_key_str`` (Airflow 3.3's, for a run with a logical
date, is 2.x's ``dag_id__task_id__ds_nodash``), ``dag_run`` (conf, run_id, logical_date, data
interval) and Airflow's template filters (``ds``, ``ds_nodash``, ``ts``, ``ts_nodash``,
``ts_nodash_with_tz``) are in both.
"""

from __future__ import annotations

from typing import Any

import libcst as cst

from dagshift.converter.model import Unsupported
from dagshift.converter.rules.scheduling import (
    CONTEXT_3,
    CONTEXT_LEGACY,
    TEMPLATE_UNDEFINED,
    template_event_reads,
)

__all__ = [
    "ATTRIBUTES",
    "check_template",
    "CONTEXT_VALUES",
    "LEGACY_VALUES",
    "OBJECTS",
    "OTHER_CONTEXT",
    "TI_NAMES",
    "context_lookup",
    "context_values",
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
    "data_interval_start": "data_interval_start",
    "data_interval_end": "data_interval_end",
    "params": "params",
    "run_id": "run_id",
    "try_number": "try_number",
    "ts_nodash_with_tz": "ts_nodash_with_tz",
    "macros": "macros",
    "var": "var",
    # dag_id__task_id__ds_nodash: Airflow 3.3 too, for a run with a logical date (dagshift's
    # runs all have one; Airflow 3's run id takes the date's place in a run without one)
    "task_instance_key_str": "task_instance_key_str",
}
# Names only Airflow 1.10/2.x has (Airflow 3 removed or changed them): the same keys in dagshift.
LEGACY_VALUES = {
    name: name
    for name in (
        "next_ds",
        "next_ds_nodash",
        "prev_ds",
        "prev_ds_nodash",
        "next_execution_date",
        "prev_execution_date",
        "yesterday_ds",
        "yesterday_ds_nodash",
        "tomorrow_ds",
        "tomorrow_ds_nodash",
    )
}
# ``execution_date`` is the logical date in 1.10/2.x; Airflow 3's context has no such key.
_LEGACY_CONTEXT = {
    **CONTEXT_VALUES,
    **LEGACY_VALUES,
    **CONTEXT_LEGACY,
    "execution_date": "logical_date",
}
_CONTEXT_3 = {**CONTEXT_VALUES, **CONTEXT_3}  # asset events: see scheduling.py


def context_values(legacy: bool) -> dict[str, str]:
    """Context name -> run context key for a file written for Airflow 1.10/2.x (``legacy``) or 3."""
    return _LEGACY_CONTEXT if legacy else _CONTEXT_3


TI_NAMES = {"ti", "task_instance"}
# Context objects reached only for these attributes: (object, attribute) -> context key.
ATTRIBUTES = {
    ("ti", "try_number"): "try_number",
    ("ti", "task_id"): "task_id",
    ("ti", "map_index"): "map_index",
    ("ti", "run_id"): "run_id",
    ("dag_run", "conf"): "conf",
    ("dag_run", "run_id"): "run_id",
    ("dag_run", "logical_date"): "logical_date",
    ("dag_run", "data_interval_start"): "data_interval_start",
    ("dag_run", "data_interval_end"): "data_interval_end",
    ("dag", "dag_id"): "dag_id",
    ("task", "task_id"): "task_id",
}
OBJECTS = {"ti": "ti", "task_instance": "ti", "dag_run": "dag_run", "dag": "dag", "task": "task"}
# Context names dagshift has no equivalent value for: a callable that reads one stays as it is.
OTHER_CONTEXT = {
    "conf",
    "execution_date",  # in a 1.10/2.x file, the logical date (context_values(legacy=True))
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
    "task_instance_key_str",
}
# Objects a template may read only some attributes of: the run context's views have these.
TEMPLATE_OBJECTS = {
    "dag_run": {
        "conf",
        "logical_date",
        "data_interval_start",
        "data_interval_end",
        "dag_id",
        "run_id",
    },
    "dag": {"dag_id"},
    "task": {"task_id"},
    "ti": {"task_id", "dag_id", "map_index"},
    "task_instance": {"task_id", "dag_id", "map_index"},
}
_LEGACY_TEMPLATE_NAMES = TEMPLATE_NAMES | set(LEGACY_VALUES) | {"execution_date"}


def _tested(node: Any, parent: Any) -> bool:
    """Whether ``node`` is only tested for truth: ``x if node else y``, ``not node``,
    ``{% if node %}`` (the views are true objects, as Airflow's DagRun, DAG, task and TI)."""
    import jinja2.nodes

    if isinstance(parent, jinja2.nodes.CondExpr | jinja2.nodes.If):
        return parent.test is node
    return isinstance(parent, jinja2.nodes.Not)


def _object_reads(tree: Any) -> list[str]:
    """``obj.attr`` reads of TEMPLATE_OBJECTS that the views lack, and bare uses (``obj``)."""
    import jinja2.nodes

    bad: list[str] = []

    def visit(node: Any, parent: Any) -> None:
        if isinstance(node, jinja2.nodes.Name) and node.name in TEMPLATE_OBJECTS:
            attr = parent.attr if isinstance(parent, jinja2.nodes.Getattr) else None
            if attr is None and _tested(node, parent):
                pass  # `... if dag_run else ...`: a run's objects are true, as Airflow's are
            elif attr not in TEMPLATE_OBJECTS[node.name]:
                bad.append(f"{node.name}.{attr}" if attr else node.name)
        for child in node.iter_child_nodes():
            visit(child, node)

    visit(tree, None)
    return bad


def check_template(
    node: cst.CSTNode, text: str, extra: set[str] = frozenset(), *, legacy: bool = False
) -> None:
    """Unsupported unless every name the template reads has the same value in dagshift.

    ``legacy``: the file is written for Airflow 1.10/2.x, whose context has more names.
    """
    if "{{" not in text and "{%" not in text:
        return
    import jinja2
    import jinja2.meta

    from dagshift.runtime.context import FILTERS

    env = jinja2.Environment()
    env.filters.update(FILTERS)  # Airflow's filters: a template using another one stays
    try:
        tree = env.parse(text)
        used = jinja2.meta.find_undeclared_variables(tree)
    except jinja2.TemplateSyntaxError as exc:
        raise Unsupported(node, "DS063", f"a template Jinja cannot parse: {exc.message}") from None
    known = (_LEGACY_TEMPLATE_NAMES if legacy else TEMPLATE_NAMES) | set(TEMPLATE_OBJECTS)
    known |= TEMPLATE_UNDEFINED | {"inlet_events"}  # see scheduling.py
    missing = sorted((used - known - set(extra)) | set(_object_reads(tree)))
    if missing:
        raise Unsupported(
            node, "DS063", f"a template reads {', '.join(missing)}, not in dagshift's run context"
        )
    if template_event_reads(tree, legacy):
        raise Unsupported(
            node,
            "DS063",
            "a template reads inlet_events other than one event's extra or their count "
            "(dagshift would render it otherwise than Airflow)",
        )
