"""Time and weekday sensors and the date-time and weekday branches, as Airflow's standard
provider has them.

``deferrable=True`` (and the ``*Async`` classes) hand the wait to Airflow's triggerer; dagshift
has none, so those sensors wait in the task the way the sensor's non-deferred path does, with
the deferred path's outcome: a deferrable TimeDeltaSensor whose moment has already passed
returns True (Airflow returns it before deferring), and a deferred wait that outlives
``timeout`` fails (or skips with ``soft_fail``) as the sensor's own timeout does.

The "now" these classes compare with is the wall clock unless ``use_task_logical_date``: a DAG
using them branches on when it runs, in Airflow as here.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable
from typing import Any

import pendulum

from dagshift.compat.exceptions import AirflowException
from dagshift.compat.operators import BaseBranchOperator, BaseSensorOperator
from dagshift.compat.utils import WeekDay

__all__ = [
    "BranchDateTimeOperator",
    "BranchDayOfWeekOperator",
    "DayOfWeekSensor",
    "TimeSensor",
    "TimeSensorAsync",
    "dag_timezone",
    "week_day_numbers",
]


def dag_timezone(op: Any) -> Any:
    """The DAG's time zone as Airflow derives it: its start date's, else UTC."""
    dag = getattr(op, "dag", None)
    tz = getattr(dag, "timezone", None)
    if tz is not None:
        return tz
    start = getattr(dag, "start_date", None)
    if isinstance(start, datetime.datetime) and start.tzinfo is not None:
        return pendulum.instance(start).timezone
    return pendulum.UTC


def week_day_numbers(week_day: Any) -> set[int]:
    """Airflow's ``WeekDay.validate_week_day``: a day name, a WeekDay or an iterable of them."""
    if isinstance(week_day, str):
        return {WeekDay.get_weekday_number(week_day)}
    if isinstance(week_day, WeekDay):
        return {int(week_day)}
    if isinstance(week_day, Iterable) and all(isinstance(d, str | WeekDay) for d in week_day):
        return {int(WeekDay.convert(d)) for d in week_day}
    raise TypeError(
        f"Unsupported Type for week_day parameter: {type(week_day)}.Input should be iterable "
        "type:str, set, list, dict or Weekday enum type"
    )


def _run_date(context: dict[str, Any]) -> datetime.datetime:
    logical = context.get("logical_date")
    if logical:
        return logical
    return context["dag_run"].run_after


