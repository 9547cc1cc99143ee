"""``airflow.sdk.timezone``: Airflow 3's timezone helpers, with its exact semantics.

Airflow 3 serves these from ``airflow.sdk._shared.timezones.timezone`` and initializes the
default time zone from ``[core] default_timezone`` (UTC when the option cannot be read); the
shim does the same through its own ``conf``. The semantics differ from Airflow 2's
``airflow.utils.timezone`` in small ways that users notice, kept here as Airflow 3 has them:
``datetime(...)`` is a plain ``datetime.datetime`` (not a pendulum one) in the default zone,
``utcnow()`` too; and the module has no ``make_aware`` (Airflow 3 does not export it).
"""

from __future__ import annotations

import datetime as dt

import pendulum
from pendulum.datetime import DateTime

from dagshift.compat.configuration import conf

__all__ = [
    "coerce_datetime",
    "convert_to_utc",
    "datetime",
    "from_timestamp",
    "initialize",
    "make_naive",
    "parse",
    "utc",
    "utcnow",
]

utc = pendulum.UTC
_default: dt.tzinfo = utc


def initialize(default_timezone: str) -> None:
    """Set the default time zone: an IANA name, ``"utc"``, or ``"system"`` (the local zone)."""
    global _default
    if default_timezone == "system":
        _default = pendulum.tz.local_timezone()
    else:
        _default = pendulum.timezone(default_timezone)


def is_localized(value: dt.datetime) -> bool:
    return value.utcoffset() is not None


def utcnow() -> dt.datetime:
    """The current time, aware, in UTC."""
    return dt.datetime.now(tz=utc)


def convert_to_utc(value: dt.datetime | None) -> DateTime | None:
    """``value`` in UTC as a pendulum DateTime; a naive one is read in the default zone."""
    if value is None:
        return value
    if not is_localized(value):
        value = pendulum.instance(value, _default)
    return pendulum.instance(value.astimezone(utc))


def _make_aware(value: dt.datetime | None, timezone: dt.tzinfo | None = None) -> dt.datetime | None:
    """A naive ``value`` read in ``timezone`` (default zone); an aware one is a ValueError."""
    if timezone is None:
        timezone = _default
    if not value:
        return None
    if is_localized(value):
        raise ValueError(f"make_aware expects a naive datetime, got {value}")
    # As Airflow: a wall time repeated when clocks go back means its second occurrence.
    value = value.replace(fold=1)
    localize = getattr(timezone, "localize", None)
    if localize is not None:  # pytz
        return localize(value)
    convert = getattr(timezone, "convert", None)
    if convert is not None:  # pendulum
        return convert(value)
    return value.replace(tzinfo=timezone)


def make_naive(value: dt.datetime, timezone: dt.tzinfo | None = None) -> dt.datetime:
    """The wall time of an aware ``value`` in ``timezone`` (default zone), naive."""
    if timezone is None:
        timezone = _default
    if value.utcoffset() is None:
        raise ValueError("make_naive() cannot be applied to a naive datetime")
    date = value.astimezone(timezone)
    return dt.datetime(
        date.year, date.month, date.day, date.hour, date.minute, date.second, date.microsecond
    )


def datetime(*args, **kwargs) -> dt.datetime:
    """``datetime.datetime(...)`` in the default zone unless ``tzinfo`` is given."""
    if "tzinfo" not in kwargs:
        kwargs["tzinfo"] = _default
    return dt.datetime(*args, **kwargs)


def parse(string: str, timezone: dt.tzinfo | None = None, *, strict: bool = False) -> DateTime:
    """An aware pendulum DateTime; a string without an offset is read in ``timezone``."""
    return pendulum.parse(string, tz=timezone or _default, strict=strict)


def coerce_datetime(v: dt.datetime | None, tz: dt.tzinfo | None = None) -> DateTime | None:
    """``v`` as an aware pendulum DateTime; an aware ``v`` keeps its own zone, not ``tz``."""
    if v is None:
        return None
    if isinstance(v, DateTime):
        return v if v.tzinfo else _make_aware(v, tz)
    return pendulum.instance(v if v.tzinfo else _make_aware(v, tz))


def from_timestamp(timestamp: float, tz: str | dt.tzinfo = utc) -> DateTime:
    """The moment ``timestamp`` (seconds since the epoch) in ``tz`` (a zone, a name, "local")."""
    result = coerce_datetime(dt.datetime.fromtimestamp(timestamp, tz=utc))
    if isinstance(tz, str) and tz.lower() == "local":
        tz = pendulum.tz.local_timezone()
    return result.in_timezone(tz)


def _initialize_from_conf() -> None:
    try:
        initialize(conf.get("core", "default_timezone"))
    except Exception:  # as Airflow: an unreadable or unknown zone falls back to UTC
        initialize("UTC")


_initialize_from_conf()
