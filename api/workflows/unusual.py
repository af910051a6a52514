"""The shift's unusual readings from the readings store: values out of their normal band
or near its edge (`api.domain.bands`), and devices whose readings stopped for a while.

Each device's points are asked for their lowest and highest value over the shift (windows
that tile it, as the operation log does); offline spans are stretches of 15 minutes or more
with no reading of the device's first point.
"""

from __future__ import annotations

import asyncio
from datetime import date, datetime, timedelta, tzinfo

from api.domain import bands, oplog
from api.schemas.records import OfflineSpan, ReadingFinding, UnusualReadings
from estatewatch.clock import from_epoch_ms, to_epoch_ms
from estatewatch.config import SiteConfig
from estatewatch.config.devices import Device, DeviceKind
from estatewatch.readings import Aggregate, ReadingsError, ReadingStore

GAP = timedelta(minutes=15)
CONCURRENT = 8


def _points(config: SiteConfig, device: Device) -> dict[str, str]:
    """The device's point names and units, in config order (a register map's or an MQTT
    sensor's); empty when the config does not say."""
    if device.register_map is not None:
        return {p.name: p.unit for p in config.register_maps[device.register_map].points}
    if device.connection.protocol == "mqtt":
        return {p.name: p.unit for p in device.connection.points}
    return {}


async def _extremes(
    store: ReadingStore, site: str, device: Device, point: str, start: int, end: int
) -> tuple[float | None, float | None]:
    window = timedelta(milliseconds=oplog.tiling_window(start, end))
    kind = DeviceKind(device.kind)
    low = await store.aggregate(
        site=site, kind=kind, device=device.id, point=point,
        start=start, end=end, window=window, fn=Aggregate.MIN,
    )  # fmt: skip
    high = await store.aggregate(
        site=site, kind=kind, device=device.id, point=point,
        start=start, end=end, window=window, fn=Aggregate.MAX,
    )  # fmt: skip
    lows = [float(s.value) for s in low.samples if isinstance(s.value, int | float)]
    highs = [float(s.value) for s in high.samples if isinstance(s.value, int | float)]
    return (min(lows) if lows else None), (max(highs) if highs else None)


async def _findings(
    store: ReadingStore, config: SiteConfig, device: Device, start: int, end: int
) -> list[ReadingFinding]:
    units = _points(config, device)
    out = []
    for band in bands.bands_for(device):
        if units and band.point not in units:
            continue
        low, high = await _extremes(store, config.site.id, device, band.point, start, end)
        found = bands.judge(band, low, high)
        if found is not None:
            out.append(
                ReadingFinding(
                    device=device.id,
                    device_name=device.name,
                    kind=device.kind,
                    point=found.point,
                    unit=units.get(found.point, ""),
                    verdict=found.verdict,
                    value=round(found.value, 3),
                    limit=round(found.limit, 3),
                    side=found.side,
                    basis=found.basis,
                )
            )
    return out


async def _offline(
    store: ReadingStore, config: SiteConfig, device: Device, start: int, end: int
) -> list[OfflineSpan]:
    points = list(_points(config, device))
    if not points:
        return []
    window = int(GAP.total_seconds() * 1000)
    series = await store.aggregate(
        site=config.site.id, kind=DeviceKind(device.kind), device=device.id,
        point=points[0], start=start, end=end, window=GAP, fn=Aggregate.LAST,
    )  # fmt: skip
    present = [s.ts for s in series.samples if s.value is not None]
    return [
        OfflineSpan(
            device=device.id,
            device_name=device.name,
            kind=device.kind,
            start=from_epoch_ms(lo),
            end=from_epoch_ms(hi),
            minutes=(hi - lo) // 60_000,
            source="readings",
        )
        for lo, hi in bands.gaps(present, start=start, end=end, window=window)
        if hi - lo >= window
    ]


async def unusual_readings(
    store: ReadingStore | None, config: SiteConfig, *, start: datetime, end: datetime
) -> UnusualReadings:
    """The unusual readings of `[start, end)`; `available=False` when no store answered."""
    if store is None or end <= start:
        return UnusualReadings(available=store is not None)
    begin, finish = to_epoch_ms(start), to_epoch_ms(end)
    limit = asyncio.Semaphore(CONCURRENT)

    async def one(device: Device) -> tuple[list[ReadingFinding], list[OfflineSpan]]:
        async with limit:
            return (
                await _findings(store, config, device, begin, finish),
                await _offline(store, config, device, begin, finish),
            )

    try:
        results = await asyncio.gather(*(one(d) for d in config.devices))
    except ReadingsError:
        return UnusualReadings(available=False)
    findings = [f for found, _ in results for f in found]
    return UnusualReadings(
        available=True,
        out_of_band=[f for f in findings if f.verdict == "out_of_band"],
        near_threshold=[f for f in findings if f.verdict == "near_threshold"],
        offline=[s for _, spans in results for s in spans],
    )


async def days_with_readings(
    store: ReadingStore | None,
    config: SiteConfig,
    device: Device,
    *,
    first: date,
    last: date,
    tz: tzinfo,
) -> list[str] | None:
    """The local days in [first, last] with a reading of the device's first point (the days
    its equipment operation log has values); None without a store or when it fails."""
    points = list(_points(config, device))
    if store is None:
        return None
    if not points or last < first:
        return []
    start = oplog.day_bounds(first, tz)[0]
    end = oplog.day_bounds(last, tz)[1]
    window = timedelta(milliseconds=oplog.tiling_window(start, end))
    try:
        series = await store.aggregate(
            site=config.site.id, kind=DeviceKind(device.kind), device=device.id,
            point=points[0], start=start, end=end, window=window, fn=Aggregate.LAST,
        )  # fmt: skip
    except ReadingsError:
        return None
    days = {
        from_epoch_ms(s.ts).astimezone(tz).date() for s in series.samples if s.value is not None
    }
    return [d.isoformat() for d in sorted(days)]
