"""PythonVirtualenvOperator, ExternalPythonOperator and their decorators, in real environments.

Each DAG runs under ``dagshift run`` (the shim's own operators, a venv built with uv) and in real
Airflow (which builds its own), and every task's state and result must be the same.
"""

import threading

import pytest

from tests.compat.conftest import dagshift, run_json
from tests.oracle.harness import airflow_run

pytestmark = pytest.mark.oracle

VENV_DAG = """
import sys

import pendulum
from airflow.providers.standard.operators.python import (
    ExternalPythonOperator,
    PythonVirtualenvOperator,
)
from airflow.sdk import DAG, task


def isolated(day, factor):
    import sys

    return [day, factor * 2, sys.prefix != sys.base_prefix]


def context_keys(ds, ts_nodash, params=None, logical_date=None):
    # without pendulum in the venv Airflow passes neither dates nor params
    return [ds, ts_nodash, params, logical_date]


def strings():
    return virtualenv_string_args  # noqa: F821 (the script defines it)


def nothing():
    print("returns nothing")


def fails():
    raise ValueError("no data for this day")


def exits():
    import sys

    sys.exit(3)


def plus_one(x, ds=None):
    import sys

    return [x + 1, ds, sys.executable == sys.argv[0]]


with DAG("venvs", start_date=pendulum.datetime(2024, 1, 1, tz="UTC"), schedule=None):
    first = PythonVirtualenvOperator(
        task_id="isolated",
        python_callable=isolated,
        op_args=["{{ ds }}"],
        op_kwargs={"factor": 21},
        system_site_packages=False,
    )
    PythonVirtualenvOperator(
        task_id="context_keys", python_callable=context_keys, system_site_packages=False
    )
    PythonVirtualenvOperator(
        task_id="strings",
        python_callable=strings,
        string_args=["a", "{{ ds }}"],
        system_site_packages=False,
    )
    PythonVirtualenvOperator(
        task_id="nothing", python_callable=nothing, system_site_packages=False
    )
    PythonVirtualenvOperator(task_id="fails", python_callable=fails, system_site_packages=False)
    PythonVirtualenvOperator(
        task_id="exits", python_callable=exits, skip_on_exit_code=3, system_site_packages=False
    )
    ExternalPythonOperator(
        task_id="external", python=sys.executable, python_callable=plus_one, op_args=[41]
    )

    @task.virtualenv(requirements=["six"], system_site_packages=False, serializer="cloudpickle")
    def with_six(values):
        import six

        return {"got": values, "six": six.__name__}

    @task.external_python(python=sys.executable, serializer="dill")
    def doubled(mapping):
        return sorted(mapping) * 2

    doubled(with_six(first.output))
"""


@pytest.fixture
def venv_cache(tmp_path_factory, monkeypatch):
    cache = tmp_path_factory.getbasetemp() / "venvs"  # shared by this session's tests
    monkeypatch.setenv("DAGSHIFT_VENV_CACHE", str(cache))
    return cache


def test_virtualenv_and_external_python_tasks_give_what_airflow_gives(dag_file, venv_cache):
    path = dag_file(VENV_DAG)
    ours = run_json(path)["venvs"]
    theirs = airflow_run(path, "2024-01-15")["venvs"]
    assert ours["tasks"]["isolated"] == {"state": "success", "result": ["2024-01-15", 42, True]}
    assert ours["tasks"]["context_keys"]["result"] == ["2024-01-15", "20240115T000000", None, None]
    assert ours["tasks"]["strings"]["result"] == ["a", "{{ ds }}"]  # not a template field
    assert ours["tasks"]["with_six"]["result"] == {
        "got": ["2024-01-15", 42, True],
        "six": "six",
    }
    assert ours["tasks"]["doubled"]["result"] == ["got", "six", "got", "six"]
    assert ours["tasks"]["exits"]["state"] == "skipped"
    assert ours["tasks"]["fails"]["state"] == "failed"
    assert {t: r["state"] for t, r in ours["tasks"].items()} == {
        t: r["state"] for t, r in theirs["tasks"].items()
    }
    assert {t: r.get("result") for t, r in ours["tasks"].items()} == {
        t: r.get("result") for t, r in theirs["tasks"].items()
    }
    assert ours["state"] == theirs["state"] == "failed"


def test_the_callables_exception_is_the_tasks_error(dag_file, load, venv_cache):
    path = dag_file("""
        import pendulum
        from airflow.sdk import DAG, task

        with DAG("boom", start_date=pendulum.datetime(2024, 1, 1, tz="UTC"), schedule=None):

            @task.virtualenv(system_site_packages=False)
            def fails():
                raise ValueError("no data for this day")

            fails()
        """)
    run = load(path)["boom"].run()
    error = run.tasks["fails"].error
    assert run.tasks["fails"].state == "failed"
    assert "Process returned non-zero exit status 1" in error
    assert "no data for this day" in error


