"""Work orders, their audit log and the SLA breaches flagged on them."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from api.models.alarm import Alarm
from api.models.base import Base, BigId


class WorkOrder(Base):
    __tablename__ = "work_orders"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    site: Mapped[str] = mapped_column(String(64))
    source: Mapped[str] = mapped_column(String(16))
    # Exactly one order per alarm and per finding, whatever the redelivery: the database
    # enforces it (several NULLs are allowed by both SQLite and PostgreSQL).
    alarm_id: Mapped[str | None] = mapped_column(ForeignKey("alarms.alarm_id"), unique=True)
    scan_id: Mapped[str | None] = mapped_column(String(256), unique=True)
    category: Mapped[str] = mapped_column(String(256), default="")
    finding_priority: Mapped[str | None] = mapped_column(String(32))
    title: Mapped[str] = mapped_column(String(256))
    title_zh: Mapped[str | None] = mapped_column(
        String(256), doc="the title in Chinese when known in both languages (from an alarm)"
    )
    description: Mapped[str] = mapped_column(Text, default="")
    trade: Mapped[str] = mapped_column(String(32))
    department: Mapped[str] = mapped_column(String(64))
    urgency: Mapped[str] = mapped_column(String(16))
    building: Mapped[str | None] = mapped_column(String(64))
    device: Mapped[str | None] = mapped_column(String(64))
    location: Mapped[str] = mapped_column(String(256), default="")
    requester_name: Mapped[str | None] = mapped_column(String(256))
    requester_contact: Mapped[str | None] = mapped_column(String(256))

    state: Mapped[str] = mapped_column(String(16))
    revision: Mapped[int] = mapped_column(default=1)
    escalation_level: Mapped[int] = mapped_column(default=0)
    assignee: Mapped[str | None] = mapped_column(String(64))
    assignee_contact: Mapped[str | None] = mapped_column(String(256))
    eta: Mapped[datetime | None]
    result: Mapped[str | None] = mapped_column(Text)
    parts: Mapped[list[str]] = mapped_column(JSON, default=list)
    photo_refs: Mapped[list[str]] = mapped_column(JSON, default=list)
    parts_used: Mapped[list[dict[str, Any]]] = mapped_column(
        JSON,
        default=list,
        server_default=text("'[]'"),
        doc="parts the technician recorded: name, quantity, unit, note, by, at",
    )
    callback_note: Mapped[str | None] = mapped_column(Text)

    # The SLA clocks start at `reported_at` (the alarm's raise, the scan, the owner's call),
    # not when this row was written, so a late delivery never extends a deadline.
    reported_at: Mapped[datetime]
    fix_due_at: Mapped[datetime | None] = mapped_column(doc="a by_deadline finding's due date")
    created_at: Mapped[datetime]
    created_by: Mapped[str] = mapped_column(String(64))
    updated_at: Mapped[datetime]
    dispatched_at: Mapped[datetime | None]
    responded_at: Mapped[datetime | None] = mapped_column(doc="first accepted")
    on_site_at: Mapped[datetime | None]
    completed_at: Mapped[datetime | None]
    verified_at: Mapped[datetime | None]
    closed_at: Mapped[datetime | None]
    cancelled_at: Mapped[datetime | None]
    requester_answered_at: Mapped[datetime | None]
    # A clock until done: the completion the technician expects (set on accept, moved by a
    # progress answer), and the last structured progress answer to the requester.
    expected_done_at: Mapped[datetime | None]
    progress_at: Mapped[datetime | None]
    progress_count: Mapped[int] = mapped_column(default=0, server_default="0")
    # Preventive maintenance: the date the PM order is due by, its checklist (item, ok,
    # note; ok None until answered on completion) and the technician's signature; an order
    # opened from a failed item names its PM order.
    due_by: Mapped[datetime | None]
    checklist: Mapped[list[dict[str, Any]] | None] = mapped_column(JSON)
    signature: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    parent_order_id: Mapped[str | None] = mapped_column(String(32))
    owner: Mapped[str | None] = mapped_column(
        String(64), doc="who answers for a by-deadline finding's fix by its due date (a user)"
    )

    alarm: Mapped[Alarm | None] = relationship(lazy="selectin", viewonly=True)
    """The alarm this order was opened for: whether its fault is still active."""
    breaches: Mapped[list[SlaBreach]] = relationship(
        lazy="selectin", order_by="SlaBreach.clock", cascade="all, delete-orphan"
    )

    __table_args__ = (
        Index("ix_work_orders_site_state", "site", "state"),
        Index("ix_work_orders_assignee", "assignee"),
    )

    @property
    def breached(self) -> list[str]:
        return [b.clock for b in self.breaches]


# The queue's order (urgent first, then the longest waiting), read off the index.
Index("ix_work_orders_queue", WorkOrder.urgency.desc(), WorkOrder.reported_at, WorkOrder.id)


class WorkOrderLog(Base):
    """Every change to an order: who, when, from, to, why. Comments are entries whose state
    does not change."""

    __tablename__ = "work_order_log"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    order_id: Mapped[str] = mapped_column(ForeignKey("work_orders.id"), index=True)
    revision: Mapped[int]
    action: Mapped[str] = mapped_column(String(32))
    from_state: Mapped[str | None] = mapped_column(String(16))
    to_state: Mapped[str] = mapped_column(String(16))
    by: Mapped[str] = mapped_column(String(64))
    at: Mapped[datetime]
    note: Mapped[str] = mapped_column(Text, default="")
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class SlaBreach(Base):
    """An SLA clock of an order that ran out; flagged once."""

    __tablename__ = "sla_breaches"

    order_id: Mapped[str] = mapped_column(ForeignKey("work_orders.id"), primary_key=True)
    clock: Mapped[str] = mapped_column(String(32), primary_key=True)
    due_at: Mapped[datetime]
    detected_at: Mapped[datetime]
