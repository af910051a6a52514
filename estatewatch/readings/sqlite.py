"""The reading store in one SQLite file: no server to install (`estatewatch up`, a small site).

    async with SqliteReadingStore("var/readings.db") as store:
        await store.write(points)                     # ingest's side
        values = await store.latest(site="harbour-view", kind=DeviceKind.ELEVATOR,
                                    device="elevator-3")

It answers the `ReadingStore` questions as `InfluxQLStore` does (the same tests run against
both), from raw rows only: there are no rollups, so `source` is always ``raw`` and nothing
older than `retention` is kept. `prune` deletes what is older, a bounded amount per call
(a short write transaction); the writer calls `prune_if_due` after its writes.
Tables: `estatewatch.readings.sqlite_schema`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from types import TracebackType
from typing import Any

from estatewatch.clock import Clock, SystemClock, to_epoch_ms
from estatewatch.config.devices import DeviceKind
from estatewatch.contracts.payloads import DeviceReading, Quality, Scalar
from estatewatch.readings import sqlite_queries as q
from estatewatch.readings.sqlite_db import Connection, Database
from estatewatch.readings.sqlite_schema import (
    UPSERT_HEALTH,
    UPSERT_READING,
    UPSERT_SERIES,
    UPSERT_STATUS,
    Point,
    Rows,
    SeriesKey,
    rows_of,
)
from estatewatch.readings.store import Aggregate, PointValue, QueryError, Sample, Series

DEFAULT_RETENTION = timedelta(days=30)


@dataclass(frozen=True)
class Written:
    rows: int
    dropped: int
    """Points older than the retention, not written (what InfluxDB answers as "partial
    write: points beyond retention policy dropped=N")."""


@dataclass(frozen=True)
class PruneResult:
    deleted: int
    done: bool
    """False when the budget ran out first: call again to go on."""


class SqliteReadingStore:
    """`ReadingStore` over one SQLite file, and the writer ingest uses. An async context
    manager owning a writer thread and `readers` reader threads."""

    def __init__(
        self,
        path: str | Path,
        *,
        retention: timedelta = DEFAULT_RETENTION,
        clock: Clock | None = None,
        readers: int = 2,
        prune_every: timedelta = timedelta(hours=1),
        prune_budget: int = 50_000,
        synchronous: str = "FULL",
    ) -> None:
        if retention <= timedelta(0):
            raise ValueError("retention must be positive")
        self.path = Path(path)
        self.retention = retention
        self.prune_every = prune_every
        self.prune_budget = prune_budget
        self._clock = clock or SystemClock()
        self._db = Database(self.path, readers=readers, synchronous=synchronous)
        self._series: dict[SeriesKey, tuple[int, str, str]] = {}
        """Series ids the writer knows -> (id, building, room); only committed ones."""
        self._next_prune: float | None = None

    async def __aenter__(self) -> SqliteReadingStore:
        await self.open()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def open(self) -> None:
        await self._db.open()

    async def aclose(self) -> None:
        await self._db.close()

    # --- writing -------------------------------------------------------------------------

    async def write(self, points: Iterable[Point]) -> int:
        """Store the points in one transaction (all or none); the rows written. Raises
        `PointRejected` (nothing written) for a point that does not fit the schema."""
        rows = await asyncio.to_thread(rows_of, list(points))
        if not len(rows):
            return 0
        learned: dict[SeriesKey, tuple[int, str, str]] = {}
        count = await self._db.write(lambda conn: self._write_rows(conn, rows, learned))
        self._series.update(learned)  # after the commit: a rolled-back id is never cached
        return count

    async def write_within_retention(self, points: Iterable[Point]) -> Written:
        """`write` the points inside the retention; those older are dropped and counted, as
        InfluxDB does (a point the next prune would delete is not stored at all)."""
        cutoff = self._now() - round(self.retention.total_seconds() * 1000)
        given = list(points)
        kept = [p for p in given if p.ts >= cutoff]
        if len(kept) < len(given):  # a malformed old point is refused, not quietly dropped
            rows_of([p for p in given if p.ts < cutoff])
        rows = await self.write(kept)
        return Written(rows=rows, dropped=len(given) - len(kept))

    def _write_rows(
        self, conn: Connection, rows: Rows, learned: dict[SeriesKey, tuple[int, str, str]]
    ) -> int:
        ids: dict[SeriesKey, int] = {}
        for key, place in rows.series.items():
            known = self._series.get(key)
            if known is None or known[1:] != place:
                (series_id,) = conn.execute(UPSERT_SERIES, (*key, *place)).fetchone()
                known = learned[key] = (series_id, *place)
            ids[key] = known[0]
        conn.executemany(
            UPSERT_READING,
            [(ids[key], ts, value, mark) for key, ts, value, mark in rows.readings],
        )
        conn.executemany(UPSERT_STATUS, rows.statuses)
        conn.executemany(UPSERT_HEALTH, rows.health)
        return len(rows)

    async def prune(self, *, budget: int | None = None) -> PruneResult:
        """Delete rows older than `retention` in one transaction of at most about `budget`
        readings, the oldest of each series first; `done` is False when more are left."""
        limit = self.prune_budget if budget is None else budget
        cutoff = self._now() - round(self.retention.total_seconds() * 1000)

        def job(conn: Connection) -> PruneResult:
            deleted = 0
            for (series,) in conn.execute(q.SERIES_WITH_OLD_ROWS, (cutoff,)).fetchall():
                if deleted >= limit:
                    break
                deleted += q.prune_series(
                    conn, series=series, cutoff=cutoff, at_most=limit - deleted
                )
            if deleted >= limit:
                return PruneResult(deleted, done=False)
            return PruneResult(deleted + q.prune_events(conn, cutoff), done=True)

        return await self._db.write(job)

    async def prune_if_due(self) -> PruneResult | None:
        """`prune` when `prune_every` has passed since the last complete one (or never ran
        in this process); None when not due."""
        now = self._clock.monotonic()
        if self._next_prune is not None and now < self._next_prune:
            return None
        result = await self.prune()
        if result.done:
            self._next_prune = now + self.prune_every.total_seconds()
        return result

    # --- ReadingStore ----------------------------------------------------------------------

    async def latest(
        self, *, site: str, kind: DeviceKind, device: str, points: list[str] | None = None
    ) -> dict[str, PointValue]:
        if points is not None and not points:
            return {}
        rows = await self._db.read(
            lambda c: q.latest(
                c, site=site, kind=DeviceKind(kind).value, device=device, points=points
            )
        )
        return {
            point: PointValue(point=point, ts=ts, value=_scalar(value), quality=_quality(mark))
            for point, ts, value, mark in rows
        }

    async def points(self, kind: DeviceKind) -> list[str]:
        """Every point stored for devices of `kind`."""
        return await self._db.read(lambda c: q.points(c, DeviceKind(kind).value))

    async def range(
        self,
        *,
        site: str,
        kind: DeviceKind,
        device: str,
        point: str,
        start: int,
        end: int,
        limit: int = 10_000,
    ) -> Series:
        key = (site, DeviceKind(kind).value, device, point)
        rows = await self._db.read(lambda c: q.range_(c, key, start, end, limit))
        samples = [
            _sample(ts, None if value is None else _scalar(value), _quality(mark))
            for ts, value, mark in rows
        ]
        return Series(site=site, device=device, point=point, source="raw", samples=samples)

    async def aggregate(
        self,
        *,
        site: str,
        kind: DeviceKind,
        device: str,
        point: str,
        start: int,
        end: int,
        window: timedelta,
        fn: Aggregate,
    ) -> Series:
        window_ms = round(window.total_seconds() * 1000)
        if window_ms <= 0:
            raise QueryError("the aggregation window must be positive")
        key = (site, DeviceKind(kind).value, device, point)
        rows = await self._db.read(lambda c: q.aggregate(c, key, start, end, window_ms, fn))
        samples = [_sample(ts, _scalar(value), Quality.GOOD) for ts, value in rows]
        return Series(
            site=site,
            device=device,
            point=point,
            source="raw",
            aggregate=fn,
            window_ms=window_ms,
            samples=samples,
        )

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
        kind = DeviceKind(kind)
        rows = await self._db.read(
            lambda c: q.readings(
                c, site=site, kind=kind.value, device=device, start=start, end=end, limit=limit
            )
        )
        return _group_readings(kind, rows, limit)

    # --- device status -------------------------------------------------------------------

    async def statuses(
        self, *, site: str, device: str, start: int, end: int, limit: int = 10_000
    ) -> list[dict[str, Any]]:
        """The device's stored `DeviceStatus` fields in `[start, end)`, oldest first: `ts`,
        `state`, `since`, `last_seen`, `consecutive_failures`, `error_kind`, `error_code`,
        `error_message`, `gateway`, `kind`, `building`, `room` (None where absent)."""
        return await self._db.read(
            lambda c: q.statuses(c, site=site, device=device, start=start, end=end, limit=limit)
        )

    def _now(self) -> int:
        return to_epoch_ms(self._clock.now())


def _scalar(value: Any) -> Scalar:
    # Booleans are the only integers stored (numbers are REAL): see sqlite_schema.
    return bool(value) if type(value) is int else value


def _sample(ts: int, value: Scalar | None, quality: Quality) -> Sample:
    # Rows this store wrote itself, typed by its schema: building the model without
    # validating it makes a long range several times faster (bench/readings.py).
    return Sample.model_construct(ts=ts, value=value, quality=quality)


def _quality(mark: str | None) -> Quality:
    return Quality(mark) if mark else Quality.GOOD


def _group_readings(
    kind: DeviceKind, rows: list[tuple[Any, ...]], limit: int
) -> list[DeviceReading]:
    """Rows ordered by (ts, device) -> one `DeviceReading` per (device, ts)."""
    out: list[DeviceReading] = []
    current: tuple[int, str] | None = None
    values: dict[str, Scalar] = {}
    quality: dict[str, Quality] = {}
    place: tuple[str, str] = ("", "")

    def flush() -> None:
        if current is not None:
            ts, device = current
            out.append(
                DeviceReading(
                    device=device,
                    kind=kind,
                    building=place[0],
                    room=place[1],
                    ts=ts,
                    values=dict(values),
                    quality=dict(quality),
                )
            )

    for device, building, room, point, ts, value, mark in rows:
        if (ts, device) != current:
            flush()
            if len(out) == limit:
                return out
            current, place = (ts, device), (building, room)
            values.clear()
            quality.clear()
        if value is not None:
            values[point] = _scalar(value)
        if mark:
            quality[point] = Quality(mark)
    flush()
    return out[:limit]
