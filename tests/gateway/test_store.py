"""The SQLite queue and the pipeline into it: seq gap-free and durable, bounds with
drop-oldest counted, commits that survive kill -9."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

from estatewatch.clock import FakeClock
from estatewatch.config import SiteConfig
from estatewatch.contracts.codec import decode
from estatewatch.contracts.payloads import DeviceState, DeviceStatus, TelemetryBatch
from gateway.devices import Reading
from gateway.messages import Outgoing, ReadingEncoder, Stream
from gateway.pipeline import Pipeline
from gateway.store import PRIORITY, TELEMETRY, NewRow, Store

ROOT = Path(__file__).resolve().parents[2]


def row(seq: int, size: int = 100, lane: int = TELEMETRY, retain: bool = False) -> NewRow:
    return NewRow(lane, "telemetry", seq, "t/x", retain, b"x" * size)


async def test_rows_come_back_in_order_and_go_when_acknowledged(tmp_path: Path) -> None:
    async with Store(tmp_path / "q.db") as store:
        await store.append([row(0), row(1), row(2, lane=PRIORITY)], now_ms=1000)
        telemetry = await store.fetch(TELEMETRY, after=0, upto=None, limit=10)
        assert [r.seq for r in telemetry] == [0, 1]
        assert [r.seq for r in await store.fetch(PRIORITY, after=0, upto=None, limit=10)] == [2]
        await store.delete([telemetry[0].id])
        assert store.stats.depth == 2
        assert store.stats.bytes == 200
        assert store.stats.published_total == 1
        remaining = await store.fetch(TELEMETRY, after=0, upto=None, limit=10)
        assert [r.seq for r in remaining] == [1]


async def test_seq_and_counters_survive_a_restart(tmp_path: Path) -> None:
    path = tmp_path / "q.db"
    async with Store(path) as store:
        await store.append([row(0), row(1)], now_ms=1000)
        assert store.next_seq == {"telemetry": 2}
    async with Store(path) as store:
        assert store.next_seq == {"telemetry": 2}
        assert store.stats.depth == 2
        assert store.stats.oldest_ms == 1000
        assert store.last_id[TELEMETRY] == 2


async def test_the_oldest_go_first_when_full_and_are_counted(tmp_path: Path) -> None:
    path = tmp_path / "q.db"
    async with Store(path, max_bytes=1000) as store:
        await store.append([row(i) for i in range(8)], now_ms=1000)
        dropped = await store.append([row(8, 300)], now_ms=1000)
        assert dropped == 1  # 800 + 300 > 1000: seq 0 goes
        rows = await store.fetch(TELEMETRY, after=0, upto=None, limit=100)
        assert [r.seq for r in rows] == [1, 2, 3, 4, 5, 6, 7, 8]
        # an in-flight row is kept: the next one goes instead
        dropped = await store.append([row(9, 200)], now_ms=1000, protect={rows[0].id})
        assert dropped == 2
        rows = await store.fetch(TELEMETRY, after=0, upto=None, limit=100)
        assert [r.seq for r in rows] == [1, 4, 5, 6, 7, 8, 9]
    async with Store(path, max_bytes=1000) as store:
        assert store.stats.dropped_total == 3


async def test_when_full_telemetry_goes_before_patrol_scans(tmp_path: Path) -> None:
    def scan(seq: int) -> NewRow:
        return NewRow(PRIORITY, "patrol", seq, "t/scan", False, b"s" * 100)

    async with Store(tmp_path / "q.db", max_bytes=1000) as store:
        await store.append([scan(0), row(0), scan(1), row(1)], now_ms=1000)
        await store.append([row(i) for i in range(2, 8)], now_ms=2000)
        assert await store.append([row(8, 300)], now_ms=3000) == 3  # telemetry 0, 1, 2
        scans = await store.fetch(PRIORITY, after=0, upto=None, limit=10)
        assert [r.seq for r in scans] == [0, 1]
        # with no telemetry left to drop, the oldest priority rows go after all
        telemetry = await store.fetch(TELEMETRY, after=0, upto=None, limit=10)
        await store.delete([r.id for r in telemetry])
        await store.append([scan(n) for n in range(2, 12)], now_ms=4000)
        scans = await store.fetch(PRIORITY, after=0, upto=None, limit=20)
        assert [r.seq for r in scans] == list(range(2, 12))


async def test_too_old_rows_go(tmp_path: Path) -> None:
    async with Store(tmp_path / "q.db", max_age_ms=60_000) as store:
        await store.append([row(0), row(1)], now_ms=1_000)
        await store.append([row(2)], now_ms=30_000)
        assert await store.append([row(3)], now_ms=61_500) == 2
        assert store.stats.depth == 2
        assert store.stats.oldest_ms == 30_000


async def test_the_newest_row_of_a_retained_topic_is_known(tmp_path: Path) -> None:
    async with Store(tmp_path / "q.db") as store:
        await store.append([row(0, retain=True), row(1, retain=True)], now_ms=1)
        assert store.latest_retained == {"t/x": 2}
    async with Store(tmp_path / "q.db") as store:
        assert store.latest_retained == {"t/x": 2}


async def test_the_pipeline_batches_readings_and_numbers_every_stream(
    tmp_path: Path, example_site: SiteConfig, fake_clock: FakeClock
) -> None:
    device = example_site.device("power-room-1")
    encoder = ReadingEncoder(device)
    async with Store(tmp_path / "q.db") as store:
        pipeline = Pipeline(
            store, site="harbour-view", gateway="gw-harbour-1", clock=fake_clock, max_readings=3
        )
        for i in range(7):
            reading = Reading(1000 + i, {"voltage_l1": 230.0 + i, "main_breaker_closed": True}, {})
            pipeline.add_reading(encoder.encode(reading))
        status = DeviceStatus(
            site="harbour-view", gateway="gw-harbour-1", seq=0, device=device.id,
            kind=device.kind, building=device.building, room=device.room,
            state=DeviceState.ONLINE, ts=1, since=1,
        )  # fmt: skip
        pipeline.add(Outgoing(Stream.DEVICE_STATUS, "s", True, message=status))
        committed = pipeline.committed()
        await pipeline.flush()
        assert committed.done()
        rows = await store.fetch(TELEMETRY, after=0, upto=None, limit=10)
        batches = [decode(TelemetryBatch, r.topic, r.payload) for r in rows]
        assert [b.seq for b in batches] == [0, 1, 2]
        assert [len(b.readings) for b in batches] == [3, 3, 1]
        assert batches[0].readings[1].values == {"voltage_l1": 231.0, "main_breaker_closed": True}
        assert batches[0].readings[1].ts == 1001
        assert batches[0].readings[1].room == "power-room-1"
        (status_row,) = await store.fetch(PRIORITY, after=0, upto=None, limit=10)
        assert decode(DeviceStatus, "s", status_row.payload).seq == 0
        assert status_row.retain
        pipeline.add_reading(encoder.encode(Reading(2000, {"voltage_l1": 1.0}, {})))
        await pipeline.flush()
        assert store.next_seq == {"telemetry": 4, "device_status": 1}


async def test_fire_panel_readings_go_in_the_priority_lane_and_are_dropped_last(
    tmp_path: Path, example_site: SiteConfig, fake_clock: FakeClock
) -> None:
    """A fire alarm must not wait behind a backlog of telemetry, nor go before it when the
    queue is full: a life-safety device's readings are batched into the priority lane."""
    panel = ReadingEncoder(example_site.device("fire-panel-1"))
    power = ReadingEncoder(example_site.device("power-room-1"))
    assert panel.urgent
    assert not power.urgent
    assert ReadingEncoder(example_site.device("smoke-power-room-1")).urgent
    async with Store(tmp_path / "q.db", max_bytes=3000) as store:
        pipeline = Pipeline(store, site="harbour-view", gateway="gw-harbour-1", clock=fake_clock)
        for i in range(20):
            big = {f"v{n}": float(n) for n in range(10)}
            pipeline.add_reading(power.encode(Reading(1000 + i, big, {})))
            await pipeline.flush()
        fire = panel.encode(Reading(2000, {"fire_alarm": True, "fire_zone": 101}, {}))
        pipeline.add_reading(fire, urgent=panel.urgent)
        await pipeline.flush()
        for i in range(20):
            pipeline.add_reading(power.encode(Reading(3000 + i, big, {})))
            await pipeline.flush()
        assert store.stats.dropped_total > 0  # the queue overflowed...
        (row,) = await store.fetch(PRIORITY, after=0, upto=None, limit=10)
        batch = decode(TelemetryBatch, row.topic, row.payload)  # ...and kept the fire alarm
        assert row.topic == "ew/v1/harbour-view/telemetry/gw-harbour-1"
        assert batch.readings[0].device == "fire-panel-1"
        assert batch.readings[0].values["fire_alarm"] is True
        seqs = [decode(TelemetryBatch, r.topic, r.payload).seq for r in
                await store.fetch(TELEMETRY, after=0, upto=None, limit=100)]  # fmt: skip
        assert batch.seq not in seqs  # one gap-free telemetry seq over both lanes


