"""The embedded broker of `estatewatch up`: QoS 1 through the shared MQTT layer, and a
persistent session keeps what arrived while its client was away."""

from __future__ import annotations

import asyncio

from estatewatch.broker import EmbeddedBroker
from estatewatch.mqtt import Message, MqttClient, MqttSettings
from estatewatch.testing.services import free_port


async def _drain(client: MqttClient, n: int) -> list[Message]:
    out: list[Message] = []
    async with asyncio.timeout(10):
        async for message in client.messages():
            out.append(message)
            client.ack(message)
            if len(out) == n:
                return out
    return out


async def test_persistent_session_survives_the_consumer_being_away() -> None:
    async with EmbeddedBroker(port=free_port()) as broker:
        consumer = MqttSettings(
            broker.url, client_id="consumer", clean_start=False, manual_ack=True
        )
        async with MqttClient(consumer) as sub:
            await sub.subscribe("ew/v1/+/telemetry/+")
        async with MqttClient(MqttSettings(broker.url, client_id="producer")) as pub:
            for i in range(20):
                await pub.publish("ew/v1/s/telemetry/g", str(i).encode())
        async with MqttClient(consumer) as sub:
            received = await _drain(sub, 20)
    assert [int(m.payload) for m in received] == list(range(20))


async def test_retained_state_reaches_a_late_subscriber() -> None:
    async with EmbeddedBroker(port=free_port()) as broker:
        async with MqttClient(MqttSettings(broker.url, client_id="gw")) as pub:
            await pub.publish("ew/v1/s/gateway/g/state", b"online", retain=True)
        async with MqttClient(MqttSettings(broker.url, client_id="late")) as sub:
            await sub.subscribe("ew/v1/s/gateway/+/state")
            (message,) = await _drain(sub, 1)
    assert message.payload == b"online"
    assert message.retain
