"""Airflow names kept as written (``rules/kept_names.py``): which stay, which keep the DAG, and
what a user sees of them (the converted file runs through the shim; the report lists them)."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest

from dagshift.converter.cli import main
from dagshift.converter.convert import convert_source
from dagshift.runtime.loader import load_path
from tests.converter.test_converter import DAY, _case, _mixed

_CALLABLE = """\
from datetime import datetime

from airflow import DAG
from airflow.operators.python import PythonOperator
{import_line}


def use():
    return {use}


with DAG("kept", start_date=datetime(2024, 1, 1), schedule_interval=None) as dag:
    PythonOperator(task_id="use", python_callable=use)
"""


@pytest.mark.parametrize(
    ("import_line", "use"),
    [
        ("from airflow.configuration import conf", 'conf.get("core", "dags_folder")'),
        ("from airflow.sdk import conf", 'conf.get("core", "dags_folder")'),
        ("from airflow.io.path import ObjectStoragePath", 'ObjectStoragePath("file:///tmp")'),
        ("from airflow.hooks.base import BaseHook", 'BaseHook.get_connection("x")'),
        ("from airflow.models.connection import Connection", 'Connection(conn_id="x")'),
        ("from airflow.exceptions import AirflowException", 'AirflowException("no")'),
        ("from airflow.macros import ds_add", 'ds_add("2024-01-15", 1)'),
        ("from airflow.utils.timezone import utcnow", "utcnow()"),
        ("from airflow.operators.python import is_venv_installed", "is_venv_installed()"),
        ("from airflow.providers.postgres.hooks.postgres import PostgresHook", "PostgresHook()"),
        ("from airflow.hooks.postgres_hook import PostgresHook", "PostgresHook()"),
        ("from airflow.contrib.hooks.gcp_transfer_hook import PROJECT_ID", "PROJECT_ID"),
    ],
)
def test_a_name_the_shim_serves_with_its_meaning_stays_imported_as_written(
    import_line: str, use: str
) -> None:
    result = convert_source(_CALLABLE.format(import_line=import_line, use=use))
    assert result.status == "converted", result.findings
    assert import_line in result.code.splitlines()
    assert f"    return {use}" in result.code.splitlines()
    name = import_line.rpartition(" ")[2]
    assert [k["name"] for k in result.kept] == [name]


@pytest.mark.parametrize(
    ("import_line", "use"),
    [
        # they read a run's state: never kept (the last check would not see them)
        ("from airflow.models import XCom", 'XCom.get_one(key="k", task_id="t")'),
        ("from airflow.models import TaskInstance", "TaskInstance"),
        ("from airflow.models import DagRun", 'DagRun.find(dag_id="kept")'),
        # names with rules of their own, which leave what they do not prove
        ("from airflow.models import Variable", 'Variable.setdefault("k", "v")'),
        # what the shim cannot serve: a provider's other classes and functions, modules
        ("from airflow.providers.common.sql.config import DataSourceConfig", "DataSourceConfig"),
        ("from airflow.contrib.hooks.gcp_transfer_hook import GcpTransferJobsStatus", "1"),
        ("from airflow.utils import timezone", "timezone.utcnow()"),
        ("import airflow", "airflow.utils.timezone.utcnow()"),
    ],
)
def test_a_name_the_shim_cannot_serve_or_that_reads_a_run_keeps_the_dag(
    import_line: str, use: str
) -> None:
    if use == "1":  # the class itself, used as a value
        use = import_line.rpartition(" ")[2] + ".ENABLED"
    result = convert_source(_CALLABLE.format(import_line=import_line, use=use))
    assert result.status == "partial"
    assert [f.code for f in result.findings] == ["DS002"]
    assert result.kept == []


def test_a_trigger_rule_read_as_a_value_is_the_runtimes_not_a_kept_name(tmp_path: Path) -> None:
    """TriggerRule has a rule of its own (airflow_values.py): the runtime's enum, with
    Airflow's members, not Airflow's class kept through the shim."""
    source = _CALLABLE.format(
        import_line="from airflow.utils.trigger_rule import TriggerRule", use="TriggerRule.ALL_DONE"
    )
    result = convert_source(source)
    assert result.status == "converted", result.findings
    assert result.kept == []
    assert "airflow" not in result.code
    path = tmp_path / "rule_value.py"
    path.write_text(result.code)
    (flow,) = load_path(str(path))
    assert flow.run(logical_date=DAY).tasks["use"].result == "all_done"


def test_a_converted_file_with_kept_names_runs_them_through_the_shim(tmp_path: Path) -> None:
    flow = _mixed("kept_names/conf_in_a_callable", tmp_path)["kept_conf"]
    run = flow.run(logical_date=DAY)
    # the shim's configuration: Airflow's defaults
    assert run.tasks["settings"].result == ["utc", True]


def test_a_hook_made_in_the_dag_body_stays_there_for_the_operators_kept_beside_it() -> None:
    result = convert_source(_case("kept_names/hook_given_to_a_kept_operator"))
    assert result.status == "converted"
    assert '    hook = WinRMHook(ssh_conn_id="ssh_POC1")' in result.code.splitlines()
    assert result.kept == [
        {"name": "WinRMHook", "airflow": "airflow.contrib.hooks.winrm_hook.WinRMHook"}
    ]
    assert [b["task_id"] for b in result.bridged] == ["wintask1", "wintask2"]


def test_the_report_lists_kept_names_per_file_next_to_bridged_operators(tmp_path: Path) -> None:
    (tmp_path / "dags").mkdir()
    (tmp_path / "dags" / "conf.py").write_text(_case("kept_names/conf_in_a_callable"))
    (tmp_path / "dags" / "hook.py").write_text(_case("kept_names/hook_given_to_a_kept_operator"))
    report = tmp_path / "report.json"
    out = tmp_path / "out"
    assert main([str(tmp_path / "dags"), "--out", str(out), "--report", str(report)]) == 0
    files = {Path(f["path"]).name: f for f in json.loads(report.read_text())["files"]}
    assert files["conf.py"]["kept"] == [{"name": "conf", "airflow": "airflow.configuration.conf"}]
    assert files["conf.py"]["bridged"] == []
    assert [k["name"] for k in files["hook.py"]["kept"]] == ["WinRMHook"]
    assert len(files["hook.py"]["bridged"]) == 2
    markdown = tmp_path / "report.md"
    main([str(tmp_path / "dags"), "--check", "--report", str(markdown)])
    assert "kept (an airflow name served by the shim): `conf` (airflow.configuration.conf)" in (
        markdown.read_text()
    )


def test_a_days_ago_form_python_would_not_bind_plainly_is_kept_for_the_shim() -> None:
    source = textwrap.dedent(
        """\
        from airflow import DAG
        from airflow.utils.dates import days_ago

        ARGS = (2,)

        with DAG("d", start_date=days_ago(*ARGS), schedule_interval=None) as dag:
            pass
        """
    )
    result = convert_source(source)
    assert result.status == "converted", result.findings
    assert 'with Flow("d", start_date=days_ago(*ARGS), schedule=None) as dag:' in result.code
    assert result.kept == [{"name": "days_ago", "airflow": "airflow.utils.dates.days_ago"}]


def test_every_name_kept_as_the_shims_is_one_the_shim_serves() -> None:
    from dagshift.compat.paths import PATHS
    from dagshift.converter.rules.kept_names import _SHIM_NAMES

    served = {name for names in PATHS.values() for name in names}
    assert _SHIM_NAMES <= served, sorted(_SHIM_NAMES - served)


def test_airflows_example_helper_is_kept_and_the_example_converts(tmp_path: Path) -> None:
    """Airflow's Kubernetes-executor examples call `print_stuff` from Airflow's own example
    libs, which the shim runs from the installed Airflow: the name stays, and the converted
    task prints what Airflow's does."""
    source = _CALLABLE.format(
        import_line="from airflow.example_dags.libs.helper import print_stuff", use="print_stuff()"
    )
    result = convert_source(source)
    assert result.status == "converted", result.findings
    assert [k["name"] for k in result.kept] == ["print_stuff"]
    other = _CALLABLE.format(
        import_line="from airflow.example_dags.libs.helper import other", use="other()"
    )
    assert convert_source(other).status == "partial"  # no other name of that module
