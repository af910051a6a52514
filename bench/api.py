"""Benchmark of the API's hot paths: alarm ingestion (one transaction per event, as the MQTT
consumer does), redelivery, and the alarm board over HTTP.

    python bench/api.py [--events 2000]

The baseline is the database's own floor measured in the same run: one bare INSERT and COMMIT
per event. Runs on SQLite, and on PostgreSQL 15 when Debian's server is installed. The
machine is shared: figures are indicative.
"""

from __future__ import annotations

import argparse
import logging
import statistics
import sys
import tempfile
import time
import warnings
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import text

from api.db import Database
from api.sites import Sites
from api.store.alarms import apply_alarm_event
from estatewatch.config import load_site
from estatewatch.contracts.payloads import AlarmEvent
from tests.api.helpers import T0, alarm_event, make_api
from tests.api.postgres import PostgreSQL, find_bin_dir

ROOT = Path(__file__).resolve().parent.parent


def events(count: int) -> list[AlarmEvent]:
    """A quarter raises (each opening a work order), the rest updates of those alarms."""
    alarms = max(1, count // 4)
    out = [
        alarm_event(f"bench-{n}", category="pressure_loss", severity="major") for n in range(alarms)
    ]
    for revision in range(2, 5):
        out += [
            alarm_event(f"bench-{n}", revision, "updated", occurrences=revision)
            for n in range(alarms)
        ]
    return out[:count]


def rate(count: int, body: Callable[[], None]) -> float:
    start = time.perf_counter()
    body()
    return count / (time.perf_counter() - start)


def ingest_figures(
    name: str, db: Database, sites: Sites, batch: list[AlarmEvent]
) -> dict[str, float]:
    with db.engine.begin() as conn:
        conn.execute(text("CREATE TABLE bench_floor (id VARCHAR(64) PRIMARY KEY, payload TEXT)"))
    payloads = [(e.event_id, e.model_dump_json()) for e in batch]

    def floor() -> None:
        for event_id, payload in payloads:
            with db.write() as session:
                session.execute(
                    text("INSERT INTO bench_floor VALUES (:i, :p)"), {"i": event_id, "p": payload}
                )

    def apply_all() -> None:
        for event in batch:
            with db.write() as session:
                apply_alarm_event(session, event, now=T0, sites=sites)

    baseline = rate(len(batch), floor)
    applied = rate(len(batch), apply_all)
    redelivered = rate(len(batch), apply_all)  # every event a second time: all duplicates
    return {
        f"{name}_baseline_insert_commit_per_s": baseline,
        f"{name}_alarm_events_per_s": applied,
        f"{name}_alarm_events_vs_baseline": applied / baseline,
        f"{name}_redelivered_events_per_s": redelivered,
    }


def board_figures(workdir: Path, sites: Sites, open_alarms: int) -> dict[str, float]:
    with make_api(workdir / "board.db", sites) as api:
        for n in range(open_alarms):
            api.ingest(
                alarm_event(
                    f"board-{n}",
                    severity=("critical", "major", "minor")[n % 3],
                    raised_at=T0 + timedelta(seconds=n),
                )
            )
        latencies = []
        for _ in range(40):
            start = time.perf_counter()
            response = api.get("/alarms", user="dina")
            latencies.append(time.perf_counter() - start)
            assert len(response.json()) == open_alarms
        health = []
        for _ in range(40):
            start = time.perf_counter()
            api.get("/health", user=None)
            health.append(time.perf_counter() - start)
    return {
        f"http_board_{open_alarms}_alarms_p50_ms": statistics.median(latencies) * 1000,
        "http_health_p50_ms_baseline": statistics.median(health) * 1000,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=2000)
    parser.add_argument("--board", type=int, default=300, help="open alarms on the board")
    args = parser.parse_args()
    logging.disable(logging.WARNING)
    warnings.simplefilter("ignore")
    sites = Sites([load_site(ROOT / "examples" / "estate.yaml")])
    batch = events(args.events)
    figures: dict[str, float] = {}
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        sqlite = Database(str(workdir / "bench.db"))
        sqlite.migrate()
        figures |= ingest_figures("sqlite", sqlite, sites, batch)
        sqlite.dispose()
        bin_dir = find_bin_dir()
        if bin_dir is not None:
            server = PostgreSQL(bin_dir)
            server.start()
            try:
                server.execute("CREATE DATABASE bench")
                pg = Database(server.url("bench"))
                pg.migrate()
                figures |= ingest_figures("postgresql", pg, sites, batch)
                pg.dispose()
            finally:
                server.stop()
        else:
            print("PostgreSQL not installed: skipping its figures", file=sys.stderr)
        figures |= board_figures(workdir, sites, args.board)
    for name, value in figures.items():
        print(f"{name}: {value:.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
