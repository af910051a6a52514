"""A device's stored values over time: history of a point (raw or aggregated) and the daily
equipment operation log (设备运行日志), from the readings store."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from datetime import UTC, date, datetime, time, timedelta
from typing import Annotated, Literal, TypeVar

from fastapi import APIRouter, Query
from fastapi.responses import Response

from api.deps import ReadingsReader, RuntimeDep
from api.domain import oplog
from api.domain.errors import InvalidInput, NotFound, Unavailable
from api.readings import PointInfo, Target, find_device
from api.routes.downloads import csv_download
from api.schemas.readings import HistoryPublic, LogPoint, LogValue, OperationLog, SamplePublic
from estatewatch.clock import from_epoch_ms, to_epoch_ms
from estatewatch.durations import format_duration, parse_duration
from estatewatch.readings import Aggregate, ReadingsError, Sample, Series

router = APIRouter(prefix="/devices", tags=["devices"])

MAX_SAMPLES = 10_000
CONCURRENT_QUERIES = 8
T = TypeVar("T")


def _ms(moment: datetime) -> int:
    return to_epoch_ms(moment if moment.tzinfo else moment.replace(tzinfo=UTC))


def _point(target: Target, point: str) -> PointInfo:
    known = target.points()
    if not known:
        return PointInfo(point)
    for info in known:
        if info.name == point:
            return info
    raise NotFound(f"{target.device.id!r} has no point {point!r}", field="point")


def _window(text: str | None, fn: Aggregate | None) -> timedelta | None:
    if text is None:
        if fn is not None:
            raise InvalidInput("an aggregate needs a window, e.g. window=1m", field="window")
        return None
    try:
        value = parse_duration(text)
    except ValueError as exc:
        raise InvalidInput(str(exc), field="window") from None
    if not isinstance(value, timedelta) or value < timedelta(seconds=1):
        raise InvalidInput("the window must be at least 1s", field="window")
    return value


async def _ask(call: Awaitable[T]) -> T:
    try:
        return await call
    except ReadingsError as exc:
        raise Unavailable(f"the readings store did not answer: {exc}") from exc


@router.get("/{device}/history", response_model=HistoryPublic)
async def history(
    _: ReadingsReader,
    runtime: RuntimeDep,
    device: str,
    point: str,
    site: Annotated[str | None, Query(description="default: the only site served")] = None,
    start: Annotated[datetime | None, Query(description="default: an hour before end")] = None,
    end: Annotated[datetime | None, Query(description="default: now; excluded")] = None,
    fn: Annotated[Aggregate | None, Query(description="aggregate per window")] = None,
    window: Annotated[str | None, Query(description="e.g. 1m, 15m, 1h (mean without fn)")] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_SAMPLES)] = MAX_SAMPLES,
) -> HistoryPublic:
    """Readings of one point in `[start, end)`, oldest first; with `window` (and `fn`, by
    default `mean`), one value per window that has data, windows aligned to the epoch."""
    target = find_device(runtime, site, device)
    info = _point(target, point)
    step = _window(window, fn)
    fn = fn or (Aggregate.MEAN if step else None)
    end_ms = _ms(end) if end else to_epoch_ms(runtime.clock.now())
    start_ms = _ms(start) if start else end_ms - 3_600_000
    if start_ms >= end_ms:
        raise InvalidInput("start must be before end", field="start")
    if fn is not None and fn is not Aggregate.LAST and info.type == "text":
        raise InvalidInput(f"{point} is text: only fn=last applies", field="fn")
    if fn is Aggregate.MEAN and info.type == "bool":
        raise InvalidInput(f"{point} is on/off: use fn=min, max or last", field="fn")
    if fn is Aggregate.MEAN and info.type == "state":
        raise InvalidInput(f"{point} is a code or state, never averaged: use fn=last", field="fn")
    series: Series
    if step is None or fn is None:
        series = await _ask(target.range(point, start_ms, end_ms, limit))
    else:
        if (end_ms - start_ms) / (step.total_seconds() * 1000) > MAX_SAMPLES:
            raise InvalidInput(f"more than {MAX_SAMPLES} windows: widen it", field="window")
        series = await _ask(target.aggregate(point, start_ms, end_ms, step, fn))
    return HistoryPublic(
        site=target.site,
        device=device,
        kind=target.kind,
        point=point,
        unit=info.unit,
        source=series.source,
        aggregate=fn.value if fn else None,
        window=format_duration(step) if step else None,
        start=from_epoch_ms(start_ms),
        end=from_epoch_ms(end_ms),
        truncated=step is None and len(series.samples) >= limit,
        samples=[
            SamplePublic(ts=from_epoch_ms(s.ts), value=s.value, quality=s.quality.value)
            for s in series.samples
        ],
    )


_LOG_FNS: dict[str, tuple[Aggregate, ...]] = {
    "number": (Aggregate.MIN, Aggregate.MAX, Aggregate.MEAN),
    "bool": (Aggregate.MIN, Aggregate.MAX),  # any off / any on during the day
    "text": (Aggregate.LAST,),
    "state": (Aggregate.LAST,),  # a code or state: its last value, never a mean
}


async def _log_point(
    target: Target, info: PointInfo, day: tuple[int, int], times: list[tuple[str, int]], now: int
) -> LogPoint:
    start, end = day
    step = timedelta(milliseconds=oplog.tiling_window(start, end))
    wanted = _LOG_FNS[info.type]
    aggregates = await asyncio.gather(
        *(target.aggregate(info.name, start, end, step, fn) for fn in wanted)
    )
    by_fn = {fn: [s.value for s in got.samples] for fn, got in zip(wanted, aggregates, strict=True)}
    tolerance = round(oplog.AT_TOLERANCE.total_seconds() * 1000)
    values = []
    for label, at in times:
        sample: Sample | None = None
        if at <= now:
            found = await target.range(info.name, at - tolerance, at + 1)
            sample = oplog.value_at(found.samples, at)
        values.append(
            LogValue(
                time=label,
                at=from_epoch_ms(at),
                value=sample.value if sample else None,
                ts=from_epoch_ms(sample.ts) if sample else None,
                quality=sample.quality.value if sample else None,
            )
        )
    return LogPoint(
        point=info.name,
        unit=info.unit,
        description=info.description,
        min=oplog.combine_min(by_fn.get(Aggregate.MIN, [])),
        max=oplog.combine_max(by_fn.get(Aggregate.MAX, [])),
        mean=oplog.combine_mean(by_fn.get(Aggregate.MEAN, [])),
        last=oplog.combine_last(by_fn.get(Aggregate.LAST, [])),
        values=values,
    )


@router.get("/{device}/operation-log", response_model=OperationLog)
async def operation_log(
    _: ReadingsReader,
    runtime: RuntimeDep,
    device: str,
    site: Annotated[str | None, Query(description="default: the only site served")] = None,
    day: Annotated[
        date | None, Query(alias="date", description="default: today, site time")
    ] = None,
    at: Annotated[list[time] | None, Query(description="times of day, site time")] = None,
    format: Annotated[Literal["json", "csv"], Query(description="json or csv")] = "json",
) -> OperationLog | Response:
    """The device's day (site time): per point, min / max / mean and the value at fixed
    times (default `EW_OPERATION_LOG_TIMES`: 08:00, 14:00, 20:00)."""
    target = find_device(runtime, site, device)
    tz = runtime.sites.tz(target.site)
    now = runtime.clock.now()
    day = day or now.astimezone(tz).date()
    bounds = oplog.day_bounds(day, tz)
    wanted = sorted(at or runtime.settings.operation_log_times)
    times = [(oplog.hhmm(t), oplog.at_ms(day, t, tz)) for t in wanted]
    points = target.points()
    if not points:  # the config does not list them: whatever the store holds
        latest = await _ask(target.store.latest(site=target.site, kind=target.kind, device=device))
        points = [
            PointInfo(name, type="state" if oplog.is_state(name, coded=False) else "number")
            for name in sorted(latest)
        ]
    limit = asyncio.Semaphore(CONCURRENT_QUERIES)

    async def one(info: PointInfo) -> LogPoint:
        async with limit:
            return await _log_point(target, info, bounds, times, to_epoch_ms(now))

    rows = await _ask(asyncio.gather(*(one(p) for p in points)))
    log = OperationLog(
        site=target.site,
        device=device,
        name=target.device.name,
        kind=target.kind,
        building=target.device.building,
        room=target.device.room,
        date=day,
        timezone=str(tz),
        start=from_epoch_ms(bounds[0]),
        end=from_epoch_ms(bounds[1]),
        times=[label for label, _ in times],
        generated_at=now,
        points=rows,
    )
    if format == "csv":
        return csv_download(oplog.log_csv(log), f"operation-log-{target.site}-{device}-{day}")
    return log
