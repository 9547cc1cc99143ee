"""``conf``, ``AIRFLOW_HOME``, ``settings`` and the metadata-database names, as Airflow has them."""

import json
import os
import subprocess

import pytest

from dagshift.compat.config_defaults import DEFAULTS
from dagshift.compat.configuration import AirflowConfigParser
from dagshift.compat.exceptions import AirflowConfigException
from tests.oracle.harness import airflow_python

_KEYS = sorted(set(DEFAULTS["2"]) | set(DEFAULTS["3"]))
_ORACLE = """
import json, sys
from airflow.configuration import conf
out = {}
for name in json.loads(sys.argv[1]):
    section, key = name.split(".", 1)
    try:
        out[name] = conf.get(section, key)
    except Exception as e:
        out[name] = None
print(json.dumps(out))
"""


@pytest.fixture
def clean_env(monkeypatch, tmp_path):
    for name in list(os.environ):
        if name.startswith("AIRFLOW"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("AIRFLOW_HOME", str(tmp_path / "home"))
    return tmp_path / "home"


@pytest.mark.oracle
@pytest.mark.parametrize("generation", ["2", "3"])
def test_every_default_is_the_one_real_airflow_answers(generation, clean_env, monkeypatch):
    env = {k: v for k, v in os.environ.items() if not k.startswith("AIRFLOW")}
    env["AIRFLOW_HOME"] = str(clean_env)
    proc = subprocess.run(
        [str(airflow_python(generation)), "-c", _ORACLE, json.dumps(_KEYS)],
        capture_output=True,
        text=True,
        env=env,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    theirs = json.loads(proc.stdout.splitlines()[-1])
    # Airflow 2 writes its airflow.cfg there on import: ours must answer from its own table.
    (clean_env / "airflow.cfg").unlink(missing_ok=True)
    monkeypatch.setattr(
        "dagshift.compat.configuration.installed_airflow_generation", lambda: generation
    )
    conf = AirflowConfigParser()
    ours = {name: conf.get(*name.split(".", 1), fallback=None) for name in _KEYS}
    assert ours == theirs
    assert sum(v is not None for v in theirs.values()) > 60  # the table is not empty


def test_the_environment_wins_over_airflow_cfg_which_wins_over_the_defaults(clean_env, monkeypatch):
    clean_env.mkdir()
    (clean_env / "airflow.cfg").write_text("[core]\nparallelism = 8\nexecutor = CeleryExecutor\n")
    conf = AirflowConfigParser()
    assert conf.getint("core", "parallelism") == 8
    monkeypatch.setenv("AIRFLOW__CORE__PARALLELISM", "4")
    assert conf.getint("core", "PARALLELISM") == 4
    assert conf.get("core", "executor") == "CeleryExecutor"
    assert conf.get("core", "dags_folder") == f"{clean_env}/dags"
    assert conf.getboolean("core", "load_examples") is True
    assert conf.has_option("core", "parallelism") and not conf.has_option("core", "no_such")
    assert conf.get("core", "no_such", fallback="x") == "x"


def test_bad_values_and_missing_options_fail_with_airflows_messages(clean_env, monkeypatch):
    conf = AirflowConfigParser()
    monkeypatch.setenv("AIRFLOW__CORE__PARALLELISM", "many")
    with pytest.raises(AirflowConfigException, match="Failed to convert value to int. Please che"):
        conf.getint("core", "parallelism")
    monkeypatch.setenv("AIRFLOW__CORE__LOAD_EXAMPLES", "sometimes")
    with pytest.raises(AirflowConfigException, match='Current value: "sometimes"'):
        conf.getboolean("core", "load_examples")
    with pytest.raises(AirflowConfigException) as info:
        conf.get("acme", "token")
    assert "section/key [acme/token] not found in config" in str(info.value)
    assert "AIRFLOW__ACME__TOKEN" in str(info.value)
    with pytest.raises(ValueError, match="The value acme/token should be set!"):
        conf.get_mandatory_value("acme", "token", fallback=None)


DAG = """
import pendulum
from airflow import DAG, settings
from airflow.configuration import conf, AIRFLOW_HOME
from airflow.models import DagModel
from airflow.operators.python import PythonOperator
from airflow.utils.session import provide_session

HOME = AIRFLOW_HOME


@provide_session
def count_dags(session=None):
    return session.query(DagModel).count()


with DAG("configured", start_date=pendulum.datetime(2024, 1, 1, tz="UTC"), schedule=None):
    PythonOperator(
        task_id="read",
        python_callable=lambda: [
            conf.get("core", "dags_folder") == settings.DAGS_FOLDER,
            conf.getint("core", "parallelism"),
            conf.get("acme", "team"),
            settings.AIRFLOW_HOME == HOME,
            str(settings.TIMEZONE),
        ],
    )
    PythonOperator(task_id="query", python_callable=count_dags)
"""


def test_a_dag_file_reads_conf_and_settings_and_a_query_fails_saying_what_to_do(
    dag_file, load, clean_env, monkeypatch
):
    path = dag_file(DAG)
    monkeypatch.setenv("AIRFLOW__ACME__TEAM", "data")
    run = load(path)["configured"].run()
    assert run.tasks["read"].result == [True, 32, "data", True, "UTC"]
    assert run.tasks["query"].state == "failed"
    assert "settings.Session().query needs Airflow's metadata database" in run.tasks["query"].error
    assert "dagshift runs" in run.tasks["query"].error
