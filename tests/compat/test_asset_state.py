"""``context["asset_state_store"]`` (Airflow 3.3) keeps values per asset across runs.

Two runs of one DAG file, in real Airflow 3.3 (two ``dag.test`` runs on one metadata database)
and as two ``dagshift run`` processes on one history: the second run reads what the first kept,
a deleted key is gone, and a task with one asset uses the store's own ``get``.
"""

import pytest

from tests.compat.conftest import run_json
from tests.oracle.harness import airflow_run_many

DAG_FILE = """
import pendulum
from airflow.sdk import DAG, Asset, task

ORDERS = Asset(name="orders", uri="s3://warehouse/orders")
OTHER = Asset("s3://warehouse/other")

with DAG("state_dag", schedule=None, start_date=pendulum.datetime(2024, 1, 1, tz="UTC")):

    @task(outlets=[ORDERS])
    def count(asset_state_store=None):
        state = asset_state_store[ORDERS]
        n = state.get("n", default=0) + 1
        state.set("n", n)
        state.set("scratch", {"x": [1]})
        state.delete("scratch")
        return [n, asset_state_store.get("n"), state.get("scratch"), state.get("never")]

    @task(inlets=[ORDERS], outlets=[OTHER])
    def two(asset_state_store=None):
        try:
            asset_state_store.get("n")
        except ValueError as error:
            return [asset_state_store[ORDERS].get("n"), str(error)[:22]]

    count() >> two()
"""


@pytest.mark.oracle
def test_a_second_run_reads_what_the_first_kept_as_in_airflow(tmp_path):
    path = tmp_path / "dags" / "state_dag.py"
    path.parent.mkdir()
    path.write_text(DAG_FILE)
    dates = ["2024-01-15", "2024-01-16"]
    airflow = airflow_run_many([(path, d) for d in dates])
    db = tmp_path / "h.db"
    ours = [run_json(path, "--date", d, db=db) for d in dates]
    assert [r.pop("__exit__") for r in ours] == [0, 0]
    assert ours == airflow
    assert airflow[1]["state_dag"]["tasks"]["count"]["result"] == [2, 2, None, None]
    assert airflow[1]["state_dag"]["tasks"]["two"]["result"] == [2, "Task has 2 concrete in"]
