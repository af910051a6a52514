"""The reading store over InfluxQL on ``/query``, which InfluxDB 1.x, 2.x (v1 compatibility
API, a DBRP mapping) and 3.x all answer.

    async with InfluxQLStore(InfluxConnection("http://127.0.0.1:8086", "estatewatch")) as store:
        values = await store.latest(site="harbour-view", kind=DeviceKind.ELEVATOR,
                                    device="elevator-3")
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import timedelta
from types import TracebackType
from typing import Any

import httpx
import orjson

from estatewatch.clock import Clock, SystemClock, to_epoch_ms
from estatewatch.config.devices import DeviceKind
from estatewatch.contracts.payloads import DeviceReading, Quality, Scalar
from estatewatch.readings.query import Planner
from estatewatch.readings.quoting import ident
from estatewatch.readings.schema import (
    QUALITY_SUFFIX,
    READING_TAGS,
    ROLLUP_QUERY,
    Retention,
    alter_policy_statement,
    is_quality_field,
    setup_statements,
)
from estatewatch.readings.store import (
    Aggregate,
    PointValue,
    QueryError,
    Sample,
    Series,
    StoreUnavailable,
)

log = logging.getLogger(__name__)

Row = dict[str, Any]


@dataclass(frozen=True)
class InfluxConnection:
    """How to reach InfluxDB's v1 API. `token` (2.x/3.x) is sent as ``Authorization: Token``;
    `username`/`password` (1.x, or a 2.x v1 authorization) as HTTP basic auth."""

    url: str = "http://127.0.0.1:8086"
    database: str = "estatewatch"
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    token: str | None = field(default=None, repr=False)
    timeout: float = 30.0

    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Token {self.token}"} if self.token else {}

    def auth(self) -> httpx.BasicAuth | None:
        if self.username is None:
            return None
        return httpx.BasicAuth(self.username, self.password or "")


class InfluxQLStore:
    """`ReadingStore` over InfluxQL. An async context manager owning one keep-alive client."""

    def __init__(
        self,
        connection: InfluxConnection,
        *,
        retention: Retention | None = None,
        clock: Clock | None = None,
        rollup_after: timedelta = timedelta(days=2),
    ) -> None:
        self.connection = connection
        self.retention = retention or Retention()
        self.planner = Planner(self.retention, rollup_after)
        self._clock = clock or SystemClock()
        self._http = httpx.AsyncClient(
            base_url=connection.url,
            headers=connection.headers(),
            auth=connection.auth(),
            timeout=connection.timeout,
        )

    async def __aenter__(self) -> InfluxQLStore:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._http.aclose()

    # --- the InfluxQL round trip ---------------------------------------------------------

    async def execute(self, statements: list[str], *, database: bool = True) -> list[list[Row]]:
        """Run statements in one request; per statement, its rows (every series flattened,
        each row carrying its series' tags). Raises `QueryError` on the first that failed."""
        data = {"q": ";".join(statements), "epoch": "ms"}
        if database:
            data["db"] = self.connection.database
        try:
            response = await self._http.post("/query", data=data)
        except httpx.TransportError as exc:
            raise StoreUnavailable(f"InfluxDB at {self.connection.url}: {exc!r}") from exc
        if response.status_code >= 500 or response.status_code == 429:
            raise StoreUnavailable(f"InfluxDB answered {response.status_code}: {response.text}")
        try:
            body = orjson.loads(response.content)
        except orjson.JSONDecodeError:
            raise QueryError(f"InfluxDB answered {response.status_code}: {response.text}") from None
        if "error" in body:
            raise QueryError(str(body["error"]))
        results = body.get("results", [])
        errors = [str(r["error"]) for r in results if "error" in r]
        if errors:
            # InfluxDB 1.x answers a multi-statement query on a missing database with only
            # "not executed": say what is most likely wrong.
            useful = [e for e in errors if e != "not executed"]
            raise QueryError(
                useful[0]
                if useful
                else f"InfluxDB did not execute the query (does database "
                f"{self.connection.database!r} exist?)"
            )
        out = [_rows(result) for result in results]
        if response.status_code >= 400:
            raise QueryError(f"InfluxDB answered {response.status_code}: {response.text}")
        return out

    async def ping(self) -> bool:
        try:
            response = await self._http.get("/ping")
        except httpx.TransportError:
            return False
        return response.status_code == 204

    # --- schema --------------------------------------------------------------------------

    async def setup(self) -> None:
        """Create the database, retention policies and rollup query (InfluxDB 1.x; needs an
        admin user when authentication is on). Safe to run at every start: existing policies
        are altered to the configured durations and the continuous query is recreated."""
        db = self.connection.database
        r = self.retention
        statements = setup_statements(db, r)
        await self.execute(statements[:1], database=False)
        (policies,) = await self.execute([f"SHOW RETENTION POLICIES ON {ident(db)}"])
        existing = {row["name"] for row in policies}
        for policy, keep, default in (
            (r.raw_policy, r.raw, True),
            (r.rollup_policy if r.raw_policy else None, r.rollup, False),
        ):
            if policy is None:
                continue
            if policy in existing:
                await self.execute([alter_policy_statement(db, policy, keep, default)])
            else:
                await self.execute([s for s in statements if f"POLICY {ident(policy)}" in s])
        cq = [s for s in statements if s.startswith("CREATE CONTINUOUS QUERY")]
        if cq:
            (queries,) = await self.execute(["SHOW CONTINUOUS QUERIES"], database=False)
            if any(row.get("name") == ROLLUP_QUERY and row.get("_series") == db for row in queries):
                await self.execute([f"DROP CONTINUOUS QUERY {ident(ROLLUP_QUERY)} ON {ident(db)}"])
            await self.execute(cq)

    # --- ReadingStore ---------------------------------------------------------------------

    async def latest(
        self, *, site: str, kind: DeviceKind, device: str, points: list[str] | None = None
    ) -> dict[str, PointValue]:
        if points is None:
            points = await self.points(kind)
        if not points:
            return {}
        results = await self.execute(
            self.planner.latest(site=site, kind=kind, device=device, points=points)
        )
        out: dict[str, PointValue] = {}
        for i, point in enumerate(points):
            values, marks = results[2 * i], results[2 * i + 1]
            if not values:
                continue
            ts, value = values[0]["time"], values[0]["last"]
            quality = Quality.GOOD
            if marks and marks[0]["time"] == ts:
                quality = Quality(marks[0]["last"])
            out[point] = PointValue(point=point, ts=ts, value=value, quality=quality)
        return out

    async def points(self, kind: DeviceKind) -> list[str]:
        """Every point stored for devices of `kind` (from InfluxDB's field keys)."""
        (rows,) = await self.execute([self.planner.field_keys(kind)])
        return sorted(row["fieldKey"] for row in rows if not is_quality_field(row["fieldKey"]))

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
        source = self.planner.source(now=self._now(), start=start)
        q = self.planner.range(
            source=source,
            site=site,
            kind=kind,
            device=device,
            point=point,
            start=start,
            end=end,
            limit=limit,
        )
        (rows,) = await self.execute([q])
        samples = []
        for row in rows:
            if source == "raw":
                mark = row.get(point + QUALITY_SUFFIX)
                quality = Quality(mark) if mark else Quality.GOOD
                samples.append(Sample(ts=row["time"], value=row.get(point), quality=quality))
            else:
                samples.append(Sample(ts=row["time"], value=row.get(f"mean_{point}")))
        return Series(site=site, device=device, point=point, source=source, samples=samples)

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
        if window <= timedelta(0):
            raise QueryError("the aggregation window must be positive")
        source = self.planner.source(now=self._now(), start=start, window=window)
        q = self.planner.aggregate(
            source=source,
            site=site,
            kind=kind,
            device=device,
            point=point,
            start=start,
            end=end,
            window=window,
            fn=fn,
        )
        (rows,) = await self.execute([q])
        samples = [Sample(ts=row["time"], value=row[fn.value]) for row in rows]
        return Series(
            site=site,
            device=device,
            point=point,
            source=source,
            aggregate=fn,
            window_ms=round(window.total_seconds() * 1000),
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
        q = self.planner.readings(
            site=site, kind=kind, start=start, end=end, device=device, limit=limit
        )
        (rows,) = await self.execute([q])
        return [_reading(kind, row) for row in rows]

    def _now(self) -> int:
        return to_epoch_ms(self._clock.now())


def _rows(result: dict[str, Any]) -> list[Row]:
    rows: list[Row] = []
    for series in result.get("series", []):
        columns = series["columns"]
        tags = series.get("tags") or {}
        for values in series.get("values", []):
            row = dict(zip(columns, values, strict=True))
            row.update(tags)
            row["_series"] = series.get("name")
            rows.append(row)
    return rows


def _reading(kind: DeviceKind, row: Row) -> DeviceReading:
    values: dict[str, Scalar] = {}
    quality: dict[str, Quality] = {}
    for key, value in row.items():
        if key in READING_TAGS or key in ("time", "_series") or value is None:
            continue
        if is_quality_field(key):
            quality[key[: -len(QUALITY_SUFFIX)]] = Quality(value)
        else:
            values[key] = value
    return DeviceReading(
        device=row["device"],
        kind=kind,
        building=row["building"],
        room=row["room"],
        ts=row["time"],
        values=values,
        quality=quality,
    )
