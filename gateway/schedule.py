"""Polling on absolute deadlines, driven by an injected clock, measuring how late each poll
starts. Deadlines are `phase + k * interval` on the clock's monotonic time, so a schedule
never drifts however long each poll takes; a tick missed entirely (the previous poll still
running a whole interval later) is skipped and counted, and recorded as one interval late.

`every` runs one job on its own schedule. A `Ticker` is one schedule that many pollers
`follow`: the devices sharing a start time share one timer and one future per tick, which
costs a third of a timer per device (bench/gateway.py).
"""

from __future__ import annotations

import asyncio
import math
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from estatewatch.clock import Clock


class Samples:
    """The most recent `size` samples of a quantity, for percentiles."""

    def __init__(self, size: int = 10_000) -> None:
        self._values: deque[float] = deque(maxlen=size)

    def add(self, value: float) -> None:
        self._values.append(value)

    def __len__(self) -> int:
        return len(self._values)

    def clear(self) -> None:
        self._values.clear()

    def percentile(self, p: float) -> float:
        """The `p`-th percentile (0..100) by nearest rank; 0.0 with no samples."""
        if not self._values:
            return 0.0
        ordered = sorted(self._values)
        rank = max(1, math.ceil(p / 100 * len(ordered)))
        return ordered[rank - 1]


@dataclass
class PollStats:
    """Shared by every schedule of a gateway: seconds late and seconds taken per poll."""

    lateness: Samples = field(default_factory=Samples)
    duration: Samples = field(default_factory=Samples)
    polls: int = 0
    skipped: int = 0


def first_deadline(now: float, interval: float, phase: float) -> float:
    """The first `phase + k * interval` at or after `now`."""
    return phase + math.ceil((now - phase) / interval) * interval


async def every(
    clock: Clock,
    interval: float,
    job: Callable[[], Awaitable[None]],
    *,
    phase: float = 0.0,
    stats: PollStats | None = None,
) -> None:
    """Run `job` at `phase + k * interval` (clock's monotonic seconds) until cancelled."""
    if interval <= 0:
        raise ValueError("interval must be positive")
    stats = stats if stats is not None else PollStats()
    task = asyncio.current_task()
    deadline = first_deadline(clock.monotonic(), interval, phase % interval)
    while True:
        wait = deadline - clock.monotonic()
        if wait > 0:
            await clock.sleep(wait)
        started = clock.monotonic()
        stats.lateness.add(max(0.0, started - deadline))
        await job()
        if task is not None and task.cancelling():
            # Python 3.11's wait_for (inside pymodbus) returns a result that arrives together
            # with a cancellation instead of raising: do not poll on after being cancelled.
            raise asyncio.CancelledError
        finished = clock.monotonic()
        stats.polls += 1
        stats.duration.add(finished - started)
        deadline += interval
        if finished >= deadline + interval:  # whole ticks went by during this poll
            missed = math.floor((finished - deadline) / interval)
            for _ in range(missed):
                stats.lateness.add(interval)
            stats.skipped += missed
            deadline += missed * interval


class Ticker:
    """Ticks at `phase + k * interval` of the clock's monotonic time; `run()` drives it and
    any number of `follow`ers wait on it."""

    def __init__(self, clock: Clock, interval: float, phase: float = 0.0) -> None:
        if interval <= 0:
            raise ValueError("interval must be positive")
        self.clock = clock
        self.interval = interval
        self.phase = phase % interval
        self.last: float | None = None
        """The deadline of the latest tick."""
        self._next: asyncio.Future[float] | None = None

    def next(self) -> asyncio.Future[float]:
        """Resolves with the deadline of the next tick."""
        if self._next is None:
            self._next = asyncio.get_running_loop().create_future()
        return self._next

    async def run(self) -> None:
        clock, interval = self.clock, self.interval
        deadline = first_deadline(clock.monotonic(), interval, self.phase)
        while True:
            wait = deadline - clock.monotonic()
            if wait > 0:
                await clock.sleep(wait)
            self.last = deadline
            future, self._next = self._next, None
            if future is not None and not future.done():
                future.set_result(deadline)
            deadline += interval
            now = clock.monotonic()
            if now >= deadline + interval:  # the loop itself fell behind by whole ticks
                deadline += math.floor((now - deadline) / interval) * interval


async def follow(ticker: Ticker, job: Callable[[], Awaitable[None]], stats: PollStats) -> None:
    """Run `job` at each tick of `ticker` until cancelled; a tick that went by while `job`
    ran starts it again at once (late), and whole ticks missed are skipped and counted."""
    task = asyncio.current_task()
    clock, interval = ticker.clock, ticker.interval
    mine = ticker.last if ticker.last is not None else -math.inf
    while True:
        latest = ticker.last
        deadline = latest if latest is not None and latest > mine else await ticker.next()
        missed = round((deadline - mine) / interval) - 1 if mine > -math.inf else 0
        if missed > 0:
            for _ in range(missed):
                stats.lateness.add(interval)
            stats.skipped += missed
        mine = deadline
        started = clock.monotonic()
        stats.lateness.add(max(0.0, started - deadline))
        await job()
        if task is not None and task.cancelling():
            raise asyncio.CancelledError  # see `every`
        stats.polls += 1
        stats.duration.add(clock.monotonic() - started)
