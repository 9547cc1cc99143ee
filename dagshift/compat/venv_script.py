"""What crosses into the other interpreter of a virtualenv or external-Python task: the
context keys Airflow serializes, and the script it writes (see :mod:`dagshift.compat.venv`)."""

from __future__ import annotations

import inspect
import re
import textwrap
from collections.abc import Callable
from typing import Any

__all__ = [
    "AIRFLOW_KEYS",
    "BASE_KEYS",
    "CROSSING",
    "EMPTY_ONLY",
    "PENDULUM_KEYS",
    "decorated_source",
    "requirement_name",
    "script",
]

BASE_KEYS = frozenset(
    {
        "ds",
        "ds_nodash",
        "expanded_ti_count",
        "inlets",
        "outlets",
        "run_id",
        "task_instance_key_str",
        "test_mode",
        "ts",
        "ts_nodash",
        "ts_nodash_with_tz",
        "next_ds",
        "next_ds_nodash",
        "prev_ds",
        "prev_ds_nodash",
        "tomorrow_ds",
        "tomorrow_ds_nodash",
        "yesterday_ds",
        "yesterday_ds_nodash",
        "task_reschedule_count",
        "partition_key",
    }
)
PENDULUM_KEYS = frozenset(
    {
        "data_interval_end",
        "data_interval_start",
        "logical_date",
        "prev_data_interval_end_success",
        "prev_data_interval_start_success",
        "prev_start_date_success",
        "prev_end_date_success",
        "execution_date",
        "next_execution_date",
        "prev_execution_date",
        "prev_execution_date_success",
    }
)
# Airflow pickles these live objects for a venv that has Airflow; dagshift's are its own and
# cannot be rebuilt there, so only ``params`` (a plain dict) crosses.
AIRFLOW_KEYS = frozenset(
    {
        "macros",
        "conf",
        "dag",
        "dag_run",
        "task",
        "params",
        "triggering_asset_events",
        "triggering_dataset_events",
    }
)


# Values of these keys are plain data (or pendulum dates) in dagshift's context too; inlets and
# outlets cross when they are empty (dagshift's assets are its own objects).
EMPTY_ONLY = frozenset({"inlets", "outlets"})
CROSSING = (BASE_KEYS | PENDULUM_KEYS | {"params", "map_index_template"}) - EMPTY_ONLY


def requirement_name(line: str) -> str | None:
    """The normalized project name of a requirement line (None for options and comments)."""
    text = line.split("#", 1)[0].strip()
    if not text or text.startswith("-"):
        return None
    match = re.match(r"[A-Za-z0-9][A-Za-z0-9._-]*", text)
    if match is None:
        raise ValueError(f"Invalid requirement '{line}': no project name")
    return re.sub(r"[-_.]+", "-", match.group(0)).lower()


def decorated_source(fn: Callable[..., Any], decorator: str) -> str:
    """A TaskFlow function's source as Airflow writes it into the script: comment lines
    dropped, dedented, and its ``@task...``, ``@setup``/``@teardown`` decorators removed."""
    import libcst as cst

    raw = inspect.getsource(fn)
    lines = [line for line in raw.splitlines() if not line.strip().startswith("#")]
    source = textwrap.dedent("\n".join(lines)) + "\n"
    names = {"setup", "teardown", "task.skip_if", "task.run_if", decorator.strip("@")}

    def is_task_decorator(expr: cst.BaseExpression) -> bool:
        if isinstance(expr, cst.Call):
            return is_task_decorator(expr.func)
        if isinstance(expr, cst.Name):
            return expr.value in names
        if isinstance(expr, cst.Attribute) and isinstance(expr.value, cst.Name):
            return f"{expr.value.value}.{expr.attr.value}" in names
        return False

    class _Remover(cst.CSTTransformer):
        def leave_FunctionDef(self, original, updated):  # noqa: N802 (libcst's name)
            kept = [d for d in updated.decorators if not is_task_decorator(d.decorator)]
            return updated.with_changes(decorators=kept)

    return cst.parse_module(source).visit(_Remover()).code


def _source_file(fn: Callable[..., Any]) -> str | None:
    try:
        return inspect.getfile(fn)
    except TypeError:
        return None


def script(op: Any, has_args: bool) -> str:
    """The script the other interpreter runs, as Airflow's python_virtualenv_script.jinja2
    writes it: the source, the arguments loaded, ``virtualenv_string_args``, the result dumped
    (nothing for None) and an exception's message in the termination log."""
    name = op.python_callable.__name__
    module = getattr(op.python_callable, "__module__", None)
    dag = getattr(op, "dag", None)
    in_dag_file = dag is not None and _source_file(op.python_callable) == getattr(
        dag, "fileloc", None
    )
    parts = [
        "from __future__ import annotations\n",
        f"import {op.serializer}\nimport sys\nimport os\n",
        'os.environ["PYTHON_OPERATORS_VIRTUAL_ENV_MODE"] = "1"\n',
        "# Script\n" + op.get_python_source(),
    ]
    if in_dag_file and module:
        # An argument pickled by reference to the DAG file's module finds it here.
        parts.append(
            f"\nimport types\n_dag_module = types.ModuleType({module!r})\n"
            f"_dag_module.{name} = {name}\nsys.modules[{module!r}] = _dag_module\n"
        )
    if has_args:
        parts.append(
            f'\nwith open(sys.argv[1], "rb") as file:\n'
            f"    arg_dict = {op.serializer}.load(file)\n"
        )
    else:
        parts.append('\narg_dict = {"args": [], "kwargs": {}}\n')
    parts.append(
        '\nwith open(sys.argv[3], "r") as file:\n'
        "    virtualenv_string_args = list(map(lambda x: x.strip(), list(file)))\n"
        "\ntry:\n"
        f'    res = {name}(*arg_dict["args"], **arg_dict["kwargs"])\n'
        "except Exception as e:\n"
        '    with open(sys.argv[4], "w") as file:\n'
        "        file.write(str(e))\n"
        "    raise\n"
        '\nwith open(sys.argv[2], "wb") as file:\n'
        "    if res is not None:\n"
        f"        {op.serializer}.dump(res, file)\n"
    )
    return "".join(parts)
