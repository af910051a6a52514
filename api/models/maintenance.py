"""Preventive maintenance plans: periodic tasks per equipment that become work orders, by
calendar (every N days) or by usage (every N run hours or starts), whichever comes first."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from api.models.base import Base


class MaintenancePlan(Base):
    __tablename__ = "maintenance_plans"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    site: Mapped[str] = mapped_column(String(64))
    device: Mapped[str | None] = mapped_column(String(64))
    building: Mapped[str | None] = mapped_column(String(64))
    title: Mapped[str] = mapped_column(String(256))
    description: Mapped[str] = mapped_column(Text, default="")
    trade: Mapped[str] = mapped_column(String(32))
    department: Mapped[str] = mapped_column(String(64))
    interval_days: Mapped[int | None] = mapped_column(doc="calendar interval; None: by usage only")
    next_due_at: Mapped[datetime | None] = mapped_column(doc="None: by usage only")
    # Usage (run hours, starts) where the device reports a counter: due when the counter
    # reaches `counter_next`, whichever comes first with the calendar.
    counter_point: Mapped[str | None] = mapped_column(String(64))
    counter_interval: Mapped[float | None]
    counter_next: Mapped[float | None] = mapped_column(doc="None until the counter is first seen")
    counter_value: Mapped[float | None] = mapped_column(doc="the counter when last read")
    counter_seen_at: Mapped[datetime | None]
    active: Mapped[bool] = mapped_column(default=True)
    checklist: Mapped[list[str]] = mapped_column(JSON, default=list, server_default="[]")
    due_within_days: Mapped[int | None] = mapped_column(
        doc="a PM order is due by its date + this (None: the interval, else 7 days)"
    )
    last_order_id: Mapped[str | None] = mapped_column(String(32))
    created_at: Mapped[datetime]
    created_by: Mapped[str] = mapped_column(String(64))

    __table_args__ = (Index("ix_maintenance_plans_due", "active", "next_due_at"),)
