"""Airflow's plugins folder under the shim: loaded, ignored and reported as real Airflow does.

One home's ``plugins/`` (Airflow's default ``[core] plugins_folder``) holds a plugin module with
a timetable and a macro, a file that fails to import, and a folder ``.airflowignore`` excludes
(its file would end the process). The DAG imports the timetable by the plugin module's name (the
folder is on ``sys.path``) and renders ``{{ macros.Workdays.double(21) }}`` (the plugin's name as
it spells it). Real Airflow 3.3 (``dag.test``) and ``dagshift run`` must give the same results.
"""

import pytest

from tests.compat.conftest import dagshift, run_json
from tests.oracle.harness import airflow_run_many

PLUGIN = '''
from datetime import timedelta

from pendulum import UTC, DateTime, Time

from airflow.plugins_manager import AirflowPlugin
from airflow.timetables.base import DataInterval, Timetable


def double(value):
    return value * 2


class PreviousWeekday(Timetable):
    """A manual run's data interval is the weekday before it."""

    def infer_manual_data_interval(self, run_after):
        day = DateTime.combine((run_after - timedelta(days=1)).date(), Time.min)
        start = day.replace(tzinfo=UTC)
        while start.weekday() in (5, 6):
            start = start - timedelta(days=1)
        return DataInterval(start=start, end=start + timedelta(days=1))

    def next_dagrun_info(self, *, last_automated_data_interval, restriction):
        return None


class WorkdaysPlugin(AirflowPlugin):
    name = "Workdays"
    timetables = [PreviousWeekday]
    macros = [double]
'''
PLUGINS = {
    "workdays.py": PLUGIN,
    "broken.py": 'raise RuntimeError("this plugin file does not import")\n',
    ".airflowignore": "ignored/\n",
    "ignored/exits.py": 'raise SystemExit("never loaded: .airflowignore excludes it")\n',
}
DAG = """
import pendulum
from workdays import PreviousWeekday

from airflow.providers.standard.operators.python import PythonOperator
from airflow.sdk import DAG


def interval(data_interval_start=None, data_interval_end=None):
    return [str(data_interval_start), str(data_interval_end)]


with DAG("plugin_dag", schedule=PreviousWeekday(), start_date=pendulum.datetime(2024, 1, 1)):
    PythonOperator(
        task_id="doubled",
        python_callable=lambda value: value,
        op_kwargs={"value": "{{ macros.Workdays.double(21) }}"},
    )
    PythonOperator(task_id="interval", python_callable=interval)
"""


@pytest.mark.oracle
def test_a_plugins_timetable_and_macro_work_as_in_airflow(tmp_path):
    dag = tmp_path / "dags" / "plugin_dag.py"
    dag.parent.mkdir()
    dag.write_text(DAG)
    plugins = {rel: text.encode() for rel, text in PLUGINS.items()}
    (airflow,) = airflow_run_many(
        [{"dag_file": dag, "logical_date": "2024-01-15", "plugins": plugins}]
    )
    for rel, text in PLUGINS.items():
        (tmp_path / "home" / "plugins" / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / "home" / "plugins" / rel).write_text(text)
    ours = run_json(dag, env={"AIRFLOW_HOME": str(tmp_path / "home")}, db=tmp_path / "h.db")
    assert ours.pop("__exit__") == 0
    assert ours == airflow
    # Monday 2024-01-15: the Friday before, through the plugin's timetable; 21 doubled.
    assert airflow["plugin_dag"]["tasks"]["doubled"]["result"] == "42"
    assert airflow["plugin_dag"]["tasks"]["interval"]["result"][0] == "2024-01-12 00:00:00+00:00"


def test_a_plugin_file_that_fails_to_import_is_named_and_the_run_goes_on(tmp_path):
    dag = tmp_path / "plugin_dag.py"
    dag.write_text(DAG)
    for rel, text in PLUGINS.items():
        (tmp_path / "home" / "plugins" / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / "home" / "plugins" / rel).write_text(text)
    code, _, err = dagshift(
        "run",
        str(dag),
        "--date",
        "2024-01-15",
        "--db",
        str(tmp_path / "h.db"),
        env={"AIRFLOW_HOME": str(tmp_path / "home")},
    )
    assert code == 0, err
    assert "Failed to import plugin" in err and "broken.py" in err
    assert "this plugin file does not import" in err
