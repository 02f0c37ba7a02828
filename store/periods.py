"""Plan periods: calendar months in the workspace's timezone."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError


class UnknownTimezone(ValueError):
    """The timezone name is not in the IANA database."""


@lru_cache(maxsize=256)
def zone(name: str) -> ZoneInfo:
    """The ZoneInfo for an IANA name."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise UnknownTimezone(f"unknown timezone {name!r}") from exc


def period_of(moment: datetime, tz: str) -> str:
    """The period (`YYYY-MM`) that `moment` falls in, in timezone `tz`."""
    local = moment.astimezone(zone(tz))
    return f"{local.year:04d}-{local.month:02d}"


def current_period(tz: str) -> str:
    """The period now, in timezone `tz`."""
    return period_of(datetime.now(UTC), tz)


def next_period(period: str) -> str:
    """The period after `period`."""
    year, month = (int(p) for p in period.split("-"))
    return f"{year + month // 12:04d}-{month % 12 + 1:02d}"


def period_start(period: str, tz: str) -> datetime:
    """The first instant of `period` in timezone `tz`, as an aware datetime."""
    year, month = (int(p) for p in period.split("-"))
    return datetime(year, month, 1, tzinfo=zone(tz))


def last_day(period: str) -> date:
    """The last calendar day of `period`."""
    year, month = (int(p) for p in next_period(period).split("-"))
    return date(year, month, 1) - timedelta(days=1)


def days_to_next(moment: datetime, tz: str) -> float:
    """Days (fractional) from `moment` to the start of the next period in `tz`."""
    start = period_start(next_period(period_of(moment, tz)), tz)
    return (start - moment).total_seconds() / 86400
