"""Calendar arithmetic of the availability ledger: intervals cut at local midnights.

Contracts count availability per local calendar day and month, so an interval from 23:00 to
02:00 is 3600 s on one day and 7200 s on the next. Pure functions, no IO.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo


def split_by_day(start: float, end: float, tz: ZoneInfo) -> list[tuple[str, float]]:
    """[(YYYY-MM-DD, seconds)] covering [start, end) (epoch seconds), cut at local midnights."""
    if end <= start:
        return []
    parts: list[tuple[str, float]] = []
    cursor = start
    while cursor < end:
        local = datetime.fromtimestamp(cursor, tz)
        next_midnight = day_start(local.date() + timedelta(days=1), tz)
        stop = min(end, next_midnight)
        parts.append((local.date().isoformat(), stop - cursor))
        cursor = stop
    return parts


def day_start(day: date, tz: ZoneInfo) -> float:
    """Epoch seconds of local midnight starting `day`."""
    return datetime(day.year, day.month, day.day, tzinfo=tz).timestamp()


def month_days(day: date) -> tuple[date, date]:
    """The first day of `day`'s month, and `day`: the month-to-date range of a report."""
    return day.replace(day=1), day
