"""The bridge serves what the installed Airflow resolves, and only that, and fails at load."""

import json
import sqlite3

import pytest

from tests.compat.conftest import dagshift, run_json
from tests.oracle.harness import airflow_run

pytestmark = pytest.mark.oracle  # apache-airflow 3.3 is installed beside dagshift in .venv


def _load_error(path, env=None):
    code, out, err = dagshift("inspect", str(path), env=env)
    assert code == 2, out
    return err


def test_an_operator_name_airflow_lacks_fails_at_load_naming_file_line_and_what_to_do(dag_file):
    path = dag_file("""
        from airflow import DAG
        from airflow.operators import SimpleHttpOperator
        """)
    err = _load_error(path)
    assert f"{path}:3" in err and "airflow.operators.SimpleHttpOperator" in err
    assert "nor in the installed apache-airflow 3.3.2" in err and "install the provider" in err


def test_a_missing_name_in_a_real_provider_module_fails_at_load(dag_file):
    path = dag_file("""
        from airflow import DAG
        from airflow.providers.sqlite.hooks.sqlite import SqliteHook, NoSuchHook
        """)
    err = _load_error(path)
    assert f"{path}:3" in err and "airflow.providers.sqlite.hooks.sqlite.NoSuchHook" in err


def test_a_missing_provider_module_fails_at_load_with_the_module_path(dag_file):
    path = dag_file("""
        import pendulum
        from airflow.providers.docker.operators.docker import DockerOperator
        """)
    err = _load_error(path)
    assert f"{path}:3" in err and "airflow.providers.docker" in err and "3.3.2" in err


def test_a_real_airflow_function_is_refused_at_load_with_the_reason(dag_file):
    path = dag_file("""
        from airflow.providers.common.sql.hooks.handlers import fetch_all_handler
        """)
    err = _load_error(path)
    assert f"{path}:2" in err and "is a function of the installed apache-airflow" in err
    assert "operators, sensors, hooks and notifiers" in err


HOOK_DAG = """
import pendulum
from airflow.decorators import dag, task
from airflow.providers.sqlite.hooks.sqlite import SqliteHook


@dag(start_date=pendulum.datetime(2024, 1, 1, tz="UTC"), schedule=None)
def hooked():
    @task
    def total():
        hook = SqliteHook(sqlite_conn_id="sales_db")
        return [list(row) for row in hook.get_records("select sum(amount), count(*) from sales")]

    @task
    def broken():
        return SqliteHook(sqlite_conn_id="sales_db").get_records("select * from nowhere")

    total()
    broken()


hooked()
"""


def test_a_provider_hook_in_a_task_runs_through_the_bridge_as_in_airflow(dag_file, tmp_path):
    db = tmp_path / "sales.db"
    with sqlite3.connect(db) as conn:
        conn.execute("create table sales (amount int)")
        conn.executemany("insert into sales values (?)", [(1,), (2,), (3,), (4,)])
    uri = "sqlite://" + str(db).replace("/", "%2F")
    path = dag_file(HOOK_DAG)
    # dagshift reads the connection from its connections file; real Airflow from its env.
    connections = tmp_path / "connections.json"
    connections.write_text(json.dumps({"sales_db": uri}))
    ours = run_json(path, env={"DAGSHIFT_CONNECTIONS": str(connections)})["hooked"]
    theirs = airflow_run(path, "2024-01-15", env={"AIRFLOW_CONN_SALES_DB": uri})["hooked"]
    assert ours["tasks"]["total"] == {"state": "success", "result": [[10, 4]]}
    assert ours["tasks"]["broken"]["state"] == "failed"
    assert {t: (r["state"], r["result"]) for t, r in ours["tasks"].items()} == {
        t: (r["state"], r["result"]) for t, r in theirs["tasks"].items()
    }


HELPER = """
from airflow.hooks.base_hook import BaseHook


class WarehouseHook(BaseHook):
    def __init__(self, conn_id="warehouse"):
        super().__init__()
        self.conn = self.get_connection(conn_id)

    def describe(self):
        c = self.conn
        return [c.conn_type, c.host, c.port, c.login, c.schema, c.extra_dejson]
"""

HELPER_DAG = """
import pendulum
from airflow import DAG
from airflow.operators.python import PythonOperator
from warehouse import WarehouseHook

with DAG("helper_hook", start_date=pendulum.datetime(2024, 1, 1, tz="UTC"), schedule=None):
    PythonOperator(task_id="describe", python_callable=lambda: WarehouseHook().describe())
"""


@pytest.mark.parametrize("bridge", ["1", "0"])
def test_a_helper_subclassing_base_hook_reads_connections_with_or_without_airflow(dag_file, bridge):
    dag_file(HELPER, name="warehouse.py")
    path = dag_file(HELPER_DAG)
    env = {
        "DAGSHIFT_BRIDGE": bridge,
        "AIRFLOW_CONN_WAREHOUSE": "postgres://ann:s%40cret@db.example:5433/sales?sslmode=require",
    }
    result = run_json(path, env=env)["helper_hook"]["tasks"]["describe"]
    assert result == {
        "state": "success",
        "result": ["postgres", "db.example", 5433, "ann", "sales", {"sslmode": "require"}],
    }


def test_real_airflows_answers_are_kept_on_disk_for_the_next_run(dag_file, tmp_path, monkeypatch):
    """A second run asks the cache, not Airflow: a planted answer for a name the installed
    Airflow lacks is believed, which shows no subprocess was asked."""
    from dagshift.compat import probe

    monkeypatch.setenv("DAGSHIFT_CACHE", str(tmp_path / "cache"))
    path = dag_file("""
        from airflow.providers.sqlite.hooks.sqlite import SqliteHook
        """)
    code, _, err = dagshift("inspect", str(path), env={"DAGSHIFT_CACHE": str(tmp_path / "cache")})
    cache = probe._cache_file()
    answers = json.loads(cache.read_text())
    assert answers["airflow.providers.sqlite.hooks.sqlite:SqliteHook"]["kind"] == "hook"
    answers["airflow.providers.planted"] = {"found": True, "package": True}
    answers["airflow.providers.planted:PlantedOperator"] = {
        "found": True,
        "kind": "value",
        "value": "from the cache",
    }
    cache.write_text(json.dumps(answers))
    path = dag_file(
        """
        from airflow.providers.planted import PlantedOperator
        assert PlantedOperator == "from the cache"
        """,
        name="planted.py",
    )
    code, _, err = dagshift("inspect", str(path), env={"DAGSHIFT_CACHE": str(tmp_path / "cache")})
    assert "cannot load" not in err, err
