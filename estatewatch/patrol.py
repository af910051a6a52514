"""Patrol windows and shifts in one place: the rounds of a site between two times, the shift
running at a time, and where a scan falls (in a round, late for one, early for the next).

The rules engine (missed and late checkpoints), the API (shift completion, refusing early
scans) and the guard simulator (when to walk) all ask these questions; they must agree, so
they all ask here. Times are aware datetimes; windows and shifts are written in the site's
local time ("21:00" means 21:00 in Shanghai) and compared there.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, tzinfo

from estatewatch.config.patrol import PatrolRoute, Shift
from estatewatch.config.site import SiteConfig

DAY = timedelta(days=1)


@dataclass(frozen=True, slots=True)
class Round:
    """One occurrence of a route's window: the round due between `start` and `end`.
    `index` is the window's position among the route's windows of a day."""

    route: PatrolRoute
    shift: str
    start: datetime
    end: datetime
    index: int = 0

    @property
    def route_id(self) -> str:
        return self.route.id


def _on(day: date, at: time, tz: tzinfo) -> datetime:
    return datetime.combine(day, at, tzinfo=tz)


def _longest(route: PatrolRoute) -> timedelta:
    return max(w.duration for s in route.schedule for w in s.windows)


def _daily(route: PatrolRoute, tz: tzinfo, first: date, last: date) -> Iterator[Round]:
    day = first
    while day <= last:
        index = 0
        for sched in route.schedule:
            for window in sched.windows:
                start = _on(day, window.start, tz)
                yield Round(route, sched.shift, start, start + window.duration, index)
                index += 1
        day += DAY


def route_rounds(route: PatrolRoute, tz: tzinfo, lo: datetime, hi: datetime) -> list[Round]:
    """Rounds of `route` that start in [lo, hi), earliest first."""
    first = lo.astimezone(tz).date() - DAY
    last = hi.astimezone(tz).date() + DAY
    found = [r for r in _daily(route, tz, first, last) if lo <= r.start < hi]
    return sorted(found, key=lambda r: (r.start, r.index))


def rounds_between(
    routes: Iterable[PatrolRoute], tz: tzinfo, lo: datetime, hi: datetime
) -> list[Round]:
    """Rounds of every route that start in [lo, hi), by start then route."""
    found = [r for route in routes for r in route_rounds(route, tz, lo, hi)]
    return sorted(found, key=lambda r: (r.start, r.route.id, r.index))


def rounds_ending(route: PatrolRoute, tz: tzinfo, lo: datetime, hi: datetime) -> list[Round]:
    """Rounds of `route` that end in (lo, hi], in order of their end."""
    found = [r for r in route_rounds(route, tz, lo - _longest(route), hi) if lo < r.end <= hi]
    return sorted(found, key=lambda r: (r.end, r.start))


def round_at(route: PatrolRoute, tz: tzinfo, moment: datetime) -> Round | None:
    """The latest round of `route` that started at or before `moment` (within two days)."""
    found = route_rounds(route, tz, moment - 2 * DAY, moment + timedelta(microseconds=1))
    return found[-1] if found else None


def open_rounds(routes: Iterable[PatrolRoute], tz: tzinfo, moment: datetime) -> list[Round]:
    """Rounds open at `moment`: started before it and not yet over."""
    found: list[Round] = []
    for route in routes:
        found += [
            r for r in route_rounds(route, tz, moment - _longest(route), moment) if moment < r.end
        ]
    return sorted(found, key=lambda r: (r.start, r.route.id))


def next_rounds(routes: Iterable[PatrolRoute], tz: tzinfo, after: datetime) -> list[Round]:
    """The next round of every window of every route, strictly after `after`, earliest
    first."""
    found: list[Round] = []
    for route in routes:
        upcoming = route_rounds(route, tz, after + timedelta(microseconds=1), after + 2 * DAY)
        firsts: dict[int, Round] = {}
        for r in upcoming:
            firsts.setdefault(r.index, r)
        found += firsts.values()
    return sorted(found, key=lambda r: (r.start, r.route.id))


# --- shifts ------------------------------------------------------------------------------


def shift_bounds(shift: Shift, day: date, tz: tzinfo) -> tuple[datetime, datetime]:
    """The shift that starts on `day` (local); one that crosses midnight ends the next day."""
    start = _on(day, shift.start, tz)
    end_day = day + DAY if shift.end <= shift.start else day
    return start, _on(end_day, shift.end, tz)


def shift_occurrence(
    shift: Shift, tz: tzinfo, moment: datetime
) -> tuple[date, datetime, datetime] | None:
    """The occurrence of `shift` that contains `moment`: its start date, start and end."""
    today = moment.astimezone(tz).date()
    for day in (today - DAY, today):
        start, end = shift_bounds(shift, day, tz)
        if start <= moment < end:
            return day, start, end
    return None


def shift_at(site: SiteConfig, tz: tzinfo, moment: datetime) -> tuple[Shift, date] | None:
    """The shift running at `moment`, with the local date it started on."""
    for shift in site.shifts:
        found = shift_occurrence(shift, tz, moment)
        if found is not None:
            return shift, found[0]
    return None


def rounds_of_shift(site: SiteConfig, shift: Shift, day: date, tz: tzinfo) -> list[Round]:
    """Every round scheduled in the shift that starts on `day`. A window earlier in the day
    than the start of a shift crossing midnight belongs to the next morning."""
    start, _ = shift_bounds(shift, day, tz)
    found = [r for r in rounds_between(site.routes, tz, start, start + DAY) if r.shift == shift.id]
    return sorted(found, key=lambda r: (r.start, r.route.id))


# --- where a scan falls ------------------------------------------------------------------


class Placement(enum.StrEnum):
    IN_ROUND = "in_round"
    LATE = "late"
    EARLY = "early"
    OUTSIDE = "outside"


@dataclass(frozen=True, slots=True)
class Where:
    placement: Placement
    round: Round | None


def place(route: PatrolRoute, tz: tzinfo, moment: datetime, *, grace: timedelta) -> Where:
    """Where a scan of one of `route`'s checkpoints at `moment` falls: in an open round;
    late for the round that closed up to `grace` before (and nearer than the next one);
    early for a round that opens within `grace` (it proves nothing about that round, so it
    is refused); or outside every round."""
    last = round_at(route, tz, moment)
    if last is not None and moment < last.end:
        return Where(Placement.IN_ROUND, last)
    upcoming = next_rounds([route], tz, moment)
    nxt = upcoming[0] if upcoming else None
    since_end = moment - last.end if last is not None else None
    until_next = nxt.start - moment if nxt is not None else None
    if (
        since_end is not None
        and since_end <= grace
        and (until_next is None or since_end < until_next)
    ):
        return Where(Placement.LATE, last)
    if until_next is not None and until_next <= grace:
        return Where(Placement.EARLY, nxt)
    return Where(Placement.OUTSIDE, None)
