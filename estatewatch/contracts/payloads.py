"""Every payload model of the contract in one namespace (see topics.py for where each goes).

The models live by domain: `base` (conventions, `Payload`, `GatewayMessage`, dead letters),
`telemetry` (readings, device status, gateway state and health), `patrol`, `alarms`,
`workorders` (work orders, notifications, incidents). Import them from here or from
`estatewatch.contracts`.
"""

from __future__ import annotations

from estatewatch.contracts.alarms import (
    AlarmCommand,
    AlarmEvent,
    AlarmEventType,
    Severity,
    TargetKind,
)
from estatewatch.contracts.base import (
    MAX_PAYLOAD_BYTES,
    MAX_READINGS_PER_BATCH,
    SCHEMA_VERSION,
    DeadLetter,
    EpochMs,
    GatewayMessage,
    LongText,
    Payload,
    Scalar,
    ShortText,
    TagUid,
    stable_id,
)
from estatewatch.contracts.patrol import (
    Finding,
    FindingPriority,
    HandheldScan,
    PatrolException,
    PatrolExceptionKind,
    PatrolScan,
    ScanSource,
    ScanVerification,
    SunMessage,
)
from estatewatch.contracts.telemetry import (
    DeviceError,
    DeviceErrorKind,
    DeviceReading,
    DeviceState,
    DeviceStatus,
    GatewayHealth,
    GatewayState,
    Quality,
    TelemetryBatch,
)
from estatewatch.contracts.workorders import (
    IncidentEvent,
    NotificationEvent,
    Trade,
    Urgency,
    WorkOrderEvent,
    WorkOrderEventType,
    WorkOrderSource,
    WorkOrderState,
)

__all__ = [
    "MAX_PAYLOAD_BYTES",
    "MAX_READINGS_PER_BATCH",
    "SCHEMA_VERSION",
    "AlarmCommand",
    "AlarmEvent",
    "AlarmEventType",
    "DeadLetter",
    "DeviceError",
    "DeviceErrorKind",
    "DeviceReading",
    "DeviceState",
    "DeviceStatus",
    "EpochMs",
    "Finding",
    "FindingPriority",
    "GatewayHealth",
    "GatewayMessage",
    "GatewayState",
    "HandheldScan",
    "IncidentEvent",
    "LongText",
    "NotificationEvent",
    "PatrolException",
    "PatrolExceptionKind",
    "PatrolScan",
    "Payload",
    "Quality",
    "Scalar",
    "ScanSource",
    "ScanVerification",
    "Severity",
    "ShortText",
    "SunMessage",
    "TagUid",
    "TargetKind",
    "TelemetryBatch",
    "Trade",
    "Urgency",
    "WorkOrderEvent",
    "WorkOrderEventType",
    "WorkOrderSource",
    "WorkOrderState",
    "stable_id",
]
