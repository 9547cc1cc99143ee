"""Data-interval timetables: a run covers one period and starts when the period ends.

``CronDataIntervalTimetable`` is Airflow 2's meaning of ``schedule="@daily"``;
``DeltaDataIntervalTimetable`` its meaning of ``schedule=timedelta(...)``. The logical date of a
run is the start of its period. Step for step Airflow 3.3's ``airflow/timetables/interval.py``.
"""

from __future__ import annotations

import datetime
from typing import Any

from dateutil.relativedelta import relativedelta
from pendulum import DateTime

from dagshift.runtime.timetables._mixins import CronMixin, DeltaMixin
from dagshift.runtime.timetables.base import (
    DagRunInfo,
    DataInterval,
    TimeRestriction,
    Timetable,
    utcnow,
)

__all__ = ["CronDataIntervalTimetable", "DeltaDataIntervalTimetable"]


class _DataIntervalTimetable(Timetable):
    """Periodic data intervals from ``_get_next``/``_get_prev``; a run at each interval's end."""

    def _skip_to_latest(self, earliest: DateTime | None) -> DateTime:
        raise NotImplementedError()

    def next_dagrun_info(
        self, *, last_automated_data_interval: DataInterval | None, restriction: TimeRestriction
    ) -> DagRunInfo | None:
        earliest = restriction.earliest
        if not restriction.catchup:
            earliest = self._skip_to_latest(earliest)
        elif earliest is not None:
            earliest = self._align_to_next(earliest)
        last = last_automated_data_interval
        if last is None:
            if earliest is None:
                return None
            start = earliest
        else:
            start = self._align_to_prev(last.end)
            if earliest is not None:
                start = max(start, earliest)
            if start <= last.start:
                start = self._get_next(start)
                if start <= last.start:
                    raise ValueError(
                        f"{type(self).__name__} timetable did not advance past {last.start} "
                        "after one retry"
                    )
        if restriction.latest is not None and start > restriction.latest:
            return None
        return DagRunInfo.interval(start=start, end=self._get_next(start))


class CronDataIntervalTimetable(CronMixin, _DataIntervalTimetable):
    """Data intervals between the times of a cron expression, in a time zone.

    Example:
        >>> CronDataIntervalTimetable("0 2 * * *", timezone="Europe/Amsterdam")
    """

    def __repr__(self) -> str:
        return f"CronDataIntervalTimetable({self._expression!r}, {self._timezone.name!r})"

    def _skip_to_latest(self, earliest: DateTime | None) -> DateTime:
        # The interval that ends at the latest cron time at or before now (so it can run now).
        current_time = utcnow()
        last_start = self._get_prev(current_time)
        next_start = self._get_next(last_start)
        if next_start == current_time:
            new_start = last_start
        elif next_start > current_time:
            new_start = self._get_prev(last_start)
        else:
            raise AssertionError("next schedule shouldn't be earlier")
        if earliest is None:
            return new_start
        return max(new_start, self._align_to_next(earliest))

    def infer_manual_data_interval(self, *, run_after: DateTime) -> DataInterval:
        end = self._align_to_prev(run_after)
        return DataInterval(start=self._get_prev(end), end=end)


class DeltaDataIntervalTimetable(DeltaMixin, _DataIntervalTimetable):
    """Data intervals of a fixed ``timedelta`` or ``relativedelta``, from the start date."""

    def __repr__(self) -> str:
        return f"DeltaDataIntervalTimetable({self._delta!r})"

    @staticmethod
    def _relativedelta_in_seconds(delta: relativedelta) -> int:
        return (
            delta.years * 365 * 24 * 60 * 60
            + delta.months * 30 * 24 * 60 * 60
            + delta.days * 24 * 60 * 60
            + delta.hours * 60 * 60
            + delta.minutes * 60
            + delta.seconds
        )

    def _round(self, dt: DateTime, anchor: DateTime) -> DateTime:
        """Floor ``dt`` to a period boundary: from ``anchor`` for months/years, else the epoch."""
        if isinstance(self._delta, relativedelta) and (self._delta.months or self._delta.years):
            boundary = anchor
            while self._get_next(boundary) <= dt:
                boundary = self._get_next(boundary)
            return boundary
        if isinstance(self._delta, datetime.timedelta):
            seconds = self._delta.total_seconds()
        else:
            seconds = self._relativedelta_in_seconds(self._delta)
        stamp = dt.timestamp()
        return DateTime.fromtimestamp(stamp - (stamp % seconds), tz=dt.tzinfo)

    def _skip_to_latest(self, earliest: DateTime | None) -> DateTime:
        now = utcnow()
        new_start = self._get_prev(self._round(now, earliest or now))
        return new_start if earliest is None else max(new_start, earliest)

    def infer_manual_data_interval(self, *, run_after: DateTime) -> DataInterval:
        return DataInterval(start=self._get_prev(run_after), end=run_after)

    def serialize(self) -> dict[str, Any]:
        return {"delta": repr(self._delta)}
