"""Polling on absolute deadlines under a fake clock: no drift, lateness measured, overruns
skipped."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable

from estatewatch.clock import FakeClock
from gateway.schedule import PollStats, Samples, Ticker, every, first_deadline, follow


async def test_deadlines_do_not_drift(fake_clock: FakeClock) -> None:
    starts: list[float] = []

    async def job() -> None:
        starts.append(fake_clock.monotonic())
        await fake_clock.sleep(0.3)  # each poll takes 0.3 s; the schedule must not slip

    stats = PollStats()
    task = asyncio.create_task(every(fake_clock, 1.0, job, phase=0.25, stats=stats))
    await asyncio.sleep(0)
    for _ in range(50):
        await fake_clock.advance(0.1)
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
    assert starts == [0.25, 1.25, 2.25, 3.25, 4.25]
    assert stats.polls == 5
    assert stats.skipped == 0
    assert stats.lateness.percentile(99) == 0.0
    assert stats.duration.percentile(50) >= 0.3 - 1e-9


async def test_an_overrun_skips_ticks_and_counts_them_late(fake_clock: FakeClock) -> None:
    starts: list[float] = []

    async def job() -> None:
        starts.append(fake_clock.monotonic())
        if len(starts) == 2:
            await fake_clock.sleep(2.5)  # a device that held its connection for 2.5 s

    stats = PollStats()
    task = asyncio.create_task(every(fake_clock, 1.0, job, stats=stats))
    await asyncio.sleep(0)
    for _ in range(60):
        await fake_clock.advance(0.1)
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
    # polls at 0, 1 (ends 3.5): the tick of 2 is skipped, 3 runs 0.5 s late, then on time
    assert starts[:4] == [0.0, 1.0, 3.5, 4.0]
    assert stats.skipped == 1
    assert max(stats.lateness._values) == 1.0  # the skipped tick counts one interval
    assert 0.5 - 1e-9 <= sorted(stats.lateness._values)[-2] <= 0.5 + 1e-9


def test_first_deadline() -> None:
    assert first_deadline(10.2, 1.0, 0.5) == 10.5
    assert first_deadline(10.5, 1.0, 0.5) == 10.5
    assert first_deadline(0.0, 2.0, 1.9) == 1.9


def test_percentiles() -> None:
    samples = Samples(size=100)
    assert samples.percentile(99) == 0.0
    for i in range(1, 201):
        samples.add(float(i))
    assert len(samples) == 100  # the most recent 100: 101..200
    assert samples.percentile(50) == 150.0
    assert samples.percentile(99) == 199.0


async def test_followers_share_a_ticker_and_keep_their_own_pace(fake_clock: FakeClock) -> None:
    ticker = Ticker(fake_clock, 1.0, phase=0.5)
    starts: dict[str, list[float]] = {"quick": [], "slow": []}

    def job(name: str, takes: float) -> Callable[[], Awaitable[None]]:
        async def run() -> None:
            starts[name].append(fake_clock.monotonic())
            if len(starts[name]) == 2:
                await fake_clock.sleep(takes)

        return run

    stats = PollStats()
    tasks = [
        asyncio.create_task(ticker.run()),
        asyncio.create_task(follow(ticker, job("quick", 0.2), stats)),
        asyncio.create_task(follow(ticker, job("slow", 2.3), stats)),
    ]
    await asyncio.sleep(0)
    for _ in range(60):
        await fake_clock.advance(0.1)
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    assert starts["quick"] == [0.5, 1.5, 2.5, 3.5, 4.5, 5.5]
    # the slow one's second poll ends at 3.8: the tick of 2.5 is skipped, 3.5 runs late
    assert starts["slow"] == [0.5, 1.5, 3.8, 4.5, 5.5]
    assert stats.skipped == 1
    assert max(stats.lateness._values) == 1.0
    assert stats.polls == 11
