"""Stepping through a cron expression or a fixed delta, as Airflow's timetables do.

Cron times are wall times of the timetable's zone (croniter works on naive times). For a cron
that runs at least once an hour (hour field ``*``), Airflow steps by the wall-clock delta from
the aware time instead, so a repeated hour at the end of DST is run twice and a skipped one not
at all; every other cron maps each wall time to its instant, taking the second occurrence of a
repeated wall time. Both rules are Airflow 3.3's ``_cron.py``, kept as it has them.
"""

from __future__ import annotations

import datetime
from typing import Any

from croniter import CroniterBadCronError, CroniterBadDateError, croniter
from pendulum import DateTime

from dagshift.runtime.timetables.base import (
    TimetableInvalid,
    convert_to_utc,
    make_aware,
    make_naive,
    parse_timezone,
)

__all__ = ["CRON_PRESETS", "CronMixin", "DeltaMixin"]

CRON_PRESETS = {
    "@hourly": "0 * * * *",
    "@daily": "0 0 * * *",
    "@weekly": "0 0 * * 0",
    "@monthly": "0 0 1 * *",
    "@quarterly": "0 0 1 */3 *",
    "@yearly": "0 0 1 1 *",
}


class CronMixin:
    """A cron expression (or preset) in a time zone."""

    def __init__(self, cron: str, timezone: Any) -> None:
        self._expression = CRON_PRESETS.get(cron, cron)
        self._timezone = parse_timezone(timezone)
        self.description = self._expression
        try:
            if len(croniter(self._expression).expanded) > 5:
                raise TimetableInvalid(f"{cron!r}: give five cron fields, not six")
        except (CroniterBadCronError, CroniterBadDateError) as exc:
            # Airflow fails this DAG at parse time (timetable.validate()) with croniter's reason.
            raise TimetableInvalid(f"invalid cron expression {cron!r}: {exc}") from None

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, type(self)):
            return NotImplemented
        return (self._expression, self._timezone) == (other._expression, other._timezone)

    def __hash__(self) -> int:
        return hash((self._expression, self._timezone))

    @property
    def summary(self) -> str:
        return self._expression

    def _every_hour(self, cron: croniter) -> bool:
        return cron.expanded[1] == ["*"]

    def _get_next(self, current: DateTime) -> DateTime:
        """The first cron time after ``current``, DST handled as Airflow does."""
        naive = make_naive(current, self._timezone)
        cron = croniter(self._expression, start_time=naive)
        scheduled = cron.get_next(datetime.datetime)
        if not self._every_hour(cron):
            return convert_to_utc(make_aware(scheduled, self._timezone))
        return convert_to_utc(current.in_timezone(self._timezone) + (scheduled - naive))

    def _get_prev(self, current: DateTime) -> DateTime:
        """The last cron time before ``current``, DST handled as Airflow does."""
        naive = make_naive(current, self._timezone)
        cron = croniter(self._expression, start_time=naive)
        scheduled = cron.get_prev(datetime.datetime)
        if not self._every_hour(cron):
            return convert_to_utc(make_aware(scheduled, self._timezone))
        return convert_to_utc(current.in_timezone(self._timezone) - (naive - scheduled))

    def _align_to_next(self, current: DateTime) -> DateTime:
        """``current`` if it is a cron time, else the next one."""
        next_time = self._get_next(current)
        return next_time if self._get_prev(next_time) != current else current

    def _align_to_prev(self, current: DateTime) -> DateTime:
        """``current`` if it is a cron time, else the previous one."""
        prev_time = self._get_prev(current)
        return prev_time if self._get_next(prev_time) != current else current


class DeltaMixin:
    """A fixed ``timedelta`` or ``relativedelta`` between runs."""

    def __init__(self, delta: Any) -> None:
        self._delta = delta
        now = datetime.datetime.now()
        if now + delta <= now:
            raise TimetableInvalid(f"schedule interval must be positive, not {delta!r}")

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, type(self)):
            return NotImplemented
        return self._delta == other._delta

    def __hash__(self) -> int:
        return hash(self._delta)

    @property
    def summary(self) -> str:
        return str(self._delta)

    def _get_next(self, current: DateTime) -> DateTime:
        return convert_to_utc(current + self._delta)

    def _get_prev(self, current: DateTime) -> DateTime:
        return convert_to_utc(current - self._delta)

    def _align_to_next(self, current: DateTime) -> DateTime:
        return current

    def _align_to_prev(self, current: DateTime) -> DateTime:
        return current
