"""Working days in mainland China: the week's working days, the public holidays and the
make-up working days (调休) of each year, and a site's own days off.

The State Council fixes each year's holidays and make-up days by notice, usually in
November for the next year: they follow no rule that can be computed (National Day 2026
ran 1-7 October with Sunday 20 September and Saturday 10 October worked). The tables come
from the `chinese-calendar` library, which tracks those notices; a site's calendar file adds
a year the installed library does not know yet, and the site's local days off.

A day in a year nobody knows falls back to the weekly pattern, and is loud about it:
`WorkCalendar.unknown_years` says which years are guessed, and the API logs them, shows
them on /health and in the metrics (`api.sites.Sites.calendar_gaps`).
"""

from __future__ import annotations

import functools
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, tzinfo

import chinese_calendar

from estatewatch.config.calendar import SlaPolicy, WorkCalendarConfig

CN_HOLIDAYS: frozenset[date] = frozenset(chinese_calendar.holidays)
CN_WORKDAYS: frozenset[date] = frozenset(chinese_calendar.workdays)
CN_YEARS: frozenset[int] = frozenset(day.year for day in CN_HOLIDAYS)
"""The years whose schedule the installed library knows."""

MAX_SCAN = 3660
"""Days `add_working_days` looks ahead before it gives up (a calendar with no working day)."""


@dataclass(frozen=True, slots=True)
class WorkCalendar:
    """Which local dates are working days at a site."""

    weekdays: frozenset[int]
    """The week's working days, ISO numbers from 0 = Monday."""
    holidays: frozenset[date] = frozenset()
    workdays: frozenset[date] = frozenset()
    """Make-up working days: worked though they fall on a weekend."""
    days_off: frozenset[date] = frozenset()
    """The site's own days off: never working days."""
    known_years: frozenset[int] | None = None
    """Years whose holidays are known; None: holidays are not kept (the weekly pattern is
    the whole truth, by the site's choice)."""

    @classmethod
    def of(cls, policy: SlaPolicy) -> WorkCalendar:
        """The calendar a site's SLA policy describes (built once per distinct policy)."""
        return _calendar(policy.calendar.model_dump_json(), tuple(policy.working_days))

    @classmethod
    def _build(cls, config: WorkCalendarConfig, weekdays: tuple[int, ...]) -> WorkCalendar:
        site_holidays = {d for y in config.years.values() for d in y.holidays}
        site_workdays = {d for y in config.years.values() for d in y.workdays}
        site_years = set(config.years)
        if config.public_holidays == "cn":
            # The site's own schedule of a year replaces the library's for that year.
            holidays = {d for d in CN_HOLIDAYS if d.year not in site_years} | site_holidays
            workdays = {d for d in CN_WORKDAYS if d.year not in site_years} | site_workdays
            known: frozenset[int] | None = CN_YEARS | site_years
        else:
            holidays, workdays, known = site_holidays, site_workdays, None
        return cls(
            weekdays=frozenset(weekdays),
            holidays=frozenset(holidays),
            workdays=frozenset(workdays),
            days_off=frozenset(config.days_off),
            known_years=known,
        )

    def knows(self, year: int) -> bool:
        return self.known_years is None or year in self.known_years

    def unknown_years(self, years: Iterable[int]) -> list[int]:
        """Those of `years` whose working days are only guessed from the weekly pattern."""
        return sorted({y for y in years if not self.knows(y)})

    def is_working_day(self, day: date) -> bool:
        if day in self.days_off:
            return False
        if day in self.workdays:
            return True
        if day in self.holidays:
            return False
        return day.weekday() in self.weekdays

    def add_working_days(self, start: datetime, days: int, tz: tzinfo) -> datetime:
        """The same local time of day on the `days`-th working day after `start`'s local
        date (Friday 10:00 + 2 working days = Tuesday 10:00; Wednesday 30 September 2026
        + 2 = Friday 9 October, after the National Day week)."""
        if not self.weekdays & set(range(7)) and not self.workdays:
            raise ValueError("the SLA policy has no working days")
        local = start.astimezone(tz)
        day, counted = local.date(), 0
        while counted < days:
            day += timedelta(days=1)
            if (day - local.date()).days > MAX_SCAN:
                raise ValueError(f"no {days} working days within {MAX_SCAN} days of {local}")
            if self.is_working_day(day):
                counted += 1
        return datetime.combine(day, local.time(), tzinfo=tz).astimezone(UTC)


@functools.lru_cache(maxsize=64)
def _calendar(config_json: str, weekdays: tuple[int, ...]) -> WorkCalendar:
    return WorkCalendar._build(WorkCalendarConfig.model_validate_json(config_json), weekdays)
