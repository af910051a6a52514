"""MQTT sensors publish the config's fields to their topics, through a real Mosquitto."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest

from estatewatch.clock import FakeClock
from estatewatch.config import MqttSensor, Sensor, SiteConfig
from estatewatch.mqtt import Message, MqttClient, MqttSettings
from estatewatch.testing.services import Mosquitto
from simulators.harness import run_estate
from simulators.mqtt_sensors import changed, publish_topic, sensor_payload
from tests.dates import utc

pytestmark = pytest.mark.integration


def field(body: dict[str, Any], path: str) -> Any:
    node: Any = body
    for name in path.split("."):
        node = node[name]
    return node


def test_payload_follows_the_configured_fields_scale_and_types() -> None:
    sensor = Sensor.model_validate(
        {
            "id": "env-1",
            "name": "env",
            "kind": "sensor",
            "sensor_type": "temperature",
            "building": "b",
            "room": "r",
            "connection": {
                "protocol": "mqtt",
                "topic": "site/x/+/env",
                "timestamp_field": "meta.time",
                "points": [
                    {"name": "temperature", "field": "t.c10", "type": "int", "scale": 0.1},
                    {"name": "humidity", "field": "rh", "offset": 5.0},
                    {"name": "leak", "field": "wet", "type": "bool"},
                ],
            },
        }
    )
    now = utc(0, 8, 0, 30)
    body = json.loads(sensor_payload(sensor, {"temperature": 23.46, "humidity": 60.0}, now))
    assert body == {
        "t": {"c10": 235},
        "rh": 55.0,
        "wet": False,
        "meta": {"time": int(now.timestamp())},
    }
    assert publish_topic(sensor) == "site/x/env-1/env"


def test_sensors_report_changes_at_once_and_small_drifts_later() -> None:
    assert changed(None, {"leak": False})
    assert changed({"leak": False}, {"leak": True})
    assert not changed({"temperature": 24.0}, {"temperature": 24.3})
    assert changed({"temperature": 24.0}, {"temperature": 24.6})


async def _take(client: MqttClient, n: int) -> list[Message]:
    out: list[Message] = []
    async with asyncio.timeout(10):
        async for message in client.messages():
            out.append(message)
            if len(out) == n:
                return out
    return out


async def _next_on(client: MqttClient, topic: str) -> dict[str, Any]:
    """The next message on `topic` (others, such as periodic reports, are passed over)."""
    async with asyncio.timeout(10):
        async for message in client.messages():
            if message.topic == topic:
                body: dict[str, Any] = json.loads(message.payload)
                return body
    raise AssertionError(f"nothing on {topic}")


async def test_sensors_publish_their_mapped_fields_and_faults(
    example_site: SiteConfig, mosquitto: Mosquitto
) -> None:
    sensors = {d.id: d for d in example_site.devices if isinstance(d, Sensor)}
    topic_of = {
        d.connection.topic: d for d in sensors.values() if isinstance(d.connection, MqttSensor)
    }
    clock = FakeClock()
    async with MqttClient(MqttSettings(mosquitto.url, client_id="sim-test-sensors")) as sub:
        await sub.subscribe("site/harbour-view/sensors/#")
        async with run_estate(
            example_site, clock=clock, mqtt_url=mosquitto.url, step=1.0
        ) as estate:
            estate.freeze()
            first = {m.topic: json.loads(m.payload) for m in await _take(sub, len(sensors))}
            assert set(first) == set(topic_of)
            for topic, body in first.items():
                sensor = topic_of[topic]
                assert isinstance(sensor.connection, MqttSensor)
                expected = estate.values(sensor.id)
                for point in sensor.connection.points:
                    assert field(body, point.field) == expected[point.name], (topic, point.name)
                assert body["ts"] == int(clock.now().timestamp())
            assert set(first["site/harbour-view/sensors/temp-power-room-2"]["env"]) == {
                "temperature",
                "humidity",
            }

            estate.inject("leak-pump-room", "leak")  # reported at once
            leak = await _next_on(sub, "site/harbour-view/sensors/leak-pump-room")
            assert leak["leak"] is True

            estate.inject("smoke-power-room-1", "offline")
            await clock.advance(60.0)  # the periodic report of every sensor that is online
            online = set(topic_of) - {"site/harbour-view/sensors/smoke-power-room-1"}
            seen: set[str] = set()
            async with asyncio.timeout(10):
                async for message in sub.messages():
                    seen.add(message.topic)
                    if seen >= online:
                        break
            assert seen == online  # nothing from the offline one
            estate.clear("smoke-power-room-1")  # back: reports at once
            back = await _next_on(sub, "site/harbour-view/sensors/smoke-power-room-1")
            assert back["smoke"] is False
