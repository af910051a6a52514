"""Background work the API owns: a supervisor, and the periodic SLA checker."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Mapping
from types import TracebackType

from api.runtime import Runtime
from api.store import feed, maintenance
from api.workflows import maintenance as plans
from api.workflows import sla
from estatewatch.config.site import DeviceKind
from estatewatch.contracts.payloads import Quality

log = logging.getLogger(__name__)

MAX_BACKOFF_S = 60.0


async def supervise(name: str, body: Callable[[], Awaitable[None]]) -> None:
    """Run `body` for ever: when it fails, log it with context and start it again after a
    growing pause (1 s, 2 s, ... 60 s). Cancellation stops it."""
    backoff = 1.0
    while True:
        try:
            await body()
            return
        except asyncio.CancelledError:
            raise
        except Exception:  # the supervisor: log with context, restart with backoff
            log.exception("%s failed; restarting in %.0f s", name, backoff)
            await asyncio.sleep(backoff)
            backoff = min(backoff * 2, MAX_BACKOFF_S)


class SlaChecker:
    """Every `sla_check_interval` of the runtime's clock: flag missed SLA clocks (each once,
    with an escalation event), open the orders of maintenance plans that came due, and prune
    the feed and the published outbox past retention."""

    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime
        self._task: asyncio.Task[None] | None = None
        self.passes = 0

    def run_once(self, counters: Mapping[str, float] | None = None) -> int:
        """One pass (blocking: run it in a thread). `counters`: the usage counters of
        maintenance plans, read just before (plan id → value). Returns the breaches flagged."""
        rt = self.runtime
        now = rt.clock.now()
        with rt.db.write() as session:
            plans.generate_due(session, now=now, sites=rt.sites)
        if counters:
            with rt.db.write() as session:
                plans.record_usage(session, counters=counters, now=now, sites=rt.sites)
        with rt.db.write() as session:
            flagged = sla.check_clocks(session, now=now, sites=rt.sites)
        horizon = now - rt.settings.feed_retention
        with rt.db.write() as session:
            feed.prune(session, before=horizon)
            feed.prune_published(session, before=horizon)
        self.passes += 1
        rt.counters["sla_checks"] += 1
        return flagged

    async def _loop(self) -> None:
        interval = self.runtime.settings.sla_check_interval.total_seconds()
        while True:
            await self.runtime.clock.sleep(interval)
            counters = await self.read_counters()
            flagged = await asyncio.to_thread(self.run_once, counters)
            if flagged:
                log.info("SLA check flagged %d breach(es)", flagged)

    async def read_counters(self) -> dict[str, float]:
        """The latest good value of each usage plan's counter from the readings store; a
        device or store that cannot answer now is asked again on the next pass."""
        rt = self.runtime
        if rt.readings is None:
            return {}
        with rt.db.read() as session:
            plans = maintenance.usage_plans(session)
        counters: dict[str, float] = {}
        for plan in plans:
            config = rt.sites.config(plan.site)
            try:
                device = config.device(plan.device) if config else None
            except KeyError:
                device = None
            if device is None:
                continue
            try:
                latest = await rt.readings.latest(
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

    async def __aenter__(self) -> SlaChecker:
        self._task = asyncio.create_task(supervise("SLA checker", self._loop))
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
