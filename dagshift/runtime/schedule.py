"""Schedules: when a flow's runs are due.

A schedule answers one question, :meth:`Schedule.next_after`: the first time strictly after a
given instant at which a run is due (its logical date). Runs start *at* that time, not at the
end of a data interval. Everything else (the times in a range, the latest time due) is built on
that one method, so the four kinds stay small:

- :class:`CronSchedule`: a cron expression or preset (``@daily``), evaluated on the wall clock
  of a time zone with croniter. Across DST: a wall time that does not exist (spring forward)
  runs at the first instant after the gap; a wall time that happens twice (fall back) runs once,
  at its first occurrence, unless the hour field is a wildcard (``0 * * * *``), in which case
  both occurrences run, so an hourly flow keeps running every hour.
- :class:`IntervalSchedule`: every ``timedelta`` from an anchor (the start date, else
  1970-01-01 UTC, so ``timedelta(hours=1)`` runs on the hour), in absolute time.
- :class:`ExplicitSchedule`: a fixed list of instants.
- :class:`MultiSchedule`: several of these at once; a time due in two of them runs once.
- :class:`TimetableSchedule`: an Airflow-style timetable (:mod:`dagshift.runtime.timetables`,
  or a user's subclass): ``serve`` and ``backfill`` ask it for each run's start time, logical
  date and data interval (``next_dagrun_info``), exactly as Airflow's scheduler does.

A :class:`ScheduleSpec` may also hold an asset condition (``Flow(schedule=[asset, ...])``,
``a | b``, ``AssetOrTimeSchedule``): such a flow starts on asset events, see
:mod:`dagshift.runtime.assets`.

:func:`parse_schedule` turns what a user writes into one of them; :func:`airflow_schedule`
maps Airflow's ``schedule``/``schedule_interval``/``start_date``/``end_date``/``catchup``;
:func:`flow_schedule` reads a flow's attributes. Every error is a :class:`ScheduleError`.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import pendulum
from croniter import croniter

from dagshift.runtime.assets import AssetOrTimeSchedule, BaseAsset, asset_condition
from dagshift.runtime.timetables import (
    ContinuousTimetable,
    DagRunInfo,
    DataInterval,
    OnceTimetable,
    TimeRestriction,
    frozen_now,
    is_timetable,
    iter_dagrun_infos,
)

__all__ = [
    "PRESETS",
    "CronSchedule",
    "ExplicitSchedule",
    "IntervalSchedule",
    "MultiSchedule",
    "Schedule",
    "ScheduleError",
    "ScheduleSpec",
    "TimetableSchedule",
    "airflow_schedule",
    "flow_schedule",
    "parse_schedule",
    "to_utc",
]

PRESETS = {
    "@hourly": "0 * * * *",
    "@daily": "0 0 * * *",
    "@midnight": "0 0 * * *",
    "@weekly": "0 0 * * 0",
    "@monthly": "0 0 1 * *",
    "@quarterly": "0 0 1 */3 *",
    "@yearly": "0 0 1 1 *",
    "@annually": "0 0 1 1 *",
}
_EPOCH = pendulum.datetime(1970, 1, 1, tz="UTC")


class ScheduleError(ValueError):
    """A schedule that cannot be understood; the message says what is accepted."""


def _zone(tz: Any) -> ZoneInfo:
    if tz is None:
        return ZoneInfo("UTC")
    if isinstance(tz, ZoneInfo):
        return tz
    name = getattr(tz, "name", None) or getattr(tz, "key", None) or str(tz)
    if name in ("+00:00", "UTC+00:00"):
        name = "UTC"
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ScheduleError(
            f"unknown time zone {tz!r}: use an IANA name such as 'Europe/Amsterdam' or 'UTC'"
        ) from None


def to_utc(value: Any, tz: Any = None) -> pendulum.DateTime:
    """An aware pendulum DateTime in UTC; naive values are read in ``tz`` (default UTC)."""
    if isinstance(value, str):
        try:
            value = pendulum.parse(value, tz=_zone(tz).key)
        except (ValueError, pendulum.parsing.exceptions.ParserError) as exc:
            raise ScheduleError(f"cannot read {value!r} as a date or time: {exc}") from None
    if isinstance(value, datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=_zone(tz))
        return pendulum.instance(value).in_timezone("UTC")
    if isinstance(value, date):
        return to_utc(datetime(value.year, value.month, value.day), tz)
    raise ScheduleError(f"expected a date or datetime, got {value!r}")


class Schedule:
    """When runs are due. Subclasses implement :meth:`next_after`."""

    def next_after(self, after: datetime) -> pendulum.DateTime | None:
        """The first due time strictly after ``after`` (UTC), or None when there is none."""
        raise NotImplementedError

    def times(self, start: datetime, end: datetime) -> Iterator[pendulum.DateTime]:
        """Due times ``t`` with ``start <= t <= end``, in order."""
        end = to_utc(end)
        t = self.next_after(to_utc(start) - timedelta(microseconds=1))
        while t is not None and t <= end:
            yield t
            t = self.next_after(t)

    def latest_at_or_before(self, moment: datetime, since: datetime) -> pendulum.DateTime | None:
        """The last due time in ``(since, moment]``; None when there is none."""
        last = None
        for t in self.times(to_utc(since) + timedelta(microseconds=1), moment):
            last = t
        return last


@dataclass
class CronSchedule(Schedule):
    """A cron expression (five fields, or a preset such as ``@daily``) in a time zone."""

    expression: str
    timezone: str = "UTC"
    _cron: str = field(init=False, repr=False)

    def __post_init__(self) -> None:
        cron = PRESETS.get(self.expression.strip(), self.expression.strip())
        if not croniter.is_valid(cron) or len(cron.split()) != 5:
            raise ScheduleError(
                f"cannot parse schedule {self.expression!r}: give five cron fields "
                f"('30 2 * * 1-5'), a preset ({', '.join(PRESETS)}), a timedelta, "
                "a list of datetimes, or None"
            )
        self.timezone = _zone(self.timezone).key
        self._cron = cron

    def __str__(self) -> str:
        return self.expression if self.timezone == "UTC" else f"{self.expression} ({self.timezone})"

    def next_after(self, after: datetime) -> pendulum.DateTime | None:
        zone = ZoneInfo(self.timezone)
        after_utc = to_utc(after)
        # Start a little earlier on the wall clock: a repeated hour can put a later wall time
        # at an earlier instant.
        wall = after_utc.astimezone(zone).replace(tzinfo=None) - timedelta(hours=3)
        it = croniter(self._cron, wall)
        best: datetime | None = None
        for _ in range(10_000):
            naive = it.get_next(datetime)
            for instant in self._instants(naive, zone):
                if instant > after_utc and (best is None or instant < best):
                    best = instant
            if best is not None and naive > best.astimezone(zone).replace(tzinfo=None) + timedelta(
                hours=3
            ):
                break
        return None if best is None else pendulum.instance(best).in_timezone("UTC")

    def _instants(self, naive: datetime, zone: ZoneInfo) -> list[datetime]:
        first = naive.replace(tzinfo=zone, fold=0).astimezone(UTC)
        second = naive.replace(tzinfo=zone, fold=1).astimezone(UTC)
        if first == second or first.astimezone(zone).replace(tzinfo=None) != naive:
            # One instant, or a wall time inside a DST gap: fold=0 reads it with the offset
            # before the gap, which lands just after the gap.
            return [first]
        hour_field = self._cron.split()[1]
        return [first, second] if hour_field.startswith("*") else [first]


@dataclass
class IntervalSchedule(Schedule):
    """Every ``interval`` from ``anchor`` (absolute time, so DST does not move it)."""

    interval: timedelta
    anchor: datetime = _EPOCH

    def __post_init__(self) -> None:
        if self.interval <= timedelta(0):
            raise ScheduleError(f"a schedule interval must be positive, got {self.interval}")
        self.anchor = to_utc(self.anchor)

    def __str__(self) -> str:
        return f"every {self.interval}"

    def next_after(self, after: datetime) -> pendulum.DateTime | None:
        after = to_utc(after)
        if after < self.anchor:
            return self.anchor
        elapsed = timedelta(seconds=(after - self.anchor).total_seconds())
        return self.anchor + self.interval * (elapsed // self.interval + 1)


@dataclass
class ExplicitSchedule(Schedule):
    """A fixed list of instants (naive ones are read in ``timezone``)."""

    instants: list[Any]
    timezone: str = "UTC"

    def __post_init__(self) -> None:
        self.instants = sorted({to_utc(t, self.timezone) for t in self.instants})

    def __str__(self) -> str:
        return f"{len(self.instants)} explicit time(s)"

    def next_after(self, after: datetime) -> pendulum.DateTime | None:
        after = to_utc(after)
        return next((t for t in self.instants if t > after), None)


@dataclass
class MultiSchedule(Schedule):
    """Several schedules at once; a time due in more than one runs once."""

    parts: list[Schedule]

    def __str__(self) -> str:
        return " + ".join(str(p) for p in self.parts)

    def next_after(self, after: datetime) -> pendulum.DateTime | None:
        found = [t for t in (p.next_after(after) for p in self.parts) if t is not None]
        return min(found) if found else None


@dataclass
class TimetableSchedule(Schedule):
    """An Airflow-style timetable; ``serve`` and ``backfill`` walk its ``next_dagrun_info``."""

    timetable: Any

    def __str__(self) -> str:
        return str(getattr(self.timetable, "summary", None) or type(self.timetable).__name__)

    def next_after(self, after: datetime) -> pendulum.DateTime | None:
        """The first run start after ``after``, of the runs it schedules from then (a preview)."""
        after = to_utc(after)
        restriction = TimeRestriction(after, None, True)
        for info in iter_dagrun_infos(self.timetable, restriction, now=after, limit=1000):
            if info.run_after > after:
                return pendulum.instance(info.run_after).in_timezone("UTC")
        return None


def parse_schedule(value: Any, timezone: Any = None, anchor: Any = None) -> Schedule | None:
    """A :class:`Schedule` from what a user writes, or None for no schedule.

    Accepts: None (or ``"@once"``-less ``"None"``), a cron string or preset, a ``timedelta``,
    a list of datetimes (an explicit schedule), a :class:`Schedule`, or a tuple/list mixing
    these (several schedules). Naive times and cron expressions use ``timezone`` (default UTC);
    intervals count from ``anchor`` (default 1970-01-01 UTC).

    Raises:
        ScheduleError: the value is none of these.
    """
    if value is None or (isinstance(value, str) and value.strip().lower() in ("", "none")):
        return None
    if isinstance(value, Schedule):
        return value
    if is_timetable(value):
        return TimetableSchedule(value)
    zone = _zone(timezone).key
    if isinstance(value, str):
        if value.strip() == "@once":
            return TimetableSchedule(OnceTimetable())
        if value.strip() == "@continuous":
            return TimetableSchedule(ContinuousTimetable())
        return CronSchedule(value, zone)
    if isinstance(value, timedelta):
        return IntervalSchedule(value, to_utc(anchor, zone) if anchor is not None else _EPOCH)
    if isinstance(value, list | tuple | set | frozenset):
        items = list(value)
        if items and all(isinstance(i, datetime | date | str) for i in items):
            if not all(isinstance(i, str) for i in items) or all(
                _looks_like_date(i) for i in items
            ):
                return ExplicitSchedule(items, zone)
        parts = [parse_schedule(i, zone, anchor) for i in items]
        parts = [p for p in parts if p is not None]
        if not parts:
            return None
        return parts[0] if len(parts) == 1 else MultiSchedule(parts)
    raise ScheduleError(
        f"cannot use {value!r} as a schedule: give a cron string or preset, a timedelta, "
        "a list of datetimes, several of these in a list, or None"
    )


def _looks_like_date(text: Any) -> bool:
    return isinstance(text, str) and text[:1].isdigit() and "-" in text


@dataclass
class ScheduleSpec:
    """A flow's scheduling: what is due, and the window and catch-up policy around it."""

    schedule: Schedule | None
    start_date: pendulum.DateTime | None = None
    end_date: pendulum.DateTime | None = None
    catchup: bool = False
    assets: BaseAsset | None = None  # runs also start when asset events satisfy this

    @property
    def timetable(self) -> Any:
        """The timetable that schedules the flow's runs, if its schedule is one."""
        return self.schedule.timetable if isinstance(self.schedule, TimetableSchedule) else None

    def next_info(self, last: DataInterval | None, now: datetime) -> DagRunInfo | None:
        """The timetable's next run after the one that covered ``last``, the clock at ``now``."""
        restriction = TimeRestriction(self.start_date, self.end_date, self.catchup)
        with frozen_now(to_utc(now)):
            return self.timetable.next_dagrun_info(
                last_automated_data_interval=last, restriction=restriction
            )

    def infos(self, start: datetime, end: datetime) -> Iterator[DagRunInfo]:
        """A backfill's runs: the timetable's runs from ``start`` to ``end``, caught up.

        As Airflow 3's backfill: the range is the restriction, the start date is not.
        """
        restriction = TimeRestriction(to_utc(start), to_utc(end), True)
        yield from iter_dagrun_infos(self.timetable, restriction, now=to_utc(end))

    def next_after(self, after: datetime) -> pendulum.DateTime | None:
        """The first due time after ``after`` inside the start/end window."""
        if self.schedule is None:
            return None
        after = to_utc(after)
        if self.start_date is not None and after < self.start_date:
            after = self.start_date - timedelta(microseconds=1)
        t = self.schedule.next_after(after)
        if t is None or (self.end_date is not None and t > self.end_date):
            return None
        return t

    def times(self, start: datetime, end: datetime) -> Iterator[pendulum.DateTime]:
        """Due times in ``[start, end]`` inside the window."""
        t = self.next_after(to_utc(start) - timedelta(microseconds=1))
        end = to_utc(end)
        while t is not None and t <= end:
            yield t
            t = self.next_after(t)


