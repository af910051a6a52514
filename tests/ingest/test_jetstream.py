"""Ingest on a 3-node NATS JetStream cluster: two ingest instances share the stream's durable
consumer. A gateway publishes MQTT into a node's MQTT listener and an ingest instance is
killed mid-run; then the stream's leader node and an ingest instance are killed mid-run.
Every reading is in InfluxDB, once."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import urllib.request
from pathlib import Path
from typing import cast

import nats
from nats.errors import Error as NatsError
from nats.js.client import JetStreamContext

from estatewatch.contracts import streams, topics
from estatewatch.mqtt import MqttClient, MqttSettings
from estatewatch.testing.nats import NatsCluster
from estatewatch.testing.services import InfluxDB, free_port
from tests.ingest.helpers import GATEWAY, SITE, Producer, count, count_reaches, eventually

ROOT = Path(__file__).resolve().parents[2]
ACK_WAIT = "2s"


async def _ingest(
    cluster: NatsCluster, influx: InfluxDB, db: str, name: str, log: Path
) -> subprocess.Popen[bytes]:
    """`estatewatch ingest --source jetstream` in its own process, once it is consuming."""
    ops = free_port()
    argv = [
        sys.executable, "-m", "estatewatch", "--log-level", "WARNING", "ingest",
        "--source", "jetstream", "--nats", cluster.url, "--ack-wait", ACK_WAIT,
        "--client-id", name, "--influx-url", influx.url, "--influx-db", db,
        "--flush-interval", "200ms", "--batch-lines", "500", "--ops-port", str(ops),
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

    await eventually(ready, within=30, what=f"{name} consuming")
    return proc


async def _drained(cluster: NatsCluster, within: float = 30) -> int:
    """Wait until the shared consumer has every message of the stream acknowledged; the
    stream's last sequence."""
    nc = await nats.connect(servers=cluster.urls)
    try:
        js = nc.jetstream()
        last = -1

        async def check() -> bool:
            nonlocal last
            info = await js.consumer_info(streams.TELEMETRY_STREAM, streams.INGEST_CONSUMER)
            state = (await js.stream_info(streams.TELEMETRY_STREAM)).state
            last = state.last_seq
            return not info.num_pending and not info.num_ack_pending

        deadline = asyncio.get_running_loop().time() + within
        while not await check():
            assert asyncio.get_running_loop().time() < deadline, "consumer not drained"
            await asyncio.sleep(0.2)
        return last
    finally:
        await nc.close()


async def _publish_acked(js: JetStreamContext, topic: str, payload: bytes) -> None:
    """Publish into the stream until it acknowledged, as a gateway's store-and-forward does
    (a retry after a lost acknowledgement stores the message twice: harmless)."""
    while True:
        try:
            await js.publish(streams.subject(topic), payload, timeout=2)
            return
        except NatsError:
            await asyncio.sleep(0.2)


async def test_gateways_mqtt_into_the_cluster_and_a_killed_ingest_instance_loses_nothing(
    nats_cluster: NatsCluster, influxdb: InfluxDB, influx_db: str, tmp_path: Path
) -> None:
    log = tmp_path / "ingest.log"
    first, second = await asyncio.gather(
        _ingest(nats_cluster, influxdb, influx_db, "ingest-a", log),
        _ingest(nats_cluster, influxdb, influx_db, "ingest-b", log),
    )
    try:
        # A gateway as it is: MQTT 3.1.1 QoS 1 into a node's MQTT listener.
        mqtt = MqttSettings(nats_cluster.mqtt_url(0), client_id="gw-jetstream", ack_timeout=10)
        async with MqttClient(mqtt) as client:
            prod = Producer(client)
            load = asyncio.create_task(prod.publish(300, size=10, pause=0.004))
            await count_reaches(influxdb, influx_db, 600, within=30)
            first.send_signal(signal.SIGKILL)  # with batches open and acks unsent
            first.wait(10)
            await load
        await count_reaches(influxdb, influx_db, prod.readings, within=30)
        await _drained(nats_cluster)
    finally:
        await _stop(first, second, log)
    # every reading once: redelivered ones overwrote themselves (same series, same time)
    assert count(influxdb, influx_db) == prod.readings == 3000


async def test_a_node_and_an_ingest_instance_die_and_every_reading_lands_once(
    nats_cluster: NatsCluster, influxdb: InfluxDB, influx_db: str, tmp_path: Path
) -> None:
    log = tmp_path / "ingest.log"
    first, second = await asyncio.gather(
        _ingest(nats_cluster, influxdb, influx_db, "ingest-a", log),
        _ingest(nats_cluster, influxdb, influx_db, "ingest-b", log),
    )
    nc = await nats.connect(servers=nats_cluster.urls, max_reconnect_attempts=-1)
    try:
        # Published into the stream with its acknowledgement awaited: the MQTT listener of
        # nats-server 2.9 loses acknowledged messages when a node dies (docs/scaling.md).
        js = nc.jetstream()
        prod = Producer(cast(MqttClient, None))
        topic = topics.telemetry(SITE, GATEWAY)
        sent: list[bytes] = []

        async def load() -> None:
            for _ in range(400):
                sent.append(prod.batch(10).to_bytes())
                await _publish_acked(js, topic, sent[-1])
                await asyncio.sleep(0.004)

        loading = asyncio.create_task(load())
        await count_reaches(influxdb, influx_db, 600, within=30)
        leader = nats_cluster.stream_leader(streams.TELEMETRY_STREAM)
        victim = leader if leader is not None else 1
        await asyncio.to_thread(nats_cluster.kill, victim)  # the stream's leader
        first.send_signal(signal.SIGKILL)
        first.wait(10)
        await loading
        await count_reaches(influxdb, influx_db, prod.readings, within=40)
        stored = await _drained(nats_cluster)
        # A redelivery is a write of the same points again: InfluxDB keeps one per series
        # and time, so 50 messages delivered twice leave the count as it was.
        for payload in sent[:50]:
            await _publish_acked(js, topic, payload)
        assert await _drained(nats_cluster) >= stored + 50
        assert count(influxdb, influx_db) == prod.readings
    finally:
        await nc.close()
        await _stop(first, second, log)
    assert count(influxdb, influx_db) == prod.readings == 4000


async def _stop(
    killed: subprocess.Popen[bytes], survivor: subprocess.Popen[bytes], log: Path
) -> None:
    survivor.send_signal(signal.SIGTERM)
    for proc in (killed, survivor):
        try:
            await asyncio.to_thread(proc.wait, 20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)
    assert survivor.returncode == 0, await asyncio.to_thread(log.read_text)