def test_one_requirement_set_is_built_once_by_concurrent_tasks_then_reused(tmp_path, capsys):
    from dagshift.compat.venv_build import ensure_venv

    def build():
        return ensure_venv(
            tmp_path / "venv-same",
            '{"requirements_list": []}',
            python=None,
            system_site_packages=False,
            requirements=[],
            pip_install_options=[],
            index_urls=None,
        )

    paths = []
    threads = [threading.Thread(target=lambda: paths.append(build())) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    out = capsys.readouterr().out
    assert out.count("New Python virtual environment created") == 1
    assert out.count("Reusing cached Python virtual environment") == 2
    assert len(set(paths)) == 1 and (paths[0] / "bin" / "python").exists()


def test_a_failed_build_says_what_failed_and_leaves_no_half_built_venv(dag_file, load, tmp_path):
    path = dag_file(f"""
        import pendulum
        from airflow.sdk import DAG
        from airflow.providers.standard.operators.python import PythonVirtualenvOperator

        def noop():
            pass

        with DAG("bad_reqs", start_date=pendulum.datetime(2024, 1, 1, tz="UTC"), schedule=None):
            PythonVirtualenvOperator(
                task_id="venv",
                python_callable=noop,
                requirements=["dagshift-no-such-package-anywhere==0.0.1"],
                pip_install_options=["--offline"],
                venv_cache_path="{tmp_path / 'cache'}",
            )
        """)
    run = load(path)["bad_reqs"].run()
    error = run.tasks["venv"].error
    assert run.tasks["venv"].state == "failed"
    assert "Unable to create new virtual environment" in error
    assert "dagshift-no-such-package-anywhere" in error
    assert not [p for p in (tmp_path / "cache").iterdir() if p.is_dir()]


def test_a_lambda_is_refused_when_the_file_loads(dag_file):
    path = dag_file("""
        import pendulum
        from airflow.sdk import DAG
        from airflow.providers.standard.operators.python import PythonVirtualenvOperator

        with DAG("lam", start_date=pendulum.datetime(2024, 1, 1, tz="UTC"), schedule=None):
            PythonVirtualenvOperator(task_id="venv", python_callable=lambda: 1)
        """)
    code, out, err = dagshift("inspect", str(path))
    assert code == 2
    assert str(path) in err and "only supports functions for python_callable" in err


def test_system_site_packages_are_those_beside_dagshift_and_bring_the_dates(
    dag_file, load, venv_cache
):
    path = dag_file("""
        import pendulum
        from airflow.sdk import DAG, task

        with DAG("beside", start_date=pendulum.datetime(2024, 1, 1, tz="UTC"), schedule=None):

            @task.virtualenv
            def dates(logical_date=None, params=None):
                import pendulum  # installed beside dagshift, not in the venv itself

                return [type(logical_date).__name__, logical_date.isoformat(), params]

            dates()
        """)
    run = load(path)["beside"].run(logical_date="2024-01-15", conf={"n": 3})
    assert run.tasks["dates"].state == "success", run.tasks["dates"].error
    assert run.tasks["dates"].result == ["DateTime", "2024-01-15T00:00:00+00:00", {"n": 3}]


def test_a_callable_asking_for_live_run_objects_is_told_what_to_pass_instead(
    dag_file, load, venv_cache
):
    path = dag_file("""
        import pendulum
        from airflow.sdk import DAG, task

        with DAG("live", start_date=pendulum.datetime(2024, 1, 1, tz="UTC"), schedule=None):

            @task.virtualenv
            def needs_dag(dag):
                return dag.dag_id

            needs_dag()
        """)
    run = load(path)["live"].run()
    assert run.tasks["needs_dag"].state == "failed"
    assert "['dag']" in run.tasks["needs_dag"].error
    assert "op_kwargs or templates" in run.tasks["needs_dag"].error


LEGACY_DAG = """
import sys

import pendulum
from airflow import DAG
from airflow.operators.python import ExternalPythonOperator


def legacy(x, ds=None, yesterday_ds=None, execution_date=None):
    return [x, ds, yesterday_ds, type(execution_date).__name__, execution_date.isoformat()]


with DAG("legacy_venv", start_date=pendulum.datetime(2024, 1, 1, tz="UTC"), schedule="@daily"):
    ExternalPythonOperator(
        task_id="legacy",
        python=sys.executable,
        python_callable=legacy,
        op_args=["{{ ds_nodash }}"],
        use_dill=True,
        expect_airflow=False,
    )
"""


def test_an_airflow_2_file_with_use_dill_gets_what_airflow_2_11_gives(dag_file, venv_cache):
    path = dag_file(LEGACY_DAG)
    ours = run_json(path)["legacy_venv"]["tasks"]["legacy"]
    theirs = airflow_run(path, "2024-01-15", generation="2")["legacy_venv"]["tasks"]["legacy"]
    # pendulum is there, so the dates cross too (dill pickles them)
    assert ours["state"] == "success"
    assert ours["result"] == [
        "20240115",
        "2024-01-15",
        "2024-01-14",
        "DateTime",
        "2024-01-15T00:00:00+00:00",
    ]
    assert ours == theirs


KWARGS_DAG = """
import pendulum
from airflow.sdk import DAG, task

with DAG("kwargs_venv", start_date=pendulum.datetime(2024, 1, 1, tz="UTC"), schedule=None):

    @task.virtualenv(system_site_packages=False)
    def names(**kwargs):
        return sorted(kwargs)

    names()
"""


def test_a_kwargs_callable_gets_the_context_keys_airflow_serializes(dag_file, venv_cache):
    path = dag_file(KWARGS_DAG)
    ours = run_json(path)["kwargs_venv"]["tasks"]["names"]
    theirs = airflow_run(path, "2024-01-15")["kwargs_venv"]["tasks"]["names"]
    assert "ds" in ours["result"] and "logical_date" not in ours["result"]
    assert ours == theirs
