"""What only the embedded SQLite store does: its writer (all or nothing, merging, types),
device status and gateway health, retention, two processes on one file, its errors."""

from __future__ import annotations

import sqlite3
from datetime import timedelta
from pathlib import Path

import pytest

from estatewatch.clock import FakeClock, from_epoch_ms, to_epoch_ms
from estatewatch.config.devices import DeviceKind
from estatewatch.contracts.examples import EXAMPLES
from estatewatch.contracts.payloads import DeviceStatus, GatewayHealth, Quality
from estatewatch.readings import QueryError, StoreUnavailable
from estatewatch.readings.sqlite import SqliteReadingStore
from estatewatch.readings.sqlite_schema import Point, PointRejected
from ingest.lineparse import parse_lines
from ingest.points import health_line, status_line

PUMP = DeviceKind.WATER_PUMP_SET
DAY = 86_400_000
NOW = to_epoch_ms(FakeClock().now())
TAGS = {"building": "b", "device": "pump-1", "room": "r", "site": "hv"}


def reading(ts: int, **fields: float | bool | str) -> Point:
    return Point("water_pump_set", TAGS, fields, ts)


def count(path: Path, table: str = "readings") -> int:
    with sqlite3.connect(path) as conn:
        return int(conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0])


async def test_values_keep_their_types_and_rows_merge_like_influxdb_points(
    tmp_path: Path,
) -> None:
    async with SqliteReadingStore(tmp_path / "r.db") as store:
        await store.write([reading(NOW, x=3.0, on=True, mode="auto")])
        await store.write([reading(NOW, **{"x.quality": "stale"})])  # a mark alone merges
        await store.write([reading(NOW + 1, x=4.0, **{"x.quality": "good"})])
        latest = await store.latest(site="hv", kind=PUMP, device="pump-1")
    assert {p: (v.ts - NOW, v.value, type(v.value), v.quality) for p, v in latest.items()} == {
        "mode": (0, "auto", str, Quality.GOOD),
        "on": (0, True, bool, Quality.GOOD),
        "x": (1, 4.0, float, Quality.GOOD),
    }
    assert count(tmp_path / "r.db") == 4  # (x, NOW), (x, NOW + 1), (on, NOW), (mode, NOW)


async def test_a_batch_with_a_point_that_does_not_fit_writes_nothing(tmp_path: Path) -> None:
    bad = [
        Point("boiler", TAGS, {"x": 1.0}, NOW),
        Point("water_pump_set", {"device": "pump-1", "site": "hv"}, {"x": 1.0}, NOW),
        reading(NOW, **{"x.quality": "bad"}),
        Point("device_status", {**TAGS, "kind": "elevator"}, {"state": "online", "x": 1.0}, NOW),
        Point("device_status", {**TAGS, "kind": "elevator"}, {"since": 1.0}, NOW),
    ]
    async with SqliteReadingStore(tmp_path / "r.db") as store:
        for point in bad:
            with pytest.raises(PointRejected):
                await store.write([reading(NOW, x=1.0), point])
        assert await store.write([]) == 0
    assert count(tmp_path / "r.db") == 0


async def test_device_status_and_gateway_health_are_kept(tmp_path: Path) -> None:
    status, health = EXAMPLES["device_status"], EXAMPLES["gateway_health"]
    assert isinstance(status, DeviceStatus)
    assert isinstance(health, GatewayHealth)
    problems: list[str] = []
    lines = f"{status_line(status)}\n{health_line(health, problems)}"
    async with SqliteReadingStore(tmp_path / "r.db") as store:
        await store.write(parse_lines(lines))
        await store.write(parse_lines(lines))  # replayed: overwrites
        found = await store.statuses(
            site=status.site, device=status.device, start=status.ts, end=status.ts + 1
        )
    assert found == [
        {
            "ts": status.ts,
            "state": "offline",
            "since": status.since,
            "last_seen": status.last_seen,
            "consecutive_failures": 3,
            "error_kind": "timeout",
            "error_code": None,
            "error_message": "no answer from 10.0.3.12:502 unit 1",
            "gateway": status.gateway,
            "kind": "power_room",
            "building": "podium",
            "room": "power-room-2",
        }
    ]
    with sqlite3.connect(tmp_path / "r.db") as conn:
        rows = conn.execute("SELECT site, gateway, ts, fields FROM gateway_health").fetchall()
    assert len(rows) == 1
    assert rows[0][:3] == (health.site, health.gateway, health.ts)
    assert '"devices_online":18.0' in rows[0][3]


