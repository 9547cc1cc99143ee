"""Timetables: when scheduled runs start and which data interval each covers (Airflow's model).

See :mod:`dagshift.runtime.timetables.base` for the protocol; :func:`iter_dagrun_infos` walks a
timetable the way Airflow's scheduler does, one ``next_dagrun_info`` after the other.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime

from dagshift.runtime.timetables.base import (
    DagRunInfo,
    DataInterval,
    TimeRestriction,
    Timetable,
    TimetableInvalid,
    frozen_now,
    is_timetable,
    utcnow,
)
from dagshift.runtime.timetables.interval import (
    CronDataIntervalTimetable,
    DeltaDataIntervalTimetable,
)
from dagshift.runtime.timetables.simple import (
    ContinuousTimetable,
    EventsTimetable,
    NullTimetable,
    OnceTimetable,
)
from dagshift.runtime.timetables.trigger import (
    CronTriggerTimetable,
    DeltaTriggerTimetable,
    MultipleCronTriggerTimetable,
)

__all__ = [
    "ContinuousTimetable",
    "CronDataIntervalTimetable",
    "CronTriggerTimetable",
    "DagRunInfo",
    "DataInterval",
    "DeltaDataIntervalTimetable",
    "DeltaTriggerTimetable",
    "EventsTimetable",
    "MultipleCronTriggerTimetable",
    "NullTimetable",
    "OnceTimetable",
    "TimeRestriction",
    "Timetable",
    "TimetableInvalid",
    "frozen_now",
    "is_timetable",
    "iter_dagrun_infos",
    "utcnow",
]


def iter_dagrun_infos(
    timetable: Timetable,
    restriction: TimeRestriction,
    last: DataInterval | None = None,
    now: datetime | None = None,
    limit: int = 100_000,
) -> Iterator[DagRunInfo]:
    """The runs ``timetable`` schedules after ``last``, each one's interval fed to the next.

    ``now`` pins the wall clock the timetable reads (catch-up off, a first run without a
    start date). A timetable that repeats its last interval ends the walk: Airflow's scheduler
    would never move past it either.
    """
    for _ in range(limit):
        if now is None:
            info = timetable.next_dagrun_info(
                last_automated_data_interval=last, restriction=restriction
            )
        else:
            with frozen_now(now):
                info = timetable.next_dagrun_info(
                    last_automated_data_interval=last, restriction=restriction
                )
        if info is None or info.data_interval is None or info.data_interval == last:
            return
        yield info
        last = info.data_interval
