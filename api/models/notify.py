"""The notification outbox, escalations under way, incidents and quality samples."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from api.models.base import Base, BigId


class Notification(Base):
    """One message to send to one person over one channel about one event. `key` is unique
    per (event, recipient, channel): planning the same event again (a redelivery, a restart)
    adds nothing. Rows of one recipient and channel that fall due together go as one
    message (grouping)."""

    __tablename__ = "notifications"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    key: Mapped[str] = mapped_column(String(64), unique=True)
    site: Mapped[str] = mapped_column(String(64))
    event_key: Mapped[str] = mapped_column(String(256))
    subject_kind: Mapped[str] = mapped_column(String(16))
    subject_id: Mapped[str] = mapped_column(String(256))
    recipient: Mapped[str] = mapped_column(String(64))
    channel: Mapped[str] = mapped_column(String(64))
    level: Mapped[int] = mapped_column(default=0, doc="escalation level; 0 = first notice")
    line: Mapped[dict[str, Any]] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(
        String(16), doc="pending, sending, sent, dead (gave up), silenced"
    )
    attempts: Mapped[int] = mapped_column(default=0)
    due_at: Mapped[datetime]
    created_at: Mapped[datetime]
    sent_at: Mapped[datetime | None]
    delivery_id: Mapped[str | None] = mapped_column(String(64))
    last_error: Mapped[str | None] = mapped_column(Text)

    __table_args__ = (
        Index("ix_notifications_due", "status", "due_at"),
        Index("ix_notifications_subject", "subject_kind", "subject_id"),
    )


class Escalation(Base):
    """An alarm whose chain is running: levels are sent while it stays unacknowledged."""

    __tablename__ = "escalations"

    alarm_id: Mapped[str] = mapped_column(String(256), primary_key=True)
    site: Mapped[str] = mapped_column(String(64))
    chain: Mapped[str] = mapped_column(String(64))
    started_at: Mapped[datetime]
    last_level: Mapped[int] = mapped_column(default=0)
    stopped_at: Mapped[datetime | None]
    stopped_reason: Mapped[str | None] = mapped_column(String(64))

    __table_args__ = (Index("ix_escalations_running", "stopped_at"),)


class Incident(Base):
    """An emergency being handled under a plan (应急预案)."""

    __tablename__ = "incidents"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    site: Mapped[str] = mapped_column(String(64))
    plan: Mapped[str] = mapped_column(String(64))
    type: Mapped[str] = mapped_column(String(32))
    title: Mapped[str] = mapped_column(String(256))
    building: Mapped[str | None] = mapped_column(String(64))
    state: Mapped[str] = mapped_column(String(16), doc="open, closed, reviewed")
    revision: Mapped[int] = mapped_column(default=1)
    alarm_ids: Mapped[list[str]] = mapped_column(JSON, default=list)
    steps_done: Mapped[list[str]] = mapped_column(JSON, default=list)
    owners_notice: Mapped[dict[str, str]] = mapped_column(JSON, default=dict)
    opened_at: Mapped[datetime]
    opened_by: Mapped[str] = mapped_column(String(64))
    closed_at: Mapped[datetime | None]
    closed_by: Mapped[str | None] = mapped_column(String(64))
    review_due_at: Mapped[datetime | None]
    review: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    reviewed_by: Mapped[str | None] = mapped_column(String(64))
    reviewed_at: Mapped[datetime | None]

    __table_args__ = (Index("ix_incidents_site_state", "site", "state"),)


class IncidentEntry(Base):
    """One line of an incident's timeline: an alarm, a notification, a step, a work order,
    a note, with who and when."""

    __tablename__ = "incident_entries"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    incident_id: Mapped[str] = mapped_column(ForeignKey("incidents.id"), index=True)
    at: Mapped[datetime]
    by: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(32))
    text: Mapped[str] = mapped_column(Text, default="")
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class QualitySample(Base):
    """A week's random sample of closed work orders for callbacks; `seed` reproduces it."""

    __tablename__ = "quality_samples"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    site: Mapped[str] = mapped_column(String(64))
    week_start: Mapped[datetime]
    seed: Mapped[int] = mapped_column(BigInteger)
    population: Mapped[list[str]] = mapped_column(JSON)
    order_ids: Mapped[list[str]] = mapped_column(JSON)
    created_at: Mapped[datetime]
    created_by: Mapped[str] = mapped_column(String(64))

    __table_args__ = (UniqueConstraint("site", "week_start", name="uq_quality_samples_week"),)


class QualityCallback(Base):
    """The quality staff's callback on one sampled order."""

    __tablename__ = "quality_callbacks"

    sample_id: Mapped[str] = mapped_column(ForeignKey("quality_samples.id"), primary_key=True)
    order_id: Mapped[str] = mapped_column(ForeignKey("work_orders.id"), primary_key=True)
    result: Mapped[str | None] = mapped_column(String(16), doc="satisfied, not_fixed")
    by: Mapped[str | None] = mapped_column(String(64))
    at: Mapped[datetime | None]
    note: Mapped[str] = mapped_column(Text, default="")
