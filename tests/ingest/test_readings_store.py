"""The InfluxQL reading store against the real influxd: schema setup, latest, range,
aggregates, replayable readings, and rollups read transparently for old ranges."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import pytest

from estatewatch.clock import FakeClock, from_epoch_ms
from estatewatch.config.devices import DeviceKind
from estatewatch.contracts.payloads import Quality
from estatewatch.readings import (
    Aggregate,
    InfluxConnection,
    InfluxQLStore,
    QueryError,
    Retention,
    StoreUnavailable,
)
from estatewatch.readings.schema import backfill_statement
from estatewatch.testing.services import InfluxDB, free_port
from ingest.sinks import SinkSettings, make_sink
from tests.ingest.helpers import now_ms

PUMP = DeviceKind.WATER_PUMP_SET
SITE = "hv"
MINUTE = 60_000
T0 = (now_ms() // (10 * MINUTE) - 6) * 10 * MINUTE  # about an hour ago, windows aligned


@pytest.fixture
async def store(influxdb: InfluxDB) -> AsyncIterator[InfluxQLStore]:
    db = f"store_{free_port()}"
    async with InfluxQLStore(InfluxConnection(influxdb.url, db)) as s:
        await s.setup()
        sink = make_sink("v1", SinkSettings(url=influxdb.url, database=db, retention_policy="raw"))
        lines = []
        for k in range(18):  # 3 minutes, every 10 s: x = 0..17
            quality = ',x.quality="stale"' if k == 17 else ""
            lines.append(f"water_pump_set,building=b,device=pump-1,room=r,site={SITE} "
                         f"x={k}.0,running={'true' if k % 2 else 'false'}{quality} "
                         f"{T0 + k * 10_000}")  # fmt: skip
        lines.append(f"water_pump_set,building=b,device=pump-2,room=r,site={SITE} x=500.0 {T0}")
        lines.append(f"water_pump_set,building=b,device=pump-1,room=r,site={SITE} "
                     f'y.quality="error" {T0 + 170_000}')  # fmt: skip
        await sink.write("\n".join(lines).encode())
        await sink.aclose()
        yield s


async def test_setup_is_repeatable_and_applies_new_durations(
    influxdb: InfluxDB, store: InfluxQLStore
) -> None:
    db = store.connection.database
    await store.setup()
    async with InfluxQLStore(
        store.connection, retention=Retention(raw=timedelta(days=7), rollup=timedelta(days=365))
    ) as other:
        await other.setup()
    rows: Any = influxdb.query(f'SHOW RETENTION POLICIES ON "{db}"')
    policies = {v[0]: (v[1], v[4]) for v in rows["results"][0]["series"][0]["values"]}
    assert policies["raw"] == ("168h0m0s", True)
    assert policies["rollup_1m"] == ("8760h0m0s", False)
    cqs: Any = influxdb.query("SHOW CONTINUOUS QUERIES")
    ours = [s for s in cqs["results"][0]["series"] if s["name"] == db]
    assert [v[0] for v in ours[0]["values"]] == ["ew_rollup_1m"]


async def test_latest_value_of_each_point_with_its_quality(store: InfluxQLStore) -> None:
    latest = await store.latest(site=SITE, kind=PUMP, device="pump-1")
    assert {p: (v.ts, v.value, v.quality) for p, v in latest.items()} == {
        "running": (T0 + 170_000, True, Quality.GOOD),
        "x": (T0 + 170_000, 17, Quality.STALE),
    }
    only = await store.latest(site=SITE, kind=PUMP, device="pump-2", points=["x", "nothing"])
    assert list(only) == ["x"]
    assert only["x"].value == 500


async def test_range_returns_raw_points_with_quality(store: InfluxQLStore) -> None:
    series = await store.range(site=SITE, kind=PUMP, device="pump-1", point="x",
                               start=T0 + 150_000, end=T0 + 180_000)  # fmt: skip
    assert series.source == "raw"
    assert [(s.ts - T0, s.value, s.quality) for s in series.samples] == [
        (150_000, 15, Quality.GOOD),
        (160_000, 16, Quality.GOOD),
        (170_000, 17, Quality.STALE),
    ]


@pytest.mark.parametrize(
    ("fn", "values"),
    [
        (Aggregate.MEAN, [2.5, 8.5, 14.5]),
        (Aggregate.MIN, [0, 6, 12]),
        (Aggregate.MAX, [5, 11, 17]),
        (Aggregate.LAST, [5, 11, 17]),
    ],
)
async def test_aggregates_by_window(
    store: InfluxQLStore, fn: Aggregate, values: list[float]
) -> None:
    series = await store.aggregate(site=SITE, kind=PUMP, device="pump-1", point="x",
                                   start=T0, end=T0 + 10 * MINUTE, window=timedelta(minutes=1),
                                   fn=fn)  # fmt: skip
    assert series.source == "raw"
    assert [(s.ts - T0, s.value) for s in series.samples] == list(
        zip((0, MINUTE, 2 * MINUTE), values, strict=True)
    )


async def test_readings_come_back_as_the_gateway_sent_them(store: InfluxQLStore) -> None:
    readings = await store.readings(site=SITE, kind=PUMP, start=T0 + 160_000, end=T0 + 180_000)
    assert [(r.device, r.ts - T0, r.values, r.quality) for r in readings] == [
        ("pump-1", 160_000, {"x": 16, "running": False}, {}),
        ("pump-1", 170_000, {"x": 17, "running": True},
         {"x": Quality.STALE, "y": Quality.ERROR}),
    ]  # fmt: skip
    assert readings[0].building == "b"
    assert readings[0].room == "r"


async def test_old_ranges_are_read_from_the_rollups(
    influxdb: InfluxDB, store: InfluxQLStore
) -> None:
    db = store.connection.database
    # What the continuous query does each minute, for these minutes, now:
    influxdb.query(backfill_statement(db, store.retention, T0, T0 + 5 * MINUTE), db)
    later = FakeClock(from_epoch_ms(T0 + 40 * 86_400_000))  # raw points have expired by then
    async with InfluxQLStore(store.connection, clock=later) as old:
        series = await old.range(site=SITE, kind=PUMP, device="pump-1", point="x",
                                 start=T0, end=T0 + 10 * MINUTE)  # fmt: skip
        peaks = await old.aggregate(site=SITE, kind=PUMP, device="pump-1", point="x",
                                    start=T0, end=T0 + 10 * MINUTE, window=timedelta(minutes=2),
                                    fn=Aggregate.MAX)  # fmt: skip
    assert series.source == "rollup_1m"
    assert [(s.ts - T0, s.value) for s in series.samples] == [
        (0, 2.5), (MINUTE, 8.5), (2 * MINUTE, 14.5),
    ]  # fmt: skip
    assert peaks.source == "rollup_1m"
    assert [(s.ts - T0, s.value) for s in peaks.samples] == [(0, 11), (2 * MINUTE, 17)]


async def test_errors(influxdb: InfluxDB) -> None:
    async with InfluxQLStore(InfluxConnection(influxdb.url, "no_such_database")) as store:
        with pytest.raises(QueryError, match="database not found"):
            await store.range(site=SITE, kind=PUMP, device="p", point="x", start=0, end=1)
        with pytest.raises(QueryError, match="does database 'no_such_database' exist"):
            await store.latest(site=SITE, kind=PUMP, device="p", points=["x"])
    nowhere = InfluxConnection(f"http://127.0.0.1:{free_port()}", "x")
    async with InfluxQLStore(nowhere) as store:
        assert not await store.ping()
        with pytest.raises(StoreUnavailable):
            await store.latest(site=SITE, kind=PUMP, device="p", points=["x"])
