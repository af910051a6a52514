"""The sinks against the real influxd (v1 API), the writer's retries and bisection."""

from __future__ import annotations

import asyncio

import pytest

from estatewatch.clock import FakeClock
from estatewatch.testing.services import InfluxDB, free_port
from ingest.batch import Entry, oldest
from ingest.errors import RejectedWriteError, RetryableWriteError
from ingest.metrics import IngestStats
from ingest.sinks import (
    InfluxV1Sink,
    InfluxV2Sink,
    SinkSettings,
    beyond_retention,
    classify,
    gzip,
    make_sink,
)
from ingest.writer import Writer
from tests.ingest.helpers import count, now_ms


@pytest.mark.parametrize(
    ("status", "kind"),
    [
        (204, None),
        (400, RejectedWriteError),
        (413, RejectedWriteError),
        (422, RejectedWriteError),
        (401, RetryableWriteError),  # credentials: an operator fixes them, data waits
        (403, RetryableWriteError),
        (404, RetryableWriteError),  # database not found: same
        (429, RetryableWriteError),
        (500, RetryableWriteError),
        (503, RetryableWriteError),
    ],
)
def test_classify(status: int, kind: type[Exception] | None) -> None:
    error = classify(status, '{"error":"why"}')
    assert (type(error) if error else None) is kind
    if error is not None:
        assert "why" in str(error)


def test_classify_keeps_the_retry_after_hint() -> None:
    error = classify(503, "busy", "7")
    assert isinstance(error, RetryableWriteError)
    assert error.retry_after == 7.0
    dated = classify(429, "", "Wed, 21 Oct 2026 07:28:00 GMT")
    assert isinstance(dated, RetryableWriteError)
    assert dated.retry_after is None  # an HTTP date: the backoff decides


@pytest.mark.parametrize("level", [0, 1])
async def test_v1_sink_writes_plain_and_gzipped(
    influxdb: InfluxDB, influx_db: str, level: int
) -> None:
    sink = make_sink("v1", SinkSettings(url=influxdb.url, database=influx_db, gzip_level=level))
    t = now_ms()
    try:
        await sink.write(
            b"water_pump_set,device=p seq=1 %d\nwater_pump_set,device=p seq=2 %d" % (t, t + 1)
        )
    finally:
        await sink.aclose()
    assert count(influxdb, influx_db) == 2


def test_gzip_frames_what_content_encoding_gzip_means() -> None:
    import gzip as stdlib_gzip

    assert stdlib_gzip.decompress(gzip(b"m x=1 1", 1)) == b"m x=1 1"


async def test_v1_sink_errors_say_retry_or_reject(influxdb: InfluxDB, influx_db: str) -> None:
    sink = InfluxV1Sink(SinkSettings(url=influxdb.url, database=influx_db))
    missing = InfluxV1Sink(SinkSettings(url=influxdb.url, database="no_such_db"))
    nobody = InfluxV1Sink(SinkSettings(url=f"http://127.0.0.1:{free_port()}", database="x"))
    try:
        with pytest.raises(RejectedWriteError, match="unable to parse"):
            await sink.write(b"this is not line protocol")
        with pytest.raises(RetryableWriteError, match="database not found"):
            await missing.write(b"m x=1 1")
        with pytest.raises(RetryableWriteError, match="ConnectError"):
            await nobody.write(b"m x=1 1")
    finally:
        for s in (sink, missing, nobody):
            await s.aclose()


async def test_v2_sink_needs_the_v2_api(influxdb: InfluxDB) -> None:
    with pytest.raises(ValueError, match="org, bucket and token"):
        InfluxV2Sink(SinkSettings(url=influxdb.url, org="o"))
    sink = InfluxV2Sink(SinkSettings(url=influxdb.url, org="o", bucket="b", token="t"))
    try:
        # InfluxDB 1.6 has no /api/v2/write: a 404, which waits for an operator (retryable)
        with pytest.raises(RetryableWriteError, match="404"):
            await sink.write(b"m x=1 1")
    finally:
        await sink.aclose()


def _entries(first: int, n: int, t: int, *, bad: int | None = None) -> list[Entry[int]]:
    out = []
    for i in range(first, first + n):
        value = '"text"' if i == bad else str(i)
        lines = b"\n".join(b"water_pump_set,device=p%d seq=%s %d" % (k, value.encode(), t + i)
                           for k in range(3))  # fmt: skip
        out.append(Entry(i, lines, 3))
    return out


