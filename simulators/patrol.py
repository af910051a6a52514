"""Delivering a handheld's scans: over MQTT or by HTTP sync, at their times, and on a
schedule of rounds.

A handheld sends each scan as it is made. One that lost signal (a basement) keeps its
scans and syncs them later with their original times and `offline=true`: `deliver` holds
the offline scans of a round and sends them together after the last one.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from types import TracebackType
from typing import Protocol
from zoneinfo import ZoneInfo

import httpx

from estatewatch import patrol
from estatewatch.clock import Clock, to_epoch_ms
from estatewatch.config import SiteConfig
from estatewatch.contracts import topics
from estatewatch.contracts.payloads import HandheldScan
from estatewatch.mqtt import MqttClient
from simulators.errors import SimulatorError
from simulators.guard import plan_round, shortest_walk

log = logging.getLogger(__name__)


class ScanTransport(Protocol):
    async def send(self, scans: Sequence[HandheldScan]) -> None:
        """Deliver these scans (a sync batch when there are several)."""
        ...


class MqttScans:
    """Each scan to `ew/v1/{site}/handheld/{handheld}/scan`, QoS 1, on a connected client."""

    def __init__(self, client: MqttClient, site_id: str) -> None:
        self.client = client
        self.site_id = site_id

    async def send(self, scans: Sequence[HandheldScan]) -> None:
        for scan in scans:
            topic = topics.handheld_scan(self.site_id, scan.handheld)
            await self.client.publish(topic, scan.to_bytes(), qos=1)


class HttpScans:
    """A JSON array of scans by `POST {gateway_url}/scans`; an async context manager."""

    def __init__(self, gateway_url: str, *, timeout: float = 10.0) -> None:
        self.url = gateway_url.rstrip("/") + "/scans"
        self._client = httpx.AsyncClient(timeout=timeout)

    async def __aenter__(self) -> HttpScans:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self._client.aclose()

    async def send(self, scans: Sequence[HandheldScan]) -> None:
        body = [scan.model_dump(mode="json") for scan in scans]
        try:
            response = await self._client.post(self.url, json=body)
        except httpx.HTTPError as exc:
            raise SimulatorError(f"POST {self.url}: {exc}") from exc
        if response.status_code >= 300:
            raise SimulatorError(f"POST {self.url}: {response.status_code} {response.text[:200]}")


async def _until(clock: Clock, epoch_ms: int) -> None:
    delay = (epoch_ms - to_epoch_ms(clock.now())) / 1000
    if delay > 0:
        await clock.sleep(delay)


async def deliver(
    scans: Sequence[HandheldScan],
    transport: ScanTransport,
    *,
    clock: Clock | None = None,
    sync_delay: float = 120.0,
) -> None:
    """Send the scans as the handheld would. With a clock, each online scan goes at its
    time; offline ones are held and synced in one batch `sync_delay` seconds after the last
    of them. Without a clock, everything goes now: the online scans, then the sync."""
    held: list[HandheldScan] = []
    for scan in scans:
        if clock is not None:
            await _until(clock, scan.scanned_at)
        if scan.offline:
            held.append(scan)
        else:
            await transport.send([scan])
    if held:
        if clock is not None:
            await _until(clock, max(s.scanned_at for s in held) + int(sync_delay * 1000))
        await transport.send(held)


def next_rounds(site: SiteConfig, after: datetime) -> list[tuple[datetime, str]]:
    """The next start of every window of every route after `after`, earliest first."""
    tz = ZoneInfo(site.site.timezone)
    return [(r.start, r.route.id) for r in patrol.next_rounds(site.routes, tz, after)]


def open_rounds(site: SiteConfig, now: datetime) -> list[tuple[datetime, str]]:
    """The windows open at `now` (started before it, not yet over), as (now, route): a
    round walked late, from now on."""
    tz = ZoneInfo(site.site.timezone)
    found = {(now, r.route.id) for r in patrol.open_rounds(site.routes, tz, now) if r.start < now}
    return sorted(found)


def joinable_rounds(site: SiteConfig, now: datetime) -> list[tuple[datetime, str, timedelta]]:
    """The windows open at `now` with time left to walk a whole round, as (now, route,
    time left): a guard joining late walks only rounds it can finish inside the window
    (one it cannot is missed whoever walks it)."""
    tz = ZoneInfo(site.site.timezone)
    found = {
        (now, r.route.id, r.end - now)
        for r in patrol.open_rounds(site.routes, tz, now)
        if r.start < now and r.end - now >= shortest_walk(r.route, joined=True)
    }
    return sorted(found)


async def run_patrols(
    site: SiteConfig,
    transport: ScanTransport,
    *,
    clock: Clock,
    seed: int,
    keys: Mapping[str, bytes],
    join_open_windows: bool = False,
) -> None:
    """Walk every route at its scheduled windows, forever: route `i` by guard `i` (of the
    guards with a handheld, round robin). `keys` maps handheld ids to their scan keys.
    `join_open_windows`: walk the rounds whose window is open now, with time left to finish,
    at once, inside what is left of the window (a demo shows patrols within a minute
    instead of at the next window)."""
    guards = [g for g in site.guards if g.handheld is not None]
    if not guards or not site.routes:
        log.warning("no guards with handhelds, or no routes: no patrols to simulate")
        return
    walker = {r.id: guards[i % len(guards)] for i, r in enumerate(site.routes)}
    # A handheld's counter only rises, across its restarts too (the gateway refuses one that
    # does not, as a replay): start from the clock, as a real handheld keeps its own.
    first_counter = to_epoch_ms(clock.now())
    counters: dict[str, int] = {}
    rounds: set[asyncio.Task[None]] = set()
    number = 0
    late = joinable_rounds(site, clock.now()) if join_open_windows else []
    try:
        while True:
            number += 1
            window: timedelta | None = None  # a scheduled round: its whole window
            if late:
                start, route_id, window = late.pop(0)
            else:
                start, route_id = next_rounds(site, clock.now())[0]
                await _until(clock, to_epoch_ms(start))
            guard = walker[route_id]
            assert guard.handheld is not None
            scans = plan_round(
                site,
                route_id,
                guard.id,
                guard.handheld,
                start,
                seed=seed + number,
                key=keys.get(guard.handheld),
                counter_start=counters.get(guard.handheld, first_counter),
                window=window,
                joined=window is not None,
            )
            counters[guard.handheld] = counters.get(guard.handheld, first_counter) + len(scans)
            log.info("patrol round %s by %s: %d scans", route_id, guard.id, len(scans))
            task = asyncio.create_task(deliver(scans, transport, clock=clock))
            rounds.add(task)
            task.add_done_callback(rounds.discard)
            task.add_done_callback(_log_failure)
            if not late:
                await clock.sleep(1.0)  # past this window's start
    finally:
        for task in rounds:
            task.cancel()
        await asyncio.gather(*rounds, return_exceptions=True)


def _log_failure(task: asyncio.Task[None]) -> None:
    if not task.cancelled() and task.exception() is not None:
        log.error("a patrol round could not be delivered: %s", task.exception())
