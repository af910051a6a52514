from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from pydantic import BaseModel

from estatewatch.clock import FakeClock, from_epoch_ms, to_epoch_ms
from estatewatch.durations import Duration, format_duration, parse_duration


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("30s", 30),
        ("15m", 900),
        ("24h", 86400),
        ("2d", 172800),
        ("500ms", 0.5),
        ("1h30m", 5400),
        (45, 45),
        (1.5, 1.5),
    ],
)
def test_parse_duration(text: str | float, seconds: float) -> None:
    assert parse_duration(text) == timedelta(seconds=seconds)


@pytest.mark.parametrize("bad", ["soon", "15 minutes", "m15", "", "1h x"])
def test_bad_durations_say_how_to_write_one(bad: str) -> None:
    with pytest.raises(ValueError, match=r"write e\.g\."):
        parse_duration(bad)


def test_duration_round_trips_as_text() -> None:
    class M(BaseModel):
        d: Duration

    assert M.model_validate({"d": "15m"}).model_dump_json() == '{"d":"15m"}'
    assert format_duration(timedelta(milliseconds=250)) == "250ms"


async def test_fake_clock_wakes_sleepers_in_order_without_waiting() -> None:
    clock = FakeClock()
    start = clock.now()
    woke: list[tuple[str, float]] = []

    async def sleeper(name: str, seconds: float) -> None:
        await clock.sleep(seconds)
        woke.append((name, (clock.now() - start).total_seconds()))

    tasks = [asyncio.create_task(sleeper(n, s)) for n, s in (("hour", 3600), ("minute", 60))]
    await asyncio.sleep(0)
    await clock.advance(1800)
    assert woke == [("minute", 60.0)]
    await clock.advance(1800)
    assert woke == [("minute", 60.0), ("hour", 3600.0)]
    await asyncio.gather(*tasks)
    assert clock.monotonic() == 3600


def test_epoch_ms_round_trip() -> None:
    clock = FakeClock()
    assert from_epoch_ms(to_epoch_ms(clock.now())) == clock.now()
