# ruff: noqa: E501  (DAG sources embedded in strings keep their natural lines)
"""`dagshift run` / `inspect` on legacy DAGs, dates, folders, mixing styles, a cluster."""

import json
from datetime import datetime

from tests.compat.conftest import ROOT, dagshift, run_json

TIMED = """
import time, os, pendulum
from airflow import DAG
from airflow.operators.python import PythonOperator

def work(ds):
    start = time.time()
    time.sleep(0.4)
    with open(os.environ["SPANS"], "a") as fh:
        fh.write(f"{{ds}} {{start}} {{time.time()}}\\n")
    return ds

with DAG("timed", start_date=pendulum.datetime(2024, 1, 1, tz="UTC"), schedule="@daily",
         max_active_runs={limit}):
    PythonOperator(task_id="work", python_callable=work)
"""


def _spans(path):
    rows = [line.split() for line in path.read_text().splitlines()]
    return sorted((float(a), float(b)) for _, a, b in rows), sorted(d for d, _, _ in rows)


def test_dates_start_one_run_per_date_and_max_active_runs_limits_how_many_at_once(
    dag_file, tmp_path
):
    days = ["2024-01-01", "2024-01-02", "2024-01-03"]
    for limit in (1, 3):
        spans_file = tmp_path / f"spans{limit}"
        path = dag_file(TIMED.format(limit=limit), name=f"timed{limit}.py")
        result = run_json(path, "--dates", "2024-01-01..2024-01-03", env={"SPANS": str(spans_file)})
        runs = result["timed"]
        assert sorted(runs) == [f"{d}T00:00:00+00:00" for d in days]
        assert {r["tasks"]["work"]["result"] for r in runs.values()} == set(days)
        spans, ran = _spans(spans_file)
        assert ran == days
        overlapping = any(b[0] < a[1] for a, b in zip(spans, spans[1:], strict=False))
        assert overlapping == (limit > 1), f"max_active_runs={limit}: {spans}"


def test_a_list_of_dates_and_a_bad_range_are_understood(dag_file, tmp_path):
    path = dag_file(TIMED.format(limit=2))
    result = run_json(path, "--dates", "2024-03-01,2024-02-01", env={"SPANS": str(tmp_path / "s")})
    assert sorted(result["timed"]) == ["2024-02-01T00:00:00+00:00", "2024-03-01T00:00:00+00:00"]
    code, _, err = dagshift("run", str(path), "--dates", "2024-02-01..2024-01-01")
    assert code == 2 and "ends before it starts" in err


def test_inspect_lists_dags_tasks_and_edges_without_running_a_task(dag_file, tmp_path):
    marker = tmp_path / "ran"
    path = dag_file(f"""
        import pendulum
        from airflow import DAG
        from airflow.operators.python import PythonOperator
        from airflow.operators.bash import BashOperator

        def touch():
            open("{marker}", "w").close()

        with DAG("seen", start_date=pendulum.datetime(2024, 1, 1), schedule="@daily") as dag:
            a = PythonOperator(task_id="a", python_callable=touch)
            b = BashOperator(task_id="b", bash_command="echo {{{{ ti.xcom_pull('a') }}}}",
                             trigger_rule="all_done")
            c = PythonOperator(task_id="c", python_callable=print, op_args=[a.output])
            a >> b
        """)
    code, out, err = dagshift("inspect", str(path), "--json")
    assert code == 0, err
    info = json.loads(out)["seen"]
    assert info["kind"] == "airflow_dag" and info["schedule"] == "@daily"
    assert [(t["id"], t["type"], t["trigger_rule"]) for t in info["tasks"]] == [
        ("a", "PythonOperator", "all_success"),
        ("b", "BashOperator", "all_done"),
        ("c", "PythonOperator", "all_success"),
    ]
    edges = {(e["from"], e["to"]): e["data"] for e in info["edges"]}
    assert set(edges) == {("a", "b"), ("a", "c")}
    assert edges[("a", "c")] and not edges[("a", "b")]  # a.output is a data edge
    assert not marker.exists()
    code, out, _ = dagshift("inspect", str(path))
    assert code == 0 and "BashOperator" in out and "all_done" in out


def test_a_folder_runs_legacy_dags_and_dagshift_flows_side_by_side(dag_file):
    dag_file(
        """
        import pendulum
        from airflow import DAG
        from airflow.operators.bash import BashOperator
        with DAG("legacy", start_date=pendulum.datetime(2024, 1, 1), schedule=None):
            BashOperator(task_id="hello", bash_command="echo legacy {{ ds }}")
        """,
        name="both/legacy.py",
    )
    path = dag_file(
        """
        from dagshift import Flow, task, get_run_context

        @task
        def hello():
            return "flow " + get_run_context()["ds"]

        with Flow("functional"):
            hello()
        """,
        name="both/functional.py",
    ).parent
    result = run_json(path)
    assert result["legacy"]["tasks"]["hello"]["result"] == "legacy 2024-01-15"
    assert result["functional"]["tasks"]["hello"]["result"] == "flow 2024-01-15"
    assert result["__exit__"] == 0


def test_results_pass_both_ways_between_legacy_operators_and_dagshift_tasks(dag_file):
    path = dag_file("""
        import pendulum
        from airflow import DAG
        from airflow.operators.bash import BashOperator
        from airflow.operators.python import PythonOperator
        from dagshift import Flow, task

        @task
        def double(x):
            return int(x) * 2

        # A functional flow with a legacy operator as one of its tasks.
        with Flow("functional_with_operator"):
            count = BashOperator(task_id="count", bash_command="echo 21")
            doubled = double(count.output)
            PythonOperator(task_id="report", python_callable=lambda v: f"got {v}",
                           op_args=[doubled])

        # A legacy DAG with a dagshift task in it.
        with DAG("dag_with_task", start_date=pendulum.datetime(2024, 1, 1), schedule=None):
            seed = BashOperator(task_id="seed", bash_command="echo 5")
            twice = double(seed.output)
            shown = BashOperator(task_id="show", bash_command="echo {{ ti.xcom_pull('double') }}")
            twice >> shown
        """)
    result = run_json(path)
    flow = result["functional_with_operator"]["tasks"]
    assert flow["count"]["result"] == "21" and flow["double"]["result"] == 42
    assert flow["report"]["result"] == "got 42"
    dag = result["dag_with_task"]["tasks"]
    assert dag["double"]["result"] == 10 and dag["show"]["result"] == "10"


def test_legacy_dags_run_on_a_dask_distributed_cluster_with_the_same_results():
    files = [ROOT / "fixtures" / "dags" / f for f in ("af2_xcom_styles.py", "af3_mapping.py")]
    env = {"PYTHONPATH": str(ROOT)}
    for path in files:
        local = run_json(path, env=env)
        remote = run_json(path, "--cluster", "local:2", env=env)
        assert remote == local, path.name


def test_the_run_records_the_airflow_run_id_in_the_context(dag_file):
    path = dag_file("""
        import pendulum
        from airflow.sdk import DAG
        from airflow.providers.standard.operators.python import PythonOperator
        with DAG("ids", start_date=pendulum.datetime(2024, 1, 1), schedule=None):
            PythonOperator(task_id="rid", python_callable=lambda run_id, dag_run: [run_id, dag_run.conf])
        """)
    result = run_json(path, "--param", "k=1")
    run_id, conf = result["ids"]["tasks"]["rid"]["result"]
    assert run_id == "manual__2024-01-15T00:00:00+00:00" and conf == {"k": 1}
    assert datetime.fromisoformat(run_id.split("__")[1]).year == 2024