async def test_the_pipeline_flushes_within_its_delay(tmp_path: Path) -> None:
    clock = FakeClock()
    async with Store(tmp_path / "q.db") as store:
        pipeline = Pipeline(store, site="s", gateway="g", clock=clock, max_delay=0.2)
        task = asyncio.create_task(pipeline.run())
        pipeline.add_reading(b'{"device":"d"}')
        await asyncio.sleep(0.01)
        assert store.stats.depth == 0  # waiting for the rest of the poll cycle
        await clock.advance(0.2)
        for _ in range(50):
            if store.stats.depth:
                break
            await asyncio.sleep(0.01)
        assert store.stats.depth == 1
        assert pipeline.commits == 1
        task.cancel()


WRITER = textwrap.dedent(
    """
    import asyncio, sys
    sys.path.insert(0, {root!r})
    from gateway.store import NewRow, Store, TELEMETRY

    async def main():
        async with Store({path!r}) as store:
            seq = store.next_seq.get("telemetry", 0)
            while True:
                rows = [NewRow(TELEMETRY, "telemetry", seq + i, "t", False, b"r" * 500)
                        for i in range(10)]
                await store.append(rows, now_ms=1)
                seq += 10
                print(seq, flush=True)

    asyncio.run(main())
    """
)


def write_and_kill(path: Path) -> int:
    """Run a writer process, kill -9 it mid-stream; the last commit it reported."""
    script = WRITER.format(root=str(ROOT), path=str(path))
    proc = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    last = 0
    for _ in range(30):
        last = int(proc.stdout.readline())
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    proc.stdout.close()
    return last


async def test_committed_rows_survive_kill_9(tmp_path: Path) -> None:
    path = tmp_path / "q.db"
    for _ in range(2):  # kill it twice, mid-stream
        last = write_and_kill(path)
        async with Store(path) as store:
            rows = await store.fetch(TELEMETRY, after=0, upto=None, limit=100_000)
            seqs = [r.seq for r in rows]
            assert seqs == list(range(len(seqs)))  # gap-free from 0
            assert len(seqs) >= last  # every commit it reported is there
            assert store.next_seq["telemetry"] == len(seqs)
