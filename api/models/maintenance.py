"""Preventive maintenance plans: periodic tasks per equipment that become work orders."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Index, String, Text
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
    interval_days: Mapped[int]
    next_due_at: Mapped[datetime]
    active: Mapped[bool] = mapped_column(default=True)
    last_order_id: Mapped[str | None] = mapped_column(String(32))
    created_at: Mapped[datetime]
    created_by: Mapped[str] = mapped_column(String(64))

    __table_args__ = (Index("ix_maintenance_plans_due", "active", "next_due_at"),)
