"""MQTT sensors: payload fields (dotted paths) to points, with types, scale and time."""

from __future__ import annotations

from typing import Any

import orjson
import pytest

from estatewatch.config import MqttPoint, MqttSensor, SiteConfig
from estatewatch.contracts.payloads import DeviceErrorKind
from gateway.sensors import FieldError, SensorRouter, convert, map_payload, sensor_time

NOW = 1_795_000_000_000


def sensor(**kw: Any) -> MqttSensor:
    base: dict[str, Any] = {
        "protocol": "mqtt",
        "topic": "site/x/sensors/t",
        "points": [
            {"name": "temperature", "field": "env.temperature"},
            {"name": "leak", "field": "leak", "type": "bool"},
            {"name": "rssi", "field": "radio.rssi", "type": "int"},
            {"name": "fahrenheit", "field": "env.temperature", "scale": 1.8, "offset": 32},
        ],
        "timestamp_field": "ts",
    }
    return MqttSensor.model_validate({**base, **kw})


def payload(**body: Any) -> bytes:
    return orjson.dumps(body)


def test_a_payload_maps_to_points_with_the_sensors_time() -> None:
    body = payload(env={"temperature": 21.5}, leak=False, radio={"rssi": -71.4}, ts=1_795_000_010)
    result, ts, note = map_payload(sensor(), body, NOW)
    assert result.values == {"temperature": 21.5, "leak": False, "rssi": -71, "fahrenheit": 70.7}
    assert result.failed == {}
    assert ts == 1_795_000_010_000
    assert note is None


def test_a_missing_or_wrong_field_fails_its_point_alone() -> None:
    result, _, _ = map_payload(sensor(), payload(env={"temperature": "warm"}, leak=1, ts=NOW), NOW)
    assert result.values == {"leak": True}
    assert set(result.failed) == {"temperature", "rssi", "fahrenheit"}
    assert result.failed["rssi"].kind is DeviceErrorKind.PAYLOAD
    assert "radio.rssi" in result.failed["rssi"].message


@pytest.mark.parametrize("body", [b"not json", b"[1, 2]", b""])
def test_an_unreadable_payload_fails_every_point(body: bytes) -> None:
    result, ts, _ = map_payload(sensor(), body, NOW)
    assert result.values == {}
    assert len(result.failed) == 4
    assert ts == NOW
    assert result.answered  # the sensor spoke, unintelligibly


def test_an_unusable_time_falls_back_to_the_gateways() -> None:
    _result, ts, note = map_payload(sensor(), payload(leak=True, ts="yesterday"), NOW)
    assert ts == NOW
    assert note is not None
    assert "ts" in note


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (1_795_000_000, 1_795_000_000_000),
        (1_795_000_000.25, 1_795_000_000_250),
        (1_795_000_000_123, 1_795_000_000_123),  # already milliseconds
        ("2026-11-18T11:06:40Z", 1_795_000_000_000),
        ("2026-11-18T19:06:40+08:00", 1_795_000_000_000),
    ],
)
def test_sensor_time(raw: Any, expected: int) -> None:
    assert sensor_time(raw, NOW) == expected


@pytest.mark.parametrize("raw", [True, None, "soon", 1_000, 4_000_000_000])
def test_sensor_time_refuses(raw: Any) -> None:
    with pytest.raises(FieldError):
        sensor_time(raw, NOW)


@pytest.mark.parametrize(
    ("kind", "raw", "expected"),
    [
        ("bool", "ON", True),
        ("bool", 0, False),
        ("float", "3.5", 3.5),
        ("int", 2.6, 3),
        ("string", 12, "12"),
    ],
)
def test_convert(kind: str, raw: Any, expected: Any) -> None:
    assert convert(MqttPoint(name="p", field="f", type=kind), raw) == expected


@pytest.mark.parametrize(
    ("kind", "raw"), [("bool", 2), ("float", True), ("float", "nan"), ("int", None)]
)
def test_convert_refuses(kind: str, raw: Any) -> None:
    with pytest.raises(FieldError):
        convert(MqttPoint(name="p", field="f", type=kind), raw)


def test_the_router_finds_a_sensor_by_topic(example_site: SiteConfig) -> None:
    router = SensorRouter(example_site.devices)
    found = router.find("site/harbour-view/sensors/leak-pump-room")
    assert found is not None
    assert found.id == "leak-pump-room"
    assert router.find("site/harbour-view/sensors/unknown") is None
    assert len(router.filters) == 6
