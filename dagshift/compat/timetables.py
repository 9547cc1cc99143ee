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
