"""The contract messages the gateway sends, as bytes.

Telemetry is the hot path: each reading is encoded once, by orjson, into a JSON fragment
with its device's tags pre-encoded; a `TelemetryBatch` is those fragments joined under an
envelope. The result is exactly `TelemetryBatch.model_dump_json()`'s shape (the tests
decode it with the contract's own `decode`). The rarer messages go through their pydantic
models.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

import orjson

from estatewatch.config import Device, DeviceKind, Sensor, SensorType
from estatewatch.contracts import topics
from estatewatch.contracts.payloads import GatewayMessage
from gateway.devices import Reading


class Stream(StrEnum):
    """A message model: each has its own gap-free `seq` per gateway."""

    TELEMETRY = "telemetry"
    DEVICE_STATUS = "device_status"
    PATROL_SCAN = "patrol_scan"
    PATROL_EXCEPTION = "patrol_exception"
    GATEWAY_HEALTH = "gateway_health"


@dataclass(frozen=True, slots=True)
class Outgoing:
    """A message waiting for its `seq`: `render(seq)` gives its payload."""

    stream: Stream
    topic: str
    retain: bool
    message: GatewayMessage | None = None
    fragments: Sequence[bytes] = ()
    """Telemetry only: the encoded readings of the batch."""

    def render(self, site: str, gateway: str, seq: int) -> bytes:
        if self.message is not None:
            return self.message.model_copy(update={"seq": seq}).to_bytes()
        return telemetry_payload(site, gateway, seq, self.fragments)


LIFE_SAFETY_SENSORS = frozenset({SensorType.SMOKE, SensorType.FIRE_PANEL})


def is_life_safety(device: Device) -> bool:
    """A fire alarm panel or a smoke/fire sensor: its readings must not wait in the queue
    behind telemetry (they travel in the priority lane, like patrol scans)."""
    if device.kind is DeviceKind.FIRE_PANEL:
        return True
    return isinstance(device, Sensor) and device.sensor_type in LIFE_SAFETY_SENSORS


class ReadingEncoder:
    """Encodes the readings of one device (its tags are encoded once); `urgent` says the
    device's readings go in the priority lane."""

    __slots__ = ("_head", "urgent")

    def __init__(self, device: Device) -> None:
        self.urgent = is_life_safety(device)
        tags = orjson.dumps(
            {
                "device": device.id,
                "kind": device.kind.value,
                "building": device.building,
                "room": device.room,
            }
        )
        self._head = tags[:-1] + b',"ts":'

    def encode(self, reading: Reading) -> bytes:
        body = self._head + str(reading.ts).encode() + b',"values":' + orjson.dumps(reading.values)
        if reading.quality:
            body += b',"quality":' + orjson.dumps(reading.quality)
        return body + b"}"


def telemetry_payload(site: str, gateway: str, seq: int, fragments: Sequence[bytes]) -> bytes:
    """A `TelemetryBatch` of already encoded readings."""
    head = orjson.dumps({"schema_version": 1, "site": site, "gateway": gateway, "seq": seq})
    return head[:-1] + b',"readings":[' + b",".join(fragments) + b"]}"


def stream_topic(stream: Stream, site: str, gateway: str, key: str = "") -> str:
    """Where each stream goes (device status: one retained topic per device, `key`)."""
    if stream is Stream.TELEMETRY:
        return topics.telemetry(site, gateway)
    if stream is Stream.DEVICE_STATUS:
        return topics.device_status(site, key)
    if stream is Stream.PATROL_SCAN:
        return topics.patrol_scan(site, gateway)
    if stream is Stream.PATROL_EXCEPTION:
        return topics.patrol_exception(site, gateway)
    return topics.gateway_health(site, gateway)