class TimeSensor(BaseSensorOperator):
    """Waits until ``target_time`` (a time of day in the DAG's zone) of the day the DAG was
    parsed, as Airflow fixes it when the operator is built."""

    def __init__(
        self,
        *,
        target_time: datetime.time,
        deferrable: bool = False,
        start_from_trigger: bool = False,
        end_from_trigger: bool = False,
        trigger_kwargs: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        tz = dag_timezone(self)
        aware = datetime.datetime.combine(datetime.datetime.now(tz), target_time, tz)
        self.target_time = target_time
        self.target_datetime = pendulum.instance(aware).in_timezone("UTC")
        self.deferrable = deferrable
        self.start_from_trigger = start_from_trigger
        self.end_from_trigger = end_from_trigger

    def poke(self, context: dict[str, Any]) -> bool:
        return pendulum.now("UTC") > self.target_datetime


class TimeSensorAsync(TimeSensor):
    """Airflow's deprecated name of ``TimeSensor(deferrable=True)``."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(deferrable=True, **kwargs)


class DayOfWeekSensor(BaseSensorOperator):
    """True on the given week day(s): of the wall clock, or of the run's logical date with
    ``use_task_logical_date``."""

    def __init__(
        self,
        *,
        week_day: str | Iterable[str] | WeekDay | Iterable[WeekDay],
        use_task_logical_date: bool = False,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.week_day = week_day
        self.use_task_logical_date = use_task_logical_date
        self._week_day_num = week_day_numbers(week_day)

    def poke(self, context: dict[str, Any]) -> bool:
        if self.use_task_logical_date:
            return _run_date(context).isoweekday() in self._week_day_num
        return pendulum.now("UTC").isoweekday() in self._week_day_num


class BranchDayOfWeekOperator(BaseBranchOperator):
    """Follows ``follow_task_ids_if_true`` on the given week day(s) (of the wall clock in the
    DAG's zone, or of the logical date), else ``follow_task_ids_if_false``."""

    def __init__(
        self,
        *,
        follow_task_ids_if_true: str | Iterable[str],
        follow_task_ids_if_false: str | Iterable[str],
        week_day: str | Iterable[str] | WeekDay | Iterable[WeekDay],
        use_task_logical_date: bool = False,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.follow_task_ids_if_true = follow_task_ids_if_true
        self.follow_task_ids_if_false = follow_task_ids_if_false
        self.week_day = week_day
        self.use_task_logical_date = use_task_logical_date
        self._week_day_num = week_day_numbers(week_day)

    def choose_branch(self, context: dict[str, Any]) -> str | Iterable[str]:
        if self.use_task_logical_date:
            now = _run_date(context)
        else:
            now = pendulum.now(dag_timezone(self))
        if now.isoweekday() in self._week_day_num:
            return self.follow_task_ids_if_true
        return self.follow_task_ids_if_false


class BranchDateTimeOperator(BaseBranchOperator):
    """Follows ``follow_task_ids_if_true`` when now (or the logical date) lies between
    ``target_lower`` and ``target_upper`` (datetimes, or times of that day; an upper time
    before the lower one is the next day's), else ``follow_task_ids_if_false``."""

    def __init__(
        self,
        *,
        follow_task_ids_if_true: str | Iterable[str],
        follow_task_ids_if_false: str | Iterable[str],
        target_lower: datetime.datetime | datetime.time | None,
        target_upper: datetime.datetime | datetime.time | None,
        use_task_logical_date: bool = False,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        if target_lower is None and target_upper is None:
            raise AirflowException(
                "Both target_upper and target_lower are None. At least one must be defined to "
                "be compared to the current datetime"
            )
        self.target_lower = target_lower
        self.target_upper = target_upper
        self.follow_task_ids_if_true = follow_task_ids_if_true
        self.follow_task_ids_if_false = follow_task_ids_if_false
        self.use_task_logical_date = use_task_logical_date

    def choose_branch(self, context: dict[str, Any]) -> str | Iterable[str]:
        now = _run_date(context) if self.use_task_logical_date else pendulum.now("UTC")
        lower, upper = target_times_as_dates(now, self.target_lower, self.target_upper)
        tz = dag_timezone(self)
        lower, upper = _aware(lower, tz), _aware(upper, tz)
        if upper is not None and upper < now:
            return self.follow_task_ids_if_false
        if lower is not None and lower > now:
            return self.follow_task_ids_if_false
        return self.follow_task_ids_if_true


def _aware(value: datetime.datetime | None, tz: Any) -> datetime.datetime | None:
    """Airflow's ``timezone.coerce_datetime``: a naive datetime is taken in ``tz``."""
    if value is None:
        return None
    if value.tzinfo is None:
        return pendulum.instance(value.replace(tzinfo=None), tz=tz)
    return pendulum.instance(value)


def target_times_as_dates(
    base_date: datetime.datetime,
    lower: datetime.datetime | datetime.time | None,
    upper: datetime.datetime | datetime.time | None,
) -> tuple[datetime.datetime | None, datetime.datetime | None]:
    """Times of day made datetimes on ``base_date``'s day, as Airflow combines them."""
    if isinstance(lower, datetime.datetime) and isinstance(upper, datetime.datetime):
        return lower, upper
    if lower is not None and not isinstance(lower, datetime.datetime):
        lower = datetime.datetime.combine(base_date, lower)
    if upper is not None and not isinstance(upper, datetime.datetime):
        upper = datetime.datetime.combine(base_date, upper)
    if lower is None or upper is None:
        return lower, upper
    if upper < lower:
        upper += datetime.timedelta(days=1)
    return lower, upper
