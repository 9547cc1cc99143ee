"""The operator bridge: a real provider operator, run by real Airflow, in a shimmed DAG."""

import sqlite3

import pytest

from tests.compat.conftest import dagshift, run_json
from tests.oracle.harness import airflow_run

DAG = """
import pendulum
from airflow import DAG
from airflow.operators.python import PythonOperator
from airflow.providers.common.sql.operators.sql import SQLExecuteQueryOperator

with DAG("bridged", start_date=pendulum.datetime(2024, 1, 1, tz="UTC"), schedule=None,
         params={"min": 2}):
    total = SQLExecuteQueryOperator(
        task_id="total",
        conn_id="sales_db",
        sql="select sum(amount), '{{ ds }}' from sales where amount >= {{ params.min }}",
    )
    PythonOperator(task_id="report", python_callable=lambda rows: f"total {rows[0][0]}",
                   op_args=[total.output])
    broken = SQLExecuteQueryOperator(task_id="broken", conn_id="sales_db",
                                     sql="select * from no_such_table")
"""


@pytest.fixture
def sales(tmp_path):
    db = tmp_path / "sales.db"
    with sqlite3.connect(db) as conn:
        conn.execute("create table sales (amount int)")
        conn.executemany("insert into sales values (?)", [(1,), (2,), (3,), (4,)])
    return {"AIRFLOW_CONN_SALES_DB": "sqlite://" + str(db).replace("/", "%2F")}


@pytest.mark.oracle
def test_a_provider_operator_runs_through_the_bridge_as_in_airflow(dag_file, sales):
    path = dag_file(DAG)
    ours = run_json(path, env=sales)["bridged"]
    theirs = airflow_run(path, "2024-01-15", env=sales)["bridged"]
    assert ours["tasks"]["total"] == {"state": "success", "result": [[9, "2024-01-15"]]}
    assert ours["tasks"]["report"]["result"] == "total 9"
    assert ours["tasks"]["broken"]["state"] == "failed"
    assert {t: (r["state"], r["result"]) for t, r in ours["tasks"].items()} == {
        t: (r["state"], r["result"]) for t, r in theirs["tasks"].items()
    }


def test_without_the_bridge_the_operator_is_reported_with_what_to_do(dag_file, sales):
    path = dag_file(DAG)
    code, _, err = dagshift(
        "run", str(path), "--db", str(path.parent / "h.db"), env={**sales, "DAGSHIFT_BRIDGE": "0"}
    )
    assert code == 2
    assert "airflow.providers.common" in err and "install apache-airflow" in err
