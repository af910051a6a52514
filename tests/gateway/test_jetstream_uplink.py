"""A gateway's outbox on a central side on NATS JetStream (`--central-nats`): the node
leading `EW_TELEMETRY` is killed mid-run and every reading the gateway queued is in the
stream, once. Telemetry rows leave the queue only on the stream's answer (`gateway.uplink`).

Through the MQTT listener instead, the same kill lost every batch of the ~3 s after it,
each acknowledged to the gateway (320 of 400 in most runs, on nats-server 2.9.10, 2.10.25
and 2.15.1: docs/scaling.md); that is why the uplink exists."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import nats
from nats.errors import Error as NatsError

from estatewatch.clock import SystemClock
from estatewatch.config import SiteConfig
from estatewatch.contracts import streams
from estatewatch.contracts.codec import decode
from estatewatch.contracts.payloads import TelemetryBatch
from estatewatch.jetstream import JetStreamSettings, ensure_stream
from estatewatch.mqtt import MqttSettings
from estatewatch.testing.nats import NatsCluster
from gateway.devices import Reading
from gateway.messages import ReadingEncoder
from gateway.outbox import Outbox, QueueSettings
from gateway.parts import Parts
from gateway.presence import Presence

SITE, GATEWAY = "harbour-view", "gw-harbour-1"
TICKS, PER_TICK, KILL_AT = 300, 10, 60


async def _stream_readings(cluster: NatsCluster) -> tuple[int, list[tuple[str, int]]]:
    """The stream's message count and every reading in it as (device, ts)."""
    nc = await nats.connect(servers=cluster.urls, max_reconnect_attempts=-1)
    try:
        js = nc.jetstream()
        while True:  # until the stream answers again after its election
            try:
                state = (await js.stream_info(streams.TELEMETRY_STREAM)).state
                break
            except NatsError:
                await asyncio.sleep(0.5)
        readings: list[tuple[str, int]] = []
        for n in range(state.first_seq, state.last_seq + 1):
            msg = await js.get_msg(streams.TELEMETRY_STREAM, n)
            assert msg.subject is not None
            assert msg.data is not None
            batch = decode(TelemetryBatch, streams.topic(msg.subject), msg.data)
            readings += [(r.device, r.ts) for r in batch.readings]
        return state.messages, readings
    finally:
        await nc.close()


async def test_the_stream_leader_dies_and_every_queued_reading_is_stored_once(
    nats_cluster: NatsCluster, example_site: SiteConfig, tmp_path: Path
) -> None:
    settings = JetStreamSettings(servers=tuple(nats_cluster.urls))
    nc = await nats.connect(servers=nats_cluster.urls)
    await ensure_stream(nc.jetstream(), settings)
    await nc.close()
    leader = nats_cluster.stream_leader(streams.TELEMETRY_STREAM)
    assert leader is not None
    entry = (leader + 1) % len(nats_cluster.nodes)  # the gateway's MQTT node survives

    clock = SystemClock()
    encoder = ReadingEncoder(example_site.device("power-room-1"))
    t0 = int(time.time() * 1000) - 3_600_000
    outbox = Outbox(
        QueueSettings(path=str(tmp_path / "q.db"), sync="normal", max_delay=0.05),
        MqttSettings(nats_cluster.mqtt_url(entry), client_id="gw-uplink", ack_timeout=10),
        site=SITE,
        gateway=GATEWAY,
        clock=clock,
        parts=Parts(),
        announcer=Presence(site=SITE, gateway=GATEWAY, clock=clock),
        jetstream=settings,
    )
    async with outbox:
        for tick in range(TICKS):
            for i in range(PER_TICK):
                ts = t0 + tick * PER_TICK + i
                outbox.reading(encoder.encode(Reading(ts, {"voltage_l1": 230.0}, {})))
            if tick == KILL_AT:
                await asyncio.to_thread(nats_cluster.kill, leader)
            await asyncio.sleep(0.01)
        await outbox.flush()
        deadline = time.monotonic() + 40
        while outbox.stats.depth or outbox.forwarder.inflight:
            assert time.monotonic() < deadline, f"{outbox.stats.depth} rows never stored"
            await asyncio.sleep(0.1)
        sent = outbox.forwarder.acknowledged
    assert not nats_cluster.nodes[leader].running

    messages, readings = await _stream_readings(nats_cluster)
    expected = {("power-room-1", t0 + n) for n in range(TICKS * PER_TICK)}
    assert set(readings) == expected, f"{len(expected - set(readings))} readings lost"
    assert len(readings) == len(expected), "a batch stored twice"
    assert messages == sent
