"""The embedded SQLite reading store: how fast ingest's sqlite sink writes against a bare
INSERT into the same table, and how fast the API's questions are answered over a day of
1-second readings. One run on this machine.

    python bench/readings.py [--values 2000000] [--day-points 20]

1. baseline: the same (series, ts, value) rows INSERTed with `executemany` into the same
   table (WAL, synchronous=FULL), one transaction per 5000-line batch — the ceiling.
2. sink: ingest's `SqliteSink.write` of the same values as line protocol (5000 lines of 20
   float fields per batch): parsing, mapping to rows, upsert, commit.
3. queries over one device's day at 1 s (`--day-points` points x 86 400 readings): latest,
   an hour of raw readings, a day of 8-hour means, and an operation log's worth of questions
   (min/max/mean and three values at fixed times, per point) as the API asks them.

The machine is shared: figures are indicative; the ratio carries better than the rates.
"""

from __future__ import annotations

import argparse
import asyncio
import sqlite3
import sys
import tempfile
import time
from collections.abc import Awaitable
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from estatewatch.config.site import DeviceKind  # noqa: E402
from estatewatch.readings import Aggregate  # noqa: E402
from estatewatch.readings.sqlite import SqliteReadingStore  # noqa: E402
from estatewatch.readings.sqlite_schema import DDL  # noqa: E402
from ingest.sinks import SinkSettings, make_sink  # noqa: E402

FIELDS = 20
BATCH = 5000
DAY = 86_400_000
T0 = (int(time.time() * 1000) // DAY - 1) * DAY  # yesterday, UTC midnight


def batches(values: int, devices: int = 100) -> list[bytes]:
    """Line protocol as ingest writes it: `values` values, 20 per line, 5000 lines a batch."""
    lines = []
    fields = ",".join(f"p{f:02d}=%d.25" for f in range(FIELDS))
    for i in range(values // FIELDS):
        tags = f"building=b,device=d{i % devices},room=r,site=bench"
        body = fields.replace("%d", str(i % 997))
        lines.append(f"water_pump_set,{tags} {body} {T0 + (i // devices) * 1000}")
    return ["\n".join(lines[k : k + BATCH]).encode() for k in range(0, len(lines), BATCH)]


def baseline(path: Path, values: int, devices: int = 100) -> float:
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("PRAGMA synchronous = FULL")
    for statement in DDL:
        conn.execute(statement)
    rows = [
        ((i % devices) * FIELDS + f, T0 + (i // devices) * 1000, float(i % 997))
        for i in range(values // FIELDS)
        for f in range(FIELDS)
    ]
    per_batch = BATCH * FIELDS
    start = time.perf_counter()
    for k in range(0, len(rows), per_batch):
        conn.execute("BEGIN IMMEDIATE")
        conn.executemany(
            "INSERT INTO readings (series, ts, value) VALUES (?, ?, ?)", rows[k : k + per_batch]
        )
        conn.execute("COMMIT")
    elapsed = time.perf_counter() - start
    conn.close()
    return len(rows) / elapsed


async def sink_rate(path: Path, values: int) -> float:
    bodies = batches(values)
    sink = make_sink("sqlite", SinkSettings(sqlite_path=str(path)))
    await sink.write(bodies[0])  # opens the file: not timed
    start = time.perf_counter()
    for body in bodies[1:]:
        await sink.write(body)
    elapsed = time.perf_counter() - start
    await sink.aclose()
    return (len(bodies) - 1) * BATCH * FIELDS / elapsed


async def timed(call: Awaitable[object]) -> float:
    start = time.perf_counter()
    await call
    return (time.perf_counter() - start) * 1000


async def queries(path: Path, points: int) -> dict[str, float]:
    """A day of 1 s readings of one device with `points` points, then the API's questions."""
    sink = make_sink("sqlite", SinkSettings(sqlite_path=str(path)))
    fields = ",".join(f"p{f:02d}=%d.5" for f in range(points))
    tags = "building=b,device=pump-1,room=r,site=bench"
    for start in range(0, 86_400, BATCH):
        body = "\n".join(
            f"water_pump_set,{tags} {fields.replace('%d', str(s % 100))} {T0 + s * 1000}"
            for s in range(start, min(start + BATCH, 86_400))
        )
        await sink.write(body.encode())
    await sink.aclose()
    out: dict[str, float] = {}
    kind = DeviceKind.WATER_PUMP_SET
    async with SqliteReadingStore(path) as store:

        def agg(point: str, fn: Aggregate, hours: int = 8) -> Awaitable[object]:
            return store.aggregate(
                site="bench",
                kind=kind,
                device="pump-1",
                point=point,
                start=T0,
                end=T0 + DAY,
                window=timedelta(hours=hours),
                fn=fn,
            )

        def raw(point: str, start: int, end: int) -> Awaitable[object]:
            return store.range(
                site="bench", kind=kind, device="pump-1", point=point, start=start, end=end
            )

        out["latest_all_points_ms"] = await timed(
            store.latest(site="bench", kind=kind, device="pump-1")
        )
        noon = T0 + 12 * 3_600_000
        out["range_1h_raw_ms"] = await timed(raw("p00", noon, noon + 3_600_000))
        out["aggregate_day_8h_mean_ms"] = await timed(agg("p00", Aggregate.MEAN))
        sem = asyncio.Semaphore(8)

        async def one_point(point: str) -> None:
            async with sem:
                for fn in (Aggregate.MIN, Aggregate.MAX, Aggregate.MEAN):
                    await agg(point, fn)
                for hour in (8, 14, 20):
                    at = T0 + hour * 3_600_000
                    await raw(point, at - 900_000, at + 1)

        out["operation_log_day_ms"] = await timed(
            asyncio.gather(*(one_point(f"p{f:02d}") for f in range(points)))
        )
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--values", type=int, default=2_000_000)
    parser.add_argument("--day-points", type=int, default=20)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        base = baseline(Path(tmp) / "baseline.db", args.values)
        sink = asyncio.run(sink_rate(Path(tmp) / "sink.db", args.values))
        answers = asyncio.run(queries(Path(tmp) / "day.db", args.day_points))
        size = (Path(tmp) / "day.db").stat().st_size
    answers["day_file_bytes_per_value"] = size / (86_400 * args.day_points)
    print(f"baseline_insert_values_per_s: {base:.0f}")
    print(f"sqlite_sink_values_per_s: {sink:.0f}")
    print(f"sink_vs_baseline: {sink / base:.2f}")
    for name, value in answers.items():
        print(f"{name}: {value:.1f}")


if __name__ == "__main__":
    main()
