"""Alarms as the API shows them."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, StringConstraints

from api.domain.alarms import AlarmState
from estatewatch.contracts.payloads import AlarmEventType, LongText, Severity, TargetKind


class AlarmPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    alarm_id: str
    site: str
    rule: str
    category: str
    severity: Severity
    target_kind: TargetKind
    target: str
    device_kind: str | None
    building: str | None
    room: str | None
    title: str
    message: str
    title_zh: str | None = None
    """The title in Chinese (None: show `title`); `title` is English or the only text."""
    message_zh: str | None = None
    state: AlarmState
    last_event: AlarmEventType
    revision: int
    raised_at: datetime
    onset_at: datetime | None = None
    """When the fault began: the alarm's duration runs from here."""
    last_event_at: datetime
    active: bool
    acknowledged: bool
    acknowledged_by: str | None
    cleared_at: datetime | None
    occurrences: int
    value: Any
    details: dict[str, Any]
    ack_requested_by: str | None
    ack_requested_at: datetime | None
    work_order_id: str | None = None
    parent_alarm_id: str | None = None
    """The root alarm that explains this one while it is active (a power room's outage):
    this one is its child, shown under it (`GET /alarms/{root}/children`)."""


class AlarmEventPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    event_id: str
    revision: int
    event: AlarmEventType
    ts: datetime
    received_at: datetime
    applied: bool


class AlarmActionPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    kind: str
    by: str
    at: datetime
    note: str
    command_id: str | None


class AlarmDetail(AlarmPublic):
    history: list[AlarmEventPublic]
    actions: list[AlarmActionPublic]
    children: list[AlarmPublic] = []
    """The alarms this root alarm explains (a power room's outage: the pumps, lifts and
    controllers it stopped), each with its own state."""


class AcknowledgeIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    note: LongText = ""


class CommentIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    text: Annotated[str, StringConstraints(min_length=1, max_length=4000, strip_whitespace=True)]
