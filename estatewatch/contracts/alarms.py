"""Alarms: the events the rules engine publishes and the commands that act on them."""

from __future__ import annotations

from enum import StrEnum
from typing import Literal

from pydantic import Field

from estatewatch.config.base import Identifier
from estatewatch.config.devices import DeviceKind
from estatewatch.contracts.base import EpochMs, LongText, Payload, Scalar, ShortText


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
    title: ShortText = Field(description="in English (or the only language the rule gave)")
    message: LongText = ""
    title_zh: ShortText | None = Field(
        default=None,
        description="the title in Chinese (zh-CN); None from a producer older than both "
        "languages, or when the rule gave one text: show `title`",
    )
    message_zh: LongText | None = Field(default=None, description="the message in Chinese")
    raised_at: EpochMs
    onset_at: EpochMs | None = Field(
        default=None,
        description="when the fault began (its condition first held; the device's own report"
        " raises at once): alarm durations and SLA clocks run from here; None: `raised_at`",
    )
    ts: EpochMs
    active: bool
    acknowledged: bool = False
    acknowledged_by: ShortText | None = None
    cleared_at: EpochMs | None = None
    occurrences: int = Field(default=1, ge=1)
    value: Scalar | None = None
    details: dict[ShortText, Scalar | None] = Field(default_factory=dict)
    parent_alarm_id: ShortText | None = Field(
        default=None,
        description="set while a root alarm (a power room's outage, a gateway's uplink) "
        "explains this one: it is that root's child, kept and shown under it, and raises no "
        "work order or notification of its own; None once released",
    )


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