_UNSET: Any = object()


def airflow_schedule(
    schedule: Any = _UNSET,
    schedule_interval: Any = _UNSET,
    start_date: Any = None,
    end_date: Any = None,
    catchup: bool | None = None,
    timezone: Any = None,
    default_schedule: Any = None,
) -> ScheduleSpec:
    """Map an Airflow DAG's scheduling arguments onto a :class:`ScheduleSpec`.

    ``schedule`` (2.4+) and ``schedule_interval`` (1.10/2.x) are the same thing; giving both is
    an error, as in Airflow. Cron strings and presets are read in the time zone of
    ``start_date`` (Airflow's rule) unless ``timezone`` is given; a timedelta counts from
    ``start_date``. ``catchup`` defaults to False (Airflow 3); ``default_schedule`` is what an
    absent schedule means (None in Airflow 3; pass ``timedelta(days=1)`` for Airflow 2).
    A timetable (Airflow's, or a subclass) schedules as it says; assets, asset conditions and
    ``AssetOrTimeSchedule`` go to :attr:`ScheduleSpec.assets`.
    """
    if schedule is not _UNSET and schedule_interval is not _UNSET:
        raise ScheduleError("give schedule or schedule_interval, not both (as in Airflow)")
    value = schedule if schedule is not _UNSET else schedule_interval
    if value is _UNSET:
        value = default_schedule
    zone = timezone or _zone_of(start_date) or "UTC"
    assets, value = _split_assets(value)
    if not _is_time_schedule(value):
        raise ScheduleError(
            f"schedule {value!r} is not a time schedule: use a cron string, a timedelta, a "
            "timetable, assets (or a condition of them) or None"
        )
    start = to_utc(start_date, zone) if start_date is not None else None
    return ScheduleSpec(
        parse_schedule(value, zone, anchor=start),
        start,
        to_utc(end_date, zone) if end_date is not None else None,
        bool(catchup) if catchup is not None else False,
        assets,
    )


