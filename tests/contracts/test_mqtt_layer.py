"""The shared asyncio MQTT layer against a real Mosquitto."""

from __future__ import annotations

import asyncio

import pytest

from estatewatch.mqtt import Message, MqttClient, MqttConnectError, MqttSettings, Will
from estatewatch.testing.services import Mosquitto, free_port


async def _take(client: MqttClient, n: int, within: float = 10) -> list[Message]:
    out: list[Message] = []

    async def collect() -> None:
        async for message in client.messages():
            out.append(message)
            if len(out) == n:
                return

    await asyncio.wait_for(collect(), within)
    return out


def test_protocol_version_from_the_url() -> None:
    assert MqttSettings("mqtt://h:1883?version=3.1.1").version == 4
    assert MqttSettings("mqtt://h:1883").version == 5
    assert MqttSettings("mqtt://h:1883?version=3.1.1", protocol_version=5).version == 5


@pytest.mark.parametrize("version", [5, 4])
async def test_publish_is_acknowledged_and_received_in_order(
    mosquitto: Mosquitto, version: int
) -> None:
    async with (
        MqttClient(
            MqttSettings(mosquitto.url, client_id="layer-sub", protocol_version=version)
        ) as sub,
        MqttClient(
            MqttSettings(mosquitto.url, client_id="layer-pub", protocol_version=version)
        ) as pub,
    ):
        await sub.subscribe("layer/test/#")
        futures = [pub.publish_nowait(f"layer/test/{i % 3}", str(i).encode()) for i in range(500)]
        await asyncio.wait_for(asyncio.gather(*futures), 10)
        received = await _take(sub, 500)
    assert [int(m.payload) for m in received] == list(range(500))


async def test_the_life_safety_lane_overtakes_a_backlog(mosquitto: Mosquitto) -> None:
    # 2 000 readings wait in the consumer's receive queue when a fire alarm arrives: it is
    # the next message the consumer takes, and the backlog follows in its order.
    settings = MqttSettings(mosquitto.url, client_id="lane-sub", urgent_first=True)
    async with (
        MqttClient(settings) as sub,
        MqttClient(MqttSettings(mosquitto.url, client_id="lane-pub")) as pub,
    ):
        await sub.subscribe("lane/#")
        backlog = [pub.publish_nowait("lane/telemetry", str(i).encode()) for i in range(2000)]
        await asyncio.wait_for(asyncio.gather(*backlog), 10)
        await pub.publish("lane/fire", b"fire", urgent=True)
        async with asyncio.timeout(10):
            while sub.backlog < 2001:  # noqa: ASYNC110 (everything arrived, nothing taken yet)
                await asyncio.sleep(0.01)
        received = await _take(sub, 2001)
    assert (received[0].payload, received[0].urgent) == (b"fire", True)
    assert [int(m.payload) for m in received[1:]] == list(range(2000))
    assert not any(m.urgent for m in received[1:])


async def test_without_urgent_first_the_lane_keeps_arrival_order(mosquitto: Mosquitto) -> None:
    async with (
        MqttClient(MqttSettings(mosquitto.url, client_id="plain-sub")) as sub,
        MqttClient(MqttSettings(mosquitto.url, client_id="plain-pub")) as pub,
    ):
        await sub.subscribe("plain/#")
        await pub.publish("plain/telemetry", b"1")
        await pub.publish("plain/fire", b"fire", urgent=True)
        received = await _take(sub, 2)
    assert [(m.payload, m.urgent) for m in received] == [(b"1", False), (b"fire", True)]


async def test_manual_ack_redelivers_what_was_not_acknowledged(mosquitto: Mosquitto) -> None:
    settings = MqttSettings(
        mosquitto.url,
        client_id="layer-manual",
        clean_start=False,
        session_expiry=300,
        manual_ack=True,
    )
    async with MqttClient(settings) as sub:
        await sub.subscribe("layer/manual")
        async with MqttClient(MqttSettings(mosquitto.url, client_id="layer-pub2")) as pub:
            for i in range(3):
                await pub.publish("layer/manual", str(i).encode())
        first = await _take(sub, 3)
        sub.ack(first[0])  # acknowledge only the first; "crash" before the others
        await asyncio.sleep(0.2)
    async with MqttClient(settings) as again:
        redelivered = await _take(again, 2)
        for message in redelivered:
            again.ack(message)
    assert [m.payload for m in redelivered] == [b"1", b"2"]


async def test_last_will_is_published_when_a_client_vanishes(own_mosquitto: Mosquitto) -> None:
    will = Will("layer/state", b"offline")
    async with MqttClient(MqttSettings(own_mosquitto.url, client_id="layer-watch")) as watch:
        await watch.subscribe("layer/state")
        doomed = MqttClient(
            MqttSettings(own_mosquitto.url, client_id="layer-doomed", will=will, keepalive=1)
        )
        await doomed.__aenter__()
        # Kill the socket without a DISCONNECT, as a crash would.
        doomed._client.socket().close()  # type: ignore[union-attr]
        messages = await _take(watch, 1, within=15)
        await doomed._shutdown()
    assert messages[0].payload == b"offline"
    assert messages[0].retain is False  # delivered live, not as a retained replay


async def test_connect_failure_is_a_clear_error() -> None:
    settings = MqttSettings(f"mqtt://127.0.0.1:{free_port()}", connect_timeout=0.5)
    with pytest.raises(MqttConnectError, match="no connection"):
        async with MqttClient(settings):
            pass


async def test_pending_publish_survives_a_broker_restart(own_mosquitto: Mosquitto) -> None:
    settings = MqttSettings(own_mosquitto.url, client_id="layer-restart", reconnect_max_delay=1)
    async with MqttClient(settings) as pub:
        own_mosquitto.stop()
        await asyncio.sleep(0.3)
        future = pub.publish_nowait("layer/restart", b"kept")
        await asyncio.sleep(0.3)
        assert not future.done()
        own_mosquitto.start()
        await asyncio.wait_for(future, 15)
    assert future.exception() is None


async def test_shared_subscription_survives_a_broker_restart(own_mosquitto: Mosquitto) -> None:
    """Mosquitto 2.0 brings a persistent session back after a restart without its shared
    subscriptions; the layer subscribes to them again (ingest stopped receiving otherwise)."""
    settings = MqttSettings(
        own_mosquitto.url, client_id="layer-shared", clean_start=False, session_expiry=300,
        reconnect_max_delay=1,
    )  # fmt: skip
    pub_settings = MqttSettings(own_mosquitto.url, client_id="layer-pub3", reconnect_max_delay=1)
    async with MqttClient(settings) as sub, MqttClient(pub_settings) as pub:
        await sub.subscribe("$share/layer/layer/shared/+")
        await pub.publish("layer/shared/1", b"before")
        assert [m.payload for m in await _take(sub, 1)] == [b"before"]
        own_mosquitto.stop()
        own_mosquitto.start()
        await asyncio.wait_for(sub.connected.wait(), 15)
        await asyncio.wait_for(pub.connected.wait(), 15)
        await asyncio.sleep(0.5)  # the subscription is sent on connection
        await pub.publish("layer/shared/1", b"after")
        assert [m.payload for m in await _take(sub, 1)] == [b"after"]
    assert sub.connections == 2
