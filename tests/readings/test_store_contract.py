"""One behaviour, two stores: InfluxQL over the real influxd and the embedded SQLite file
answer the `ReadingStore` questions alike for the same line protocol written by ingest's
sinks (InfluxDB-only features — rollups, schema setup — are tested in tests/ingest)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from estatewatch.config.devices import DeviceKind
from estatewatch.contracts.payloads import Quality
from estatewatch.readings import Aggregate, QueryError, ReadingStore
from tests.readings.conftest import MINUTE, SITE, T0, Case, telemetry_lines

PUMP = DeviceKind.WATER_PUMP_SET


async def test_latest_value_of_each_point_with_its_quality(store: ReadingStore) -> None:
    latest = await store.latest(site=SITE, kind=PUMP, device="pump-1")
    assert {p: (v.ts - T0, v.value, v.quality) for p, v in latest.items()} == {
        "mode": (20_000, "auto", Quality.GOOD),
        "running": (170_000, True, Quality.GOOD),
        "x": (170_000, 17, Quality.STALE),
    }  # `y` has a quality mark but never a value: absent
    only = await store.latest(site=SITE, kind=PUMP, device="pump-2", points=["x", "nothing"])
    assert list(only) == ["x"]
    assert only["x"].value == 500
    assert await store.latest(site=SITE, kind=PUMP, device="pump-2", points=[]) == {}
    assert await store.latest(site=SITE, kind=PUMP, device="pump-9") == {}
    assert await store.latest(site="elsewhere", kind=PUMP, device="pump-1") == {}


async def test_range_returns_raw_points_with_quality(store: ReadingStore) -> None:
    series = await store.range(site=SITE, kind=PUMP, device="pump-1", point="x",
                               start=T0 + 150_000, end=T0 + 180_000)  # fmt: skip
    assert (series.site, series.device, series.point, series.source) == (
        SITE, "pump-1", "x", "raw",
    )  # fmt: skip
    assert [(s.ts - T0, s.value, s.quality) for s in series.samples] == [
        (150_000, 15, Quality.GOOD),
        (160_000, 16, Quality.GOOD),
        (170_000, 17, Quality.STALE),
    ]
    marks = await store.range(site=SITE, kind=PUMP, device="pump-1", point="y",
                              start=T0, end=T0 + 10 * MINUTE)  # fmt: skip
    assert [(s.ts - T0, s.value, s.quality) for s in marks.samples] == [
        (170_000, None, Quality.ERROR),
    ]


async def test_range_is_half_open_and_limited_from_the_oldest(store: ReadingStore) -> None:
    series = await store.range(site=SITE, kind=PUMP, device="pump-1", point="x",
                               start=T0 + 10_000, end=T0 + 40_000, limit=2)  # fmt: skip
    assert [(s.ts - T0, s.value) for s in series.samples] == [(10_000, 1), (20_000, 2)]
    end_excluded = await store.range(site=SITE, kind=PUMP, device="pump-1", point="x",
                                     start=T0, end=T0 + 10_000)  # fmt: skip
    assert [s.ts - T0 for s in end_excluded.samples] == [0]
    nothing = await store.range(site=SITE, kind=PUMP, device="pump-7", point="x",
                                start=T0, end=T0 + MINUTE)  # fmt: skip
    assert nothing.samples == []


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
    store: ReadingStore, fn: Aggregate, values: list[float]
) -> None:
    series = await store.aggregate(site=SITE, kind=PUMP, device="pump-1", point="x",
                                   start=T0, end=T0 + 10 * MINUTE, window=timedelta(minutes=1),
                                   fn=fn)  # fmt: skip
    assert (series.source, series.aggregate, series.window_ms) == ("raw", fn, MINUTE)
    assert [(s.ts - T0, s.value) for s in series.samples] == list(
        zip((0, MINUTE, 2 * MINUTE), values, strict=True)
    )


async def test_windows_are_aligned_to_the_epoch_not_to_the_start(store: ReadingStore) -> None:
    series = await store.aggregate(site=SITE, kind=PUMP, device="pump-1", point="x",
                                   start=T0 + 30_000, end=T0 + 90_000,
                                   window=timedelta(minutes=1), fn=Aggregate.MIN)  # fmt: skip
    assert [(s.ts - T0, s.value) for s in series.samples] == [(0, 3), (MINUTE, 6)]


async def test_many_small_windows_give_the_same_answers(store: ReadingStore) -> None:
    # 6000 windows of 100 ms: the SQLite store groups in one statement beyond 2000 windows
    tiny = timedelta(milliseconds=100)
    series = await store.aggregate(site=SITE, kind=PUMP, device="pump-1", point="x",
                                   start=T0, end=T0 + 10 * MINUTE, window=tiny,
                                   fn=Aggregate.MAX)  # fmt: skip
    assert [(s.ts - T0, s.value) for s in series.samples] == [(k * 10_000, k) for k in range(18)]
    last = await store.aggregate(site=SITE, kind=PUMP, device="pump-1", point="mode",
                                 start=T0, end=T0 + 10 * MINUTE, window=tiny,
                                 fn=Aggregate.LAST)  # fmt: skip
    assert [(s.ts - T0, s.value) for s in last.samples] == [(20_000, "auto")]


async def test_booleans_aggregate_as_any_false_any_true_and_text_only_as_last(
    store: ReadingStore,
) -> None:
    async def agg(point: str, fn: Aggregate) -> list[object]:
        series = await store.aggregate(site=SITE, kind=PUMP, device="pump-1", point=point,
                                       start=T0, end=T0 + 10 * MINUTE,
                                       window=timedelta(minutes=10), fn=fn)  # fmt: skip
        return [s.value for s in series.samples]

    assert await agg("running", Aggregate.MIN) == [False]
    assert await agg("running", Aggregate.MAX) == [True]
    assert await agg("running", Aggregate.LAST) == [True]
    assert await agg("mode", Aggregate.LAST) == ["auto"]
    with pytest.raises(QueryError):
        await agg("running", Aggregate.MEAN)
    with pytest.raises(QueryError):
        await agg("mode", Aggregate.MAX)
    with pytest.raises(QueryError, match="window must be positive"):
        await store.aggregate(site=SITE, kind=PUMP, device="pump-1", point="x", start=T0,
                              end=T0 + MINUTE, window=timedelta(0), fn=Aggregate.MAX)  # fmt: skip


async def test_readings_come_back_as_the_gateway_sent_them(store: ReadingStore) -> None:
    readings = await store.readings(site=SITE, kind=PUMP, start=T0 + 160_000, end=T0 + 180_000)
    assert [(r.device, r.ts - T0, r.values, r.quality) for r in readings] == [
        ("pump-1", 160_000, {"x": 16, "running": False}, {}),
        ("pump-1", 170_000, {"x": 17, "running": True},
         {"x": Quality.STALE, "y": Quality.ERROR}),
    ]  # fmt: skip
    assert (readings[0].building, readings[0].room, readings[0].kind) == ("b", "r", PUMP)
    merged = await store.readings(site=SITE, kind=PUMP, start=T0 + 20_000, end=T0 + 20_001)
    assert [r.values for r in merged] == [{"x": 2, "running": False, "mode": "auto"}]


async def test_readings_page_by_limit_across_devices(store: ReadingStore) -> None:
    first = await store.readings(site=SITE, kind=PUMP, start=T0, end=T0 + MINUTE, limit=3)
    assert [(r.device, r.ts - T0) for r in first] == [
        ("pump-1", 0), ("pump-2", 0), ("pump-1", 10_000),
    ]  # fmt: skip
    rest = await store.readings(site=SITE, kind=PUMP, start=first[-1].ts + 1, end=T0 + MINUTE)
    assert [r.ts - T0 for r in rest] == [20_000, 30_000, 40_000, 50_000]
    one = await store.readings(site=SITE, kind=PUMP, device="pump-2", start=T0, end=T0 + MINUTE)
    assert [(r.device, r.values) for r in one] == [("pump-2", {"x": 500})]
    assert await store.readings(site=SITE, kind=DeviceKind.ELEVATOR, start=T0, end=T0 + 1) == []


async def test_a_replayed_batch_overwrites_itself(case: Case) -> None:
    replayed = telemetry_lines().replace(b"x=3.0,", b"x=3.5,")  # one value corrected
    await case.write(replayed)
    await case.write(replayed)
    series = await case.store.range(site=SITE, kind=PUMP, device="pump-1", point="x",
                                    start=T0, end=T0 + 10 * MINUTE)  # fmt: skip
    assert len(series.samples) == 18
    assert [s.value for s in series.samples][2:5] == [2, 3.5, 4]
    readings = await case.store.readings(site=SITE, kind=PUMP, start=T0, end=T0 + 10 * MINUTE)
    assert len(readings) == 19
