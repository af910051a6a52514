"""The sqlite sink under ingest's writer: bad lines narrowed down to the message at fault,
a file that cannot be opened retried like an unreachable InfluxDB."""

from __future__ import annotations

from pathlib import Path

import pytest

from estatewatch.clock import FakeClock
from ingest.batch import Entry
from ingest.errors import RejectedWriteError, RetryableWriteError
from ingest.metrics import IngestStats
from ingest.sinks import SinkSettings, SqliteSink, make_sink
from ingest.writer import Writer
from tests.ingest.helpers import now_ms
from tests.readings.test_sqlite_store import count

T = now_ms()  # within the retention: the sink prunes older rows after its first write


def _entries(first: int, n: int, bad: dict[int, bytes]) -> list[Entry[int]]:
    out = []
    for i in range(first, first + n):
        lines = bad.get(i) or b"\n".join(
            b"water_pump_set,building=b,device=p%d,room=r,site=hv seq=%d %d" % (k, i, T + i)
            for k in range(3)
        )
        out.append(Entry(i, lines, 3))
    return out


async def test_the_writer_narrows_bad_lines_down_to_their_messages(tmp_path: Path) -> None:
    stats = IngestStats()
    sink = make_sink("sqlite", SinkSettings(sqlite_path=str(tmp_path / "r.db")))
    writer: Writer[int] = Writer(sink, clock=FakeClock(), stats=stats)
    bad = {
        3: b"water_pump_set,building=b,device=p0,room=r,site=hv seq=3i 1003",
        6: b"boiler,building=b,device=p0,room=r,site=hv seq=6 1006",
    }
    try:
        rejected = await writer.write(_entries(0, 10, bad))
    finally:
        await sink.aclose()
    assert [(e.message, why.split(":")[0]) for e, why, _ in rejected] == [
        (3, "InfluxDB refused it (400)"),
        (6, "InfluxDB refused it (400)"),
    ]
    assert "'3i' is not a float" in rejected[0][1]
    assert "unknown measurement 'boiler'" in rejected[1][1]
    assert count(tmp_path / "r.db") == 3 * 8
    assert stats.lines_written_total == 3 * 8


async def test_a_file_that_cannot_be_opened_is_retried(tmp_path: Path) -> None:
    (tmp_path / "not-a-dir").write_text("")
    sink = SqliteSink(SinkSettings(sqlite_path=str(tmp_path / "not-a-dir" / "r.db")))
    line = b"water_pump_set,building=b,device=p,room=r,site=hv x=1 %d" % T
    with pytest.raises(RetryableWriteError, match="not-a-dir"):
        await sink.write(line)
    (tmp_path / "not-a-dir").unlink()  # the operator fixes it; the same sink goes on
    await sink.write(line)
    await sink.aclose()
    assert count(tmp_path / "not-a-dir" / "r.db") == 1
    with pytest.raises(ValueError, match="sqlite_path"):
        make_sink("sqlite", SinkSettings())


async def test_a_bad_batch_is_rejected_whole(tmp_path: Path) -> None:
    sink = make_sink("sqlite", SinkSettings(sqlite_path=str(tmp_path / "r.db")))
    try:
        with pytest.raises(RejectedWriteError) as caught:
            await sink.write(
                b"water_pump_set,building=b,device=p,room=r,site=hv x=1 1\nnot line protocol"
            )
        assert caught.value.status == 400
        assert "line 2" in caught.value.reason
    finally:
        await sink.aclose()
    assert not (tmp_path / "r.db").exists()  # refused before the file was even opened


async def test_points_older_than_the_retention_are_dropped_and_counted_as_influxdb_does(
    tmp_path: Path,
) -> None:
    stats = IngestStats()
    sink = make_sink("sqlite", SinkSettings(sqlite_path=str(tmp_path / "r.db")))
    writer: Writer[int] = Writer(sink, clock=FakeClock(), stats=stats)
    old = T - 31 * 86_400_000  # the embedded store keeps 30 days, as InfluxDB's raw policy
    line = b"water_pump_set,building=b,device=p,room=r,site=hv seq=%d %d"
    entries = [
        Entry(1, b"\n".join([line % (1, old), line % (2, T)]), 2),
        Entry(2, line % (3, T + 1), 1),
    ]
    try:
        refused = await writer.write(entries)
    finally:
        await sink.aclose()
    assert [(r.entry.message, r.cause) for r in refused] == [(1, "beyond_retention")]
    assert count(tmp_path / "r.db") == 2
    assert (stats.points_beyond_retention_total, stats.lines_written_total) == (1, 2)
    assert stats.write_rejections_total == 0
