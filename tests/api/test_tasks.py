"""The periodic SLA checker and feed pruner run on the injected clock."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from pathlib import Path

from sqlalchemy import select

from api.db import Database
from api.models import FeedEvent, SlaBreach
from api.runtime import Runtime
from api.sites import Sites
from api.tasks import FeedPruner, Periodic, SlaChecker
from api.workflows.alarms import on_alarm_event
from estatewatch.clock import FakeClock
from tests.api.helpers import T0, alarm_event, settings_for


async def _passes(checker: Periodic, count: int) -> None:
    for _ in range(200):
        if checker.passes >= count:
            return
        await asyncio.sleep(0.02)
    raise AssertionError(f"the checker made {checker.passes} passes, not {count}")


async def test_the_checker_flags_breaches_when_its_clock_says_so(
    tmp_path: Path, sites: Sites
) -> None:
    clock = FakeClock(T0)
    settings = settings_for(tmp_path / "tasks.db", sla_check_interval="1m", feed_retention="1h")
    runtime = Runtime(
        settings=settings, clock=clock, db=Database(settings.database_url), sites=sites
    )
    runtime.db.migrate()
    with runtime.db.write() as session:
        on_alarm_event(session, alarm_event("lift"), now=T0, sites=sites)

    def breaches() -> list[str]:
        with runtime.db.read() as session:
            return sorted(session.scalars(select(SlaBreach.clock)))

    every = settings.sla_check_interval
    async with (
        SlaChecker(runtime.db, sites, clock, interval=every) as checker,
        FeedPruner(runtime.db, clock, retention=settings.feed_retention, interval=every) as pruner,
    ):
        await asyncio.sleep(0)
        await clock.advance(60)  # T0 + 1 min: nothing is late
        await _passes(checker, 1)
        await _passes(pruner, 1)
        assert breaches() == []
        clock.set(T0 + timedelta(minutes=16))  # jump; the overdue sleep wakes on the next advance
        await clock.advance(0)
        await _passes(checker, 2)
        await _passes(pruner, 2)
        assert breaches() == ["response"]
        clock.set(T0 + timedelta(hours=2))
        await clock.advance(0)
        await _passes(checker, 3)
        await _passes(pruner, 3)
    assert breaches() == ["dispatch", "on_site", "response"]
    with runtime.db.read() as session:  # the feed keeps an hour: the alarm's change is pruned
        kinds = {e.kind for e in session.scalars(select(FeedEvent))}
    assert kinds == {"workorder"}
    runtime.db.dispose()
