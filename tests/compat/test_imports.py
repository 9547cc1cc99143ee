"""The import hook: Airflow's module paths served by the shim, unknown ones explained."""

import pytest


def test_airflow_is_served_by_the_shim_even_where_apache_airflow_is_installed(shim):
    import airflow
    from airflow.operators.bash_operator import BashOperator as Old
    from airflow.providers.standard.operators.bash import BashOperator as New
    from airflow.sdk import DAG as SdkDAG

    assert getattr(airflow, "__dagshift_shim__", False)
    assert Old is New
    assert SdkDAG.generation == "3" and airflow.DAG.generation == "2"


@pytest.mark.parametrize(
    "statement, path",
    [
        (
            "import airflow.providers.amazon.aws.operators.s3",
            "airflow.providers.amazon",
        ),
        (
            "from airflow.utils.helpers import render_log_filename",
            "airflow.utils.helpers.render_log_filename",
        ),
        (
            "from airflow.contrib.operators.ssh_operator import SSHOperator",
            "airflow.contrib.operators",
        ),
    ],
)
def test_what_the_shim_does_not_provide_fails_naming_the_path_and_what_to_do(
    shim, statement, path, monkeypatch
):
    monkeypatch.setenv("DAGSHIFT_BRIDGE", "0")  # as where apache-airflow is not installed
    with pytest.raises(ImportError) as info:
        exec(statement, {})
    message = str(info.value)
    assert path in message
    assert "install apache-airflow" in message and "dagshift migrate" in message


def test_a_file_importing_an_unprovided_operator_is_reported_with_its_line(dag_file):
    from tests.compat.conftest import dagshift

    path = dag_file("""
        import pendulum
        from airflow import DAG
        from airflow.providers.snowflake.operators.snowflake import SnowflakeOperator
        """)
    code, out, err = dagshift(
        "run", str(path), "--db", str(path.parent / "h.db"), env={"DAGSHIFT_BRIDGE": "0"}
    )
    assert code == 2
    assert f"{path}:4" in err and "airflow.providers.snowflake" in err


def test_installing_after_real_airflow_was_imported_is_refused():
    import subprocess
    import sys

    code = (
        "import airflow, dagshift.compat\n"
        "try:\n    dagshift.compat.install()\nexcept RuntimeError as e:\n    print(e)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True).stdout
    assert "already imported" in out and "before anything imports airflow" in out
