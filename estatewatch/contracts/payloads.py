"""A pydantic model for every MQTT payload in the contract (see topics.py for where each goes).

Conventions, kept by every model:
- JSON, UTF-8; `schema_version` is 1 and changes only with an incompatible change.
- Every time is an integer of **milliseconds since the Unix epoch, UTC** (`EpochMs`): cheap to
  parse on the hot path and exact as an InfluxDB timestamp.
- Unknown fields are rejected: a consumer never silently ignores what a producer meant.
- Ids (`alarm_id`, `scan_id`, `event_id`, ...) are stable: the same fact always gets the same
  id, so a consumer that sees a message twice can tell and do nothing the second time.
"""

from __future__ import annotations

import hashlib
from enum import StrEnum
from typing import Annotated, Literal, Self

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

from estatewatch.config.base import Identifier, PointName
from estatewatch.config.site import DeviceKind

EpochMs = Annotated[int, Field(ge=0, le=32503680000000)]  # up to year 3000
"""Milliseconds since the Unix epoch, UTC."""

Scalar = bool | int | float | str
"""A point's value. bool before int: JSON `true` stays a bool."""

ShortText = Annotated[str, StringConstraints(max_length=256)]
LongText = Annotated[str, StringConstraints(max_length=4000)]
TagUid = Annotated[
    str, StringConstraints(to_upper=True, strip_whitespace=True, pattern=r"^[0-9A-Fa-f]{8,20}$")
]
"""An NFC tag UID in hex, normalised to upper case."""

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

SCHEMA_VERSION: Literal[1] = 1
MAX_PAYLOAD_BYTES = 256 * 1024
MAX_READINGS_PER_BATCH = 1000


def stable_id(*parts: object) -> str:
    """A short id that is the same whenever the same parts are given (20 hex chars)."""
    joined = "\x1f".join(str(p) for p in parts)
    return hashlib.sha256(joined.encode()).hexdigest()[:20]


