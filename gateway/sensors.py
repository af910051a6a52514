"""MQTT sensors on the site broker: a JSON payload's fields (dotted paths) mapped to points,
as the site config says. `map_payload` is pure; `SensorRouter` finds the sensor of a topic.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

import orjson
from paho.mqtt.client import topic_matches_sub

from estatewatch.codec import Value
from estatewatch.config import Device, MqttPoint, MqttSensor
from estatewatch.contracts.payloads import DeviceError, DeviceErrorKind
from gateway.devices import PollResult

_TRUE = {"true", "on", "yes", "1", "open", "alarm", "wet"}
_FALSE = {"false", "off", "no", "0", "closed", "normal", "dry"}
MAX_CLOCK_SKEW_MS = 24 * 3600 * 1000
"""A sensor time further than this from the gateway's is not believed."""


class FieldError(ValueError):
    """A field is missing or not what its point's type says."""


def _field(body: Any, path: str) -> Any:
    node = body
    for name in path.split("."):
        if not isinstance(node, dict) or name not in node:
            raise FieldError(f"no field {path!r}")
        node = node[name]
    return node


def convert(point: MqttPoint, raw: Any) -> Value:
    """A field's value as the point's type, scaled."""
    if point.type == "bool":
        if isinstance(raw, bool):
            return raw
        if isinstance(raw, int | float) and raw in (0, 1):
            return bool(raw)
        if isinstance(raw, str) and raw.strip().lower() in _TRUE | _FALSE:
            return raw.strip().lower() in _TRUE
        raise FieldError(f"{point.field}: {raw!r} is not a boolean")
    if point.type == "string":
        if isinstance(raw, dict | list) or raw is None:
            raise FieldError(f"{point.field}: {raw!r} is not text")
        return str(raw)
    if isinstance(raw, bool) or raw is None:
        raise FieldError(f"{point.field}: {raw!r} is not a number")
    try:
        number = float(raw)
    except (TypeError, ValueError):
        raise FieldError(f"{point.field}: {raw!r} is not a number") from None
    if not math.isfinite(number):
        raise FieldError(f"{point.field}: {raw!r} is not a finite number")
    value = number * point.scale + point.offset
    if point.type == "int":
        return round(value)
    return value


def sensor_time(raw: Any, received_ms: int) -> int:
    """The sensor's own time in epoch ms: epoch seconds (or ms if that large), or ISO 8601
    (UTC when it names no offset)."""
    if isinstance(raw, bool):
        raise FieldError(f"{raw!r} is not a time")
    if isinstance(raw, int | float) and math.isfinite(raw):
        ms = int(raw if raw > 1e11 else raw * 1000)
    elif isinstance(raw, str):
        try:
            moment = datetime.fromisoformat(raw.replace("Z", "+00:00"))
        except ValueError:
            raise FieldError(f"{raw!r} is not a time") from None
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=UTC)
        ms = int(moment.timestamp() * 1000)
    else:
        raise FieldError(f"{raw!r} is not a time")
    if abs(ms - received_ms) > MAX_CLOCK_SKEW_MS:
        raise FieldError(f"time {raw!r} is more than a day from the gateway's clock")
    return ms


def map_payload(
    sensor: MqttSensor, payload: bytes, received_ms: int
) -> tuple[PollResult, int, str | None]:
    """The values a sensor's message carries, their time, and a note when the sensor's own
    time was unusable (the gateway's is used). A payload that is no JSON object fails every
    point; a bad field fails its point alone."""
    result = PollResult(answered=True)
    try:
        body = orjson.loads(payload)
        if not isinstance(body, dict):
            raise FieldError("the payload is not a JSON object")
    except (orjson.JSONDecodeError, FieldError) as exc:
        error = DeviceError(kind=DeviceErrorKind.PAYLOAD, message=f"unreadable payload: {exc}")
        result.failed = {point.name: error for point in sensor.points}
        return result, received_ms, None
    for point in sensor.points:
        try:
            result.values[point.name] = convert(point, _field(body, point.field))
        except FieldError as exc:
            result.failed[point.name] = DeviceError(kind=DeviceErrorKind.PAYLOAD, message=str(exc))
    ts, note = received_ms, None
    if sensor.timestamp_field:
        try:
            ts = sensor_time(_field(body, sensor.timestamp_field), received_ms)
        except FieldError as exc:
            note = f"timestamp {sensor.timestamp_field}: {exc}; the gateway's time is used"
    return result, ts, note


class SensorRouter:
    """Which MQTT sensor a topic belongs to (the config's topics may hold wildcards)."""

    def __init__(self, devices: Iterable[Device]) -> None:
        self.exact: dict[str, Device] = {}
        self.wild: list[tuple[str, Device]] = []
        for device in devices:
            conn = device.connection
            if not isinstance(conn, MqttSensor):
                continue
            if "+" in conn.topic or "#" in conn.topic:
                self.wild.append((conn.topic, device))
            else:
                self.exact[conn.topic] = device

    @property
    def filters(self) -> list[str]:
        return sorted({*self.exact, *(topic for topic, _ in self.wild)})

    def find(self, topic: str) -> Device | None:
        device = self.exact.get(topic)
        if device is not None:
            return device
        for topic_filter, candidate in self.wild:
            if topic_matches_sub(topic_filter, topic):
                return candidate
        return None
