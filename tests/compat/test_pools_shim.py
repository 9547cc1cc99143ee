"""An unmodified Airflow DAG file's ``pool`` and ``pool_slots`` hold slots of dagshift's pools."""

from __future__ import annotations

import threading

from dagshift.runtime import pools

DAG_FILE = """
import time
import pendulum
from airflow.sdk import DAG
from airflow.providers.standard.operators.python import PythonOperator


def work():
    start = time.monotonic()
    time.sleep(0.02)
    return [start, time.monotonic()]


with DAG("pooled", start_date=pendulum.datetime(2024, 1, 1), schedule=None):
    for i in range(3):
        PythonOperator(task_id=f"work_{i}", python_callable=work, pool="one")
    PythonOperator(task_id="wide", python_callable=work, pool="one", pool_slots=2)
"""


def test_a_shim_dags_pool_keeps_two_concurrent_runs_from_overlapping(
    load, dag_file, tmp_path, monkeypatch
):
    monkeypatch.setenv(pools.ENV_POOLS, str(tmp_path / "pools.json"))
    monkeypatch.delenv(pools.ENV_SLOTS, raising=False)
    pools.set_pool("one", 2)
    flow = load(dag_file(DAG_FILE))["pooled"]
    assert flow.get_task("wide").options["pool_slots"] == 2
    runs: list = []
    threads = [
        threading.Thread(target=lambda d=d: runs.append(flow.run(logical_date=d)))
        for d in ("2024-01-01", "2024-01-02")
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert [r.state for r in runs] == ["success", "success"]
    # (start, end, slots) of all 8 task bodies: at no instant more than the pool's 2 slots
    spans = [(*r.result(t), 2 if t == "wide" else 1) for r in runs for t in r.tasks]
    events = sorted([(s, n) for s, _, n in spans] + [(e, -n) for _, e, n in spans])
    held = peak = 0
    for _, change in events:
        held += change
        peak = max(peak, held)
    assert peak == 2