class Payload(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    schema_version: Literal[1] = SCHEMA_VERSION

    def to_bytes(self) -> bytes:
        return self.model_dump_json().encode()


class GatewayMessage(Payload):
    """What a gateway publishes through its store-and-forward queue. `seq` counts up by one
    per message of each model from each gateway, survives restarts, and is never reused, so
    a central consumer sees a gap as loss and a repeat as a harmless redelivery."""

    site: Identifier
    gateway: Identifier
    seq: int = Field(ge=0)


# --- telemetry -----------------------------------------------------------------------------


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


# --- devices and gateways ------------------------------------------------------------------


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


class DeviceError(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    kind: DeviceErrorKind
    code: int | None = Field(default=None, description="the Modbus exception code, if any")
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
    """Retained. Published `online` on connect; the broker publishes the `offline` last will
    when the gateway vanishes, so `ts` of an `offline` will is the time of that connect."""

    site: Identifier
    gateway: Identifier
    state: Literal["online", "offline"]
    ts: EpochMs
    version: ShortText = ""


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


# --- patrol --------------------------------------------------------------------------------


class FindingPriority(StrEnum):
    IMMEDIATE = "immediate"  # 立即整改: fixed within the SLA's immediate_finding_fix (1 h)
    BY_DEADLINE = "by_deadline"  # 限期整改: an owner and a due date, re-inspected
    NEEDS_COORDINATION = "needs_coordination"  # 需协调


class Finding(BaseModel):
    """A hazard a guard reports at a checkpoint; it becomes a work order."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    description: Annotated[str, StringConstraints(min_length=1, max_length=2000)]
    priority: FindingPriority
    due_at: EpochMs | None = None
    location: ShortText = ""
    photo_refs: list[ShortText] = Field(default_factory=list, max_length=10)

    @model_validator(mode="after")
    def _deadline(self) -> Self:
        if self.priority is FindingPriority.BY_DEADLINE and self.due_at is None:
            raise ValueError("a by_deadline finding needs due_at")
        return self


class SunMessage(BaseModel):
    """The SUN (secure unique NFC) message of an NTAG 424 DNA tag, as read from its URL."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    picc_data: Annotated[str, StringConstraints(pattern=r"^[0-9A-Fa-f]{32}$")]
    cmac: Annotated[str, StringConstraints(pattern=r"^[0-9A-Fa-f]{16}$")]


class HandheldScan(Payload):
    """What a guard's handheld (or a fixed reader) sends on the site broker or by HTTP sync.

    `signature` is HMAC-SHA256, hex, with the handheld's key over
    ``f"{handheld}|{guard}|{tag_uid}|{scanned_at}|{counter}"``; `counter` rises by one per
    scan on the handheld, so a replay or a forgery is detectable.
    """

    handheld: Identifier
    guard: Identifier
    tag_uid: TagUid
    scanned_at: EpochMs
    counter: int | None = Field(default=None, ge=0)
    signature: Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{64}$")] | None = None
    sun: SunMessage | None = None
    finding: Finding | None = None
    offline: bool = Field(default=False, description="kept on the handheld and synced later")

    def signing_text(self) -> bytes:
        return (
            f"{self.handheld}|{self.guard}|{self.tag_uid}|{self.scanned_at}|{self.counter}"
        ).encode()

    @property
    def scan_id(self) -> str:
        """Same handheld, same tag, same time: the same scan, however often it is sent."""
        return stable_id(self.handheld, self.tag_uid, self.scanned_at)


class ScanSource(StrEnum):
    MQTT = "mqtt"
    HTTP = "http"
    READER = "reader"


class ScanVerification(StrEnum):
    NONE = "none"
    HMAC = "hmac"
    SUN = "sun"


class PatrolScan(GatewayMessage):
    """A scan of a known checkpoint, forwarded by the gateway with its original time."""

    scan_id: ShortText
    handheld: Identifier
    guard: Identifier
    tag_uid: TagUid
    checkpoint: Identifier
    building: Identifier
    scanned_at: EpochMs
    received_at: EpochMs
    source: ScanSource
    synced_late: bool = False
    counter: int | None = None
    verified: ScanVerification = ScanVerification.NONE
    finding: Finding | None = None


class PatrolExceptionKind(StrEnum):
    UNKNOWN_TAG = "unknown_tag"
    UNKNOWN_HANDHELD = "unknown_handheld"
    MALFORMED = "malformed"
    BAD_SIGNATURE = "bad_signature"
    REPLAY = "replay"


class PatrolException(GatewayMessage):
    """A scan the gateway could not accept. Forwarded, never dropped: the duty room sees it."""

    kind: PatrolExceptionKind
    reason: LongText
    received_at: EpochMs
    source: ScanSource
    handheld: ShortText | None = None
    guard: ShortText | None = None
    tag_uid: ShortText | None = None
    scanned_at: EpochMs | None = None
    raw: Annotated[str, StringConstraints(max_length=2048)] = ""


# --- alarms --------------------------------------------------------------------------------


class Severity(StrEnum):
    CRITICAL = "critical"
    MAJOR = "major"
    MINOR = "minor"
    WARNING = "warning"


class AlarmEventType(StrEnum):
    RAISED = "raised"
    UPDATED = "updated"  # occurrences or value changed while active (flapping is counted)
    ACKNOWLEDGED = "acknowledged"
    CLEARED = "cleared"  # the condition is gone (after its clear deadband)
    CLOSED = "closed"  # cleared and acknowledged: nothing more to do


class TargetKind(StrEnum):
    DEVICE = "device"
    DEVICE_GROUP = "device_group"
    GATEWAY = "gateway"
    CHECKPOINT = "checkpoint"
    ROUTE = "route"
    GUARD = "guard"
    HANDHELD = "handheld"
    SITE = "site"


class AlarmEvent(Payload):
    """One transition of one alarm. `alarm_id` is stable for the alarm's life; `revision`
    rises by one per transition, so a consumer applies an event only if it is newer than
    what it holds, and `event_id` (``{alarm_id}:{revision}``) is unique per transition."""

    event_id: ShortText
    alarm_id: ShortText
    revision: int = Field(ge=1)
    event: AlarmEventType
    site: Identifier
    rule: ShortText
    category: ShortText = Field(description="e.g. entrapment, pressure_loss, missed_checkpoint")
    severity: Severity
    target_kind: TargetKind
    target: ShortText
    device_kind: DeviceKind | None = None
    building: Identifier | None = None
    room: Identifier | None = None
    title: ShortText
    message: LongText = ""
    raised_at: EpochMs
    ts: EpochMs
    active: bool
    acknowledged: bool = False
    acknowledged_by: ShortText | None = None
    cleared_at: EpochMs | None = None
    occurrences: int = Field(default=1, ge=1)
    value: Scalar | None = None
    details: dict[ShortText, Scalar | None] = Field(default_factory=dict)


class AlarmCommand(Payload):
    """From the API to the rules engine: a person acted on an alarm. Idempotent by
    `command_id`."""

    command_id: ShortText
    alarm_id: ShortText
    site: Identifier
    action: Literal["acknowledge", "close"]
    by: ShortText
    at: EpochMs
    note: LongText = ""


# --- work orders, notifications, incidents (published by the API) ---------------------------


class WorkOrderState(StrEnum):
    NEW = "new"
    DISPATCHED = "dispatched"
    ACCEPTED = "accepted"
    ON_SITE = "on_site"
    COMPLETED = "completed"
    VERIFIED = "verified"
    CLOSED = "closed"
    CANCELLED = "cancelled"


class WorkOrderEventType(StrEnum):
    CREATED = "created"
    DISPATCHED = "dispatched"
    ACCEPTED = "accepted"
    ON_SITE = "on_site"
    COMPLETED = "completed"
    VERIFIED = "verified"
    CLOSED = "closed"
    CANCELLED = "cancelled"
    REOPENED = "reopened"
    ESCALATED = "escalated"
    SLA_WARNING = "sla_warning"
    SLA_BREACHED = "sla_breached"
    UPDATED = "updated"


class Urgency(StrEnum):
    URGENT = "urgent"
    GENERAL = "general"


class Trade(StrEnum):
    WATER_ELECTRIC = "water_electric"  # 水电
    CIVIL = "civil"  # 土建
    INTELLIGENT = "intelligent"  # 智能化
    ELEVATOR = "elevator"
    FIRE = "fire"
    SECURITY = "security"
    CLEANING = "cleaning"


class WorkOrderSource(StrEnum):
    ALARM = "alarm"
    FINDING = "finding"
    MANUAL = "manual"
    COMPLAINT = "complaint"
    MAINTENANCE = "maintenance"


class WorkOrderEvent(Payload):
    event_id: ShortText
    order_id: ShortText
    revision: int = Field(ge=1)
    event: WorkOrderEventType
    state: WorkOrderState
    site: Identifier
    source: WorkOrderSource
    alarm_id: ShortText | None = None
    title: ShortText
    trade: Trade
    department: ShortText
    urgency: Urgency
    assignee: ShortText | None = None
    building: Identifier | None = None
    device: Identifier | None = None
    deadlines: dict[ShortText, EpochMs] = Field(
        default_factory=dict, description="SLA clock name -> due time"
    )
    breached: list[ShortText] = Field(default_factory=list)
    escalation_level: int = Field(default=0, ge=0)
    by: ShortText | None = None
    at: EpochMs
    note: LongText = ""


class NotificationEvent(Payload):
    notification_id: ShortText
    site: Identifier
    event: Literal["queued", "sent", "failed", "acknowledged", "escalated"]
    channel: ShortText
    recipient: ShortText
    subject_kind: Literal["alarm", "workorder", "incident"]
    subject_id: ShortText
    attempt: int = Field(default=1, ge=1)
    at: EpochMs
    error: LongText | None = None


class IncidentEvent(Payload):
    incident_id: ShortText
    revision: int = Field(ge=1)
    site: Identifier
    event: Literal[
        "opened",
        "alarm_linked",
        "notified",
        "step_done",
        "note",
        "closed",
        "review_due",
        "reviewed",
    ]
    plan: ShortText = Field(description="fire, flood, power_outage, water_outage, entrapment, gas")
    at: EpochMs
    by: ShortText | None = None
    text: LongText = ""
    alarm_ids: list[ShortText] = Field(default_factory=list)


# --- dead letters ----------------------------------------------------------------------------


class DeadLetter(Payload):
    """A message a component could not use, with why. Nothing is silently dropped."""

    component: Identifier
    source_topic: Annotated[str, StringConstraints(max_length=1024)]
    reason: LongText
    received_at: EpochMs
    payload_bytes: int = Field(ge=0)
    payload: Annotated[str, StringConstraints(max_length=4096)] = Field(
        default="", description="the start of the payload as text (undecodable bytes replaced)"
    )
