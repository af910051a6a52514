"""The calendar the clock-driven tests stand on, derived from today: a fixed date is
overtaken by a retention (InfluxDB refuses points older than its 30 days), a 2000-2100 bound,
a year end or a holiday table; a date derived from today never is.

`MONDAY` is the Monday of the week before last (`estatewatch.clock.recent_monday`, where a
`FakeClock` starts unless told): a whole week behind us, so nothing a test writes lies in
the future, well inside every retention, and always a Monday, so the tests' shifts, working
days and weekly samples land on the same weekdays on any date.

`EW_TEST_TODAY=YYYY-MM-DD` pretends today is another day: `scripts/test` runs the
clock-driven suites once more a year ahead with it, so a test that holds only this year
fails now, not next year.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta, tzinfo
from zoneinfo import ZoneInfo

from estatewatch.clock import recent_monday

SHANGHAI = ZoneInfo("Asia/Shanghai")

T0 = recent_monday()
"""A Monday 08:00 UTC 7 to 13 days ago: 16:00 in Shanghai, the day shift."""

MONDAY = T0.date()


def day(offset: int = 0) -> date:
    """`MONDAY` + `offset` days (`day(4)` is that week's Friday)."""
    return MONDAY + timedelta(days=offset)


def utc(days: int = 0, hour: int = 0, minute: int = 0, second: int = 0, ms: int = 0) -> datetime:
    """A UTC time `days` after `MONDAY`."""
    return datetime.combine(day(days), time(hour, minute, second, ms * 1000), UTC)


def local(
    days: int = 0, hour: int = 0, minute: int = 0, *, tz: tzinfo | None = SHANGHAI
) -> datetime:
    """A wall-clock time in Shanghai `days` after `MONDAY` (naive with `tz=None`)."""
    return datetime.combine(day(days), time(hour, minute), tz)


def iso(offset: int = 0) -> str:
    """`day(offset)` as YYYY-MM-DD."""
    return day(offset).isoformat()
