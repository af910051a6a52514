"""Ingest into the embedded SQLite store, end to end through the real Mosquitto: every
reading published is a row, a replay overwrites, and a killed ingest loses nothing."""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import sqlite3
import subprocess
import sys
import urllib.request
from pathlib import Path

from estatewatch.config.devices import DeviceKind
from estatewatch.contracts import topics
from estatewatch.contracts.examples import EXAMPLES
from estatewatch.contracts.payloads import DeviceStatus
from estatewatch.readings.sqlite import SqliteReadingStore
from estatewatch.testing.services import Mosquitto, free_port
from ingest.cli import _settings, add_parser
from ingest.retry import Backoff
from ingest.settings import IngestSettings, limits_for, mqtt_for
from ingest.sinks import SinkSettings
from tests.ingest.helpers import SITE, eventually, now_ms, producer, running

ROOT = Path(__file__).resolve().parents[2]


def settings_for(mqtt_url: str, path: Path, name: str) -> IngestSettings:
    mqtt = mqtt_for(mqtt_url, f"sqlite-{name}", session_expiry=10)
    return IngestSettings(
        mqtt=mqtt,
        sink="sqlite",
        influx=SinkSettings(sqlite_path=str(path)),
        group=f"sqlite-{name}",
        limits=limits_for(mqtt, max_lines=500, max_age=0.1),
        backoff=Backoff(base=0.05, cap=0.5),
    )


def rows(path: Path, point: str = "seq") -> int:
    if not path.exists():
        return 0
    with sqlite3.connect(path) as conn:
        # The ingest process may have created the file and not yet its tables.
        if conn.execute("SELECT 1 FROM sqlite_master WHERE name = 'readings'").fetchone() is None:
            return 0
        found = conn.execute(
            "SELECT count(*) FROM readings JOIN series ON series.id = readings.series "
            "WHERE series.point = ?",
            (point,),
        ).fetchone()
    return int(found[0])


async def test_every_reading_is_a_row_and_a_replay_overwrites(
    mosquitto: Mosquitto, tmp_path: Path
) -> None:
    path = tmp_path / "readings.db"
    status = EXAMPLES["device_status"]
    assert isinstance(status, DeviceStatus)
    status = status.model_copy(update={"ts": now_ms() - 1000})
    settings = settings_for(mosquitto.url, path, "e2e")
    async with running(settings) as ingest, producer(mosquitto.url) as prod:
        await prod.publish(30, size=10)
        await prod.client.publish(topics.device_status(SITE, status.device), status.to_bytes())
        await eventually(lambda: ingest.stats.acked_total == 31, what="31 acknowledged")
        assert rows(path) == rows(path, "outlet_pressure") == prod.readings == 300
        prod.readings = prod.seq = 0  # the gateway sends the same batches again
        await prod.publish(30, size=10)
        await eventually(lambda: ingest.stats.acked_total == 61, what="replay acknowledged")
    assert ingest.stats.lines_written_total == 601
    assert rows(path) == 300
    async with SqliteReadingStore(path) as store:
        back = await store.readings(site=SITE, kind=DeviceKind.WATER_PUMP_SET, start=0,
                                    end=now_ms())  # fmt: skip
        statuses = await store.statuses(site=SITE, device=status.device, start=0, end=now_ms())
    assert len(back) == 300
    assert sorted(int(r.values["seq"]) for r in back) == list(range(300))
    first = min(back, key=lambda r: r.values["seq"])
    assert (first.device, first.building, first.room, first.ts) == (
        "pump-0", "podium", "pump-room", prod.t0,
    )  # fmt: skip
    assert first.values == {"outlet_pressure": 0.4, "seq": 0}
    assert [(s["state"], s["ts"]) for s in statuses] == [("offline", status.ts)]


async def _ingest(broker: Mosquitto, path: Path, log: Path) -> subprocess.Popen[bytes]:
    """`estatewatch ingest --sqlite PATH` in its own process, once it is subscribed."""
    ops = free_port()
    argv = [
        sys.executable, "-m", "estatewatch", "--log-level", "WARNING", "ingest",
        "--mqtt", broker.url, "--client-id", "killed-sqlite-ingest", "--group", "kill-sqlite",
        "--session-expiry", "60s", "--sqlite", str(path), "--flush-interval", "200ms",
        "--batch-lines", "200", "--ops-port", str(ops),
    ]  # fmt: skip
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    with log.open("ab") as out:
        proc = subprocess.Popen(argv, cwd=ROOT, env=env, stderr=out)  # noqa: ASYNC220  (starts at once)

    def ready() -> bool:
        assert proc.poll() is None, log.read_text()
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{ops}/health", timeout=1):
                return True
        except OSError:
            return False

    await eventually(ready, within=30, what="ingest subprocess subscribed")
    return proc


async def test_ingest_killed_mid_stream_loses_nothing(mosquitto: Mosquitto, tmp_path: Path) -> None:
    path, log = tmp_path / "readings.db", tmp_path / "ingest.log"
    first = await _ingest(mosquitto, path, log)
    try:
        async with producer(mosquitto.url) as prod:
            load = asyncio.create_task(prod.publish(200, size=10, pause=0.004))
            await eventually(lambda: rows(path) >= 200, what="200 rows before the kill")
            first.send_signal(signal.SIGKILL)  # mid-stream: batches open, a write in flight
            first.wait(10)
            await load
            assert rows(path) < prod.readings
            second = await _ingest(mosquitto, path, log)
            try:
                await eventually(lambda: rows(path) >= prod.readings, within=40)
            finally:
                second.send_signal(signal.SIGTERM)
                second.wait(20)
            assert second.returncode == 0, log.read_text()
    finally:
        if first.poll() is None:
            first.kill()
        first.wait(10)
    assert rows(path) == prod.readings == 2000


def test_the_cli_flag_selects_the_sqlite_sink() -> None:
    """`--sqlite PATH` selects the sqlite sink, without InfluxDB's schema setup."""
    parser = argparse.ArgumentParser()
    add_parser(parser.add_subparsers())
    built = _settings(parser.parse_args(["ingest", "--sqlite", "r.db", "--raw-retention", "7d"]))
    assert (built.sink, built.setup) == ("sqlite", False)
    assert (built.influx.sqlite_path, built.influx.sqlite_retention.days) == ("r.db", 7)
    long = _settings(parser.parse_args(["ingest", "--sqlite", "r.db", "--raw-retention", "1095d"]))
    assert long.influx.sqlite_retention.days == 3 * 365  # no InfluxDB rollups to outlive
    influx = _settings(parser.parse_args(["ingest"]))
    assert (influx.sink, influx.setup, influx.influx.sqlite_path) == ("v1", True, None)
