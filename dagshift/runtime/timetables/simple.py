"""Timetables without a period: none, once, continuous, and a fixed list of events.

Step for step Airflow 3.3's ``simple.py`` and ``events.py``.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable

import pendulum
from pendulum import DateTime

from dagshift.runtime.timetables.base import (
    DagRunInfo,
    DataInterval,
    TimeRestriction,
    Timetable,
    utcnow,
)

__all__ = ["ContinuousTimetable", "EventsTimetable", "NullTimetable", "OnceTimetable"]


class _TrivialTimetable(Timetable):
    periodic = False
    run_ordering = ("logical_date",)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, type(self))

    def __hash__(self) -> int:
        return hash(type(self).__name__)

    def infer_manual_data_interval(self, *, run_after: DateTime) -> DataInterval:
        return DataInterval.exact(run_after)


class NullTimetable(_TrivialTimetable):
    """Never scheduled: runs start only by hand (``schedule=None``)."""

    can_be_scheduled = False
    description = "Never, external triggers only"

    @property
    def summary(self) -> str:
        return "None"

    def next_dagrun_info(self, *, last_automated_data_interval, restriction):
        return None


class OnceTimetable(_TrivialTimetable):
    """One run, at the start date (or as soon as the flow is seen): ``@once``."""

    description = "Once, as soon as possible"

    @property
    def summary(self) -> str:
        return "@once"

    def next_dagrun_info(
        self, *, last_automated_data_interval: DataInterval | None, restriction: TimeRestriction
    ) -> DagRunInfo | None:
        if last_automated_data_interval is not None:
            return None
        run_after = restriction.earliest or utcnow()
        if restriction.latest is not None and run_after > restriction.latest:
            return None
        return DagRunInfo.exact(run_after)


class ContinuousTimetable(_TrivialTimetable):
    """A new run as soon as the last one ends, one at a time: ``@continuous``."""

    description = "As frequently as possible, but only one run at a time."
    active_runs_limit = 1

    @property
    def summary(self) -> str:
        return "@continuous"

    def next_dagrun_info(
        self, *, last_automated_data_interval: DataInterval | None, restriction: TimeRestriction
    ) -> DagRunInfo | None:
        current_time = utcnow()
        start_date = restriction.earliest or current_time
        last = last_automated_data_interval
        if last is not None:
            if last.end > current_time:  # the start date is in the future
                start = start_date
                end = start + (last.end - last.start)
            else:
                start, end = last.end, current_time
        else:
            start, end = start_date, max(start_date, current_time)
        if restriction.latest is not None and end > restriction.latest:
            return None
        return DagRunInfo.interval(start, end)


class EventsTimetable(Timetable):
    """Runs at a fixed list of instants.

    ``restrict_to_events`` makes a run started by hand take the latest event before it as its
    logical date (the first event when it is earlier than all).
    """

    def __init__(
        self,
        event_dates: Iterable[DateTime],
        restrict_to_events: bool = False,
        presorted: bool = False,
        description: str | None = None,
    ) -> None:
        self.event_dates = list(event_dates)
        if not presorted:
            self.event_dates.sort()
        self.restrict_to_events = restrict_to_events
        if description is None:
            if self.event_dates:
                first, last = self.event_dates[0], self.event_dates[-1]
                self.description = (
                    f"{len(self.event_dates)} events between {first.isoformat(sep='T')} and "
                    f"{last.isoformat(sep='T')}"
                )
            else:
                self.description = "No events"
            self._summary = f"{len(self.event_dates)} events"
        else:
            self._summary = self.description = description

    @property
    def summary(self) -> str:
        return self._summary

    def __repr__(self) -> str:
        return self.summary

    def next_dagrun_info(
        self, *, last_automated_data_interval: DataInterval | None, restriction: TimeRestriction
    ) -> DagRunInfo | None:
        earliest = restriction.earliest
        if not restriction.catchup:
            current_time = utcnow()
            if earliest is None or current_time > earliest:
                earliest = pendulum.instance(current_time)
        last = last_automated_data_interval
        for next_event in self.event_dates:
            if earliest and next_event < earliest:
                continue
            if last and next_event <= last.end:
                continue
            break
        else:
            return None
        if restriction.latest is not None and next_event > restriction.latest:
            return None
        return DagRunInfo.exact(next_event)

    def infer_manual_data_interval(self, *, run_after: DateTime) -> DataInterval:
        if not self.restrict_to_events or not self.event_dates:
            return DataInterval.exact(run_after)
        if run_after < self.event_dates[0]:
            return DataInterval.exact(self.event_dates[0])
        past = itertools.dropwhile(lambda when: when > run_after, self.event_dates[::-1])
        return DataInterval.exact(next(past))
