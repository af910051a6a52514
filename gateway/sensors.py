"""MQTT sensors on the site broker: a JSON payload's fields → a `DeviceReading`. Pure.

Fields are dotted paths into the JSON object (`env.temperature`); the sensor's own time comes
from `timestamp_field` (epoch seconds, or ISO 8601) when it has one. A payload that is not a
JSON object, has a field of the wrong type, or none of the configured fields raises
`SensorPayloadError`, which becomes a `DeadLetter`; a field missing from an otherwise good
payload is that point's `error` quality.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from paho.mqtt.client import topic_matches_sub

from estatewatch.config import MqttPoint, MqttSensor
from estatewatch.config.site import Device
from estatewatch.contracts.payloads import DeviceReading, Quality, Scalar
from gateway.errors import GatewayError

_MISSING = object()


class SensorPayloadError(GatewayError):
    """A sensor payload the gateway cannot use; the message says which field and why."""


def sensors_for(devices: list[Device], topic: str) -> list[Device]:
    """The MQTT sensors whose configured topic (wildcards allowed) matches `topic`."""
    return [
        d
        for d in devices
        if isinstance(d.connection, MqttSensor) and topic_matches_sub(d.connection.topic, topic)
    ]


def _field(body: dict[str, Any], path: str) -> Any:
    node: Any = body
    for part in path.split("."):
        if not isinstance(node, dict) or part not in node:
            return _MISSING
        node = node[part]
    return node


def convert(point: MqttPoint, raw: Any) -> Scalar:
    """The point's engineering value from its raw field, or `SensorPayloadError`."""
    if point.type == "bool":
        if isinstance(raw, bool) or raw in (0, 1):
            return bool(raw)
        raise SensorPayloadError(f"{point.field}: expected a boolean, got {raw!r}")
    if point.type == "string":
        if isinstance(raw, str):
            return raw
        raise SensorPayloadError(f"{point.field}: expected a string, got {raw!r}")
    if isinstance(raw, bool) or not isinstance(raw, int | float):
        raise SensorPayloadError(f"{point.field}: expected a number, got {raw!r}")
    if point.type == "int":
        if isinstance(raw, float) and not raw.is_integer():
            raise SensorPayloadError(f"{point.field}: expected an integer, got {raw!r}")
        raw = int(raw)
    if point.scale == 1.0 and point.offset == 0.0:
        return raw if point.type == "int" else float(raw)
    return float(raw * point.scale + point.offset)


def timestamp_ms(raw: Any, field: str) -> int:
    """Epoch seconds (int or float) or an ISO 8601 string → epoch milliseconds."""
    if isinstance(raw, bool):
        raise SensorPayloadError(f"{field}: expected a time, got {raw!r}")
    if isinstance(raw, int | float):
        if not 0 <= raw < 32503680000:
            raise SensorPayloadError(f"{field}: {raw!r} is not epoch seconds")
        return int(raw * 1000)
    if isinstance(raw, str):
        try:
            moment = datetime.fromisoformat(raw.replace("Z", "+00:00"))
        except ValueError:
            raise SensorPayloadError(f"{field}: {raw!r} is not an ISO time") from None
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=UTC)
        return int(moment.timestamp() * 1000)
    raise SensorPayloadError(f"{field}: expected a time, got {raw!r}")


def map_payload(sensor: Device, payload: bytes, received_ms: int) -> DeviceReading:
    """The reading a sensor's payload carries."""
    conn = sensor.connection
    assert isinstance(conn, MqttSensor)
    try:
        body = json.loads(payload)
    except (ValueError, UnicodeDecodeError) as exc:
        raise SensorPayloadError(f"not JSON: {exc}") from None
    if not isinstance(body, dict):
        raise SensorPayloadError(f"expected a JSON object, got {type(body).__name__}")
    values: dict[str, Scalar] = {}
    quality: dict[str, Quality] = {}
    for point in conn.points:
        raw = _field(body, point.field)
        if raw is _MISSING or raw is None:
            quality[point.name] = Quality.ERROR
            continue
        values[point.name] = convert(point, raw)
    if not values:
        fields = ", ".join(p.field for p in conn.points)
        raise SensorPayloadError(f"none of the configured fields ({fields}) is in the payload")
    ts = received_ms
    if conn.timestamp_field is not None:
        raw_ts = _field(body, conn.timestamp_field)
        if raw_ts is not _MISSING:
            ts = timestamp_ms(raw_ts, conn.timestamp_field)
    return DeviceReading(
        device=sensor.id,
        kind=sensor.kind,
        building=sensor.building,
        room=sensor.room,
        ts=ts,
        values=values,
        quality=quality,
    )
