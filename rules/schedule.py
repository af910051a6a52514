"""Local time for rules: active schedules, and patrol windows and shifts (from
`estatewatch.patrol`) in epoch ms, in the site's timezone.

Everything here takes and returns epoch milliseconds (UTC), and converts to the site's wall
clock only to compare with times written in the config ("21:00" means 21:00 in Shanghai).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

from estatewatch import patrol
from estatewatch.clock import to_epoch_ms
from estatewatch.config.patrol import PatrolRoute, Shift
from estatewatch.patrol import Round
from rules.model import ActiveWindow

DAY_MS = 86_400_000


@dataclass(frozen=True, slots=True)
class Occurrence:
    """One occurrence of a patrol window or shift: [start, end) in epoch ms."""

    start: int
    end: int
    index: int = 0


class LocalTime:
    """The site's wall clock. Caches the last minute it converted: the hot path asks for
    the same minute thousands of times."""

    def __init__(self, timezone: str) -> None:
        self.tz = ZoneInfo(timezone)
        self._minute = -1
        self._cached = (0, 0)

    def weekday_and_seconds(self, ms: int) -> tuple[int, int]:
        """ISO weekday (0 = Monday) and seconds since local midnight."""
        minute = ms // 60_000
        if minute != self._minute:
            local = datetime.fromtimestamp(minute * 60, tz=self.tz)
            self._minute = minute
            self._cached = (local.weekday(), local.hour * 3600 + local.minute * 60)
        weekday, seconds = self._cached
        return weekday, seconds + (ms // 1000) % 60

    def date_of(self, ms: int) -> date:
        return datetime.fromtimestamp(ms / 1000, tz=self.tz).date()

    def at(self, day: date, clock: time) -> int:
        """Epoch ms of `clock` on local `day`."""
        return int(datetime.combine(day, clock, tzinfo=self.tz).timestamp() * 1000)


def _seconds(t: time) -> int:
    return t.hour * 3600 + t.minute * 60 + t.second


class Schedule:
    """Active windows of a rule: outside them the rule is not evaluated."""

    def __init__(self, windows: Sequence[ActiveWindow], clock: LocalTime) -> None:
        self._windows = [(frozenset(w.days), _seconds(w.start), _seconds(w.end)) for w in windows]
        self._clock = clock

    def active(self, ms: int) -> bool:
        weekday, seconds = self._clock.weekday_and_seconds(ms)
        for days, start, end in self._windows:
            if start <= end:
                if weekday in days and start <= seconds < end:
                    return True
            elif (weekday in days and seconds >= start) or (
                (weekday - 1) % 7 in days and seconds < end
            ):
                return True
        return False


def _occurrence(r: Round) -> Occurrence:
    return Occurrence(to_epoch_ms(r.start), to_epoch_ms(r.end), r.index)


def route_windows(route: PatrolRoute, clock: LocalTime, lo: int, hi: int) -> list[Occurrence]:
    """Windows of `route` that end in (lo, hi], in order of their end."""
    found = patrol.rounds_ending(route, clock.tz, to_utc(lo), to_utc(hi))
    return [_occurrence(r) for r in found]


def window_at(route: PatrolRoute, clock: LocalTime, ms: int) -> Occurrence | None:
    """The latest window of `route` that started at or before `ms` (within two days)."""
    found = patrol.round_at(route, clock.tz, to_utc(ms))
    return None if found is None else _occurrence(found)


def shift_at(shift: Shift, clock: LocalTime, ms: int) -> Occurrence | None:
    """The occurrence of `shift` that contains `ms`, if any."""
    found = patrol.shift_occurrence(shift, clock.tz, to_utc(ms))
    return None if found is None else Occurrence(to_epoch_ms(found[1]), to_epoch_ms(found[2]))


def to_utc(ms: int) -> datetime:
    return datetime.fromtimestamp(ms / 1000, tz=UTC)
