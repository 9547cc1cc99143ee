"""Airflow names, resolved through a file's imports (never guessed from text).

One table per construct maps the qualified names of Airflow 1.10, 2.x and 3.x to what the
converter makes of them; :func:`imports` maps a file's local names to qualified names and
:func:`qualified` resolves a ``Name`` or dotted ``Attribute`` through that map.
"""

from __future__ import annotations

import libcst as cst

from dagshift.compat.paths import REEXPORTS
from dagshift.converter.model import Unsupported

__all__ = [
    "CHAIN",
    "CHAIN_LINEAR",
    "CROSS_DOWNSTREAM",
    "DAGS",
    "DAG_DECORATORS",
    "DAYS_AGO",
    "EXCEPTIONS",
    "LABELS",
    "OPERATORS",
    "TASK_DECORATORS",
    "TRIGGER_RULES",
    "imports",
    "is_airflow_import",
    "qualified",
]


def _each(modules: tuple[str, ...], names: dict[str, str]) -> dict[str, str]:
    return {f"{mod}.{name}": kind for mod in modules for name, kind in names.items()}


_PYTHON = {"PythonOperator": "python", "BranchPythonOperator": "branch"}
_PYTHON["ShortCircuitOperator"] = "short_circuit"
OPERATORS: dict[str, str] = {
    **_each(
        (
            "airflow.operators.python_operator",
            "airflow.operators.python",
            "airflow.providers.standard.operators.python",
            "airflow.operators",
        ),
        _PYTHON,
    ),
    **_each(
        (
            "airflow.operators.bash_operator",
            "airflow.operators.bash",
            "airflow.providers.standard.operators.bash",
            "airflow.operators",
        ),
        {"BashOperator": "bash"},
    ),
    **_each(
        ("airflow.operators.dummy_operator", "airflow.operators.dummy", "airflow.operators"),
        {"DummyOperator": "empty"},
    ),
    **_each(
        ("airflow.operators.empty", "airflow.providers.standard.operators.empty"),
        {"EmptyOperator": "empty"},
    ),
}
DAGS = {"airflow.DAG", "airflow.models.DAG", "airflow.models.dag.DAG", "airflow.sdk.DAG"}
DAG_DECORATORS = {"airflow.decorators.dag", "airflow.sdk.dag", "airflow.models.dag.dag"}
TASK_DECORATORS = {"airflow.decorators.task", "airflow.sdk.task"}
CHAIN = {
    "airflow.models.baseoperator.chain",
    "airflow.utils.helpers.chain",
    "airflow.sdk.chain",
    "airflow.models.chain",
}
CHAIN_LINEAR = {
    "airflow.models.baseoperator.chain_linear",
    "airflow.sdk.chain_linear",
    "airflow.models.chain_linear",
}
CROSS_DOWNSTREAM = {
    "airflow.models.baseoperator.cross_downstream",
    "airflow.utils.helpers.cross_downstream",
    "airflow.sdk.cross_downstream",
    "airflow.models.cross_downstream",
}
EXCEPTIONS = {
    "airflow.exceptions.AirflowSkipException": "SkipTask",
    "airflow.exceptions.AirflowFailException": "FailTask",
    "airflow.sdk.exceptions.AirflowSkipException": "SkipTask",
    "airflow.sdk.exceptions.AirflowFailException": "FailTask",
}
TRIGGER_RULES = {
    "airflow.utils.trigger_rule.TriggerRule",
    "airflow.task.trigger_rule.TriggerRule",
    "airflow.sdk.TriggerRule",
}
DAYS_AGO = {"airflow.utils.dates.days_ago"}
GET_CURRENT_CONTEXT = {
    "airflow.operators.python.get_current_context",
    "airflow.providers.standard.operators.python.get_current_context",
    "airflow.sdk.get_current_context",
    "airflow.sdk.definitions.context.get_current_context",
}
LABELS = {"airflow.utils.edgemodifier.Label", "airflow.sdk.Label"}


def _canonical(module: str) -> str:
    """The module whose names ``module`` re-exports (``airflow.providers.common.compat.sdk``:
    ``airflow.sdk``), from the shim's table; else ``module``."""
    return REEXPORTS.get(module, module)


def _is_airflow(module: str) -> bool:
    return module == "airflow" or module.startswith("airflow.")


def imports(module: cst.Module) -> dict[str, str]:
    """Local name -> qualified name for every module-level ``airflow`` import."""
    names: dict[str, str] = {}
    for stmt in module.body:
        if not isinstance(stmt, cst.SimpleStatementLine):
            continue
        for small in stmt.body:
            if isinstance(small, cst.ImportFrom) and small.module is not None:
                mod = cst.helpers.get_full_name_for_node(small.module) or ""
                if small.relative or not _is_airflow(mod):
                    continue
                if isinstance(small.names, cst.ImportStar):
                    raise Unsupported(small, "DS001", "star import from airflow")
                for alias in small.names:
                    full = cst.helpers.get_full_name_for_node(alias.name)
                    names[alias.evaluated_alias or full] = f"{_canonical(mod)}.{full}"
            elif isinstance(small, cst.Import):
                for alias in small.names:
                    full = cst.helpers.get_full_name_for_node(alias.name) or ""
                    if _is_airflow(full) and alias.asname is not None:
                        names[alias.evaluated_alias] = _canonical(full)
                    elif _is_airflow(full):  # `import a.b.c` binds `a`, reached as `a.b.c...`
                        names[full] = full
    return names


def qualified(node: cst.CSTNode, names: dict[str, str]) -> str | None:
    """The qualified Airflow name ``node`` refers to, through the file's imports."""
    if not isinstance(node, cst.Name | cst.Attribute):
        return None
    dotted = cst.helpers.get_full_name_for_node(node)
    if dotted is None:
        return None
    parts = dotted.split(".")
    for i in range(len(parts), 0, -1):  # `import airflow.models` binds a dotted local name
        local = ".".join(parts[:i])
        if local in names:
            module, _, name = ".".join([names[local], *parts[i:]]).rpartition(".")
            return f"{_canonical(module)}.{name}"
    if len(parts) > 1 and any(
        local == full and local.startswith(parts[0] + ".") for local, full in names.items()
    ):  # `import airflow.utils.helpers` binds `airflow`: `airflow.utils.dates.x` is that name
        module, _, name = dotted.rpartition(".")
        return f"{_canonical(module)}.{name}"
    return None


def is_airflow_import(small: cst.BaseSmallStatement) -> bool:
    if isinstance(small, cst.ImportFrom) and small.module is not None and not small.relative:
        return _is_airflow(cst.helpers.get_full_name_for_node(small.module) or "")
    if isinstance(small, cst.Import):
        return any(
            _is_airflow(cst.helpers.get_full_name_for_node(a.name) or "") for a in small.names
        )
    return False
