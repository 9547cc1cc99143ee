"""Time, weekday and file sensors and the date-time and weekday branches, against Airflow.

The DAGs compare with "now" computed when the file is parsed (the wall clock is what these
operators read), so the outcome is the same whenever the test runs, except within two hours of
midnight UTC for the time-of-day window.
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
    by_date("around_now", (NOW - hour).time(), (NOW + hour).time())
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
