"""Schedules: cron and presets in time zones across DST, intervals, explicit lists, several at
once, and Airflow's scheduling arguments."""

from datetime import datetime, timedelta

import pendulum
import pytest

from dagshift import Flow
from dagshift.runtime.schedule import (
    CronSchedule,
    ExplicitSchedule,
    IntervalSchedule,
    MultiSchedule,
    ScheduleError,
    airflow_schedule,
    flow_schedule,
    parse_schedule,
)


def utc(*args):
    return pendulum.datetime(*args, tz="UTC")


def test_daily_preset_is_due_at_midnight_utc():
    s = parse_schedule("@daily")
    assert s.next_after(utc(2024, 1, 1, 0, 0)) == utc(2024, 1, 2)
    assert s.next_after(utc(2024, 1, 1, 23, 59)) == utc(2024, 1, 2)


def test_every_preset_parses():
    for preset in ("@hourly", "@daily", "@midnight", "@weekly", "@monthly", "@quarterly"):
        assert parse_schedule(preset).next_after(utc(2024, 1, 1)) is not None
    assert parse_schedule("@yearly").next_after(utc(2024, 6, 1)) == utc(2025, 1, 1)


def test_cron_in_a_zone_follows_the_wall_clock_across_dst():
    s = CronSchedule("0 9 * * *", "Europe/Amsterdam")
    times = list(s.times(utc(2024, 3, 29), utc(2024, 4, 2)))
    assert [t.in_tz("Europe/Amsterdam").hour for t in times] == [9, 9, 9, 9]
    assert [t.hour for t in times] == [8, 8, 7, 7]  # UTC+1 before 31 March, UTC+2 after


def test_a_wall_time_inside_the_spring_gap_runs_just_after_it():
    s = CronSchedule("30 2 * * *", "America/New_York")
    times = list(s.times(utc(2024, 3, 9), utc(2024, 3, 11, 12)))
    local = [t.in_tz("America/New_York") for t in times]
    assert [(t.day, t.hour, t.minute) for t in local] == [(9, 2, 30), (10, 3, 30), (11, 2, 30)]


def test_a_repeated_wall_time_runs_once_for_a_fixed_hour():
    s = CronSchedule("30 1 * * *", "America/New_York")
    times = list(s.times(utc(2024, 11, 3), utc(2024, 11, 4)))
    assert times == [utc(2024, 11, 3, 5, 30)]  # the first 01:30 (EDT), not the second


def test_an_hourly_schedule_keeps_every_hour_across_both_transitions():
    s = CronSchedule("@hourly", "America/New_York")
    spring = list(s.times(utc(2024, 3, 10, 5), utc(2024, 3, 11, 3, 59)))
    autumn = list(s.times(utc(2024, 11, 3, 4), utc(2024, 11, 4, 4, 59)))
    assert len(spring) == 23 and len(autumn) == 25
    for times in (spring, autumn):
        assert all(b - a == timedelta(hours=1) for a, b in zip(times, times[1:], strict=False))


def test_an_interval_counts_from_its_anchor_in_absolute_time():
    s = IntervalSchedule(timedelta(hours=5), utc(2024, 1, 1, 1))
    assert s.next_after(utc(2023, 1, 1)) == utc(2024, 1, 1, 1)
    assert s.next_after(utc(2024, 1, 1, 1)) == utc(2024, 1, 1, 6)
    assert s.next_after(utc(2024, 1, 1, 5, 59)) == utc(2024, 1, 1, 6)


def test_an_interval_without_anchor_runs_on_the_hour():
    assert parse_schedule(timedelta(hours=1)).next_after(utc(2024, 5, 5, 7, 42)) == utc(
        2024, 5, 5, 8
    )


def test_an_explicit_list_is_sorted_and_ends():
    s = parse_schedule(["2024-01-03", datetime(2024, 1, 1, 6), "2024-01-03"])
    assert isinstance(s, ExplicitSchedule)
    assert list(s.times(utc(2000, 1, 1), utc(2030, 1, 1))) == [utc(2024, 1, 1, 6), utc(2024, 1, 3)]
    assert s.next_after(utc(2024, 1, 3)) is None


