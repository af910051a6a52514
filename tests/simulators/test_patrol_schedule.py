"""The simulated guards: when they walk, and handheld counters that rise across restarts."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import datetime
from zoneinfo import ZoneInfo

from estatewatch.clock import FakeClock, to_epoch_ms
from estatewatch.config import SiteConfig
from estatewatch.contracts.payloads import HandheldScan
from simulators.patrol import next_rounds, open_rounds, run_patrols
from tests.dates import local

SHANGHAI = ZoneInfo("Asia/Shanghai")


class Collected:
    def __init__(self) -> None:
        self.scans: list[HandheldScan] = []

    async def send(self, scans: Sequence[HandheldScan]) -> None:
        self.scans.extend(scans)


def test_open_rounds_are_the_windows_open_now(example_site: SiteConfig) -> None:
    # 13:20 local: only the 13:00–13:45 window of one route is open.
    now = local(0, 13, 20)
    found = open_rounds(example_site, now)
    assert len(found) == 1
    assert found[0][0] == now
    assert open_rounds(example_site, local(0, 14)) == []
    # A window that opened yesterday and runs past midnight counts too.
    assert next_rounds(example_site, now)[0][0] > now


async def _walk(site: SiteConfig, start: datetime, seconds: float) -> list[HandheldScan]:
    clock = FakeClock(start)
    out = Collected()
    task = asyncio.create_task(
        run_patrols(site, out, clock=clock, seed=1, keys={}, join_open_windows=True)
    )
    for _ in range(int(seconds // 30)):
        await clock.advance(30)
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
    return out.scans


async def test_a_guard_joins_the_open_window_and_counters_rise_across_restarts(
    example_site: SiteConfig,
) -> None:
    first_start = local(0, 13, 20)
    first = await _walk(example_site, first_start, 600)
    assert first, "no round walked in the open window"
    assert all(s.scanned_at >= to_epoch_ms(first_start) for s in first)
    # The simulator restarts a minute later: its handheld's counters keep rising.
    again = await _walk(example_site, local(0, 13, 31), 600)
    handheld = first[0].handheld
    before = max(s.counter or 0 for s in first if s.handheld == handheld)
    after = min(s.counter or 0 for s in again if s.handheld == handheld)
    assert after > before


async def test_a_round_joined_late_is_walked_inside_what_is_left_of_its_window(
    example_site: SiteConfig,
) -> None:
    # 13:30 local: 15 minutes left of the perimeter round's 13:00–13:45 window (`up` started
    # mid-window). Every scan falls inside it, so the round is complete, not 漏巡.
    joined = local(0, 13, 30)
    scans = await _walk(example_site, joined, 20 * 60)
    route = next(r for r in example_site.routes if r.id == "perimeter-round")
    assert len(scans) == len(route.checkpoints)
    assert max(s.scanned_at for s in scans) < to_epoch_ms(local(0, 13, 45))
    # The guard is already out on the route: the first checkpoint within 30 s of joining
    # (which is after the walk's first 30 s clock step); from a round's start it is 30-120 s.
    assert min(s.scanned_at for s in scans) <= to_epoch_ms(joined) + 60_000


async def test_a_window_too_short_to_finish_is_not_joined(example_site: SiteConfig) -> None:
    # 13:42: three minutes cannot hold seven checkpoints 45 s apart; the next round is 18:00.
    assert await _walk(example_site, local(0, 13, 42), 20 * 60) == []
