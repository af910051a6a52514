"""Background work the API owns: the periodic jobs (each its own service with its own
figures, run by the shared supervisor, `estatewatch.supervise`): the SLA checker, the
preventive-maintenance generator and the feed pruner. Each is constructed with only what it
needs; the app's lifespan starts them."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Mapping
from datetime import timedelta
from types import TracebackType
from typing import Self

from api.db import Database
from api.sites import Sites
from api.store import feed, maintenance
from api.workflows import maintenance as plans
from api.workflows import sla
from estatewatch.clock import Clock
from estatewatch.config.devices import DeviceKind
from estatewatch.contracts.payloads import Quality
from estatewatch.readings import ReadingStore
from estatewatch.supervise import MAX_BACKOFF_S, supervise

__all__ = [
    "MAX_BACKOFF_S",  # re-exported: the supervisor lives in estatewatch.supervise
    "FeedPruner",
    "MaintenanceGenerator",
    "Periodic",
    "SlaChecker",
    "supervise",
]

log = logging.getLogger(__name__)


class Periodic:
    """A pass every `interval` of `clock`, supervised; `async with` runs it. Subclasses
    say what a pass is (`_pass`) and what they count."""

    name = "periodic job"

    def __init__(self, clock: Clock, interval: timedelta) -> None:
        self.clock = clock
        self.interval = interval
        self.passes = 0
        self._task: asyncio.Task[None] | None = None

    async def _pass(self) -> None:
        raise NotImplementedError

    async def _loop(self) -> None:
        while True:
            await self.clock.sleep(self.interval.total_seconds())
            await self._pass()

    def figures(self) -> dict[str, float]:
        return {"passes": self.passes}

    async def __aenter__(self) -> Self:
        self._task = asyncio.create_task(supervise(self.name, self._loop))
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None


class SlaChecker(Periodic):
    """Flags missed SLA clocks of open orders (each once, with an escalation event) and
    warns of those about to run out (`workflows.sla`)."""

    name = "SLA checker"

    def __init__(self, db: Database, sites: Sites, clock: Clock, *, interval: timedelta) -> None:
        super().__init__(clock, interval)
        self.db, self.sites = db, sites
        self.breaches = 0

    def run_once(self) -> int:
        """One pass (blocking: run it in a thread). Returns the breaches flagged."""
        with self.db.write() as session:
            flagged = sla.check_clocks(session, now=self.clock.now(), sites=self.sites)
        self.passes += 1
        self.breaches += flagged
        return flagged

    async def _pass(self) -> None:
        flagged = await asyncio.to_thread(self.run_once)
        if flagged:
            log.info("SLA check flagged %d breach(es)", flagged)

    def figures(self) -> dict[str, float]:
        return {"passes": self.passes, "breaches": self.breaches}


class MaintenanceGenerator(Periodic):
    """Opens the work orders of maintenance plans that came due, by the calendar or by a
    device's counter read from the readings store (`workflows.maintenance`)."""

    name = "maintenance generator"

    def __init__(
        self,
        db: Database,
        sites: Sites,
        clock: Clock,
        readings: ReadingStore | None,
        *,
        interval: timedelta,
    ) -> None:
        super().__init__(clock, interval)
        self.db, self.sites, self.readings = db, sites, readings
        self.opened = 0

    def run_once(self, counters: Mapping[str, float] | None = None) -> int:
        """One pass (blocking: run it in a thread). `counters`: the usage counters of
        maintenance plans, read just before (plan id → value). Returns the orders opened."""
        now = self.clock.now()
        with self.db.write() as session:
            opened = plans.generate_due(session, now=now, sites=self.sites)
        if counters:
            with self.db.write() as session:
                opened += plans.record_usage(session, counters=counters, now=now, sites=self.sites)
        self.passes += 1
        self.opened += opened
        return opened

    async def _pass(self) -> None:
        counters = await self.read_counters()
        await asyncio.to_thread(self.run_once, counters)

    async def read_counters(self) -> dict[str, float]:
        """The latest good value of each usage plan's counter from the readings store; a
        device or store that cannot answer now is asked again on the next pass."""
        if self.readings is None:
            return {}
        with self.db.read() as session:
            usage_plans = maintenance.usage_plans(session)
        counters: dict[str, float] = {}
        for plan in usage_plans:
            config = self.sites.config(plan.site)
            try:
                device = config.device(plan.device) if config else None
            except KeyError:
                device = None
            if device is None:
                continue
            try:
                latest = await self.readings.latest(
                    site=plan.site, kind=DeviceKind(device.kind), device=plan.device,
                    points=[plan.point],
                )  # fmt: skip
            except Exception as exc:  # the store is away: the calendar still runs
                log.warning("cannot read %s.%s for maintenance: %s", plan.device, plan.point, exc)
                continue
            found = latest.get(plan.point)
            if (
                found is not None
                and found.quality is Quality.GOOD
                and isinstance(found.value, int | float)
                and not isinstance(found.value, bool)
            ):
                counters[plan.id] = float(found.value)
        return counters

    def figures(self) -> dict[str, float]:
        return {"passes": self.passes, "opened": self.opened}


class FeedPruner(Periodic):
    """Deletes feed changes and published outbox messages older than `retention`."""

    name = "feed pruner"

    def __init__(
        self, db: Database, clock: Clock, *, retention: timedelta, interval: timedelta
    ) -> None:
        super().__init__(clock, interval)
        self.db, self.retention = db, retention
        self.pruned = 0

    def run_once(self) -> int:
        """One pass (blocking: run it in a thread). Returns the rows deleted."""
        horizon = self.clock.now() - self.retention
        with self.db.write() as session:
            pruned = feed.prune(session, before=horizon)
            pruned += feed.prune_published(session, before=horizon)
        self.passes += 1
        self.pruned += pruned
        return pruned

    async def _pass(self) -> None:
        await asyncio.to_thread(self.run_once)

    def figures(self) -> dict[str, float]:
        return {"passes": self.passes, "pruned": self.pruned}
