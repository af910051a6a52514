"""Contract payloads as InfluxDB points, by the schema in `estatewatch.readings.schema`.

These are the general (model-based) encoders: every status and health message and any
telemetry the fast path in `ingest.decode` hands back to pydantic go through here.
"""

from __future__ import annotations

from collections.abc import Iterable

from estatewatch.contracts.payloads import (
    DeviceReading,
    DeviceStatus,
    GatewayHealth,
    Quality,
    Scalar,
)
from estatewatch.readings.schema import (
    DEVICE_STATUS,
    GATEWAY_HEALTH,
    measurement,
    quality_field,
)
from ingest.lineproto import encode_line, format_value

_HEALTH_NUMBERS = (
    "uptime_s",
    "devices_total",
    "devices_online",
    "poll_latency_p50_ms",
    "poll_latency_p99_ms",
    "poll_lateness_p99_ms",
    "queue_depth",
    "queue_bytes",
    "queue_oldest_ms",
    "dropped_total",
    "published_total",
)


def storable(
    name: str, values: Iterable[tuple[str, Scalar]], problems: list[str]
) -> list[tuple[str, Scalar]]:
    """The fields that can be written; each one that cannot (NaN, infinity, a number beyond
    float range) is left out and described in `problems`."""
    out = []
    for key, value in values:
        try:
            format_value(value)
        except ValueError as exc:
            problems.append(f"{name}.{key}: not stored, {exc}")
            continue
        out.append((key, value))
    return out


def quality_marks(quality: dict[str, Quality]) -> list[tuple[str, Scalar]]:
    return [(quality_field(p), q.value) for p, q in quality.items() if q is not Quality.GOOD]


def reading_line(site: str, reading: DeviceReading, index: int, problems: list[str]) -> str | None:
    """One telemetry point; None when the reading holds nothing to store."""
    fields = storable(f"readings.{index}.values", reading.values.items(), problems)
    fields += quality_marks(reading.quality)
    if not fields:
        return None
    tags = {
        "building": reading.building,
        "device": reading.device,
        "room": reading.room,
        "site": site,
    }
    return encode_line(measurement(reading.kind), tags, fields, reading.ts)


def status_line(status: DeviceStatus) -> str:
    tags = {
        "building": status.building,
        "device": status.device,
        "kind": status.kind.value,
        "room": status.room,
        "site": status.site,
    }
    fields: list[tuple[str, Scalar]] = [
        ("state", status.state.value),
        ("since", status.since),
        ("consecutive_failures", status.consecutive_failures),
        ("gateway", status.gateway),
    ]
    if status.last_seen is not None:
        fields.append(("last_seen", status.last_seen))
    if status.last_error is not None:
        fields.append(("error_kind", status.last_error.kind.value))
        fields.append(("error_message", status.last_error.message))
        if status.last_error.code is not None:
            fields.append(("error_code", status.last_error.code))
    return encode_line(DEVICE_STATUS, tags, fields, status.ts)


def health_line(health: GatewayHealth, problems: list[str]) -> str:
    values: list[tuple[str, Scalar]] = []
    for name in _HEALTH_NUMBERS:
        value = getattr(health, name)
        if value is not None:
            values.append((name, value))
    fields = storable("health", values, problems)
    return encode_line(
        GATEWAY_HEALTH, {"gateway": health.gateway, "site": health.site}, fields, health.ts
    )