def _split_assets(value: Any) -> tuple[BaseAsset | None, Any]:
    """(asset condition, time schedule) of a schedule value."""
    condition = asset_condition(value)
    if condition is None:
        return None, value
    return condition, value.timetable if isinstance(value, AssetOrTimeSchedule) else None


def _zone_of(value: Any) -> str | None:
    tz = getattr(value, "tzinfo", None)
    if tz is None:
        return None
    name = getattr(tz, "name", None) or getattr(tz, "key", None)
    return name if name and "+" not in name else None


def _is_time_schedule(value: Any) -> bool:
    if value is None or isinstance(value, str | timedelta | Schedule) or is_timetable(value):
        return True
    if isinstance(value, list | tuple | set | frozenset):
        return all(isinstance(i, datetime | date | str | timedelta | Schedule) for i in value)
    return False


def flow_schedule(flow: Any) -> ScheduleSpec:
    """The :class:`ScheduleSpec` of a runtime Flow (or an object with the same attributes).

    A flow may name its zone with ``Flow(..., timezone="Europe/Amsterdam")``; otherwise the
    zone of its ``start_date`` is used, then UTC.

    Raises:
        ScheduleError: naming the flow, when its schedule cannot be read.
    """
    meta = getattr(flow, "meta", {}) or {}
    start_date = getattr(flow, "start_date", None)
    zone = meta.get("timezone") or _zone_of(start_date) or "UTC"
    try:
        assets, value = _split_assets(getattr(flow, "schedule", None))
        return ScheduleSpec(
            parse_schedule(value, zone, anchor=start_date),
            to_utc(start_date, zone) if start_date is not None else None,
            to_utc(flow.end_date, zone) if getattr(flow, "end_date", None) is not None else None,
            bool(getattr(flow, "catchup", False)),
            assets,
        )
    except ScheduleError as exc:
        raise ScheduleError(f"flow {flow.name!r}: {exc}") from None


def describe(spec: ScheduleSpec) -> str:
    """A short human description, for listings."""
    parts = [] if spec.schedule is None else [str(spec.schedule)]
    if spec.assets is not None:
        parts.append(f"on {spec.assets!r}")
    return " or ".join(parts) or "none"


def take(times: Iterable[pendulum.DateTime], n: int) -> list[pendulum.DateTime]:
    """The first ``n`` of ``times`` (a helper for previews and tests)."""
    out = []
    for t in times:
        if len(out) >= n:
            break
        out.append(t)
    return out
