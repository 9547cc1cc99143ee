"""Airflow's timetables under their Airflow names: the runtime's, which follow Airflow 3.3.

``airflow.timetables.*`` (2.x and 3.x), ``airflow.sdk.definitions.timetables.*`` and the
``airflow.sdk`` exports all serve these classes, so a DAG's ``schedule=CronTriggerTimetable(...)``
and a ``Timetable`` subclass written in a DAG file schedule as the runtime's own timetables.
"""

from __future__ import annotations

from typing import Any

from dagshift.runtime.assets import AssetOrTimeSchedule as _AssetOrTimeSchedule
from dagshift.runtime.timetables import (
    ContinuousTimetable,
    CronDataIntervalTimetable,
    CronTriggerTimetable,
    DagRunInfo,
    DataInterval,
    DeltaDataIntervalTimetable,
    DeltaTriggerTimetable,
    EventsTimetable,
    MultipleCronTriggerTimetable,
    NullTimetable,
    OnceTimetable,
    TimeRestriction,
    Timetable,
    TimetableInvalid,
)

__all__ = [
    "AirflowTimetableInvalid",
    "AssetOrTimeSchedule",
    "ContinuousTimetable",
    "CronDataIntervalTimetable",
    "CronTriggerTimetable",
    "DagRunInfo",
    "DataInterval",
    "DatasetOrTimeSchedule",
    "DeltaDataIntervalTimetable",
    "DeltaTriggerTimetable",
    "EventsTimetable",
    "MultipleCronTriggerTimetable",
    "NullTimetable",
    "OnceTimetable",
    "TimeRestriction",
    "Timetable",
]

AirflowTimetableInvalid = TimetableInvalid


class AssetOrTimeSchedule(_AssetOrTimeSchedule):
    """Airflow 3's ``AssetOrTimeSchedule(timetable=..., assets=...)``."""

    # A timetable in its own right for code that asks (Airflow's is a Timetable subclass).
    def infer_manual_data_interval(self, *, run_after: Any) -> DataInterval:
        return self.timetable.infer_manual_data_interval(run_after=run_after)

    def next_dagrun_info(self, *, last_automated_data_interval, restriction):
        return self.timetable.next_dagrun_info(
            last_automated_data_interval=last_automated_data_interval, restriction=restriction
        )


class DatasetOrTimeSchedule(AssetOrTimeSchedule):
    """Airflow 2.9+'s ``DatasetOrTimeSchedule(timetable=..., datasets=...)``."""

    def __init__(self, *, timetable: Any, datasets: Any) -> None:
        super().__init__(timetable=timetable, assets=datasets)


def dag_timetable(dag: Any) -> Any:
    """The timetable Airflow builds for a DAG's ``schedule`` (3.x or 2.x meaning of a cron).

    Airflow 3: a cron string or preset is a ``CronTriggerTimetable``; Airflow 2 (and 1.10): a
    ``CronDataIntervalTimetable``. A timedelta is a ``DeltaDataIntervalTimetable`` in both;
    ``@once``/``@continuous``/None their simple timetables; a timetable is itself.
    """
    from datetime import timedelta

    from dagshift.runtime.timetables import is_timetable

    schedule = dag.schedule
    if is_timetable(schedule):
        return schedule
    if schedule is None:
        return NullTimetable()
    if isinstance(schedule, timedelta):
        return DeltaDataIntervalTimetable(schedule)
    if isinstance(schedule, str):
        if schedule == "@once":
            return OnceTimetable()
        if schedule == "@continuous":
            return ContinuousTimetable()
        zone = getattr(getattr(dag, "start_date", None), "tzinfo", None) or "UTC"
        if dag.generation == "3":
            return CronTriggerTimetable(schedule, timezone=zone)
        return CronDataIntervalTimetable(schedule, zone)
    return NullTimetable()  # assets only: no time schedule
