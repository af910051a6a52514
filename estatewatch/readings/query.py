"""InfluxQL for the reading store, as pure functions: which data answers a question (raw
points or rollups) and the statement that asks it. Table-tested without a server."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from estatewatch.config.devices import DeviceKind
from estatewatch.readings.quoting import ident
from estatewatch.readings.schema import (
    ROLLUP_INTERVAL,
    Retention,
    RollupFn,
    measurement,
    quality_field,
    rollup_field,
    tag_filter,
)
from estatewatch.readings.store import Aggregate, Source

_ROLLUP_OF: dict[Aggregate, tuple[str, RollupFn]] = {
    # the aggregate over rollups, and which rollup field it reads
    Aggregate.MEAN: ("mean", "mean"),  # mean of 1-minute means (exact when minutes are full)
    Aggregate.MIN: ("min", "min"),
    Aggregate.MAX: ("max", "max"),
    Aggregate.LAST: ("last", "mean"),  # the last minute's mean: the closest a rollup knows
}


@dataclass(frozen=True)
class Planner:
    """Chooses raw points or rollups for a question and writes the InfluxQL that asks it."""

    retention: Retention
    rollup_after: timedelta = timedelta(days=2)
    """Aggregates over a longer range read the rollups even while raw points exist."""

    def source(self, *, now: int, start: int, window: timedelta | None = None) -> Source:
        """Rollups when raw points no longer cover `start` (or the range is long and the
        window is whole minutes); raw otherwise, and always when there are no rollups."""
        r = self.retention
        if r.rollup_policy is None:
            return "raw"
        minutes = window is not None and window % ROLLUP_INTERVAL == timedelta(0)
        if window is not None and not minutes:
            return "raw"
        if start < now - _ms(r.raw):
            return "rollup_1m"
        if minutes and start < now - _ms(self.rollup_after):
            return "rollup_1m"
        return "raw"

    def _from(self, source: Source, kind: DeviceKind) -> str:
        policy = self.retention.raw_policy if source == "raw" else self.retention.rollup_policy
        m = ident(measurement(kind))
        return f"{ident(policy)}.{m}" if policy else m

    def field_keys(self, kind: DeviceKind) -> str:
        return f"SHOW FIELD KEYS FROM {self._from('raw', kind)}"

    def latest(self, *, site: str, kind: DeviceKind, device: str, points: list[str]) -> list[str]:
        """Two statements per point: its last value, and its last quality mark (the value
        is `stale`/`error` only when both have the same time)."""
        where = tag_filter(site=site, device=device)
        src = self._from("raw", kind)
        out = []
        for point in points:
            for field in (point, quality_field(point)):
                out.append(f"SELECT last({ident(field)}) FROM {src} WHERE {where}")
        return out

    def range(
        self,
        *,
        source: Source,
        site: str,
        kind: DeviceKind,
        device: str,
        point: str,
        start: int,
        end: int,
        limit: int,
    ) -> str:
        where = f"{tag_filter(site=site, device=device)} AND {_between(start, end)}"
        if source == "raw":
            fields = f"{ident(point)}, {ident(quality_field(point))}"
        else:
            fields = ident(rollup_field("mean", point))
        return (
            f"SELECT {fields} FROM {self._from(source, kind)} WHERE {where} "
            f"ORDER BY time ASC LIMIT {int(limit)}"
        )

    def aggregate(
        self,
        *,
        source: Source,
        site: str,
        kind: DeviceKind,
        device: str,
        point: str,
        start: int,
        end: int,
        window: timedelta,
        fn: Aggregate,
    ) -> str:
        if source == "raw":
            call = f"{fn.value}({ident(point)})"
        else:
            outer, field_fn = _ROLLUP_OF[fn]
            call = f"{outer}({ident(rollup_field(field_fn, point))})"
        where = f"{tag_filter(site=site, device=device)} AND {_between(start, end)}"
        return (
            f"SELECT {call} FROM {self._from(source, kind)} WHERE {where} "
            f"GROUP BY time({_ms(window)}ms) fill(none)"
        )

    def readings(
        self, *, site: str, kind: DeviceKind, start: int, end: int, device: str | None, limit: int
    ) -> str:
        tags = {"site": site} if device is None else {"site": site, "device": device}
        where = f"{tag_filter(**tags)} AND {_between(start, end)}"
        return (
            f"SELECT * FROM {self._from('raw', kind)} WHERE {where} "
            f"ORDER BY time ASC LIMIT {int(limit)}"
        )


def _between(start: int, end: int) -> str:
    return f"time >= {int(start)}ms AND time < {int(end)}ms"


def _ms(value: timedelta) -> int:
    return round(value.total_seconds() * 1000)