async def test_retention_deletes_old_rows_within_a_budget_per_call(tmp_path: Path) -> None:
    clock = FakeClock()
    path = tmp_path / "r.db"
    old = [reading(NOW - 40 * DAY + i, x=float(i), y=1.0) for i in range(5)]
    status = Point("device_status", {**TAGS, "kind": "water_pump_set"}, {"state": "online"}, 0)
    async with SqliteReadingStore(path, clock=clock, prune_every=timedelta(hours=1)) as store:
        await store.write([*old, reading(NOW - 29 * DAY, x=9.0), status._replace(ts=NOW)])
        await store.write([status._replace(ts=NOW - 31 * DAY)])
        assert count(path) == 11
        partial = await store.prune(budget=3)
        assert (partial.deleted, partial.done) == (3, False)
        assert count(path) == 8
        assert (await store.prune_if_due()) is not None  # the first call in a process prunes
        assert count(path) == 1
        assert count(path, "device_status") == 1
        assert await store.prune_if_due() is None  # not due for another hour
        await store.write([reading(NOW - 31 * DAY, x=1.0)])
        clock.set(from_epoch_ms(NOW + 3_600_000))
        result = await store.prune_if_due()
        assert result is not None
        assert (result.deleted, result.done) == (1, True)
        kept = await store.range(site="hv", kind=PUMP, device="pump-1", point="x", start=0,
                                 end=NOW)  # fmt: skip
    assert [s.ts for s in kept.samples] == [NOW - 29 * DAY]


async def test_a_reader_and_a_writer_share_one_file(tmp_path: Path) -> None:
    """Ingest writes, the API reads: two stores (as two processes would), either first."""
    path = tmp_path / "deep" / "r.db"
    async with SqliteReadingStore(path) as api, SqliteReadingStore(path) as ingest:
        assert await api.latest(site="hv", kind=PUMP, device="pump-1") == {}
        await ingest.write([reading(NOW, x=1.0)])
        assert (await api.latest(site="hv", kind=PUMP, device="pump-1"))["x"].value == 1.0
        await ingest.write([reading(NOW + 1, x=2.0)])
        assert (await api.latest(site="hv", kind=PUMP, device="pump-1"))["x"].value == 2.0
    with sqlite3.connect(path) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone() == ("wal",)


async def test_errors(tmp_path: Path) -> None:
    (tmp_path / "a-directory").mkdir()
    with pytest.raises(StoreUnavailable, match="unable to open"):
        async with SqliteReadingStore(tmp_path / "a-directory"):
            pass
    newer = tmp_path / "newer.db"
    with sqlite3.connect(newer) as conn:
        conn.execute("PRAGMA user_version = 99")
    with pytest.raises(QueryError, match="schema version 99"):
        async with SqliteReadingStore(newer):
            pass
    store = SqliteReadingStore(tmp_path / "closed.db")
    with pytest.raises(StoreUnavailable, match="not open"):
        await store.latest(site="hv", kind=PUMP, device="pump-1")
    with pytest.raises(ValueError, match="retention"):
        SqliteReadingStore(tmp_path / "x.db", retention=timedelta(0))


async def test_an_integer_value_reads_back_as_a_number(tmp_path: Path) -> None:
    # Booleans are the store's only integers: `12i` of line protocol must not become True.
    tags = {"building": "podium", "device": "pump-x", "room": "pump-room", "site": "s"}
    async with SqliteReadingStore(tmp_path / "r.db") as store:
        await store.write([Point("water_pump_set", tags, {"run_hours": 9000, "on": True}, 5)])
        latest = await store.latest(site="s", kind=DeviceKind.WATER_PUMP_SET, device="pump-x")
    assert latest["run_hours"].value == 9000.0
    assert type(latest["run_hours"].value) is float
    assert latest["on"].value is True
