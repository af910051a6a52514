"""Work orders, notifications and incidents: what the API publishes."""

from __future__ import annotations

from enum import StrEnum
from typing import Literal

from pydantic import Field

from estatewatch.config.base import Identifier
from estatewatch.contracts.base import EpochMs, LongText, Payload, ShortText


class WorkOrderState(StrEnum):
    NEW = "new"
    DISPATCHED = "dispatched"
    ACCEPTED = "accepted"
    ON_SITE = "on_site"
    COMPLETED = "completed"
    VERIFIED = "verified"
    CLOSED = "closed"
    CANCELLED = "cancelled"

    @property
    def open(self) -> bool:
        """Still work to do or to check: every state but the two final ones. The pages show
        an order while it is open; they read this flag rather than keep a copy of the set."""
        return self not in FINAL_STATES


FINAL_STATES = frozenset({WorkOrderState.CLOSED, WorkOrderState.CANCELLED})


class PendingClock(Payload):
    """An SLA clock still running: its name and when it runs out."""

    clock: ShortText
    due: EpochMs


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
    REJECTED = "rejected"  # the technician declined it before accepting: back to dispatch
    HANDED_BACK = "handed_back"  # accepted, then returned to the duty room for re-dispatch
    ESCALATED = "escalated"
    SLA_WARNING = "sla_warning"
    SLA_BREACHED = "sla_breached"
    UPDATED = "updated"
    NOTE = "note"  # a technician's note for the duty room (who answers the requester)


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
    title_zh: ShortText | None = Field(
        default=None, description="the title in Chinese when it is known in both languages"
    )
    trade: Trade
    department: ShortText
    urgency: Urgency
    assignee: ShortText | None = None
    building: Identifier | None = None
    device: Identifier | None = None
    deadlines: dict[ShortText, EpochMs] = Field(
        default_factory=dict, description="SLA clock name -> due time"
    )
    pending: list[PendingClock] = Field(
        default_factory=list,
        description="the clocks not met yet, nearest first (empty once the order is final)",
    )
    open: bool = Field(default=True, description="the state is neither closed nor cancelled")
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
    subject_kind: Literal["alarm", "workorder", "incident", "handover"]
    """`handover`: a shift that ended without a signed handover (交接班)."""
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
