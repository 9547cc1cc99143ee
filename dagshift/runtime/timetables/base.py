"""Timetables: Airflow's scheduling protocol, as the runtime's own types.

A timetable answers two questions, with Airflow's exact signatures so that a ``Timetable``
subclass written in a DAG file runs as written:

- ``next_dagrun_info(last_automated_data_interval=..., restriction=...)``: the next scheduled
  run after the last one (``run_after``: when it may start; ``data_interval``: what it covers;
  its logical date is the interval's start), or None when there is none;
- ``infer_manual_data_interval(run_after=...)``: the data interval of a run started by hand.

The built-in timetables follow Airflow 3.3's code step for step (``airflow/timetables/``); the
oracle test runs both on a year of dates. Where Airflow reads the wall clock (``catchup=False``,
a first run without a start date) they read :func:`utcnow`, which ``serve`` and tests pin to
their own clock with :func:`frozen_now`.
"""

from __future__ import annotations

import contextlib
import contextvars
import datetime
from collections.abc import Iterator
from typing import Any, NamedTuple

import pendulum
from pendulum import DateTime

__all__ = [
    "DagRunInfo",
    "DataInterval",
    "TimeRestriction",
    "Timetable",
    "TimetableInvalid",
    "coerce_datetime",
    "convert_to_utc",
    "frozen_now",
    "is_timetable",
    "make_aware",
    "make_naive",
    "parse_timezone",
    "utcnow",
]

_NOW: contextvars.ContextVar[datetime.datetime | None] = contextvars.ContextVar(
    "dagshift_timetable_now", default=None
)


class TimetableInvalid(ValueError):
    """A timetable that cannot schedule (Airflow's AirflowTimetableInvalid)."""


def utcnow() -> DateTime:
    """The current time in UTC, or the time :func:`frozen_now` pinned in this context."""
    pinned = _NOW.get()
    return pendulum.now("UTC") if pinned is None else coerce_datetime(pinned)


@contextlib.contextmanager
def frozen_now(moment: datetime.datetime) -> Iterator[None]:
    """Make :func:`utcnow` return ``moment`` inside the block (a service's clock, a test's)."""
    token = _NOW.set(moment)
    try:
        yield
    finally:
        _NOW.reset(token)


def parse_timezone(tz: Any) -> Any:
    """A pendulum time zone from a name, a pendulum zone or a ``zoneinfo`` zone."""
    if tz is None:
        return pendulum.UTC
    if isinstance(tz, str):
        return pendulum.timezone(tz)
    if isinstance(tz, pendulum.tz.timezone.Timezone | pendulum.tz.timezone.FixedTimezone):
        return tz
    name = getattr(tz, "key", None) or getattr(tz, "name", None)
    if name:
        return pendulum.timezone(name)
    raise TimetableInvalid(f"cannot use {tz!r} as a time zone: give an IANA name such as 'UTC'")


def make_aware(value: datetime.datetime, tz: Any) -> datetime.datetime:
    """A naive wall time in ``tz``; a repeated wall time is its second occurrence (Airflow)."""
    if value.tzinfo is not None:
        raise ValueError(f"make_aware expects a naive datetime, got {value}")
    return parse_timezone(tz).convert(value.replace(fold=1))


def make_naive(value: datetime.datetime, tz: Any) -> datetime.datetime:
    """The wall time of an aware ``value`` in ``tz``."""
    local = value.astimezone(parse_timezone(tz))
    return datetime.datetime(
        local.year, local.month, local.day, local.hour, local.minute, local.second,
        local.microsecond,
    )  # fmt: skip


def convert_to_utc(value: datetime.datetime) -> DateTime:
    """``value`` in UTC as a pendulum DateTime (naive values are read as UTC)."""
    if value.tzinfo is None:
        value = pendulum.instance(value, pendulum.UTC)
    return pendulum.instance(value.astimezone(pendulum.UTC))


def coerce_datetime(value: datetime.datetime | None, tz: Any = None) -> DateTime | None:
    """A pendulum DateTime; a naive value is made aware in ``tz`` (default UTC)."""
    if value is None:
        return None
    if isinstance(value, DateTime):
        return value if value.tzinfo else make_aware(value, tz)
    return pendulum.instance(value if value.tzinfo else make_aware(value, tz))


class DataInterval(NamedTuple):
    """The range of data a run covers: ``start`` to ``end``."""

    start: DateTime
    end: DateTime

    @classmethod
    def exact(cls, at: DateTime) -> DataInterval:
        return cls(start=at, end=at)


class TimeRestriction(NamedTuple):
    """What limits scheduling: the flow's start and end dates and its catch-up policy."""

    earliest: DateTime | None
    latest: DateTime | None
    catchup: bool


class DagRunInfo(NamedTuple):
    """One scheduled run: when it may start and the data interval it covers."""

    run_after: DateTime
    data_interval: DataInterval | None
    partition_date: DateTime | None = None
    partition_key: str | None = None

    @classmethod
    def exact(cls, at: DateTime) -> DagRunInfo:
        return cls(run_after=at, data_interval=DataInterval.exact(at))

    @classmethod
    def interval(cls, start: DateTime, end: DateTime) -> DagRunInfo:
        return cls(run_after=end, data_interval=DataInterval(start, end))

    @property
    def logical_date(self) -> DateTime | None:
        """The run's logical date: its data interval's start, as in Airflow."""
        return self.data_interval.start if self.data_interval else None


class Timetable:
    """Base of every timetable; subclass it and implement the two methods, as in Airflow.

    Example:
        >>> class Weekdays(Timetable):
        ...     def infer_manual_data_interval(self, *, run_after):
        ...         return DataInterval.exact(run_after)
        ...     def next_dagrun_info(self, *, last_automated_data_interval, restriction):
        ...         ...
    """

    description: str = ""
    periodic: bool = True
    can_be_scheduled: bool = True
    run_ordering: tuple[str, ...] = ("data_interval_end", "logical_date")
    active_runs_limit: int | None = None
    partitioned: bool = False
    asset_condition: Any = None

    @classmethod
    def deserialize(cls, data: dict[str, Any]) -> Timetable:
        return cls()

    def serialize(self) -> dict[str, Any]:
        return {}

    def validate(self) -> None:
        """Raise :class:`TimetableInvalid` when the timetable cannot schedule."""

    @property
    def summary(self) -> str:
        return type(self).__name__

    def __str__(self) -> str:
        return self.summary

    def infer_manual_data_interval(self, *, run_after: DateTime) -> DataInterval:
        raise NotImplementedError()

    def next_dagrun_info(
        self, *, last_automated_data_interval: DataInterval | None, restriction: TimeRestriction
    ) -> DagRunInfo | None:
        raise NotImplementedError()


def is_timetable(value: Any) -> bool:
    """Whether ``value`` schedules like a timetable (ours, or any object with the protocol)."""
    return isinstance(value, Timetable) or (
        not isinstance(value, type)
        and callable(getattr(value, "next_dagrun_info", None))
        and callable(getattr(value, "infer_manual_data_interval", None))
    )
