"""Time, weekday and file sensors and the date-time and weekday branches, against Airflow.

The DAGs compare with "now" computed when the file is parsed (the wall clock is what these
operators read), so the outcome is the same whenever the test runs. The window around now is
given as date-times, so it never wraps past midnight; the wrapping time-of-day window is pinned
on the logical date (``logical_wrapped_window``), which does not move.
"""

import pytest

from tests.compat.conftest import run_json
from tests.oracle.harness import airflow_run

pytestmark = pytest.mark.oracle

BRANCHES = """
import datetime

import pendulum
from {sdk} import DAG
from {operators}.datetime import BranchDateTimeOperator
from {operators}.empty import EmptyOperator
from {operators}.weekday import BranchDayOfWeekOperator
from {sensors}.weekday import DayOfWeekSensor
from {weekday} import WeekDay

NOW = datetime.datetime.now(datetime.timezone.utc)
TODAY = WeekDay(NOW.isoweekday())
TOMORROW = WeekDay(NOW.isoweekday() % 7 + 1)


def both_ways(branch):
    branch >> [
        EmptyOperator(task_id=branch.task_id + "_yes"),
        EmptyOperator(task_id=branch.task_id + "_no"),
    ]


def by_date(task_id, lower, upper, **kwargs):
    both_ways(
        BranchDateTimeOperator(
            task_id=task_id,
            follow_task_ids_if_true=task_id + "_yes",
            follow_task_ids_if_false=[task_id + "_no"],
            target_lower=lower,
            target_upper=upper,
            **kwargs,
        )
    )


def by_day(task_id, week_day, **kwargs):
    both_ways(
        BranchDayOfWeekOperator(
            task_id=task_id,
            follow_task_ids_if_true=task_id + "_yes",
            follow_task_ids_if_false=task_id + "_no",
            week_day=week_day,
            **kwargs,
        )
    )


with DAG("branches", start_date=pendulum.datetime(2024, 1, 1, tz="UTC"), schedule=None):
    hour = datetime.timedelta(hours=2)
    by_date("around_now", NOW - hour, NOW + hour)
    by_date("past_range", pendulum.datetime(2020, 1, 1), pendulum.datetime(2020, 1, 2))
    by_date("only_upper_past", None, datetime.datetime(2023, 5, 1, 12))
    by_date(
        "logical_in_range",
        pendulum.datetime(2024, 1, 15),
        pendulum.datetime(2024, 1, 15, 12),
        use_task_logical_date=True,
    )
    by_date(
        "logical_wrapped_window",
        datetime.time(1, 0),
        datetime.time(0, 30),
        use_task_logical_date=True,
    )
    by_day("today", TODAY)
    by_day("tomorrow_or_later", {{TOMORROW, WeekDay(TOMORROW % 7 + 1)}})
    by_day("logical_monday", "Monday", use_task_logical_date=True)
    by_day("logical_weekend", {{WeekDay.SATURDAY, "Sunday"}}, use_task_logical_date=True)
    DayOfWeekSensor(task_id="sensor_logical_monday", week_day="MONDAY", use_task_logical_date=True)
    DayOfWeekSensor(
        task_id="sensor_tomorrow",
        week_day=TOMORROW,
        timeout=1,
        poke_interval=1,
        soft_fail=True,
    )
"""

AF3 = {
    "sdk": "airflow.sdk",
    "operators": "airflow.providers.standard.operators",
    "sensors": "airflow.providers.standard.sensors",
    "weekday": "airflow.providers.standard.utils.weekday",
}
AF2 = {
    "sdk": "airflow",
    "operators": "airflow.operators",
    "sensors": "airflow.sensors",
    "weekday": "airflow.utils.weekday",
}


def _same(ours: dict, theirs: dict) -> None:
    assert ours["tasks"] == {
        t: {"state": r["state"], "result": r["result"]} for t, r in theirs["tasks"].items()
    }
    assert ours["state"] == theirs["state"]


@pytest.mark.parametrize("generation, names", [("3", AF3), ("2", AF2)], ids=["af3", "af2"])
def test_date_time_and_weekday_branches_follow_what_airflow_follows(dag_file, generation, names):
    path = dag_file(BRANCHES.format(**names))
    ours = run_json(path)["branches"]
    theirs = airflow_run(path, "2024-01-15", generation=generation)["branches"]
    taken = {t for t, r in ours["tasks"].items() if t.endswith(("_yes", "_no"))}
    taken = {t for t in taken if ours["tasks"][t]["state"] == "success"}
    assert taken == {
        "around_now_yes",
        "past_range_no",
        "only_upper_past_no",
        "logical_in_range_yes",
        "logical_wrapped_window_no",
        "today_yes",
        "tomorrow_or_later_no",
        "logical_monday_yes",
        "logical_weekend_no",
    }
    assert ours["tasks"]["sensor_tomorrow"]["state"] == "skipped"
    _same(ours, theirs)


