"""Faults: InfluxDB down under load, ingest killed mid-batch. Every reading produced is in
InfluxDB afterwards, counted."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import urllib.request
from pathlib import Path

from estatewatch.testing.services import InfluxDB, Mosquitto, free_port
from tests.ingest.helpers import count, count_reaches, eventually, producer, running, settings_for

ROOT = Path(__file__).resolve().parents[2]


async def test_influxdb_down_under_load_backpressure_then_nothing_lost(
    mosquitto: Mosquitto, own_influxdb: InfluxDB
) -> None:
    db = "faults"
    settings = settings_for(mosquitto.url, own_influxdb, db)
    inflight = settings.mqtt.max_inflight
    async with running(settings) as ingest, producer(mosquitto.url) as prod:
        load = asyncio.create_task(prod.publish(300, size=10, pause=0.005))
        await count_reaches(own_influxdb, db, 300)
        await asyncio.to_thread(own_influxdb.stop)
        await eventually(lambda: ingest.stats.write_retries_total >= 3, what="retries")
        acked = ingest.stats.acked_total
        await asyncio.sleep(1.0)  # down for a while, under load
        assert ingest.stats.acked_total == acked, "acknowledged while InfluxDB was down"
        assert not ingest.stats.influx_healthy
        assert ingest.health()["status"] == "degraded"
        await asyncio.to_thread(own_influxdb.start)  # same port, same data directory
        await load
        await count_reaches(own_influxdb, db, prod.readings, within=30)
        await eventually(lambda: ingest.stats.unacked == 0, what="everything acknowledged")
    assert count(own_influxdb, db) == prod.readings == 3000
    # memory stayed bounded: never more unacknowledged messages than the broker's window
    assert ingest.stats.unacked_high_water <= inflight


async def _ingest(
    broker: Mosquitto, influx: InfluxDB, db: str, flush: str, log: Path
) -> subprocess.Popen[bytes]:
    """`python -m estatewatch ingest` in its own process, once it is subscribed (its ops
    endpoint answers only after the subscriptions were acknowledged)."""
    ops = free_port()
    argv = [
        sys.executable, "-m", "estatewatch", "--log-level", "WARNING", "ingest",
        "--mqtt", broker.url, "--client-id", "killed-ingest", "--group", "kill-test",
        "--session-expiry", "60s", "--influx-url", influx.url, "--influx-db", db,
        "--flush-interval", flush, "--batch-lines", "200", "--ops-port", str(ops),
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


async def test_ingest_killed_mid_batch_loses_nothing(
    mosquitto: Mosquitto, influxdb: InfluxDB, influx_db: str, tmp_path: Path
) -> None:
    log = tmp_path / "ingest.log"
    first = await _ingest(mosquitto, influxdb, influx_db, "300ms", log)
    try:
        async with producer(mosquitto.url) as prod:
            load = asyncio.create_task(prod.publish(400, size=10, pause=0.004))
            await count_reaches(influxdb, influx_db, 200, within=30)
            first.send_signal(signal.SIGKILL)  # mid-stream: batches open, posts in flight
            first.wait(10)
            written_at_kill = count(influxdb, influx_db)
            await load
            assert written_at_kill < prod.readings
            second = await _ingest(mosquitto, influxdb, influx_db, "100ms", log)
            try:
                await count_reaches(influxdb, influx_db, prod.readings, within=40)
            finally:
                second.send_signal(signal.SIGTERM)
                second.wait(20)
            assert second.returncode == 0, log.read_text()
    finally:
        if first.poll() is None:
            first.kill()
        first.wait(10)
    assert count(influxdb, influx_db) == prod.readings == 4000