async def test_writer_narrows_a_rejected_batch_down_to_the_message_at_fault(
    influxdb: InfluxDB, influx_db: str
) -> None:
    stats = IngestStats()
    sink = make_sink("v1", SinkSettings(url=influxdb.url, database=influx_db))
    writer: Writer[int] = Writer(sink, clock=FakeClock(), stats=stats)
    t = now_ms()
    try:
        assert await writer.write(_entries(0, 2, t)) == []  # `seq` is a float from now on
        entries = [*_entries(2, 9, t, bad=6), Entry(99, b"", 0, "bad json")]
        rejected = await writer.write(entries)
    finally:
        await sink.aclose()
    assert [(e.message, "field type conflict" in why) for e, why, _ in rejected] == [(6, True)]
    assert count(influxdb, influx_db) == 3 * 10
    assert stats.lines_written_total == 3 * 10  # message 6's lines are not counted
    assert stats.write_rejections_total >= 4  # log2(9) halvings and the last single message


async def test_writer_retries_with_backoff_until_influxdb_is_back(own_influxdb: InfluxDB) -> None:
    own_influxdb.create_database("retry")
    clock = FakeClock()
    stats = IngestStats()
    sink = make_sink("v1", SinkSettings(url=own_influxdb.url, database="retry"))
    writer: Writer[int] = Writer(sink, clock=clock, stats=stats, rand=lambda: 1.0)
    await asyncio.to_thread(own_influxdb.stop)
    try:
        task = asyncio.create_task(writer.write(_entries(0, 4, now_ms())))
        for _ in range(200):
            if stats.write_retries_total >= 5:
                break
            await clock.advance(30)
            await asyncio.sleep(0.01)
        assert stats.write_retries_total >= 5
        assert not task.done()
        assert not stats.influx_healthy
        await asyncio.to_thread(own_influxdb.start)
        for _ in range(200):
            if task.done():
                break
            await clock.advance(30)
            await asyncio.sleep(0.01)
        assert await task == []
    finally:
        await sink.aclose()
    assert stats.influx_healthy
    assert count(own_influxdb, "retry") == 12


DAY_MS = 86_400_000


@pytest.mark.parametrize(
    ("status", "text", "dropped"),
    [
        (400, '{"error":"partial write: points beyond retention policy dropped=3"}', 3),
        (  # InfluxDB 2.x's v1 and v2 endpoints
            422,
            '{"code":"unprocessable entity","message":"failure writing points to database:'
            ' partial write: points beyond retention policy dropped=1"}',
            1,
        ),
        (400, '{"error":"partial write: field type conflict: ... dropped=1"}', None),
        (400, '{"error":"unable to parse \'x\': missing fields"}', None),
        (500, '{"error":"partial write: points beyond retention policy dropped=3"}', None),
        (204, "", None),
    ],
)
def test_a_partial_write_beyond_retention_is_recognised(
    status: int, text: str, dropped: int | None
) -> None:
    assert beyond_retention(status, text) == dropped


def test_the_dropped_points_are_the_oldest_of_the_batch() -> None:
    entries = [
        Entry("new", b"m x=1 500\nm x=2 600", 2),
        Entry("mixed", b"m x=1 100\nm x=2 700", 2),
        Entry("old", b"m x=1 50", 1),
        Entry("empty", b"", 0),
    ]
    found = [(e.message, n, first) for e, n, first in oldest(entries, 2)]
    assert found == [("mixed", 1, 100), ("old", 1, 50)]
    assert oldest(entries, 0) == []


async def test_old_and_new_points_in_one_batch_the_new_stored_the_old_counted_not_retried(
    influxdb: InfluxDB, influx_db: str
) -> None:
    """A gateway back from a long outage forwards readings older than the raw retention:
    InfluxDB answers 400 "partial write: points beyond retention policy" and stores the
    rest. The writer takes that as the partial success it is."""
    influxdb.query(f'CREATE RETENTION POLICY "raw" ON "{influx_db}" DURATION 30d'
                   " REPLICATION 1 DEFAULT", influx_db)  # fmt: skip
    stats = IngestStats()
    sink = make_sink("v1", SinkSettings(url=influxdb.url, database=influx_db))
    writer: Writer[int] = Writer(sink, clock=FakeClock(), stats=stats)
    t = now_ms()
    old = t - 40 * DAY_MS
    entries = [
        Entry(1, b"water_pump_set,device=p seq=1 %d\nwater_pump_set,device=p seq=2 %d"
              % (old, t), 2),
        Entry(2, b"water_pump_set,device=q seq=3 %d" % (t - 1,), 1),
        Entry(3, b"water_pump_set,device=r seq=4 %d" % (old - 1,), 1),
    ]  # fmt: skip
    try:
        refused = await writer.write(entries)
    finally:
        await sink.aclose()
    assert [(r.entry.message, r.cause) for r in refused] == [
        (1, "beyond_retention"),
        (3, "beyond_retention"),
    ]
    assert "1 of its 2 points are older than the store's retention" in refused[0].reason
    assert count(influxdb, influx_db) == 2  # the in-retention points of messages 1 and 2
    assert stats.points_beyond_retention_total == 2
    assert stats.lines_written_total == 2
    assert (stats.write_retries_total, stats.write_rejections_total) == (0, 0)