def test_several_schedules_run_a_shared_time_once():
    s = parse_schedule(["@daily", timedelta(hours=12)])
    assert isinstance(s, MultiSchedule)
    assert list(s.times(utc(2024, 1, 1), utc(2024, 1, 2))) == [
        utc(2024, 1, 1),
        utc(2024, 1, 1, 12),
        utc(2024, 1, 2),
    ]


@pytest.mark.parametrize("bad", ["every day", "61 * * * *", "* * *", "@fortnightly", 42])
def test_an_unparseable_schedule_says_what_is_accepted(bad):
    with pytest.raises(ScheduleError, match="cron|schedule"):
        parse_schedule(bad)


def test_a_flow_schedule_error_names_the_flow():
    flow = Flow("nightly_report", schedule="0 25 * * *")
    with pytest.raises(ScheduleError, match="nightly_report"):
        flow_schedule(flow)


def test_a_flow_reads_its_zone_from_meta_or_start_date():
    flow = Flow("a", schedule="0 9 * * *", timezone="Asia/Tokyo")
    assert flow_schedule(flow).next_after(utc(2023, 12, 31, 23)) == utc(2024, 1, 1, 0)
    flow = Flow(
        "b", schedule="0 9 * * *", start_date=pendulum.datetime(2024, 1, 1, tz="Asia/Tokyo")
    )
    assert flow_schedule(flow).next_after(utc(2024, 1, 1, 1)) == utc(2024, 1, 2, 0)


def test_start_and_end_dates_bound_the_times():
    flow = Flow(
        "w", schedule="@daily", start_date=datetime(2024, 1, 3), end_date=datetime(2024, 1, 5)
    )
    spec = flow_schedule(flow)
    assert list(spec.times(utc(2024, 1, 1), utc(2024, 1, 31))) == [
        utc(2024, 1, 3),
        utc(2024, 1, 4),
        utc(2024, 1, 5),
    ]


def test_airflow_schedule_interval_and_schedule_are_one_thing():
    a = airflow_schedule(schedule_interval="@daily", start_date=datetime(2024, 1, 1), catchup=True)
    b = airflow_schedule(schedule="@daily", start_date=datetime(2024, 1, 1), catchup=True)
    assert a.catchup and b.catchup and a.start_date == utc(2024, 1, 1)
    assert a.next_after(utc(2023, 1, 1)) == b.next_after(utc(2023, 1, 1)) == utc(2024, 1, 1)
    with pytest.raises(ScheduleError, match="not both"):
        airflow_schedule(schedule="@daily", schedule_interval="@daily")


def test_airflow_defaults_follow_airflow_3_unless_told():
    assert airflow_schedule().schedule is None
    assert airflow_schedule().catchup is False
    legacy = airflow_schedule(start_date=datetime(2024, 1, 1), default_schedule=timedelta(days=1))
    assert legacy.next_after(utc(2024, 1, 1)) == utc(2024, 1, 2)


def test_airflow_cron_uses_the_start_date_zone_and_interval_counts_from_it():
    spec = airflow_schedule(
        schedule="0 6 * * *", start_date=pendulum.datetime(2024, 7, 1, tz="Europe/London")
    )
    assert spec.next_after(utc(2024, 7, 1)) == utc(2024, 7, 1, 5)
    spec = airflow_schedule(schedule=timedelta(hours=6), start_date=datetime(2024, 1, 1, 1))
    assert spec.next_after(utc(2024, 1, 1, 2)) == utc(2024, 1, 1, 7)


def test_a_schedule_that_is_neither_time_nor_assets_is_refused_clearly():
    class Dataset:  # not dagshift's (nor the shim's) Dataset: nothing says what it means
        uri = "s3://bucket/x"

    with pytest.raises(ScheduleError, match="not a time schedule"):
        airflow_schedule(schedule=[Dataset()])


def test_once_is_airflow_s_once_timetable_one_run_at_the_start_date():
    spec = airflow_schedule(schedule="@once", start_date=utc(2024, 1, 5))
    first = spec.next_info(None, utc(2024, 2, 1))
    assert first.run_after == utc(2024, 1, 5)
    assert spec.next_info(first.data_interval, utc(2024, 2, 1)) is None
