"""Telemetry, device status and gateway state and health: what a gateway publishes."""

from __future__ import annotations

from enum import StrEnum
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from estatewatch.config.base import Identifier, PointName
from estatewatch.config.devices import DeviceKind
from estatewatch.contracts.base import (
    MAX_READINGS_PER_BATCH,
    EpochMs,
    GatewayMessage,
    LongText,
    Payload,
    Scalar,
    ShortText,
)


class Quality(StrEnum):
    GOOD = "good"
    STALE = "stale"  # the last good value, repeated because this read failed
    ERROR = "error"  # no value: the read or the decode failed


class DeviceReading(BaseModel):
    """The points of one device read at one moment. Tags (kind, building, room) travel with
    the reading so ingest needs no copy of the site config."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    device: Identifier
    kind: DeviceKind
    building: Identifier
    room: Identifier
    ts: EpochMs
    values: dict[PointName, Scalar]
    quality: dict[PointName, Quality] = Field(
        default_factory=dict, description="only points that are not good; ERROR ones have no value"
    )


class TelemetryBatch(GatewayMessage):
    readings: list[DeviceReading] = Field(min_length=1, max_length=MAX_READINGS_PER_BATCH)


class DeviceState(StrEnum):
    ONLINE = "online"
    DEGRADED = "degraded"  # answering, but some points fail (exception responses, garbage)
    OFFLINE = "offline"  # `offline_after` consecutive polls failed


class DeviceErrorKind(StrEnum):
    TIMEOUT = "timeout"
    CONNECTION = "connection"
    MODBUS_EXCEPTION = "modbus_exception"
    DECODE = "decode"
    PAYLOAD = "payload"
    PROTOCOL_ERROR = "protocol_error"  # refused in its protocol's terms: a DL/T 645 error answer


class DeviceError(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    kind: DeviceErrorKind
    code: int | None = Field(
        default=None, description="the Modbus exception code (or a DL/T 645 error byte), if any"
    )
    message: LongText


class DeviceStatus(GatewayMessage):
    device: Identifier
    kind: DeviceKind
    building: Identifier
    room: Identifier
    state: DeviceState
    ts: EpochMs
    since: EpochMs
    last_seen: EpochMs | None = None
    consecutive_failures: int = Field(default=0, ge=0)
    last_error: DeviceError | None = None


class GatewayState(Payload):
    """Retained. Published `online` on each connection and `offline` on a clean stop; when the
    gateway vanishes the broker publishes its `offline` last will, fixed when the gateway
    started — no broker stamps the time of the drop. So order a gateway's states by
    (`since`, then `offline` after `online`), not by `ts`: an online and the last will of one
    run share `since`, and a later run has a later one."""

    site: Identifier
    gateway: Identifier
    state: Literal["online", "offline"]
    ts: EpochMs
    """When the gateway said it; for a last will, its run's start (`since`)."""
    version: ShortText = ""
    since: EpochMs | None = None
    """When this gateway run started (None from gateways before this field)."""
    last_will: bool = False
    """Published by the broker for a gateway that vanished: the time it vanished is unknown
    (the message arrived about a keep-alive and a half after it)."""


class GatewayHealth(GatewayMessage):
    ts: EpochMs
    uptime_s: float = Field(ge=0)
    devices_total: int = Field(ge=0)
    devices_online: int = Field(ge=0)
    poll_latency_p50_ms: float = Field(ge=0)
    poll_latency_p99_ms: float = Field(ge=0)
    poll_lateness_p99_ms: float = Field(ge=0)
    queue_depth: int = Field(ge=0)
    queue_bytes: int = Field(ge=0)
    queue_oldest_ms: EpochMs | None = None
    dropped_total: int = Field(ge=0)
    published_total: int = Field(ge=0)
