"""Injected time. Rules, SLA timers, patrol windows and simulators take a `Clock`, so tests
run hours of estate time in milliseconds and simulators can run faster than real time."""

from __future__ import annotations

import asyncio
import heapq
import itertools
import os
import time
from datetime import UTC, date, datetime, timedelta
from typing import Protocol


class Clock(Protocol):
    def now(self) -> datetime:
        """The current wall-clock time, timezone-aware UTC."""
        ...

    def monotonic(self) -> float:
        """Seconds on a clock that never goes backwards (for intervals and timeouts)."""
        ...

    async def sleep(self, seconds: float) -> None:
        """Wait this many seconds of this clock's time."""
        ...


def to_epoch_ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


def from_epoch_ms(ms: int) -> datetime:
    return datetime.fromtimestamp(ms / 1000, tz=UTC)


class SystemClock:
    """Real time."""

    def now(self) -> datetime:
        return datetime.now(UTC)

    def monotonic(self) -> float:
        return time.monotonic()

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(max(0.0, seconds))


class ScaledClock:
    """Time that runs `speed` times faster than real time from `start` (accelerated demos)."""

    def __init__(self, speed: float, start: datetime | None = None) -> None:
        if speed <= 0:
            raise ValueError("speed must be positive")
        self.speed = speed
        self._start = start or datetime.now(UTC)
        self._t0 = time.monotonic()

    def now(self) -> datetime:
        return self._start + timedelta(seconds=(time.monotonic() - self._t0) * self.speed)

    def monotonic(self) -> float:
        return (time.monotonic() - self._t0) * self.speed

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(max(0.0, seconds) / self.speed)


def recent_monday(today: date | None = None) -> datetime:
    """Monday 08:00 UTC (16:00 in Shanghai, the day shift) of the week before last, as seen
    from `today` (default: `EW_TEST_TODAY` if set, else today in UTC). Where a `FakeClock`
    starts unless told: always a Monday, always 7 to 13 days in the past, so a test's time
    lies inside every retention and never meets a calendar that has moved on."""
    if today is None:
        pretend = os.environ.get("EW_TEST_TODAY")
        today = date.fromisoformat(pretend) if pretend else datetime.now(UTC).date()
    monday = today - timedelta(days=today.weekday() + 7)
    return datetime(monday.year, monday.month, monday.day, 8, 0, tzinfo=UTC)


class FakeClock:
    """A clock that moves only when told. `sleep` returns when `advance` passes its deadline,
    so async code under test runs hours of estate time in milliseconds. It starts at
    `start`, or at `recent_monday()`."""

    def __init__(self, start: datetime | None = None) -> None:
        self._now = start or recent_monday()
        self._mono = 0.0
        self._sleepers: list[tuple[float, int, asyncio.Future[None]]] = []
        self._order = itertools.count()

    def now(self) -> datetime:
        return self._now

    def monotonic(self) -> float:
        return self._mono

    async def sleep(self, seconds: float) -> None:
        if seconds <= 0:
            await asyncio.sleep(0)
            return
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        heapq.heappush(self._sleepers, (self._mono + seconds, next(self._order), future))
        await future

    def set(self, moment: datetime) -> None:
        """Jump to `moment` without waking sleepers (for pure-logic tests)."""
        self._mono += (moment - self._now).total_seconds()
        self._now = moment

    async def advance(self, seconds: float) -> None:
        """Move time forward, waking every sleeper whose deadline passes, in order, and
        letting each run before the next wakes."""
        target = self._mono + seconds
        while self._sleepers and self._sleepers[0][0] <= target:
            deadline, _, future = heapq.heappop(self._sleepers)
            self._step_to(deadline)
            if not future.done():
                future.set_result(None)
            for _ in range(5):
                await asyncio.sleep(0)
        self._step_to(target)
        await asyncio.sleep(0)

    def _step_to(self, mono: float) -> None:
        if mono > self._mono:
            self._now += timedelta(seconds=mono - self._mono)
            self._mono = mono