SENSORS = """
import datetime
import os

import pendulum
from airflow.providers.standard.sensors.date_time import DateTimeSensor, DateTimeSensorAsync
from airflow.providers.standard.sensors.filesystem import FileSensor
from airflow.providers.standard.sensors.time import TimeSensor
from airflow.providers.standard.sensors.time_delta import TimeDeltaSensor
from airflow.sdk import DAG

HERE = os.path.dirname(os.path.abspath(__file__))
os.makedirs(os.path.join(HERE, "empty", "deeper"), exist_ok=True)
NOW = datetime.datetime.now(datetime.timezone.utc)
QUICK = {"timeout": 1, "poke_interval": 1, "soft_fail": True}

with DAG("sensors", start_date=pendulum.datetime(2024, 1, 1, tz="UTC"), schedule=None):
    FileSensor(task_id="this_file", filepath=os.path.abspath(__file__), **QUICK)
    FileSensor(task_id="this_file_deferrable", filepath=HERE + "/*.py", deferrable=True)
    FileSensor(task_id="folder_without_files", filepath=HERE + "/empty", **QUICK)
    # times of today: a minute ago, an hour ahead, neither across midnight (a time of day past
    # midnight is early today, already passed: run at 23:30, "ahead" would succeed)
    MIDNIGHT = NOW.replace(hour=0, minute=0, second=0, microsecond=0)
    PASSED = max(NOW - datetime.timedelta(minutes=1), MIDNIGHT)
    LAST = MIDNIGHT + datetime.timedelta(days=1, seconds=-1)
    AHEAD = min(NOW + datetime.timedelta(hours=1), LAST)
    TimeSensor(task_id="time_passed", target_time=PASSED.time())
    TimeSensor(task_id="time_ahead", target_time=AHEAD.time(), **QUICK)
    TimeDeltaSensor(task_id="due_deferrable", delta=datetime.timedelta(seconds=5), deferrable=True)
    TimeDeltaSensor(task_id="due", delta=datetime.timedelta(seconds=5))
    TimeDeltaSensor(task_id="due_in_minutes", delta=5)
    DateTimeSensor(task_id="templated_past", target_time="{{ ds }}T00:00:00+00:00")
    DateTimeSensorAsync(task_id="async_past", target_time="2024-01-01T00:00:00+00:00")
"""

_FS = '{"conn_type": "fs", "extra": {"path": "/"}}'


@pytest.mark.parametrize("connection", [None, _FS], ids=["no_fs_default", "fs_default"])
def test_time_file_and_date_sensors_end_as_in_airflow_3(dag_file, connection):
    path = dag_file(SENSORS)
    env = {"AIRFLOW_CONN_FS_DEFAULT": connection} if connection else {}
    ours = run_json(path, env=env)["sensors"]
    theirs = airflow_run(path, "2024-01-15", env=env)["sensors"]
    states = {t: r["state"] for t, r in ours["tasks"].items()}
    files = "success" if connection else "failed"  # Airflow 3 creates no fs_default
    assert states == {
        "this_file": files,
        "this_file_deferrable": files,
        "folder_without_files": "skipped" if connection else "failed",
        "time_passed": "success",
        "time_ahead": "skipped",
        "due_deferrable": "success",
        "due": "success",
        "due_in_minutes": "success",
        "templated_past": "success",
        "async_past": "success",
    }
    assert ours["tasks"]["due_deferrable"]["result"] is True  # returned before deferring
    _same(ours, theirs)


@pytest.mark.parametrize("connection", [None, _FS], ids=["no_fs_default", "fs_default"])
def test_an_airflow_2_file_sensor_needs_its_fs_connection_as_in_airflow_2_11(dag_file, connection):
    path = dag_file("""
        import os

        import pendulum
        from airflow import DAG
        from airflow.sensors.filesystem import FileSensor

        with DAG("files", start_date=pendulum.datetime(2024, 1, 1, tz="UTC"), schedule=None):
            FileSensor(task_id="this_file", filepath=os.path.abspath(__file__), timeout=1)
            FileSensor(task_id="relative", filepath="no/such/file", timeout=1, poke_interval=1)
        """)
    env = {"AIRFLOW_CONN_FS_DEFAULT": connection} if connection else {}
    ours = run_json(path, env=env)["files"]
    theirs = airflow_run(path, "2024-01-15", generation="2", env=env)["files"]
    assert {t: r["state"] for t, r in ours["tasks"].items()} == {
        "this_file": "success" if connection else "failed",
        "relative": "failed",
    }
    _same(ours, theirs)
