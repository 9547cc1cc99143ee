"""Trigger timetables: a run starts at each time of the schedule, as POSIX cron does.

``CronTriggerTimetable`` is Airflow 3's meaning of ``schedule="@daily"``. A run's data interval
is ``interval`` long and ends at its start time (zero by default, so logical date, interval and
start time coincide). Step for step Airflow 3.3's ``airflow/timetables/trigger.py``.
"""

from __future__ import annotations

import datetime
import math
from typing import Any

from pendulum import DateTime

from dagshift.runtime.timetables._mixins import CronMixin, DeltaMixin
from dagshift.runtime.timetables.base import (
    DagRunInfo,
    DataInterval,
    TimeRestriction,
    Timetable,
    coerce_datetime,
    utcnow,
)

__all__ = ["CronTriggerTimetable", "DeltaTriggerTimetable", "MultipleCronTriggerTimetable"]


class _TriggerTimetable(Timetable):
    _interval: Any

    def infer_manual_data_interval(self, *, run_after: DateTime) -> DataInterval:
        return DataInterval(coerce_datetime(run_after - self._interval), run_after)

    def _calc_first_run(self) -> DateTime:
        raise NotImplementedError()

    def next_dagrun_info(
        self, *, last_automated_data_interval: DataInterval | None, restriction: TimeRestriction
    ) -> DagRunInfo | None:
        last = last_automated_data_interval
        if restriction.catchup:
            if last is not None:
                next_start = self._get_next(last.end)
            elif restriction.earliest is None:
                next_start = self._calc_first_run()
            else:
                next_start = self._align_to_next(restriction.earliest)
        else:
            # Without catch-up: the latest time at or before now, unless the last run or the
            # start date is later.
            candidates = [self._align_to_prev(utcnow())]
            if last is not None:
                candidates.append(self._get_next(last.end))
            elif restriction.earliest is None:
                candidates.append(self._calc_first_run())
            if restriction.earliest is not None:
                candidates.append(self._align_to_next(restriction.earliest))
            next_start = max(candidates)
        if restriction.latest is not None and restriction.latest < next_start:
            return None
        return DagRunInfo.interval(coerce_datetime(next_start - self._interval), next_start)


class DeltaTriggerTimetable(DeltaMixin, _TriggerTimetable):
    """A run every ``delta``; each run's data interval is ``interval`` long (default 0)."""

    def __init__(self, delta: Any, *, interval: Any = datetime.timedelta()) -> None:
        super().__init__(delta)
        self._interval = interval

    def __repr__(self) -> str:
        return f"DeltaTriggerTimetable({self._delta!r}, interval={self._interval!r})"

    def _calc_first_run(self) -> DateTime:
        return self._align_to_prev(utcnow())


class CronTriggerTimetable(CronMixin, _TriggerTimetable):
    """A run at each time of a cron expression, in a time zone.

    ``run_immediately`` decides the first run of a flow with no start date: True runs the
    latest past time at once, False does when it is within a tenth of the gap between runs
    (at least five minutes), a ``timedelta`` gives that window itself.

    Example:
        >>> CronTriggerTimetable("0 2 * * *", timezone="Europe/Amsterdam")
    """

    def __init__(
        self,
        cron: str,
        *,
        timezone: Any,
        interval: Any = datetime.timedelta(),
        run_immediately: bool | datetime.timedelta = False,
    ) -> None:
        super().__init__(cron, timezone)
        self._interval = interval
        self._run_immediately = run_immediately

    def __repr__(self) -> str:
        return f"CronTriggerTimetable({self._expression!r}, timezone={self._timezone.name!r})"

    def _calc_first_run(self) -> DateTime:
        now = utcnow()
        past_run_time = self._align_to_prev(now)
        next_run_time = self._align_to_next(now)
        if self._run_immediately is True:  # exactly True: a timedelta is truthy too
            return past_run_time
        if isinstance(self._run_immediately, datetime.timedelta):
            buffer = self._run_immediately
        else:
            buffer = max((next_run_time - past_run_time) / 10, datetime.timedelta(minutes=5))
        return past_run_time if now - past_run_time <= buffer else next_run_time


class MultipleCronTriggerTimetable(Timetable):
    """Runs at the times of several cron expressions (one zone, one interval)."""

    def __init__(
        self,
        *crons: str,
        timezone: Any,
        interval: Any = datetime.timedelta(),
        run_immediately: bool | datetime.timedelta = False,
    ) -> None:
        if not crons:
            raise ValueError("cron expression required")
        self._timetables = [
            CronTriggerTimetable(
                cron, timezone=timezone, interval=interval, run_immediately=run_immediately
            )
            for cron in crons
        ]
        self.description = ", ".join(t.description for t in self._timetables)

    @property
    def summary(self) -> str:
        return ", ".join(t.summary for t in self._timetables)

    def infer_manual_data_interval(self, *, run_after: DateTime) -> DataInterval:
        intervals = (t.infer_manual_data_interval(run_after=run_after) for t in self._timetables)
        return min((x for x in intervals if x), key=lambda x: x.start)

    def next_dagrun_info(
        self, *, last_automated_data_interval: DataInterval | None, restriction: TimeRestriction
    ) -> DagRunInfo | None:
        infos = [
            t.next_dagrun_info(
                last_automated_data_interval=last_automated_data_interval,
                restriction=restriction,
            )
            for t in self._timetables
        ]
        now = utcnow().timestamp()

        def key(info: DagRunInfo | None) -> float:
            # Catching up: the earliest; otherwise the latest one already due, else the next.
            if info is None or info.logical_date is None:
                return math.inf
            stamp = info.logical_date.timestamp()
            if restriction.catchup:
                return stamp
            return -stamp if stamp <= now else stamp

        return min(infos, key=key)
