"""The oracle harness itself: Airflow's results in the shape of ``dagshift run --json``."""

import textwrap

import pytest

from tests.oracle import harness
from tests.oracle.harness import OracleError, airflow_run_many

pytestmark = pytest.mark.oracle

AF3_DAG = """
import pendulum
from airflow.sdk import dag, task


@dag(schedule=None, start_date=pendulum.datetime(2024, 1, 1, tz="UTC"), catchup=False)
def harness_probe():
    @task
    def numbers():
        return {"n": [1, 2]}

    @task
    def double(x):
        return x * 2

    @task
    def day(**context):
        return [context["ds"], context["params"].get("who"), context["dag_run"].conf.get("k")]

    @task
    def nothing():
        pass

    @task
    def boom():
        raise ValueError("boom")

    double.expand(x=[3, 1, 2])
    numbers() >> day()
    nothing()
    boom()


harness_probe()
"""

IMPORTS_DAGSHIFT = """
import dagshift  # the oracle must refuse this
from airflow.sdk import DAG
"""


@pytest.fixture(scope="module")
def probe(tmp_path_factory):
    folder = tmp_path_factory.mktemp("probe")
    good = folder / "probe.py"
    good.write_text(textwrap.dedent(AF3_DAG))
    return good


def test_results_come_back_in_the_shape_of_dagshift_run_json(probe):
    [result] = airflow_run_many([(probe, "2024-03-05", {"k": "v"}, {"who": "me"})], generation="3")
    assert result == {
        "harness_probe": {
            "state": "failed",
            "tasks": {
                "numbers": {"state": "success", "result": {"n": [1, 2]}},
                "double": {"state": "success", "result": [6, 2, 4]},
                "day": {"state": "success", "result": ["2024-03-05", "me", "v"]},
                "nothing": {"state": "success", "result": None},
                "boom": {"state": "failed", "result": None},
            },
        }
    }


def test_a_repeated_run_comes_from_the_cache_without_starting_airflow(probe, monkeypatch):
    first = harness.airflow_run(probe, "2024-03-05", conf={"k": "v"}, params={"who": "me"})

    def no_airflow(*args, **kwargs):
        raise AssertionError("Airflow was started for a cached run")

    monkeypatch.setattr(harness, "_run_in_airflow", no_airflow)
    again = harness.airflow_run(probe, "2024-03-05", conf={"k": "v"}, params={"who": "me"})
    assert again == first
    with pytest.raises(AssertionError, match="Airflow was started"):
        harness.airflow_run(probe, "2024-03-06")  # another date is another run


def test_a_file_that_imports_dagshift_fails_in_the_oracle(tmp_path):
    bad = tmp_path / "uses_dagshift.py"
    bad.write_text(IMPORTS_DAGSHIFT)
    with pytest.raises(OracleError, match="must not import dagshift"):
        harness.airflow_run(bad, "2024-03-01")


def test_an_import_error_names_the_file_and_keeps_airflows_message(fixture_dags):
    with pytest.raises(OracleError, match=r"syntax_error\.py[\s\S]*SyntaxError"):
        harness.airflow_run(fixture_dags / "bad" / "syntax_error.py", "2024-03-01", "2")


def test_one_file_twice_at_one_date_runs_in_two_processes(probe):
    # Airflow keeps one run per DAG and logical date; the harness must not collide them.
    results = airflow_run_many(
        [(probe, "2024-03-07", {"k": 1}), (probe, "2024-03-07", {"k": 2})], generation="3"
    )
    assert [r["harness_probe"]["tasks"]["day"]["result"][2] for r in results] == [1, 2]


def test_runs_are_grouped_by_env_and_by_file_and_date():
    jobs = [
        {"digest": "a", "logical_date": "d1", "env": {}},
        {"digest": "a", "logical_date": "d1", "env": {}},
        {"digest": "a", "logical_date": "d2", "env": {}},
        {"digest": "b", "logical_date": "d1", "env": {"AIRFLOW_VAR_X": "1"}},
    ]
    assert harness._groups(jobs, [0, 1, 2, 3]) == [[0, 2], [1], [3]]


def test_an_unknown_generation_is_refused():
    with pytest.raises(ValueError, match="generation must be '2' or '3'"):
        harness.airflow_python("1")


_NAMED = """
import pendulum
from airflow.sdk import DAG, Asset, task

with DAG("{dag_id}", schedule=None, start_date=pendulum.datetime(2024, 1, 1, tz="UTC")):
    task(outlets=[Asset({asset})])(lambda: 1).override(task_id="write")()
"""


def test_a_result_is_cached_apart_for_the_files_that_ran_beside_it(tmp_path):
    # One URI under two names: Airflow 3 fails runs of each file when both are in its folder
    # (as Airflow's example_inlet_event_extra and example_outlet_event_extra do), not alone.
    named = tmp_path / "named.py"
    named.write_text(_NAMED.format(dag_id="named", asset='uri="s3://x/1.txt", name="one"'))
    plain = tmp_path / "plain.py"
    plain.write_text(_NAMED.format(dag_id="plain", asset='"s3://x/1.txt"'))
    together, _ = airflow_run_many([(named, "2024-03-07"), (plain, "2024-03-07")])
    (alone,) = airflow_run_many([(named, "2024-03-07")])
    assert together["named"]["state"] == "failed"
    assert alone["named"]["state"] == "success"
