"""The shared supervisor: restarts with capped backoff on the injected clock; the first
failure of a run is logged loudly, the repeats quietly."""

from __future__ import annotations

import asyncio
import logging

import pytest

from estatewatch.clock import FakeClock
from estatewatch.supervise import supervise


async def test_restarts_with_capped_backoff_and_logs_the_first_failure_loudly(
    caplog: pytest.LogCaptureFixture,
) -> None:
    clock = FakeClock()
    starts: list[float] = []

    async def body() -> None:
        starts.append(clock.monotonic())
        if len(starts) < 6:
            raise RuntimeError(f"boom {len(starts)}")

    caplog.set_level(logging.DEBUG, logger="estatewatch.supervise")
    task = asyncio.create_task(supervise("the part", body, clock=clock, max_backoff=4.0))
    for _ in range(40):
        await asyncio.sleep(0)
        await clock.advance(1.0)
        if task.done():
            break
    await task
    t0 = starts[0]
    assert [s - t0 for s in starts] == [0.0, 1.0, 3.0, 7.0, 11.0, 15.0]  # 1, 2, 4, 4, 4
    loud = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert len(loud) == 1
    assert "the part failed" in loud[0].getMessage()
    assert loud[0].exc_info is not None
    assert sum(r.levelno == logging.DEBUG for r in caplog.records) == 4


async def test_cancellation_stops_it() -> None:
    clock = FakeClock()

    async def body() -> None:
        await asyncio.Event().wait()

    task = asyncio.create_task(supervise("idle", body, clock=clock))
    await asyncio.sleep(0)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
