"""Small Airflow helpers: trigger rules, states, dates, timezone, apply_defaults."""

from __future__ import annotations

from datetime import datetime, timedelta
from enum import Enum, IntEnum, StrEnum
from typing import Any

import pendulum

from dagshift.runtime.state import TriggerRule

__all__ = [
    "DagRunState",
    "State",
    "TaskInstanceState",
    "TriggerRule",
    "apply_defaults",
    "days_ago",
    "normalize_trigger_rule",
]


_ALIASES = {"dummy": "always", "none_failed_or_skipped": "none_failed_min_one_success"}


def normalize_trigger_rule(rule: Any) -> str:
    """The runtime's name of an Airflow trigger rule (enum member, string or old alias)."""
    value = rule.value if isinstance(rule, Enum) else str(rule)
    return _ALIASES.get(value, value)


class TaskInstanceState(StrEnum):
    SUCCESS = "success"
    FAILED = "failed"
    SKIPPED = "skipped"
    UPSTREAM_FAILED = "upstream_failed"
    RUNNING = "running"
    QUEUED = "queued"
    SCHEDULED = "scheduled"
    UP_FOR_RETRY = "up_for_retry"
    REMOVED = "removed"


class DagRunState(StrEnum):
    SUCCESS = "success"
    FAILED = "failed"
    RUNNING = "running"
    QUEUED = "queued"


class State:
    """Airflow 1.10/2.x ``State`` constants."""

    SUCCESS = "success"
    FAILED = "failed"
    SKIPPED = "skipped"
    UPSTREAM_FAILED = "upstream_failed"
    RUNNING = "running"
    QUEUED = "queued"
    NONE = None
    finished = frozenset({"success", "failed", "skipped", "upstream_failed"})


def days_ago(n: int, hour: int = 0, minute: int = 0, second: int = 0, microsecond: int = 0):
    """Midnight (UTC) ``n`` days ago, as Airflow's ``days_ago``."""
    today = pendulum.now("UTC").replace(
        hour=hour, minute=minute, second=second, microsecond=microsecond
    )
    return today - timedelta(days=n)


def apply_defaults(func):
    """Airflow 1.10's decorator for operator constructors; defaults are applied anyway."""
    return func


# airflow.utils.timezone
def utcnow() -> pendulum.DateTime:
    return pendulum.now("UTC")


def make_aware(value: datetime, timezone: Any = None) -> datetime:
    if value.tzinfo is not None:
        return value
    return pendulum.instance(value, tz=timezone or "UTC")


def tz_datetime(*args: Any, **kwargs: Any) -> pendulum.DateTime:
    """``airflow.utils.timezone.datetime``: a datetime in UTC unless a tzinfo is given."""
    tz = kwargs.pop("tzinfo", None) or "UTC"
    return pendulum.instance(datetime(*args, **kwargs), tz=tz)


def parse(value: str, timezone: Any = None) -> pendulum.DateTime:
    return pendulum.parse(value, tz=timezone or "UTC")


def coerce_datetime(value: Any) -> Any:
    if value is None:
        return None
    return make_aware(value)


class WeekDay(IntEnum):
    """Days of the week, numbered as ISO does (Airflow's ``WeekDay``)."""

    MONDAY = 1
    TUESDAY = 2
    WEDNESDAY = 3
    THURSDAY = 4
    FRIDAY = 5
    SATURDAY = 6
    SUNDAY = 7

    @classmethod
    def get_weekday_number(cls, week_day_str: str) -> WeekDay:
        name = week_day_str.upper()
        if name not in cls.__members__:
            raise AttributeError(f'Invalid Week Day passed: "{week_day_str}"')
        return cls[name]

    @classmethod
    def convert(cls, day: Any) -> int:
        return day if isinstance(day, WeekDay) else cls.get_weekday_number(day)
