"""Replay: run a rule file over stored readings and say what would have fired.

The readings come from anything with the `readings()` method of
`estatewatch.readings.store.ReadingStore` (oldest first, paged): the InfluxDB store, or a
JSON-lines file of DeviceReading / TelemetryBatch objects (`JsonLinesHistory`). Time is the
readings' own: each is evaluated at its `ts`, and ticks run between them, so durations,
deadbands and deadman timers behave as they would have live. Patrol rules are left out (the
history holds readings, not scans).
"""

from __future__ import annotations

import heapq
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Protocol
from zoneinfo import ZoneInfo

from pydantic import ValidationError

from estatewatch.config.devices import DeviceKind
from estatewatch.config.site import SiteConfig
from estatewatch.contracts.payloads import AlarmEvent, DeviceReading, TelemetryBatch
from rules.errors import ReplaySourceError
from rules.evaluate import Tick, evaluate
from rules.loader import RuleSet
from rules.plan import compile_site
from rules.state import new_state

PAGE = 10_000


class ReadingHistory(Protocol):
    """The part of `estatewatch.readings.store.ReadingStore` replay needs."""

    async def readings(
        self,
        *,
        site: str,
        kind: DeviceKind,
        start: int,
        end: int,
        device: str | None = None,
        limit: int = 10_000,
    ) -> list[DeviceReading]: ...


@dataclass
class ReplayResult:
    events: list[AlarmEvent] = field(default_factory=list)
    readings: int = 0


class JsonLinesHistory:
    """Readings from a file: one DeviceReading or TelemetryBatch JSON object per line."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._by_site: dict[str, list[DeviceReading]] | None = None

    def _load(self) -> dict[str, list[DeviceReading]]:
        if self._by_site is not None:
            return self._by_site
        found: dict[str, list[DeviceReading]] = {}
        try:
            lines = self.path.read_text(encoding="utf-8").splitlines()
        except OSError as exc:
            raise ReplaySourceError(f"{self.path}: {exc.strerror or exc}") from None
        for number, line in enumerate(lines, 1):
            if not line.strip():
                continue
            try:
                if '"readings"' in line:
                    batch = TelemetryBatch.model_validate_json(line)
                    found.setdefault(batch.site, []).extend(batch.readings)
                else:
                    found.setdefault("", []).append(DeviceReading.model_validate_json(line))
            except ValidationError as exc:
                raise ReplaySourceError(f"{self.path}:{number}: {exc.errors()[0]['msg']}") from None
        for readings in found.values():
            readings.sort(key=lambda r: r.ts)
        self._by_site = found
        return found

    async def readings(
        self,
        *,
        site: str,
        kind: DeviceKind,
        start: int,
        end: int,
        device: str | None = None,
        limit: int = 10_000,
    ) -> list[DeviceReading]:
        data = self._load()
        chosen = [
            r
            for r in [*data.get(site, []), *data.get("", [])]
            if r.kind is kind and start <= r.ts < end and (device is None or r.device == device)
        ]
        chosen.sort(key=lambda r: r.ts)
        return chosen[:limit]


async def _stream(
    source: ReadingHistory, site: str, kind: DeviceKind, start: int, end: int
) -> AsyncIterator[DeviceReading]:
    cursor = start
    while cursor < end:
        page = await source.readings(site=site, kind=kind, start=cursor, end=end, limit=PAGE)
        for reading in page:
            yield reading
        if len(page) < PAGE:
            return
        cursor = page[-1].ts + 1


async def _merged(
    source: ReadingHistory, sites: Sequence[SiteConfig], start: int, end: int
) -> AsyncIterator[tuple[str, DeviceReading]]:
    """Every reading of every site and device kind, oldest first."""
    streams: list[tuple[str, AsyncIterator[DeviceReading]]] = []
    for site in sites:
        for kind in sorted({d.kind for d in site.devices}):
            streams.append((site.site.id, _stream(source, site.site.id, kind, start, end)))
    heads: list[tuple[int, int, DeviceReading]] = []
    for index, (_, stream) in enumerate(streams):
        first = await anext(stream, None)
        if first is not None:
            heapq.heappush(heads, (first.ts, index, first))
    while heads:
        _, index, reading = heapq.heappop(heads)
        site_id, stream = streams[index]
        yield site_id, reading
        following = await anext(stream, None)
        if following is not None:
            heapq.heappush(heads, (following.ts, index, following))


async def replay(
    sites: Sequence[SiteConfig],
    rules: RuleSet,
    source: ReadingHistory,
    start: int,
    end: int,
    *,
    tick_ms: int = 1000,
) -> ReplayResult:
    """What `rules` would have raised over `[start, end)` of stored readings."""
    state = new_state([compile_site(site, rules) for site in sites], start)
    result = ReplayResult()
    next_tick = start + tick_ms
    tick = Tick(patrol=False)
    async for site_id, reading in _merged(source, sites, start, end):
        while next_tick <= reading.ts:
            state, events = evaluate(state, tick, next_tick)
            result.events += events
            next_tick += tick_ms
        batch = TelemetryBatch.model_construct(
            site=site_id, gateway="replay", seq=0, readings=[reading]
        )
        state, events = evaluate(state, batch, reading.ts)
        result.events += events
        result.readings += 1
    while next_tick < end:
        state, events = evaluate(state, tick, next_tick)
        result.events += events
        next_tick += tick_ms
    return result


def format_event(event: AlarmEvent, timezone: str) -> str:
    """One line per alarm event, in the site's local time."""
    local = datetime.fromtimestamp(event.ts / 1000, tz=ZoneInfo(timezone))
    return (
        f"{local:%Y-%m-%d %H:%M:%S}  {event.event.value:<12} {event.severity.value:<8}"
        f" {event.rule:<28} {event.target:<20} {event.title}"
    )
